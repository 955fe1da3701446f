//! Plain HTTP endpoints next to the Leptos routes: history with strict parameter
//! errors, the live stream, and health probes.

use crate::runtime::{now_ms, Engine};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::stream::{self, Stream, StreamExt};
use lookout::detect::Sensitivity;
use lookout::store::{parse_range, HistoryQuery};
use serde_json::json;
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_stream::wrappers::BroadcastStream;

fn error(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

/// `GET /api/history?metric=a,b&from=..&to=..&points=..`
pub async fn history(
    State(engine): State<Engine>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let query = match HistoryQuery::parse(&params, now_ms()) {
        Ok(q) => q,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                json!({ "error": e.to_string(), "param": e.param, "message": e.message }),
            )
        }
    };
    let store = engine.store.clone();
    match tokio::task::spawn_blocking(move || store.history(&query)).await {
        Ok(Ok(h)) => Json(h).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "history query failed");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "history query failed" }),
            )
        }
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "history query failed" }),
        ),
    }
}

/// `GET /api/stream`: Server-Sent Events, one `snapshot` event per sample, starting
/// with the latest one so a new page has data at once.
pub async fn stream(
    State(engine): State<Engine>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let first = engine.latest.borrow().clone();
    let rx = engine.live.subscribe();
    let first = stream::iter(first.map(std::sync::Arc::new));
    // A slow client that lags behind the broadcast buffer skips to the newest samples.
    let live = BroadcastStream::new(rx).filter_map(|r| async move { r.ok() });
    let mut stopping = engine.stopping.clone();
    let stop = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    let events = first.chain(live).take_until(stop).map(|snap| {
        let data = serde_json::to_string(&*snap).unwrap_or_else(|_| "{}".into());
        Ok(Event::default().event("snapshot").data(data))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: the store is writable and the sampler is running.
pub async fn readyz(State(engine): State<Engine>) -> Response {
    let mut problems = Vec::new();
    let store = engine.store.clone();
    match tokio::task::spawn_blocking(move || store.check_writable()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => problems.push(format!("store not writable: {e}")),
        Err(_) => problems.push("store check failed".to_string()),
    }
    if let Some(e) = engine.store_error.lock().ok().and_then(|e| e.clone()) {
        problems.push(format!("samples not being written: {e}"));
    }
    let last = engine.last_sample_at.load(Ordering::Relaxed);
    let allowed = (engine.interval.as_millis() as i64 * 3).max(5_000);
    let age = now_ms() - last;
    if last == 0 {
        problems.push("sampler has not produced a sample yet".to_string());
    } else if age > allowed {
        problems.push(format!("sampler stalled: last sample {} s ago", age / 1000));
    }
    if problems.is_empty() {
        Json(json!({ "status": "ready", "last_sample_at": last })).into_response()
    } else {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "not ready", "problems": problems }),
        )
    }
}

fn detector_off() -> Response {
    error(
        StatusCode::NOT_FOUND,
        json!({ "error": "anomaly detection is disabled (detector.enabled = false)" }),
    )
}

/// `GET /api/anomalies?from=..&to=..`: events overlapping the range (default: the
/// last 24 h), newest first, with their explanations.
pub async fn anomalies(
    State(engine): State<Engine>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let (from, to) = match parse_range(&params, now_ms(), 86_400_000) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                json!({ "error": e.to_string(), "param": e.param, "message": e.message }),
            )
        }
    };
    let store = engine.store.clone();
    match tokio::task::spawn_blocking(move || store.events(from, to)).await {
        Ok(Ok(events)) => Json(json!({ "from": from, "to": to, "events": events })).into_response(),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "cannot read events" }),
        ),
    }
}

#[derive(serde::Deserialize)]
pub struct ExpectedBody {
    #[serde(default = "yes")]
    expected: bool,
}
fn yes() -> bool {
    true
}

/// `POST /api/anomalies/{id}/expected` (body optional: `{"expected": false}` undoes).
pub async fn mark_expected(
    State(engine): State<Engine>,
    Path(id): Path<i64>,
    body: Option<Json<ExpectedBody>>,
) -> Response {
    let Some(d) = engine.detection.clone() else {
        return detector_off();
    };
    let expected = body.map(|b| b.expected).unwrap_or(true);
    match tokio::task::spawn_blocking(move || d.mark_expected(id, expected)).await {
        Ok(Ok(Some(event))) => Json(event).into_response(),
        Ok(Ok(None)) => error(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("no anomaly event with id {id}") }),
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot mark event");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "error": "cannot update the event" }),
            )
        }
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "cannot update the event" }),
        ),
    }
}

/// `GET /api/model`: detector state, model versions, training status.
pub async fn model(State(engine): State<Engine>) -> Response {
    let Some(d) = engine.detection.clone() else {
        return Json(json!({ "enabled": false })).into_response();
    };
    match tokio::task::spawn_blocking(move || d.report()).await {
        Ok(v) => Json(v).into_response(),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "cannot read the model state" }),
        ),
    }
}

/// `POST /api/model/train`: trains now on the stored window; answers with the new
/// version's metadata once it is installed.
pub async fn train(State(engine): State<Engine>) -> Response {
    let Some(d) = engine.detection.clone() else {
        return detector_off();
    };
    match d.train_now().await {
        Ok(info) => Json(info).into_response(),
        Err(e) => error(
            StatusCode::CONFLICT,
            json!({ "error": format!("training failed: {e}") }),
        ),
    }
}

#[derive(serde::Deserialize)]
pub struct SensitivityBody {
    sensitivity: SensitivityValue,
}

/// A level name, or a threshold as a JSON number or a string.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum SensitivityValue {
    Text(String),
    Number(f64),
}

/// `POST /api/model/sensitivity` with `{"sensitivity": "low"|"medium"|"high"|3.5}` (a
/// surprise threshold; a number below 1 is read in the older "1 - p" form).
pub async fn sensitivity(
    State(engine): State<Engine>,
    body: Result<Json<SensitivityBody>, JsonRejection>,
) -> Response {
    let Some(d) = engine.detection.clone() else {
        return detector_off();
    };
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                json!({ "error": e.body_text(), "param": "sensitivity" }),
            )
        }
    };
    let text = match body.sensitivity {
        SensitivityValue::Text(t) => t,
        SensitivityValue::Number(n) => n.to_string(),
    };
    match Sensitivity::parse(&text) {
        Ok(s) => {
            d.set_sensitivity(s);
            Json(json!({ "sensitivity": s.name(), "threshold": s.threshold() })).into_response()
        }
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            json!({ "error": e, "param": "sensitivity" }),
        ),
    }
}

// ---------------------------------------------------------------- alerts

fn bad_request(param: &str, message: impl Into<String>) -> Response {
    let message = message.into();
    error(
        StatusCode::BAD_REQUEST,
        json!({ "error": format!("{param}: {message}"), "param": param, "message": message }),
    )
}

/// `GET /api/alerts`: alerts pending or firing now, the rules and the channels.
pub async fn alerts(State(engine): State<Engine>) -> Response {
    let a = &engine.alerting;
    Json(json!({ "active": a.active(), "rules": a.rules(), "channels": a.channels() }))
        .into_response()
}

/// `GET /api/alerts/history?from=..&to=..&limit=..`: what fired, who was notified,
/// delivery status per channel (default: the last 7 days, 200 entries).
pub async fn alert_history(
    State(engine): State<Engine>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let (from, to) = match parse_range(&params, now_ms(), 7 * 86_400_000) {
        Ok(r) => r,
        Err(e) => return bad_request(&e.param, e.message),
    };
    let limit = match params
        .iter()
        .rev()
        .find(|(k, _)| k == "limit")
        .map(|(_, v)| v.parse::<usize>())
    {
        None => 200,
        Some(Ok(n)) if (1..=10_000).contains(&n) => n,
        Some(_) => return bad_request("limit", "must be an integer from 1 to 10000"),
    };
    let a = engine.alerting.clone();
    match tokio::task::spawn_blocking(move || a.store().alert_history(from, to, limit)).await {
        Ok(Ok(h)) => Json(json!({ "from": from, "to": to, "entries": h })).into_response(),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "cannot read alert history" }),
        ),
    }
}

#[derive(serde::Deserialize)]
pub struct TestBody {
    channel: String,
}

/// `POST /api/alerts/test` with `{"channel": "name"}`: sends a test notification
/// through the outbox (its delivery shows in the history).
pub async fn alert_test(
    State(engine): State<Engine>,
    body: Result<Json<TestBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_request("channel", e.body_text()),
    };
    let a = engine.alerting.clone();
    match tokio::task::spawn_blocking(move || a.send_test(&body.channel)).await {
        Ok(Ok(())) => (StatusCode::ACCEPTED, Json(json!({ "status": "queued" }))).into_response(),
        Ok(Err(e)) => bad_request("channel", e),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "cannot queue the test" }),
        ),
    }
}

/// `GET /api/silences`: all silences, active and expired.
pub async fn silences(State(engine): State<Engine>) -> Response {
    let a = engine.alerting.clone();
    match tokio::task::spawn_blocking(move || a.store().silences(None)).await {
        Ok(Ok(s)) => Json(json!({ "silences": s })).into_response(),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "cannot read silences" }),
        ),
    }
}

#[derive(serde::Deserialize)]
pub struct SilenceBody {
    rule: Option<String>,
    host: Option<String>,
    /// How long from now, e.g. "2h" (or `ends_at` in ms).
    duration: Option<String>,
    ends_at: Option<i64>,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    created_by: String,
}

/// `POST /api/silences` with `{"rule"?, "host"?, "duration": "2h" | "ends_at": ms, "comment"}`.
pub async fn add_silence(
    State(engine): State<Engine>,
    body: Result<Json<SilenceBody>, JsonRejection>,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return bad_request("body", e.body_text()),
    };
    let now = now_ms();
    let ends_at = match (b.duration.as_deref(), b.ends_at) {
        (Some(d), None) => match lookout::time::parse_duration(d) {
            Ok(d) if !d.is_zero() => now.saturating_add(d.as_millis() as i64),
            Ok(_) => return bad_request("duration", "must be longer than zero".to_string()),
            Err(e) => return bad_request("duration", e.to_string()),
        },
        (None, Some(t)) if t > now => t,
        (None, Some(_)) => return bad_request("ends_at", "must be in the future"),
        _ => {
            return bad_request(
                "duration",
                "give either `duration` (e.g. \"2h\") or `ends_at` (ms)",
            )
        }
    };
    let silence = lookout::alert::Silence {
        id: 0,
        rule: b.rule.filter(|r| !r.is_empty()),
        host: b.host.filter(|h| !h.is_empty()),
        starts_at: now,
        ends_at,
        comment: b.comment,
        created_by: b.created_by,
    };
    let a = engine.alerting.clone();
    match tokio::task::spawn_blocking(move || a.add_silence(silence)).await {
        Ok(Ok(s)) => (StatusCode::CREATED, Json(s)).into_response(),
        Ok(Err(e)) => bad_request("silence", e),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "cannot add the silence" }),
        ),
    }
}

/// `DELETE /api/silences/{id}`: ends the silence now (it stays in the list, expired).
pub async fn expire_silence(State(engine): State<Engine>, Path(id): Path<i64>) -> Response {
    let a = engine.alerting.clone();
    match tokio::task::spawn_blocking(move || a.expire_silence(id)).await {
        Ok(Ok(true)) => Json(json!({ "id": id, "status": "expired" })).into_response(),
        Ok(Ok(false)) => error(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("no silence with id {id}") }),
        ),
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "cannot expire the silence" }),
        ),
    }
}

/// `PUT /api/alerts/rules/{name}` with the rule as JSON (the TOML keys:
/// `{"condition": "cpu_usage > 90 for 5m", "severity": "critical", "enabled": true}`):
/// adds or replaces it; saved in the store, it survives restarts.
pub async fn put_rule(
    State(engine): State<Engine>,
    Path(name): Path<String>,
    body: Result<Json<lookout::alert::RuleConfig>, JsonRejection>,
) -> Response {
    let Json(rule) = match body {
        Ok(b) => b,
        Err(e) => return bad_request("rule", e.body_text()),
    };
    let a = engine.alerting.clone();
    match tokio::task::spawn_blocking(move || a.put_rule(&name, rule)).await {
        Ok(Ok(r)) => {
            Json(json!({ "name": r.name, "describe": r.describe(), "enabled": r.enabled }))
                .into_response()
        }
        Ok(Err(e)) => bad_request("rule", e),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "cannot save the rule" }),
        ),
    }
}

/// `DELETE /api/alerts/rules/{name}`: removes a rule added through the API.
pub async fn delete_rule(State(engine): State<Engine>, Path(name): Path<String>) -> Response {
    let a = engine.alerting.clone();
    let n = name.clone();
    match tokio::task::spawn_blocking(move || a.delete_rule(&n)).await {
        Ok(Ok(true)) => Json(json!({ "name": name, "status": "deleted" })).into_response(),
        Ok(Ok(false)) => error(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("no rule named {name:?}") }),
        ),
        Ok(Err(e)) => error(StatusCode::CONFLICT, json!({ "error": e })),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "cannot delete the rule" }),
        ),
    }
}

/// `POST /api/alerts/rules/test` with a rule as JSON: parses it and says whether its
/// condition holds on the latest sample, without saving anything.
pub async fn test_rule(
    State(engine): State<Engine>,
    body: Result<Json<lookout::alert::RuleConfig>, JsonRejection>,
) -> Response {
    let Json(rule) = match body {
        Ok(b) => b,
        Err(e) => return bad_request("rule", e.body_text()),
    };
    let latest = engine.latest.borrow().clone();
    match engine.alerting.test_rule(&rule, latest.as_ref()) {
        Ok(v) => Json(v).into_response(),
        Err(e) => bad_request("rule", e),
    }
}
