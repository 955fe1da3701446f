//! What the model panel and `/api/model` show of a detector.

use super::{DetectorState, LiveDetector, Phase, DAILY_PATTERN_LEARNT};

impl LiveDetector {
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
        let daily_pattern = self.scorer.daily_pattern();
        if daily_pattern {
            active.push("seasonal".to_string());
        }
        let mut rhythms = self.rhythms.clone();
        if daily_pattern {
            rhythms.insert(0, DAILY_PATTERN_LEARNT.to_string());
        }
        let message = match model {
            Some(m) => format!(
                "trained at {}, on {} samples (v{})",
                crate::alert::render::format_time(m.trained_at),
                m.samples,
                m.version
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
            trained_samples: model.map(|m| m.samples as u64),
            active_members: active,
            threshold: self.tracker.threshold(),
            adapt_after_secs: self.config.adapt_after_secs,
            adaptations: self.adaptations,
            rhythms,
            daily_pattern,
            message,
        }
    }
}
