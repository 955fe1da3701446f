//! "Leak suspected": memory or swap in use that grows steadily for hours.
//!
//! A leak is not a high value or one step up (a new service starting), and not a
//! garbage collector's saw-tooth: it is growth that keeps going. So the last
//! [`LEAK_WINDOW_MS`] are cut in thirds and each third must rise on its own (its
//! robust slope's interval above zero), nearly all long pairs of the whole window
//! must rise, and the total growth must be material (at least 1 % of the bound and
//! four times the noise), so a flat series' jitter never qualifies.

use super::trend::{self, Trend};

/// The span a leak must be seen over.
pub const LEAK_WINDOW_MS: i64 = 3 * 3_600_000;
/// Less than this of the window present: no verdict (false).
pub const LEAK_MIN_MS: i64 = 2 * 3_600_000;

/// Whether `points` (time, value) up to `now` look like a leak toward `bound`.
pub fn suspected(points: &[(i64, f64)], now: i64, bound: f64) -> bool {
    let from = now - LEAK_WINDOW_MS;
    let recent: Vec<(i64, f64)> = points
        .iter()
        .copied()
        .filter(|(t, _)| *t >= from && *t <= now)
        .collect();
    let Some(first) = recent.iter().map(|p| p.0).min() else {
        return false;
    };
    if now - first < LEAK_MIN_MS {
        return false;
    }
    let bucket_ms = 5 * 60_000;
    let buckets = trend::bucket_medians(&recent, first, bucket_ms);
    let Some(whole) = trend::fit(&buckets, bucket_ms, now) else {
        return false;
    };
    let growth = whole.slope * (now - first) as f64;
    let material = growth >= (0.01 * bound.abs()).max(4.0 * whole.spread) && growth > 0.0;
    let third = (now - first) / 3;
    let rises = |t: Option<Trend>| t.is_some_and(|t| t.slope_low > 0.0);
    let thirds_rise = (0..3).all(|k| {
        let lo = first + k * third;
        let part: Vec<(i64, f64)> = buckets
            .iter()
            .copied()
            .filter(|(t, _)| *t >= lo && *t < lo + third)
            .collect();
        rises(trend::fit(&part, bucket_ms, lo + third))
    });
    material && whole.agreement >= 0.8 && thirds_rise
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

    fn series(f: impl Fn(f64) -> f64, hours: f64) -> (Vec<(i64, f64)>, i64) {
        let n = (hours * 720.0) as i64; // a sample every 5 s
        let pts = (0..n)
            .map(|i| (i * 5_000, f(i as f64 * 5.0 / 3600.0)))
            .collect();
        (pts, (n - 1) * 5_000)
    }

    fn jitter(h: f64) -> f64 {
        // deterministic noise, +-20 MiB
        ((h * 7919.0).sin() * 43_758.545).fract() * 20.0 * 1024.0 * 1024.0
    }

    #[test]
    fn steady_growth_for_hours_is_a_leak() {
        let (pts, now) = series(|h| 2.0 * GIB + h * 0.2 * GIB + jitter(h), 4.0);
        assert!(suspected(&pts, now, 16.0 * GIB));
    }

    #[test]
    fn flat_noise_a_step_and_a_sawtooth_are_not() {
        let (flat, now) = series(|h| 4.0 * GIB + jitter(h), 4.0);
        assert!(!suspected(&flat, now, 16.0 * GIB));
        let (step, now) = series(|h| if h < 2.5 { 3.0 } else { 5.0 } * GIB + jitter(h), 4.0);
        assert!(!suspected(&step, now, 16.0 * GIB));
        // A collector: climbs for 20 min, drops back.
        let (saw, now) = series(|h| 3.0 * GIB + (h * 3.0).fract() * GIB + jitter(h), 4.0);
        assert!(!suspected(&saw, now, 16.0 * GIB));
        // Too short to say.
        let (short, now) = series(|h| 2.0 * GIB + h * GIB, 1.0);
        assert!(!suspected(&short, now, 16.0 * GIB));
    }
}
