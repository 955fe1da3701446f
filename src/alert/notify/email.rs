//! Email over SMTP with `lettre` (blocking transport, rustls for TLS).

use super::secret::{read_file, Secret};
use super::{Notification, Notifier, NotifyError};
use crate::alert::render;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    #[default]
    Starttls,
    /// No encryption: only for a relay on localhost or a trusted network.
    None,
}

/// `[[channels]] type = "email"`.
///
/// Credentials: `credentials_file` (first line user, second line password) if set,
/// else the `EMAIL_USER` / `EMAIL_PASS` environment variables if set, else none
/// (typical for a local relay). They are never part of the config file itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub name: String,
    pub host: String,
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: TlsMode,
    pub from: String,
    pub to: Vec<String>,
    pub credentials_file: Option<PathBuf>,
    /// PEM file of extra trusted CA certificates (a private CA, or a relay's
    /// self-signed certificate), trusted in addition to the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// SMTP command timeout in seconds (default 20).
    pub timeout_secs: Option<u64>,
}

/// Sends each notification as one multipart (text + HTML) email to all recipients.
pub struct EmailNotifier {
    config: EmailConfig,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// The effective port (the configured one or the mode's default).
    port: u16,
    transport: SmtpTransport,
}

/// Debug shows where mail goes, never the credentials inside the transport.
impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn credentials(c: &EmailConfig) -> Result<Option<(String, Secret)>, NotifyError> {
    if let Some(path) = &c.credentials_file {
        let text = read_file(path).map_err(NotifyError::Config)?;
        let mut lines = text.lines();
        let (Some(user), Some(pass)) = (lines.next(), lines.next()) else {
            return Err(NotifyError::Config(format!(
                "{}: expected the user on line 1 and the password on line 2",
                path.display()
            )));
        };
        return Ok(Some((user.trim().to_string(), Secret::new(pass))));
    }
    match (std::env::var("EMAIL_USER"), std::env::var("EMAIL_PASS")) {
        (Ok(u), Ok(p)) if !u.is_empty() => Ok(Some((u, Secret::new(p)))),
        _ => Ok(None),
    }
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Tls => "tls",
            TlsMode::Starttls => "starttls",
            TlsMode::None => "none",
        }
    }
}

/// Reads `ca_file`; the error names the path, never the content.
fn read_ca(path: &std::path::Path) -> Result<Certificate, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "ca_file {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            path.display()
        ));
    }
    Certificate::from_pem(&pem).map_err(|e| format!("ca_file {}: {e}", path.display()))
}

/// A short "what to do" for the failures people hit when setting up a relay.
fn hint(e: &lettre::transport::smtp::Error) -> &'static str {
    let text = e.to_string().to_ascii_lowercase();
    if e.status().is_some_and(|c| c.to_string() == "535") || text.contains("(535)") {
        " (authentication rejected: check EMAIL_USER / EMAIL_PASS or credentials_file)"
    } else if text.contains("certificate") || text.contains("unknownissuer") || e.is_tls() {
        " (TLS: the server's certificate is not trusted for this host; for a private CA or a self-signed relay set ca_file)"
    } else if text.contains("no compatible authentication mechanism") {
        " (the server offers no AUTH PLAIN or LOGIN on this connection)"
    } else {
        ""
    }
}

impl EmailNotifier {
    pub fn new(config: EmailConfig) -> Result<EmailNotifier, NotifyError> {
        let cfg_err =
            |m: String| NotifyError::Config(format!("email channel {:?}: {m}", config.name));
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| cfg_err(format!("from {:?}: {e}", config.from)))?;
        let to = config
            .to
            .iter()
            .map(|t| t.parse().map_err(|e| cfg_err(format!("to {t:?}: {e}"))))
            .collect::<Result<Vec<Mailbox>, _>>()?;
        if to.is_empty() {
            return Err(cfg_err("needs at least one recipient in `to`".into()));
        }
        let extra_ca = match (&config.ca_file, config.tls) {
            (Some(path), TlsMode::None) => {
                return Err(cfg_err(format!(
                    "ca_file {} is set but tls = \"none\"; use \"tls\" or \"starttls\"",
                    path.display()
                )))
            }
            (Some(path), _) => Some(read_ca(path).map_err(cfg_err)?),
            (None, _) => None,
        };
        let tls_params = || {
            let mut b = TlsParameters::builder(config.host.clone());
            if let Some(ca) = &extra_ca {
                b = b.add_root_certificate(ca.clone());
            }
            b.build()
                .map_err(|e| cfg_err(format!("TLS setup for {}: {e}", config.host)))
        };
        let (tls, default_port) = match config.tls {
            TlsMode::Tls => (Tls::Wrapper(tls_params()?), 465),
            TlsMode::Starttls => (Tls::Required(tls_params()?), 587),
            TlsMode::None => (Tls::None, 25),
        };
        let port = config.port.unwrap_or(default_port);
        let mut builder = SmtpTransport::builder_dangerous(config.host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(config.timeout_secs.unwrap_or(20))));
        if let Some((user, pass)) = credentials(&config)? {
            builder = builder.credentials(Credentials::new(user, pass.expose().to_string()));
        }
        Ok(EmailNotifier {
            transport: builder.build(),
            from,
            to,
            port,
            config,
        })
    }

    /// Builds the MIME message (public so tests can inspect it without SMTP).
    pub fn message(&self, n: &Notification) -> Result<Message, NotifyError> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(n.subject());
        for to in &self.to {
            b = b.to(to.clone());
        }
        b.multipart(MultiPart::alternative_plain_html(
            render::text(n),
            render::html(n),
        ))
        .map_err(|e| NotifyError::Config(format!("cannot build the email: {e}")))
    }
}

impl Notifier for EmailNotifier {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn send(&self, n: &Notification) -> Result<(), NotifyError> {
        let msg = self.message(n)?;
        // lettre's SMTP errors carry the server's reply and the I/O cause, never the
        // credentials (AUTH is base64 on the wire and not echoed in errors).
        self.transport.send(&msg).map(|_| ()).map_err(|e| {
            NotifyError::Delivery(format!(
                "SMTP {}:{} ({}): {e}{}",
                self.config.host,
                self.port,
                self.config.tls.as_str(),
                hint(&e)
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rule name and a host (an agent reports its own) carrying CR/LF and a header
    /// cannot add a header to the email: the subject is encoded, never split.
    #[test]
    fn no_header_injection_through_the_subject() {
        let notifier = EmailNotifier::new(EmailConfig {
            name: "ops".into(),
            host: "127.0.0.1".into(),
            port: Some(2525),
            tls: TlsMode::None,
            from: "lookout@example.org".into(),
            to: vec!["ops@example.org".into()],
            credentials_file: None,
            ca_file: None,
            timeout_secs: None,
        })
        .unwrap();
        let n = Notification {
            rule: "cpu\r\nBcc: thief@evil.example".into(),
            host: "db-7\nX-Injected: yes\r\n\r\n<b>body</b>".into(),
            ..Notification::example()
        };
        let raw = String::from_utf8(notifier.message(&n).unwrap().formatted()).unwrap();
        // The message's own headers: every line is a known header or a folded
        // continuation (starting with white space). The rule's text may appear in
        // the body, where a "Bcc:" line is only text.
        let head = raw.split("\r\n\r\n").next().unwrap();
        let known = [
            "from",
            "subject",
            "to",
            "mime-version",
            "date",
            "content-type",
        ];
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                continue;
            }
            let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
            assert!(
                known.contains(&name.as_str()),
                "an unexpected header: {line:?} in\n{head}"
            );
        }
        assert!(head.to_ascii_lowercase().contains("\nsubject:"), "{head}");
    }
}
