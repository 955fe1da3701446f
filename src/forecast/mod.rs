//! Forecasts: when a series reaches a bound at its current trend (a filesystem's
//! size, memory or swap total, an alert rule's threshold), with an interval, and
//! whether memory or swap looks like a leak.
//!
//! [`forecast`] is pure (points in, [`Forecast`] out) so the alert engine, the API
//! and the accuracy tests judge the same way. The trend is robust (see [`trend`]);
//! too little history, gaps and flat or receding trends are answered in words
//! ("not enough history: 12 of 60 minutes", "not filling up"), never with a number.
//! [`source`] reads the series from the store for `GET /api/forecast`.

pub mod buffer;
pub mod interval;
pub mod leak;
pub mod source;
#[cfg(test)]
mod synthetic;
#[cfg(test)]
mod tests;
pub mod trend;

pub use crate::model::{format_eta, Forecast, ForecastPoint, ForecastReport, ForecastStatus};
use crate::model::{TimestampMs, Unit};

/// A forecast needs at least this much history.
pub const MIN_HISTORY_MS: i64 = 3_600_000;
/// The horizons `GET /api/forecast` and forecast rules accept.
pub const MIN_HORIZON_MS: i64 = 10 * 60_000;
pub const MAX_HORIZON_MS: i64 = 30 * 86_400_000;
/// Points of the dashed forecast line.
const LINE_POINTS: i64 = 24;

/// How much history a forecast over `horizon_ms` is fitted on: three horizons, at
/// least 6 h and at most 7 days (the raw retention). Three days of history (a 24 h
/// horizon) lets the trend pair whole days and so drop the daily cycle.
pub fn lookback_ms(horizon_ms: i64) -> i64 {
    (3 * horizon_ms).clamp(6 * 3_600_000, 7 * 86_400_000)
}

/// Bucket width for a lookback: at most [`trend::MAX_BUCKETS`] buckets, at least 1 min.
pub fn bucket_ms(lookback_ms: i64) -> i64 {
    (lookback_ms / trend::MAX_BUCKETS as i64).max(60_000)
}

/// What is forecast and how it is worded.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub metric: String,
    pub label: String,
    pub unit: Option<Unit>,
    /// The level whose crossing is forecast.
    pub bound: f64,
    /// Rising toward `bound` (used space) or falling toward it (free space).
    pub rising: bool,
    /// The verdict when it gets there, after the label: `full`, `< 5`.
    pub reach_words: String,
    /// The verdict when it does not: `not filling up`.
    pub idle_words: String,
    /// Memory and swap: also check for a leak.
    pub leak_check: bool,
}

impl Subject {
    /// A filesystem: used bytes rising toward its size.
    pub fn filesystem(mount: &str, total_bytes: f64) -> Subject {
        Subject {
            metric: format!("filesystem:{mount}"),
            label: mount.to_string(),
            unit: Some(Unit::Bytes),
            bound: total_bytes,
            rising: true,
            reach_words: "full".into(),
            idle_words: "not filling up".into(),
            leak_check: false,
        }
    }
}

impl Subject {
    /// A forecast rule's subject: `metric` crossing `value`, upward for `>`/`>=`.
    pub fn crossing(metric: &str, op: &str, value: f64) -> Subject {
        let rising = op.starts_with('>');
        Subject {
            metric: metric.to_string(),
            label: metric.to_string(),
            unit: crate::model::metric_def(metric).map(|d| d.unit),
            bound: value,
            rising,
            reach_words: format!("{op} {value}"),
            idle_words: format!(
                "not {} toward {value}",
                if rising { "rising" } else { "falling" }
            ),
            leak_check: false,
        }
    }
}

/// One line for alert messages: the verdict, its interval and the slope.
pub fn describe(f: &Forecast) -> String {
    let mut s = f.message.clone();
    if let (Some(lo), Some(hi)) = (f.time_to_bound_low_secs, f.time_to_bound_high_secs) {
        if f.time_to_bound_secs.is_some_and(|t| t > 0.0) {
            s += &format!(" (~{} to ~{})", format_eta(lo), format_eta(hi));
        }
    }
    if let Some(slope) = f.slope_per_hour {
        s += &format!(", trend {slope:+.3} per hour");
    }
    s
}

/// The forecast of `points` ((time, value), any order, NaN = missing) at `now` over
/// `horizon_ms`. See the module docs.
pub fn forecast(
    subject: &Subject,
    points: &[(TimestampMs, f64)],
    now: TimestampMs,
    horizon_ms: i64,
) -> Forecast {
    let lookback = lookback_ms(horizon_ms);
    let from = now - lookback;
    let mut pts: Vec<(i64, f64)> = points
        .iter()
        .copied()
        .filter(|(t, v)| *t >= from && *t <= now && v.is_finite())
        .collect();
    pts.sort_by_key(|p| p.0);
    let mut f = Forecast {
        metric: subject.metric.clone(),
        label: subject.label.clone(),
        unit: subject.unit,
        bound: Some(subject.bound),
        rising: subject.rising,
        current: pts.last().map(|p| p.1),
        required_history_secs: MIN_HISTORY_MS as f64 / 1000.0,
        leak_suspected: subject
            .leak_check
            .then(|| leak::suspected(&pts, now, subject.bound)),
        ..Forecast::default()
    };
    let Some(&(first, _)) = pts.first() else {
        f.status = ForecastStatus::NotEnoughHistory;
        f.message = format!(
            "not enough history: 0 of {} minutes",
            MIN_HISTORY_MS / 60_000
        );
        return f;
    };
    let history = now - first;
    f.history_secs = history as f64 / 1000.0;
    if history < MIN_HISTORY_MS {
        f.status = ForecastStatus::NotEnoughHistory;
        f.message = format!(
            "not enough history: {} of {} minutes",
            history / 60_000,
            MIN_HISTORY_MS / 60_000
        );
        return f;
    }
    let width = bucket_ms(lookback);
    let last_age = now - pts[pts.len() - 1].0;
    if last_age > (3 * width).max(15 * 60_000) {
        f.status = ForecastStatus::Gaps;
        f.message = format!("gaps: no sample in the last {} minutes", last_age / 60_000);
        return f;
    }
    let buckets = trend::bucket_medians(&pts, first, width);
    let expected = ((now - first) / width + 1) as usize;
    if buckets.len() * 2 < expected {
        f.status = ForecastStatus::Gaps;
        f.message = format!(
            "gaps: samples in {} of the last {} minutes",
            buckets.len() as i64 * width / 60_000,
            history / 60_000
        );
        return f;
    }
    let Some(t) = trend::fit(&buckets, width, now) else {
        f.status = ForecastStatus::NotEnoughHistory;
        f.message = "not enough history: too few samples".into();
        return f;
    };
    f.trend_now = Some(t.level);
    let per_hour = 3_600_000.0;
    f.slope_per_hour = Some(t.slope * per_hour);
    f.slope_low_per_hour = Some(t.slope_low * per_hour);
    f.slope_high_per_hour = Some(t.slope_high * per_hour);
    f.line = line(&t, now, horizon_ms);
    // Toward the bound: the gap that is left and the rates (per second) that close it.
    let (gap, rate, rate_slow, rate_fast) = if subject.rising {
        (subject.bound - t.level, t.slope, t.slope_low, t.slope_high)
    } else {
        (
            t.level - subject.bound,
            -t.slope,
            -t.slope_high,
            -t.slope_low,
        )
    };
    let (rate, rate_slow, rate_fast) = (rate * 1000.0, rate_slow * 1000.0, rate_fast * 1000.0);
    // A trend whose interval includes "not moving" is no forecast: a flat disk's noise
    // would otherwise read as "full in 9 years" or, worse, "in 2 days".
    if gap > 0.0 && rate_slow <= 0.0 {
        f.status = ForecastStatus::NotApproaching;
        f.message = subject.idle_words.clone();
        return f;
    }
    let secs = interval::time_to(gap, rate).unwrap_or(0.0);
    f.status = ForecastStatus::Reaches;
    f.time_to_bound_secs = Some(secs);
    // The early end: the line may already be `level_err` closer and move at the fast
    // end of the slope's interval; the late end the other way round.
    f.time_to_bound_low_secs = interval::time_to(gap - t.level_err, rate_fast);
    f.time_to_bound_high_secs = interval::time_to(gap + t.level_err, rate_slow);
    f.reaches_at = Some(now + (secs * 1000.0) as i64);
    f.within_horizon = secs * 1000.0 <= horizon_ms as f64;
    f.message = if secs <= 0.0 {
        format!("{} {} now", subject.label, subject.reach_words)
    } else {
        format!(
            "{} {} in ~{}",
            subject.label,
            subject.reach_words,
            format_eta(secs)
        )
    };
    f
}

/// The dashed line from now to the horizon, its band the slope's interval plus
/// twice the spread of the samples around the trend (where future samples will fall).
fn line(t: &trend::Trend, now: TimestampMs, horizon_ms: i64) -> Vec<ForecastPoint> {
    (0..=LINE_POINTS)
        .map(|k| {
            let at = now + horizon_ms * k / LINE_POINTS;
            let dt = (at - now) as f64;
            let (a, b) = (t.level + t.slope_low * dt, t.level + t.slope_high * dt);
            ForecastPoint {
                t: at,
                v: t.at(at),
                low: a.min(b) - 2.0 * t.spread,
                high: a.max(b) + 2.0 * t.spread,
            }
        })
        .collect()
}
