//! Forecasts: when a filesystem fills up, whether memory or swap is leaking
//! (`GET /api/forecast`, the dashboard's forecast cards and dashed chart lines, and
//! the `forecast` alert rule's message). The engine (`lookout::forecast`) fills them.

use super::{TimestampMs, Unit};
use serde::{Deserialize, Serialize};

/// What a forecast could say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ForecastStatus {
    /// The trend reaches the bound: the `time_to_bound_*` fields are set.
    Reaches,
    /// A flat or receding trend ("not filling up"): no time to give.
    NotApproaching,
    /// Less history than the minimum ("not enough history: 12 of 60 minutes").
    #[default]
    NotEnoughHistory,
    /// Too many holes in the history, or no recent sample, to trust a trend.
    Gaps,
}

/// One point of the forecast line: the trend's value at `t` and its interval (the
/// dashboard draws `v` dashed and `low..high` as a band).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForecastPoint {
    pub t: TimestampMs,
    pub v: f64,
    pub low: f64,
    pub high: f64,
}

/// One forecast: a series' robust trend and when it reaches its bound (a full
/// filesystem, exhausted memory or swap, a rule's threshold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Forecast {
    /// What was forecast: `filesystem:/var`, `memory_used_bytes`, `disk_free_percent`.
    pub metric: String,
    /// For people: `/var`, `memory used`.
    pub label: String,
    pub unit: Option<Unit>,
    pub status: ForecastStatus,
    /// The verdict in words, the same the dashboard shows: `/var full in ~3 d 4 h`,
    /// `not filling up`, `not enough history: 12 of 60 minutes`.
    pub message: String,
    /// The level whose crossing is forecast (a filesystem's size, memory total, a
    /// rule's threshold).
    pub bound: Option<f64>,
    /// True when the series rises toward `bound` (space used), false when it falls
    /// toward it (free space).
    pub rising: bool,
    /// The latest sample and the trend's value now.
    pub current: Option<f64>,
    pub trend_now: Option<f64>,
    /// The trend's slope per hour and its ~95 % interval.
    pub slope_per_hour: Option<f64>,
    pub slope_low_per_hour: Option<f64>,
    pub slope_high_per_hour: Option<f64>,
    /// Seconds until the trend reaches `bound` (0 when already past), with the
    /// interval's early and late ends; `time_to_bound_high_secs` is None when the
    /// slow end of the interval never gets there.
    pub time_to_bound_secs: Option<f64>,
    pub time_to_bound_low_secs: Option<f64>,
    pub time_to_bound_high_secs: Option<f64>,
    /// When the trend reaches the bound.
    pub reaches_at: Option<TimestampMs>,
    /// Whether that happens inside the requested horizon.
    pub within_horizon: bool,
    /// History the trend was fitted on, and the minimum a forecast needs.
    pub history_secs: f64,
    pub required_history_secs: f64,
    /// Memory and swap only: grows steadily for hours (None for filesystems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leak_suspected: Option<bool>,
    /// The dashed forecast line with its band, from now to the horizon (or a little
    /// past the crossing); empty unless `status` is `reaches` or `not_approaching`.
    pub line: Vec<ForecastPoint>,
}

/// `GET /api/forecast?metric=..&horizon=..`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ForecastReport {
    pub generated_at: TimestampMs,
    pub horizon_secs: f64,
    pub forecasts: Vec<Forecast>,
}

/// `3 d 4 h`, `5 h 12 m`, `42 m`, `under a minute`: a forecast's time, rounded to
/// what a forecast can honestly claim (two units at most).
pub fn format_eta(secs: f64) -> String {
    if !secs.is_finite() || secs < 60.0 {
        return "under a minute".into();
    }
    let mins = (secs / 60.0).round() as i64;
    let (d, h, m) = (mins / 1440, mins % 1440 / 60, mins % 60);
    match (d, h) {
        (0, 0) => format!("{m} m"),
        (0, _) => format!("{h} h {m} m"),
        _ => format!("{d} d {h} h"),
    }
}

impl super::ApiBody for ForecastReport {
    fn example() -> Self {
        let now = 1_764_085_000_000;
        ForecastReport {
            generated_at: now,
            horizon_secs: 86_400.0,
            forecasts: vec![
                Forecast {
                    metric: "filesystem:/".into(),
                    label: "/".into(),
                    unit: Some(Unit::Bytes),
                    status: ForecastStatus::Reaches,
                    message: "/ full in ~3 d 4 h".into(),
                    bound: Some(53_687_091_200.0),
                    rising: true,
                    current: Some(48_318_382_080.0),
                    trend_now: Some(48_310_000_000.0),
                    slope_per_hour: Some(70_600_000.0),
                    slope_low_per_hour: Some(64_000_000.0),
                    slope_high_per_hour: Some(77_000_000.0),
                    time_to_bound_secs: Some(273_600.0),
                    time_to_bound_low_secs: Some(250_800.0),
                    time_to_bound_high_secs: Some(301_700.0),
                    reaches_at: Some(now + 273_600_000),
                    within_horizon: false,
                    history_secs: 259_200.0,
                    required_history_secs: 3_600.0,
                    leak_suspected: None,
                    line: vec![ForecastPoint {
                        t: now + 3_600_000,
                        v: 48_380_600_000.0,
                        low: 48_374_000_000.0,
                        high: 48_387_000_000.0,
                    }],
                },
                Forecast {
                    metric: "swap_used_bytes".into(),
                    label: "swap used".into(),
                    unit: Some(Unit::Bytes),
                    status: ForecastStatus::NotEnoughHistory,
                    message: "not enough history: 12 of 60 minutes".into(),
                    bound: Some(2_147_483_648.0),
                    rising: true,
                    current: Some(0.0),
                    history_secs: 720.0,
                    required_history_secs: 3_600.0,
                    leak_suspected: Some(false),
                    ..Forecast::default()
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etas_read_as_people_write_them() {
        assert_eq!(format_eta(30.0), "under a minute");
        assert_eq!(format_eta(42.0 * 60.0), "42 m");
        assert_eq!(format_eta(5.0 * 3600.0 + 12.0 * 60.0), "5 h 12 m");
        assert_eq!(format_eta(3.0 * 86_400.0 + 4.0 * 3600.0 + 100.0), "3 d 4 h");
    }
}
