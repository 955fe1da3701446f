//! Training parameters and the trained, self-contained model.

use super::*;

/// Which members are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    pub baseline: bool,
    pub forest: bool,
    pub pca: bool,
    /// The time-of-day profile ([`crate::detect::seasonal`]); absent in files written
    /// before it existed (then on).
    #[serde(default = "on")]
    pub seasonal: bool,
}

fn on() -> bool {
    true
}

impl Default for Members {
    fn default() -> Self {
        Self {
            baseline: true,
            forest: true,
            pca: true,
            seasonal: true,
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
    /// Per-metric tail scales of the rolling baseline (`baseline::tail_from_z`);
    /// empty in files written before they existed (then none).
    #[serde(default)]
    pub baseline_tail: Vec<f64>,
    pub forest: Option<Calibrator>,
    pub pca: Option<Calibrator>,
}

/// A trained, self-contained model (what the registry stores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainedModel {
    pub format_version: u32,
    /// Assigned by [`crate::detect::ModelRegistry::save`]; 0 until saved.
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
        if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&self.format_version) {
            return Err(DetectError::Format(format!(
                "format version {} (this build reads {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION})",
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
        // Per-metric divisors of the baseline: none (older files), or one >= 1 a metric.
        for (list, what) in [
            (
                &self.calibration.baseline_surprise,
                "baseline surprise list",
            ),
            (&self.calibration.baseline_tail, "baseline tail list"),
        ] {
            if !list.is_empty()
                && (list.len() != self.metrics.len() || list.iter().any(|v| v.is_nan() || *v < 1.0))
            {
                return Err(DetectError::Format(what.into()));
            }
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
