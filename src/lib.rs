//! Lookout's engine. The data's trip through the host, one module per stage:
//! `collect` (sampler) -> `store` (SQLite) -> `detect` (anomaly detection).
//! `model` holds the wire types shared with the web layer and the browser; it, `time`
//! and `form` are the modules compiled without the `engine` feature (the wasm front end
//! uses them).

pub mod form;
pub mod model;
pub mod time;

#[cfg(feature = "engine")]
pub mod access;
#[cfg(feature = "engine")]
pub mod agent;
#[cfg(feature = "engine")]
pub mod alert;
#[cfg(feature = "engine")]
pub mod analysis;
#[cfg(feature = "engine")]
pub mod collect;
#[cfg(feature = "engine")]
pub mod detect;
#[cfg(feature = "engine")]
pub mod export;
#[cfg(feature = "engine")]
pub mod forecast;
#[cfg(feature = "engine")]
pub mod store;
