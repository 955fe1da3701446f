//! Alert rules: their kinds and conditions, a rule's configuration as written, and
//! the view `/api/alerts` gives of each.

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
