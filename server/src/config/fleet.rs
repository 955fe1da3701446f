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
