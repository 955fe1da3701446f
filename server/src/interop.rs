//! Endpoints for other monitoring engines: `GET /metrics/prometheus`, the Prometheus
//! text exposition of the latest sample (names and labels: lookout::export).

use crate::runtime::Services;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use lookout::export::{exposition, HostView};

/// `GET /metrics/prometheus`: every metric of the latest sample with a `host` label,
/// the anomaly score and whether an event is open, and the remote_write sink's health
/// when one is configured. Built from the sample in memory: a scrape never samples.
pub async fn prometheus_metrics(State(services): State<Services>) -> Response {
    let latest = services.latest.borrow().clone();
    let event_open = services.detection.as_ref().map(|d| d.event_open());
    let hosts: Vec<HostView<'_>> = latest
        .iter()
        .map(|snapshot| HostView {
            snapshot,
            event_open,
        })
        .collect();
    let extra = match (&services.remote_write, &latest) {
        (Some(sink), Some(s)) => sink.health_series(&s.host),
        _ => Vec::new(),
    };
    let body = exposition::render(&hosts, &extra);
    ([(header::CONTENT_TYPE, exposition::CONTENT_TYPE)], body).into_response()
}
