//! Adaptation: an open event whose top metrics have held steady for `adapt_after` is
//! the new normal (see the module docs of [`super`]).

use super::LiveDetector;
use crate::detect::ensemble::ExpectedInterval;
use crate::detect::features::robust_center_scale;
use crate::model::{AnomalyEvent, TimestampMs};

impl LiveDetector {
    /// Accepts the open event as the new normal when it has lasted `adapt_after` and
    /// its top metrics held steady over that time (checked at most every 1/30 of it).
    pub(super) fn adapt_if_steady(&mut self, ts: TimestampMs) -> Option<AnomalyEvent> {
        let adapt_ms = self.config.adapt_after_secs.saturating_mul(1000);
        let start = self.tracker.open_event()?.start;
        if ts - start < adapt_ms || ts.saturating_sub(self.last_steady_check) < adapt_ms / 30 {
            return None;
        }
        self.last_steady_check = ts;
        // The last `adapt_after` of the event, and at least its last 12 rows (slow
        // sampling: 30 min is only 6 rows at 5 min).
        let in_event: Vec<&(TimestampMs, Vec<f64>)> =
            self.buffer.iter().filter(|(t, _)| *t >= start).collect();
        if in_event.len() < MIN_STEADY_ROWS {
            return None;
        }
        let recent = in_event.partition_point(|(t, _)| *t < ts - adapt_ms);
        let first = recent.min(in_event.len() - MIN_STEADY_ROWS);
        let from = in_event[first].0;
        let rows: Vec<&Vec<f64>> = in_event[first..].iter().map(|(_, r)| r).collect();
        let metrics = self.event_metric_indices();
        if !metrics.iter().all(|&m| steady(&rows, m)) {
            return None;
        }
        let event = self.tracker.close()?;
        self.note_closed(&event);
        // The event's rows before the steady stretch stay out of training (the
        // transition); the steady stretch is learnt as normal from now on.
        if let Some(last) = self.events.back_mut() {
            last.1 = Some(from);
        }
        self.adapted.push(ExpectedInterval {
            start: from,
            end: ts,
            metrics: Vec::new(),
        });
        self.scorer.rebase(
            self.buffer
                .iter()
                .filter(|(t, _)| *t >= from)
                .map(|(t, r)| (*t, r.as_slice())),
        );
        self.adaptations += 1;
        self.retrain_now = true;
        self.onset.reset();
        Some(event)
    }

    /// Metric indices of the open event's explanation (the top three), or all metrics.
    fn event_metric_indices(&self) -> Vec<usize> {
        let names = &self.config.metric_names;
        let top: Vec<usize> = self
            .tracker
            .open_event()
            .map(|e| {
                e.explanation
                    .metrics
                    .iter()
                    .take(3)
                    .filter_map(|c| names.iter().position(|n| *n == c.metric))
                    .collect()
            })
            .unwrap_or_default();
        if top.is_empty() {
            (0..names.len()).collect()
        } else {
            top
        }
    }
}

/// Fewest rows a change must have held steady over before it is the new normal.
const MIN_STEADY_ROWS: usize = 12;

/// Metric `m` held steady over `rows`: the medians of the two halves differ by less
/// than the larger of the halves' robust spreads (and of 1 % of the level). A linear
/// ramp fails it (its halves' medians are about four MADs apart); a level shift that
/// holds passes it.
fn steady(rows: &[&Vec<f64>], m: usize) -> bool {
    let half = rows.len() / 2;
    let mut a: Vec<f64> = rows[..half].iter().map(|r| r[m]).collect();
    let mut b: Vec<f64> = rows[half..].iter().map(|r| r[m]).collect();
    let (ma, sa) = robust_center_scale(&mut a);
    let (mb, sb) = robust_center_scale(&mut b);
    let spread = sa.max(sb).max(0.01 * ma.abs().max(mb.abs())).max(1e-9);
    (ma - mb).abs() <= spread
}
