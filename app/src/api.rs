//! Server functions. On the server they run with `AppState` in context (provided by the
//! server's `leptos_routes_with_context`, which also registers these handlers); in the
//! browser the same names are typed HTTP clients.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use lookout::model::{History, Snapshot};

use crate::state::UiSettings;

/// How the server hands a resource's value to the browser for hydration: written with
/// serde_json like every answer, read in the browser by [`crate::json`] (the browser's
/// `JSON.parse` and each wire type's own reader), the same reader as the answers and the
/// live stream, so the wasm holds no serde visitor per wire type (docs/wasm-size.md).
/// Leptos's default codec reads with serde_json, a second copy.
pub struct PageJson;

impl<T: serde::Serialize> leptos::server::codee::Encoder<T> for PageJson {
    type Error = String;
    type Encoded = String;

    fn encode(val: &T) -> Result<String, String> {
        serde_json::to_string(val).map_err(|e| e.to_string())
    }
}

impl<T: crate::json::FromJson> leptos::server::codee::Decoder<T> for PageJson {
    type Error = String;
    type Encoded = str;

    fn decode(val: &str) -> Result<T, String> {
        #[cfg(feature = "hydrate")]
        {
            crate::json::decode(val)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let v = serde_json::from_str(val).map_err(|e| e.to_string())?;
            crate::json::read(crate::json::Json::from_value(v))
        }
    }
}

/// `Resource::new` with [`PageJson`]: resolved on the server, handed to the browser in
/// the page.
#[track_caller]
pub fn resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, PageJson>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: serde::Serialize + crate::json::FromJson + Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

/// The metrics the charts draw, in the order of their history query.
pub const CHART_METRICS: &[&str] = &[
    "cpu_usage",
    "memory_usage",
    "load_1",
    "load_5",
    "load_15",
    "disk_read_bytes_per_sec",
    "disk_write_bytes_per_sec",
    "disk_free_percent",
    "net_rx_bytes_per_sec",
    "net_tx_bytes_per_sec",
    "psi_cpu_some",
    "psi_memory_some",
    "psi_io_some",
    "anomaly_score",
];

/// The anomaly score is a pseudo-metric of the history query (0..1, unscored samples
/// have no point), not a sampled metric.
pub const SCORE_METRIC: &str = "anomaly_score";

/// Largest point budget a chart may ask for.
pub const MAX_POINTS: u32 = 2_000;

/// The latest snapshot: the public `GET /metrics` JSON endpoint (empty prefix + endpoint
/// "metrics" makes the URL exactly `/metrics`). Served from the sampler's last published
/// sample, never by sampling in the request; falls back to the store after a restart
/// before the first sample. Answers 503 while there is no sample at all. On a hub,
/// `?host=NAME` gives an agent host's newest stored sample (400 for an unknown host).
#[server(prefix = "", endpoint = "metrics", input = GetUrl, output = Json)]
pub async fn get_metrics(host: Option<String>) -> Result<Snapshot, ServerFnError> {
    newest_snapshot(host.as_deref()).await?.map_err(|why| {
        set_status(503);
        ServerFnError::new(why)
    })
}

#[cfg(feature = "ssr")]
const NO_SAMPLE_YET: &str = "no sample yet: the sampler has not produced its first snapshot";

/// The snapshot the dashboard starts from (of `host`, when the page's URL names one),
/// read before the page renders (`dashboard::read_start`). It reads the state directly:
/// calling `get_metrics` would set the *page's* status to 503 when the sampler has not
/// produced a sample yet, and the page must still render then.
#[cfg(feature = "ssr")]
pub async fn initial_snapshot(host: Option<String>) -> Result<Snapshot, ServerFnError> {
    newest_snapshot(host.as_deref())
        .await?
        .map_err(ServerFnError::new)
}

/// A server function's JSON GET endpoint read in the browser by `http::get_json`
/// ([`crate::json`], like the dashboard's other reads), not through the server
/// function's client: its decoder reads bytes (`serde_json::from_slice`), a second
/// reader of every wire type in the wasm. Send (for resources) because the browser is
/// single-threaded.
#[cfg(feature = "hydrate")]
pub(crate) async fn browser_get<T: crate::json::FromJson>(url: String) -> Result<T, ServerFnError> {
    send_wrapper::SendWrapper::new(async move { crate::http::get_json::<T>(&url).await })
        .await
        .map_err(ServerFnError::new)
}

/// The settings, wherever the page runs: the server function on the server, a plain
/// read of the same `GET /api/settings` in the browser (see [`browser_get`]).
pub async fn settings() -> Result<UiSettings, ServerFnError> {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        browser_get("/api/settings".to_string()).await
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    {
        get_settings().await
    }
}

/// Chart history of `metrics` from `from` to `to` (ms), as [`get_history`] answers it:
/// in the browser a plain read of the same `GET /api/series` URL (see [`browser_get`]).
pub async fn history(
    metrics: &[&str],
    from: i64,
    to: i64,
    points: u32,
    host: Option<String>,
) -> Result<History, ServerFnError> {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let url = format!(
            "/api/series?metrics={}&from={from}&to={to}&points={points}",
            metrics.join(",")
        );
        browser_get(crate::components::dashboard::with_host(
            &url,
            host.as_deref(),
        ))
        .await
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    {
        get_history(metrics.join(","), from, to, points, host).await
    }
}

/// The newest snapshot of the host `host` names: an agent host's newest stored one
/// (carrying its name), else this server's ([`latest_snapshot`]). The inner error says
/// why there is none yet (`get_metrics` answers it with a 503, the page without).
#[cfg(feature = "ssr")]
async fn newest_snapshot(
    host: Option<&str>,
) -> Result<Result<Snapshot, &'static str>, ServerFnError> {
    if let Some(store) = agent_store(host).await? {
        let name = store.options().host.clone();
        let latest = blocking(move || store.latest()).await?;
        return Ok(latest
            .map(|mut s| {
                s.host = name;
                s
            })
            .ok_or("no sample of this host stored yet"));
    }
    Ok(latest_snapshot().await?.ok_or(NO_SAMPLE_YET))
}

/// Runs a store call off the async runtime.
#[cfg(feature = "ssr")]
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, lookout::store::StoreError> + Send + 'static,
) -> Result<T, ServerFnError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServerFnError::new(format!("store task failed: {e}")))?
        .map_err(|e| ServerFnError::new(format!("store: {e}")))
}

/// Why a `host` parameter cannot be read (the server's `hosts::HostError`).
#[cfg(feature = "ssr")]
pub(crate) enum HostError {
    /// The store has never heard of it.
    Unknown(String),
    /// The state or the store could not be read.
    Store(ServerFnError),
}

#[cfg(feature = "ssr")]
impl HostError {
    /// What a page says: the API's words for an unknown host.
    pub(crate) fn message(&self) -> String {
        match self {
            HostError::Unknown(host) => lookout::model::ApiError::unknown_host(host).error,
            HostError::Store(ServerFnError::ServerError(e)) => e.clone(),
            HostError::Store(e) => e.to_string(),
        }
    }
}

/// The store as an agent host named by a `host` parameter; None for this server's own
/// host (absent, empty or its own name). The app's side of the server's
/// `hosts::store_for`: the same views, the same refusal.
#[cfg(feature = "ssr")]
pub(crate) async fn agent_view(
    host: Option<&str>,
) -> Result<Option<std::sync::Arc<lookout::store::Store>>, HostError> {
    let state = app_state().map_err(HostError::Store)?;
    let Some(host) = host.filter(|h| !h.is_empty() && **h != state.store.options().host) else {
        return Ok(None);
    };
    let name = host.to_string();
    let store = state.store.clone();
    match blocking(move || store.existing_host(&name)).await {
        Ok(Some(view)) => Ok(Some(std::sync::Arc::new(view))),
        Ok(None) => Err(HostError::Unknown(host.to_string())),
        Err(e) => Err(HostError::Store(e)),
    }
}

/// [`agent_view`] for a server function: an unknown name is a 400 naming `host`.
#[cfg(feature = "ssr")]
async fn agent_store(
    host: Option<&str>,
) -> Result<Option<std::sync::Arc<lookout::store::Store>>, ServerFnError> {
    agent_view(host).await.map_err(|e| match e {
        HostError::Unknown(_) => {
            set_status(400);
            ServerFnError::new(e.message())
        }
        HostError::Store(e) => e,
    })
}

/// The sampler's last published snapshot, else the newest stored one.
#[cfg(feature = "ssr")]
async fn latest_snapshot() -> Result<Option<Snapshot>, ServerFnError> {
    let state = app_state()?;
    if let Some(snapshot) = state.latest.borrow().clone() {
        return Ok(Some(snapshot));
    }
    let store = state.store.clone();
    blocking(move || store.latest()).await
}

/// History for the charts, as `GET /api/series?metrics=a,b&from=..&to=..&points=..`
/// (times in ms since the epoch; `&host=NAME` for an agent host of a hub). The strict
/// public `/api/history` is the server's.
#[server(endpoint = "series", input = GetUrl, output = Json)]
pub async fn get_history(
    metrics: String,
    from: i64,
    to: i64,
    points: u32,
    host: Option<String>,
) -> Result<History, ServerFnError> {
    let metrics = parse_metric_list(&metrics).map_err(|e| {
        set_status(400);
        ServerFnError::new(e)
    })?;
    if to <= from {
        set_status(400);
        return Err(ServerFnError::new(format!(
            "`to` ({to}) must be after `from` ({from})"
        )));
    }
    let query = lookout::store::HistoryQuery {
        metrics,
        from,
        to,
        points: points.clamp(2, MAX_POINTS) as usize,
    };
    let store = match agent_store(host.as_deref()).await? {
        Some(view) => view,
        None => app_state()?.store,
    };
    blocking(move || store.history(&query)).await
}

/// The settings the dashboard starts from, as `GET /api/settings`.
#[server(endpoint = "settings", input = GetUrl, output = Json)]
pub async fn get_settings() -> Result<UiSettings, ServerFnError> {
    Ok(app_state()?.settings)
}

/// Splits a comma-separated metric list and checks every name against `METRICS`.
pub fn parse_metric_list(list: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if names.is_empty() {
        return Err("`metrics` is empty: give one or more metric names, comma separated".into());
    }
    let unknown: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| *n != SCORE_METRIC && lookout::model::metric_def(n).is_none())
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = lookout::model::METRICS.iter().map(|d| d.name).collect();
        return Err(format!(
            "unknown metric(s) {}; known: {}",
            unknown.join(", "),
            known.join(", ")
        ));
    }
    Ok(names)
}

#[cfg(feature = "ssr")]
pub(crate) fn app_state() -> Result<crate::state::AppState, ServerFnError> {
    use_context::<crate::state::AppState>()
        .ok_or_else(|| ServerFnError::new("AppState missing from the server context"))
}

/// Sets the HTTP status of the server function's response (leptos_axum applies it).
#[cfg(feature = "ssr")]
fn set_status(code: u16) {
    if let (Some(opts), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(code),
    ) {
        opts.set_status(status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use server_fn::ServerFn;

    #[test]
    fn urls_are_the_documented_ones() {
        assert_eq!(<GetMetrics as ServerFn>::PATH, "/metrics");
        assert_eq!(<GetHistory as ServerFn>::PATH, "/api/series");
        assert_eq!(<GetSettings as ServerFn>::PATH, "/api/settings");
    }

    #[test]
    fn metric_lists_are_checked() {
        assert_eq!(
            parse_metric_list(" cpu_usage, load_1 ,").unwrap(),
            vec!["cpu_usage".to_string(), "load_1".to_string()]
        );
        assert!(parse_metric_list("").unwrap_err().contains("empty"));
        let e = parse_metric_list("cpu_usage,bogus").unwrap_err();
        assert!(e.contains("bogus") && e.contains("memory_usage"), "{e}");
        assert!(parse_metric_list("anomaly_score").is_ok());
        for m in CHART_METRICS {
            assert!(
                *m == SCORE_METRIC || lookout::model::metric_def(m).is_some(),
                "{m}"
            );
        }
    }
}
