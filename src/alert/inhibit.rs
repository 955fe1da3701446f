//! Inhibition (Alertmanager-style): while a *source* alert is firing, alerts that
//! match a *target* and share the `equal` labels with it are not notified. They stay
//! visible (as "inhibited") in the API and UI, and their history records it.
//!
//! ```toml
//! [[alerts.inhibit]]
//! name = "stale-hides-values"                 # optional, for error messages
//! source = { kind = "stale" }                 # rule, severity, kind: a name or a list
//! target = { kind = ["threshold", "anomaly"] }
//! equal = ["host"]                            # labels: rule, host, severity, kind
//! ```
//!
//! Without any `inhibit` key the default above applies: a host with no fresh
//! sample has no fresh values, so threshold and anomaly alerts about it would be
//! noise. `inhibit = []` turns inhibition off.
//!
//! Entries are parsed from raw TOML tables (not derived serde) so that every error
//! names the entry and the field, like rule errors do.

use super::rules::{Rule, Severity};

/// The labels an alert carries, matched by inhibit rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Rule,
    Host,
    Severity,
    Kind,
}

impl Label {
    fn parse(s: &str) -> Option<Label> {
        Some(match s {
            "rule" => Label::Rule,
            "host" => Label::Host,
            "severity" => Label::Severity,
            "kind" => Label::Kind,
            _ => return None,
        })
    }
}

/// Which alerts a side of an inhibit rule matches; an unset field matches any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matcher {
    pub rules: Option<Vec<String>>,
    pub severities: Option<Vec<Severity>>,
    /// "threshold", "anomaly", "stale", "forecast".
    pub kinds: Option<Vec<String>>,
}

impl Matcher {
    pub fn matches(&self, rule: &Rule) -> bool {
        self.rules.as_ref().is_none_or(|r| r.contains(&rule.name))
            && self
                .severities
                .as_ref()
                .is_none_or(|s| s.contains(&rule.severity))
            && self
                .kinds
                .as_ref()
                .is_none_or(|k| k.iter().any(|k| k == kind_name(rule)))
    }
}

/// A parsed `[[alerts.inhibit]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct InhibitRule {
    pub name: String,
    pub source: Matcher,
    pub target: Matcher,
    pub equal: Vec<Label>,
}

/// One side of an alert as inhibition sees it.
pub struct AlertRef<'a> {
    pub rule: &'a Rule,
    pub host: &'a str,
}

impl InhibitRule {
    /// The default: a firing `stale` alert inhibits threshold and anomaly alerts of
    /// the same host.
    pub fn default_rules() -> Vec<InhibitRule> {
        vec![InhibitRule {
            name: "stale-inhibits-values".into(),
            source: Matcher {
                kinds: Some(vec!["stale".into()]),
                ..Matcher::default()
            },
            target: Matcher {
                kinds: Some(vec!["threshold".into(), "anomaly".into()]),
                ..Matcher::default()
            },
            equal: vec![Label::Host],
        }]
    }

    /// Does the firing `source` alert inhibit `target`? An alert never inhibits itself.
    pub fn inhibits(&self, source: &AlertRef, target: &AlertRef) -> bool {
        if source.rule.name == target.rule.name && source.host == target.host {
            return false;
        }
        self.source.matches(source.rule)
            && self.target.matches(target.rule)
            && self.equal.iter().all(|l| match l {
                Label::Rule => source.rule.name == target.rule.name,
                Label::Host => source.host == target.host,
                Label::Severity => source.rule.severity == target.rule.severity,
                Label::Kind => kind_name(source.rule) == kind_name(target.rule),
            })
    }
}

fn kind_name(rule: &Rule) -> &'static str {
    rule.kind_name().as_str()
}

/// An inhibit entry that does not make sense, naming the entry and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alerts inhibit entry {entry:?}, field `{field}`: {message}")]
pub struct InhibitError {
    pub entry: String,
    /// e.g. `source.kind`, `equal`.
    pub field: String,
    pub message: String,
}

/// Parses entry `index` (0-based) of `[[alerts.inhibit]]`.
pub fn parse(index: usize, t: &toml::Table) -> Result<InhibitRule, InhibitError> {
    let label = t
        .get("name")
        .and_then(|v| v.as_str())
        .filter(|n| !n.trim().is_empty())
        .map(String::from)
        .unwrap_or_else(|| format!("inhibit #{}", index + 1));
    let err = |field: &str, message: String| InhibitError {
        entry: label.clone(),
        field: field.to_string(),
        message,
    };
    for key in t.keys() {
        if !["name", "source", "target", "equal"].contains(&key.as_str()) {
            return Err(err(
                key,
                "unknown field; expected name, source, target, equal".into(),
            ));
        }
    }
    if let Some(v) = t.get("name") {
        if !v.is_str() {
            return Err(err("name", format!("must be a string, not {v}")));
        }
    }
    let side = |field: &'static str| -> Result<Matcher, InhibitError> {
        let v = t.get(field).ok_or_else(|| {
            err(
                field,
                format!(
                    "missing: e.g. {field} = {{ kind = \"stale\" }} (keys: rule, severity, kind)"
                ),
            )
        })?;
        let tab = v.as_table().ok_or_else(|| {
            err(
                field,
                format!("must be a table like {{ kind = \"stale\" }}, not {v}"),
            )
        })?;
        let mut m = Matcher::default();
        for (k, v) in tab {
            let f = format!("{field}.{k}");
            let values = strings(v).ok_or_else(|| {
                err(
                    &f,
                    format!("must be a string or a list of strings, not {v}"),
                )
            })?;
            match k.as_str() {
                "rule" => m.rules = Some(values),
                "severity" => {
                    let mut out = Vec::new();
                    for s in &values {
                        out.push(match s.as_str() {
                            "info" => Severity::Info,
                            "warning" => Severity::Warning,
                            "critical" => Severity::Critical,
                            other => {
                                return Err(err(
                                    &f,
                                    format!("{other:?} is not one of info, warning, critical"),
                                ))
                            }
                        });
                    }
                    m.severities = Some(out);
                }
                "kind" => {
                    if let Some(bad) = values.iter().find(|s| {
                        !["threshold", "anomaly", "stale", "forecast"].contains(&s.as_str())
                    }) {
                        return Err(err(
                            &f,
                            format!("{bad:?} is not one of threshold, anomaly, stale, forecast"),
                        ));
                    }
                    m.kinds = Some(values);
                }
                _ => {
                    return Err(err(
                        &f,
                        "unknown matcher; expected rule, severity or kind".into(),
                    ))
                }
            }
        }
        if m == Matcher::default() {
            return Err(err(
                field,
                "matches every alert; give at least one of rule, severity, kind".into(),
            ));
        }
        Ok(m)
    };
    let source = side("source")?;
    let target = side("target")?;
    let equal = match t.get("equal") {
        None => Vec::new(),
        Some(v) => {
            let names = strings(v)
                .ok_or_else(|| err("equal", format!("must be a list of labels, not {v}")))?;
            names
                .iter()
                .map(|n| {
                    Label::parse(n).ok_or_else(|| {
                        err(
                            "equal",
                            format!("{n:?} is not a label; labels are rule, host, severity, kind"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?
        }
    };
    Ok(InhibitRule {
        name: label,
        source,
        target,
        equal,
    })
}

fn strings(v: &toml::Value) -> Option<Vec<String>> {
    match v {
        toml::Value::String(s) => Some(vec![s.clone()]),
        toml::Value::Array(a) => a.iter().map(|x| x.as_str().map(String::from)).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> Result<InhibitRule, InhibitError> {
        parse(2, &text.parse::<toml::Table>().unwrap())
    }

    #[test]
    fn entries_parse_and_errors_name_entry_and_field() {
        let r = entry(
            "name = \"crit\"\nsource = { severity = \"critical\" }\n\
             target = { severity = [\"warning\", \"info\"], rule = \"cpu\" }\nequal = [\"host\"]",
        )
        .unwrap();
        assert_eq!(r.name, "crit");
        assert_eq!(r.source.severities, Some(vec![Severity::Critical]));
        assert_eq!(r.target.rules, Some(vec!["cpu".to_string()]));
        assert_eq!(r.equal, [Label::Host]);

        let e =
            entry("source = { kind = \"stail\" }\ntarget = { kind = \"anomaly\" }").unwrap_err();
        assert_eq!(
            (e.entry.as_str(), e.field.as_str()),
            ("inhibit #3", "source.kind")
        );
        assert!(e.message.contains("stail") && e.message.contains("threshold"));
        assert!(
            e.to_string().contains("\"inhibit #3\"") && e.to_string().contains("`source.kind`")
        );

        let e = entry("name = \"x\"\nsource = { kind = \"stale\" }").unwrap_err();
        assert_eq!((e.entry.as_str(), e.field.as_str()), ("x", "target"));
        let e = entry("name = \"x\"\nsource = { kind = \"stale\" }\ntarget = { colour = \"red\" }")
            .unwrap_err();
        assert_eq!(e.field, "target.colour");
        let e = entry(
            "name = \"x\"\nsource = { kind = \"stale\" }\ntarget = { kind = \"anomaly\" }\nequal = [\"hostname\"]",
        )
        .unwrap_err();
        assert_eq!(e.field, "equal");
        let e =
            entry("name = \"x\"\nsource = { kind = \"stale\" }\ntarget = { severity = \"loud\" }")
                .unwrap_err();
        assert_eq!(e.field, "target.severity");
        let e = entry("name = \"x\"\nsource = {}\ntarget = { kind = \"anomaly\" }").unwrap_err();
        assert_eq!(e.field, "source");
        let e = entry("name = \"x\"\nsourse = { kind = \"stale\" }").unwrap_err();
        assert_eq!(e.field, "sourse");
        let e = entry("name = \"x\"\nsource = { kind = 3 }\ntarget = { kind = \"anomaly\" }")
            .unwrap_err();
        assert_eq!(e.field, "source.kind");
    }
}
