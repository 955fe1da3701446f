//! What the engine hands to notifiers, and silences that hold notifications back.
//!
//! A [`Notification`] is self-contained (values, explanation, link) because it is
//! stored as JSON in the outbox and may be delivered hours later, after a restart:
//! it must not need the engine's state to be rendered.

pub use crate::model::alerts::{DigestEntry, MetricValue, Notification, NotificationKind, Silence};
use crate::model::TimestampMs;

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
