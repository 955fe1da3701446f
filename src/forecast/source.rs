//! `GET /api/forecast?metric=..&horizon=..`: the request's grammar and the series
//! read from the store.
//!
//! `metric` is one of:
//! - `all` (the default): every filesystem, memory used and swap used;
//! - `filesystem`: every filesystem; `filesystem:/var`: that one (used bytes toward
//!   its size, i.e. "full in");
//! - `memory_used_bytes`, `swap_used_bytes`: toward memory / swap total, with the
//!   leak check; `memory_usage`, `swap_usage`: the same in percent, toward 100;
//! - `disk_free_percent`: the fullest filesystem's free space, falling toward 0.
//!
//! `horizon` is a duration from 10m to 30d (default 24h).

use super::{forecast, lookback_ms, Subject, MAX_HORIZON_MS, MIN_HORIZON_MS};
use crate::model::{
    metric_def, Forecast, ForecastReport, ForecastStatus, Snapshot, TimestampMs, Unit,
};
use crate::store::{param, HistoryQuery, QueryError, Store, StoreError};

/// The forecast selectors besides `filesystem:<mount>`.
pub const METRIC_NAMES: &[&str] = &[
    "all",
    "filesystem",
    "memory_used_bytes",
    "swap_used_bytes",
    "memory_usage",
    "swap_usage",
    "disk_free_percent",
];

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastQuery {
    pub metric: String,
    pub horizon_ms: i64,
}

impl ForecastQuery {
    /// Validates the URL parameters (unknown ones are ignored, as in the history API).
    pub fn parse(params: &[(String, String)]) -> Result<ForecastQuery, QueryError> {
        let metric = param(params, "metric").map_or("all", str::trim).to_string();
        if !METRIC_NAMES.contains(&metric.as_str()) && !metric.starts_with("filesystem:/") {
            return Err(QueryError::new(
                "metric",
                format!(
                    "unknown metric {metric:?}; valid: {}, or filesystem:<mount point> \
                     such as filesystem:/",
                    METRIC_NAMES.join(", ")
                ),
            ));
        }
        let horizon_ms = match param(params, "horizon") {
            None => 86_400_000,
            Some(v) => crate::time::parse_duration_ms(v)
                .map_err(|e| QueryError::new("horizon", e.to_string()))?,
        };
        if !(MIN_HORIZON_MS..=MAX_HORIZON_MS).contains(&horizon_ms) {
            return Err(QueryError::new(
                "horizon",
                format!(
                    "{} is out of range: from {} to {}",
                    param(params, "horizon").unwrap_or(""),
                    crate::time::format_duration_ms(MIN_HORIZON_MS),
                    crate::time::format_duration_ms(MAX_HORIZON_MS)
                ),
            ));
        }
        Ok(ForecastQuery { metric, horizon_ms })
    }
}

/// Why a forecast could not be answered: a bad parameter (400) or the store (500).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The memory / swap subjects, bounds from the latest snapshot.
fn scalar_subject(name: &str, latest: Option<&Snapshot>) -> Subject {
    let mem = latest.map(|s| &s.memory);
    let (label, bound, unit) = match name {
        "memory_used_bytes" => (
            "memory used",
            mem.map_or(0.0, |m| m.total_bytes as f64),
            Unit::Bytes,
        ),
        "swap_used_bytes" => (
            "swap used",
            mem.map_or(0.0, |m| m.swap_total_bytes as f64),
            Unit::Bytes,
        ),
        "memory_usage" => ("memory used", 100.0, Unit::Percent),
        "swap_usage" => ("swap used", 100.0, Unit::Percent),
        _ => ("disk free (fullest filesystem)", 0.0, Unit::Percent),
    };
    let falling = name == "disk_free_percent";
    Subject {
        metric: name.into(),
        label: label.into(),
        unit: Some(unit),
        bound,
        rising: !falling,
        reach_words: if falling { "reaches 0 %" } else { "full" }.into(),
        idle_words: "not filling up".into(),
        leak_check: !falling,
    }
}

/// A scalar metric's history over `[from, now]` as (time, value) points.
pub fn scalar_points(
    store: &Store,
    metric: &str,
    from: TimestampMs,
    now: TimestampMs,
) -> Result<Vec<(TimestampMs, f64)>, StoreError> {
    let h = store.history(&HistoryQuery {
        metrics: vec![metric.to_string()],
        from,
        to: now,
        points: 2 * super::trend::MAX_BUCKETS,
    })?;
    Ok(h.series
        .first()
        .map(|s| s.points.iter().map(|p| (p.t, p.v)).collect())
        .unwrap_or_default())
}

/// Answers `q` for the store's host (a view's host on a hub) at `now`.
pub fn report(
    store: &Store,
    q: &ForecastQuery,
    now: TimestampMs,
) -> Result<ForecastReport, SourceError> {
    let from = now - lookback_ms(q.horizon_ms);
    let latest = store.latest()?;
    let mut forecasts = Vec::new();
    let fs_wanted = |mount: &str| match q.metric.as_str() {
        "all" | "filesystem" => true,
        m => m.strip_prefix("filesystem:") == Some(mount),
    };
    if q.metric == "all" || q.metric.starts_with("filesystem") {
        let step = super::bucket_ms(lookback_ms(q.horizon_ms)) / 4;
        let rows = store.filesystem_history(from, now, step.max(1_000))?;
        // The mounts of the latest sample, in its order; their sizes are the bounds.
        let mounts: Vec<(String, f64)> = latest
            .iter()
            .flat_map(|s| &s.disk.filesystems)
            .map(|f| (f.mount_point.clone(), f.total_bytes as f64))
            .filter(|(m, _)| fs_wanted(m))
            .collect();
        if mounts.is_empty() && q.metric.starts_with("filesystem:") {
            let known: Vec<String> = latest
                .iter()
                .flat_map(|s| &s.disk.filesystems)
                .map(|f| format!("filesystem:{}", f.mount_point))
                .collect();
            return Err(QueryError::new(
                "metric",
                format!(
                    "no filesystem is mounted at {:?}; known: {}",
                    &q.metric["filesystem:".len()..],
                    known.join(", ")
                ),
            )
            .into());
        }
        for (mount, total) in mounts {
            let pts: Vec<(TimestampMs, f64)> = rows
                .iter()
                .filter_map(|(t, fss)| {
                    let f = fss.iter().find(|f| f.mount_point == mount)?;
                    Some((*t, f.total_bytes.saturating_sub(f.available_bytes) as f64))
                })
                .collect();
            forecasts.push(forecast(
                &Subject::filesystem(&mount, total),
                &pts,
                now,
                q.horizon_ms,
            ));
        }
    }
    let scalars: Vec<&str> = match q.metric.as_str() {
        "all" => vec!["memory_used_bytes", "swap_used_bytes"],
        m if metric_def(m).is_some() => vec![m],
        _ => vec![],
    };
    for name in scalars {
        let subject = scalar_subject(name, latest.as_ref());
        // No swap configured: nothing can fill.
        if name == "swap_used_bytes" && subject.bound <= 0.0 && q.metric == "all" {
            continue;
        }
        let pts = scalar_points(store, name, from, now)?;
        let mut f = forecast(&subject, &pts, now, q.horizon_ms);
        if subject.rising && subject.bound <= 0.0 {
            // Nothing to fill (no swap, or no sample to read the total from).
            f = Forecast {
                status: ForecastStatus::NotApproaching,
                message: format!("{}: nothing to fill (total is 0)", subject.label),
                line: Vec::new(),
                ..Forecast {
                    metric: f.metric,
                    label: f.label,
                    unit: f.unit,
                    bound: f.bound,
                    rising: true,
                    current: f.current,
                    history_secs: f.history_secs,
                    required_history_secs: f.required_history_secs,
                    leak_suspected: Some(false),
                    ..Forecast::default()
                }
            };
        }
        forecasts.push(f);
    }
    Ok(ForecastReport {
        generated_at: now,
        horizon_secs: q.horizon_ms as f64 / 1000.0,
        forecasts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FilesystemUsage, MemoryStats};

    const GIB: u64 = 1 << 30;

    /// Two hours at 10 s: `/data` (10 GiB) fills at 1 GiB per hour from 2 GiB, `/`
    /// stays put, memory used is flat.
    fn stored(now: TimestampMs) -> (tempfile::TempDir, Store) {
        let (dir, store) = crate::store::tests::temp_store("h");
        let start = now - 2 * 3_600_000;
        let snaps: Vec<Snapshot> = (0..=720)
            .map(|i| {
                let t = start + i * 10_000;
                let used = 2 * GIB + (GIB as f64 * (i as f64 * 10.0 / 3600.0)) as u64;
                let mut s = Snapshot {
                    host: "h".into(),
                    timestamp: t,
                    memory: MemoryStats {
                        total_bytes: 8 * GIB,
                        used_bytes: 3 * GIB + (i % 7) as u64 * 1024,
                        ..MemoryStats::default()
                    },
                    ..Snapshot::default()
                };
                s.disk.filesystems = vec![
                    FilesystemUsage {
                        mount_point: "/".into(),
                        total_bytes: 50 * GIB,
                        available_bytes: 20 * GIB,
                    },
                    FilesystemUsage {
                        mount_point: "/data".into(),
                        total_bytes: 10 * GIB,
                        available_bytes: 10 * GIB - used,
                    },
                ];
                s
            })
            .collect();
        store.insert(&snaps).unwrap();
        (dir, store)
    }

    #[test]
    fn the_store_s_filesystems_and_memory_are_forecast() {
        let now = 1_764_085_000_000;
        let (_dir, store) = stored(now);
        let q = ForecastQuery::parse(&[]).unwrap();
        let r = report(&store, &q, now).unwrap();
        let names: Vec<&str> = r.forecasts.iter().map(|f| f.metric.as_str()).collect();
        // No swap on this host: no swap forecast in `all`.
        assert_eq!(
            names,
            ["filesystem:/", "filesystem:/data", "memory_used_bytes"]
        );
        let data = &r.forecasts[1];
        assert_eq!(
            data.status,
            crate::model::ForecastStatus::Reaches,
            "{}",
            data.message
        );
        // 4 GiB used now, 6 GiB to go at 1 GiB/h.
        let hours = data.time_to_bound_secs.unwrap() / 3600.0;
        assert!((hours - 6.0).abs() < 0.3, "{hours} h: {}", data.message);
        assert!(
            data.message.starts_with("/data full in ~"),
            "{}",
            data.message
        );
        assert!(data.within_horizon);
        assert_eq!(r.forecasts[0].message, "not filling up");
        assert_eq!(r.forecasts[2].message, "not filling up");
        assert_eq!(r.forecasts[2].leak_suspected, Some(false));

        let one = ForecastQuery {
            metric: "filesystem:/data".into(),
            horizon_ms: 3_600_000,
        };
        let r = report(&store, &one, now).unwrap();
        assert_eq!(r.forecasts.len(), 1);
        assert!(!r.forecasts[0].within_horizon);
        let none = ForecastQuery {
            metric: "filesystem:/nope".into(),
            horizon_ms: 3_600_000,
        };
        match report(&store, &none, now) {
            Err(SourceError::Query(e)) => {
                assert_eq!(e.param, "metric");
                assert!(e.message.contains("filesystem:/data"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        // No swap on this host: asked for anyway, it says so.
        let swap = ForecastQuery {
            metric: "swap_used_bytes".into(),
            horizon_ms: 3_600_000,
        };
        let r = report(&store, &swap, now).unwrap();
        assert_eq!(
            r.forecasts[0].message,
            "swap used: nothing to fill (total is 0)"
        );
        assert!(r.forecasts[0].time_to_bound_secs.is_none());
        // Twelve minutes of history only.
        let r = report(&store, &q, now - 108 * 60_000).unwrap();
        assert_eq!(
            r.forecasts[1].message,
            "not enough history: 12 of 60 minutes"
        );
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<ForecastQuery, QueryError> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        ForecastQuery::parse(&v)
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(
            parse(&[]).unwrap(),
            ForecastQuery {
                metric: "all".into(),
                horizon_ms: 86_400_000
            }
        );
        assert_eq!(
            parse(&[("metric", "filesystem:/var")]).unwrap().metric,
            "filesystem:/var"
        );
        let e = parse(&[("metric", "cpu_usage")]).unwrap_err();
        assert_eq!(e.param, "metric");
        assert!(e.message.contains("filesystem:<mount point>"), "{e}");
        let e = parse(&[("horizon", "90d")]).unwrap_err();
        assert_eq!(e.param, "horizon");
        assert!(e.message.contains("out of range: from 10m to 30d"), "{e}");
        assert_eq!(parse(&[("horizon", "1m")]).unwrap_err().param, "horizon");
        assert_eq!(parse(&[("horizon", "soon")]).unwrap_err().param, "horizon");
    }
}
