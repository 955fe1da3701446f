//! Endpoints for other monitoring engines: `GET /metrics/prometheus`, the Prometheus
//! text exposition of the latest sample of this host and, on a hub, of every agent
//! host (names and labels: lookout::export).

use crate::runtime::Services;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use lookout::export::{exposition, HostView};
use lookout::model::Snapshot;

/// `GET /metrics/prometheus`: every metric of the latest sample with a `host` label,
/// the anomaly score and whether an event is open, and the remote_write sink's health
/// when one is configured. Built from the sample in memory: a scrape never samples.
pub async fn prometheus_metrics(State(services): State<Services>) -> Response {
    let latest = services.latest.borrow().clone();
    let event_open = services.detection.as_ref().map(|d| d.event_open());
    // On a hub, every agent host after its own, each with its own detector's state.
    let fleet: Vec<Snapshot> = services
        .fleet
        .lock()
        .map(|f| f.values().cloned().collect())
        .unwrap_or_default();
    let mut hosts: Vec<HostView<'_>> = latest
        .iter()
        .map(|snapshot| HostView {
            snapshot,
            event_open,
        })
        .collect();
    hosts.extend(fleet.iter().map(|snapshot| {
        HostView {
            snapshot,
            event_open: services
                .hub
                .as_ref()
                .and_then(|h| h.event_open(&snapshot.host)),
        }
    }));
    let extra = match (&services.remote_write, &latest) {
        (Some(sink), Some(s)) => sink.health_series(&s.host),
        _ => Vec::new(),
    };
    let body = exposition::render(&hosts, &extra);
    ([(header::CONTENT_TYPE, exposition::CONTENT_TYPE)], body).into_response()
}
