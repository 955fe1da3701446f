//! Per-filesystem usage over time, for forecasts (`lookout::forecast::source`).
//!
//! Filesystems are not scalar columns (their number and names vary by host), so
//! they are read from the snapshot JSON kept with each raw sample: one sample per
//! `step_ms` bucket, and only the `disk.filesystems` array of it is decoded, so a
//! week of 5 s samples is neither read nor decoded whole.

use super::details;
use super::error::Result;
use super::Store;
use crate::model::{FilesystemUsage, TimestampMs};
use rusqlite::params;
use serde::Deserialize;

/// The part of a stored snapshot read here (a missing field reads as empty).
#[derive(Deserialize)]
struct Only {
    #[serde(default)]
    disk: Disk,
}

#[derive(Deserialize, Default)]
struct Disk {
    #[serde(default)]
    filesystems: Vec<FilesystemUsage>,
}

/// At most this many samples are read per call, whatever the range.
const MAX_PICKS: i64 = 2_000;

impl Store {
    /// The filesystems of this host's first raw sample in each `step_ms` bucket of
    /// `[from, to]`, oldest first. Kept as long as raw samples (`raw_retention`).
    ///
    /// One index seek per bucket (at most [`MAX_PICKS`]), not a range scan: the JSON
    /// lives in the table's b-tree, so scanning three days at 1 s would read every
    /// snapshot (hundreds of MB) to keep one in a few hundred.
    pub fn filesystem_history(
        &self,
        from: TimestampMs,
        to: TimestampMs,
        step_ms: i64,
    ) -> Result<Vec<(TimestampMs, Vec<FilesystemUsage>)>> {
        let step = step_ms.max(1).max((to - from) / MAX_PICKS + 1);
        let conn = self.reader();
        let tx = conn.unchecked_transaction()?;
        let mut out = Vec::new();
        {
            let mut st = tx.prepare_cached(
                "SELECT ts, json FROM sample_details
                 WHERE host_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts LIMIT 1",
            )?;
            let mut at = from;
            while at <= to {
                let end = (at + step).min(to + 1);
                let mut rows = st.query(params![self.host_id, at, end])?;
                if let Some(r) = rows.next()? {
                    let ts: i64 = r.get(0)?;
                    // Only `disk.filesystems` is decoded; serde skips the rest.
                    match details::json_of(r.get_ref(1)?) {
                        Ok(json) => {
                            out.push((ts, serde_json::from_str::<Only>(&json)?.disk.filesystems))
                        }
                        // A damaged row leaves its bucket empty rather than failing the series.
                        Err(reason) => tracing::warn!("skipping the sample at {ts}: {reason}"),
                    }
                }
                at = end;
            }
        }
        tx.finish()?;
        Ok(out)
    }
}
