//! When an open event is over: its top metrics are back in their recovery band, or
//! most of the way back from the farthest they went (see [`in_band`]).

use super::{LiveConfig, LiveDetector};
use crate::detect::ensemble::EnsembleScorer;
use crate::model::AnomalyEvent;

impl LiveDetector {
    /// Records how far each metric is from its recovery band now ([`in_band`]):
    /// afresh when an event has just opened, else the farthest so far.
    pub(super) fn widen_extent(&mut self, fresh: bool) {
        let n = self.scorer.n_metrics();
        if fresh || self.extent.len() != n {
            self.extent = vec![0.0; n];
        }
        let values = self.scorer.last_values();
        for (m, e) in self.extent.iter_mut().enumerate() {
            let (lo, hi) = self.scorer.recovery_band(m);
            let d = outside(values[m], lo, hi);
            if d > *e {
                *e = d;
            }
        }
    }
}

/// The open event's top metrics (those with at least a fifth of the attribution, and
/// always the first) are back: inside the band they are judged by
/// ([`EnsembleScorer::recovery_band`]), or within [`RECOVERED_SHARE`] of the farthest
/// they have been from it since the event opened (`extent`).
///
/// Why not the band alone: a metric can take minutes to drift the last stretch home
/// after its cause is gone. In the 2-hour idle trace, memory fell from 4.8 GB to
/// 1.05 GB the second the memory ramp was stopped, then took 75 s more to reclaim the
/// last 400 MB (600 MB is its idle level); the event stayed open those 75 s, past
/// the 60 s an event may outlive its cause. The tail of a recovery is not the
/// incident. A change that holds (a level shift, a leak that keeps growing) never
/// gets that close to its band, so it stays open as before.
pub(super) fn in_band(
    scorer: &EnsembleScorer,
    cfg: &LiveConfig,
    extent: &[f64],
    e: &AnomalyEvent,
) -> bool {
    let values = scorer.last_values();
    let mut any = false;
    for (k, c) in e.explanation.metrics.iter().enumerate() {
        if k > 0 && c.contribution < 0.2 {
            continue;
        }
        let Some(m) = cfg.metric_names.iter().position(|n| *n == c.metric) else {
            continue;
        };
        let (lo, hi) = scorer.recovery_band(m);
        let now = outside(values[m], lo, hi);
        let farthest = extent.get(m).copied().unwrap_or(0.0);
        // NaN (a value or band missing) compares false: not back.
        let back = now <= RECOVERED_SHARE * farthest.min(f64::MAX);
        if !back {
            return false;
        }
        any = true;
    }
    any
}

/// How far back a metric must come for its event to close: within this share of the
/// farthest it has been from its band during the event (see [`in_band`]).
pub const RECOVERED_SHARE: f64 = 0.1;

/// Distance of `v` from the band [lo, hi] (0 inside, NaN if any is NaN).
fn outside(v: f64, lo: f64, hi: f64) -> f64 {
    if v.is_nan() || lo.is_nan() || hi.is_nan() {
        f64::NAN
    } else {
        (lo - v).max(v - hi).max(0.0)
    }
}
