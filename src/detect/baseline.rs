//! Robust per-metric baseline: rolling median and MAD over the last `window` samples.
//!
//! It needs no training, so it scores after `min_samples` samples (the cold start:
//! 60 samples = 5 minutes at the 5 s default). Each metric's deviation is a robust z,
//! |x - median| / (1.4826 MAD); the member's raw score is the largest z over the
//! metrics, because a single metric far from its own recent normal is exactly what
//! this member is for (the forest and PCA look at combinations).
//!
//! The statistics are recomputed every `refresh` samples (selection, O(window) per
//! metric), not at every sample: a median over an hour does not move in a minute,
//! and this keeps the per-sample cost at a few microseconds.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::features::{robust_center_scale, Z_CLIP};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineParams {
    /// Rolling window in samples (720 = 1 h at 5 s): long enough that a short
    /// incident cannot drag the median (it resists up to 50 % contamination).
    pub window: usize,
    /// Samples before the first score (the cold start).
    pub min_samples: usize,
    /// Recompute median/MAD every this many samples.
    pub refresh: usize,
}

impl Default for BaselineParams {
    fn default() -> Self {
        Self {
            window: 720,
            min_samples: 60,
            refresh: 12,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RollingBaseline {
    params: BaselineParams,
    windows: Vec<VecDeque<f64>>,
    median: Vec<f64>,
    scale: Vec<f64>,
    count: usize,
    since_refresh: usize,
    have_stats: bool,
    scratch: Vec<f64>,
    floors: Vec<f64>,
}

impl RollingBaseline {
    pub fn new(n_metrics: usize, params: BaselineParams) -> Self {
        let params = BaselineParams {
            window: params.window.max(2),
            min_samples: params.min_samples.max(2),
            refresh: params.refresh.max(1),
        };
        Self {
            windows: vec![VecDeque::with_capacity(params.window); n_metrics],
            median: vec![0.0; n_metrics],
            scale: vec![1.0; n_metrics],
            count: 0,
            since_refresh: 0,
            have_stats: false,
            scratch: Vec::with_capacity(params.window),
            floors: vec![0.0; n_metrics],
            params,
        }
    }

    /// Per-metric smallest scale (see `features::unit_floor`).
    pub fn set_floors(&mut self, floors: Vec<f64>) {
        if floors.len() == self.windows.len() {
            self.floors = floors;
        }
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
            self.scratch.extend(self.windows[m].iter().copied());
            let (med, s) = robust_center_scale(&mut self.scratch);
            self.median[m] = med;
            // Never below 1 % of the level (a change that small is not meaningful for
            // a host metric, however smooth the metric is); a metric stuck at 0 still
            // gets a tiny scale so that a change is seen, clipped at Z_CLIP.
            self.scale[m] = s.max(0.01 * med.abs()).max(self.floors[m]).max(1e-9);
        }
        self.have_stats = true;
        self.since_refresh = 0;
    }

    /// Scores `x` (imputed values) against the statistics of the samples before it,
    /// writing per-metric |z| to `z`, then adds `x` to the window. Returns the raw
    /// score (max |z|) once ready.
    pub fn observe(&mut self, x: &[f64], z: &mut [f64]) -> Option<f64> {
        assert_eq!(x.len(), self.windows.len());
        let score = if self.have_stats {
            let mut best = 0.0f64;
            for m in 0..x.len() {
                let v = if x[m].is_finite() {
                    ((x[m] - self.median[m]) / self.scale[m]).abs().min(Z_CLIP)
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
        for (m, w) in self.windows.iter_mut().enumerate() {
            if w.len() == self.params.window {
                w.pop_front();
            }
            if x[m].is_finite() {
                w.push_back(x[m]);
            }
        }
        self.count += 1;
        self.since_refresh += 1;
        if self.count >= self.params.min_samples
            && (!self.have_stats || self.since_refresh >= self.params.refresh)
        {
            self.refresh();
        }
        score
    }

    /// The current normal band of a metric: median +- 3 robust sigma.
    pub fn band(&self, m: usize) -> (f64, f64) {
        (
            self.median[m] - 3.0 * self.scale[m],
            self.median[m] + 3.0 * self.scale[m],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_after_warm_up_and_flags_the_odd_metric() {
        let mut b = RollingBaseline::new(
            2,
            BaselineParams {
                window: 100,
                min_samples: 20,
                refresh: 5,
            },
        );
        let mut z = [0.0; 2];
        for i in 0..20 {
            let v = [10.0 + (i % 3) as f64, 50.0 + (i % 5) as f64];
            assert!(b.observe(&v, &mut z).is_none(), "cold at {i}");
        }
        assert!(b.ready());
        let s = b.observe(&[11.0, 90.0], &mut z).unwrap();
        assert!(z[1] > 10.0 && z[0] < 2.0, "{z:?}");
        assert_eq!(s, z[1]);
        let (lo, hi) = b.band(0);
        assert!(lo < 11.0 && hi > 11.0);
    }
}
