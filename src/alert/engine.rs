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

use super::inhibit::{AlertRef, InhibitRule};
use super::notification::{DigestEntry, MetricValue, Notification, NotificationKind, Silence};
use super::rules::{Rule, RuleKind};
use crate::forecast::buffer::MinuteBuffer;
pub use crate::model::alerts::ActiveAlert;
use crate::model::{AnomalyEvent, Explanation, Snapshot, TimestampMs};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

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

    /// The metrics forecast rules read, with the history each needs (the longest
    /// lookback among its rules).
    pub fn forecast_metrics(&self) -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = Vec::new();
        for r in self.rules.iter().filter(|r| r.enabled) {
            if let RuleKind::Forecast(f) = &r.kind {
                let keep = crate::forecast::lookback_ms(f.within_ms);
                match out.iter_mut().find(|(m, _)| *m == f.metric) {
                    Some(e) => e.1 = e.1.max(keep),
                    None => out.push((f.metric.clone(), keep)),
                }
            }
        }
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

    /// The forecast metrics of this host whose buffers still lack their stored
    /// history (none read yet, or a rule edit asked for a longer lookback), with the
    /// lookback to read: what the caller passes to [`AlertEngine::seed_trend`].
    pub fn forecast_metrics_to_seed(&self) -> Vec<(String, i64)> {
        let host = self.host_name("");
        self.forecast_metrics()
            .into_iter()
            .filter(|(m, keep)| {
                self.seeded
                    .get(&(host.clone(), m.clone()))
                    .is_none_or(|done| done < keep)
            })
            .collect()
    }

    /// Loads stored history of `metric` for `host` (empty = this host) into its
    /// forecast buffer, oldest first, so forecast rules work at once after a restart
    /// or a rule edit. Samples buffered meanwhile stay: history only fills the minutes
    /// before them.
    pub fn seed_trend(&mut self, host: &str, metric: &str, points: &[(TimestampMs, f64)]) {
        let host = self.host_name(host);
        let keep = self
            .forecast_metrics()
            .into_iter()
            .find(|(m, _)| m == metric)
            .map_or(
                crate::forecast::lookback_ms(crate::forecast::MAX_HORIZON_MS),
                |e| e.1,
            );
        let key = (host, metric.to_string());
        self.trends
            .entry(key.clone())
            .or_default()
            .backfill(points, keep);
        self.seeded.insert(key, keep);
    }

    /// The forecast a forecast rule sees now for `host` (None: no samples buffered).
    pub fn forecast_for(
        &self,
        f: &super::rules::ForecastRule,
        host: &str,
        now: TimestampMs,
    ) -> Option<crate::forecast::Forecast> {
        let b = self.trends.get(&(self.host_name(host), f.metric.clone()))?;
        if b.is_empty() {
            return None;
        }
        let subject = crate::forecast::Subject::crossing(&f.metric, f.op.as_str(), f.value);
        Some(crate::forecast::forecast(
            &subject,
            &b.points(),
            now,
            f.within_ms,
        ))
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

    /// A test message for the UI's "send test notification" (one channel).
    pub fn test_notification(&self, channel: &str, now: TimestampMs) -> Notification {
        Notification {
            id: format!("test|{channel}|{now}"),
            kind: NotificationKind::Test,
            rule: "test".into(),
            rule_kind: None,
            condition: "manual test notification".into(),
            host: self.settings.host.clone(),
            severity: super::rules::Severity::Info,
            since: now,
            at: now,
            values: Vec::new(),
            explanation: None,
            dashboard_link: self.link(&self.settings.host, now, now),
            channels: vec![channel.to_string()],
            digest: Vec::new(),
            inhibited_by: None,
            forecast: None,
        }
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

    fn host_name(&self, host: &str) -> String {
        if host.is_empty() {
            self.settings.host.clone()
        } else {
            host.to_string()
        }
    }

    fn expected_event(&self, host: &str, ts: TimestampMs) -> bool {
        self.hosts
            .get(host)
            .and_then(|h| h.event.as_ref())
            .is_some_and(|e| e.expected && e.start <= ts && e.end.is_none_or(|end| end >= ts))
    }

    fn judge_sample(&self, rule: &Rule, host: &str, s: &Snapshot) -> Verdict {
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

    fn band(&self, host: &str, metric: &str) -> Option<(f64, f64)> {
        let e = self.hosts.get(host)?.event.as_ref()?;
        let m = e.explanation.metrics.iter().find(|m| m.metric == metric)?;
        Some((m.normal_low, m.normal_high))
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

    /// Sends due firing notifications (after group wait, and repeats) and digests.
    fn flush(&mut self, now: TimestampMs, out: &mut Vec<Notification>) {
        let keys: Vec<(String, String)> = self.alerts.keys().cloned().collect();
        for key in keys {
            let Phase::Firing {
                fired_at,
                notified_at,
                repeats,
            } = self.alerts[&key].phase
            else {
                continue;
            };
            let due = match notified_at {
                None => now >= fired_at + self.settings.group_wait_ms,
                Some(t) => now >= t + self.settings.repeat_interval_ms,
            };
            if !due || self.silenced(&key.0, &key.1, now) {
                continue;
            }
            let Some(i) = self.rules.iter().position(|r| r.name == key.0) else {
                continue;
            };
            if let Some(source) = self.inhibited_by(&key.0, &key.1) {
                self.note_inhibition(i, &key, fired_at, source, now, out);
                continue;
            }
            let repeats = if notified_at.is_some() {
                repeats + 1
            } else {
                0
            };
            let n = self.notification(i, &key.1, NotificationKind::Firing, fired_at, now, repeats);
            if let Some(a) = self.alerts.get_mut(&key) {
                a.phase = Phase::Firing {
                    fired_at,
                    notified_at: Some(now),
                    repeats,
                };
            }
            self.emit(n, now, out);
        }
        let window = self.settings.rate_limit_window_ms;
        let digest_due = self
            .held_since
            .is_some_and(|t| now >= t + self.settings.group_wait_ms)
            && self.last_digest_at.is_none_or(|t| now >= t + window);
        if digest_due {
            let digest = std::mem::take(&mut self.held);
            self.held_since = None;
            self.last_digest_at = Some(now);
            out.push(Notification {
                id: format!("digest|{now}"),
                kind: NotificationKind::Digest,
                rule: "digest".into(),
                rule_kind: None,
                condition: format!(
                    "more than {} notifications in {}",
                    self.settings.rate_limit_max,
                    super::rules::format_duration(window)
                ),
                host: self.settings.host.clone(),
                severity: digest.iter().map(|d| d.severity).max().unwrap_or_default(),
                since: digest.iter().map(|d| d.since).min().unwrap_or(now),
                at: now,
                values: Vec::new(),
                explanation: None,
                dashboard_link: self.link(&self.settings.host, now - window, now),
                channels: Vec::new(),
                digest,
                inhibited_by: None,
                forecast: None,
            });
        }
    }

    /// Rate-limited output: beyond the limit a notification becomes a digest line.
    /// A resolve is held back if silenced (its firing may have been sent earlier).
    fn emit(&mut self, n: Notification, now: TimestampMs, out: &mut Vec<Notification>) {
        if n.kind == NotificationKind::Resolved
            && (self.silenced(&n.rule, &n.host, now)
                || self.inhibited_by(&n.rule, &n.host).is_some())
        {
            return;
        }
        let window = self.settings.rate_limit_window_ms;
        while self.sent.front().is_some_and(|&t| t <= now - window) {
            self.sent.pop_front();
        }
        if self.sent.len() < self.settings.rate_limit_max {
            self.sent.push_back(now);
            out.push(n);
        } else {
            self.held_since.get_or_insert(now);
            self.held.push(DigestEntry {
                kind: n.kind,
                rule: n.rule,
                rule_kind: n.rule_kind,
                host: n.host,
                severity: n.severity,
                since: n.since,
            });
        }
    }

    fn silenced(&self, rule: &str, host: &str, now: TimestampMs) -> bool {
        self.silences.iter().any(|s| s.covers(rule, host, now))
    }

    /// The firing alert (`"rule on host"`) that inhibits (rule, host), if any.
    fn inhibited_by(&self, rule: &str, host: &str) -> Option<String> {
        if self.inhibit.is_empty() {
            return None;
        }
        let target = AlertRef {
            rule: self.rules.iter().find(|r| r.name == rule)?,
            host,
        };
        self.alerts.iter().find_map(|((src_rule, src_host), a)| {
            if !matches!(a.phase, Phase::Firing { .. }) {
                return None;
            }
            let source = AlertRef {
                rule: self.rules.iter().find(|r| &r.name == src_rule)?,
                host: src_host,
            };
            self.inhibit
                .iter()
                .any(|i| i.inhibits(&source, &target))
                .then(|| format!("{src_rule} on {src_host}"))
        })
    }

    /// Writes one `inhibited` history entry per firing (no channel delivers it; the
    /// outbox stores it for the history only), outside the rate limit.
    fn note_inhibition(
        &mut self,
        i: usize,
        key: &(String, String),
        fired_at: TimestampMs,
        source: String,
        now: TimestampMs,
        out: &mut Vec<Notification>,
    ) {
        if self.alerts[key].inhibition_noted == Some(fired_at) {
            return;
        }
        let mut n = self.notification(i, &key.1, NotificationKind::Inhibited, fired_at, now, 0);
        n.inhibited_by = Some(source);
        if let Some(a) = self.alerts.get_mut(key) {
            a.inhibition_noted = Some(fired_at);
        }
        out.push(n);
    }

    fn relevant_explanation(&self, host: &str, now: TimestampMs) -> Option<Explanation> {
        let e = self.hosts.get(host)?.event.as_ref()?;
        (!e.expected && e.end.is_none_or(|end| now - end < 10 * 60_000))
            .then(|| e.explanation.clone())
    }

    fn notification(
        &self,
        i: usize,
        host: &str,
        kind: NotificationKind,
        fired_at: TimestampMs,
        now: TimestampMs,
        repeats: u32,
    ) -> Notification {
        let rule = &self.rules[i];
        let a = self.alerts.get(&(rule.name.clone(), host.to_string()));
        let mut id = format!("{}|{host}|{}|{fired_at}", rule.name, kind.as_str());
        if repeats > 0 {
            id += &format!("|repeat-{repeats}");
        }
        Notification {
            id,
            kind,
            rule: rule.name.clone(),
            rule_kind: Some(rule.kind_name()),
            condition: rule.describe(),
            host: host.to_string(),
            severity: rule.severity,
            since: fired_at,
            at: now,
            values: a.map(|a| a.values.clone()).unwrap_or_default(),
            explanation: a.and_then(|a| a.explanation.clone()),
            dashboard_link: self.link(host, fired_at, now),
            channels: rule.channels.clone(),
            digest: Vec::new(),
            inhibited_by: None,
            forecast: a.and_then(|a| a.forecast.clone()),
        }
    }

    /// Dashboard URL showing 15 min before `from` to 5 min after `to`.
    fn link(&self, host: &str, from: TimestampMs, to: TimestampMs) -> String {
        format!(
            "{}/?host={}&from={}&to={}",
            self.settings.dashboard_url.trim_end_matches('/'),
            url_escape(host),
            from - 15 * 60_000,
            to + 5 * 60_000
        )
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

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
