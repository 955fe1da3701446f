//! Per-filesystem usage over time, for forecasts (`lookout::forecast::source`).
//!
//! Filesystems are not scalar columns (their number and names vary by host), so
//! they are read from the snapshot JSON kept with each raw sample: one sample per
//! `step_ms` bucket, and only the `disk.filesystems` array of it (SQLite's JSON
//! functions), so a week of 5 s samples is not decoded whole.

use super::error::Result;
use super::Store;
use crate::model::{FilesystemUsage, TimestampMs};
use rusqlite::params;

impl Store {
    /// The filesystems of this host's first raw sample in each `step_ms` bucket of
    /// `[from, to]`, oldest first. Kept as long as raw samples (`raw_retention`).
    pub fn filesystem_history(
        &self,
        from: TimestampMs,
        to: TimestampMs,
        step_ms: i64,
    ) -> Result<Vec<(TimestampMs, Vec<FilesystemUsage>)>> {
        let conn = self.reader();
        // With MIN(ts), SQLite takes the other (bare) column from that same row.
        let mut st = conn.prepare_cached(
            "SELECT MIN(ts), json_extract(json, '$.disk.filesystems') FROM sample_details
             WHERE host_id = ?1 AND ts >= ?2 AND ts <= ?3
             GROUP BY (ts - ?2) / ?4 ORDER BY 1",
        )?;
        let rows = st.query_map(params![self.host_id, from, to, step_ms.max(1)], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (ts, json) = row?;
            let fs: Vec<FilesystemUsage> = match json {
                Some(j) => serde_json::from_str(&j)?,
                None => Vec::new(),
            };
            out.push((ts, fs));
        }
        Ok(out)
    }
}
