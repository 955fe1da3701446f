//! Counter maths: turning two readings of a cumulative counter into a per-second rate.

/// Per-second rate of a cumulative counter between two readings `elapsed_secs` apart.
///
/// A counter that went *down* was reset (interface re-created, driver reload, reboot,
/// 32-bit wrap): like Prometheus we assume it restarted from 0, so the increase is
/// `cur` itself. That can under-count a wrap but never reports a huge negative or
/// absurd positive rate. A non-positive elapsed time (first sample, clock stepped
/// backwards) yields 0 rather than a division by zero.
pub fn rate(prev: u64, cur: u64, elapsed_secs: f64) -> f64 {
    if elapsed_secs <= 0.0 || !elapsed_secs.is_finite() {
        return 0.0;
    }
    let increase = if cur >= prev { cur - prev } else { cur };
    increase as f64 / elapsed_secs
}

/// `part / whole * 100`, or 0 when `whole` is 0 (e.g. a host without swap).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_increase_over_elapsed() {
        assert_eq!(rate(100, 300, 2.0), 100.0);
        assert_eq!(rate(5, 5, 1.0), 0.0);
    }

    #[test]
    fn reset_counts_from_zero() {
        // 1000 -> 40: counter restarted, 40 units happened since.
        assert_eq!(rate(1000, 40, 2.0), 20.0);
        assert_eq!(rate(u64::MAX, 0, 1.0), 0.0);
    }

    #[test]
    fn non_positive_elapsed_is_zero() {
        assert_eq!(rate(0, 100, 0.0), 0.0);
        assert_eq!(rate(0, 100, -1.0), 0.0);
        assert_eq!(rate(0, 100, f64::NAN), 0.0);
    }

    #[test]
    fn percent_of_zero_is_zero() {
        assert_eq!(percent(1, 0), 0.0);
        assert_eq!(percent(1, 4), 25.0);
    }
}
