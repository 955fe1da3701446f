//! Notifications and what happens to them: active alerts, silences, delivery and
//! the alert history.

use super::{RuleKindName, Severity};
use crate::model::{Explanation, TimestampMs};
use serde::{Deserialize, Serialize};

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
