//! Binning a series by hour of day and day of week. Pure, so it is tested without a store.

use crate::model::{Point, RhythmGrid, TimestampMs};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// (day of week, hour of day) of `t` in the zone `tz_offset_min` east of UTC; day 0
/// is Monday (1970-01-01, day 0 of the epoch, was a Thursday).
pub fn weekday_hour(t: TimestampMs, tz_offset_min: i32) -> (usize, usize) {
    let local = t + i64::from(tz_offset_min) * 60_000;
    let day = (local.div_euclid(DAY_MS) + 3).rem_euclid(7);
    let hour = local.rem_euclid(DAY_MS) / HOUR_MS;
    (day as usize, hour as usize)
}

/// The mean of the points falling in each (day, hour) cell, by each point's start time.
pub fn rhythm_grid(metric: &str, points: &[Point], tz_offset_min: i32) -> RhythmGrid {
    let mut sums = [[0.0_f64; 24]; 7];
    let mut counts = vec![vec![0_u32; 24]; 7];
    for p in points.iter().filter(|p| p.v.is_finite()) {
        let (d, h) = weekday_hour(p.t, tz_offset_min);
        sums[d][h] += p.v;
        counts[d][h] += 1;
    }
    let means = (0..7)
        .map(|d| {
            (0..24)
                .map(|h| (counts[d][h] > 0).then(|| sums[d][h] / f64::from(counts[d][h])))
                .collect()
        })
        .collect();
    RhythmGrid {
        metric: metric.to_string(),
        means,
        counts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-13T00:00Z, a Monday.
    const MONDAY: i64 = 1_699_833_600_000;

    fn p(t: i64, v: f64) -> Point {
        Point {
            t,
            v,
            min: v,
            max: v,
        }
    }

    #[test]
    fn weekdays_and_hours_in_a_zone() {
        assert_eq!(weekday_hour(0, 0), (3, 0)); // Thursday 1970-01-01 00:00
        assert_eq!(weekday_hour(MONDAY, 0), (0, 0));
        assert_eq!(weekday_hour(MONDAY + 6 * DAY_MS + 23 * HOUR_MS, 0), (6, 23));
        // Monday 00:30 UTC is Sunday 19:30 in New York (-5 h) and Monday 06:00 in
        // India (+5:30).
        assert_eq!(weekday_hour(MONDAY + HOUR_MS / 2, -300), (6, 19));
        assert_eq!(weekday_hour(MONDAY + HOUR_MS / 2, 330), (0, 6));
        assert_eq!(weekday_hour(-1, 0), (2, 23)); // before the epoch: Wednesday 23:59
    }

    #[test]
    fn a_nightly_job_shows_in_its_cells() {
        // Four weeks of half-hour points: 5 % all the time, 90 % at 02:00-03:00 every day.
        let points: Vec<Point> = (0..28 * 48)
            .map(|i| {
                let t = MONDAY + i * HOUR_MS / 2;
                let v = if (t % DAY_MS) / HOUR_MS == 2 {
                    90.0
                } else {
                    5.0
                };
                p(t, v)
            })
            .chain(std::iter::once(p(MONDAY, f64::NAN)))
            .collect();
        let g = rhythm_grid("cpu_usage", &points, 0);
        assert_eq!(g.metric, "cpu_usage");
        assert_eq!((g.means.len(), g.means[0].len()), (7, 24));
        for d in 0..7 {
            assert_eq!(g.means[d][2], Some(90.0));
            assert_eq!(g.means[d][3], Some(5.0));
            // 4 weeks x 2 half hours; the NaN is not counted.
            assert_eq!(g.counts[d][2], 8);
        }
        // Shifted by the zone: in UTC+1 the job runs at 03:00.
        let g = rhythm_grid("cpu_usage", &points, 60);
        assert_eq!(g.means[0][3], Some(90.0));
        assert!(rhythm_grid("x", &[], 0)
            .means
            .iter()
            .flatten()
            .all(Option::is_none));
    }
}
