//! Health probes: `/healthz` (the process answers) and `/readyz` (it can do its work).

use crate::runtime::{now_ms, Services};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout::model::{NotReady, Ready, Status};
use std::sync::atomic::Ordering;

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> Response {
    Json(Status::new("ok")).into_response()
}

/// `GET /readyz`: the store is writable (checked at most once a second) and the
/// sampler is running.
pub async fn readyz(State(services): State<Services>) -> Response {
    let mut problems = Vec::new();
    let store = services.store.clone();
    // A cached answer: the probe writes to the store at most once a second however
    // often (and by however many) it is called.
    match tokio::task::spawn_blocking(move || {
        store.check_writable_cached(std::time::Duration::from_secs(1))
    })
    .await
    {
        Ok(Ok(())) => {}
        Ok(Err(e)) => problems.push(format!("store not writable: {e}")),
        Err(_) => problems.push("store check failed".to_string()),
    }
    if let Some(e) = services.store_error.lock().ok().and_then(|e| e.clone()) {
        problems.push(format!("samples not being written: {e}"));
    }
    let unsent = services.alerting.unsent();
    if unsent > 0 {
        problems.push(format!(
            "{unsent} notifications held in memory: the outbox cannot be written"
        ));
    }
    let last = services.last_sample_at.load(Ordering::Relaxed);
    let allowed = (services.interval.as_millis() as i64 * 3).max(5_000);
    let age = now_ms() - last;
    if last == 0 {
        problems.push("sampler has not produced a sample yet".to_string());
    } else if age > allowed {
        problems.push(format!("sampler stalled: last sample {} s ago", age / 1000));
    }
    if problems.is_empty() {
        Json(Ready {
            status: "ready".into(),
            last_sample_at: last,
        })
        .into_response()
    } else {
        let body = NotReady {
            status: "not ready".into(),
            problems,
        };
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}
