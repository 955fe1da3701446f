//! Calibration: a member's raw score to a surprise against its training scores.

use super::*;

/// Maps a member's raw score to [0, 1] against its training-score distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibrator {
    /// Raw-score quantiles at p = 0, 0.01, ..., 1 of the training scores.
    pub quantiles: Vec<f64>,
    /// Tail start: probability and raw score.
    pub tail_p: f64,
    pub tail_u: f64,
    /// Mean excess over `tail_u` (exponential tail scale).
    pub tail_beta: f64,
    pub n: usize,
}

impl Calibrator {
    /// Needs at least 10 finite scores.
    pub fn fit(scores: &[f64]) -> Option<Self> {
        let mut s: Vec<f64> = scores.iter().copied().filter(|v| v.is_finite()).collect();
        if s.len() < 10 {
            return None;
        }
        s.sort_by(f64::total_cmp);
        let n = s.len();
        // ~20 exceedances estimate the tail scale; 2 % once there is enough data.
        let tail_p = (1.0 - 20.0 / n as f64).clamp(0.9, 0.98);
        let tail_u = quantile_sorted(&s, tail_p);
        let exc: Vec<f64> = s
            .iter()
            .filter(|v| **v > tail_u)
            .map(|v| v - tail_u)
            .collect();
        let spread = (quantile_sorted(&s, 0.75) - quantile_sorted(&s, 0.25)).abs();
        let mean_exc = trimmed_scale(&exc);
        // The scale never collapses: training scores that are all alike (a flat
        // series) would otherwise make any later difference astronomically surprising.
        let tail_beta = mean_exc.max(0.05 * spread).max(0.01 * (1.0 + tail_u.abs()));
        let quantiles = (0..N_QUANTILES)
            .map(|i| quantile_sorted(&s, i as f64 / (N_QUANTILES - 1) as f64))
            .collect();
        Some(Self {
            quantiles,
            tail_p,
            tail_u,
            tail_beta,
            n,
        })
    }

    /// Calibrated score in [0, 1] (higher = rarer in training).
    pub fn cdf(&self, s: f64) -> f64 {
        if s.is_nan() {
            return 0.0;
        }
        if s >= self.tail_u {
            return 1.0 - (1.0 - self.tail_p) * (-(s - self.tail_u) / self.tail_beta).exp();
        }
        let q = &self.quantiles;
        let step = 1.0 / (q.len() - 1) as f64;
        let lo = q.partition_point(|v| *v < s);
        let hi = q.partition_point(|v| *v <= s);
        let p = if hi == 0 {
            0.0
        } else if lo < hi {
            // s sits on a plateau (many equal training scores): mid-rank.
            0.5 * (lo as f64 + (hi - 1) as f64) * step
        } else if hi >= q.len() {
            self.tail_p
        } else {
            let (a, b) = (q[hi - 1], q[hi]);
            ((hi - 1) as f64 + (s - a) / (b - a)) * step
        };
        p.min(self.tail_p)
    }

    /// Surprise -log10 p of a raw score, p = 1 - [`Self::cdf`] (0 for the lowest
    /// training scores; linear in `s` in the tail, so it never saturates).
    pub fn surprise(&self, s: f64) -> f64 {
        if s.is_nan() {
            return 0.0;
        }
        if s >= self.tail_u {
            let base = -(1.0 - self.tail_p).log10();
            return base + (s - self.tail_u) / (self.tail_beta * std::f64::consts::LN_10);
        }
        let p = (1.0 - self.cdf(s)).clamp(f64::MIN_POSITIVE, 1.0);
        -p.log10()
    }

    pub fn validate(&self) -> Result<(), DetectError> {
        if self.quantiles.len() < 2
            || self.quantiles.iter().any(|v| !v.is_finite())
            || self.tail_beta.is_nan()
            || self.tail_beta <= 0.0
            || !(0.0..1.0).contains(&self.tail_p)
        {
            return Err(DetectError::Format("calibrator is inconsistent".into()));
        }
        Ok(())
    }
}

/// The exponential scale of sorted exceedances (ascending), robust to one past incident: the
/// mean of the lowest 90 % of them divided by its expectation under an exponential
/// (0.7441 beta). The plain mean is set by the few largest exceedances, so one
/// incident left in the training window (a spike of 100 sigmas, a few rows) inflated
/// the scale many-fold and a later 20-sigma level shift scored as one in a hundred;
/// the median excess (0.5 of them) is robust too but assumes the exponential shape
/// deep into the tail, which heavy-tailed metrics (bursty rates) do not have.
pub(crate) fn trimmed_scale(exc: &[f64]) -> f64 {
    if exc.is_empty() {
        return 0.0;
    }
    let keep = ((exc.len() as f64 * (1.0 - TAIL_TRIM)).ceil() as usize).clamp(1, exc.len());
    let mean = exc[..keep].iter().sum::<f64>() / keep as f64;
    if keep == exc.len() {
        mean
    } else {
        // E[X | X below its (1 - TAIL_TRIM) quantile] for X ~ Exp(1).
        let q = TAIL_TRIM;
        let expect = (1.0 - q * (1.0 - q.ln())) / (1.0 - q);
        mean / expect
    }
}

/// Share of the largest exceedances left out of the tail scale (see [`trimmed_scale`]).
const TAIL_TRIM: f64 = 0.1;

/// Bonferroni-corrected min-p combination of member surprises (see the module docs).
pub fn combine(surprises: &[f64]) -> f64 {
    if surprises.is_empty() {
        return 0.0;
    }
    let top = surprises.iter().copied().fold(0.0, f64::max);
    (top - (surprises.len() as f64).log10()).max(0.0)
}

/// The surprise at least two members vouch for: the second-highest member surprise,
/// corrected for the number of members as [`combine`] is. Whatever the dependence
/// between members, P(two of m members reach p) <= m p / 2 (the expected number of
/// members that reach it is m p), so this is -log10 of that bound, capped at 0. It is
/// under [`combine`]'s surprise unless the top two members are within log10 2 of each
/// other: two members that agree are stronger evidence than the larger one alone
/// (capping it at [`combine`] measured lower on NAB: docs/detection.md). With a single
/// member there is nobody to corroborate: its own surprise.
///
/// The alarm score uses it outside events ([`super::super::onset`]): a single sample
/// has no persistence to vouch for it, and one member alone at its rarest hour (the
/// rolling baseline against a calm last hour, PCA's squared tail) is that member's
/// blind spot more often than a fault, while a fault real enough to alarm on at once
/// is unusual to two views of the data. A fault that only one member sees still opens
/// an event (the event logic thresholds [`combine`], with 3 of 5 samples as its own
/// corroboration), and the event's opening is an alarm.
pub fn corroborate(surprises: &[f64]) -> f64 {
    let m = surprises.len();
    if m < 2 {
        return surprises.first().map_or(0.0, |s| s.max(0.0));
    }
    (second_highest(surprises.iter().copied()) - (m as f64 / 2.0).log10()).max(0.0)
}

/// The second-highest of `values` (-inf with fewer than two).
fn second_highest(values: impl Iterator<Item = f64>) -> f64 {
    let (mut top, mut second) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for s in values {
        if s > top {
            second = top;
            top = s;
        } else if s > second {
            second = s;
        }
    }
    second
}

/// Samples over which members may corroborate each other ([`corroborate_lagged`]):
/// this one and the one before. The members read different views of a change (the
/// baseline the raw value against the last hour, forest and PCA the value with its
/// difference and the 5-median), so one often sees a spike or a step a sample before
/// or after another; one sample of lag is the least tolerance that allows for that.
pub const CORROBORATION_SAMPLES: usize = 2;

/// [`corroborate`] with one sample of lag allowed: each member's surprise is the
/// higher of this sample's and the previous sample's (`prev[i]`, the same member's;
/// `None` if it did not score), and the second-highest of those is corrected by
/// log10(m w / 2) with w = [`CORROBORATION_SAMPLES`]: a member reaches p at one of w
/// samples with probability at most w p, so two of m members reach it within them
/// with probability at most m w p / 2, whatever their dependence. The simultaneous
/// [`corroborate`] keeps its own, smaller correction, so the result is the higher of
/// the two (with `prev` all `None`, exactly [`corroborate`]).
pub fn corroborate_lagged(now: &[f64], prev: &[Option<f64>]) -> f64 {
    let same = corroborate(now);
    let m = now.len();
    if m < 2 {
        return same;
    }
    // Each member's higher surprise of the two samples (no allocation: this runs for
    // every sample of every host of a hub).
    let recent = |i: usize| match prev.get(i).copied().flatten() {
        Some(p) if p > now[i] => p,
        _ => now[i],
    };
    if (0..m).all(|i| recent(i) == now[i]) {
        return same;
    }
    let w = CORROBORATION_SAMPLES as f64;
    let lagged_pair = (second_highest((0..m).map(recent)) - (m as f64 / 2.0).log10()).max(0.0);
    same.max(lagged_pair - w.log10()).max(0.0)
}

/// A probability-style threshold t in (0, 1) ("1 - p", the form scores had before
/// they were surprises) as a surprise, -log10(1 - t); values of 1 and more are
/// surprises already. Keeps old settings (`sensitivity = 0.99`, `min_score = 0.99`)
/// meaning what they meant.
pub fn surprise_from_setting(t: f64) -> f64 {
    if t < 1.0 {
        -(1.0 - t.max(0.0)).log10()
    } else {
        t
    }
}
