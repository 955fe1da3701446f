//! The anomaly detector's state and settings (`GET /api/model`,
//! `POST /api/model/train`, `POST /api/model/sensitivity`).
//!
//! `ModelState` is the engine's own `lookout::detect::DetectorState`. `ModelInfo` holds more
//! (paths, trained arrays); these are what the API sends, field for field the same
//! JSON (the server converts, and its tests check the round trip).

use super::{ApiBody, TimestampMs};
use serde::{Deserialize, Serialize};

/// `GET /api/model`: `{"enabled": false}` with detection off, else the detector's state,
/// sensitivity, training status and stored model versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(from = "ModelReportFields")]
pub struct ModelReport {
    pub enabled: bool,
    /// Absent (not null) when detection is off.
    #[serde(flatten)]
    pub detector: Option<DetectorReport>,
}

/// `ModelReport` as read: the detector's fields beside `enabled`, as `flatten` writes
/// them, but read as plain fields. A `flatten` field is read by buffering the whole map
/// in serde's `Content` and reading every type under it a second time from there, which
/// put a second copy of these types' deserialisers in the dashboard's wasm. Same JSON:
/// the detector is present only when all its fields are (a flattened `Option` reads as
/// `None` otherwise). Every reader of the JSON (serde here, the dashboard's wire
/// reader) fills this and converts.
#[derive(Debug, Deserialize)]
pub struct ModelReportFields {
    pub enabled: bool,
    pub state: Option<ModelState>,
    pub sensitivity: Option<String>,
    pub training: Option<TrainingStatus>,
    pub versions: Option<Vec<ModelVersion>>,
    pub warnings: Option<Vec<String>>,
}

impl From<ModelReportFields> for ModelReport {
    fn from(f: ModelReportFields) -> Self {
        let detector = match (f.state, f.sensitivity, f.training, f.versions, f.warnings) {
            (Some(state), Some(sensitivity), Some(training), Some(versions), Some(warnings)) => {
                Some(DetectorReport {
                    state,
                    sensitivity,
                    training,
                    versions,
                    warnings,
                })
            }
            _ => None,
        };
        ModelReport {
            enabled: f.enabled,
            detector,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorReport {
    pub state: ModelState,
    /// "low", "medium", "high" or a surprise threshold such as "3.5".
    pub sensitivity: String,
    pub training: TrainingStatus,
    pub versions: Vec<ModelVersion>,
    /// Stored versions that could not be read.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelPhase {
    /// Not even the baseline scores yet.
    #[default]
    Warmup,
    /// Baseline scores; forest and PCA wait for history or training.
    Learning,
    /// A trained model is installed.
    Trained,
}

impl ModelPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelPhase::Warmup => "warmup",
            ModelPhase::Learning => "learning",
            ModelPhase::Trained => "trained",
        }
    }
}

/// The live detector's state (`lookout::detect::DetectorState` is this type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ModelState {
    pub phase: ModelPhase,
    pub baseline_ready: bool,
    pub history_secs: i64,
    pub required_secs: i64,
    pub model_version: Option<u64>,
    pub trained_at: Option<TimestampMs>,
    pub trained_samples: Option<u64>,
    pub active_members: Vec<String>,
    /// The event threshold, as a surprise (-log10 of a per-sample probability).
    pub threshold: f64,
    /// A steady change lasts this long before it is the new normal.
    #[serde(default)]
    pub adapt_after_secs: i64,
    /// Changes accepted as the new normal since start.
    #[serde(default)]
    pub adaptations: u64,
    /// Rhythms learnt from recurring events ("daily pattern learnt: ... at 02:00 UTC").
    #[serde(default)]
    pub rhythms: Vec<String>,
    /// The seasonal member has detected a daily rhythm in the metrics and learnt its
    /// time-of-day profile (then `rhythms` starts with "daily pattern learnt").
    #[serde(default)]
    pub daily_pattern: bool,
    /// "learning: 14 of 60 minutes" / "trained at ..., on N samples (v3)".
    pub message: String,
}

/// What `/api/model` shows besides the detector's own state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TrainingStatus {
    pub training: bool,
    pub last_error: Option<String>,
    pub last_trained_at: Option<TimestampMs>,
    pub next_training_at: Option<TimestampMs>,
}

/// Metadata of one stored model version (the engine's `ModelInfo`); also the answer
/// of `POST /api/model/train`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ModelVersion {
    pub version: u64,
    pub path: String,
    pub format_version: u32,
    pub trained_at: TimestampMs,
    /// `[from, to]` of the training data.
    pub window: (TimestampMs, TimestampMs),
    pub samples: u64,
    pub members: Vec<String>,
    pub features: u64,
    pub rolled_back_from: Option<u64>,
    /// Free-form on purpose: the evaluation report `lookout model train` attaches
    /// (its keys belong to the evaluation, not to this API); null when none.
    pub eval: Option<serde_json::Value>,
}

/// `POST /api/model/train`: an empty object (the server reads no body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TrainRequest {}

impl ApiBody for TrainRequest {
    fn example() -> Self {
        TrainRequest {}
    }
}

/// `POST /api/model/sensitivity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensitivityRequest {
    pub sensitivity: SensitivityValue,
}

/// A level name, or a threshold as a JSON number or a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SensitivityValue {
    Text(String),
    Number(f64),
}

impl SensitivityValue {
    /// The text `Sensitivity::parse` reads.
    pub fn text(&self) -> String {
        match self {
            SensitivityValue::Text(t) => t.clone(),
            SensitivityValue::Number(n) => n.to_string(),
        }
    }
}

/// The answer of `POST /api/model/sensitivity`: the level now in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SensitivityResponse {
    pub sensitivity: String,
    pub threshold: f64,
}

impl ApiBody for ModelVersion {
    fn example() -> Self {
        ModelVersion {
            version: 3,
            path: "/var/lib/lookout/models/v3.json".into(),
            format_version: 2,
            trained_at: 1_764_085_000_000,
            window: (1_763_480_200_000, 1_764_085_000_000),
            samples: 2048,
            members: vec!["baseline".into(), "forest".into(), "pca".into()],
            features: 24,
            rolled_back_from: None,
            eval: None,
        }
    }
}

impl ApiBody for ModelReport {
    fn example() -> Self {
        ModelReport {
            enabled: true,
            detector: Some(DetectorReport {
                state: ModelState {
                    phase: ModelPhase::Trained,
                    baseline_ready: true,
                    history_secs: 604_800,
                    required_secs: 3600,
                    model_version: Some(3),
                    trained_at: Some(1_764_085_000_000),
                    trained_samples: Some(2048),
                    active_members: vec!["baseline".into(), "forest".into(), "pca".into()],
                    threshold: 3.0,
                    adapt_after_secs: 1800,
                    adaptations: 0,
                    rhythms: vec![
                        "daily pattern learnt (time-of-day profile)".into(),
                        "daily pattern learnt: disk_write_bytes_per_sec at 02:00 UTC".into(),
                    ],
                    daily_pattern: true,
                    message: "trained at 2026-11-25 15:36:40 UTC, on 2048 samples (v3)".into(),
                },
                sensitivity: "medium".into(),
                training: TrainingStatus {
                    training: false,
                    last_error: None,
                    last_trained_at: Some(1_764_085_000_000),
                    next_training_at: Some(1_764_171_400_000),
                },
                versions: vec![ModelVersion::example()],
                warnings: vec!["cannot read v1.json: unsupported format".into()],
            }),
        }
    }
}

impl ApiBody for SensitivityRequest {
    fn example() -> Self {
        SensitivityRequest {
            sensitivity: SensitivityValue::Text("high".into()),
        }
    }
}

impl ApiBody for SensitivityResponse {
    fn example() -> Self {
        SensitivityResponse {
            sensitivity: "high".into(),
            threshold: 2.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ModelReportFields` reads what the derived writer writes: the detector's fields
    /// beside `enabled`, or only `enabled` with detection off.
    #[test]
    fn model_report_round_trips_with_and_without_detector() {
        let on = ModelReport::example();
        let json = serde_json::to_string(&on).unwrap();
        assert_eq!(serde_json::from_str::<ModelReport>(&json).unwrap(), on);
        let off: ModelReport = serde_json::from_str(r#"{"enabled": false}"#).unwrap();
        assert_eq!(off, ModelReport::default());
        assert_eq!(serde_json::to_string(&off).unwrap(), r#"{"enabled":false}"#);
    }

    #[test]
    fn model_report_without_every_detector_field_has_no_detector() {
        let mut json = serde_json::to_value(ModelReport::example()).unwrap();
        json.as_object_mut().unwrap().remove("training");
        let r: ModelReport = serde_json::from_value(json).unwrap();
        assert!(r.enabled);
        assert_eq!(r.detector, None);
    }
}
