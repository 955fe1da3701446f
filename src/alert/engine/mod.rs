//! The alert state machine: rules in, notifications out.
//!
//! Pure and clock-free: every entry point takes `now`, so tests drive hours of alert
//! life in microseconds and the server decides what "now" is. No I/O happens here;
//! the caller puts the returned notifications in the outbox ([`super::outbox`]).
//!
//! Per (rule, host) an alert is `Inactive -> Pending -> Firing -> Inactive`:
//! - Pending: the condition holds but not yet for the rule's `for` duration, or the
//!   (rule, host) is still in its cooldown after the last resolve (anti-flap).
//! - Firing: the first notification waits `group_wait` (a blip shorter than that
//!   sends nothing), then repeats every `repeat_interval` while still firing.
//! - Resolving sends a resolved notification only if a firing one went out.
//!
//! Silences hold notifications back without touching the state machine, so when a
//! silence expires on a still-firing alert its firing notification goes out then.
//! A global rate limit caps messages per window; the excess is summarised in one
//! digest so a storm costs a handful of messages, not hundreds.
//!
//! Inhibition ([`super::inhibit`]) works like a silence that lasts while a source
//! alert fires: the target's notifications (firing, repeats, resolve) are held back,
//! it stays listed as inhibited, and one `inhibited` history entry records it. When
//! the source resolves, a target still firing is notified then.
//!
//! Files: the state machine here; `judge` (a rule on one sample), `deliver` (from a
//! firing alert to a notification), `forecast` (forecast rules' trends).

use super::inhibit::InhibitRule;
use super::notification::{DigestEntry, MetricValue, Notification, NotificationKind, Silence};
use super::rules::{Rule, RuleKind};
use crate::forecast::buffer::MinuteBuffer;
pub use crate::model::alerts::ActiveAlert;
use crate::model::{AnomalyEvent, Explanation, Snapshot, TimestampMs};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

mod deliver;
mod forecast;
mod judge;

/// Timing and limits shared by all rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineSettings {
    /// Host name used for snapshots whose `host` is empty.
    pub host: String,
    /// Base URL of the dashboard, for links in messages.
    pub dashboard_url: String,
    pub group_wait_ms: i64,
    pub repeat_interval_ms: i64,
    pub cooldown_ms: i64,
    /// At most `rate_limit_max` notifications per `rate_limit_window_ms`.
    pub rate_limit_max: usize,
    pub rate_limit_window_ms: i64,
    /// Sampling interval assumed by staleness rules until a snapshot reports one.
    pub sample_interval_ms: i64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            host: "localhost".into(),
            dashboard_url: "http://127.0.0.1:3000".into(),
            group_wait_ms: 30_000,
            repeat_interval_ms: 4 * 3_600_000,
            cooldown_ms: 5 * 60_000,
            rate_limit_max: 20,
            rate_limit_window_ms: 10 * 60_000,
            sample_interval_ms: 5_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Phase {
    Inactive,
    Pending {
        since: TimestampMs,
    },
    Firing {
        fired_at: TimestampMs,
        notified_at: Option<TimestampMs>,
        repeats: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AlertState {
    phase: Phase,
    resolved_at: Option<TimestampMs>,
    values: Vec<MetricValue>,
    explanation: Option<Explanation>,
    /// `fired_at` of the firing for which an `inhibited` history entry was written
    /// (one per firing, not one per tick).
    #[serde(default)]
    inhibition_noted: Option<TimestampMs>,
    /// Forecast rules: the latest forecast in words.
    #[serde(default)]
    forecast: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct HostState {
    last_seen: TimestampMs,
    interval_ms: i64,
    anomalous: bool,
    score: Option<f64>,
    /// The latest anomaly event the detector reported for this host.
    event: Option<AnomalyEvent>,
}

/// The engine's state that must survive a restart, so an alert already notified
/// is not announced again as new (see [`AlertEngine::export_state`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PersistedState {
    alerts: Vec<((String, String), AlertState)>,
    sent: Vec<TimestampMs>,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct AlertEngine {
    settings: EngineSettings,
    rules: Vec<Rule>,
    inhibit: Vec<InhibitRule>,
    silences: Vec<Silence>,
    alerts: BTreeMap<(String, String), AlertState>,
    hosts: BTreeMap<String, HostState>,
    /// Send times inside the rate-limit window.
    sent: VecDeque<TimestampMs>,
    held: Vec<DigestEntry>,
    held_since: Option<TimestampMs>,
    last_digest_at: Option<TimestampMs>,
    /// Per (host, metric): minute means for forecast rules (not persisted: the
    /// server seeds them from the store at start, [`AlertEngine::seed_trend`]).
    trends: BTreeMap<(String, String), MinuteBuffer>,
    /// (host, metric) buffers given their stored history, with the lookback read.
    seeded: BTreeMap<(String, String), i64>,
    /// Per (rule condition, host): the minute of the last forecast and the forecast.
    /// A trend over hours does not change within a minute, and a forecast costs about
    /// a millisecond, so at 1 s sampling it is worked out once a minute.
    forecasts: BTreeMap<(String, String), (i64, Option<crate::forecast::Forecast>)>,
}

/// What a rule says about one sample, judged exactly as the state machine judges it
/// (expected anomaly events masked, an open detector event counted): the rule tester
/// asks this, so "would fire now" cannot disagree with what fires.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Whether the condition holds now (before `for`); None when the sample does not
    /// carry what the rule reads (a metric it lacks, a stale rule).
    pub holds: Option<bool>,
    /// The value the rule reads: the metric, or the anomaly score.
    pub value: Option<f64>,
}

/// A rule's verdict on one host: `enter` starts/keeps a pending alert, `clear`
/// ends a firing one (they differ only with hysteresis).
struct Verdict {
    enter: bool,
    clear: bool,
    values: Vec<MetricValue>,
    /// Forecast rules: the forecast in words, for the message.
    forecast: Option<String>,
}

impl AlertEngine {
    /// An engine with the default inhibition ([`InhibitRule::default_rules`]).
    pub fn new(rules: Vec<Rule>, settings: EngineSettings) -> AlertEngine {
        AlertEngine {
            settings,
            rules,
            inhibit: InhibitRule::default_rules(),
            silences: Vec::new(),
            alerts: BTreeMap::new(),
            hosts: BTreeMap::new(),
            sent: VecDeque::new(),
            held: Vec::new(),
            held_since: None,
            last_digest_at: None,
            trends: BTreeMap::new(),
            seeded: BTreeMap::new(),
            forecasts: BTreeMap::new(),
        }
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Replaces the rules (after an edit). Alerts of rules that still exist and are
    /// enabled keep their state; others are dropped without a resolve message.
    pub fn set_rules(&mut self, rules: Vec<Rule>) {
        self.rules = rules;
        let live: Vec<&str> = self
            .rules
            .iter()
            .filter(|r| r.enabled)
            .map(|r| r.name.as_str())
            .collect();
        self.alerts
            .retain(|(rule, _), _| live.contains(&rule.as_str()));
        self.forecasts.clear();
    }

    /// Replaces the inhibit rules (an empty list turns inhibition off).
    pub fn set_inhibit_rules(&mut self, inhibit: Vec<InhibitRule>) {
        self.inhibit = inhibit;
    }

    pub fn inhibit_rules(&self) -> &[InhibitRule] {
        &self.inhibit
    }

    /// Replaces the silences (the store is their source of truth).
    pub fn set_silences(&mut self, silences: Vec<Silence>) {
        self.silences = silences;
    }

    /// Records the detector's latest event for its host; its explanation goes into
    /// messages and an `expected` event suppresses anomaly alerts.
    pub fn observe_event(&mut self, event: &AnomalyEvent) {
        let host = self.host_name(&event.host);
        self.hosts.entry(host).or_default().event = Some(event.clone());
    }

    /// Feeds one sample (with its anomaly score) and returns what to send now.
    pub fn observe_snapshot(&mut self, s: &Snapshot, now: TimestampMs) -> Vec<Notification> {
        let host = self.host_name(&s.host);
        let h = self.hosts.entry(host.clone()).or_default();
        h.last_seen = now;
        if s.interval_secs > 0.0 {
            h.interval_ms = (s.interval_secs * 1000.0).round() as i64;
        }
        h.anomalous = s.anomaly;
        h.score = s.anomaly_score;
        for (metric, keep) in self.forecast_metrics() {
            if let Some(v) = s.metric(&metric) {
                self.trends
                    .entry((host.clone(), metric))
                    .or_default()
                    .push(s.timestamp, v, keep);
            }
        }
        let minute = s.timestamp.div_euclid(60_000);
        for i in 0..self.rules.len() {
            let RuleKind::Forecast(f) = &self.rules[i].kind else {
                continue;
            };
            let key = (self.rules[i].describe(), host.clone());
            if self.forecasts.get(&key).map(|c| c.0) != Some(minute) {
                let fc = self.forecast_for(f, &host, s.timestamp);
                self.forecasts.insert(key, (minute, fc));
            }
        }
        let mut out = Vec::new();
        for i in 0..self.rules.len() {
            if !self.rules[i].enabled {
                continue;
            }
            let verdict = self.judge_sample(&self.rules[i], &host, s);
            self.step(i, &host, verdict, now, &mut out);
        }
        self.flush(now, &mut out);
        out
    }

    /// Feeds a batch an agent sent for `host` (a hub's `POST /api/ingest`), oldest
    /// first, all judged as arriving `now` (the hub's clock: an agent's clock may be
    /// off, and a backfilled batch is old). Staleness then counts in the host's
    /// delivery cadence, the span one batch covers: an agent sending every 10 s is
    /// stale after `intervals` x 10 s without a batch, not x 1 s between batches.
    pub fn observe_batch(
        &mut self,
        host: &str,
        samples: &[Snapshot],
        now: TimestampMs,
    ) -> Vec<Notification> {
        let mut out = Vec::new();
        let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
            return out;
        };
        let interval_ms = (last.interval_secs.max(0.0) * 1000.0).round() as i64;
        let cadence = (last.timestamp - first.timestamp + interval_ms).max(interval_ms);
        for s in samples {
            let mut s = s.clone();
            s.host = host.to_string();
            out.extend(self.observe_snapshot(&s, now));
        }
        if let Some(h) = self.hosts.get_mut(host) {
            h.interval_ms = h.interval_ms.max(cadence);
        }
        out
    }

    /// Makes a host known (a hub restarting: the hosts its store holds, each with
    /// its newest sample's time), so one that never sends again still goes stale.
    /// A host already known is left as it is.
    pub fn seed_host(&mut self, host: &str, last_seen: TimestampMs) {
        self.hosts
            .entry(host.to_string())
            .or_insert_with(|| HostState {
                last_seen,
                ..HostState::default()
            });
    }

    /// Advances time without a sample: staleness, group waits, repeats, digests,
    /// silence expiry. Call it every few seconds.
    pub fn tick(&mut self, now: TimestampMs) -> Vec<Notification> {
        let mut out = Vec::new();
        let hosts: Vec<String> = self.hosts.keys().cloned().collect();
        for i in 0..self.rules.len() {
            let RuleKind::Stale { intervals } = self.rules[i].kind else {
                continue;
            };
            if !self.rules[i].enabled {
                continue;
            }
            for host in &hosts {
                let h = &self.hosts[host];
                let interval = if h.interval_ms > 0 {
                    h.interval_ms
                } else {
                    self.settings.sample_interval_ms
                };
                let age = now - h.last_seen;
                let stale = age > i64::from(intervals) * interval;
                let verdict = Verdict {
                    forecast: None,
                    enter: stale,
                    clear: !stale,
                    values: vec![plain("seconds_since_last_sample", age as f64 / 1000.0)],
                };
                self.step(i, host, verdict, now, &mut out);
            }
        }
        self.flush(now, &mut out);
        out
    }

    /// Alerts pending or firing now.
    pub fn active(&self, now: TimestampMs) -> Vec<ActiveAlert> {
        self.alerts
            .iter()
            .filter_map(|((rule, host), a)| {
                let (state, since) = match a.phase {
                    Phase::Inactive => return None,
                    Phase::Pending { since } => ("pending", since),
                    Phase::Firing { fired_at, .. } => ("firing", fired_at),
                };
                let severity = self.rules.iter().find(|r| &r.name == rule)?.severity;
                Some(ActiveAlert {
                    rule: rule.clone(),
                    host: host.clone(),
                    severity,
                    state: state.into(),
                    since,
                    values: a.values.clone(),
                    silenced: self.silenced(rule, host, now),
                    inhibited_by: self.inhibited_by(rule, host),
                })
            })
            .collect()
    }

    /// The state to persist (e.g. [`crate::store::Store::save_alert_engine_state`]).
    pub fn export_state(&self) -> PersistedState {
        PersistedState {
            alerts: self
                .alerts
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            sent: self.sent.iter().copied().collect(),
        }
    }

    /// Restores [`AlertEngine::export_state`] after a restart. Alerts of rules that no
    /// longer exist are ignored.
    pub fn import_state(&mut self, state: PersistedState) {
        for (key, a) in state.alerts {
            if self.rules.iter().any(|r| r.enabled && r.name == key.0) {
                self.alerts.insert(key, a);
            }
        }
        self.sent = state.sent.into();
    }

    fn host_name(&self, host: &str) -> String {
        if host.is_empty() {
            self.settings.host.clone()
        } else {
            host.to_string()
        }
    }

    fn step(
        &mut self,
        i: usize,
        host: &str,
        v: Verdict,
        now: TimestampMs,
        out: &mut Vec<Notification>,
    ) {
        let rule = &self.rules[i];
        // A rule naming hosts judges only those. One edited to leave a host out
        // resolves that host's alert rather than leaving it firing.
        let v = if rule.applies_to(host) {
            v
        } else if self
            .alerts
            .get(&(rule.name.clone(), host.to_string()))
            .is_some_and(|a| !matches!(a.phase, Phase::Inactive))
        {
            Verdict {
                enter: false,
                clear: true,
                ..v
            }
        } else {
            return;
        };
        let rule = &self.rules[i];
        let for_ms = match &rule.kind {
            RuleKind::Anomaly { for_ms, .. } => *for_ms,
            RuleKind::Threshold(t) => t.for_ms,
            RuleKind::Stale { .. } | RuleKind::Forecast(_) => 0,
        };
        let key = (rule.name.clone(), host.to_string());
        let explanation = self.relevant_explanation(host, now);
        let a = self.alerts.entry(key).or_insert(AlertState {
            phase: Phase::Inactive,
            resolved_at: None,
            values: Vec::new(),
            explanation: None,
            inhibition_noted: None,
            forecast: None,
        });
        a.values = v.values;
        a.forecast = v.forecast;
        if explanation.is_some() {
            a.explanation = explanation;
        }
        match a.phase {
            Phase::Inactive if v.enter => {
                a.phase = Phase::Pending { since: now };
            }
            Phase::Pending { .. } if !v.enter => a.phase = Phase::Inactive,
            Phase::Firing {
                fired_at,
                notified_at,
                ..
            } if v.clear => {
                a.phase = Phase::Inactive;
                a.resolved_at = Some(now);
                if notified_at.is_some() {
                    let n =
                        self.notification(i, host, NotificationKind::Resolved, fired_at, now, 0);
                    self.emit(n, now, out);
                }
                return;
            }
            _ => {}
        }
        if let Phase::Pending { since } = a.phase {
            let cooled = a
                .resolved_at
                .is_none_or(|r| now >= r + self.settings.cooldown_ms);
            if now - since >= for_ms && cooled {
                a.phase = Phase::Firing {
                    fired_at: now,
                    notified_at: None,
                    repeats: 0,
                };
            }
        }
    }
}

fn plain(metric: &str, value: f64) -> MetricValue {
    MetricValue {
        metric: metric.into(),
        value,
        threshold: None,
        normal_low: None,
        normal_high: None,
    }
}
