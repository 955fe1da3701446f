//! Alerting endpoints: alerts, their history, test notifications, silences and rules.

use super::{bad_request, fail, unavailable};
use crate::auth::Principal;
use crate::runtime::{now_ms, Services};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout::model::{
    AlertHistory, AlertsOverview, NameStatus, RuleSaved, SilenceExpired, SilenceList,
    SilenceRequest, Status, TestChannelRequest,
};
use lookout::store::parse_range;

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
