//! [`LiveDetector`]: the object the server feeds with every stored sample.
//!
//! It scores each sample with whatever members can score (the rolling baseline after
//! a few minutes, forest and PCA once a trained model is installed), runs the event
//! logic and builds explanations. It never trains by itself: the server calls
//! [`train`] on a blocking thread (rows from the store, or [`LiveDetector::training_rows`])
//! and hands the result to [`LiveDetector::install_model`].

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::baseline::BaselineParams;
pub use super::ensemble::train;
use super::ensemble::{EnsembleScorer, ExpectedInterval, Members, TrainedModel};
use super::events::{similar, EventParams, EventTracker, Sensitivity};
use super::DetectError;
use crate::model::{AnomalyEvent, AnomalyScore, Explanation, ProcessInfo, TimestampMs, METRICS};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveConfig {
    pub host: String,
    pub members: Members,
    pub sensitivity: Sensitivity,
    pub events: EventParams,
    /// Rolling baseline (window, cold-start samples, refresh), in samples.
    pub baseline: BaselineParams,
    /// History needed before forest and PCA are trained (default 60 min).
    pub min_history_secs: i64,
    /// Rows kept in memory for [`LiveDetector::training_rows`] (default 24 h).
    pub buffer_secs: i64,
    /// Metric names in scalar order (default: `model::METRICS`).
    pub metric_names: Vec<String>,
    pub top_metrics: usize,
    pub top_processes: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            members: Members::default(),
            sensitivity: Sensitivity::Medium,
            events: EventParams::default(),
            baseline: BaselineParams::default(),
            min_history_secs: 3600,
            buffer_secs: 86_400,
            metric_names: METRICS.iter().map(|d| d.name.to_string()).collect(),
            top_metrics: 5,
            top_processes: 5,
        }
    }
}

/// What one sample produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveOutcome {
    /// None during the first minutes (nothing can score yet).
    pub score: Option<AnomalyScore>,
    pub opened: Option<AnomalyEvent>,
    /// The open event has a new peak (store the new peak and explanation).
    pub updated: Option<AnomalyEvent>,
    pub closed: Option<AnomalyEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not even the baseline scores yet.
    Warmup,
    /// Baseline scores; forest and PCA wait for history or training.
    Learning,
    /// A trained model is installed.
    Trained,
}

/// For the UI and `/api/model`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorState {
    pub phase: Phase,
    pub baseline_ready: bool,
    pub history_secs: i64,
    pub required_secs: i64,
    pub model_version: Option<u64>,
    pub trained_at: Option<TimestampMs>,
    pub trained_samples: Option<usize>,
    pub active_members: Vec<String>,
    pub threshold: f64,
    /// "learning: 14 of 60 minutes" / "trained at <ms>, on N samples (v3)".
    pub message: String,
}

pub struct LiveDetector {
    config: LiveConfig,
    scorer: EnsembleScorer,
    tracker: EventTracker,
    first_ts: Option<TimestampMs>,
    last_ts: Option<TimestampMs>,
    buffer: VecDeque<(TimestampMs, Vec<f64>)>,
    expected: Vec<ExpectedInterval>,
    row: Vec<f64>,
}

impl LiveDetector {
    pub fn new(config: LiveConfig) -> Self {
        let n = config.metric_names.len().max(1);
        let tracker = EventTracker::new(
            config.host.clone(),
            config.sensitivity.threshold(),
            config.events.clone(),
        );
        Self {
            scorer: EnsembleScorer::new(n, config.members, config.baseline.clone()),
            tracker,
            first_ts: None,
            last_ts: None,
            buffer: VecDeque::new(),
            expected: Vec::new(),
            row: vec![f64::NAN; n],
            config,
        }
    }

    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    pub fn set_sensitivity(&mut self, s: Sensitivity) {
        self.config.sensitivity = s;
        self.tracker.set_threshold(s.threshold());
    }

    pub fn set_members(&mut self, m: Members) {
        self.config.members = m;
        self.scorer.set_members(m);
    }

    /// Scores one sample. `scalars` are in metric order (missing = NaN; a shorter or
    /// longer row is padded with NaN or cut); `top_cpu` / `top_memory` are the
    /// snapshot's process lists, kept with the explanation if this sample is a peak.
    pub fn observe(
        &mut self,
        ts: TimestampMs,
        scalars: &[f64],
        top_cpu: &[ProcessInfo],
        top_memory: &[ProcessInfo],
    ) -> LiveOutcome {
        for (i, r) in self.row.iter_mut().enumerate() {
            *r = scalars.get(i).copied().unwrap_or(f64::NAN);
        }
        self.first_ts.get_or_insert(ts);
        self.last_ts = Some(ts);
        self.buffer.push_back((ts, self.row.clone()));
        while self
            .buffer
            .front()
            .is_some_and(|(t, _)| ts - *t > self.config.buffer_secs * 1000)
        {
            self.buffer.pop_front();
        }
        let row = std::mem::take(&mut self.row);
        let step = self.scorer.step(&row);
        self.row = row;
        let Some(step) = step else {
            return LiveOutcome::default();
        };
        let threshold = self.tracker.threshold();
        let score = AnomalyScore {
            timestamp: ts,
            combined: step.combined,
            members: step.members,
            anomalous: step.combined > threshold,
        };
        let (scorer, cfg) = (&self.scorer, &self.config);
        let tr = self.tracker.step(ts, step.combined, || Explanation {
            metrics: scorer.explain(cfg.top_metrics, &cfg.metric_names),
            top_cpu: top_cpu.iter().take(cfg.top_processes).cloned().collect(),
            top_memory: top_memory.iter().take(cfg.top_processes).cloned().collect(),
        });
        let mark = |e: Option<AnomalyEvent>| e.map(|e| self.flag_expected(e));
        LiveOutcome {
            score: Some(score),
            opened: mark(tr.opened),
            updated: mark(tr.updated),
            closed: mark(tr.closed),
        }
    }

    fn flag_expected(&self, mut e: AnomalyEvent) -> AnomalyEvent {
        let names: Vec<String> = e
            .explanation
            .metrics
            .iter()
            .map(|m| m.metric.clone())
            .collect();
        let model_expected = self
            .scorer
            .model()
            .map(|m| m.expected.as_slice())
            .unwrap_or(&[]);
        e.expected = self
            .expected
            .iter()
            .chain(model_expected)
            .any(|x| similar(&names, &x.metrics));
        e
    }

    /// Feedback: the admin marked this event expected. Similar events are flagged
    /// `expected` from now on, and [`Self::expected_intervals`] hands the interval to
    /// the next training, which treats it as normal.
    pub fn mark_expected(&mut self, event: &AnomalyEvent) {
        self.expected.push(ExpectedInterval {
            start: event.start,
            end: event.end.unwrap_or(event.peak_at),
            metrics: event
                .explanation
                .metrics
                .iter()
                .map(|m| m.metric.clone())
                .collect(),
        });
    }

    pub fn expected_intervals(&self) -> Vec<ExpectedInterval> {
        self.expected.clone()
    }

    /// Hot swap: later samples are scored with `model`; state carries on.
    pub fn install_model(&mut self, model: Arc<TrainedModel>) -> Result<(), DetectError> {
        self.scorer.install_model(model)
    }

    pub fn model(&self) -> Option<&Arc<TrainedModel>> {
        self.scorer.model()
    }

    fn history_secs(&self) -> i64 {
        match (self.first_ts, self.last_ts) {
            (Some(a), Some(b)) => (b - a) / 1000,
            _ => 0,
        }
    }

    /// No model yet and enough history for the first training.
    pub fn needs_training(&self) -> bool {
        self.scorer.model().is_none() && self.history_secs() >= self.config.min_history_secs
    }

    /// The rows kept in memory (up to `buffer_secs`), oldest first, for [`train`].
    pub fn training_rows(&self) -> Vec<(TimestampMs, Vec<f64>)> {
        self.buffer.iter().cloned().collect()
    }

    pub fn state(&self) -> DetectorState {
        let model = self.scorer.model();
        let baseline_ready = self.scorer.baseline_ready();
        let phase = if model.is_some() {
            Phase::Trained
        } else if baseline_ready {
            Phase::Learning
        } else {
            Phase::Warmup
        };
        let history = self.history_secs();
        let mut active = vec![];
        if self.config.members.baseline && baseline_ready {
            active.push("baseline".to_string());
        }
        if let Some(m) = model {
            active.extend(
                m.member_names()
                    .into_iter()
                    .filter(|n| *n != "baseline")
                    .filter(|n| {
                        (*n == "forest" && self.config.members.forest)
                            || (*n == "pca" && self.config.members.pca)
                    })
                    .map(String::from),
            );
        }
        let message = match model {
            Some(m) => format!(
                "trained at {}, on {} samples (v{})",
                m.trained_at, m.samples, m.version
            ),
            None => format!(
                "learning: {} of {} minutes",
                (history / 60).min(self.config.min_history_secs / 60),
                self.config.min_history_secs / 60
            ),
        };
        DetectorState {
            phase,
            baseline_ready,
            history_secs: history,
            required_secs: self.config.min_history_secs,
            model_version: model.map(|m| m.version),
            trained_at: model.map(|m| m.trained_at),
            trained_samples: model.map(|m| m.samples),
            active_members: active,
            threshold: self.tracker.threshold(),
            message,
        }
    }

    /// The event currently open, if any.
    pub fn open_event(&self) -> Option<&AnomalyEvent> {
        self.tracker.open_event()
    }
}
