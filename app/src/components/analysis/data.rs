//! Loading the analysis page's data for a range: on the server straight from the
//! engine (the page renders complete, so its tables read without JavaScript), in the
//! browser from `GET /api/analysis/*` and `/api/anomalies`.

use crate::controls::Range;
use lookout::model::{AnomalyList, CoreHeatmap, Correlation, Rhythm};

/// Time buckets of the cores heatmap.
pub const CORE_BUCKETS: usize = 60;
/// Days the rhythm heatmaps cover (the most the API gives).
pub const RHYTHM_DAYS: u32 = 28;
/// Points per series for the correlation and its overlay.
pub const CORRELATION_POINTS: usize = 300;

/// The metrics the correlation matrix compares, in its order.
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

#[cfg(feature = "ssr")]
async fn on_store<T: Send + 'static>(
    f: impl FnOnce(&lookout::store::Store) -> lookout::store::Result<T> + Send + 'static,
) -> Result<T, String> {
    let store = crate::api::app_state().map_err(|e| e.to_string())?.store;
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| format!("store task failed: {e}"))?
        .map_err(|e| format!("store: {e}"))
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
async fn fetch<T: serde::de::DeserializeOwned>(url: String) -> Result<T, String> {
    send_wrapper::SendWrapper::new(async move { crate::http::get(&url).await }).await
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
async fn fetch<T>(_url: String) -> Result<T, String> {
    Err("no data source in this build".into())
}

pub async fn cores(range: Range) -> Result<CoreHeatmap, String> {
    let (from, to) = window(range);
    #[cfg(feature = "ssr")]
    {
        let q = lookout::analysis::CoresQuery {
            from,
            to,
            buckets: CORE_BUCKETS,
        };
        on_store(move |s| lookout::analysis::cores(s, &q)).await
    }
    #[cfg(not(feature = "ssr"))]
    {
        fetch(format!(
            "/api/analysis/cores?from={from}&to={to}&buckets={CORE_BUCKETS}"
        ))
        .await
    }
}

pub async fn rhythm(metric: String, tz_offset_min: i32) -> Result<Rhythm, String> {
    let to = now_ms();
    #[cfg(feature = "ssr")]
    {
        let q = lookout::analysis::RhythmQuery {
            metric,
            to,
            days: RHYTHM_DAYS,
            tz_offset_min,
        };
        on_store(move |s| lookout::analysis::rhythm(s, &q)).await
    }
    #[cfg(not(feature = "ssr"))]
    {
        fetch(format!(
            "/api/analysis/rhythm?metric={metric}&to={to}&days={RHYTHM_DAYS}&tz_offset_min={tz_offset_min}"
        ))
        .await
    }
}

pub async fn correlation(range: Range) -> Result<Correlation, String> {
    let (from, to) = window(range);
    #[cfg(feature = "ssr")]
    {
        let q = lookout::analysis::CorrelationQuery {
            metrics: CORRELATION_METRICS.iter().map(|m| m.to_string()).collect(),
            from,
            to,
            points: CORRELATION_POINTS,
        };
        on_store(move |s| lookout::analysis::correlation(s, &q)).await
    }
    #[cfg(not(feature = "ssr"))]
    {
        fetch(format!(
            "/api/analysis/correlation?metric={}&from={from}&to={to}&points={CORRELATION_POINTS}",
            CORRELATION_METRICS.join(",")
        ))
        .await
    }
}

pub async fn events(range: Range) -> Result<AnomalyList, String> {
    let (from, to) = window(range);
    #[cfg(feature = "ssr")]
    {
        on_store(move |s| {
            let mut events = s.events(from, to)?;
            events.sort_by_key(|e| e.start);
            Ok(AnomalyList { from, to, events })
        })
        .await
    }
    #[cfg(not(feature = "ssr"))]
    {
        let mut list: AnomalyList = fetch(format!("/api/anomalies?from={from}&to={to}")).await?;
        list.events.sort_by_key(|e| e.start);
        Ok(list)
    }
}
