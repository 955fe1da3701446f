//! Anomaly detection: windowed features, an Isolation Forest / PCA / robust-baseline
//! ensemble, calibration, live events with explanations, versioned model files,
//! offline CSV scoring and NAB-style evaluation.
//!
//! Everything here is pure CPU work on plain structs: no I/O except the registry
//! (model files), the CSV reader/writer and the evaluation reader. The server owns
//! persistence, scheduling and threads (run [`train`] inside `spawn_blocking`).
//!
//! # API for the server and the CLI
//!
//! Live scoring (one object per host):
//! - [`LiveDetector::new`]`(LiveConfig) -> LiveDetector`
//! - [`LiveDetector::observe`]`(&mut self, ts: TimestampMs, scalars: &[f64], top_cpu: &[ProcessInfo], top_memory: &[ProcessInfo]) -> LiveOutcome`
//! - [`LiveDetector::state`]`(&self) -> DetectorState` (learning "14 of 60 minutes", trained at, ...)
//! - [`LiveDetector::training_due`]`(&self) -> bool` (stream-time schedule), [`LiveDetector::begin_training`]`(&mut self) -> TrainingPlan`
//! - [`LiveDetector::install_model`]`(&mut self, Arc<TrainedModel>)` (hot swap)
//! - [`LiveDetector::mark_expected`]`(&mut self, &AnomalyEvent)` (feedback)
//! - [`LiveDetector::set_sensitivity`]`(&mut self, Sensitivity)`
//!
//! Training (pure, blocking; call from `spawn_blocking`):
//! - [`train`]`(rows: &[(TimestampMs, Vec<f64>)], expected: &[ExpectedInterval], params: &TrainParams) -> Result<TrainedModel, DetectError>`
//!
//! Model files:
//! - [`ModelRegistry::open`]`(dir, keep_k) -> Result<ModelRegistry, DetectError>`
//! - [`ModelRegistry::save`]`(&self, &mut TrainedModel) -> Result<u64, DetectError>` (assigns the version)
//! - [`ModelRegistry::list`]`(&self) -> (Vec<ModelInfo>, Vec<String>)` (warnings for unreadable files)
//! - [`ModelRegistry::load`]`(&self, version) -> Result<TrainedModel, DetectError>`
//! - [`ModelRegistry::load_newest_valid`]`(&self) -> (Option<TrainedModel>, Vec<String>)`
//! - [`ModelRegistry::rollback`]`(&self, to_version) -> Result<TrainedModel, DetectError>`
//!
//! Offline:
//! - [`run_detect`]`(train: Option<impl Read>, input: impl Read, output: impl Write) -> Result<DetectSummary, CsvError>`
//!   (the same [`LiveDetector`] pipeline; `CsvError::line` gives the 1-based line number; the CLI exits 2 on `Err`)
//! - [`run_eval_with`]`(data_dir: &Path, labels_json: &Path, mode: EvalMode, protocol: Protocol) -> Result<EvalReport, EvalError>`
//!   (`EvalReport: Display` prints the table)
//!
//! Building blocks (usable on their own, with linfa's `Fit` / `Predict`):
//! [`forest::IsolationForestParams`], [`forest::IsolationForest`], [`pca::PcaModel`],
//! [`features`], [`baseline::RollingBaseline`], [`ensemble::Calibrator`], [`events::EventTracker`].

pub mod baseline;
pub mod causes;
pub mod csv;
pub mod ensemble;
pub mod eval;
pub mod events;
pub mod features;
pub mod forest;
pub mod live;
pub mod narrow;
pub mod onset;
pub mod pca;
pub mod registry;
pub mod seasonal;
#[cfg(test)]
mod seasonal_tests;
pub mod stored;
pub mod timeparse;

pub use self::csv::{run_detect, run_detect_with, CsvError, DetectOptions, DetectSummary};
pub use ensemble::surprise_from_setting;
pub use ensemble::{train, train_excluding, ExpectedInterval, Members, TrainParams, TrainedModel};
pub use eval::{run_eval, run_eval_with, EvalError, EvalMode, EvalReport, Protocol};
pub use events::{EventParams, Sensitivity};
pub use live::{DetectorState, LiveConfig, LiveDetector, LiveOutcome, Phase, TrainingPlan};
pub use registry::{ModelInfo, ModelRegistry};
pub use seasonal::{HistoryRequest, ProfileHistory, SlotSummary};
pub use stored::{seasonal_history, train_from_store, TrainFromStoreError};

/// Errors of training, model loading and parameter validation.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("not enough training data: {0}")]
    NotEnoughData(String),
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    #[error("expected {expected} features, got {got}")]
    Shape { expected: usize, got: usize },
    #[error("linfa: {0}")]
    Linfa(#[from] linfa::Error),
    #[error("PCA: {0}")]
    Pca(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("model file: {0}")]
    Format(String),
}
