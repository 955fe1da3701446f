//! Plain HTTP endpoints next to the Leptos routes, one file per topic; the route
//! table is `crate::endpoints`. The error answers they share are here.

mod alerts;
mod detection;
mod health;
mod pages;
mod series;
mod sse;

pub use alerts::{
    add_silence, alert_history, alert_test, alerts, delete_rule, expire_silence, put_rule,
    silences, test_rule,
};
pub use detection::{anomalies, mark_expected, model, sensitivity, train};
pub use health::{healthz, readyz};
pub use pages::dashboard_start;
pub use series::{forecast, history, series_guard, series_params_error};
pub use sse::stream;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout::model::ApiError;
use lookout::store::QueryError;

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

/// A bad body field: `{"error", "param"}`.
fn field_error(error: impl Into<String>, param: &str) -> Response {
    let body = ApiError {
        error: error.into(),
        param: Some(param.into()),
        message: None,
    };
    self::error(StatusCode::BAD_REQUEST, body)
}

/// A bad parameter: `{"error", "param", "message"}`.
fn bad_request(param: &str, message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, ApiError::param(param, message))
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
