//! Windowed features from raw samples, robust normalisation and imputation.
//!
//! Per metric, four features (metric-major layout: feature `m * KINDS.len() + k`):
//! - `value`: the (imputed) value itself, so levels outside the learnt range stand out;
//! - `diff`: first difference, so sudden jumps stand out even inside the normal range;
//! - `recent`: the median of the last [`RECENT`] values: the recent level with
//!   one-sample jitter removed, so a sustained change outranks a single noisy sample.
//!   A median rather than an EWMA: it is back to normal three samples after a change
//!   ends, where an EWMA of a 200-sigma burst stayed many sigmas high for fifteen
//!   samples, keeping the score (and the event) up long after the metrics were back;
//! - `shift`: `recent` minus a slow EWMA (alpha 0.02, ~100 samples): how far the recent
//!   level moved from the level of the last minutes, i.e. level shifts and ramps.
//!   The slow EWMA is robust (Huber): each step moves it by at most
//!   [`SLOW_CLIP`] times its own running mean absolute deviation, so a short spike
//!   barely drags it and `shift` does not swing the other way for minutes after the
//!   spike is over (a plain EWMA kept an event open 5 to 10 minutes after a 10 s
//!   burst); a lasting shift still widens the deviation, and the slow level follows
//!   it within about two hundred samples.
//!
//! The spans are in samples, not seconds, and are deliberately short: the detector
//! must react within a few samples whatever the sampling rate, and "the recent shape"
//! in the issue is the last handful of samples. They were chosen from that reasoning,
//! not fitted to any benchmark.
//!
//! Missing values (NaN / inf) are imputed explicitly: last observed value of that
//! metric, else the training median, else 0. Normalisation is robust, learnt at
//! training: (f - median) / scale with scale = 1.4826 MAD, falling back to the mean
//! absolute deviation and the standard deviation when MAD is 0 (sparse metrics), and
//! never below 1 % of the metric's level (see [`Normalizer::fit`]).
//! A feature with no spread at all during training is dropped (z = 0): it cannot be
//! split by the forest and would make PCA's covariance singular; the rolling baseline
//! still watches its metric. Beyond +-[`Z_KNEE`] z grows only logarithmically
//! ([`soft_clip`]) so one broken metric cannot swamp every other one, yet a larger
//! deviation still scores higher (a hard clip made the top of the ranking a tie).

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

/// Feature kinds per metric, in layout order.
pub const KINDS: [&str; 4] = ["value", "diff", "recent", "shift"];
/// Values in the `recent` median.
pub const RECENT: usize = 5;
pub const ALPHA_SLOW: f64 = 0.02;
/// Largest step of the slow EWMA, in running mean absolute deviations.
pub const SLOW_CLIP: f64 = 3.0;
/// Where z starts to grow logarithmically (see [`soft_clip`]).
pub const Z_KNEE: f64 = 10.0;

/// z up to [`Z_KNEE`], then K (1 + ln(|z| / K)) with its sign: continuous with a
/// continuous slope, monotonic, unbounded but slow (z = 1e6 maps to 125).
pub fn soft_clip(z: f64) -> f64 {
    // Infinity (a zero scale met a change) becomes the largest finite value's image.
    let a = z.abs().min(f64::MAX);
    if a <= Z_KNEE || a.is_nan() {
        z
    } else {
        (Z_KNEE * (1.0 + (a / Z_KNEE).ln())).copysign(z)
    }
}

/// Smallest change of a host metric that can matter, by unit: below it a deviation
/// is noise whatever the metric's own spread (load_5 is so smooth that 0.03 would
/// be many sigmas, yet a load change of 0.03 never matters). 0 for unknown names
/// (CSV columns), which then only get the 1 %-of-level floor.
pub fn unit_floor(metric: &str) -> f64 {
    use crate::model::Unit;
    match crate::model::metric_def(metric).map(|d| d.unit) {
        Some(Unit::Percent) => 0.5,
        Some(Unit::Load) => 0.1,
        Some(Unit::Bytes) => 1024.0 * 1024.0,
        Some(Unit::BytesPerSec) => 1024.0,
        Some(Unit::PerSec) | Some(Unit::Count) => 1.0,
        None => 0.0,
    }
}

/// Names `metric:kind` in layout order.
pub fn feature_names(metrics: &[String]) -> Vec<String> {
    metrics
        .iter()
        .flat_map(|m| KINDS.iter().map(move |k| format!("{m}:{k}")))
        .collect()
}

/// Metric index of a feature index.
pub fn metric_of(feature: usize) -> usize {
    feature / KINDS.len()
}

/// Streaming feature state for one host/series. The same code builds training
/// features (by replaying stored rows) and live features, so they match exactly.
#[derive(Debug, Clone)]
pub struct FeatureState {
    last: Vec<f64>,
    /// The last [`RECENT`] values of each metric (ring buffer, metric-major).
    recent: Vec<f64>,
    filled: usize,
    pos: usize,
    slow: Vec<f64>,
    /// Running mean absolute deviation around `slow` (its step bound).
    dev: Vec<f64>,
    seen: Vec<bool>,
}

impl FeatureState {
    pub fn new(n_metrics: usize) -> Self {
        Self {
            last: vec![0.0; n_metrics],
            recent: vec![0.0; n_metrics * RECENT],
            filled: 0,
            pos: 0,
            slow: vec![0.0; n_metrics],
            dev: vec![0.0; n_metrics],
            seen: vec![false; n_metrics],
        }
    }

    pub fn n_metrics(&self) -> usize {
        self.last.len()
    }

    pub fn n_features(&self) -> usize {
        self.last.len() * KINDS.len()
    }

    /// Consumes one raw row; writes the imputed values to `imputed` and the raw
    /// (unnormalised) features to `out`. `fallback` gives per-metric values for
    /// metrics never observed yet (the training medians).
    pub fn push(
        &mut self,
        raw: &[f64],
        fallback: Option<&[f64]>,
        imputed: &mut [f64],
        out: &mut [f64],
    ) {
        let n = self.last.len();
        assert_eq!(raw.len(), n, "metric count mismatch");
        assert_eq!(out.len(), n * KINDS.len());
        self.filled = (self.filled + 1).min(RECENT);
        let slot = self.pos;
        self.pos = (self.pos + 1) % RECENT;
        let mut window = [0.0; RECENT];
        for m in 0..n {
            let v = if raw[m].is_finite() {
                raw[m]
            } else if self.seen[m] {
                self.last[m]
            } else {
                fallback
                    .map(|f| f[m])
                    .filter(|v| v.is_finite())
                    .unwrap_or(0.0)
            };
            imputed[m] = v;
            self.recent[m * RECENT + slot] = v;
            let ring = &self.recent[m * RECENT..(m + 1) * RECENT];
            let w = &mut window[..self.filled];
            // The first `filled` slots hold values once the ring is full; before that
            // the filled ones are the first `filled` slots too (pos starts at 0).
            w.copy_from_slice(&ring[..self.filled]);
            w.sort_unstable_by(f64::total_cmp);
            let fast = if w.len() % 2 == 1 {
                w[w.len() / 2]
            } else {
                0.5 * (w[w.len() / 2 - 1] + w[w.len() / 2])
            };
            let (diff, slow, dev) = if self.seen[m] {
                let (old, dev) = (self.slow[m], self.dev[m]);
                // The bound never collapses to 0: 1 % of the level, or a tiny absolute.
                let bound = SLOW_CLIP * dev.max(0.01 * old.abs()).max(1e-9);
                let r = (v - old).clamp(-bound, bound);
                let slow = old + ALPHA_SLOW * r;
                (v - self.last[m], slow, dev + ALPHA_SLOW * (r.abs() - dev))
            } else {
                (0.0, v, 0.0)
            };
            self.seen[m] = true;
            self.last[m] = v;
            self.slow[m] = slow;
            self.dev[m] = dev;
            let o = &mut out[m * KINDS.len()..(m + 1) * KINDS.len()];
            o[0] = v;
            o[1] = diff;
            o[2] = fast;
            o[3] = fast - slow;
        }
    }
}

/// Replays rows through a fresh [`FeatureState`]: (imputed raw values, raw features).
pub fn build_matrix(
    rows: &[&[f64]],
    n_metrics: usize,
    fallback: Option<&[f64]>,
) -> (Array2<f64>, Array2<f64>) {
    let mut st = FeatureState::new(n_metrics);
    let nf = st.n_features();
    let mut imp = Array2::zeros((rows.len(), n_metrics));
    let mut feats = Array2::zeros((rows.len(), nf));
    let mut ibuf = vec![0.0; n_metrics];
    let mut fbuf = vec![0.0; nf];
    for (i, r) in rows.iter().enumerate() {
        st.push(r, fallback, &mut ibuf, &mut fbuf);
        imp.row_mut(i).assign(&ndarray::ArrayView1::from(&ibuf[..]));
        feats
            .row_mut(i)
            .assign(&ndarray::ArrayView1::from(&fbuf[..]));
    }
    (imp, feats)
}

/// Linear-interpolated quantile of sorted data (`q` in [0, 1]); NaN if empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Median by selection (O(n), reorders `v`); same value as the interpolated 0.5
/// quantile of the sorted data.
fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    let (below, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let hi = *m;
    if n % 2 == 1 {
        hi
    } else {
        let lo = below.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        lo + (hi - lo) * 0.5
    }
}

/// Robust centre and scale of finite values: (median, scale); scale is 0 only when
/// the values have no spread at all. Selection, not sorting: the rolling baseline
/// calls it for every metric at every refresh. Leaves `values` reordered.
pub fn robust_center_scale(values: &mut Vec<f64>) -> (f64, f64) {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let med = median_in_place(values);
    let n = values.len() as f64;
    let mut dev: Vec<f64> = values.iter().map(|v| (v - med).abs()).collect();
    let mad = median_in_place(&mut dev);
    // 1.4826 MAD and 1.2533 mean-AD both estimate sigma for Gaussian data; the
    // fallbacks keep sparse metrics (mostly one value, sometimes another) usable.
    let tiny = 1e-12 * (1.0 + med.abs());
    if 1.4826 * mad > tiny {
        return (med, 1.4826 * mad);
    }
    let mean_ad = dev.iter().sum::<f64>() / n;
    if 1.2533 * mean_ad > tiny {
        return (med, 1.2533 * mean_ad);
    }
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
    (med, if sd > tiny { sd } else { 0.0 })
}

/// Per-feature robust normalisation learnt at training time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    pub center: Vec<f64>,
    pub scale: Vec<f64>,
    /// False for features without any spread in training (dropped: z = 0).
    pub active: Vec<bool>,
}

impl Normalizer {
    /// `floors` (per feature, optional) is the smallest scale allowed: [`train`]
    /// passes 1 % of each metric's median level, because for host metrics a change
    /// smaller than 1 % of the level is not meaningful even when the metric is very
    /// smooth (load_15 moves by 0.01 an hour; without a floor its drift would look
    /// like dozens of sigmas).
    ///
    /// [`train`]: super::train
    pub fn fit(x: ArrayView2<f64>, floors: Option<&[f64]>) -> Self {
        let d = x.ncols();
        let mut center = Vec::with_capacity(d);
        let mut scale = Vec::with_capacity(d);
        let mut active = Vec::with_capacity(d);
        let mut buf = Vec::with_capacity(x.nrows());
        for col in x.columns() {
            buf.clear();
            buf.extend(col.iter().copied());
            let (c, s) = robust_center_scale(&mut buf);
            let floor = floors.map_or(0.0, |f| f[center.len()]);
            center.push(c);
            active.push(s > 0.0);
            scale.push(if s > 0.0 { s.max(floor) } else { 1.0 });
        }
        Self {
            center,
            scale,
            active,
        }
    }

    pub fn n_features(&self) -> usize {
        self.center.len()
    }

    pub fn apply(&self, f: &[f64], out: &mut [f64]) {
        for j in 0..f.len() {
            out[j] = if self.active[j] {
                let z = (f[j] - self.center[j]) / self.scale[j];
                if z.is_nan() {
                    0.0
                } else {
                    soft_clip(z)
                }
            } else {
                0.0
            };
        }
    }

    pub fn apply_matrix(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut out = Array2::zeros(x.dim());
        let mut buf = vec![0.0; x.ncols()];
        for (i, row) in x.rows().into_iter().enumerate() {
            let r: Vec<f64> = row.to_vec();
            self.apply(&r, &mut buf);
            out.row_mut(i).assign(&ndarray::ArrayView1::from(&buf[..]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_impute_and_never_produce_nan() {
        let mut st = FeatureState::new(2);
        let mut imp = [0.0; 2];
        let mut out = [0.0; 8];
        st.push(&[f64::NAN, 1.0], Some(&[5.0, 0.0]), &mut imp, &mut out);
        assert_eq!(imp, [5.0, 1.0], "median fallback before first observation");
        st.push(&[2.0, f64::NAN], None, &mut imp, &mut out);
        assert_eq!(imp, [2.0, 1.0], "last value carried forward");
        assert_eq!(out[1], -3.0, "diff");
        assert!(out.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn a_short_spike_barely_moves_the_slow_level_and_a_lasting_shift_does() {
        let mut st = FeatureState::new(1);
        let (mut imp, mut out) = ([0.0], [0.0; 4]);
        let mut x: u64 = 3;
        let mut noise = move || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for _ in 0..500 {
            st.push(&[10.0 + noise()], None, &mut imp, &mut out);
        }
        // A 12-sample spike of 100 noise widths, then back to normal.
        for _ in 0..12 {
            st.push(&[110.0 + noise()], None, &mut imp, &mut out);
        }
        for _ in 0..20 {
            st.push(&[10.0 + noise()], None, &mut imp, &mut out);
        }
        assert!(out[3].abs() < 2.0, "shift after the spike: {}", out[3]);
        // A lasting shift of the same size is followed.
        for _ in 0..400 {
            st.push(&[110.0 + noise()], None, &mut imp, &mut out);
        }
        assert!(
            out[3].abs() < 2.0,
            "shift once the new level is old: {}",
            out[3]
        );
    }

    #[test]
    fn constant_features_are_dropped_not_nan() {
        let x = ndarray::array![[1.0, 0.0], [1.0, 2.0], [1.0, 4.0], [1.0, 6.0]];
        let n = Normalizer::fit(x.view(), None);
        assert_eq!(n.active, vec![false, true]);
        let mut out = [0.0; 2];
        n.apply(&[1e9, f64::NAN], &mut out);
        assert_eq!(out, [0.0, 0.0]);
        n.apply(&[1.0, 1e12], &mut out);
        assert!(out[1] > 100.0 && out[1] < 300.0, "{}", out[1]);
        assert!(soft_clip(1e13) > soft_clip(1e12));
        assert_eq!(soft_clip(-3.0), -3.0);
        assert!((soft_clip(10.0 + 1e-9) - 10.0).abs() < 1e-6);
    }

    #[test]
    fn sparse_metric_gets_a_usable_scale() {
        let mut v = vec![0.0; 98];
        v.extend([3.0, 5.0]);
        let (c, s) = robust_center_scale(&mut v);
        assert_eq!(c, 0.0);
        assert!(s > 0.0 && s.is_finite());
    }
}
