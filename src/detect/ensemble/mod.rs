//! The ensemble: training, calibration, streaming scoring and attribution.
//!
//! Members (each can be switched off):
//! - `baseline`: rolling median/MAD per raw metric ([`super::baseline`]), scores from
//!   the first minutes on;
//! - `forest`: Isolation Forest over normalised windowed features;
//! - `pca`: probabilistic-PCA distance over the same features;
//! - `seasonal`: a time-of-day profile ([`super::seasonal`]) that, once a daily rhythm
//!   is detected, caps the surprise of samples seen at this time on earlier days.
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
//!
//! **Corroboration.** [`corroborate`] is the surprise at least two members vouch for
//! (the second-highest, minus log10(m / 2)); [`corroborate_lagged`] lets two members
//! vouch one sample apart (each member's higher surprise of this sample and the one
//! before, corrected by log10(m w / 2), w = 2). The alarm score reads it outside events
//! (see [`super::onset`] and docs/detection.md); events and the stored score keep the
//! min-p combination, so a fault one member alone sees still opens an event.
//!
//! Files: `calibrate` (score -> surprise), `model` (parameters and the trained model),
//! `train` (fitting the members on a window), `score` (the streaming scorer).

use std::collections::VecDeque;
use std::sync::Arc;

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use super::baseline::{BaselineParams, RollingBaseline};
use super::features::{self, quantile_sorted, robust_center_scale, FeatureState, Normalizer};
use super::forest::{IsolationForest, IsolationForestParams};
use super::pca::PcaModel;
use super::seasonal::{SeasonalParams, SeasonalProfile};
use super::DetectError;
use crate::model::{MemberScore, MetricContribution, TimestampMs, METRICS};

mod calibrate;
mod model;
mod score;
#[cfg(test)]
mod tests;
mod train;

pub use calibrate::*;
pub use model::*;
pub use score::*;
pub use train::*;

/// Bumped when the model file layout or the feature definitions change.
/// 2: robust slow EWMA in the features, time-based baseline window.
/// 3: the isolation forest is written as complete trees (session 10, issue 13); version
/// 2 files (forest as an arena) still load, unrolled as a fresh fit would be.
pub const FORMAT_VERSION: u32 = 3;
/// The oldest format version this build reads (see [`FORMAT_VERSION`]).
pub const OLDEST_FORMAT_VERSION: u32 = 2;
pub(crate) const N_QUANTILES: usize = 101;
