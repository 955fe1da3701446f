//! Intervals: how far the Theil–Sen slope can be trusted, and what that means for
//! the time until the bound is reached.
//!
//! Sen's (1968) interval for the median of pairwise slopes: with `n` points the
//! Mann–Kendall statistic has variance n(n-1)(2n+5)/18, and the interval runs from
//! the (N - C)/2-th to the (N + C)/2-th of the N sorted slopes, C = 1.96 sd. When
//! only some pairs are used (see `trend`), the same fraction C/N of all pairs is
//! taken around the median of the pairs used. Buckets (not raw samples) are the
//! points, which keeps neighbouring samples' correlation from narrowing it falsely.

/// The quantiles (low, high) of the used slopes that bound the ~95 % interval.
pub fn slope_quantiles(n: usize) -> (f64, f64) {
    let n = n as f64;
    let all_pairs = n * (n - 1.0) / 2.0;
    let c = 1.96 * (n * (n - 1.0) * (2.0 * n + 5.0) / 18.0).sqrt();
    let half = (c / all_pairs / 2.0).min(0.5);
    (0.5 - half, 0.5 + half)
}

/// The number of independent points `resid` (residuals in time order) are worth:
/// n (1 - r) / (1 + r) with r their lag-1 autocorrelation. A daily cycle or a
/// saw-tooth left in the residuals makes neighbours alike, and Sen's interval,
/// which assumes independence, would otherwise be far too narrow.
pub fn effective_n(resid: &[f64]) -> usize {
    let n = resid.len();
    let ss: f64 = resid.iter().map(|r| r * r).sum();
    if n < 3 || ss <= 0.0 {
        return n;
    }
    let r = (resid.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / ss).clamp(0.0, 0.95);
    ((n as f64 * (1.0 - r) / (1.0 + r)).round() as usize).clamp(3, n)
}

/// Seconds until a line starting `gap` away from the bound reaches it when moving
/// toward it at `rate` per second (`rate` <= 0: never, None).
pub fn time_to(gap: f64, rate: f64) -> Option<f64> {
    if gap <= 0.0 {
        return Some(0.0);
    }
    (rate > 0.0).then(|| gap / rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_narrows_with_more_points() {
        let (l10, h10) = slope_quantiles(10);
        let (l200, h200) = slope_quantiles(200);
        assert!(l10 < l200 && h10 > h200 && l200 < 0.5 && h200 > 0.5);
        assert_eq!(time_to(10.0, 2.0), Some(5.0));
        assert_eq!(time_to(-1.0, 2.0), Some(0.0));
        assert_eq!(time_to(10.0, 0.0), None);
    }
}
