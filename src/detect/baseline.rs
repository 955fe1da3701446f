//! Robust per-metric baseline: rolling median and MAD over the last `window` samples.
//!
//! It needs no training, so it scores after `min_samples` samples (the cold start:
//! 60 samples = 5 minutes at the 5 s default). Each metric's deviation is a robust z,
//! |x - median| / (1.4826 MAD); the member's raw score is the largest z over the
//! metrics, because a single metric far from its own recent normal is exactly what
//! this member is for (the forest and PCA look at combinations).
//!
//! **Per-metric surprise.** Metrics differ in how often they sit far from their
//! median: disk and network rates burst to many sigmas every few seconds on a busy
//! host, memory almost never moves. With a plain max over metrics the bursty ones set
//! the member's whole score distribution (in training it saturates at the clip), so a
//! memory step of 50 sigmas looks ordinary. A trained model therefore brings, per
//! metric, the 99th percentile of its |z| in training, and z is divided by
//! max(q99, 3) / 3: a metric that rarely passes 3 sigmas keeps its z, a bursty one
//! has to leave its own usual bursts behind to count (see [`surprise_from_z`]).
//!
//! **Per-metric tail scale.** The divisor equalises where each metric's tail starts,
//! not how far it reaches: past their 99th percentile, disk and pressure rates still
//! burst to 5 to 8 times it, memory and load almost never. The member's calibrator
//! fits one exponential tail to the max over metrics, so the bursty metrics set its
//! scale (about 7 z in the 2-hour idle trace), and a memory ramp of 266 robust sigmas
//! (1.6 GB in 14 s on an idle host) scored 3.6, barely past a 19-sigma step. So the
//! excess over 3 is also divided by the metric's own tail scale in training (the
//! robust mean excess, [`tail_from_z`]), never below 1: a bursty metric's excess is
//! shrunk to the common scale, a quiet metric's is left as it is (not magnified: a
//! smooth metric's few training exceedances say little about how far it may go).
//!
//! The statistics are recomputed every `refresh` samples (selection, O(window) per
//! metric), not at every sample: a median over an hour does not move in a minute,
//! and this keeps the per-sample cost at a few microseconds.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::features::{robust_center_scale, soft_clip};
use crate::model::TimestampMs;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BaselineParams {
    /// Most samples the window holds (memory bound: 7,200 = 2 h at 1 s).
    pub window: usize,
    /// The window in the stream's own time: samples older than this (by their
    /// timestamps) leave it, as long as `min_samples` stay. One hour: long enough
    /// that a short incident cannot drag the median (it resists up to 50 %
    /// contamination), short enough to follow the day.
    pub window_secs: i64,
    /// Samples before the first score (the cold start).
    pub min_samples: usize,
    /// Recompute median/MAD every this many samples (more when the window is long:
    /// at least 60 refreshes per window).
    pub refresh: usize,
}

impl Default for BaselineParams {
    fn default() -> Self {
        Self {
            window: 7200,
            window_secs: 3600,
            min_samples: 60,
            refresh: 12,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RollingBaseline {
    params: BaselineParams,
    /// Per metric, aligned with `times` (missing values are kept as NaN and skipped).
    /// f32 (issue 13: an hour at 1 s is 3,600 values a metric for every host of a
    /// hub): the rounding, 6e-8 of the value, is far under the scale's floor of 1 % of
    /// the level, so the median and scale move by no more than that share.
    windows: Vec<VecDeque<f32>>,
    times: VecDeque<TimestampMs>,
    median: Vec<f64>,
    scale: Vec<f64>,
    count: usize,
    since_refresh: usize,
    have_stats: bool,
    scratch: Vec<f64>,
    floors: Vec<f64>,
    /// Per-metric divisor of z (1 = none; see the module docs).
    surprise: Vec<f64>,
    /// Per-metric divisor of the excess over [`SURPRISE_Z`] (1 = none; module docs).
    tail: Vec<f64>,
}

impl RollingBaseline {
    pub fn new(n_metrics: usize, params: BaselineParams) -> Self {
        let params = BaselineParams {
            window: params.window.max(2),
            window_secs: params.window_secs.max(0),
            min_samples: params.min_samples.max(2),
            refresh: params.refresh.max(1),
        };
        Self {
            windows: vec![VecDeque::new(); n_metrics],
            times: VecDeque::new(),
            median: vec![0.0; n_metrics],
            scale: vec![1.0; n_metrics],
            count: 0,
            since_refresh: 0,
            have_stats: false,
            scratch: Vec::new(),
            floors: vec![0.0; n_metrics],
            surprise: vec![1.0; n_metrics],
            tail: vec![1.0; n_metrics],
            params,
        }
    }

    /// Per-metric smallest scale (see `features::unit_floor`).
    pub fn set_floors(&mut self, floors: Vec<f64>) {
        if floors.len() == self.windows.len() {
            self.floors = floors;
        }
    }

    /// Per-metric z divisors from a trained model ([`surprise_from_z`]); a list of
    /// the wrong length (or empty) resets them to 1.
    pub fn set_surprise(&mut self, surprise: &[f64]) {
        self.surprise = divisors(surprise, self.windows.len());
    }

    /// Per-metric tail scales from a trained model ([`tail_from_z`]); a list of the
    /// wrong length (or empty: a model saved before them) resets them to 1.
    pub fn set_tail(&mut self, tail: &[f64]) {
        self.tail = divisors(tail, self.windows.len());
    }

    pub fn params(&self) -> &BaselineParams {
        &self.params
    }

    /// Samples seen so far.
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn ready(&self) -> bool {
        self.have_stats
    }

    fn refresh(&mut self) {
        for m in 0..self.windows.len() {
            self.scratch.clear();
            self.scratch
                .extend(self.windows[m].iter().map(|&v| f64::from(v)));
            let (med, s) = robust_center_scale(&mut self.scratch);
            self.median[m] = med;
            // Never below 1 % of the level (a change that small is not meaningful for
            // a host metric, however smooth the metric is); a metric stuck at 0 still
            // gets a tiny scale so that a change is seen, softly clipped (`soft_clip`).
            self.scale[m] = s.max(0.01 * med.abs()).max(self.floors[m]).max(1e-9);
        }
        self.have_stats = true;
        self.since_refresh = 0;
    }

    /// Scores `x` (imputed values) against the statistics of the samples before it,
    /// writing per-metric |z| to `z`. Returns the raw score (max |z|) once ready.
    /// With `learn`, `x` then joins the window; without it (while an event is open
    /// and not yet accepted as the new normal) the window stays as it was, so an
    /// ongoing incident or a leak is measured against the normal before it.
    pub fn observe(
        &mut self,
        ts: TimestampMs,
        x: &[f64],
        z: &mut [f64],
        learn: bool,
    ) -> Option<f64> {
        assert_eq!(x.len(), self.windows.len());
        let score = if self.have_stats {
            let mut best = 0.0f64;
            for m in 0..x.len() {
                let v = if x[m].is_finite() {
                    scaled(
                        soft_clip(((x[m] - self.median[m]) / self.scale[m]).abs()),
                        self.surprise[m],
                        self.tail[m],
                    )
                } else {
                    0.0
                };
                z[m] = v;
                best = best.max(v);
            }
            Some(best)
        } else {
            z.iter_mut().for_each(|v| *v = 0.0);
            None
        };
        if learn {
            self.push(ts, x);
        }
        score
    }

    fn push(&mut self, ts: TimestampMs, x: &[f64]) {
        let horizon = self.params.window_secs.saturating_mul(1000);
        let mut popped = false;
        while let Some(&first) = self.times.front() {
            let full = self.times.len() >= self.params.window;
            let old = self.params.window_secs > 0
                && self.times.len() > self.params.min_samples
                && ts.saturating_sub(first) > horizon;
            if !(full || old) {
                break;
            }
            self.times.pop_front();
            self.windows.iter_mut().for_each(|w| {
                w.pop_front();
            });
            popped = true;
        }
        // A full window stays about this long: give back what doubling reserved past
        // it (an hour at 5 s is 720 rows in a capacity of 1,024, 31 KiB a host).
        let len = self.times.len();
        if popped && self.times.capacity() > len + len / 8 + 16 {
            let keep = len + len / 16 + 1;
            self.times.shrink_to(keep);
            self.windows.iter_mut().for_each(|w| w.shrink_to(keep));
        }
        self.times.push_back(ts);
        for (w, v) in self.windows.iter_mut().zip(x) {
            w.push_back(if v.is_finite() { *v as f32 } else { f32::NAN });
        }
        self.count += 1;
        self.since_refresh += 1;
        let every = self.params.refresh.max(self.times.len() / 60);
        if self.count >= self.params.min_samples
            && (!self.have_stats || self.since_refresh >= every)
        {
            self.refresh();
        }
    }

    /// Starts the window afresh from `rows` (the recent rows of a change accepted as
    /// the new normal), so the median and scale describe the new level at once.
    pub fn rebase<'a>(&mut self, rows: impl IntoIterator<Item = (TimestampMs, &'a [f64])>) {
        self.times.clear();
        self.windows.iter_mut().for_each(|w| w.clear());
        let before = self.count;
        for (ts, x) in rows {
            self.push(ts, x);
        }
        if self.times.len() >= 2 && self.count > before {
            self.refresh();
        }
    }

    /// The current normal band of a metric: median +- 3 robust sigma.
    pub fn band(&self, m: usize) -> (f64, f64) {
        (
            self.median[m] - 3.0 * self.scale[m],
            self.median[m] + 3.0 * self.scale[m],
        )
    }
}

/// Per-metric z divisors from the |z| rows seen in training: max(q99, 3) / 3, with
/// q99 the 99th percentile of the metric's |z|. 1 for a metric with fewer than 20 rows.
pub fn surprise_from_z(z_rows: &[Vec<f64>], n_metrics: usize) -> Vec<f64> {
    let mut col = Vec::with_capacity(z_rows.len());
    (0..n_metrics)
        .map(|m| {
            col.clear();
            col.extend(z_rows.iter().map(|r| r[m]).filter(|v| v.is_finite()));
            if col.len() < 20 {
                return 1.0;
            }
            col.sort_by(f64::total_cmp);
            let q = super::features::quantile_sorted(&col, 0.99);
            q.max(SURPRISE_Z) / SURPRISE_Z
        })
        .collect()
}

/// A model's per-metric divisors for `n` metrics: values under 1 (or not finite)
/// become 1, and a list of the wrong length (or empty: a model saved before it) is all 1.
fn divisors(list: &[f64], n: usize) -> Vec<f64> {
    if list.len() != n {
        return vec![1.0; n];
    }
    list.iter()
        .map(|s| if s.is_finite() && *s >= 1.0 { *s } else { 1.0 })
        .collect()
}

/// A deviation of this many robust sigmas is unremarkable for any metric.
const SURPRISE_Z: f64 = 3.0;

/// A metric's |z| (soft-clipped) as the member compares it with the other metrics':
/// divided by the metric's divisor, then the excess over [`SURPRISE_Z`] divided by its
/// tail scale (see the module docs). Monotonic in `z`, so it ranks one metric's
/// deviations as `z` does.
pub fn scaled(z: f64, divisor: f64, tail: f64) -> f64 {
    let v = z / divisor;
    if v > SURPRISE_Z {
        SURPRISE_Z + (v - SURPRISE_Z) / tail
    } else {
        v
    }
}

/// Exceedances over [`SURPRISE_Z`] a metric needs in training for its tail scale to
/// be measured (with fewer, 1: nothing is known about how far it reaches).
const TAIL_MIN_EXCEEDANCES: usize = 10;

/// Per-metric tail scales from the |z| rows seen in training and the metrics'
/// divisors ([`surprise_from_z`]): the robust mean excess of z / divisor over
/// [`SURPRISE_Z`] (`trimmed_scale`, as the calibrators' tails: one incident left in
/// training cannot inflate it), never below 1.
pub fn tail_from_z(z_rows: &[Vec<f64>], divisors: &[f64]) -> Vec<f64> {
    let mut exc = Vec::new();
    divisors
        .iter()
        .enumerate()
        .map(|(m, d)| {
            exc.clear();
            exc.extend(
                z_rows
                    .iter()
                    .map(|r| r[m] / d - SURPRISE_Z)
                    .filter(|v| v.is_finite() && *v > 0.0),
            );
            if exc.len() < TAIL_MIN_EXCEEDANCES {
                return 1.0;
            }
            exc.sort_by(f64::total_cmp);
            crate::detect::ensemble::trimmed_scale(&exc).max(1.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A baseline of `n` metrics that scores after 20 samples (a window of 100).
    fn small_baseline(n: usize) -> RollingBaseline {
        RollingBaseline::new(
            n,
            BaselineParams {
                window: 100,
                window_secs: 0,
                min_samples: 20,
                refresh: 5,
            },
        )
    }

    #[test]
    fn surprise_scaling_lets_a_steady_metric_outrank_a_bursty_one() {
        let params = BaselineParams {
            window: 200,
            window_secs: 0,
            min_samples: 50,
            refresh: 10,
        };
        // Metric 0 bursts to 40x its level every 7th sample; metric 1 barely moves.
        let row = |i: usize| {
            [
                if i.is_multiple_of(7) {
                    400.0
                } else {
                    10.0 + (i % 3) as f64
                },
                50.0 + (i % 5) as f64 * 0.5,
            ]
        };
        let mut b = RollingBaseline::new(2, params.clone());
        let mut z = [0.0; 2];
        let mut z_rows = vec![];
        for i in 0..400 {
            if b.observe(0, &row(i), &mut z, true).is_some() {
                z_rows.push(z.to_vec());
            }
        }
        let s = surprise_from_z(&z_rows, 2);
        assert!(s[0] > 5.0, "bursty metric is scaled down: {s:?}");
        assert!(
            (s[1] - 1.0).abs() < 1e-12,
            "steady metric is left alone: {s:?}"
        );

        // Unscaled, a burst of metric 0 scores as high as a big step of metric 1.
        let burst = [400.0, 51.0];
        let step = [11.0, 58.0];
        let plain_burst = b.clone().observe(0, &burst, &mut z, true).unwrap();
        let plain_step = b.clone().observe(0, &step, &mut z, true).unwrap();
        assert!(plain_burst >= plain_step, "{plain_burst} vs {plain_step}");
        // Scaled, the step stands out and the usual burst does not.
        b.set_surprise(&s);
        let burst_s = b.clone().observe(0, &burst, &mut z, true).unwrap();
        let step_s = b.clone().observe(0, &step, &mut z, true).unwrap();
        assert!(step_s > 3.0 * burst_s, "{step_s} vs {burst_s}");
        // A wrong-length list resets to no scaling.
        b.set_surprise(&[2.0]);
        assert_eq!(
            b.clone().observe(0, &burst, &mut z, true).unwrap(),
            plain_burst
        );
    }

    /// The tail scale is the metric's robust mean excess over 3 (after its divisor),
    /// never below 1, and 1 with too few exceedances to measure; `scaled` divides the
    /// excess by it and leaves values under 3 alone.
    #[test]
    fn tail_scales_shrink_a_bursty_metrics_excess_and_leave_a_quiet_one() {
        // Metric 0 passes 3 by 0, 1, ..., 19 (mean 9.5; the largest 10 % trimmed);
        // metric 1 by 0.2 on 50 rows; metric 2 by a lot, but on 5 rows only.
        let mut rows = vec![];
        for i in 0..1000 {
            let e0 = if i < 200 { 3.0 + (i % 20) as f64 } else { 1.0 };
            let e1 = if i < 50 { 3.2 } else { 0.5 };
            let e2 = if i < 5 { 40.0 } else { 0.0 };
            rows.push(vec![e0, e1, e2]);
        }
        let t = tail_from_z(&rows, &[1.0, 1.0, 1.0]);
        assert!(t[0] > 5.0 && t[0] < 15.0, "{t:?}");
        assert_eq!(t[1], 1.0, "a small excess is not magnified: {t:?}");
        assert_eq!(t[2], 1.0, "5 exceedances say nothing: {t:?}");
        // The divisor applies first: metric 0 divided by 2 passes 3 less often.
        assert!(tail_from_z(&rows, &[2.0, 1.0, 1.0])[0] < t[0]);

        assert_eq!(scaled(2.5, 1.0, 4.0), 2.5);
        assert_eq!(scaled(11.0, 1.0, 4.0), 5.0);
        assert_eq!(scaled(22.0, 2.0, 4.0), 5.0);
        // Monotonic: a larger deviation always scores higher.
        assert!(scaled(1e6, 1.0, 50.0) > scaled(1e5, 1.0, 50.0));

        // The baseline applies it: a set tail divides the excess, a wrong-length
        // list resets it.
        let mut b = small_baseline(1);
        let mut z = [0.0];
        for i in 0..40 {
            b.observe(0, &[100.0 + (i % 5) as f64], &mut z, true);
        }
        let plain = b.clone().observe(0, &[110.0], &mut z, false).unwrap();
        assert!(plain > 3.0, "{plain}");
        b.set_tail(&[2.0]);
        let halved = b.clone().observe(0, &[110.0], &mut z, false).unwrap();
        assert!(
            (halved - (3.0 + (plain - 3.0) / 2.0)).abs() < 1e-9,
            "{halved}"
        );
        b.set_tail(&[2.0, 2.0]);
        assert_eq!(b.observe(0, &[110.0], &mut z, false).unwrap(), plain);
    }

    #[test]
    fn scores_after_warm_up_and_flags_the_odd_metric() {
        let mut b = small_baseline(2);
        let mut z = [0.0; 2];
        for i in 0..20 {
            let v = [10.0 + (i % 3) as f64, 50.0 + (i % 5) as f64];
            assert!(b.observe(0, &v, &mut z, true).is_none(), "cold at {i}");
        }
        assert!(b.ready());
        let s = b.observe(0, &[11.0, 90.0], &mut z, true).unwrap();
        assert!(z[1] > 10.0 && z[0] < 2.0, "{z:?}");
        assert_eq!(s, z[1]);
        let (lo, hi) = b.band(0);
        assert!(lo < 11.0 && hi > 11.0);
    }

    /// The window holds f32: a metric sitting at a value f32 cannot hold (a byte
    /// counter at 2^24 + 1) is still at the centre of its band, with a z of a few
    /// millionths, and a move of 5 % of the level still stands out.
    #[test]
    fn an_f32_window_keeps_values_f32_cannot_hold_centred() {
        let mut b = RollingBaseline::new(1, BaselineParams::default());
        let x = 16_777_217.0;
        let mut z = [0.0];
        for i in 0..100 {
            b.observe(i * 1000, &[x], &mut z, true);
        }
        b.observe(100_000, &[x], &mut z, false).unwrap();
        assert!(z[0] < 1e-4, "{z:?}");
        let (lo, hi) = b.band(0);
        assert!(lo < x && x < hi, "{lo} {hi}");
        b.observe(101_000, &[x * 1.05], &mut z, false).unwrap();
        assert!(z[0] > 3.0, "{z:?}");
    }
}
