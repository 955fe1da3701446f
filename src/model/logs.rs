//! The developer logs view (`GET /api/logs`).

use super::{ApiBody, TimestampMs};
use serde::{Deserialize, Serialize};

/// One log line as the logs view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LogLine {
    pub t: TimestampMs,
    /// "ERROR", "WARN", "INFO", "DEBUG" or "TRACE".
    pub level: String,
    pub target: String,
    /// The message, then the event's other fields as `key=value`.
    pub message: String,
}

/// `GET /api/logs`: the most recent lines, oldest first, and how many the server keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LogsResponse {
    pub capacity: usize,
    pub lines: Vec<LogLine>,
}

impl ApiBody for LogsResponse {
    fn example() -> Self {
        LogsResponse {
            capacity: 1000,
            lines: vec![LogLine {
                t: 1_764_085_000_000,
                level: "WARN".into(),
                target: "lookout::alerting".into(),
                message: "some notifications not delivered yet; will retry r=...".into(),
            }],
        }
    }
}
