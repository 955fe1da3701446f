//! Rules from two places: the config file's `[alerts]` and rules saved through the API.
//! A saved rule replaces the file's rule of the same name (file rules can be overridden,
//! not deleted); the rest are appended. The server keeps both lists and asks here.

use super::{AlertConfig, ConfigError, Rule, RuleConfig};
use crate::model::RuleView;

impl AlertConfig {
    /// The effective rules: the file's, with `saved` ones replacing same-named ones and
    /// the rest appended; every rule validated (channels included).
    pub fn with_saved(&self, saved: &[RuleConfig]) -> Result<Vec<Rule>, ConfigError> {
        let mut merged = self.clone();
        for r in saved {
            match merged.rules.iter_mut().find(|f| f.name == r.name) {
                Some(slot) => *slot = r.clone(),
                None => merged.rules.push(r.clone()),
            }
        }
        merged.rules()
    }
}

/// The views of `rules` (the engine's effective rules) given the file's and the
/// saved rule configs.
pub fn rule_views(file: &AlertConfig, saved: &[RuleConfig], rules: &[Rule]) -> Vec<RuleView> {
    rules
        .iter()
        .map(|r| {
            let name = Some(r.name.clone());
            let from_file = file.rules.iter().find(|c| c.name == name);
            let from_api = saved.iter().find(|c| c.name == name);
            let source = match (from_file, from_api) {
                (Some(_), Some(_)) => "file+api",
                (None, Some(_)) => "api",
                _ => "file",
            };
            RuleView {
                rule: r.clone(),
                describe: r.describe(),
                source: source.to_string(),
                config: from_api.or(from_file).cloned().unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_listed_with_their_source_and_editable_form() {
        let file = AlertConfig::from_toml(
            "[[rules]]\nname = \"cpu\"\ncondition = \"cpu_usage > 90\"\n\
             [[rules]]\nname = \"stalled\"\nkind = \"stale\"\n",
        )
        .unwrap();
        let saved: Vec<RuleConfig> = vec![
            serde_json::from_str(r#"{"name":"cpu","condition":"cpu_usage > 95","enabled":false}"#)
                .unwrap(),
            serde_json::from_str(r#"{"name":"disk","condition":"disk_free_percent < 5"}"#).unwrap(),
        ];
        let rules = file.with_saved(&saved).unwrap();
        let views = rule_views(&file, &saved, &rules);
        let by = |n: &str| views.iter().find(|v| v.rule.name == n).unwrap();
        assert_eq!(views.len(), 3);
        assert_eq!(by("cpu").source, "file+api");
        assert_eq!(
            by("cpu").config.condition.as_deref(),
            Some("cpu_usage > 95")
        );
        assert!(!by("cpu").rule.enabled);
        assert_eq!(by("stalled").source, "file");
        assert_eq!(by("stalled").config.kind.as_deref(), Some("stale"));
        assert_eq!(by("disk").source, "api");
        let json = serde_json::to_value(by("disk")).unwrap();
        assert_eq!(json["name"], "disk");
        assert_eq!(json["source"], "api");
        assert_eq!(json["describe"], "disk_free_percent < 5");
        assert_eq!(json["config"]["condition"], "disk_free_percent < 5");
    }
}
