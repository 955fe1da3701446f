//! Validating the analysis endpoints' URL parameters: a bad one is refused with its
//! name (`QueryError`, a 400), never clamped silently. Unknown parameters are ignored,
//! as for `/api/history`.

use crate::model::TimestampMs;
use crate::store::{int_param, metric_params, param, parse_range, QueryError};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Time buckets of the cores heatmap: default and bounds.
pub const CORE_BUCKETS: (usize, usize, usize) = (60, 2, 500);
/// Days of the rhythm heatmap: default (and most) 28.
pub const RHYTHM_DAYS: (u32, u32) = (28, 1);
/// Points per series of the correlation: default and bounds.
pub const CORRELATION_POINTS: (usize, usize, usize) = (300, 10, 2000);
/// How many metrics one correlation matrix may compare.
pub const CORRELATION_METRICS: (usize, usize) = (2, 12);

/// `GET /api/analysis/cores?from=..&to=..&buckets=..`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoresQuery {
    pub from: TimestampMs,
    pub to: TimestampMs,
    pub buckets: usize,
}

/// `GET /api/analysis/rhythm?metric=..&to=..&days=..&tz_offset_min=..`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RhythmQuery {
    pub metric: String,
    pub to: TimestampMs,
    pub days: u32,
    /// Minutes east of UTC (the browser's zone), -840 to 840.
    pub tz_offset_min: i32,
}

/// `GET /api/analysis/correlation?metric=a,b,..&from=..&to=..&points=..`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationQuery {
    pub metrics: Vec<String>,
    pub from: TimestampMs,
    pub to: TimestampMs,
    pub points: usize,
}

/// `GET /api/analysis/overlay?metric=a,b&from=..&to=..&points=..`: the two series of
/// a correlation cell, bucketed as the correlation was (one name for a diagonal cell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlayQuery {
    pub metrics: Vec<String>,
    pub from: TimestampMs,
    pub to: TimestampMs,
    pub points: usize,
}

impl CoresQuery {
    /// `from` defaults to an hour before `to`, `to` to now; `buckets` to 60 (2-500).
    pub fn parse(params: &[(String, String)], now: TimestampMs) -> Result<Self, QueryError> {
        let (from, to) = parse_range(params, now, HOUR_MS)?;
        let (d, lo, hi) = CORE_BUCKETS;
        let buckets = int_param(params, "buckets", d, lo, hi)?;
        Ok(CoresQuery { from, to, buckets })
    }
}

impl RhythmQuery {
    /// `metric` (one name) defaults to `cpu_usage`; `to` to now; `days` to 28 (1-28);
    /// `tz_offset_min` to 0 (UTC).
    pub fn parse(params: &[(String, String)], now: TimestampMs) -> Result<Self, QueryError> {
        let mut names = metric_params(params)?;
        if names.len() > 1 {
            return Err(QueryError::new("metric", "give one metric name"));
        }
        let metric = names.pop().unwrap_or_else(|| "cpu_usage".to_string());
        let to = match param(params, "to") {
            None => now,
            Some(v) => {
                crate::time::parse_time(v, now).map_err(|e| QueryError::new("to", e.to_string()))?
            }
        };
        let (d, lo) = RHYTHM_DAYS;
        let days = int_param(params, "days", d, lo, d)?;
        let tz_offset_min = int_param(params, "tz_offset_min", 0, -840, 840)?;
        Ok(RhythmQuery {
            metric,
            to,
            days,
            tz_offset_min,
        })
    }

    /// The start of the rhythm's window: `days` before `to`.
    pub fn from(&self) -> TimestampMs {
        self.to - i64::from(self.days) * DAY_MS
    }
}

/// What a correlation and its overlay take: the `metric` names (as many as `count`
/// allows, else `why` of how many were given), `from`/`to` as for history (default the
/// last hour) and `points` per series (300, 10-2000).
fn series_params(
    params: &[(String, String)],
    now: TimestampMs,
    count: std::ops::RangeInclusive<usize>,
    why: impl FnOnce(usize) -> String,
) -> Result<(Vec<String>, TimestampMs, TimestampMs, usize), QueryError> {
    let metrics = metric_params(params)?;
    if !count.contains(&metrics.len()) {
        return Err(QueryError::new("metric", why(metrics.len())));
    }
    let (from, to) = parse_range(params, now, HOUR_MS)?;
    let (d, lo, hi) = CORRELATION_POINTS;
    let points = int_param(params, "points", d, lo, hi)?;
    Ok((metrics, from, to, points))
}

impl CorrelationQuery {
    /// `metric`: 2 to 12 names (required); `from`/`to` as for history (default the last
    /// hour); `points` per series 300 (10-2000).
    pub fn parse(params: &[(String, String)], now: TimestampMs) -> Result<Self, QueryError> {
        let (lo, hi) = CORRELATION_METRICS;
        let (metrics, from, to, points) = series_params(params, now, lo..=hi, |n| {
            format!("give {lo} to {hi} distinct metric names, comma separated (got {n})")
        })?;
        Ok(CorrelationQuery {
            metrics,
            from,
            to,
            points,
        })
    }
}

impl OverlayQuery {
    /// `metric`: 1 or 2 names (required); `from`/`to` and `points` as for the
    /// correlation.
    pub fn parse(params: &[(String, String)], now: TimestampMs) -> Result<Self, QueryError> {
        let (metrics, from, to, points) = series_params(params, now, 1..=2, |n| {
            format!("give the two metric names of a cell, comma separated (got {n})")
        })?;
        Ok(OverlayQuery {
            metrics,
            from,
            to,
            points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::query_pairs as pairs;

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn defaults() {
        let q = CoresQuery::parse(&[], NOW).unwrap();
        assert_eq!((q.from, q.to, q.buckets), (NOW - HOUR_MS, NOW, 60));
        let q = RhythmQuery::parse(&[], NOW).unwrap();
        assert_eq!(
            (q.metric.as_str(), q.to, q.days, q.tz_offset_min),
            ("cpu_usage", NOW, 28, 0)
        );
        assert_eq!(q.from(), NOW - 28 * DAY_MS);
        let q = CorrelationQuery::parse(&pairs(&[("metric", "cpu_usage,load_1")]), NOW).unwrap();
        assert_eq!(q.metrics, ["cpu_usage", "load_1"]);
        assert_eq!((q.from, q.to, q.points), (NOW - HOUR_MS, NOW, 300));
    }

    #[test]
    fn values_are_read() {
        let q = CoresQuery::parse(&pairs(&[("from", "-24h"), ("buckets", "500")]), NOW).unwrap();
        assert_eq!((q.from, q.buckets), (NOW - DAY_MS, 500));
        let q = RhythmQuery::parse(
            &pairs(&[
                ("metric", "anomaly_score"),
                ("days", "7"),
                ("tz_offset_min", "-300"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(
            (q.metric.as_str(), q.days, q.tz_offset_min),
            ("anomaly_score", 7, -300)
        );
        let q = CorrelationQuery::parse(
            &pairs(&[
                ("metric", "cpu_usage"),
                ("metric", "load_1,cpu_usage,anomaly_score"),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(q.metrics, ["cpu_usage", "load_1", "anomaly_score"]);
    }

    #[test]
    fn bad_values_name_their_parameter() {
        let param = |r: Result<(), QueryError>| r.unwrap_err().param;
        let cores = |p: &[(&str, &str)]| CoresQuery::parse(&pairs(p), NOW).map(|_| ());
        let rhythm = |p: &[(&str, &str)]| RhythmQuery::parse(&pairs(p), NOW).map(|_| ());
        let corr = |p: &[(&str, &str)]| CorrelationQuery::parse(&pairs(p), NOW).map(|_| ());
        assert_eq!(param(cores(&[("buckets", "1")])), "buckets");
        assert_eq!(param(cores(&[("buckets", "501")])), "buckets");
        assert_eq!(param(cores(&[("buckets", "x")])), "buckets");
        assert_eq!(param(cores(&[("from", "-1h"), ("to", "-2h")])), "from");
        assert_eq!(param(cores(&[("to", "soon")])), "to");
        assert_eq!(param(rhythm(&[("metric", "bogus")])), "metric");
        assert_eq!(param(rhythm(&[("metric", "cpu_usage,load_1")])), "metric");
        assert_eq!(param(rhythm(&[("days", "29")])), "days");
        assert_eq!(param(rhythm(&[("days", "0")])), "days");
        assert_eq!(param(rhythm(&[("tz_offset_min", "900")])), "tz_offset_min");
        assert_eq!(param(rhythm(&[("to", "later")])), "to");
        assert_eq!(param(corr(&[])), "metric");
        assert_eq!(param(corr(&[("metric", "cpu_usage")])), "metric");
        assert_eq!(param(corr(&[("metric", "cpu_usage,cpu_usage")])), "metric");
        let e = CorrelationQuery::parse(&pairs(&[("metric", "cpu_usage,nope")]), NOW).unwrap_err();
        assert!(
            e.message.contains("\"nope\"") && e.message.contains("load_1"),
            "{e}"
        );
        assert_eq!(
            param(corr(&[("metric", "cpu_usage,load_1"), ("points", "9")])),
            "points"
        );
        let overlay = |p: &[(&str, &str)]| OverlayQuery::parse(&pairs(p), NOW).map(|_| ());
        assert_eq!(param(overlay(&[])), "metric");
        assert_eq!(
            param(overlay(&[("metric", "cpu_usage,load_1,load_5")])),
            "metric"
        );
        assert_eq!(param(overlay(&[("metric", "cpu_usage,nope")])), "metric");
        assert_eq!(
            param(overlay(&[("metric", "cpu_usage"), ("points", "5000")])),
            "points"
        );
        let q = OverlayQuery::parse(&pairs(&[("metric", "load_1,load_1")]), NOW).unwrap();
        assert_eq!((q.metrics.len(), q.points), (1, 300));
        let thirteen = crate::store::queryable_names()[..13].join(",");
        assert_eq!(param(corr(&[("metric", &thirteen)])), "metric");
    }
}
