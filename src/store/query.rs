//! Parsing and validating `GET /history` parameters into a [`HistoryQuery`].

use super::schema;
use crate::model::TimestampMs;
use serde::Serialize;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Longest span one query may ask for (a bit over the 90-day rollup retention,
/// with room for a year's view if retention is raised).
pub const MAX_SPAN_MS: i64 = 400 * DAY_MS;
pub const DEFAULT_POINTS: usize = 300;
pub const MAX_POINTS: usize = 10_000;

/// A validated history request. Built by [`HistoryQuery::parse`] from URL
/// parameters, or directly by code that already has trusted values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Metric names from `model::METRICS`, plus the pseudo-metric `anomaly_score`.
    pub metrics: Vec<String>,
    pub from: TimestampMs,
    pub to: TimestampMs,
    /// Upper bound on points per series; the store picks a resolution to fit.
    pub points: usize,
}

/// A rejected parameter: which one, and why (shown to the API caller as is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryError {
    pub param: String,
    pub message: String,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.param, self.message)
    }
}

impl std::error::Error for QueryError {}

impl QueryError {
    /// The parameter `param` is refused because of `message`.
    pub fn new(param: &str, message: impl Into<String>) -> QueryError {
        QueryError {
            param: param.to_string(),
            message: message.into(),
        }
    }
}

/// The value of URL parameter `k` (the last one when repeated), if given.
pub fn param<'a>(params: &'a [(String, String)], k: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(p, _)| p == k)
        .map(|(_, v)| v.as_str())
}

/// An integer parameter in `lo..=hi`, or `default` when absent; anything else is
/// refused with its name and range.
pub fn int_param<T>(
    params: &[(String, String)],
    k: &str,
    default: T,
    lo: T,
    hi: T,
) -> Result<T, QueryError>
where
    T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display,
{
    match param(params, k) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<T>()
            .ok()
            .filter(|n| *n >= lo && *n <= hi)
            .ok_or_else(|| {
                QueryError::new(
                    k,
                    format!("must be an integer from {lo} to {hi}, got {v:?}"),
                )
            }),
    }
}

/// The metric names of every `metric` parameter (comma separated and/or repeated),
/// each checked against the queryable names, duplicates dropped; empty when none.
pub fn metric_params(params: &[(String, String)]) -> Result<Vec<String>, QueryError> {
    let mut metrics: Vec<String> = Vec::new();
    for name in params
        .iter()
        .filter(|(p, _)| p == "metric")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if schema::column(name).is_none() {
            return Err(QueryError::new(
                "metric",
                format!(
                    "unknown metric {name:?}; valid names: {}",
                    schema::queryable_names().join(", ")
                ),
            ));
        }
        if !metrics.iter().any(|m| m == name) {
            metrics.push(name.to_string());
        }
    }
    Ok(metrics)
}

/// A time parameter in the one grammar of [`crate::time::parse_time`]: milliseconds
/// since the epoch, `now`, or a duration before now (`-30s`, `-15m`, `-1h30m`, `-2w`).
fn parse_time(param: &str, value: &str, now: TimestampMs) -> Result<TimestampMs, QueryError> {
    crate::time::parse_time(value, now).map_err(|e| QueryError::new(param, e.to_string()))
}

/// Validates the `from` and `to` URL parameters (ms since the epoch or relative to
/// `now`, like `-15m`): `to` defaults to `now`, `from` to `default_span_ms` before
/// `to`; `from` must be earlier, and the span at most 400 days.
pub fn parse_range(
    params: &[(String, String)],
    now: TimestampMs,
    default_span_ms: i64,
) -> Result<(TimestampMs, TimestampMs), QueryError> {
    let to = param(params, "to").map_or(Ok(now), |v| parse_time("to", v, now))?;
    let from = param(params, "from").map_or(Ok(to.saturating_sub(default_span_ms)), |v| {
        parse_time("from", v, now)
    })?;
    if from >= to {
        return Err(QueryError::new(
            "from",
            format!("must be earlier than to ({from} >= {to})"),
        ));
    }
    if to - from > MAX_SPAN_MS {
        return Err(QueryError::new(
            "from",
            "the range must not exceed 400 days",
        ));
    }
    Ok((from, to))
}

impl HistoryQuery {
    /// Validates URL parameters. `metric` is required (comma-separated and/or
    /// repeated); `from` defaults to one hour before `to`, `to` to `now`; `points`
    /// defaults to 300. Unknown parameters are ignored (cache busters and the like).
    pub fn parse(
        params: &[(String, String)],
        now: TimestampMs,
    ) -> Result<HistoryQuery, QueryError> {
        let metrics = metric_params(params)?;
        if metrics.is_empty() {
            return Err(QueryError::new(
                "metric",
                format!(
                    "required: one or more comma-separated names from: {}",
                    schema::queryable_names().join(", ")
                ),
            ));
        }
        let (from, to) = parse_range(params, now, HOUR_MS)?;
        let points = int_param(params, "points", DEFAULT_POINTS, 1, MAX_POINTS)?;
        Ok(HistoryQuery {
            metrics,
            from,
            to,
            points,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    /// URL parameters as the handlers get them, for the tests of every parser.
    pub(crate) fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(p: &[(&str, &str)]) -> Result<HistoryQuery, QueryError> {
        HistoryQuery::parse(&pairs(p), NOW)
    }

    #[test]
    fn defaults() {
        let q = parse(&[("metric", "cpu_usage")]).unwrap();
        assert_eq!(q.metrics, ["cpu_usage"]);
        assert_eq!((q.from, q.to, q.points), (NOW - HOUR_MS, NOW, 300));
    }

    #[test]
    fn lists_relative_and_absolute_times() {
        let q = parse(&[
            ("metric", "cpu_usage,load_1"),
            ("metric", "anomaly_score"),
            ("from", "-7d"),
            ("to", "-15m"),
            ("points", "1000"),
        ])
        .unwrap();
        assert_eq!(q.metrics, ["cpu_usage", "load_1", "anomaly_score"]);
        assert_eq!(q.from, NOW - 7 * DAY_MS);
        assert_eq!(q.to, NOW - 15 * MINUTE_MS);
        assert_eq!(q.points, 1000);
        let q = parse(&[("metric", "load_5"), ("from", "1000"), ("to", "2000")]).unwrap();
        assert_eq!((q.from, q.to), (1000, 2000));
        assert_eq!(
            parse(&[("metric", "load_5"), ("from", "-24h")])
                .unwrap()
                .from,
            NOW - DAY_MS
        );
    }

    #[test]
    fn errors_name_the_parameter() {
        let e = parse(&[]).unwrap_err();
        assert_eq!(e.param, "metric");
        let e = parse(&[("metric", "cpu,load_1")]).unwrap_err();
        assert_eq!(e.param, "metric");
        assert!(
            e.message.contains("\"cpu\"") && e.message.contains("cpu_usage"),
            "{e}"
        );
        let e = parse(&[("metric", "load_1"), ("points", "abc")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "points: must be an integer from 1 to 10000, got \"abc\""
        );
        assert_eq!(
            parse(&[("metric", "load_1"), ("points", "0")])
                .unwrap_err()
                .param,
            "points"
        );
        assert_eq!(
            parse(&[("metric", "load_1"), ("points", "10001")])
                .unwrap_err()
                .param,
            "points"
        );
        let e = parse(&[("metric", "load_1"), ("from", "yesterday")]).unwrap_err();
        assert_eq!(e.param, "from");
        assert!(e.message.contains("yesterday"));
        assert_eq!(
            parse(&[("metric", "load_1"), ("to", "-5x")])
                .unwrap_err()
                .param,
            "to"
        );
        let e = parse(&[("metric", "load_1"), ("from", "-1h"), ("to", "-2h")]).unwrap_err();
        assert!(e.message.contains("earlier"), "{e}");
        let e = parse(&[("metric", "load_1"), ("from", "-401d")]).unwrap_err();
        assert!(e.message.contains("400 days"), "{e}");
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"param\":\"from\""));
    }
}
