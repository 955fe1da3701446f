//! Sending buffered batches to the hub, oldest first, with backoff while it is
//! unreachable.

use super::buffer::Buffer;
use super::AgentOptions;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

/// What the hub did with one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: stored (or counted duplicate / refused per sample): forget it.
    Acknowledged(String),
    /// The hub refused the batch as such (400, 413, 415): sending it again cannot
    /// help, so it is dropped (and logged).
    Rejected(u16, String),
    /// Not reachable, 5xx, 429, or the token refused (401/403, which an operator can
    /// fix): keep it and try again later.
    Retry(String),
}

/// Retry delays: 1 s doubling to 60 s.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long the shipper sleeps with nothing to send. Every new batch and the stop
/// wake it at once, so polling the buffer folder every second (a wake-up and a
/// directory listing) was work an agent with a budget of 0.1 % of a core need not do.
const IDLE_WAIT: Duration = Duration::from_secs(60);
/// How long a stopping agent keeps sending its buffer to a hub that answers.
const STOP_DRAIN: Duration = Duration::from_secs(5);

pub struct Shipper {
    url: String,
    token: String,
    http: ureq::Agent,
}

/// Reads a PEM file of CA certificates for [`Shipper`].
fn ca_certs(path: &std::path::Path) -> Result<Vec<ureq::tls::Certificate<'static>>, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("cannot read `agent.ca_file` {}: {e}", path.display()))?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(format!(
            "`agent.ca_file` {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certs)
}

impl Shipper {
    pub fn new(opts: &AgentOptions) -> Result<Shipper, String> {
        let hub = opts.hub.trim_end_matches('/');
        if !(hub.starts_with("http://") || hub.starts_with("https://")) {
            return Err(format!(
                "the hub URL {hub:?} must start with http:// or https:// (`agent.hub`, --hub)"
            ));
        }
        let mut config = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .http_status_as_error(false);
        if let Some(path) = &opts.ca_file {
            let certs = ca_certs(path)?;
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            );
        }
        Ok(Shipper {
            url: format!("{hub}/api/ingest"),
            token: opts.token.clone(),
            http: config.build().into(),
        })
    }

    /// POSTs one batch body.
    pub fn send(&self, body: &[u8]) -> Outcome {
        let sent = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("User-Agent", "lookout-agent")
            .send(body);
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(format!("cannot reach the hub: {e}")),
        };
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        match status {
            200..=299 => Outcome::Acknowledged(text),
            400 | 413 | 415 | 422 => Outcome::Rejected(status, text),
            _ => Outcome::Retry(format!("the hub answered {status}: {text}")),
        }
    }

    /// At a stop: sends what is buffered while the hub acknowledges, for at most
    /// `within`; the rest waits on disk for the next start.
    fn drain(&self, buffer: &Mutex<Buffer>, within: Duration) {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            let next = buffer.lock().unwrap_or_else(|e| e.into_inner()).oldest();
            let Ok(Some((batch, body))) = next else {
                return;
            };
            match self.send(&body) {
                Outcome::Acknowledged(_) | Outcome::Rejected(..) => {
                    let _ = buffer
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&batch);
                }
                Outcome::Retry(_) => return,
            }
        }
    }

    /// Ships until `stop` says so: every buffered batch oldest first; when the hub
    /// is unreachable, waits (1 s doubling to 60 s, or until a new batch arrives) and
    /// tries the same batch again. `wake` is signalled at each new batch and at the stop.
    pub fn run(&self, buffer: &Mutex<Buffer>, wake: &Receiver<()>, stop: &Receiver<()>) {
        let mut backoff = BACKOFF_MIN;
        let mut failing = false;
        loop {
            if !matches!(stop.try_recv(), Err(std::sync::mpsc::TryRecvError::Empty)) {
                // Only if the hub was answering: a stop must not wait on a dead hub.
                if !failing {
                    self.drain(buffer, STOP_DRAIN);
                }
                return;
            }
            let next = buffer.lock().unwrap_or_else(|e| e.into_inner()).oldest();
            let wait = match next {
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the agent buffer");
                    BACKOFF_MAX
                }
                Ok(None) => IDLE_WAIT,
                Ok(Some((batch, body))) => match self.send(&body) {
                    Outcome::Acknowledged(reply) => {
                        if failing {
                            tracing::info!("hub reachable again: sending the buffered batches");
                            failing = false;
                        }
                        tracing::debug!(samples = batch.samples, %reply, "batch acknowledged");
                        let b = buffer.lock().unwrap_or_else(|e| e.into_inner());
                        if let Err(e) = b.remove(&batch) {
                            tracing::error!(error = %e, "cannot remove a sent batch; it will be sent again (stored once)");
                        }
                        backoff = BACKOFF_MIN;
                        continue;
                    }
                    Outcome::Rejected(status, reply) => {
                        tracing::error!(status, %reply, samples = batch.samples, "the hub refused a batch as malformed; dropping it");
                        let _ = buffer
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&batch);
                        continue;
                    }
                    Outcome::Retry(why) => {
                        if !failing {
                            tracing::warn!(%why, "cannot deliver to the hub; buffering on disk and retrying");
                            failing = true;
                        } else {
                            tracing::debug!(%why, "hub still unreachable");
                        }
                        let w = backoff;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        w
                    }
                },
            };
            // Whichever comes first: the delay, a new batch, the stop.
            let stopped = match wake.recv_timeout(wait) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            if stopped {
                return;
            }
        }
    }
}
