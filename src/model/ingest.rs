//! Agents and a hub: the batch an agent ships to `POST /api/ingest` and the hub's
//! acknowledgement.
//!
//! A batch is one host's samples. Each sample is keyed by (host, timestamp), the
//! store's primary key, so sending the same batch again stores nothing twice: the
//! reply counts those samples as `duplicate`. An agent treats any 2xx reply as the
//! acknowledgement that every sample in the batch is stored (accepted or duplicate)
//! or deliberately refused (`refused`), and only then forgets the batch.

use super::{ApiBody, Snapshot};
use serde::{Deserialize, Serialize};

/// `POST /api/ingest`: the JSON body, sent gzip-compressed (`Content-Encoding: gzip`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct IngestBatch {
    /// The host these samples were taken on. The ingest token is bound to the first
    /// host it sends; another host under the same token is refused (403).
    pub host: String,
    /// Oldest first is customary but not required. Each sample's `host` must be
    /// `host` or empty.
    pub samples: Vec<Snapshot>,
}

/// The acknowledgement of an ingest batch: every sample is counted exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IngestReply {
    pub host: String,
    /// Stored now.
    pub accepted: u64,
    /// Already stored (same host and timestamp): a re-sent batch.
    pub duplicate: u64,
    /// Refused one by one: a timestamp too far in the future (clock skew past
    /// `ingest.max_future`) or older than the raw retention (`store.raw_retention`).
    pub refused: u64,
    /// Why the first refused sample was refused; absent when none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_reason: Option<String>,
}

impl ApiBody for IngestBatch {
    fn example() -> Self {
        IngestBatch {
            host: "web-2".into(),
            // A sparse sample to keep the example short: a real one carries every field
            // of `GET /metrics`.
            samples: vec![Snapshot {
                host: "web-2".into(),
                timestamp: 1_764_085_000_000,
                interval_secs: 1.0,
                cpu_usage: 12.5,
                memory_usage: 41.2,
                load_average: 0.42,
                ..Snapshot::default()
            }],
        }
    }
}

impl ApiBody for IngestReply {
    fn example() -> Self {
        IngestReply {
            host: "web-2".into(),
            accepted: 58,
            duplicate: 2,
            refused: 1,
            refused_reason: Some(
                "sample at 1764185000000 is 600 s in the future (limit 300 s, `ingest.max_future`)"
                    .into(),
            ),
        }
    }
}
