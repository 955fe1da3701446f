//! Interop with existing engines: the Prometheus text exposition
//! (`GET /metrics/prometheus`) and a remote_write sink. Both take their metric names
//! and labels from one table, [`prometheus_names`], so a series scraped from Lookout
//! and one pushed by it have the same name.

pub mod exposition;
pub mod prometheus_names;
pub mod remote_write;

pub use prometheus_names::{host_series, HostView, Series};
