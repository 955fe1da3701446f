//! The metric series: history with strict parameter errors, forecasts, and the guard
//! that refuses a bad series query before the Leptos routes see it.

use super::{bad_request, fail, query_error};
use crate::runtime::{now_ms, Services};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout::store::HistoryQuery;

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

/// Latest time `/api/series` accepts (ms): the end of year 9999.
const SERIES_TIME_MAX: i64 = 253_402_300_799_999;

/// Checks `GET /api/series`' query before the server function reads it, so a
/// missing or malformed parameter gets a 400 naming it (not the framework's wrapped
/// error or a 500): `metrics`, `from` and `to` (ms since the epoch, `from` < `to`),
/// `points` (2 to `app::api::MAX_POINTS`).
pub fn series_params_error(query: Option<&str>) -> Option<Response> {
    let params: Vec<(String, String)> = lookout::form::pairs(query.unwrap_or(""));
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
