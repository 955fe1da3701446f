//! Choosing how finely to answer a history query. Pure, so the choice is tested
//! without a database.

/// Bucket widths a chart axis reads well, in seconds.
const NICE_WIDTHS_SECS: &[i64] = &[
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
];

const DAY_MS: i64 = 86_400_000;
/// Buckets at least this wide are served from the 1-minute rollups.
pub const ROLLUP_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resolution {
    /// Every stored sample, as is.
    Raw,
    /// Aggregated buckets aligned on multiples of `width_ms` since the epoch.
    Buckets { width_ms: i64 },
}

/// Picks raw samples when the raw data covers the range and the expected number of
/// samples (span / sampling interval) fits the point budget; otherwise the smallest
/// nice bucket width giving at most `points` buckets. When raw data does not cover
/// the range (pruned by retention), buckets are at least one minute wide so they
/// can come from the rollups.
pub fn choose(span_ms: i64, points: usize, interval_ms: i64, raw_covers_range: bool) -> Resolution {
    let points = points.max(1) as i64;
    let span_ms = span_ms.max(1);
    if raw_covers_range && span_ms / interval_ms.max(1) <= points {
        return Resolution::Raw;
    }
    let min_width = if raw_covers_range { 0 } else { ROLLUP_MS };
    let width_ms = NICE_WIDTHS_SECS
        .iter()
        .map(|s| s * 1000)
        .filter(|w| *w >= min_width)
        .find(|w| (span_ms + w - 1) / w <= points)
        // Wider than a day: whole days.
        .unwrap_or_else(|| {
            let per_point = (span_ms + points - 1) / points;
            (per_point + DAY_MS - 1) / DAY_MS * DAY_MS
        });
    Resolution::Buckets { width_ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    #[test]
    fn raw_when_samples_fit() {
        // 15 min at 1 s = 900 samples <= 1000.
        assert_eq!(choose(15 * MIN, 1000, 1000, true), Resolution::Raw);
        // 1 h at 15 s = 240 samples <= 300.
        assert_eq!(choose(HOUR, 300, 15_000, true), Resolution::Raw);
    }

    #[test]
    fn smallest_nice_width_that_fits() {
        // 1 h at 1 s into 300 points: 3600/300 = 12 s -> 15 s.
        assert_eq!(
            choose(HOUR, 300, 1000, true),
            Resolution::Buckets { width_ms: 15_000 }
        );
        // 7 d into 300 points: 2016 s -> 1 h.
        assert_eq!(
            choose(7 * 24 * HOUR, 300, 1000, true),
            Resolution::Buckets { width_ms: HOUR }
        );
        // 400 d into 10 points: 40 days.
        assert_eq!(
            choose(400 * DAY_MS, 10, 1000, true),
            Resolution::Buckets {
                width_ms: 40 * DAY_MS
            }
        );
    }

    #[test]
    fn pruned_raw_forces_rollups() {
        assert_eq!(
            choose(10 * MIN, 300, 1000, false),
            Resolution::Buckets { width_ms: MIN }
        );
    }
}
