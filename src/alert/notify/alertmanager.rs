//! Alertmanager: `POST {url}/api/v2/alerts` with one alert per notification, so an
//! existing Alertmanager routes, groups, silences and inhibits Lookout's alerts with
//! everything else.
//!
//! Labels: `alertname` (the rule), `host`, `severity`, `kind` (`anomaly`, `threshold`,
//! `forecast`, `stale` or `test`). Annotations: `summary` (the subject line), `explanation` (the
//! plain-text body: values against the normal band, top metrics and processes),
//! `condition`, `dashboard` (the link). `generatorURL` is the dashboard link too.
//!
//! Firing: `startsAt` = when it fired, `endsAt` = now + `firing_ttl` (24 h by default),
//! so an alert whose resolve never arrives (Lookout gone for good) still expires.
//! Resolved: the same labels with `endsAt` = the resolve time, which Alertmanager
//! takes as the resolution. Delivery goes through the outbox like every channel: a
//! dead Alertmanager delays the post, retried with backoff, never loses it.

use super::secret::{read_file, Secret};
use super::{Notification, Notifier, NotifyError};
use crate::alert::notification::NotificationKind;
use crate::alert::render;
use crate::model::{RuleKindName, TimestampMs};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// `[[channels]] type = "alertmanager"`. Auth is optional: a bearer token or basic
/// auth (`username` + password), each secret from an environment variable or a file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    pub name: String,
    /// Alertmanager's base URL, e.g. `http://alertmanager:9093`.
    pub url: String,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub bearer_token_env: Option<String>,
    pub bearer_token_file: Option<PathBuf>,
    /// How long a firing alert stays active in Alertmanager without a resolve
    /// (default "24h").
    pub firing_ttl: Option<String>,
    pub timeout_secs: Option<u64>,
}

pub struct AlertmanagerNotifier {
    config: AlertmanagerConfig,
    endpoint: String,
    authorization: Option<Secret>,
    firing_ttl_ms: i64,
    agent: ureq::Agent,
}

fn secret(
    what: &str,
    env: &Option<String>,
    file: &Option<PathBuf>,
    key: &str,
) -> Result<Option<Secret>, NotifyError> {
    match (env, file) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(NotifyError::Config(format!(
            "{what}: set one of {key}_env and {key}_file, not both"
        ))),
        (Some(var), None) => std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| Some(Secret::new(v)))
            .ok_or_else(|| {
                NotifyError::Config(format!("{what}: environment variable {var} is not set"))
            }),
        (None, Some(p)) => read_file(p)
            .map(|v| Some(Secret::new(v)))
            .map_err(|e| NotifyError::Config(format!("{what}: {e}"))),
    }
}

impl AlertmanagerNotifier {
    pub fn new(config: AlertmanagerConfig) -> Result<AlertmanagerNotifier, NotifyError> {
        let what = format!("alertmanager channel {:?}", config.name);
        let url = config.url.trim().trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(NotifyError::Config(format!(
                "{what}: url {url:?} must start with http:// or https://"
            )));
        }
        let password = secret(
            &what,
            &config.password_env,
            &config.password_file,
            "password",
        )?;
        let bearer = secret(
            &what,
            &config.bearer_token_env,
            &config.bearer_token_file,
            "bearer_token",
        )?;
        let authorization = match (&config.username, password, bearer) {
            (_, Some(_), Some(_)) | (Some(_), _, Some(_)) => {
                return Err(NotifyError::Config(format!(
                    "{what}: set basic auth (username + password) or a bearer token, not both"
                )))
            }
            (Some(u), Some(p), None) => {
                use base64::Engine;
                let pair = format!("{u}:{}", p.expose());
                Some(Secret::new(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )))
            }
            (Some(_), None, None) | (None, Some(_), None) => {
                return Err(NotifyError::Config(format!(
                    "{what}: basic auth needs both username and password_env/password_file"
                )))
            }
            (None, None, Some(t)) => Some(Secret::new(format!("Bearer {}", t.expose()))),
            (None, None, None) => None,
        };
        let ttl = config.firing_ttl.as_deref().unwrap_or("24h");
        let firing_ttl_ms = match crate::time::parse_duration_ms(ttl) {
            Ok(ms) if ms > 0 => ms,
            _ => {
                return Err(NotifyError::Config(format!(
                    "{what}: firing_ttl {ttl:?} is not a duration above 0 such as \"24h\""
                )))
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(config.timeout_secs.unwrap_or(15))))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(AlertmanagerNotifier {
            endpoint: format!("{url}/api/v2/alerts"),
            config,
            authorization,
            firing_ttl_ms,
            agent,
        })
    }

    /// The request body: a JSON array of postable alerts (none for an inhibited entry).
    pub fn payload(&self, n: &Notification) -> Value {
        let alert = |kind: NotificationKind,
                     rule: &str,
                     rule_kind: &str,
                     severity: &str,
                     since: TimestampMs| {
            let ends = match kind {
                NotificationKind::Resolved => n.at,
                // A test alert shows up in Alertmanager and goes away by itself.
                NotificationKind::Test => n.at + 5 * 60_000,
                _ => n.at + self.firing_ttl_ms,
            };
            json!({
                "labels": {
                    "alertname": rule,
                    "host": n.host,
                    "severity": severity,
                    "kind": rule_kind,
                },
                "annotations": {
                    "summary": n.subject(),
                    "explanation": render::text(n),
                    "condition": n.condition,
                    "dashboard": n.dashboard_link,
                },
                "startsAt": rfc3339(since),
                "endsAt": rfc3339(ends.max(since)),
                "generatorURL": n.dashboard_link,
            })
        };
        let alerts: Vec<Value> = match n.kind {
            NotificationKind::Inhibited => Vec::new(),
            NotificationKind::Test => vec![alert(
                NotificationKind::Test,
                "LookoutTest",
                "test",
                n.severity.as_str(),
                n.at,
            )],
            NotificationKind::Firing | NotificationKind::Resolved => vec![alert(
                n.kind,
                &n.rule,
                kind_label(n.rule_kind),
                n.severity.as_str(),
                n.since,
            )],
            // Alertmanager groups by itself: the held-back notifications go as alerts.
            NotificationKind::Digest => n
                .digest
                .iter()
                .map(|d| {
                    let kind = kind_label(d.rule_kind);
                    alert(d.kind, &d.rule, kind, d.severity.as_str(), d.since)
                })
                .collect(),
        };
        Value::Array(alerts)
    }
}

/// The `kind` label: the rule's kind as the notification carries it ("unknown" only for
/// notifications queued by a version that did not record it).
fn kind_label(kind: Option<RuleKindName>) -> &'static str {
    kind.map_or("unknown", RuleKindName::as_str)
}

/// `2026-12-04T15:30:00.123Z`.
pub fn rfc3339(ms: TimestampMs) -> String {
    let civil = render::format_time(ms); // "2026-12-04 15:30:00 UTC"
    let civil = civil.trim_end_matches(" UTC").replacen(' ', "T", 1);
    format!("{civil}.{:03}Z", ms.rem_euclid(1000))
}

impl Notifier for AlertmanagerNotifier {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let body = self.payload(n);
        if body.as_array().is_some_and(Vec::is_empty) {
            return Ok(());
        }
        let body = serde_json::to_vec(&body)
            .map_err(|e| NotifyError::Config(format!("cannot encode payload: {e}")))?;
        let mut req = self
            .agent
            .post(&self.endpoint)
            .header("Content-Type", "application/json")
            .header("User-Agent", "lookout-alerts");
        if let Some(a) = &self.authorization {
            req = req.header("Authorization", a.expose());
        }
        let mut resp = req
            .send(&body[..])
            .map_err(|e| NotifyError::Delivery(format!("POST {}: {e}", self.endpoint)))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let text: String = resp
            .body_mut()
            .read_to_string()
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        Err(NotifyError::Delivery(format!(
            "POST {}: HTTP status {status}: {}",
            self.endpoint,
            text.trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Notification {
        Notification {
            explanation: None,
            ..Notification::example()
        }
    }

    fn notifier(extra: &str) -> Result<AlertmanagerNotifier, NotifyError> {
        let c: AlertmanagerConfig = toml::from_str(&format!(
            "name = \"am\"\nurl = \"http://127.0.0.1:9093/\"\n{extra}"
        ))
        .unwrap();
        AlertmanagerNotifier::new(c)
    }

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(rfc3339(1_764_088_697_123), "2025-11-25T16:38:17.123Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn firing_and_resolved_carry_the_labels_and_the_resolve_ends_now() {
        let am = notifier("").unwrap();
        assert_eq!(am.endpoint, "http://127.0.0.1:9093/api/v2/alerts");
        let mut n = example();
        n.kind = NotificationKind::Firing;
        let fired = am.payload(&n);
        let a = &fired[0];
        assert_eq!(a["labels"]["alertname"], n.rule.as_str());
        assert_eq!(a["labels"]["host"], n.host.as_str());
        assert_eq!(a["labels"]["severity"], n.severity.as_str());
        assert_eq!(a["labels"]["kind"], "threshold");
        assert_eq!(a["generatorURL"], n.dashboard_link.as_str());
        assert_eq!(a["endsAt"], rfc3339(n.at + 24 * 3_600_000));
        n.kind = NotificationKind::Resolved;
        assert_eq!(am.payload(&n)[0]["endsAt"], rfc3339(n.at));
        n.kind = NotificationKind::Inhibited;
        assert_eq!(am.payload(&n), json!([]));
        // The kind is the one the notification carries, whatever the condition says.
        n.kind = NotificationKind::Firing;
        n.rule_kind = Some(RuleKindName::Forecast);
        assert_eq!(am.payload(&n)[0]["labels"]["kind"], "forecast");
        n.rule_kind = Some(RuleKindName::Anomaly);
        n.condition = "no sample for 3 intervals".into();
        assert_eq!(am.payload(&n)[0]["labels"]["kind"], "anomaly");
        // Queued by a version that did not record the kind: said, not guessed.
        n.rule_kind = None;
        assert_eq!(am.payload(&n)[0]["labels"]["kind"], "unknown");
    }

    #[test]
    fn bad_channels_are_refused() {
        let c: AlertmanagerConfig = toml::from_str("name = \"am\"\nurl = \"am:9093\"").unwrap();
        assert!(AlertmanagerNotifier::new(c).is_err());
        assert!(notifier("firing_ttl = \"0s\"").is_err());
        assert!(notifier("username = \"u\"").is_err());
        assert!(notifier("bearer_token_env = \"LOOKOUT_TEST_AM_UNSET\"").is_err());
    }
}
