//! Alerting: rules, active alerts, notifications and their delivery, silences
//! (`/api/alerts*`, `/api/silences*`). The engine's own types: `lookout::alert`
//! re-exports them and adds the behaviour (parsing, evaluation, rendering).

use super::{ApiBody, Explanation, TimestampMs};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How loud an alert is; carried through to messages so receivers can route on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Comparison of a threshold rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

/// `metric op value for duration`, with optional hysteresis and anomaly gating.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdRule {
    pub metric: String,
    pub op: Op,
    pub value: f64,
    /// The condition must hold this long before the alert fires (0 = at once).
    pub for_ms: i64,
    /// Hysteresis: once firing, the alert clears only when the metric is back past
    /// this level (<= it for `>`/`>=` rules, >= it for `<`/`<=`). Without it a value
    /// hovering at the threshold would flap firing/resolved on every sample.
    pub resolve: Option<f64>,
    /// Fire only while the detector also calls the host anomalous ("CPU > 80 *and*
    /// unusual"), which keeps a busy-by-design host quiet.
    pub and_anomalous: bool,
}

/// `metric op value within horizon`: fires when the metric's robust trend (see
/// `lookout::forecast`) crosses `value` inside `within_ms`, e.g.
/// `disk_free_percent < 5 within 24h`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRule {
    pub metric: String,
    pub op: Op,
    pub value: f64,
    pub within_ms: i64,
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "RuleKindWire")]
pub enum RuleKind {
    /// The detector's combined score >= `min_score` (None: the detector's own
    /// decision, i.e. the sensitivity setting) for at least `for_ms`.
    Anomaly {
        min_score: Option<f64>,
        for_ms: i64,
    },
    Threshold(ThresholdRule),
    /// No sample from a host for `intervals` sampling intervals.
    Stale {
        intervals: u32,
    },
    /// The trend reaches a threshold within a horizon.
    Forecast(ForecastRule),
}

/// `RuleKind` as read: its tag and every variant's fields side by side in one object,
/// as the internally tagged enum writes them. serde reads an internally tagged enum by
/// buffering the object in its `Content` first (the tag may come last) and reading the
/// variant again from there, a second copy of the variants' deserialisers in the
/// dashboard's wasm; a plain struct reads the object once. Same JSON, same fields
/// required per kind.
#[derive(Deserialize)]
struct RuleKindWire {
    kind: RuleKindTag,
    min_score: Option<f64>,
    for_ms: Option<i64>,
    intervals: Option<u32>,
    metric: Option<String>,
    op: Option<Op>,
    value: Option<f64>,
    resolve: Option<f64>,
    and_anomalous: Option<bool>,
    within_ms: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RuleKindTag {
    Anomaly,
    Threshold,
    Stale,
    Forecast,
}

impl TryFrom<RuleKindWire> for RuleKind {
    type Error = String;

    fn try_from(w: RuleKindWire) -> Result<Self, String> {
        fn need<T>(v: Option<T>, field: &str) -> Result<T, String> {
            v.ok_or_else(|| format!("missing field `{field}`"))
        }
        Ok(match w.kind {
            RuleKindTag::Anomaly => RuleKind::Anomaly {
                min_score: w.min_score,
                for_ms: need(w.for_ms, "for_ms")?,
            },
            RuleKindTag::Threshold => RuleKind::Threshold(ThresholdRule {
                metric: need(w.metric, "metric")?,
                op: need(w.op, "op")?,
                value: need(w.value, "value")?,
                for_ms: need(w.for_ms, "for_ms")?,
                resolve: w.resolve,
                and_anomalous: need(w.and_anomalous, "and_anomalous")?,
            }),
            RuleKindTag::Stale => RuleKind::Stale {
                intervals: need(w.intervals, "intervals")?,
            },
            RuleKindTag::Forecast => RuleKind::Forecast(ForecastRule {
                metric: need(w.metric, "metric")?,
                op: need(w.op, "op")?,
                value: need(w.value, "value")?,
                within_ms: need(w.within_ms, "within_ms")?,
            }),
        })
    }
}

/// A parsed, validated rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    pub severity: Severity,
    pub enabled: bool,
    /// Channel names to notify; empty means every configured channel.
    pub channels: Vec<String>,
    /// The hosts it watches: names or glob patterns (`*` any run of characters, `?`
    /// one); empty means every host (a hub's agents and itself).
    #[serde(default)]
    pub hosts: Vec<String>,
    pub kind: RuleKind,
}

/// A rule as written in the config file: every field optional so that a missing or
/// malformed one is reported by `RuleConfig::parse` (in `lookout::alert`) with the
/// rule's name rather than by serde with a line number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleConfig {
    pub name: Option<String>,
    pub severity: Option<String>,
    pub enabled: Option<bool>,
    /// "threshold" (default when `condition` is set), "forecast" (default when the
    /// condition says `within`), "anomaly" or "stale".
    pub kind: Option<String>,
    pub condition: Option<String>,
    pub resolve: Option<f64>,
    pub and_anomalous: Option<bool>,
    pub min_score: Option<f64>,
    #[serde(rename = "for")]
    pub for_: Option<String>,
    pub intervals: Option<u32>,
    pub channels: Option<Vec<String>>,
    /// Host names or glob patterns (`web-*`); absent or empty: every host.
    pub hosts: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Firing,
    Resolved,
    /// One message summarising notifications held back by the global rate limit.
    Digest,
    /// "Send test notification" from the UI: proves a channel works.
    Test,
    /// History only, never delivered: a firing alert held back by inhibition.
    Inhibited,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Firing => "firing",
            NotificationKind::Resolved => "resolved",
            NotificationKind::Digest => "digest",
            NotificationKind::Test => "test",
            NotificationKind::Inhibited => "inhibited",
        }
    }
}

/// A metric's value at notification time, with what it was compared against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricValue {
    pub metric: String,
    pub value: f64,
    /// The rule's threshold, for threshold rules.
    pub threshold: Option<f64>,
    /// The detector's learnt normal band, when known.
    pub normal_low: Option<f64>,
    pub normal_high: Option<f64>,
}

/// Which kind of rule raised an alert: Alertmanager's `kind` label and the inhibit
/// rules' `kind` match. Carried on the notification so that no receiver has to guess it
/// from the condition's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKindName {
    Threshold,
    Anomaly,
    Stale,
    Forecast,
}

impl RuleKindName {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKindName::Threshold => "threshold",
            RuleKindName::Anomaly => "anomaly",
            RuleKindName::Stale => "stale",
            RuleKindName::Forecast => "forecast",
        }
    }
}

/// One line of a digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestEntry {
    pub kind: NotificationKind,
    pub rule: String,
    /// None in entries stored before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_kind: Option<RuleKindName>,
    pub host: String,
    pub severity: Severity,
    pub since: TimestampMs,
}

/// A message to deliver on every channel of its rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Dedup key: `rule|host|kind|fired_at` (plus `|repeat-N` for repeats, `|digest-at`
    /// for digests). The outbox refuses a second copy of the same key per channel, so
    /// re-emitting after a crash never duplicates a message.
    pub id: String,
    pub kind: NotificationKind,
    pub rule: String,
    /// The kind of `rule`; None for tests and digests (and for notifications stored
    /// before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_kind: Option<RuleKindName>,
    /// The rule in words, e.g. `cpu_usage > 90 for 5m`.
    pub condition: String,
    pub host: String,
    pub severity: Severity,
    /// When the alert started firing (for a resolve: when it had fired).
    pub since: TimestampMs,
    /// When this notification was produced.
    pub at: TimestampMs,
    pub values: Vec<MetricValue>,
    /// The detector's explanation of the anomaly in progress, if any.
    pub explanation: Option<Explanation>,
    /// Dashboard at that moment (a window around `since`..`at`).
    pub dashboard_link: String,
    /// Channel names to deliver to; empty = every configured channel.
    pub channels: Vec<String>,
    /// For digests: the notifications it stands for.
    pub digest: Vec<DigestEntry>,
    /// For `inhibited` entries: the source alert, `"rule on host"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inhibited_by: Option<String>,
    /// Forecast rules: the forecast in words, e.g. `disk_free_percent < 5 in ~3 h 10 m
    /// (~2 h 40 m to ~4 h 5 m), trend -0.79 per hour`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<String>,
}

/// Holds back notifications for a rule and/or host until `ends_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// Store id; 0 until stored.
    pub id: i64,
    /// None = any rule.
    pub rule: Option<String>,
    /// None = any host.
    pub host: Option<String>,
    pub starts_at: TimestampMs,
    pub ends_at: TimestampMs,
    pub comment: String,
    pub created_by: String,
}

/// An alert that is pending or firing, for the API and UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveAlert {
    pub rule: String,
    pub host: String,
    pub severity: Severity,
    /// "pending" or "firing".
    pub state: String,
    pub since: TimestampMs,
    pub values: Vec<MetricValue>,
    pub silenced: bool,
    /// The firing source alert (`rule on host`) that inhibits this one, if any.
    pub inhibited_by: Option<String>,
}

/// Delivery state of one notification on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStatus {
    pub channel: String,
    /// "pending" or "delivered".
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: Option<TimestampMs>,
    pub last_error: Option<String>,
    pub delivered_at: Option<TimestampMs>,
}

/// One entry of the alert history: what fired, when, who was notified, how it went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertHistoryEntry {
    pub id: i64,
    pub created_at: TimestampMs,
    pub notification: Notification,
    pub deliveries: Vec<DeliveryStatus>,
}

// ---------------------------------------------------------------- API bodies

/// A rule as the API lists it: the parsed rule, where it comes from, and the
/// editable form (the TOML keys) the UI fills its form with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RuleViewWire")]
pub struct RuleView {
    #[serde(flatten)]
    pub rule: Rule,
    pub describe: String,
    /// "file" (config file), "api" (added through the API) or "file+api" (a file
    /// rule overridden through the API; deleting the override restores the file's).
    pub source: String,
    pub config: RuleConfig,
}

/// `RuleView` as read: the rule's fields beside the view's, as `flatten` writes them,
/// read as plain fields (a `flatten` field buffers the whole map in serde's `Content` and
/// reads the rule a second time from there: a second copy of its deserialisers in the
/// dashboard's wasm). Same JSON.
#[derive(Deserialize)]
struct RuleViewWire {
    name: String,
    severity: Severity,
    enabled: bool,
    channels: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
    kind: RuleKind,
    describe: String,
    source: String,
    config: RuleConfig,
}

impl From<RuleViewWire> for RuleView {
    fn from(w: RuleViewWire) -> Self {
        RuleView {
            rule: Rule {
                name: w.name,
                severity: w.severity,
                enabled: w.enabled,
                channels: w.channels,
                hosts: w.hosts,
                kind: w.kind,
            },
            describe: w.describe,
            source: w.source,
            config: w.config,
        }
    }
}

/// `GET /api/alerts`: alerts pending or firing now, the rules and the channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertsOverview {
    pub active: Vec<ActiveAlert>,
    pub rules: Vec<RuleView>,
    pub channels: Vec<String>,
}

/// `GET /api/alerts/history`: what fired in `from..to`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertHistory {
    pub from: TimestampMs,
    pub to: TimestampMs,
    pub entries: Vec<AlertHistoryEntry>,
}

/// `POST /api/alerts/test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TestChannelRequest {
    pub channel: String,
}

/// The answer of `PUT /api/alerts/rules/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RuleSaved {
    pub name: String,
    pub describe: String,
    pub enabled: bool,
}

/// The answer of `POST /api/alerts/rules/test`: would the rule fire on the latest
/// sample? Both null when it cannot tell (no sample yet, a stale rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RuleTestResult {
    pub rule: String,
    pub describe: String,
    pub value_now: Option<f64>,
    pub condition_holds_now: Option<bool>,
}

/// `GET /api/silences`: all silences, active and expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SilenceList {
    pub silences: Vec<Silence>,
}

/// `POST /api/silences`: a rule and/or a host, and either `duration` ("2h") or
/// `ends_at` (ms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SilenceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// How long from now, e.g. "2h" (or `ends_at` in ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<TimestampMs>,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub created_by: String,
}

/// The answer of `DELETE /api/silences/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SilenceExpired {
    pub id: i64,
    /// "expired".
    pub status: String,
}

fn example_rule_config() -> RuleConfig {
    RuleConfig {
        name: Some("cpu-high".into()),
        severity: Some("critical".into()),
        enabled: Some(true),
        kind: Some("threshold".into()),
        condition: Some("cpu_usage > 90 for 5m".into()),
        resolve: Some(80.0),
        and_anomalous: Some(false),
        min_score: None,
        for_: None,
        intervals: None,
        channels: Some(vec!["ops-mail".into()]),
        hosts: Some(vec!["web-*".into()]),
    }
}

fn example_values() -> Vec<MetricValue> {
    vec![MetricValue {
        metric: "cpu_usage".into(),
        value: 97.0,
        threshold: Some(90.0),
        normal_low: Some(8.0),
        normal_high: Some(22.0),
    }]
}

impl Notification {
    /// A firing threshold notification, the documented example and a base for tests.
    pub fn example() -> Self {
        example_notification()
    }
}

fn example_notification() -> Notification {
    Notification {
        id: "cpu-high|web-1|firing|1764084700000".into(),
        kind: NotificationKind::Firing,
        rule: "cpu-high".into(),
        rule_kind: Some(RuleKindName::Threshold),
        condition: "cpu_usage > 90 for 5m".into(),
        host: "web-1".into(),
        severity: Severity::Critical,
        since: 1_764_084_700_000,
        at: 1_764_085_000_000,
        values: example_values(),
        explanation: Some(super::AnomalyEvent::example().explanation),
        dashboard_link: "http://lookout:3000/?from=1764084400000&to=1764085300000".into(),
        channels: vec!["ops-mail".into()],
        digest: vec![],
        inhibited_by: None,
        forecast: None,
    }
}

impl ApiBody for AlertsOverview {
    fn example() -> Self {
        AlertsOverview {
            active: vec![ActiveAlert {
                rule: "cpu-high".into(),
                host: "web-1".into(),
                severity: Severity::Critical,
                state: "firing".into(),
                since: 1_764_084_700_000,
                values: example_values(),
                silenced: false,
                inhibited_by: None,
            }],
            rules: vec![
                RuleView {
                    rule: Rule {
                        name: "cpu-high".into(),
                        severity: Severity::Critical,
                        enabled: true,
                        channels: vec!["ops-mail".into()],
                        hosts: vec!["web-*".into()],
                        kind: RuleKind::Threshold(ThresholdRule {
                            metric: "cpu_usage".into(),
                            op: Op::Gt,
                            value: 90.0,
                            for_ms: 300_000,
                            resolve: Some(80.0),
                            and_anomalous: false,
                        }),
                    },
                    describe: "cpu_usage > 90 for 5m on web-*".into(),
                    source: "api".into(),
                    config: example_rule_config(),
                },
                RuleView {
                    rule: Rule {
                        name: "anomaly".into(),
                        severity: Severity::Warning,
                        enabled: true,
                        channels: vec![],
                        hosts: vec![],
                        kind: RuleKind::Anomaly {
                            min_score: Some(4.0),
                            for_ms: 60_000,
                        },
                    },
                    describe: "anomaly score >= 4 for 1m".into(),
                    source: "file".into(),
                    config: RuleConfig {
                        name: Some("anomaly".into()),
                        kind: Some("anomaly".into()),
                        min_score: Some(4.0),
                        for_: Some("1m".into()),
                        ..RuleConfig::default()
                    },
                },
                RuleView {
                    rule: Rule {
                        name: "sampler-stalled".into(),
                        severity: Severity::Critical,
                        enabled: true,
                        channels: vec![],
                        hosts: vec![],
                        kind: RuleKind::Stale { intervals: 5 },
                    },
                    describe: "no sample for 5 intervals".into(),
                    source: "file+api".into(),
                    config: RuleConfig {
                        name: Some("sampler-stalled".into()),
                        severity: Some("critical".into()),
                        kind: Some("stale".into()),
                        intervals: Some(5),
                        ..RuleConfig::default()
                    },
                },
            ],
            channels: vec!["ops-mail".into(), "chat".into()],
        }
    }
}

impl ApiBody for AlertHistory {
    fn example() -> Self {
        let firing = example_notification();
        let digest = Notification {
            id: "digest|1764085300000".into(),
            kind: NotificationKind::Digest,
            rule: String::new(),
            rule_kind: None,
            condition: String::new(),
            since: 1_764_085_000_000,
            at: 1_764_085_300_000,
            values: vec![],
            explanation: None,
            digest: vec![DigestEntry {
                kind: NotificationKind::Firing,
                rule: "disk-full".into(),
                rule_kind: Some(RuleKindName::Threshold),
                host: "web-1".into(),
                severity: Severity::Warning,
                since: 1_764_085_100_000,
            }],
            ..firing.clone()
        };
        let inhibited = Notification {
            id: "disk-full|web-1|inhibited|1764085100000".into(),
            kind: NotificationKind::Inhibited,
            rule: "disk-full".into(),
            condition: "disk_free_percent < 5".into(),
            severity: Severity::Warning,
            since: 1_764_085_100_000,
            at: 1_764_085_100_000,
            values: vec![],
            explanation: None,
            inhibited_by: Some("sampler-stalled on web-1".into()),
            ..firing.clone()
        };
        let delivered = DeliveryStatus {
            channel: "ops-mail".into(),
            status: "delivered".into(),
            attempts: 1,
            next_attempt_at: None,
            last_error: None,
            delivered_at: Some(1_764_085_301_000),
        };
        AlertHistory {
            from: 1_763_480_200_000,
            to: 1_764_085_400_000,
            entries: vec![
                AlertHistoryEntry {
                    id: 14,
                    created_at: 1_764_085_300_000,
                    notification: digest,
                    deliveries: vec![delivered],
                },
                AlertHistoryEntry {
                    id: 13,
                    created_at: 1_764_085_100_000,
                    notification: inhibited,
                    deliveries: vec![],
                },
                AlertHistoryEntry {
                    id: 12,
                    created_at: 1_764_085_000_000,
                    notification: firing,
                    deliveries: vec![DeliveryStatus {
                        channel: "ops-mail".into(),
                        status: "pending".into(),
                        attempts: 2,
                        next_attempt_at: Some(1_764_085_060_000),
                        last_error: Some("connection refused".into()),
                        delivered_at: None,
                    }],
                },
            ],
        }
    }
}

impl ApiBody for TestChannelRequest {
    fn example() -> Self {
        TestChannelRequest {
            channel: "ops-mail".into(),
        }
    }
}

impl ApiBody for RuleConfig {
    fn example() -> Self {
        example_rule_config()
    }
}

impl ApiBody for RuleSaved {
    fn example() -> Self {
        RuleSaved {
            name: "cpu-high".into(),
            describe: "cpu_usage > 90 for 5m".into(),
            enabled: true,
        }
    }
}

impl ApiBody for RuleTestResult {
    fn example() -> Self {
        RuleTestResult {
            rule: "cpu-high".into(),
            describe: "cpu_usage > 90 for 5m".into(),
            value_now: Some(12.5),
            condition_holds_now: Some(false),
        }
    }
}

impl ApiBody for Silence {
    fn example() -> Self {
        Silence {
            id: 4,
            rule: Some("disk-full".into()),
            host: None,
            starts_at: 1_764_085_000_000,
            ends_at: 1_764_092_200_000,
            comment: "maintenance".into(),
            created_by: "user:admin".into(),
        }
    }
}

impl ApiBody for SilenceList {
    fn example() -> Self {
        SilenceList {
            silences: vec![Silence::example()],
        }
    }
}

impl ApiBody for SilenceRequest {
    fn example() -> Self {
        SilenceRequest {
            rule: Some("disk-full".into()),
            host: Some("web-1".into()),
            duration: Some("2h".into()),
            ends_at: None,
            comment: "maintenance".into(),
            created_by: String::new(),
        }
    }
}

impl ApiBody for SilenceExpired {
    fn example() -> Self {
        SilenceExpired {
            id: 4,
            status: "expired".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: RuleKind) -> RuleView {
        RuleView {
            rule: Rule {
                name: "r".into(),
                severity: Severity::Warning,
                enabled: true,
                channels: vec!["ops".into()],
                hosts: vec!["web-*".into()],
                kind,
            },
            describe: "d".into(),
            source: "api".into(),
            config: RuleConfig::default(),
        }
    }

    /// The hand-written readers (`RuleKindWire`, `RuleViewWire`) read back what the
    /// derived writers write, for every kind.
    #[test]
    fn every_rule_kind_round_trips() {
        let kinds = [
            RuleKind::Anomaly {
                min_score: None,
                for_ms: 60_000,
            },
            RuleKind::Anomaly {
                min_score: Some(4.5),
                for_ms: 0,
            },
            RuleKind::Threshold(ThresholdRule {
                metric: "cpu_usage".into(),
                op: Op::Ge,
                value: 90.0,
                for_ms: 300_000,
                resolve: Some(80.0),
                and_anomalous: true,
            }),
            RuleKind::Stale { intervals: 3 },
            RuleKind::Forecast(ForecastRule {
                metric: "disk_free_percent".into(),
                op: Op::Lt,
                value: 5.0,
                within_ms: 86_400_000,
            }),
        ];
        for kind in kinds {
            let view = rule(kind);
            let json = serde_json::to_string(&view).unwrap();
            let back: RuleView = serde_json::from_str(&json).unwrap();
            assert_eq!(back, view, "{json}");
        }
    }

    #[test]
    fn rule_kind_reads_the_tag_anywhere_and_requires_each_kinds_fields() {
        let k: RuleKind = serde_json::from_str(r#"{"intervals": 2, "kind": "stale"}"#).unwrap();
        assert_eq!(k, RuleKind::Stale { intervals: 2 });
        let e = serde_json::from_str::<RuleKind>(r#"{"kind": "threshold", "metric": "cpu_usage", "op": ">", "for_ms": 0, "and_anomalous": false}"#)
            .unwrap_err();
        assert!(e.to_string().contains("missing field `value`"), "{e}");
        let e = serde_json::from_str::<RuleKind>(r#"{"kind": "sometimes"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
        // A rule view without `hosts` (older answers) watches every host.
        let mut json = serde_json::to_value(rule(RuleKind::Stale { intervals: 1 })).unwrap();
        json.as_object_mut().unwrap().remove("hosts");
        let back: RuleView = serde_json::from_value(json).unwrap();
        assert!(back.rule.hosts.is_empty());
    }
}
