//! What the engine hands to notifiers, and silences that hold notifications back.
//!
//! A [`Notification`] is self-contained (values, explanation, link) because it is
//! stored as JSON in the outbox and may be delivered hours later, after a restart:
//! it must not need the engine's state to be rendered.

use super::rules::Severity;
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
}

impl Notification {
    /// A short, human subject line shared by email and chat messages.
    pub fn subject(&self) -> String {
        let sev = self.severity.as_str().to_uppercase();
        match self.kind {
            NotificationKind::Firing => format!("[{sev}] FIRING {} on {}", self.rule, self.host),
            NotificationKind::Resolved => {
                format!("[RESOLVED] {} on {}", self.rule, self.host)
            }
            NotificationKind::Digest => format!(
                "[DIGEST] {} alert notifications held back by the rate limit",
                self.digest.len()
            ),
            NotificationKind::Test => {
                format!("[TEST] Lookout test notification from {}", self.host)
            }
            NotificationKind::Inhibited => format!(
                "[INHIBITED] {} on {} (by {})",
                self.rule,
                self.host,
                self.inhibited_by.as_deref().unwrap_or("another alert")
            ),
        }
    }
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

impl Silence {
    /// True if the silence covers this rule and host at `now`. Expired (and
    /// not-yet-started) silences cover nothing.
    pub fn covers(&self, rule: &str, host: &str, now: TimestampMs) -> bool {
        now >= self.starts_at
            && now < self.ends_at
            && self.rule.as_deref().is_none_or(|r| r == rule)
            && self.host.as_deref().is_none_or(|h| h == host)
    }

    /// A silence matching everything would hide every alert by accident.
    pub fn validate(&self) -> Result<(), String> {
        if self.rule.is_none() && self.host.is_none() {
            return Err("a silence needs a rule, a host or both".into());
        }
        if self.ends_at <= self.starts_at {
            return Err("a silence must end after it starts".into());
        }
        Ok(())
    }
}
