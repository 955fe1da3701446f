//! The analysis page's data (`GET /api/analysis/cores`, `/rhythm`, `/correlation`):
//! per-core CPU over time, the weekly rhythm of a metric and of the anomaly score, and
//! the correlation matrix of chosen metrics. Computed by `lookout::analysis`.

use super::{ApiBody, TimestampMs};
use serde::{Deserialize, Serialize};

/// `GET /api/analysis/cores`: CPU use per core (percent, 0-100) in time buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CoreHeatmap {
    pub from: TimestampMs,
    pub to: TimestampMs,
    /// Width of one bucket.
    pub bucket_secs: f64,
    /// Start of every bucket, oldest first (buckets without data are kept, as nulls).
    pub times: Vec<TimestampMs>,
    /// `cores[i][j]`: mean use of core `i` in bucket `j`; null where nothing was sampled.
    pub cores: Vec<Vec<Option<f64>>>,
}

/// One hour-of-day x day-of-week grid: `means[day][hour]`, day 0 = Monday, in the
/// zone `tz_offset_min` east of UTC; null where no sample fell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RhythmGrid {
    /// The metric's name (`anomaly_score` for the score).
    pub metric: String,
    pub means: Vec<Vec<Option<f64>>>,
    /// Points averaged into each cell (half-hour buckets of the history).
    pub counts: Vec<Vec<u32>>,
}

/// `GET /api/analysis/rhythm`: when in the week a metric and the anomaly score run high.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Rhythm {
    pub from: TimestampMs,
    pub to: TimestampMs,
    /// Minutes east of UTC the hours are counted in.
    pub tz_offset_min: i32,
    pub metric: RhythmGrid,
    pub score: RhythmGrid,
}

/// One cell of a correlation matrix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct CorrelationCell {
    /// Pearson's r in [-1, 1]; null with fewer than 3 shared points or a flat series.
    pub r: Option<f64>,
    /// Buckets where both series have a value.
    pub n: u32,
}

/// `GET /api/analysis/correlation`: Pearson's r between every two chosen metrics, on
/// their bucketed history over the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Correlation {
    pub from: TimestampMs,
    pub to: TimestampMs,
    /// Seconds per point of the series compared.
    pub resolution_secs: f64,
    pub metrics: Vec<String>,
    /// `cells[i][j]` compares `metrics[i]` with `metrics[j]` (symmetric).
    pub cells: Vec<Vec<CorrelationCell>>,
}

impl ApiBody for CoreHeatmap {
    fn example() -> Self {
        CoreHeatmap {
            from: 1_764_081_400_000,
            to: 1_764_085_000_000,
            bucket_secs: 60.0,
            times: vec![1_764_081_360_000, 1_764_081_420_000],
            cores: vec![vec![Some(12.5), Some(80.0)], vec![Some(3.0), None]],
        }
    }
}

impl ApiBody for Rhythm {
    fn example() -> Self {
        let grid = |metric: &str, v: f64| {
            let mut means = vec![vec![None; 24]; 7];
            let mut counts = vec![vec![0; 24]; 7];
            means[0][2] = Some(v);
            counts[0][2] = 8;
            RhythmGrid {
                metric: metric.into(),
                means,
                counts,
            }
        };
        Rhythm {
            from: 1_761_666_200_000,
            to: 1_764_085_400_000,
            tz_offset_min: 60,
            metric: grid("cpu_usage", 92.5),
            score: grid("anomaly_score", 0.41),
        }
    }
}

impl ApiBody for Correlation {
    fn example() -> Self {
        let cell = |r: f64| CorrelationCell { r: Some(r), n: 60 };
        Correlation {
            from: 1_764_081_400_000,
            to: 1_764_085_000_000,
            resolution_secs: 60.0,
            metrics: vec!["cpu_usage".into(), "load_1".into()],
            cells: vec![vec![cell(1.0), cell(0.87)], vec![cell(0.87), cell(1.0)]],
        }
    }
}
