//! Judging a rule on one sample: the one function the state machine and the rule
//! tester share.

use super::{plain, AlertEngine, Judgement, Verdict};
use crate::alert::notification::MetricValue;
use crate::alert::rules::{Rule, RuleKind};
use crate::model::{Snapshot, TimestampMs};

impl AlertEngine {
    /// Judges `rule` (enabled or not, saved or not) on `s` as [`AlertEngine::observe_snapshot`]
    /// would, without changing any state.
    pub fn judge(&self, rule: &Rule, s: &Snapshot) -> Judgement {
        let host = self.host_name(&s.host);
        let value = match &rule.kind {
            RuleKind::Threshold(t) => s.metric(&t.metric),
            RuleKind::Anomaly { .. } => s.anomaly_score,
            RuleKind::Stale { .. } => None,
            RuleKind::Forecast(f) => s.metric(&f.metric),
        };
        let judgeable = match &rule.kind {
            RuleKind::Threshold(_) => value.is_some(),
            RuleKind::Anomaly { .. } => true,
            RuleKind::Stale { .. } => false,
            // Only once samples of its metric are buffered (a saved rule, or one on a
            // metric a saved rule watches).
            RuleKind::Forecast(f) => self.forecast_for(f, &host, s.timestamp).is_some(),
        };
        let verdict = self.judge_sample(rule, &host, s);
        Judgement {
            holds: judgeable.then_some(verdict.enter),
            value,
        }
    }

    pub(super) fn expected_event(&self, host: &str, ts: TimestampMs) -> bool {
        self.hosts
            .get(host)
            .and_then(|h| h.event.as_ref())
            .is_some_and(|e| e.expected && e.start <= ts && e.end.is_none_or(|end| end >= ts))
    }

    pub(super) fn judge_sample(&self, rule: &Rule, host: &str, s: &Snapshot) -> Verdict {
        let expected = self.expected_event(host, s.timestamp);
        let anomalous = s.anomaly && !expected;
        match &rule.kind {
            RuleKind::Anomaly { min_score, .. } => {
                let score = s.anomaly_score.unwrap_or(0.0);
                let sample_hit = min_score.map_or(s.anomaly, |m| score >= m);
                // An open detector event counts too: the event already has hysteresis
                // (opens on 3 of 5 samples, closes after quiet ones), so the alert fires
                // and resolves with the event instead of flapping with single samples.
                let event_hit = self
                    .hosts
                    .get(host)
                    .and_then(|h| h.event.as_ref())
                    .is_some_and(|e| {
                        e.end.is_none()
                            && !e.expected
                            && s.timestamp >= e.start
                            && min_score.is_none_or(|m| e.peak_score >= m)
                    });
                let hit = !expected && (sample_hit || event_hit);
                Verdict {
                    forecast: None,
                    enter: hit,
                    clear: !hit,
                    values: vec![plain("anomaly_score", score)],
                }
            }
            RuleKind::Threshold(t) => {
                let Some(v) = s.metric(&t.metric) else {
                    return Verdict {
                        forecast: None,
                        enter: false,
                        clear: true,
                        values: Vec::new(),
                    };
                };
                let gate = !t.and_anomalous || anomalous;
                let band = self.band(host, &t.metric);
                Verdict {
                    forecast: None,
                    enter: gate && t.triggered(v),
                    clear: t.cleared(v) || !gate,
                    values: vec![MetricValue {
                        metric: t.metric.clone(),
                        value: v,
                        threshold: Some(t.value),
                        normal_low: band.map(|b| b.0),
                        normal_high: band.map(|b| b.1),
                    }],
                }
            }
            RuleKind::Forecast(f) => {
                let key = (rule.describe(), host.to_string());
                let fc = match self.forecasts.get(&key) {
                    Some((m, fc)) if *m == s.timestamp.div_euclid(60_000) => fc.clone(),
                    _ => self.forecast_for(f, host, s.timestamp),
                };
                let hit = fc.as_ref().is_some_and(|fc| {
                    fc.status == crate::model::ForecastStatus::Reaches && fc.within_horizon
                });
                Verdict {
                    forecast: fc.as_ref().map(crate::forecast::describe),
                    enter: hit,
                    clear: !hit,
                    values: s
                        .metric(&f.metric)
                        .map(|v| MetricValue {
                            metric: f.metric.clone(),
                            value: v,
                            threshold: Some(f.value),
                            normal_low: None,
                            normal_high: None,
                        })
                        .into_iter()
                        .collect(),
                }
            }
            // A sample just arrived, so the host is not stale.
            RuleKind::Stale { .. } => Verdict {
                forecast: None,
                enter: false,
                clear: true,
                values: vec![plain("seconds_since_last_sample", 0.0)],
            },
        }
    }

    pub(super) fn band(&self, host: &str, metric: &str) -> Option<(f64, f64)> {
        let e = self.hosts.get(host)?.event.as_ref()?;
        let m = e.explanation.metrics.iter().find(|m| m.metric == metric)?;
        Some((m.normal_low, m.normal_high))
    }
}
