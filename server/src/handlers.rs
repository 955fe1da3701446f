//! Plain HTTP endpoints next to the Leptos routes: history with strict parameter
//! errors, the live stream, and health probes.

use crate::auth::Principal;
use crate::runtime::{now_ms, Services};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures::stream::{self, StreamExt};
use lookout::detect::Sensitivity;
use lookout::model::{
    AlertHistory, AlertsOverview, AnomalyList, ApiError, ExpectedRequest, NameStatus, NotReady,
    Ready, RuleSaved, SensitivityRequest, SensitivityResponse, SilenceExpired, SilenceList,
    SilenceRequest, Status, TestChannelRequest,
};
use lookout::store::{parse_range, HistoryQuery, QueryError};
use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_stream::wrappers::BroadcastStream;

fn error(status: StatusCode, body: ApiError) -> Response {
    (status, Json(body)).into_response()
}

/// `{"error"}` alone.
fn fail(status: StatusCode, msg: impl Into<String>) -> Response {
    error(status, ApiError::new(msg))
}

/// A bad query parameter: `{"error", "param", "message"}`.
fn query_error(e: QueryError) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        ApiError {
            error: e.to_string(),
            param: Some(e.param),
            message: Some(e.message),
        },
    )
}

/// `GET /api/history?metric=a,b&from=..&to=..&points=..&host=..`
pub async fn history(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let query = match HistoryQuery::parse(&params, now_ms()) {
        Ok(q) => q,
        Err(e) => return query_error(e),
    };
    let store = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    match tokio::task::spawn_blocking(move || store.history(&query)).await {
        Ok(Ok(h)) => Json(h).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "history query failed");
            fail(StatusCode::INTERNAL_SERVER_ERROR, "history query failed")
        }
        Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "history query failed"),
    }
}

/// `GET /api/forecast?metric=..&horizon=..&host=..`: when filesystems fill, memory or
/// swap run out, at the current trend (see `lookout::forecast`), for this host or a
/// stored one. Too little history or a flat trend is said in words in each
/// forecast's `message`, not as an error.
pub async fn forecast(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    use lookout::forecast::source::{self, ForecastQuery, SourceError};
    let query = match ForecastQuery::parse(&params) {
        Ok(q) => q,
        Err(e) => return query_error(e),
    };
    let store = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let now = now_ms();
    let task = move || source::report(&store, &query, now);
    match tokio::task::spawn_blocking(task).await {
        Ok(Ok(r)) => Json(r).into_response(),
        Ok(Err(SourceError::Query(e))) => query_error(e),
        Ok(Err(SourceError::Store(e))) => {
            tracing::error!(error = %e, "forecast query failed");
            fail(StatusCode::INTERNAL_SERVER_ERROR, "forecast query failed")
        }
        Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "forecast query failed"),
    }
}

/// How often a live stream checks that its caller's token or session is still valid.
const STREAM_RECHECK: Duration = Duration::from_secs(1);

/// How often a stream of an agent host looks for its newest sample (agents send
/// batches, so a host's stream moves a batch at a time).
const AGENT_STREAM_POLL: Duration = Duration::from_secs(1);

/// `GET /api/stream?host=..`: Server-Sent Events, one `snapshot` event per sample,
/// starting with the latest one so a new page has data at once. For an agent host of a
/// hub, its newest sample each time a batch of it has arrived.
pub async fn stream(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
    caller: Option<Extension<crate::auth::middleware::Caller>>,
    revalidate: Option<Extension<crate::auth::middleware::Revalidate>>,
) -> Response {
    let store = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let agent_host = (store.options().host != services.store.options().host)
        .then(|| store.options().host.clone());
    // One place per stream, per caller and in all (streams.rs); freed when it ends.
    let who = match caller.map(|c| c.0) {
        Some(c) if !matches!(c.principal, Principal::Anonymous) => c.principal.actor(),
        Some(c) => format!(
            "anonymous@{}",
            c.ip.map(|ip| ip.to_string()).unwrap_or_default()
        ),
        None => "anonymous".to_string(),
    };
    let slot = match services.streams.acquire(who) {
        Ok(slot) => slot,
        Err(refused) => {
            let which = match refused {
                crate::streams::Refused::Total => "`server.max_streams`",
                crate::streams::Refused::PerCaller => "`server.max_streams_per_caller`",
            };
            return unavailable(format!("too many open streams ({which}); try again later"));
        }
    };
    let live: futures::stream::BoxStream<'static, std::sync::Arc<lookout::model::Snapshot>> =
        match agent_host {
            None => {
                let first = services.latest.borrow().clone();
                let rx = services.live.subscribe();
                let first = stream::iter(first.map(std::sync::Arc::new));
                // A slow client that lags behind the broadcast buffer skips to the newest
                // samples.
                let live = BroadcastStream::new(rx).filter_map(|r| async move { r.ok() });
                first.chain(live).boxed()
            }
            Some(host) => agent_stream(&services, store, host).await,
        };
    let mut stopping = services.stopping.clone();
    // The stream ends when the server stops, or within a second of its token being
    // revoked (or its session ending).
    let revoked = async move {
        match revalidate {
            None => std::future::pending::<()>().await,
            Some(Extension(r)) => loop {
                tokio::time::sleep(STREAM_RECHECK).await;
                if !r.still_valid().await {
                    break;
                }
            },
        }
    };
    let stop = async move {
        tokio::select! {
            _ = stopping.wait_for(|s| *s) => {}
            _ = revoked => {}
        }
    };
    let events = live.take_until(stop).map(move |snap| {
        // The stream holds its place until it is dropped.
        let _held = &slot;
        let data = serde_json::to_string(&*snap).unwrap_or_else(|_| "{}".into());
        Ok::<_, Infallible>(Event::default().event("snapshot").data(data))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// An agent host's samples for a stream: its newest stored one, then each newer one
/// the hub's ingest has kept in memory (`Services::fleet`), looked at every second.
async fn agent_stream(
    services: &Services,
    store: std::sync::Arc<lookout::store::Store>,
    host: String,
) -> futures::stream::BoxStream<'static, std::sync::Arc<lookout::model::Snapshot>> {
    let stored = tokio::task::spawn_blocking(move || store.latest().ok().flatten())
        .await
        .ok()
        .flatten()
        .map(|mut s| {
            s.host.clone_from(&host);
            s
        });
    let fleet = services.fleet.clone();
    let last = stored.as_ref().map_or(i64::MIN, |s| s.timestamp);
    let newer = stream::unfold((fleet, host, last), |(fleet, host, last)| async move {
        loop {
            tokio::time::sleep(AGENT_STREAM_POLL).await;
            let newest = fleet
                .lock()
                .ok()
                .and_then(|f| f.get(&host).cloned())
                .filter(|s| s.timestamp > last);
            if let Some(s) = newest {
                let at = s.timestamp;
                return Some((std::sync::Arc::new(s), (fleet, host, at)));
            }
        }
    });
    stream::iter(stored.map(std::sync::Arc::new))
        .chain(newer)
        .boxed()
}

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

fn detector_off() -> Response {
    fail(
        StatusCode::NOT_FOUND,
        "anomaly detection is disabled (detector.enabled = false)",
    )
}

/// `GET /api/anomalies?from=..&to=..&host=..`: events overlapping the range (default:
/// the last 24 h), newest first, with their explanations; of this host or a stored one.
pub async fn anomalies(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let (from, to) = match parse_range(&params, now_ms(), 86_400_000) {
        Ok(r) => r,
        Err(e) => return query_error(e),
    };
    let store = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    match tokio::task::spawn_blocking(move || store.events(from, to)).await {
        Ok(Ok(events)) => Json(AnomalyList { from, to, events }).into_response(),
        _ => fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot read events"),
    }
}

/// `POST /api/anomalies/{id}/expected` (body optional: `{"expected": false}` undoes).
pub async fn mark_expected(
    State(services): State<Services>,
    Path(id): Path<i64>,
    body: Option<Json<ExpectedRequest>>,
) -> Response {
    if services.detection.is_none() {
        return detector_off();
    }
    let expected = body.map(|b| b.expected).unwrap_or(true);
    let s = services.clone();
    let marked = move || -> lookout::store::Result<Option<lookout::model::AnomalyEvent>> {
        // The event's own host's detector learns it: on a hub an agent host's event
        // teaches that host's detector, not the hub's. A host whose detector has not
        // started since the hub did reads the mark from the store when it starts.
        let Some(event) = s.store.event(id)? else {
            return Ok(None);
        };
        match s.detection_of(&event.host) {
            Some(d) => d.mark_expected(id, expected),
            None => {
                s.store.set_event_expected(id, expected)?;
                s.store.event(id)
            }
        }
    };
    match tokio::task::spawn_blocking(marked).await {
        Ok(Ok(Some(event))) => Json(event).into_response(),
        Ok(Ok(None)) => fail(
            StatusCode::NOT_FOUND,
            format!("no anomaly event with id {id}"),
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot mark event");
            fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot update the event")
        }
        Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot update the event"),
    }
}

/// `GET /api/model?host=..`: detector state, model versions, training status (of an
/// agent host's own detector on a hub; an empty report for a host whose detector has
/// not started since the hub did).
pub async fn model(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let store = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let host = store.options().host.clone();
    let report = move || services.detection_of(&host).map(|d| d.report());
    match tokio::task::spawn_blocking(report).await {
        Ok(report) => Json(report.unwrap_or_default()).into_response(),
        Err(_) => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot read the model state",
        ),
    }
}

/// The detector a model action is for: the server's own, or on a hub an agent host's
/// (`host=`, as `/api/model` reads it), so the model panel's buttons act on the host
/// it shows. Err: the answer (400 unknown host, 404 detection off, 409 no detector
/// for that host yet).
async fn detection_for(
    services: &Services,
    params: &[(String, String)],
) -> Result<crate::detector::Detection, Response> {
    let store = crate::hosts::store_for_params(services, params)
        .await
        .map_err(|r| r.into_response())?;
    let host = store.options().host.clone();
    if let Some(d) = services.detection_of(&host) {
        return Ok(d);
    }
    // The own detector and the hub's per-host ones are both made when detection is
    // on, so only an agent host can lack one with detection on.
    if services.detection.is_none() {
        return Err(detector_off());
    }
    let why = "its detector starts with its first batch since the hub started";
    Err(fail(
        StatusCode::CONFLICT,
        format!("host {host} has no detector yet: {why}"),
    ))
}

/// `POST /api/model/train?host=..`: trains now on the stored window; answers with the
/// new version's metadata once it is installed.
pub async fn train(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let d = match detection_for(&services, &params).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    use crate::detector::TrainingError;
    match d.train_now().await {
        Ok(info) => Json(info.to_version()).into_response(),
        // Too little history: the caller can wait for more.
        Err(e @ TrainingError::Data(_)) => {
            fail(StatusCode::CONFLICT, format!("training failed: {e}"))
        }
        Err(e @ TrainingError::Store(_)) => {
            tracing::warn!(error = %e, "training could not read the store");
            unavailable(format!("training failed: {e}"))
        }
        Err(e) => {
            tracing::error!(error = %e, "training failed");
            fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("training failed: {e}"),
            )
        }
    }
}

/// `POST /api/model/sensitivity?host=..` with `{"sensitivity": "low"|"medium"|"high"|3.5}`
/// (a surprise threshold; a number below 1 is read in the older "1 - p" form).
pub async fn sensitivity(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
    body: Result<Json<SensitivityRequest>, JsonRejection>,
) -> Response {
    let d = match detection_for(&services, &params).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => {
            return field_error(e.body_text(), "sensitivity");
        }
    };
    match Sensitivity::parse(&body.sensitivity.text()) {
        Ok(s) => {
            d.set_sensitivity(s);
            Json(SensitivityResponse {
                sensitivity: s.name(),
                threshold: s.threshold(),
            })
            .into_response()
        }
        Err(e) => field_error(e, "sensitivity"),
    }
}

/// A bad body field: `{"error", "param"}`.
fn field_error(error: impl Into<String>, param: &str) -> Response {
    let body = ApiError {
        error: error.into(),
        param: Some(param.into()),
        message: None,
    };
    self::error(StatusCode::BAD_REQUEST, body)
}

// ---------------------------------------------------------------- alerts

fn bad_request(param: &str, message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, ApiError::param(param, message))
}

/// An alerting change that failed: 400 naming `param` for the caller's input, 409 for
/// a config-file rule, 503 (try again) when the store is away.
fn alerting_error(param: &str, e: crate::alerting::AlertingError) -> Response {
    use crate::alerting::AlertingError;
    match e {
        AlertingError::Invalid(m) => bad_request(param, m),
        e @ AlertingError::InConfigFile(_) => fail(StatusCode::CONFLICT, e.to_string()),
        e @ AlertingError::Store(_) => {
            tracing::warn!(error = %e, "an alerting change could not be stored");
            unavailable(e.to_string())
        }
    }
}

/// 503 with `Retry-After: 5`: the request was fine, a shared resource (the store, the
/// stream places) is busy or away for now.
fn unavailable(message: impl Into<String>) -> Response {
    let mut r = fail(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("5"),
    );
    r
}

/// `GET /api/alerts?host=..`: alerts pending or firing now (of `host` alone when
/// given), the rules and the channels.
pub async fn alerts(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let host = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => crate::hosts::host_param(&params).map(|_| s.options().host.clone()),
        Err(r) => return r.into_response(),
    };
    let a = &services.alerting;
    let mut active = a.active();
    if let Some(h) = host {
        active.retain(|x| x.host == h);
    }
    Json(AlertsOverview {
        active,
        rules: a.rules(),
        channels: a.channels(),
    })
    .into_response()
}

/// `GET /api/alerts/history?from=..&to=..&limit=..&host=..`: what fired (for `host`
/// alone when given), who was notified, delivery status per channel (default: the
/// last 7 days, 200 entries).
pub async fn alert_history(
    State(services): State<Services>,
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
    let host = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => crate::hosts::host_param(&params).map(|_| s.options().host.clone()),
        Err(r) => return r.into_response(),
    };
    let a = services.alerting.clone();
    let read = move || {
        // A host's entries: read past `limit` so the filter still returns up to it.
        let wanted = if host.is_some() { 10_000 } else { limit };
        a.store().alert_history(from, to, wanted).map(|mut e| {
            if let Some(h) = &host {
                e.retain(|x| &x.notification.host == h);
            }
            e.truncate(limit);
            e
        })
    };
    match tokio::task::spawn_blocking(read).await {
        Ok(Ok(entries)) => Json(AlertHistory { from, to, entries }).into_response(),
        _ => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot read alert history",
        ),
    }
}

/// `POST /api/alerts/test` with `{"channel": "name"}`: sends a test notification
/// through the outbox (its delivery shows in the history).
pub async fn alert_test(
    State(services): State<Services>,
    body: Result<Json<TestChannelRequest>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_request("channel", e.body_text()),
    };
    let a = services.alerting.clone();
    match tokio::task::spawn_blocking(move || a.send_test(&body.channel)).await {
        Ok(Ok(())) => (StatusCode::ACCEPTED, Json(Status::new("queued"))).into_response(),
        Ok(Err(e)) => alerting_error("channel", e),
        Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot queue the test"),
    }
}

/// `GET /api/silences`: all silences, active and expired.
pub async fn silences(State(services): State<Services>) -> Response {
    let a = services.alerting.clone();
    match tokio::task::spawn_blocking(move || a.store().silences(None)).await {
        Ok(Ok(silences)) => Json(SilenceList { silences }).into_response(),
        _ => fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot read silences"),
    }
}

/// `POST /api/silences` with `{"rule"?, "host"?, "duration": "2h" | "ends_at": ms, "comment"}`.
/// A silence's comment, at most (bytes).
pub const SILENCE_TEXT_MAX: usize = 4096;
/// A silence's rule, host and author names, at most (bytes).
pub const SILENCE_NAME_MAX: usize = 256;

pub async fn add_silence(
    State(services): State<Services>,
    caller: Option<axum::Extension<crate::auth::middleware::Caller>>,
    body: Result<Json<SilenceRequest>, JsonRejection>,
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
    for (field, value, max) in [
        ("comment", &b.comment, SILENCE_TEXT_MAX),
        ("created_by", &b.created_by, SILENCE_NAME_MAX),
        (
            "rule",
            &b.rule.clone().unwrap_or_default(),
            SILENCE_NAME_MAX,
        ),
        (
            "host",
            &b.host.clone().unwrap_or_default(),
            SILENCE_NAME_MAX,
        ),
    ] {
        if value.len() > max {
            return bad_request(
                field,
                format!("is {} bytes; at most {max} are allowed", value.len()),
            );
        }
    }
    let silence = lookout::alert::Silence {
        id: 0,
        rule: b.rule.filter(|r| !r.is_empty()),
        host: b.host.filter(|h| !h.is_empty()),
        starts_at: now,
        ends_at,
        comment: b.comment,
        // Who made it is who is signed in (`user:NAME`, `token:NAME`), never what the
        // body claims; with access control off the body's label is all there is.
        created_by: match caller.map(|c| c.0.principal) {
            Some(p @ (Principal::User { .. } | Principal::Token { .. })) => p.actor(),
            _ => b.created_by,
        },
    };
    let a = services.alerting.clone();
    match tokio::task::spawn_blocking(move || a.add_silence(silence)).await {
        Ok(Ok(s)) => (StatusCode::CREATED, Json(s)).into_response(),
        Ok(Err(e)) => alerting_error("silence", e),
        Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot add the silence"),
    }
}

/// `DELETE /api/silences/{id}`: ends the silence now (it stays in the list, expired).
pub async fn expire_silence(State(services): State<Services>, Path(id): Path<i64>) -> Response {
    let a = services.alerting.clone();
    match tokio::task::spawn_blocking(move || a.expire_silence(id)).await {
        Ok(Ok(true)) => Json(SilenceExpired {
            id,
            status: "expired".into(),
        })
        .into_response(),
        Ok(Ok(false)) => fail(StatusCode::NOT_FOUND, format!("no silence with id {id}")),
        Ok(Err(e)) => alerting_error("id", e),
        Err(_) => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot expire the silence",
        ),
    }
}

/// `PUT /api/alerts/rules/{name}` with the rule as JSON (the TOML keys:
/// `{"condition": "cpu_usage > 90 for 5m", "severity": "critical", "enabled": true}`):
/// adds or replaces it; saved in the store, it survives restarts.
pub async fn put_rule(
    State(services): State<Services>,
    Path(name): Path<String>,
    body: Result<Json<lookout::alert::RuleConfig>, JsonRejection>,
) -> Response {
    let Json(rule) = match body {
        Ok(b) => b,
        Err(e) => return bad_request("rule", e.body_text()),
    };
    let a = services.alerting.clone();
    match tokio::task::spawn_blocking(move || a.put_rule(&name, rule)).await {
        Ok(Ok(r)) => Json(RuleSaved {
            describe: r.describe(),
            name: r.name,
            enabled: r.enabled,
        })
        .into_response(),
        Ok(Err(e)) => alerting_error("rule", e),
        Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot save the rule"),
    }
}

/// `DELETE /api/alerts/rules/{name}`: removes a rule added through the API.
pub async fn delete_rule(State(services): State<Services>, Path(name): Path<String>) -> Response {
    let a = services.alerting.clone();
    let n = name.clone();
    match tokio::task::spawn_blocking(move || a.delete_rule(&n)).await {
        Ok(Ok(false)) => fail(StatusCode::NOT_FOUND, format!("no rule named {name:?}")),
        Ok(Ok(true)) => Json(NameStatus {
            name,
            status: "deleted".into(),
        })
        .into_response(),
        Ok(Err(e)) => alerting_error("name", e),
        Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "cannot delete the rule"),
    }
}

/// `POST /api/alerts/rules/test` with a rule as JSON: parses it and says whether its
/// condition holds on the latest sample, without saving anything.
pub async fn test_rule(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
    body: Result<Json<lookout::alert::RuleConfig>, JsonRejection>,
) -> Response {
    let Json(rule) = match body {
        Ok(b) => b,
        Err(e) => return bad_request("rule", e.body_text()),
    };
    // The host the dashboard shows (`host=`: a hub's agent host, judged on its newest
    // stored sample), else the server's own newest sample.
    let store = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let latest = if store.options().host == services.store.options().host {
        services.latest.borrow().clone()
    } else {
        match tokio::task::spawn_blocking(move || store.latest()).await {
            Ok(Ok(s)) => s,
            _ => {
                return fail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "cannot read the host's newest sample",
                )
            }
        }
    };
    match services.alerting.test_rule(&rule, latest.as_ref()) {
        Ok(v) => Json(v).into_response(),
        Err(e) => alerting_error("rule", e),
    }
}

/// Latest time `/api/series` accepts (ms): the end of year 9999.
const SERIES_TIME_MAX: i64 = 253_402_300_799_999;

/// Checks `GET /api/series`' query before the server function reads it, so a
/// missing or malformed parameter gets a 400 naming it (not the framework's wrapped
/// error or a 500): `metrics`, `from` and `to` (ms since the epoch, `from` < `to`),
/// `points` (2 to `app::api::MAX_POINTS`).
pub fn series_params_error(query: Option<&str>) -> Option<Response> {
    let params: Vec<(String, String)> = crate::edge::form::pairs(query.unwrap_or(""));
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let time = |k: &str| -> Result<i64, String> {
        let Some(v) = get(k) else {
            return Err("is missing: give a time in ms since the epoch".into());
        };
        match v.trim().parse::<i64>() {
            Ok(t) if (0..=SERIES_TIME_MAX).contains(&t) => Ok(t),
            _ => Err(format!(
                "must be a time in ms since the epoch, from 0 to {SERIES_TIME_MAX}"
            )),
        }
    };
    if get("metrics").is_none_or(|m| m.trim().is_empty()) {
        return Some(bad_request(
            "metrics",
            "is missing: give one or more metric names, comma separated",
        ));
    }
    let from = match time("from") {
        Ok(t) => t,
        Err(msg) => return Some(bad_request("from", msg)),
    };
    let to = match time("to") {
        Ok(t) => t,
        Err(msg) => return Some(bad_request("to", msg)),
    };
    if to <= from {
        return Some(bad_request(
            "to",
            format!("({to}) must be after `from` ({from})"),
        ));
    }
    let max = app::api::MAX_POINTS;
    match get("points").map(|p| p.trim().parse::<u32>()) {
        Some(Ok(p)) if (2..=max).contains(&p) => None,
        None => Some(bad_request(
            "points",
            format!("is missing: give 2 to {max}"),
        )),
        _ => Some(bad_request(
            "points",
            format!("must be an integer from 2 to {max}"),
        )),
    }
}

/// Middleware for `/api/series` (see [`series_params_error`]).
pub async fn series_guard(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if req.uri().path() == "/api/series" {
        if let Some(refusal) = series_params_error(req.uri().query()) {
            return refusal;
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use lookout::detect::{DetectorState, ModelInfo, Phase};
    use lookout::model::ModelReport;
    use serde_json::json;

    fn info() -> ModelInfo {
        ModelInfo {
            version: 3,
            path: "/data/models/v3.json".into(),
            format_version: 2,
            trained_at: 10,
            window: (1, 9),
            samples: 2048,
            members: vec!["baseline".into(), "forest".into()],
            features: 24,
            rolled_back_from: Some(4),
            eval: Some(json!({"f1": 0.9})),
        }
    }

    /// The report's parts, written as the engine's own types, read back as the API's
    /// [`ModelReport`] unchanged (the report is built from them field by field).
    #[test]
    fn the_model_report_reads_as_the_api_type_unchanged() {
        for phase in [Phase::Warmup, Phase::Learning, Phase::Trained] {
            let state = DetectorState {
                phase,
                baseline_ready: true,
                history_secs: 1,
                required_secs: 2,
                model_version: Some(3),
                trained_at: Some(4),
                trained_samples: Some(5),
                active_members: vec!["forest".into()],
                threshold: 3.5,
                adapt_after_secs: 6,
                adaptations: 7,
                rhythms: vec!["daily".into()],
                daily_pattern: true,
                message: "trained".into(),
            };
            let status = crate::detector::TrainingStatus {
                training: true,
                last_error: Some("e".into()),
                last_trained_at: Some(1),
                next_training_at: None,
            };
            // The shape of `Detection::report`.
            let raw = json!({
                "enabled": true,
                "state": state,
                "sensitivity": "medium",
                "training": status,
                "versions": [info()],
                "warnings": ["w"],
            });
            let typed: ModelReport = serde_json::from_value(raw.clone()).unwrap();
            assert_eq!(serde_json::to_value(&typed).unwrap(), raw);
        }
        let off = serde_json::to_value(ModelReport::default()).unwrap();
        assert_eq!(off, json!({"enabled": false}));
    }

    #[test]
    fn a_model_version_is_the_engine_s_model_info() {
        assert_eq!(
            serde_json::to_value(info().to_version()).unwrap(),
            serde_json::to_value(info()).unwrap()
        );
    }
}
