//! Alerting: rules over samples and anomaly events, a clock-driven state machine
//! with Alertmanager-style hygiene (group wait, repeat, cooldown, rate limit,
//! silences), a persistent outbox, and email / webhook channels.
//!
//! Data flow (the server wires it): each scored `Snapshot` and each `AnomalyEvent`
//! go to [`AlertEngine`]; the notifications it returns go to [`outbox::enqueue`]; a
//! worker calls [`outbox::deliver_due`] every few seconds. Everything here is
//! blocking or pure; no async, no web code.

pub mod engine;
#[cfg(test)]
mod forecast_tests;
pub mod inhibit;
pub mod merge;
pub mod notification;
pub mod notify;
pub mod outbox;
pub mod render;
pub mod rules;
#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod tests;

pub use engine::{ActiveAlert, AlertEngine, EngineSettings, Judgement, PersistedState};
pub use inhibit::{InhibitError, InhibitRule};
pub use notification::{DigestEntry, MetricValue, Notification, NotificationKind, Silence};
pub use notify::{ChannelConfig, Notifier, NotifyError, Secret};
pub use outbox::{deliver_due, enqueue, DeliveryReport};
pub use rules::{Rule, RuleConfig, RuleError, RuleKind, Severity};

use serde::Deserialize;

/// The `[alerts]` section of the config file (see docs/configuration.md for an example).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    /// Base URL of the dashboard for links in messages.
    pub dashboard_url: Option<String>,
    /// Durations like "30s", "4h" (see [`rules::parse_duration`]).
    pub group_wait: Option<String>,
    pub repeat_interval: Option<String>,
    pub cooldown: Option<String>,
    pub rate_limit: Option<usize>,
    pub rate_limit_window: Option<String>,
    pub sample_interval: Option<String>,
    pub rules: Vec<RuleConfig>,
    pub channels: Vec<ChannelConfig>,
    /// `[[alerts.inhibit]]` entries (see [`inhibit`]); None = the default (a firing
    /// stale alert inhibits threshold and anomaly alerts of its host), `[]` = off.
    /// Raw tables so that errors name the entry and the field.
    pub inhibit: Option<Vec<toml::Table>>,
}

/// A config error, naming what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("alerts setting `{field}`: {message}")]
    Setting {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Channel(#[from] NotifyError),
    #[error(transparent)]
    Inhibit(#[from] InhibitError),
}

impl AlertConfig {
    /// Parses the section from TOML text (tests, `lookout alerts check`).
    pub fn from_toml(text: &str) -> Result<AlertConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Setting {
            field: "alerts",
            message: e.message().to_string(),
        })
    }

    /// Validates every rule (reporting the first bad one) and that rules name only
    /// configured channels.
    pub fn rules(&self) -> Result<Vec<Rule>, ConfigError> {
        let mut out: Vec<Rule> = Vec::new();
        for (i, c) in self.rules.iter().enumerate() {
            let r = c.parse(i)?;
            if out.iter().any(|o| o.name == r.name) {
                return Err(RuleError {
                    rule: r.name,
                    field: "name",
                    message: "another rule has the same name".into(),
                }
                .into());
            }
            if let Some(ch) = r
                .channels
                .iter()
                .find(|ch| !self.channels.iter().any(|c| c.name() == ch.as_str()))
            {
                return Err(RuleError {
                    rule: r.name.clone(),
                    field: "channels",
                    message: format!("no channel named {ch:?} is configured"),
                }
                .into());
            }
            out.push(r);
        }
        Ok(out)
    }

    /// AlertEngine settings, defaults filled in; `host` is this machine's name.
    pub fn settings(&self, host: &str) -> Result<EngineSettings, ConfigError> {
        let mut s = EngineSettings {
            host: host.to_string(),
            ..EngineSettings::default()
        };
        let dur = |field: &'static str, v: &Option<String>, slot: &mut i64| {
            if let Some(text) = v {
                *slot = rules::parse_duration(text)
                    .map_err(|message| ConfigError::Setting { field, message })?;
            }
            Ok::<(), ConfigError>(())
        };
        dur("group_wait", &self.group_wait, &mut s.group_wait_ms)?;
        dur(
            "repeat_interval",
            &self.repeat_interval,
            &mut s.repeat_interval_ms,
        )?;
        dur("cooldown", &self.cooldown, &mut s.cooldown_ms)?;
        dur(
            "rate_limit_window",
            &self.rate_limit_window,
            &mut s.rate_limit_window_ms,
        )?;
        dur(
            "sample_interval",
            &self.sample_interval,
            &mut s.sample_interval_ms,
        )?;
        if let Some(n) = self.rate_limit {
            if n == 0 {
                return Err(ConfigError::Setting {
                    field: "rate_limit",
                    message: "must be at least 1".into(),
                });
            }
            s.rate_limit_max = n;
        }
        if let Some(u) = &self.dashboard_url {
            s.dashboard_url = u.clone();
        }
        // Checked here too so that start-up's settings check reports a bad
        // `[[alerts.inhibit]]` entry along with the other settings.
        self.inhibit_rules()?;
        Ok(s)
    }

    /// The inhibit rules: the configured entries, or the default when none is set.
    pub fn inhibit_rules(&self) -> Result<Vec<InhibitRule>, ConfigError> {
        match &self.inhibit {
            None => Ok(InhibitRule::default_rules()),
            Some(entries) => Ok(entries
                .iter()
                .enumerate()
                .map(|(i, t)| inhibit::parse(i, t))
                .collect::<Result<_, _>>()?),
        }
    }

    /// The engine for this config.
    pub fn engine(&self, host: &str) -> Result<AlertEngine, ConfigError> {
        let mut e = AlertEngine::new(self.rules()?, self.settings(host)?);
        e.set_inhibit_rules(self.inhibit_rules()?);
        Ok(e)
    }

    /// The channels, with credentials read now (from env or files).
    pub fn notifiers(&self) -> Result<Vec<Box<dyn Notifier>>, ConfigError> {
        let mut out: Vec<Box<dyn Notifier>> = Vec::new();
        for c in &self.channels {
            if out.iter().any(|n| n.name() == c.name()) {
                return Err(ConfigError::Setting {
                    field: "channels",
                    message: format!("two channels are named {:?}", c.name()),
                });
            }
            out.push(c.build()?);
        }
        Ok(out)
    }
}
