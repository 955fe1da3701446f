//! Which host a request is about, and the fleet overview.
//!
//! Every panel's endpoint takes `host=NAME` (absent or empty: the server's own host):
//! on a hub the dashboard's host picker sets it. A name the store has never heard of
//! is a 400 naming the parameter, not an empty answer, so a mistyped link says so.

use crate::runtime::{now_ms, Services};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lookout::model::{
    name_matches, stale_after_ms, worst_first, ApiError, FleetOverview, HostStatus, HostTile,
    Snapshot,
};
use lookout::store::Store;
use std::collections::HashMap;
use std::sync::Arc;

/// The `host` parameter's value, if given and not empty.
pub fn host_param(params: &[(String, String)]) -> Option<&str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Why a `host` parameter cannot be served.
#[derive(Debug)]
pub enum HostError {
    /// The store has never heard of it: 400 naming `host`.
    Unknown(String),
    /// The store could not be read.
    Store(String),
}

impl IntoResponse for HostError {
    fn into_response(self) -> Response {
        match self {
            HostError::Unknown(host) => {
                let body = ApiError::unknown_host(&host);
                (StatusCode::BAD_REQUEST, Json(body)).into_response()
            }
            HostError::Store(e) => {
                tracing::error!(error = %e, "cannot look up a host");
                let body = ApiError::new("cannot read the hosts");
                (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
            }
        }
    }
}

/// The store as the requested host: the server's own store when `host` is absent or
/// names this server, else a view of it as that agent host (blocking: a store read).
pub fn store_for(services: &Services, host: Option<&str>) -> Result<Arc<Store>, HostError> {
    match host {
        None => Ok(services.store.clone()),
        Some(h) if h == services.store.options().host => Ok(services.store.clone()),
        Some(h) => match services.store.existing_host(h) {
            Ok(Some(view)) => Ok(Arc::new(view)),
            Ok(None) => Err(HostError::Unknown(h.to_string())),
            Err(e) => Err(HostError::Store(e.to_string())),
        },
    }
}

/// [`store_for`] from a request's query parameters, off the async runtime.
pub async fn store_for_params(
    services: &Services,
    params: &[(String, String)],
) -> Result<Arc<Store>, HostError> {
    let host = host_param(params).map(str::to_string);
    let s = services.clone();
    tokio::task::spawn_blocking(move || store_for(&s, host.as_deref()))
        .await
        .unwrap_or_else(|e| Err(HostError::Store(e.to_string())))
}

/// `GET /api/fleet?filter=..`: one tile per host, worst first.
pub async fn fleet(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let filter = params
        .iter()
        .rev()
        .find(|(k, _)| k == "filter")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    if filter.len() > 253 {
        let body = ApiError::param("filter", "at most 253 characters");
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let s = services.clone();
    match tokio::task::spawn_blocking(move || overview(&s, &filter, now_ms())).await {
        Ok(Ok(o)) => Json(o).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "fleet overview failed");
            let body = ApiError::new("cannot read the hosts");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
        Err(_) => {
            let body = ApiError::new("fleet overview failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

/// The tiles of every host in the store (the server's own first in its list, from
/// the sample in memory), then the filter and the order. Blocking.
pub fn overview(
    services: &Services,
    filter: &str,
    now: i64,
) -> Result<FleetOverview, lookout::store::StoreError> {
    let own = services.store.options().host.clone();
    let mut firing: HashMap<String, u32> = HashMap::new();
    for a in services.alerting.active() {
        if a.state == "firing" {
            *firing.entry(a.host).or_default() += 1;
        }
    }
    let names = services.store.hosts()?;
    let total = names.len();
    let mut tiles = Vec::new();
    for (name, newest) in names {
        if !name_matches(&name, filter) {
            continue;
        }
        let this_host = name == own;
        let store = if this_host {
            services.store.clone()
        } else {
            match services.store.existing_host(&name)? {
                Some(v) => Arc::new(v),
                None => continue,
            }
        };
        let in_memory = if this_host {
            services.latest.borrow().clone()
        } else {
            None
        };
        let latest = match (in_memory, newest) {
            (Some(s), _) => Some(s),
            (None, Some(_)) => store.latest()?,
            (None, None) => None,
        };
        let open_events = store
            .events(now, now)?
            .iter()
            .filter(|e| e.end.is_none())
            .count() as u32;
        let interval = latest
            .as_ref()
            .map_or(services.interval.as_secs_f64(), |s| s.interval_secs);
        let firing_alerts = firing.get(&name).copied().unwrap_or(0);
        tiles.push(tile(
            name,
            this_host,
            latest.as_ref(),
            open_events,
            firing_alerts,
            now,
            interval,
        ));
    }
    worst_first(&mut tiles);
    Ok(FleetOverview {
        at: now,
        filter: filter.to_string(),
        total,
        hosts: tiles,
    })
}

fn tile(
    host: String,
    this_host: bool,
    latest: Option<&Snapshot>,
    open_events: u32,
    firing_alerts: u32,
    now: i64,
    interval_secs: f64,
) -> HostTile {
    let status = match latest {
        None => HostStatus::Stale,
        Some(s) if now - s.timestamp > stale_after_ms(interval_secs) => HostStatus::Stale,
        Some(s) if open_events > 0 || s.anomaly => HostStatus::Anomalous,
        Some(_) => HostStatus::Ok,
    };
    HostTile {
        host,
        status,
        this_host,
        last_seen: latest.map(|s| s.timestamp),
        cpu_usage: latest.map(|s| s.cpu_usage),
        memory_usage: latest.map(|s| s.memory_usage),
        load_average: latest.map(|s| s.load_average),
        anomaly_score: latest.and_then(|s| s.anomaly_score),
        open_events,
        firing_alerts,
    }
}
