//! Loading the analysis page's data for a range: on the server straight from the
//! engine (the page renders complete, so its tables read without JavaScript), in the
//! browser from `GET /api/analysis/*` and `/api/anomalies`.

use crate::controls::Range;
use lookout::model::{AnomalyList, CoreHeatmap, Correlation, History, Rhythm};

/// Time buckets of the cores heatmap.
pub const CORE_BUCKETS: usize = 60;
/// Days the rhythm heatmaps cover (the most the API gives).
pub const RHYTHM_DAYS: u32 = 28;
/// Points per series for the correlation and its overlay.
pub const CORRELATION_POINTS: usize = 300;

/// The metrics the correlation matrix compares unless the page's `?compare=` picks
/// others, in its order.
pub const CORRELATION_METRICS: &[&str] = &[
    "cpu_usage",
    "memory_usage",
    "load_1",
    "disk_read_bytes_per_sec",
    "disk_write_bytes_per_sec",
    "net_rx_bytes_per_sec",
    "net_tx_bytes_per_sec",
    "anomaly_score",
];

/// Now, by the clock of whoever renders.
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        crate::browser::now_ms()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

/// The window a range covers, ending now.
pub fn window(range: Range) -> (i64, i64) {
    let to = now_ms();
    (to - range.span_ms(), to)
}

pub use crate::format::url_part;

/// `&host=NAME` for the API, or nothing for this host.
pub fn host_arg(host: &Option<String>) -> String {
    host.as_deref()
        .map_or_else(String::new, |h| format!("&host={}", url_part(h)))
}

/// The page's own URL for a view: the range, the rhythm's metric, the compared
/// metrics, the host and the overlaid pair (None: no overlay table).
pub fn page_url(
    range: Range,
    metric: &str,
    compare: &[String],
    host: &Option<String>,
    pair: Option<(&str, &str)>,
) -> String {
    let mut url = format!(
        "/analysis?range={}&metric={}&compare={}",
        range.key(),
        url_part(metric),
        url_part(&compare.join(","))
    );
    url += &host_arg(host);
    if let Some((a, b)) = pair {
        url += &format!("&pair={}#overlay", url_part(&format!("{a},{b}")));
    }
    url
}

/// Runs `f` on the store for the host a page's `?host=` names (this one when None):
/// the same view as the API's (`api::agent_view`), and an unknown host is an error in
/// the API's 400 words.
#[cfg(feature = "ssr")]
async fn on_store<T: Send + 'static>(
    host: Option<String>,
    f: impl FnOnce(&lookout::store::Store) -> lookout::store::Result<T> + Send + 'static,
) -> Result<T, String> {
    let store = match crate::api::agent_view(host.as_deref()).await {
        Ok(Some(view)) => view,
        Ok(None) => crate::api::app_state().map_err(|e| e.to_string())?.store,
        Err(e) => return Err(e.message()),
    };
    tokio::task::spawn_blocking(move || f(&store).map_err(|e| format!("store: {e}")))
        .await
        .map_err(|e| format!("store task failed: {e}"))?
}

/// A GET of the API read with [`crate::json`] (no serde visitor per wire type in the
/// wasm); Send for the resources, the browser being single-threaded.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
async fn fetch<T: crate::json::FromJson>(url: String) -> Result<T, String> {
    send_wrapper::SendWrapper::new(async move { crate::http::get_json(&url).await }).await
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
async fn fetch<T>(_url: String) -> Result<T, String> {
    Err("no data source in this build".into())
}

/// The query pairs both sides parse with the engine's own checks (so a bad
/// `?compare=` reads as the API's 400 would).
#[cfg(feature = "ssr")]
fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub async fn cores(range: Range, host: Option<String>) -> Result<CoreHeatmap, String> {
    let (from, to) = window(range);
    #[cfg(feature = "ssr")]
    {
        let q = lookout::analysis::CoresQuery {
            from,
            to,
            buckets: CORE_BUCKETS,
        };
        on_store(host, move |s| lookout::analysis::cores(s, &q)).await
    }
    #[cfg(not(feature = "ssr"))]
    {
        fetch(format!(
            "/api/analysis/cores?from={from}&to={to}&buckets={CORE_BUCKETS}{}",
            host_arg(&host)
        ))
        .await
    }
}

pub async fn rhythm(
    metric: String,
    tz_offset_min: i32,
    host: Option<String>,
) -> Result<Rhythm, String> {
    let to = now_ms();
    #[cfg(feature = "ssr")]
    {
        let q = lookout::analysis::RhythmQuery {
            metric,
            to,
            days: RHYTHM_DAYS,
            tz_offset_min,
        };
        on_store(host, move |s| lookout::analysis::rhythm(s, &q)).await
    }
    #[cfg(not(feature = "ssr"))]
    {
        fetch(format!(
            "/api/analysis/rhythm?metric={metric}&to={to}&days={RHYTHM_DAYS}&tz_offset_min={tz_offset_min}{}",
            host_arg(&host)
        ))
        .await
    }
}

pub async fn correlation(
    range: Range,
    metrics: Vec<String>,
    host: Option<String>,
) -> Result<Correlation, String> {
    let (from, to) = window(range);
    #[cfg(feature = "ssr")]
    {
        let params = pairs(&[
            ("metric", metrics.join(",")),
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("points", CORRELATION_POINTS.to_string()),
        ]);
        let q =
            lookout::analysis::CorrelationQuery::parse(&params, to).map_err(|e| e.to_string())?;
        on_store(host, move |s| lookout::analysis::correlation(s, &q)).await
    }
    #[cfg(not(feature = "ssr"))]
    {
        fetch(format!(
            "/api/analysis/correlation?metric={}&from={from}&to={to}&points={CORRELATION_POINTS}{}",
            url_part(&metrics.join(",")),
            host_arg(&host)
        ))
        .await
    }
}

/// Both series of a correlation cell, on the correlation's buckets.
pub async fn overlay(
    range: Range,
    pair: (String, String),
    host: Option<String>,
) -> Result<History, String> {
    let (from, to) = window(range);
    let metrics = if pair.0 == pair.1 {
        pair.0
    } else {
        format!("{},{}", pair.0, pair.1)
    };
    #[cfg(feature = "ssr")]
    {
        let params = pairs(&[
            ("metric", metrics),
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("points", CORRELATION_POINTS.to_string()),
        ]);
        let q = lookout::analysis::OverlayQuery::parse(&params, to).map_err(|e| e.to_string())?;
        on_store(host, move |s| lookout::analysis::overlay(s, &q)).await
    }
    #[cfg(not(feature = "ssr"))]
    {
        fetch(format!(
            "/api/analysis/overlay?metric={}&from={from}&to={to}&points={CORRELATION_POINTS}{}",
            url_part(&metrics),
            host_arg(&host)
        ))
        .await
    }
}

pub async fn events(range: Range, host: Option<String>) -> Result<AnomalyList, String> {
    let (from, to) = window(range);
    #[cfg(feature = "ssr")]
    {
        on_store(host, move |s| {
            let mut events = s.events(from, to)?;
            events.sort_by_key(|e| e.start);
            Ok(AnomalyList { from, to, events })
        })
        .await
    }
    #[cfg(not(feature = "ssr"))]
    {
        let mut list: AnomalyList = fetch(format!(
            "/api/anomalies?from={from}&to={to}{}",
            host_arg(&host)
        ))
        .await?;
        list.events.sort_by_key(|e| e.start);
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_view_and_encode_what_is_typed() {
        assert_eq!(url_part("web 2/ä"), "web%202%2F%C3%A4");
        assert_eq!(host_arg(&None), "");
        assert_eq!(host_arg(&Some("db-1".into())), "&host=db-1");
        let compare = vec!["cpu_usage".to_string(), "load_1".to_string()];
        assert_eq!(
            page_url(Range::Hour, "load_1", &compare, &Some("db-1".into()), Some(("cpu_usage", "load_1"))),
            "/analysis?range=1h&metric=load_1&compare=cpu_usage%2Cload_1&host=db-1&pair=cpu_usage%2Cload_1#overlay"
        );
    }
}
