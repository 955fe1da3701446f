//! The request and answer bodies of `/api/alerts*` and `/api/silences*`.

use super::{ActiveAlert, AlertHistoryEntry, RuleView, Silence};
use crate::model::TimestampMs;
use serde::{Deserialize, Serialize};

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
