//! `GET /api/analysis/{cores,rhythm,correlation,overlay}`: the analysis page's data. The
//! parameters are checked and the figures computed by `lookout::analysis`; this only
//! wires them to HTTP (400 naming a bad parameter, 500 when the store fails). Each
//! takes `host=NAME` (a stored host; default this one).

use crate::runtime::{now_ms, Services};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout::analysis::{self, CoresQuery, CorrelationQuery, OverlayQuery, RhythmQuery};
use lookout::model::ApiError;
use lookout::store::{QueryError, Store};
use serde::Serialize;

type Params = Query<Vec<(String, String)>>;
/// An engine query's parser: URL pairs and now -> the query, or the bad parameter.
type Parse<Q> = fn(&[(String, String)], i64) -> Result<Q, QueryError>;

/// Parses with `parse`, picks the host's store (the fleet's view, as every other
/// endpoint), computes with `run` off the async threads, answers JSON.
async fn answer<Q, T>(
    services: Services,
    params: Vec<(String, String)>,
    parse: Parse<Q>,
    run: fn(&Store, &Q) -> lookout::store::Result<T>,
) -> Response
where
    Q: Send + 'static,
    T: Serialize + Send + 'static,
{
    let q = match parse(&params, now_ms()) {
        Ok(q) => q,
        Err(e) => {
            let body = ApiError::param(e.param, e.message);
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let store = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    match tokio::task::spawn_blocking(move || run(&store, &q)).await {
        Ok(Ok(body)) => Json(body).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "analysis query failed");
            let body = ApiError::new("analysis query failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
        Err(_) => {
            let body = ApiError::new("analysis query failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

/// `GET /api/analysis/cores?from=..&to=..&buckets=..`
pub async fn cores(State(services): State<Services>, Query(params): Params) -> Response {
    answer(services, params, CoresQuery::parse, analysis::cores).await
}

/// `GET /api/analysis/rhythm?metric=..&to=..&days=..&tz_offset_min=..`
pub async fn rhythm(State(services): State<Services>, Query(params): Params) -> Response {
    answer(services, params, RhythmQuery::parse, analysis::rhythm).await
}

/// `GET /api/analysis/correlation?metric=a,b&from=..&to=..&points=..`
pub async fn correlation(State(services): State<Services>, Query(params): Params) -> Response {
    answer(
        services,
        params,
        CorrelationQuery::parse,
        analysis::correlation,
    )
    .await
}

/// `GET /api/analysis/overlay?metric=a,b&from=..&to=..&points=..`
pub async fn overlay(State(services): State<Services>, Query(params): Params) -> Response {
    answer(services, params, OverlayQuery::parse, analysis::overlay).await
}
