//! Webhooks: a documented generic JSON payload, or a Slack-compatible one.
//!
//! Generic payload (`format = "json"`, Content-Type `application/json`):
//!
//! ```json
//! {
//!   "version": 1,
//!   "id": "cpu-high|web1|firing|1764088697000",  // dedup key: same id = same message
//!   "kind": "firing",                // firing | resolved | digest | test
//!   "rule": "cpu-high",
//!   "condition": "cpu_usage > 90 for 5m",
//!   "host": "web1",
//!   "severity": "critical",          // info | warning | critical
//!   "since": 1764088697000,          // ms since epoch, UTC: when it fired
//!   "at": 1764088727000,             // ms: when this message was produced
//!   "subject": "[CRITICAL] FIRING cpu-high on web1",
//!   "text": "...plain-text body...",
//!   "values": [{"metric": "cpu_usage", "value": 97.5, "threshold": 90.0,
//!               "normal_low": 3.0, "normal_high": 40.0}],
//!   "explanation": {"metrics": [{"metric", "value", "normal_low", "normal_high",
//!                   "contribution"}], "top_cpu": [{"pid", "name", "cpu_percent",
//!                   "rss_bytes"}], "top_memory": [...]} | null,
//!   "dashboard_link": "http://host:3000/?host=web1&from=...&to=...",
//!   "digest": [{"kind", "rule", "host", "severity", "since"}]  // digests only
//! }
//! ```
//!
//! With a `secret`, the request carries `X-Lookout-Signature: sha256=<hex>`, the
//! HMAC-SHA256 of the exact body bytes with the shared secret, so the receiver can
//! reject forged or altered calls.

use super::secret::{read_file, Secret};
use super::{Notification, Notifier, NotifyError};
use crate::alert::render;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::path::PathBuf;
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "X-Lookout-Signature";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    #[default]
    Json,
    Slack,
}

/// `[[channels]] type = "webhook"`. The URL often embeds a token (Slack), so it
/// can come from `url_env` / `url_file` instead of the config, and it is redacted
/// from Debug output and errors. The signing secret comes from `secret_env` (an
/// environment variable name) or `secret_file`.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub name: String,
    pub url: Option<Secret>,
    pub url_env: Option<String>,
    pub url_file: Option<PathBuf>,
    #[serde(default)]
    pub format: WebhookFormat,
    pub secret_env: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub timeout_secs: Option<u64>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("url", &self.url.as_ref().map(|u| redact_url(u.expose())))
            .field("url_env", &self.url_env)
            .field("url_file", &self.url_file)
            .field("format", &self.format)
            .field("secret_env", &self.secret_env)
            .field("secret_file", &self.secret_file)
            .finish()
    }
}

/// `https://hooks.slack.com/services/T/B/x` -> `https://hooks.slack.com/***`.
pub fn redact_url(url: &str) -> String {
    let rest_at = url.find("://").map_or(0, |i| i + 3);
    let host_end = url[rest_at..].find('/').map_or(url.len(), |i| rest_at + i);
    // Userinfo (user:pass@) is dropped too.
    let host = &url[rest_at..host_end];
    let host = host.rsplit('@').next().unwrap_or(host);
    format!("{}{host}/***", &url[..rest_at])
}

/// `sha256=<hex>` of HMAC-SHA256(secret, body).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

pub struct WebhookNotifier {
    config: WebhookConfig,
    url: Secret,
    secret: Option<Secret>,
    agent: ureq::Agent,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn from_env(var: &str, what: &str) -> Result<Secret, NotifyError> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret::new)
        .ok_or_else(|| {
            NotifyError::Config(format!("{what}: environment variable {var} is not set"))
        })
}

impl WebhookNotifier {
    pub fn new(config: WebhookConfig) -> Result<WebhookNotifier, NotifyError> {
        let what = format!("webhook channel {:?}", config.name);
        let url = match (&config.url, &config.url_env, &config.url_file) {
            (Some(u), None, None) => u.clone(),
            (None, Some(v), None) => from_env(v, &what)?,
            (None, None, Some(p)) => Secret::new(read_file(p).map_err(NotifyError::Config)?),
            _ => {
                return Err(NotifyError::Config(format!(
                    "{what}: set exactly one of url, url_env, url_file"
                )))
            }
        };
        if !(url.expose().starts_with("http://") || url.expose().starts_with("https://")) {
            return Err(NotifyError::Config(format!(
                "{what}: the url must start with http:// or https://"
            )));
        }
        let secret = match (&config.secret_env, &config.secret_file) {
            (Some(v), None) => Some(from_env(v, &what)?),
            (None, Some(p)) => Some(Secret::new(read_file(p).map_err(NotifyError::Config)?)),
            (None, None) => None,
            _ => {
                return Err(NotifyError::Config(format!(
                    "{what}: set at most one of secret_env, secret_file"
                )))
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(config.timeout_secs.unwrap_or(15))))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(WebhookNotifier {
            config,
            url,
            secret,
            agent,
        })
    }

    /// The request body for `n` in this channel's format.
    pub fn payload(&self, n: &Notification) -> Value {
        match self.config.format {
            WebhookFormat::Json => generic_payload(n),
            WebhookFormat::Slack => slack_payload(n),
        }
    }
}

/// The generic payload (schema in the module docs).
pub fn generic_payload(n: &Notification) -> Value {
    json!({
        "version": 1,
        "id": n.id,
        "kind": n.kind,
        "rule": n.rule,
        "condition": n.condition,
        "host": n.host,
        "severity": n.severity,
        "since": n.since,
        "at": n.at,
        "subject": n.subject(),
        "text": render::text(n),
        "values": n.values,
        "explanation": n.explanation,
        "dashboard_link": n.dashboard_link,
        "digest": n.digest,
    })
}

/// Slack incoming-webhook payload: `text` is the notification fallback, `blocks`
/// the rich layout (header, body in mrkdwn, dashboard button).
pub fn slack_payload(n: &Notification) -> Value {
    let body = render::text(n);
    let body: String = body.chars().take(2900).collect(); // Slack's section limit is 3000
    json!({
        "text": n.subject(),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": n.subject().chars().take(150).collect::<String>()}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body}},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open dashboard"},
                 "url": n.dashboard_link}
            ]}
        ]
    })
}

impl Notifier for WebhookNotifier {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let body = serde_json::to_vec(&self.payload(n))
            .map_err(|e| NotifyError::Config(format!("cannot encode payload: {e}")))?;
        let shown = redact_url(self.url.expose());
        let mut req = self
            .agent
            .post(self.url.expose())
            .header("Content-Type", "application/json")
            .header("User-Agent", "lookout-alerts");
        if let Some(secret) = &self.secret {
            req = req.header(SIGNATURE_HEADER, sign(secret.expose().as_bytes(), &body));
        }
        let resp = req.send(&body[..]).map_err(|e| {
            // ureq may quote the URL in its message: replace it with the redacted form.
            let msg = e.to_string().replace(self.url.expose(), &shown);
            NotifyError::Delivery(format!("POST {shown}: {msg}"))
        })?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(NotifyError::Delivery(format!(
                "POST {shown}: HTTP status {status}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_secrets_are_redacted() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/***"
        );
        assert_eq!(
            redact_url("http://u:p@127.0.0.1:9/x"),
            "http://127.0.0.1:9/***"
        );
        let c: WebhookConfig =
            toml::from_str("name = \"w\"\nurl = \"https://h.example/tok3n\"").unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("tok3n") && shown.contains("h.example"),
            "{shown}"
        );
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
