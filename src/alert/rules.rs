//! Alert rules: what to watch and when it counts as a problem.
//!
//! Rules are written by people in a TOML file (and later edited through the API), so
//! parsing is deliberately forgiving in shape but strict in meaning: every error names
//! the rule and the field, and an unknown metric lists the valid names, because the
//! person reading the error is fixing a config file, not reading source code.
//!
//! ```toml
//! [[rules]]
//! name = "cpu-high"
//! severity = "critical"           # info | warning | critical (default warning)
//! condition = "cpu_usage > 90 for 5m and anomalous"
//! resolve = 80                    # optional hysteresis: clears only at <= 80
//!
//! [[rules]]
//! name = "anomaly"
//! kind = "anomaly"
//! min_score = 4                   # optional surprise (0.9999 also reads as 4); default: the detector's threshold
//! for = "1m"
//!
//! [[rules]]
//! name = "disk-filling"
//! kind = "forecast"               # implied by `within`
//! condition = "disk_free_percent < 5 within 24h"
//!
//! [[rules]]
//! name = "sampler-stalled"
//! kind = "stale"
//! intervals = 5                   # no sample for 5 sampling intervals
//!
//! [[rules]]
//! name = "web-cpu"
//! condition = "cpu_usage > 80 for 2m"
//! hosts = ["web-*", "db-1"]       # only these hosts (names or globs); default: every host
//! ```

pub use crate::model::alerts::{
    ForecastRule, Op, Rule, RuleConfig, RuleKind, Severity, ThresholdRule,
};
use crate::model::{self, TimestampMs};

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }

    pub fn holds(self, v: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => v > threshold,
            Op::Ge => v >= threshold,
            Op::Lt => v < threshold,
            Op::Le => v <= threshold,
        }
    }

    fn is_upper(self) -> bool {
        matches!(self, Op::Gt | Op::Ge)
    }
}

impl ThresholdRule {
    /// The entry condition.
    pub fn triggered(&self, v: f64) -> bool {
        self.op.holds(v, self.value)
    }

    /// The exit condition of a firing alert (see [`ThresholdRule::resolve`]).
    pub fn cleared(&self, v: f64) -> bool {
        match self.resolve {
            Some(r) if self.op.is_upper() => v <= r,
            Some(r) => v >= r,
            None => !self.triggered(v),
        }
    }
}

impl Rule {
    /// The kind's name, as notifications carry it.
    pub fn kind_name(&self) -> model::RuleKindName {
        match self.kind {
            RuleKind::Anomaly { .. } => model::RuleKindName::Anomaly,
            RuleKind::Threshold(_) => model::RuleKindName::Threshold,
            RuleKind::Stale { .. } => model::RuleKindName::Stale,
            RuleKind::Forecast(_) => model::RuleKindName::Forecast,
        }
    }

    /// Whether the rule watches `host`: it names no host (every host), or one of its
    /// names or glob patterns matches the whole name.
    pub fn applies_to(&self, host: &str) -> bool {
        self.hosts.is_empty() || self.hosts.iter().any(|p| glob_match(p, host))
    }

    /// One line for messages and the UI, e.g. `cpu_usage > 90 for 5m` (with `on web-*,
    /// db-1` when it names hosts).
    pub fn describe(&self) -> String {
        let what = self.describe_condition();
        if self.hosts.is_empty() {
            what
        } else {
            format!("{what} on {}", self.hosts.join(", "))
        }
    }

    fn describe_condition(&self) -> String {
        match &self.kind {
            RuleKind::Anomaly { min_score, for_ms } => {
                let s =
                    min_score.map_or("anomalous".to_string(), |m| format!("anomaly score >= {m}"));
                format!("{s} for {}", format_duration(*for_ms))
            }
            RuleKind::Threshold(t) => {
                let mut s = format!("{} {} {}", t.metric, t.op.as_str(), t.value);
                if t.for_ms > 0 {
                    s += &format!(" for {}", format_duration(t.for_ms));
                }
                if t.and_anomalous {
                    s += " and anomalous";
                }
                s
            }
            RuleKind::Stale { intervals } => format!("no sample for {intervals} intervals"),
            RuleKind::Forecast(f) => format!(
                "{} {} {} within {} (forecast)",
                f.metric,
                f.op.as_str(),
                f.value,
                format_duration(f.within_ms)
            ),
        }
    }
}

/// A rule that does not make sense, naming the rule and the field to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alert rule {rule:?}, field `{field}`: {message}")]
pub struct RuleError {
    pub rule: String,
    pub field: &'static str,
    pub message: String,
}

impl RuleConfig {
    /// Validates and compiles the rule. `index` names unnamed rules ("rule #3").
    pub fn parse(&self, index: usize) -> Result<Rule, RuleError> {
        let label = self
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("rule #{}", index + 1));
        let err = |field: &'static str, message: String| RuleError {
            rule: label.clone(),
            field,
            message,
        };
        let name = self
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| err("name", "every rule needs a non-empty name".into()))?;
        let severity = match self.severity.as_deref() {
            None => Severity::default(),
            Some("info") => Severity::Info,
            Some("warning") => Severity::Warning,
            Some("critical") => Severity::Critical,
            Some(other) => {
                return Err(err(
                    "severity",
                    format!("{other:?} is not one of info, warning, critical"),
                ))
            }
        };
        let for_ms = match &self.for_ {
            Some(s) => parse_duration(s).map_err(|m| err("for", m))?,
            None => 0,
        };
        let kind_name = self.kind.as_deref().unwrap_or(match &self.condition {
            Some(c) if c.split_whitespace().any(|w| w == "within") => "forecast",
            Some(_) => "threshold",
            None => "",
        });
        let kind = match kind_name {
            "threshold" => {
                let text = self
                    .condition
                    .as_deref()
                    .ok_or_else(|| err("condition", "a threshold rule needs a condition".into()))?;
                let mut t = parse_condition(text).map_err(|m| err("condition", m))?;
                if self.for_.is_some() {
                    if t.for_ms != 0 {
                        return Err(err("for", "given both here and in the condition".into()));
                    }
                    t.for_ms = for_ms;
                }
                t.and_anomalous |= self.and_anomalous.unwrap_or(false);
                if let Some(r) = self.resolve {
                    let wrong_side = if t.op.is_upper() {
                        r > t.value
                    } else {
                        r < t.value
                    };
                    if !r.is_finite() || wrong_side {
                        return Err(err(
                            "resolve",
                            format!(
                                "{r} must be on the clear side of the threshold {} {}",
                                t.op.as_str(),
                                t.value
                            ),
                        ));
                    }
                    t.resolve = Some(r);
                }
                RuleKind::Threshold(t)
            }
            "anomaly" => {
                if let Some(s) = self.min_score {
                    if !s.is_finite() || s < 0.0 || s == 1.0 {
                        return Err(err(
                            "min_score",
                            format!(
                                "{s} is not a score: write a surprise (-log10 of the per-sample \
                                 probability, e.g. 4) or a number in [0, 1) such as 0.9999"
                            ),
                        ));
                    }
                }
                RuleKind::Anomaly {
                    // 0.9999 (the older "1 - p" form) means surprise 4.
                    min_score: self.min_score.map(crate::detect::surprise_from_setting),
                    for_ms,
                }
            }
            "stale" => {
                let intervals = self.intervals.unwrap_or(3);
                if intervals == 0 {
                    return Err(err("intervals", "must be at least 1".into()));
                }
                RuleKind::Stale { intervals }
            }
            "forecast" => {
                let text = self
                    .condition
                    .as_deref()
                    .ok_or_else(|| err("condition", "a forecast rule needs a condition".into()))?;
                if self.for_.is_some() || self.resolve.is_some() {
                    let field = if self.for_.is_some() {
                        "for"
                    } else {
                        "resolve"
                    };
                    return Err(err(
                        field,
                        "not used by forecast rules: the trend already ignores blips".into(),
                    ));
                }
                RuleKind::Forecast(parse_forecast_condition(text).map_err(|m| err("condition", m))?)
            }
            "" => {
                return Err(err(
                    "kind",
                    "missing: set kind = \"anomaly\" | \"stale\" or a threshold condition".into(),
                ))
            }
            other => {
                return Err(err(
                    "kind",
                    format!("{other:?} is not one of threshold, forecast, anomaly, stale"),
                ))
            }
        };
        let hosts = self.hosts.clone().unwrap_or_default();
        for h in &hosts {
            check_host_pattern(h).map_err(|m| err("hosts", m))?;
        }
        Ok(Rule {
            name,
            severity,
            enabled: self.enabled.unwrap_or(true),
            channels: self.channels.clone().unwrap_or_default(),
            hosts,
            kind,
        })
    }
}

/// A host name or glob pattern: 1 to 253 characters of letters, digits, `.`, `-`,
/// `_`, and the wildcards `*` and `?`.
fn check_host_pattern(p: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*' | '?');
    if p.is_empty() || p.len() > 253 {
        return Err(format!(
            "{p:?}: a host name or pattern has 1 to 253 characters"
        ));
    }
    match p.chars().find(|c| !ok_char(*c)) {
        Some(c) => Err(format!(
            "{p:?}: {c:?} is not allowed (letters, digits, `.`, `-`, `_`, and the wildcards `*` and `?`)"
        )),
        None => Ok(()),
    }
}

/// Whether the glob `pattern` matches all of `name` (`*` any run of characters,
/// `?` one character; case ignored, as host names are). Iterative, with one
/// backtrack point: linear in practice, never exponential.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let n: Vec<char> = name.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Parses `metric op value [for duration] [and anomalous]`.
pub fn parse_condition(text: &str) -> Result<ThresholdRule, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let usage = "expected `metric op value [for 5m] [and anomalous]`, e.g. `cpu_usage > 90 for 5m`";
    if words.len() < 3 {
        return Err(format!("{text:?}: {usage}"));
    }
    let metric = words[0];
    if model::metric_def(metric).is_none() {
        let names: Vec<&str> = model::METRICS.iter().map(|d| d.name).collect();
        return Err(format!(
            "unknown metric {metric:?}; valid metrics: {}",
            names.join(", ")
        ));
    }
    let op = match words[1] {
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        other => return Err(format!("operator {other:?} is not one of >, >=, <, <=")),
    };
    let value: f64 = words[2]
        .trim_end_matches('%')
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("threshold {:?} is not a number", words[2]))?;
    let mut t = ThresholdRule {
        metric: metric.to_string(),
        op,
        value,
        for_ms: 0,
        resolve: None,
        and_anomalous: false,
    };
    let mut rest = &words[3..];
    while !rest.is_empty() {
        match rest {
            ["for", d, tail @ ..] => {
                t.for_ms = parse_duration(d)?;
                rest = tail;
            }
            ["and", "anomalous", tail @ ..] => {
                t.and_anomalous = true;
                rest = tail;
            }
            _ => return Err(format!("unexpected {:?}: {usage}", rest.join(" "))),
        }
    }
    Ok(t)
}

/// Parses `metric op value within duration` (a forecast rule's condition).
pub fn parse_forecast_condition(text: &str) -> Result<ForecastRule, String> {
    let usage =
        "expected `metric op value within horizon`, e.g. `disk_free_percent < 5 within 24h`";
    let words: Vec<&str> = text.split_whitespace().collect();
    let [m, op, v, "within", h] = words.as_slice() else {
        return Err(format!("{text:?}: {usage}"));
    };
    let t = parse_condition(&format!("{m} {op} {v}"))?;
    let within_ms = parse_duration(h)?;
    let (lo, hi) = (
        crate::forecast::MIN_HORIZON_MS,
        crate::forecast::MAX_HORIZON_MS,
    );
    if !(lo..=hi).contains(&within_ms) {
        return Err(format!(
            "horizon {h} is out of range: from {} to {}",
            format_duration(lo),
            format_duration(hi)
        ));
    }
    Ok(ForecastRule {
        metric: t.metric,
        op: t.op,
        value: t.value,
        within_ms,
    })
}

/// Parses a duration into milliseconds: the one grammar of [`crate::time`] (`30s`,
/// `5m`, `1h30m`, `2w`; a unit is required), with its message as the error.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    crate::time::parse_duration_ms(s).map_err(|e| e.to_string())
}

/// The inverse of [`parse_duration`] in whole units (for messages).
pub fn format_duration(ms: TimestampMs) -> String {
    crate::time::format_duration_ms(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(toml_text: &str) -> Result<Rule, RuleError> {
        let c: RuleConfig = toml::from_str(toml_text).unwrap();
        c.parse(0)
    }

    #[test]
    fn threshold_rules_parse_with_hysteresis_and_gating() {
        let r = rule(
            "name = \"cpu\"\nseverity = \"critical\"\n\
             condition = \"cpu_usage > 90 for 5m and anomalous\"\nresolve = 80",
        )
        .unwrap();
        assert_eq!(r.severity, Severity::Critical);
        let RuleKind::Threshold(t) = &r.kind else {
            panic!()
        };
        assert_eq!((t.op, t.value, t.for_ms), (Op::Gt, 90.0, 300_000));
        assert!(t.and_anomalous && t.triggered(91.0) && !t.cleared(85.0) && t.cleared(80.0));
        assert_eq!(r.describe(), "cpu_usage > 90 for 5m and anomalous");

        let r = rule("name = \"disk\"\ncondition = \"disk_free_percent < 10 for 1m\"").unwrap();
        let RuleKind::Threshold(t) = &r.kind else {
            panic!()
        };
        assert!(t.triggered(5.0) && t.cleared(10.0) && !t.cleared(9.9));
        assert!(r.enabled);
    }

    #[test]
    fn errors_name_the_rule_and_the_field() {
        let e = rule("name = \"x\"\ncondition = \"cpu_usag > 90\"").unwrap_err();
        assert_eq!((e.rule.as_str(), e.field), ("x", "condition"));
        assert!(e.message.contains("cpu_usage") && e.message.contains("disk_free_percent"));
        assert!(e.to_string().contains("\"x\"") && e.to_string().contains("`condition`"));

        let e = rule("name = \"y\"\ncondition = \"cpu_usage > 90\"\nresolve = 95").unwrap_err();
        assert_eq!(e.field, "resolve");
        let e = rule("name = \"z\"\nkind = \"anomaly\"\nfor = \"5 minutes\"").unwrap_err();
        assert_eq!((e.rule.as_str(), e.field), ("z", "for"));
        let e = rule("name = \"s\"\nseverity = \"loud\"\nkind = \"stale\"").unwrap_err();
        assert_eq!(e.field, "severity");
        let e = rule("condition = \"cpu_usage > 1\"").unwrap_err();
        assert_eq!((e.rule.as_str(), e.field), ("rule #1", "name"));
        let e = rule("name = \"k\"\nkind = \"magic\"").unwrap_err();
        assert_eq!(e.field, "kind");
        let e = rule("name = \"c\"\ncondition = \"cpu_usage >> 1\"").unwrap_err();
        assert_eq!(e.field, "condition");
    }

    #[test]
    fn forecast_rules_parse_and_say_what_is_wrong() {
        let r = rule("name = \"f\"\ncondition = \"disk_free_percent < 5 within 24h\"").unwrap();
        let RuleKind::Forecast(f) = &r.kind else {
            panic!("{r:?}")
        };
        assert_eq!((f.op, f.value, f.within_ms), (Op::Lt, 5.0, 86_400_000));
        assert_eq!(r.describe(), "disk_free_percent < 5 within 1d (forecast)");
        let r =
            rule("name = \"f\"\nkind = \"forecast\"\ncondition = \"swap_usage > 90 within 6h\"");
        assert!(matches!(r.unwrap().kind, RuleKind::Forecast(_)));
        let e = rule("name = \"f\"\nkind = \"forecast\"\ncondition = \"disk_free_percent < 5\"")
            .unwrap_err();
        assert!(e.message.contains("within horizon"), "{e}");
        let e = rule("name = \"f\"\ncondition = \"disk_free_percent < 5 within 90d\"").unwrap_err();
        assert!(e.message.contains("out of range"), "{e}");
        let e = rule("name = \"f\"\ncondition = \"disk_free < 5 within 1d\"").unwrap_err();
        assert!(e.message.contains("unknown metric"), "{e}");
        let e = rule("name = \"f\"\ncondition = \"disk_free_percent < 5 within 1d\"\nfor = \"5m\"")
            .unwrap_err();
        assert_eq!(e.field, "for");
    }

    #[test]
    fn durations_round_trip() {
        for s in ["500ms", "30s", "5m", "4h", "1d"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
        assert!(parse_duration("5").is_err() && parse_duration("m").is_err());
        // Weeks are part of the one grammar (crate::time) since it is shared.
        assert_eq!(parse_duration("3w"), Ok(3 * 7 * 86_400_000));
    }
}
