//! Metric history: `GET /api/history` (strict, developers) and `GET /api/series` (the
//! dashboard's charts).

use super::{TimestampMs, Unit};
use serde::{Deserialize, Serialize};

/// One point of a history series. Raw samples have `min == max == v`; rolled-up
/// points carry the bucket's minimum and maximum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub t: TimestampMs,
    pub v: f64,
    pub min: f64,
    pub max: f64,
}

/// A metric's history over a time range, at the resolution the store chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub metric: String,
    pub unit: Unit,
    /// Seconds per point: the sampling interval for raw data, else the bucket width.
    pub resolution_secs: f64,
    pub points: Vec<Point>,
}

/// The answer to a history query: one series per requested metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub from: TimestampMs,
    pub to: TimestampMs,
    pub series: Vec<Series>,
}

impl super::ApiBody for History {
    fn example() -> Self {
        History {
            from: 1_764_081_400_000,
            to: 1_764_085_000_000,
            series: vec![Series {
                metric: "cpu_usage".into(),
                unit: Unit::Percent,
                resolution_secs: 5.0,
                points: vec![Point {
                    t: 1_764_081_405_000,
                    v: 12.5,
                    min: 12.5,
                    max: 12.5,
                }],
            }],
        }
    }
}
