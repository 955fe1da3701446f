//! The ensemble: training, calibration, streaming scoring and attribution.
//!
//! Members (each can be switched off):
//! - `baseline`: rolling median/MAD per raw metric ([`super::baseline`]), scores from
//!   the first minutes on;
//! - `forest`: Isolation Forest over normalised windowed features;
//! - `pca`: probabilistic-PCA distance over the same features.
//!
//! **Calibration.** Raw member scores live on unrelated scales (max robust z, 2^-E(h)/c,
//! a chi-square-like distance). Each member keeps the distribution of its own scores on
//! the training data ([`Calibrator`]): the body is the empirical CDF (101 quantiles,
//! which are also the "training-score quantiles" in the model file) and the upper tail
//! beyond the ~98th percentile is an exponential fitted to the exceedances (peaks over
//! threshold, as in SPOT, Siffer et al. 2017), so scores above anything seen in
//! training still grow smoothly instead of all saturating at 1. The calibrated score
//! is reported as a *surprise*, -log10 p, with p the tail probability of a training
//! score that high: 2 means "one sample in a hundred is this unusual", 4 "one in ten
//! thousand". In the exponential tail -log10 p is linear in the raw score, computed
//! without ever forming p, so it keeps growing with the raw score (capped only by
//! floating point): a rarer state always scores higher and the top of a ranking
//! has no ties (a score of the form 1 - p saturated at exactly 1.0 over long stretches).
//!
//! **Combination.** combined = max(0, max_i s_i - log10 m) over the m active members:
//! the surprise of the Bonferroni-corrected smallest p-value, min(1, m * min_i p_i). "Max of the calibrated scores" would
//! fire m times as often on normal data as each member alone; the mean would let two
//! quiet members mute one member that sees a clear anomaly (the point is that
//! each member catches different faults). With the correction a threshold keeps the
//! same false-alarm meaning whatever members are switched on.

use std::collections::VecDeque;
use std::sync::Arc;

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use super::baseline::{BaselineParams, RollingBaseline};
use super::features::{self, quantile_sorted, robust_center_scale, FeatureState, Normalizer};
use super::forest::{IsolationForest, IsolationForestParams};
use super::pca::PcaModel;
use super::DetectError;
use crate::model::{MemberScore, MetricContribution, TimestampMs, METRICS};

/// Bumped when the model file layout or the feature definitions change.
/// 2: robust slow EWMA in the features, time-based baseline window.
pub const FORMAT_VERSION: u32 = 2;
const N_QUANTILES: usize = 101;

// ------------------------------------------------------------------ calibration

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
        let mean_exc = if exc.is_empty() {
            0.0
        } else {
            exc.iter().sum::<f64>() / exc.len() as f64
        };
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

/// Bonferroni-corrected min-p combination of member surprises (see the module docs).
pub fn combine(surprises: &[f64]) -> f64 {
    if surprises.is_empty() {
        return 0.0;
    }
    let top = surprises.iter().copied().fold(0.0, f64::max);
    (top - (surprises.len() as f64).log10()).max(0.0)
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

// ------------------------------------------------------------------ parameters and model

/// Which members are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    pub baseline: bool,
    pub forest: bool,
    pub pca: bool,
}

impl Default for Members {
    fn default() -> Self {
        Self {
            baseline: true,
            forest: true,
            pca: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainParams {
    pub members: Members,
    pub forest: IsolationForestParams,
    /// Share of variance the PCA subspace keeps.
    pub pca_variance: f64,
    pub baseline: BaselineParams,
    /// Fewer rows than this is an error.
    pub min_rows: usize,
    /// Rows used to fit PCA (even stride above it): bounds training time.
    pub max_pca_rows: usize,
    /// Rows inside expected intervals are replicated up to this share of the
    /// training set, so that the forest's sub-samples do contain them.
    pub expected_min_share: f64,
    /// Metric names; empty = `model::METRICS` when the width matches, else `m0..`.
    pub metric_names: Vec<String>,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            members: Members::default(),
            forest: IsolationForestParams::default(),
            pca_variance: 0.9,
            baseline: BaselineParams::default(),
            min_rows: 64,
            max_pca_rows: 20_000,
            expected_min_share: 0.05,
            metric_names: Vec::new(),
        }
    }
}

/// An interval an admin marked expected, with the top metrics of its event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedInterval {
    pub start: TimestampMs,
    pub end: TimestampMs,
    pub metrics: Vec<String>,
}

/// Per-metric normal band from the training data (1st..99th percentile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub low: f64,
    pub median: f64,
    pub high: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Calibrations {
    pub baseline: Option<Calibrator>,
    /// Per-metric z divisors of the rolling baseline (`baseline::surprise_from_z`);
    /// empty in files written before they existed (then no scaling).
    #[serde(default)]
    pub baseline_surprise: Vec<f64>,
    pub forest: Option<Calibrator>,
    pub pca: Option<Calibrator>,
}

/// A trained, self-contained model (what the registry stores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedModel {
    pub format_version: u32,
    /// Assigned by [`super::ModelRegistry::save`]; 0 until saved.
    pub version: u64,
    pub trained_at: TimestampMs,
    /// First and last training timestamp.
    pub window: (TimestampMs, TimestampMs),
    pub samples: usize,
    pub metrics: Vec<String>,
    pub features: Vec<String>,
    pub params: TrainParams,
    pub normalizer: Normalizer,
    pub bands: Vec<Band>,
    pub forest: Option<IsolationForest>,
    pub pca: Option<PcaModel>,
    pub calibration: Calibrations,
    pub expected: Vec<ExpectedInterval>,
    /// Evaluation figures when labels exist (free-form, e.g. an `EvalSummary`).
    pub eval: Option<serde_json::Value>,
    /// Set when this version is a copy made by a rollback.
    pub rolled_back_from: Option<u64>,
    pub warnings: Vec<String>,
}

impl TrainedModel {
    /// Structural checks after loading a file (never trust a file's indices).
    pub fn validate(&self) -> Result<(), DetectError> {
        if self.format_version != FORMAT_VERSION {
            return Err(DetectError::Format(format!(
                "format version {} (this build reads {FORMAT_VERSION})",
                self.format_version
            )));
        }
        let nf = self.metrics.len() * features::KINDS.len();
        let n = &self.normalizer;
        if self.metrics.is_empty()
            || self.features.len() != nf
            || n.center.len() != nf
            || n.scale.len() != nf
            || n.active.len() != nf
            || self.bands.len() != self.metrics.len()
        {
            return Err(DetectError::Format(
                "feature layout does not match the metric list".into(),
            ));
        }
        if let Some(f) = &self.forest {
            f.validate()?;
            if f.n_features() != nf {
                return Err(DetectError::Format("forest width".into()));
            }
        }
        if let Some(p) = &self.pca {
            p.validate()?;
            if p.d != nf {
                return Err(DetectError::Format("PCA width".into()));
            }
        }
        let s = &self.calibration.baseline_surprise;
        if !s.is_empty()
            && (s.len() != self.metrics.len() || s.iter().any(|v| v.is_nan() || *v < 1.0))
        {
            return Err(DetectError::Format("baseline surprise list".into()));
        }
        for c in [
            &self.calibration.baseline,
            &self.calibration.forest,
            &self.calibration.pca,
        ]
        .into_iter()
        .flatten()
        {
            c.validate()?;
        }
        Ok(())
    }

    /// Names of the members this model can score.
    pub fn member_names(&self) -> Vec<&'static str> {
        let mut v = vec![];
        if self.params.members.baseline {
            v.push("baseline");
        }
        if self.forest.is_some() && self.calibration.forest.is_some() {
            v.push("forest");
        }
        if self.pca.is_some() && self.calibration.pca.is_some() {
            v.push("pca");
        }
        v
    }
}

fn default_names(width: usize) -> Vec<String> {
    if width == METRICS.len() {
        METRICS.iter().map(|d| d.name.to_string()).collect()
    } else {
        (0..width).map(|i| format!("m{i}")).collect()
    }
}

/// Trains a model on stored rows (timestamp, scalars in metric order; NaN = missing).
/// Pure CPU work: run it on a blocking thread.
pub fn train(
    rows: &[(TimestampMs, Vec<f64>)],
    expected: &[ExpectedInterval],
    params: &TrainParams,
) -> Result<TrainedModel, DetectError> {
    train_excluding(rows, expected, &[], params)
}

/// At most this share of the training rows is left out as past anomalies; beyond it
/// the "anomaly" is the host's new normal and must be learnt.
pub const MAX_EXCLUDED_SHARE: f64 = 0.2;

/// [`train`], leaving the rows inside `anomalous` intervals (past events nobody marked
/// expected) out of what the models learn as normal and out of their calibration,
/// so an incident in the window does not teach the detector to ignore the next one.
/// The rows still feed the feature state (its windows stay continuous). Rows inside
/// an expected interval are always kept.
pub fn train_excluding(
    rows: &[(TimestampMs, Vec<f64>)],
    expected: &[ExpectedInterval],
    anomalous: &[(TimestampMs, TimestampMs)],
    params: &TrainParams,
) -> Result<TrainedModel, DetectError> {
    let n = rows.len();
    if n < params.min_rows.max(8) {
        return Err(DetectError::NotEnoughData(format!(
            "{n} rows, need at least {}",
            params.min_rows.max(8)
        )));
    }
    let width = rows[0].1.len();
    if width == 0 {
        return Err(DetectError::InvalidParams("rows have no metrics".into()));
    }
    if let Some(bad) = rows.iter().find(|r| r.1.len() != width) {
        return Err(DetectError::Shape {
            expected: width,
            got: bad.1.len(),
        });
    }
    let metrics = if params.metric_names.len() == width {
        params.metric_names.clone()
    } else {
        default_names(width)
    };
    let mut warnings = Vec::new();

    // Per-metric medians (imputation fallback) and bands.
    let mut medians = Vec::with_capacity(width);
    let mut bands = Vec::with_capacity(width);
    let mut col = Vec::with_capacity(n);
    #[allow(clippy::needless_range_loop)] // m indexes rows' columns and names alike
    for m in 0..width {
        col.clear();
        col.extend(rows.iter().map(|r| r.1[m]).filter(|v| v.is_finite()));
        if col.is_empty() {
            warnings.push(format!(
                "metric {} has no values in the training window",
                metrics[m]
            ));
        }
        let (med, _) = robust_center_scale(&mut col);
        col.sort_by(f64::total_cmp);
        medians.push(med);
        bands.push(Band {
            low: if col.is_empty() {
                0.0
            } else {
                quantile_sorted(&col, 0.01)
            },
            median: med,
            high: if col.is_empty() {
                0.0
            } else {
                quantile_sorted(&col, 0.99)
            },
        });
    }

    let slices: Vec<&[f64]> = rows.iter().map(|r| r.1.as_slice()).collect();
    let (imputed, raw_feats) = features::build_matrix(&slices, width, Some(&medians));

    // Baseline raw scores over the training rows, for its calibration.
    let mut base = RollingBaseline::new(width, params.baseline.clone());
    base.set_floors(metrics.iter().map(|m| features::unit_floor(m)).collect());
    // First pass unscaled: the per-metric |z| give each metric's usual surprise;
    // the member's scores are then the max of the scaled z, as it scores live.
    let mut zbuf = vec![0.0; width];
    let in_expected_at = |i: usize| {
        expected
            .iter()
            .any(|e| rows[i].0 >= e.start && rows[i].0 <= e.end)
    };
    let mut excluded: Vec<bool> = (0..n)
        .map(|i| {
            !in_expected_at(i)
                && anomalous
                    .iter()
                    .any(|&(a, b)| rows[i].0 >= a && rows[i].0 <= b)
        })
        .collect();
    let n_excluded = excluded.iter().filter(|x| **x).count();
    if n_excluded as f64 > MAX_EXCLUDED_SHARE * n as f64 {
        warnings.push(format!(
            "{n_excluded} of {n} rows are in past anomaly events: over {:.0} %, so they were \
             kept (the host's normal has changed)",
            100.0 * MAX_EXCLUDED_SHARE
        ));
        excluded.iter_mut().for_each(|x| *x = false);
    }
    let z_rows: Vec<Vec<f64>> = imputed
        .rows()
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            base.observe(
                rows[i].0,
                r.as_slice().expect("row-major"),
                &mut zbuf,
                !excluded[i],
            )
            .filter(|_| !excluded[i])
            .map(|_| zbuf.clone())
        })
        .collect();
    let surprise = super::baseline::surprise_from_z(&z_rows, width);
    let base_scores: Vec<f64> = z_rows
        .iter()
        .map(|z| {
            z.iter()
                .zip(&surprise)
                .map(|(v, s)| v / s)
                .fold(0.0, f64::max)
        })
        .collect();

    // Expected intervals: replicate their rows so they are "normal" for the models.
    let mut idx: Vec<usize> = (0..n).filter(|&i| !excluded[i]).collect();
    let in_expected: Vec<usize> = (0..n).filter(|&i| in_expected_at(i)).collect();
    if !in_expected.is_empty() {
        let want = (params.expected_min_share * n as f64).ceil() as usize;
        let reps = (want / in_expected.len()).clamp(0, 10);
        for _ in 1..reps {
            idx.extend(in_expected.iter().copied());
        }
    }
    let feats = raw_feats.select(Axis(0), &idx);
    let floors: Vec<f64> = (0..feats.ncols())
        .map(|j| {
            let m = features::metric_of(j);
            (0.01 * medians[m].abs()).max(features::unit_floor(&metrics[m]))
        })
        .collect();
    let normalizer = Normalizer::fit(feats.view(), Some(&floors));
    let z: Array2<f64> = normalizer.apply_matrix(feats.view());

    let mut cal = Calibrations {
        baseline: if params.members.baseline {
            Calibrator::fit(&base_scores)
        } else {
            None
        },
        baseline_surprise: surprise,
        ..Default::default()
    };
    if params.members.baseline && cal.baseline.is_none() {
        warnings.push("baseline: too few rows to calibrate; it calibrates online".into());
    }

    let forest = if params.members.forest {
        let f = params.forest.fit_array(z.view())?;
        f.validate()?;
        let mut s = vec![0.0; z.nrows()];
        f.score_rows(z.view(), &mut s);
        cal.forest = Calibrator::fit(&s);
        Some(f)
    } else {
        None
    };

    let pca = if params.members.pca {
        // linfa's eigensolver panics on some degenerate inputs; a failed fit only
        // switches the member off for this version.
        let fit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            PcaModel::fit(z.view(), params.pca_variance, params.max_pca_rows)
        }))
        .unwrap_or_else(|_| Err(DetectError::Pca("the eigensolver failed".into())));
        match fit {
            Ok(p) => {
                let mut t = vec![0.0; p.k];
                let s: Vec<f64> = z
                    .rows()
                    .into_iter()
                    .map(|r| p.score(r.as_slice().expect("row-major"), &mut t, None, None))
                    .collect();
                cal.pca = Calibrator::fit(&s);
                Some(p)
            }
            Err(e) => {
                warnings.push(format!("pca member off: {e}"));
                None
            }
        }
    } else {
        None
    };

    Ok(TrainedModel {
        format_version: FORMAT_VERSION,
        version: 0,
        trained_at: now_ms(),
        window: (rows[0].0, rows[n - 1].0),
        samples: n,
        features: features::feature_names(&metrics),
        metrics,
        params: params.clone(),
        normalizer,
        bands,
        forest,
        pca,
        calibration: cal,
        expected: expected.to_vec(),
        eval: None,
        rolled_back_from: None,
        warnings,
    })
}

use crate::time::now_ms;

// ------------------------------------------------------------------ streaming scorer

/// The scores of one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct StepScores {
    /// Surprise, -log10 of the combined p-value.
    pub combined: f64,
    /// Member surprises.
    pub members: Vec<MemberScore>,
}

/// Online calibration of the baseline before a model exists (cold start): the
/// calibrator is refitted on the baseline's own recent scores.
#[derive(Debug, Clone)]
struct OnlineCalibration {
    history: VecDeque<f64>,
    cap: usize,
    cal: Option<Calibrator>,
    since: usize,
}

impl OnlineCalibration {
    fn push(&mut self, s: f64) {
        if self.history.len() == self.cap {
            self.history.pop_front();
        }
        self.history.push_back(s);
        self.since += 1;
        // Refit at every sample while the history is short (cheap, and the cold
        // start needs it), then once a minute at 5 s sampling.
        if self.history.len() < 60 {
            // 60 scores (5 more minutes at 5 s) before the baseline's tail is trusted.
            return;
        }
        if self.history.len() <= 200 || self.since >= 12 {
            let v: Vec<f64> = self.history.iter().copied().collect();
            self.cal = Calibrator::fit(&v);
            self.since = 0;
        }
    }
}

/// Streaming scorer: feature state, rolling baseline and the installed model.
#[derive(Debug, Clone)]
pub struct EnsembleScorer {
    members: Members,
    feats: FeatureState,
    baseline: RollingBaseline,
    online: OnlineCalibration,
    model: Option<Arc<TrainedModel>>,
    imputed: Vec<f64>,
    fraw: Vec<f64>,
    z: Vec<f64>,
    base_z: Vec<f64>,
    t_buf: Vec<f64>,
    /// Training medians, to impute metrics never observed yet.
    fallback: Option<Vec<f64>>,
    last: Option<StepScores>,
}

impl EnsembleScorer {
    pub fn new(n_metrics: usize, members: Members, baseline: BaselineParams) -> Self {
        let nf = n_metrics * features::KINDS.len();
        Self {
            members,
            feats: FeatureState::new(n_metrics),
            baseline: RollingBaseline::new(n_metrics, baseline),
            online: OnlineCalibration {
                history: VecDeque::new(),
                cap: 17_280,
                cal: None,
                since: 0,
            },
            model: None,
            imputed: vec![0.0; n_metrics],
            fraw: vec![0.0; nf],
            z: vec![0.0; nf],
            base_z: vec![0.0; n_metrics],
            t_buf: Vec::new(),
            fallback: None,
            last: None,
        }
    }

    /// Per-metric smallest scale for the rolling baseline (`features::unit_floor`).
    pub fn set_floors(&mut self, floors: Vec<f64>) {
        self.baseline.set_floors(floors);
    }

    pub fn n_metrics(&self) -> usize {
        self.imputed.len()
    }
    pub fn model(&self) -> Option<&Arc<TrainedModel>> {
        self.model.as_ref()
    }
    pub fn baseline_ready(&self) -> bool {
        self.baseline.ready()
    }
    pub fn set_members(&mut self, m: Members) {
        self.members = m;
    }
    pub fn members(&self) -> Members {
        self.members
    }

    /// Hot swap; the feature state and rolling baseline carry on.
    pub fn install_model(&mut self, model: Arc<TrainedModel>) -> Result<(), DetectError> {
        model.validate()?;
        if model.metrics.len() != self.n_metrics() {
            return Err(DetectError::Shape {
                expected: self.n_metrics(),
                got: model.metrics.len(),
            });
        }
        self.t_buf = vec![0.0; model.pca.as_ref().map_or(0, |p| p.k)];
        self.fallback = Some(model.bands.iter().map(|b| b.median).collect());
        self.baseline
            .set_surprise(&model.calibration.baseline_surprise);
        self.model = Some(model);
        Ok(())
    }

    /// Scores one raw row (NaN = missing) at stream time `ts`. None until some member
    /// can score. `learn`: the row joins the rolling baseline's window (false while an
    /// event is open and not accepted as the new normal: see [`RollingBaseline::observe`]).
    pub fn step(&mut self, ts: TimestampMs, raw: &[f64], learn: bool) -> Option<StepScores> {
        self.feats.push(
            raw,
            self.fallback.as_deref(),
            &mut self.imputed,
            &mut self.fraw,
        );
        let base_raw = self
            .baseline
            .observe(ts, &self.imputed, &mut self.base_z, learn);
        let mut members = Vec::with_capacity(3);
        if self.members.baseline {
            if let Some(s) = base_raw {
                let model_cal = self
                    .model
                    .as_ref()
                    .and_then(|m| m.calibration.baseline.as_ref());
                let c = model_cal
                    .or(self.online.cal.as_ref())
                    .map(|c| c.surprise(s));
                if model_cal.is_none() && learn {
                    // Only needed until a model brings a trained calibrator (refits
                    // sort the history: keep them off the trained hot path).
                    self.online.push(s);
                }
                if let Some(c) = c {
                    members.push(MemberScore {
                        member: "baseline".into(),
                        score: c,
                    });
                }
            }
        }
        if let Some(m) = self.model.clone() {
            m.normalizer.apply(&self.fraw, &mut self.z);
            if self.members.forest {
                if let (Some(f), Some(c)) = (&m.forest, &m.calibration.forest) {
                    members.push(MemberScore {
                        member: "forest".into(),
                        score: c.surprise(f.score_row(&self.z)),
                    });
                }
            }
            if self.members.pca {
                if let (Some(p), Some(c)) = (&m.pca, &m.calibration.pca) {
                    let s = p.score(&self.z, &mut self.t_buf, None, None);
                    members.push(MemberScore {
                        member: "pca".into(),
                        score: c.surprise(s),
                    });
                }
            }
        }
        if members.is_empty() {
            self.last = None;
            return None;
        }
        let cal: Vec<f64> = members.iter().map(|m| m.score).collect();
        let out = StepScores {
            combined: combine(&cal),
            members,
        };
        self.last = Some(out.clone());
        Some(out)
    }

    /// Restarts the rolling baseline from `rows` (see [`RollingBaseline::rebase`]).
    pub fn rebase<'a>(&mut self, rows: impl IntoIterator<Item = (TimestampMs, &'a [f64])>) {
        self.baseline.rebase(rows);
    }

    /// The current normal band of metric `m`: the model's (1st..99th percentile of
    /// training), else the rolling baseline's.
    pub fn band(&self, m: usize) -> (f64, f64) {
        match &self.model {
            Some(model) => (model.bands[m].low, model.bands[m].high),
            None => self.baseline.band(m),
        }
    }

    /// The imputed raw values of the last step.
    pub fn last_values(&self) -> &[f64] {
        &self.imputed
    }

    /// Per-metric attribution of the last step, top `k` by share, with values and
    /// normal bands. Each member's per-metric attribution is normalised to sum 1 and
    /// weighted by its surprise -ln(p) (a member that is sure counts more).
    pub fn explain(&self, k: usize, names: &[String]) -> Vec<MetricContribution> {
        let Some(last) = &self.last else {
            return vec![];
        };
        let nm = self.n_metrics();
        let mut total = vec![0.0; nm];
        let mut add = |per_metric: &[f64], surprise: f64| {
            let sum: f64 = per_metric.iter().sum();
            if sum > 0.0 && sum.is_finite() {
                let w = surprise.max(0.0);
                for (t, v) in total.iter_mut().zip(per_metric) {
                    *t += w * v / sum;
                }
            }
        };
        let by_metric = |per_feature: &[f64]| {
            let mut v = vec![0.0; nm];
            for (j, x) in per_feature.iter().enumerate() {
                v[features::metric_of(j)] += x;
            }
            v
        };
        for ms in &last.members {
            match ms.member.as_str() {
                "baseline" => add(&self.base_z, ms.score),
                "forest" => {
                    if let Some(f) = self.model.as_ref().and_then(|m| m.forest.as_ref()) {
                        let mut a = vec![0.0; self.z.len()];
                        f.attribution(&self.z, &mut a);
                        add(&by_metric(&a), ms.score);
                    }
                }
                "pca" => {
                    if let Some(p) = self.model.as_ref().and_then(|m| m.pca.as_ref()) {
                        let mut t = vec![0.0; p.k];
                        let mut c = vec![0.0; self.z.len()];
                        p.score(&self.z, &mut t, Some(&mut c), None);
                        add(&by_metric(&c), ms.score);
                    }
                }
                _ => {}
            }
        }
        let sum: f64 = total.iter().sum();
        let mut order: Vec<usize> = (0..nm).collect();
        order.sort_by(|&a, &b| total[b].total_cmp(&total[a]));
        order
            .into_iter()
            .take(k)
            .filter(|&m| total[m] > 0.0)
            .map(|m| {
                let (lo, hi) = self.band(m);
                MetricContribution {
                    metric: names.get(m).cloned().unwrap_or_else(|| format!("m{m}")),
                    value: self.imputed[m],
                    normal_low: lo,
                    normal_high: hi,
                    contribution: if sum > 0.0 { total[m] / sum } else { 0.0 },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_maps_training_scores_to_uniform() {
        // Skewed raw scores (exponential-ish): calibrated ones should be ~U(0, 1).
        let raw: Vec<f64> = (1..=5000).map(|i| -((i as f64) / 5001.0).ln()).collect();
        let c = Calibrator::fit(&raw).unwrap();
        let cal: Vec<f64> = raw.iter().map(|s| c.cdf(*s)).collect();
        for q in [0.1, 0.25, 0.5, 0.75, 0.9] {
            let share = cal.iter().filter(|v| **v <= q).count() as f64 / cal.len() as f64;
            assert!((share - q).abs() < 0.02, "P(cal <= {q}) = {share}");
        }
        // Tail: above anything seen it keeps growing towards 1, never past it.
        let max = raw.iter().cloned().fold(0.0, f64::max);
        assert!(c.cdf(max) > 0.99 && c.cdf(max) < 1.0);
        assert!(c.cdf(max + 5.0) > c.cdf(max));
        assert!(c.cdf(1e300) <= 1.0);
        assert_eq!(c.cdf(-1.0), 0.0);
    }

    #[test]
    fn plateaus_get_mid_rank() {
        let mut raw = vec![0.0; 900];
        raw.extend((0..100).map(|i| i as f64));
        let c = Calibrator::fit(&raw).unwrap();
        let p0 = c.cdf(0.0);
        assert!(p0 > 0.3 && p0 < 0.6, "{p0}");
    }

    /// 3 metrics of noise with a 40-row incident (metric 0 jumps to 30) at rows 500..540.
    fn rows_with_incident() -> Vec<(TimestampMs, Vec<f64>)> {
        let mut x: u64 = 7;
        let mut noise = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        (0..1000)
            .map(|i| {
                let jump = if (500..540).contains(&i) { 30.0 } else { 0.0 };
                (
                    i as TimestampMs * 1000,
                    vec![10.0 + noise() + jump, 5.0 + noise(), 20.0 + noise()],
                )
            })
            .collect()
    }

    #[test]
    fn past_incidents_are_left_out_of_training_unless_expected() {
        let rows = rows_with_incident();
        let incident = [(500_000, 539_000)];
        let score_of = |model: TrainedModel| {
            let mut s = EnsembleScorer::new(3, Members::default(), BaselineParams::default());
            for (t, r) in &rows[..900] {
                s.step(*t, r, true);
            }
            s.install_model(Arc::new(model)).unwrap();
            let mut out = StepScores {
                combined: 0.0,
                members: vec![],
            };
            for k in 0..3 {
                out = s
                    .step(900_000 + k * 1000, &[40.0, 5.0, 20.0], true)
                    .unwrap();
            }
            out.combined
        };
        let p = TrainParams::default();
        let learnt = train(&rows, &[], &p).unwrap();
        let trimmed = train_excluding(&rows, &[], &incident, &p).unwrap();
        assert!(trimmed.warnings.is_empty(), "{:?}", trimmed.warnings);
        let (a, b) = (score_of(learnt), score_of(trimmed));
        assert!(
            a < 2.3 && b > 3.0,
            "a repeat of the incident is flagged only when it was trimmed: {a} vs {b}"
        );
        // An interval marked expected is learnt as normal whatever `anomalous` says.
        let exp = [ExpectedInterval {
            start: 500_000,
            end: 539_000,
            metrics: vec![],
        }];
        let kept = train_excluding(&rows, &exp, &incident, &p).unwrap();
        assert!(score_of(kept) < 2.3);
        // Over the cap, nothing is left out and the model says why.
        let all = [(0, 999_000)];
        let capped = train_excluding(&rows, &[], &all, &p).unwrap();
        assert!(
            capped.warnings.iter().any(|w| w.contains("kept")),
            "{:?}",
            capped.warnings
        );
    }

    #[test]
    fn combination_is_bonferroni_min_p() {
        // p = 0.001, 0.5, 0.8: 3 * 0.001 = 0.003 -> surprise -log10(0.003).
        let s = |p: f64| -p.log10();
        assert!((combine(&[s(0.001), s(0.5), s(0.8)]) - s(0.003)).abs() < 1e-12);
        assert_eq!(combine(&[s(0.9), s(0.8)]), 0.0);
        assert_eq!(combine(&[]), 0.0);
        assert!((combine(&[2.0]) - 2.0).abs() < 1e-12);
        assert!((surprise_from_setting(0.999) - 3.0).abs() < 1e-9);
        assert_eq!(surprise_from_setting(4.0), 4.0);
    }

    #[test]
    fn surprise_keeps_growing_past_anything_seen() {
        let raw: Vec<f64> = (1..=5000).map(|i| -((i as f64) / 5001.0).ln()).collect();
        let c = Calibrator::fit(&raw).unwrap();
        let max = raw.iter().cloned().fold(0.0, f64::max);
        let (a, b, far) = (c.surprise(max), c.surprise(max + 5.0), c.surprise(1e6));
        assert!(a > 3.0 && b > a && far > b, "{a} {b} {far}");
        assert!(
            far.is_finite() && far > 1e4,
            "no cap but floating point: {far}"
        );
        // Continuous where the body meets the tail, and 0 at the bottom.
        let u = c.tail_u;
        assert!((c.surprise(u - 1e-9) - c.surprise(u)).abs() < 1e-3);
        assert_eq!(c.surprise(-1.0), 0.0);
    }
}
