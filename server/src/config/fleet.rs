//! `[ingest]`: how a hub accepts agents' batches (`POST /api/ingest`).

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::validate::duration_in;
use super::{err, ConfigError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    /// Largest batch once decompressed: "8MiB", "512KiB", bytes. Larger gets 413 (the
    /// compressed body is limited by `server.max_body`).
    pub max_batch: String,
    /// Samples stamped further than this in the future (the agent's clock ahead of the
    /// hub's) are refused one by one. Samples older than `store.raw_retention` are too.
    pub max_future: String,
}

impl Default for IngestSection {
    fn default() -> Self {
        Self {
            max_batch: "8MiB".into(),
            max_future: "5m".into(),
        }
    }
}

/// `[ingest]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestSettings {
    pub max_batch: usize,
    pub max_future: Duration,
    /// `store.raw_retention`: older samples would be deleted at once.
    pub max_age: Duration,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            max_batch: 8 << 20,
            max_future: Duration::from_secs(300),
            max_age: Duration::from_secs(7 * 86_400),
        }
    }
}

impl IngestSection {
    pub(super) fn validate(&self, raw_retention: Duration) -> Result<IngestSettings, ConfigError> {
        let max_batch = match crate::edge::limits::parse_size(&self.max_batch) {
            Some(n) if (1024..=1 << 30).contains(&n) => n,
            _ => {
                return err(format!(
                    "`ingest.max_batch` is {:?}; write a size from 1KiB to 1GiB, e.g. \"8MiB\"",
                    self.max_batch
                ))
            }
        };
        let max_future = duration_in(
            "ingest.max_future",
            &self.max_future,
            Duration::ZERO,
            Duration::from_secs(86_400),
            "0s to 1d",
        )?;
        Ok(IngestSettings {
            max_batch,
            max_future,
            max_age: raw_retention,
        })
    }
}

/// `[agent]`: `lookout agent` ships this host's samples to a hub. Its token comes
/// from `LOOKOUT_AGENT_TOKEN` or `token_file`, never from this file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSection {
    /// The hub's base URL, e.g. "https://hub.example.com:3000" (also `--hub`).
    pub hub: String,
    /// A file holding the ingest token (first line); else `LOOKOUT_AGENT_TOKEN`.
    pub token_file: String,
    /// A batch is written (and sent) once its samples cover this long.
    pub batch: String,
    /// Folder of the on-disk buffer of batches not yet acknowledged.
    pub buffer_dir: String,
    /// The buffer's bound: past it the oldest batches are dropped (and counted).
    pub buffer_max: String,
    /// PEM CA certificate(s) to trust for an https hub with a private certificate.
    pub ca_file: String,
    /// One request's time limit.
    pub timeout: String,
}

impl Default for AgentSection {
    fn default() -> Self {
        Self {
            hub: String::new(),
            token_file: String::new(),
            batch: "10s".into(),
            buffer_dir: "./data/agent-buffer".into(),
            buffer_max: "64MiB".into(),
            ca_file: String::new(),
            timeout: "10s".into(),
        }
    }
}

/// The environment variable holding the agent's ingest token.
pub const AGENT_TOKEN_ENV: &str = "LOOKOUT_AGENT_TOKEN";

impl AgentSection {
    /// Checks the section for `lookout agent` (only then: a server ignores it).
    /// `token_env` is `LOOKOUT_AGENT_TOKEN`'s value, if set.
    pub fn validate(
        &self,
        host: &str,
        interval: Duration,
        process_refresh: Duration,
        token_env: Option<String>,
    ) -> Result<lookout::agent::AgentOptions, ConfigError> {
        let hub = self.hub.trim();
        if hub.is_empty() {
            return err("no hub: give `--hub URL` or set `agent.hub`");
        }
        if !(hub.starts_with("http://") || hub.starts_with("https://")) {
            return err(format!(
                "`agent.hub` is {hub:?}; write the hub's URL, e.g. \"https://hub.example.com:3000\""
            ));
        }
        let token = match (token_env.filter(|t| !t.trim().is_empty()), self.token_file.trim()) {
            (Some(t), _) => t.trim().to_string(),
            (None, "") => {
                return err(format!(
                    "no ingest token: set {AGENT_TOKEN_ENV} or `agent.token_file` (make one on the hub with `lookout token create --name NAME --scope ingest`)"
                ))
            }
            (None, path) => std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("cannot read `agent.token_file` {path}: {e}")))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
        };
        if !token.starts_with(lookout::access::TOKEN_PREFIX) {
            return err(format!(
                "the agent token does not look like a Lookout token (it starts with {:?})",
                lookout::access::TOKEN_PREFIX
            ));
        }
        let batch_every = duration_in(
            "agent.batch",
            &self.batch,
            Duration::from_secs(1),
            Duration::from_secs(3600),
            "1s to 1h",
        )?;
        let timeout = duration_in(
            "agent.timeout",
            &self.timeout,
            Duration::from_secs(1),
            Duration::from_secs(600),
            "1s to 10m",
        )?;
        let buffer_max_bytes = match crate::edge::limits::parse_size(&self.buffer_max) {
            Some(n) if (64 * 1024..=1 << 40).contains(&n) => n as u64,
            _ => {
                return err(format!(
                    "`agent.buffer_max` is {:?}; write a size from 64KiB to 1TiB, e.g. \"64MiB\"",
                    self.buffer_max
                ))
            }
        };
        if self.buffer_dir.trim().is_empty() {
            return err(
                "`agent.buffer_dir` is empty; give a folder such as \"./data/agent-buffer\"",
            );
        }
        crate::ingest::check_host_name(host)
            .map_err(|e| ConfigError(format!("`host.name`: {e}")))?;
        Ok(lookout::agent::AgentOptions {
            hub: hub.to_string(),
            token,
            host: host.to_string(),
            interval,
            process_refresh,
            batch_every,
            buffer_dir: self.buffer_dir.trim().into(),
            buffer_max_bytes,
            ca_file: Some(self.ca_file.trim())
                .filter(|p| !p.is_empty())
                .map(Into::into),
            timeout,
        })
    }
}
