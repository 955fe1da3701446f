//! The rule form's data: the fields as typed, to and from the API's `RuleConfig`, the
//! sparse body the API is sent, and the text of a test's verdict.

use lookout::model::{RuleConfig, RuleTestResult};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// The form's fields, as typed (strings, so a half-typed number is not lost).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleForm {
    pub name: String,
    /// "threshold", "forecast", "anomaly" or "stale".
    pub kind: String,
    pub severity: String,
    pub condition: String,
    pub resolve: String,
    pub min_score: String,
    pub for_: String,
    pub intervals: String,
    pub enabled: bool,
}

/// A number as the API wrote it (`80.0` stays "80.0" in the form).
fn number_text(v: Option<f64>) -> String {
    v.and_then(|v| serde_json::to_string(&v).ok())
        .unwrap_or_default()
}

impl RuleForm {
    pub fn empty() -> RuleForm {
        RuleForm {
            kind: "threshold".into(),
            severity: "warning".into(),
            enabled: true,
            ..RuleForm::default()
        }
    }

    /// Fills the form from a listed rule's editable `config` (the TOML keys).
    pub fn from_config(name: &str, c: &RuleConfig) -> RuleForm {
        // As the server reads it: `within` in a condition makes a forecast rule.
        let kind = c.kind.clone().unwrap_or_else(|| match &c.condition {
            Some(t) if t.split_whitespace().any(|w| w == "within") => "forecast".into(),
            Some(_) => "threshold".into(),
            None => String::new(),
        });
        let mut condition = c.condition.clone().unwrap_or_default();
        // A threshold rule's `for` may be its own key; the form keeps it in the condition.
        if let (true, Some(f)) = (kind == "threshold", c.for_.as_deref()) {
            if !condition.split_whitespace().any(|w| w == "for") {
                condition = format!("{} for {f}", condition.trim());
            }
        }
        if c.and_anomalous == Some(true) && !condition.contains("and anomalous") {
            condition.push_str(" and anomalous");
        }
        RuleForm {
            name: name.to_string(),
            kind,
            severity: c.severity.clone().unwrap_or_else(|| "warning".into()),
            condition,
            resolve: number_text(c.resolve),
            min_score: number_text(c.min_score),
            for_: c.for_.clone().unwrap_or_default(),
            intervals: c.intervals.map(|n| n.to_string()).unwrap_or_default(),
            enabled: c.enabled.unwrap_or(true),
        }
    }

    /// The rule for PUT / test. `base` is the rule's current config, so keys the form
    /// does not show (channels, hosts) are kept. Numbers that do not parse are reported
    /// naming the field, like the server's own errors.
    pub fn body(&self, base: &RuleConfig) -> Result<RuleConfig, String> {
        let name = self.name.trim();
        let mut rule = RuleConfig {
            name: Some(name.to_string()),
            severity: Some(self.severity.clone()),
            enabled: Some(self.enabled),
            kind: Some(self.kind.clone()),
            channels: base.channels.clone(),
            hosts: base.hosts.clone(),
            ..RuleConfig::default()
        };
        let label = if name.is_empty() { "new rule" } else { name };
        let number = |field: &str, s: &str| -> Result<Option<f64>, String> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| {
                    format!("alert rule {label:?}, field `{field}`: {s:?} is not a number")
                })
        };
        match self.kind.as_str() {
            "threshold" => {
                rule.condition = Some(self.condition.trim().into());
                rule.resolve = number("resolve", &self.resolve)?;
            }
            "forecast" => rule.condition = Some(self.condition.trim().into()),
            "anomaly" => {
                rule.min_score = number("min_score", &self.min_score)?;
                let f = self.for_.trim();
                rule.for_ = (!f.is_empty()).then(|| f.into());
            }
            "stale" => {
                let n = self.intervals.trim();
                if !n.is_empty() {
                    let v: u32 = n.parse().map_err(|_| {
                        format!(
                            "alert rule {label:?}, field `intervals`: {n:?} is not a whole number"
                        )
                    })?;
                    rule.intervals = Some(v);
                }
            }
            _ => {}
        }
        Ok(rule)
    }
}

/// A rule as the form sends it: only the keys that are set (a key left out and a null
/// mean the same to the server; the form never sent nulls for its own fields).
pub struct SparseRule<'a>(pub &'a RuleConfig);

impl Serialize for SparseRule<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(None)?;
        fn put<M: SerializeMap, T: Serialize>(
            m: &mut M,
            k: &str,
            v: &Option<T>,
        ) -> Result<(), M::Error> {
            match v {
                Some(v) => m.serialize_entry(k, v),
                None => Ok(()),
            }
        }
        put(&mut m, "name", &c.name)?;
        put(&mut m, "severity", &c.severity)?;
        put(&mut m, "enabled", &c.enabled)?;
        put(&mut m, "kind", &c.kind)?;
        put(&mut m, "condition", &c.condition)?;
        put(&mut m, "resolve", &c.resolve)?;
        put(&mut m, "and_anomalous", &c.and_anomalous)?;
        put(&mut m, "min_score", &c.min_score)?;
        put(&mut m, "for", &c.for_)?;
        put(&mut m, "intervals", &c.intervals)?;
        put(&mut m, "channels", &c.channels)?;
        put(&mut m, "hosts", &c.hosts)?;
        m.end()
    }
}

/// "would fire now" / "would not fire now" / "no value yet", from the test answer.
pub fn verdict_line(t: &RuleTestResult) -> String {
    let now = match t.condition_holds_now {
        Some(true) => format!("would fire now (value {})", value(t.value_now)),
        Some(false) => format!("would not fire now (value {})", value(t.value_now)),
        None => "cannot tell from the latest sample".into(),
    };
    format!("OK: {} — {now}", t.describe)
}

fn value(v: Option<f64>) -> String {
    match v {
        Some(f) => format!("{}", (f * 100.0).round() / 100.0),
        None => "none".into(),
    }
}
