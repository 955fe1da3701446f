//! Minute means of one series kept in memory, for forecast alert rules: the alert
//! engine sees every sample but has no store, so it keeps what a forecast needs
//! (a week of minutes at most: 10,080 entries) and forecasts from that.

use crate::model::TimestampMs;
use std::collections::VecDeque;

const MINUTE: i64 = 60_000;

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub struct MinuteBuffer {
    /// (minute start, sum, count), oldest first.
    minutes: VecDeque<(TimestampMs, f64, u32)>,
}

impl MinuteBuffer {
    /// Adds a sample (NaN is ignored; a sample older than the newest minute is
    /// folded into that minute) and forgets minutes older than `keep_ms`.
    pub fn push(&mut self, t: TimestampMs, v: f64, keep_ms: i64) {
        if !v.is_finite() {
            return;
        }
        let m = t.div_euclid(MINUTE) * MINUTE;
        match self.minutes.back_mut() {
            Some(last) if last.0 >= m => {
                last.1 += v;
                last.2 += 1;
            }
            _ => self.minutes.push_back((m, v, 1)),
        }
        let newest = self.minutes.back().map_or(m, |l| l.0);
        while self.minutes.front().is_some_and(|f| f.0 < newest - keep_ms) {
            self.minutes.pop_front();
        }
    }

    /// Puts stored history (oldest first) in front of what the buffer holds: points
    /// from the minutes before the buffer's oldest one are added, the rest are already
    /// here. So history read while live samples kept arriving loses neither.
    pub fn backfill(&mut self, history: &[(TimestampMs, f64)], keep_ms: i64) {
        let live = std::mem::take(&mut self.minutes);
        let first_live = live.front().map_or(TimestampMs::MAX, |f| f.0);
        for &(t, v) in history {
            if t.div_euclid(MINUTE) * MINUTE < first_live {
                self.push(t, v, keep_ms);
            }
        }
        self.minutes.extend(live);
        let newest = self.minutes.back().map_or(0, |l| l.0);
        while self.minutes.front().is_some_and(|f| f.0 < newest - keep_ms) {
            self.minutes.pop_front();
        }
    }

    /// The minute means as (minute centre, mean) points.
    pub fn points(&self) -> Vec<(TimestampMs, f64)> {
        self.minutes
            .iter()
            .map(|&(m, sum, n)| (m + MINUTE / 2, sum / f64::from(n)))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_goes_in_front_of_live_minutes_without_doubling_them() {
        let mut b = MinuteBuffer::default();
        b.push(120_000, 7.0, 600_000);
        b.push(130_000, 9.0, 600_000);
        // History overlaps the live minute (120 s): only the minutes before it count.
        b.backfill(&[(0, 1.0), (60_000, 2.0), (125_000, 100.0)], 600_000);
        assert_eq!(
            b.points(),
            vec![(30_000, 1.0), (90_000, 2.0), (150_000, 8.0)]
        );
        // On an empty buffer it is the plain history, trimmed to the keep.
        let mut e = MinuteBuffer::default();
        e.backfill(&[(0, 1.0), (60_000, 2.0), (180_000, 3.0)], 120_000);
        assert_eq!(e.points(), vec![(90_000, 2.0), (210_000, 3.0)]);
    }

    #[test]
    fn minutes_average_and_old_ones_go() {
        let mut b = MinuteBuffer::default();
        b.push(0, 1.0, 120_000);
        b.push(30_000, 3.0, 120_000);
        b.push(61_000, f64::NAN, 120_000);
        b.push(61_000, 10.0, 120_000);
        assert_eq!(b.points(), vec![(30_000, 2.0), (90_000, 10.0)]);
        b.push(200_000, 5.0, 120_000);
        assert_eq!(b.points(), vec![(90_000, 10.0), (210_000, 5.0)]);
    }
}
