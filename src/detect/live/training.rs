//! The training schedule and what a training reads; the caller trains (or, offline,
//! the detector trains inline on its own buffer).

use std::sync::Arc;

use super::{LiveDetector, TrainingPlan, MIN_TRAINING_ROWS};
use crate::detect::ensemble::{train_excluding, TrainParams, TrainedModel};
use crate::detect::seasonal::{HistoryRequest, SlotSummary};
use crate::detect::DetectError;
use crate::model::TimestampMs;

impl LiveDetector {
    /// Hot swap: later samples are scored with `model`; state carries on. A model
    /// loaded at start-up counts as this detector's last training for the schedule.
    pub fn install_model(&mut self, model: Arc<TrainedModel>) -> Result<(), DetectError> {
        let at = model.trained_at;
        self.scorer.install_model(model)?;
        self.trained_at_ts.get_or_insert(at);
        Ok(())
    }

    /// The stored history the seasonal profile wants read now, when it is due (see
    /// [`LiveConfig::seasonal_loaded`](super::LiveConfig::seasonal_loaded): at the start, at each new day and hourly, in
    /// stream time: the last sample's, or `now` before any).
    pub fn seasonal_load_due(&self, now: TimestampMs) -> Option<HistoryRequest> {
        let at = self.last_ts.unwrap_or(now);
        self.scorer.seasonal().load_due(at)
    }

    /// Hands the seasonal profile the history read for `request` (from
    /// [`Self::seasonal_load_due`]).
    pub fn load_seasonal<'a>(
        &mut self,
        request: &HistoryRequest,
        slots: impl IntoIterator<Item = &'a SlotSummary>,
    ) {
        self.scorer.seasonal_mut().load(request.to, slots);
    }

    pub(super) fn history_secs(&self) -> i64 {
        match (self.first_ts, self.last_ts) {
            (Some(a), Some(b)) => (b - a) / 1000,
            _ => 0,
        }
    }

    /// No model yet and enough history for the first training.
    pub fn needs_training(&self) -> bool {
        self.scorer.model().is_none() && self.history_secs() >= self.config.min_history_secs
    }

    /// Stream time at which the next training is due (None: not before the history
    /// is long enough).
    pub fn next_training_at(&self) -> Option<TimestampMs> {
        let (first, last) = (self.first_ts?, self.last_ts?);
        if self.retrain_now {
            return Some(last);
        }
        let every = self.config.retrain_every_secs.max(1) * 1000;
        match self.trained_at_ts {
            Some(t) => Some(t + every),
            None => Some(first + self.config.min_history_secs * 1000),
        }
    }

    /// Training is due now: the first one once `min_history` has been seen, then
    /// every `retrain_every` of stream time (a failed attempt waits as long), and at
    /// once after a change was accepted as the new normal.
    pub fn training_due(&self) -> bool {
        let (Some(last), Some(next)) = (self.last_ts, self.next_training_at()) else {
            return false;
        };
        if self.config.self_train && self.buffer.len() < TrainParams::default().min_rows {
            return false;
        }
        last >= next
    }

    /// Starts a training: marks the attempt (so it is not due again before
    /// `retrain_every`) and says what to read and how to treat it.
    pub fn begin_training(&mut self) -> TrainingPlan {
        let to = self.last_ts.unwrap_or(0);
        self.trained_at_ts = Some(to);
        self.retrain_now = false;
        let mut expected = self.expected.clone();
        expected.extend(self.adapted.iter().cloned());
        expected.extend(self.rhythmic.iter().cloned());
        let window_from = to - self.config.training_window_secs.saturating_mul(1000);
        // Slowly sampled streams: at least the last MIN_TRAINING_ROWS rows held.
        let rows_from = self
            .buffer
            .len()
            .checked_sub(MIN_TRAINING_ROWS)
            .and_then(|i| self.buffer.get(i))
            .map_or(i64::MIN, |r| r.0);
        let from = if self.config.self_train {
            window_from.min(rows_from.max(self.buffer.front().map_or(window_from, |r| r.0)))
        } else {
            window_from
        };
        TrainingPlan {
            from,
            to,
            expected,
            anomalous: self
                .events
                .iter()
                .map(|&(a, b)| (a, b.unwrap_or(to)))
                .collect(),
            params: TrainParams {
                members: self.config.members,
                metric_names: self.config.metric_names.clone(),
                ..TrainParams::default()
            },
        }
    }

    /// Trains on the buffer now (offline: `lookout detect --train` at the end of the
    /// training file), whatever the schedule; the schedule restarts from here.
    pub fn train_now(&mut self) -> Result<u64, String> {
        self.train_inline()
    }

    pub(super) fn train_inline(&mut self) -> Result<u64, String> {
        let plan = self.begin_training();
        let rows: Vec<(TimestampMs, Vec<f64>)> = self
            .buffer
            .iter()
            .filter(|(t, _)| *t >= plan.from && *t <= plan.to)
            .cloned()
            .collect();
        let mut model = train_excluding(&rows, &plan.expected, &plan.anomalous, &plan.params)
            .map_err(|e| e.to_string())?;
        self.versions += 1;
        model.version = self.versions;
        model.trained_at = plan.to;
        self.install_model(Arc::new(model))
            .map_err(|e| e.to_string())?;
        Ok(self.versions)
    }

    /// The rows kept in memory, oldest first, for [`train`](super::train).
    pub fn training_rows(&self) -> Vec<(TimestampMs, Vec<f64>)> {
        self.buffer.iter().cloned().collect()
    }
}
