//! Delivery channels. A [`Notifier`] sends one notification, blocking, and says
//! whether it worked; retrying is the outbox's job, not the channel's, so a channel
//! never loops or sleeps (the server calls it from `spawn_blocking`).

mod alertmanager;
mod email;
mod secret;
mod webhook;

pub use alertmanager::{AlertmanagerConfig, AlertmanagerNotifier};
pub use email::{EmailConfig, EmailNotifier, TlsMode};
pub(crate) use secret::read_file as read_secret_file;
pub use secret::Secret;
pub use webhook::{sign, WebhookConfig, WebhookFormat, WebhookNotifier, SIGNATURE_HEADER};

use super::notification::Notification;
use serde::Deserialize;

/// A failed delivery. Messages never contain credentials, secrets or full webhook
/// URLs (which embed tokens for Slack and most chat services): they are stored in
/// alert history and shown in the UI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// The channel is misconfigured; retrying will not help until the config changes
    /// (the outbox still retries, as the config may be fixed and reloaded).
    #[error("channel configuration: {0}")]
    Config(String),
    /// The remote side failed or was unreachable; worth retrying.
    #[error("delivery failed: {0}")]
    Delivery(String),
}

/// A delivery channel (see the module docs).
pub trait Notifier: Send + Sync {
    /// The channel's configured name (the outbox routes rows by it).
    fn name(&self) -> &str;
    fn send(&self, n: &Notification) -> Result<(), NotifyError>;
}

/// One `[[channels]]` entry of the alert config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChannelConfig {
    Email(EmailConfig),
    Webhook(WebhookConfig),
    Alertmanager(AlertmanagerConfig),
}

impl ChannelConfig {
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Email(c) => &c.name,
            ChannelConfig::Webhook(c) => &c.name,
            ChannelConfig::Alertmanager(c) => &c.name,
        }
    }

    /// Builds the notifier, reading credentials from the environment or files now
    /// so a missing secret is reported at startup rather than at the first alert.
    pub fn build(&self) -> Result<Box<dyn Notifier>, NotifyError> {
        Ok(match self {
            ChannelConfig::Email(c) => Box::new(EmailNotifier::new(c.clone())?),
            ChannelConfig::Webhook(c) => Box::new(WebhookNotifier::new(c.clone())?),
            ChannelConfig::Alertmanager(c) => Box::new(AlertmanagerNotifier::new(c.clone())?),
        })
    }
}
