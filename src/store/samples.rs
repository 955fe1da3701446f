//! Writing and reading raw samples.

use super::details;
use super::error::{Result, StoreError};
use super::schema::{self, SCORE_COLUMN};
use super::Store;
use crate::model::{Snapshot, TimestampMs};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

/// SQLite stores NaN as NULL anyway; being explicit keeps "missing" unambiguous.
fn real(v: f64) -> Value {
    if v.is_finite() {
        Value::Real(v)
    } else {
        Value::Null
    }
}

fn insert_sample_sql() -> String {
    insert_sample_sql_with("INSERT OR REPLACE", "")
}

/// `{verb} INTO samples (host_id, ts, every column) VALUES (?1, ?2, ...) {tail}`.
pub(super) fn insert_sample_sql_with(verb: &str, tail: &str) -> String {
    let names: Vec<&str> = schema::columns().map(|c| c.name).collect();
    let marks: Vec<String> = (0..names.len()).map(|i| format!("?{}", i + 3)).collect();
    format!(
        "{verb} INTO samples (host_id, ts, {}) VALUES (?1, ?2, {}) {tail}",
        names.join(", "),
        marks.join(", ")
    )
}

/// The parameters of [`insert_sample_sql_with`] for one snapshot.
pub(super) fn sample_values(host: i64, s: &Snapshot) -> Vec<Value> {
    let mut values = vec![Value::Integer(host), Value::Integer(s.timestamp)];
    values.extend(schema::columns().map(|c| {
        if c.name == SCORE_COLUMN {
            s.anomaly_score.map_or(Value::Null, real)
        } else {
            s.metric(c.name).map_or(Value::Null, real)
        }
    }));
    values
}

pub(super) fn host_id(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO hosts (name) VALUES (?1) ON CONFLICT (name) DO NOTHING")?
        .execute([name])?;
    conn.prepare_cached("SELECT id FROM hosts WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
}

/// A stored snapshot: its time, its details (TEXT or BLOB: see store/details.rs)
/// and its score.
type StoredRow = (TimestampMs, Value, Option<f64>);

fn snapshot_row(row: &Row) -> rusqlite::Result<StoredRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

/// Decodes a stored snapshot; the score column wins over the JSON because scores
/// are set after the sample was written.
fn decode(found: Option<StoredRow>) -> Result<Option<Snapshot>> {
    let Some((ts, stored, score)) = found else {
        return Ok(None);
    };
    let json =
        details::json_of((&stored).into()).map_err(|reason| StoreError::Detail { ts, reason })?;
    let mut snap: Snapshot = serde_json::from_str(&json)?;
    if score.is_some() {
        snap.anomaly_score = score;
    }
    Ok(Some(snap))
}

const DETAIL_SELECT: &str = "SELECT d.ts, d.json, s.anomaly_score FROM sample_details d
     LEFT JOIN samples s ON s.host_id = d.host_id AND s.ts = d.ts
     WHERE d.host_id = ?1";

impl Store {
    /// Stores a batch in one transaction: all or nothing, and one fsync-worthy
    /// commit instead of one per sample. A snapshot with the same (host, timestamp)
    /// as a stored one replaces it. An empty `host` means this store's host.
    pub fn insert(&self, snaps: &[Snapshot]) -> Result<()> {
        if snaps.is_empty() {
            return Ok(());
        }
        let sql = insert_sample_sql();
        // Compressed before the writer is taken: other batches need not wait for it.
        let stored = snaps
            .iter()
            .map(details::column)
            .collect::<serde_json::Result<Vec<_>>>()?;
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        {
            let mut ins = tx.prepare_cached(&sql)?;
            let mut det = tx.prepare_cached(
                "INSERT OR REPLACE INTO sample_details (host_id, ts, json) VALUES (?1, ?2, ?3)",
            )?;
            for (s, detail) in snaps.iter().zip(stored) {
                let host = if s.host.is_empty() || s.host == self.opts.host {
                    self.host_id
                } else {
                    host_id(&tx, &s.host)?
                };
                ins.execute(params_from_iter(sample_values(host, s)))?;
                det.execute(params![host, s.timestamp, detail])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The most recent stored snapshot of this host.
    pub fn latest(&self) -> Result<Option<Snapshot>> {
        let conn = self.reader();
        let found = conn
            .prepare_cached(&format!("{DETAIL_SELECT} ORDER BY d.ts DESC LIMIT 1"))?
            .query_row([self.host_id], snapshot_row)
            .optional()?;
        decode(found)
    }

    /// The snapshot at `ts`, or the nearest one before it (None if none is older).
    pub fn snapshot_at(&self, ts: TimestampMs) -> Result<Option<Snapshot>> {
        let conn = self.reader();
        let found = conn
            .prepare_cached(&format!(
                "{DETAIL_SELECT} AND d.ts <= ?2 ORDER BY d.ts DESC LIMIT 1"
            ))?
            .query_row(params![self.host_id, ts], snapshot_row)
            .optional()?;
        decode(found)
    }

    /// Raw scalar rows with `from <= ts <= to`, oldest first, values in
    /// `model::METRICS` order (missing values as NaN): the detector's training data.
    pub fn raw_range(
        &self,
        from: TimestampMs,
        to: TimestampMs,
    ) -> Result<Vec<(TimestampMs, Vec<f64>)>> {
        let names: Vec<&str> = schema::columns()
            .map(|c| c.name)
            .filter(|n| *n != SCORE_COLUMN)
            .collect();
        let sql = format!(
            "SELECT ts, {} FROM samples WHERE host_id = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts",
            names.join(", ")
        );
        let conn = self.reader();
        let mut st = conn.prepare_cached(&sql)?;
        let rows = st.query_map(params![self.host_id, from, to], |r| {
            let mut v = Vec::with_capacity(names.len());
            for i in 0..names.len() {
                v.push(r.get::<_, Option<f64>>(i + 1)?.unwrap_or(f64::NAN));
            }
            Ok((r.get(0)?, v))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The timestamps of this host's oldest and newest raw samples, or None when it
    /// has none. Two index lookups (a single MIN and MAX query would scan the range).
    pub fn raw_bounds(&self) -> Result<Option<(TimestampMs, TimestampMs)>> {
        let conn = self.reader();
        let (oldest, newest): (Option<i64>, Option<i64>) = conn
            .prepare_cached(
                "SELECT (SELECT MIN(ts) FROM samples WHERE host_id = ?1),
                        (SELECT MAX(ts) FROM samples WHERE host_id = ?1)",
            )?
            .query_row([self.host_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(oldest.zip(newest))
    }

    /// Records detector scores for this host's samples, in one transaction.
    /// Timestamps without a stored sample are ignored.
    pub fn set_scores(&self, scores: &[(TimestampMs, f64)]) -> Result<()> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "UPDATE samples SET anomaly_score = ?3 WHERE host_id = ?1 AND ts = ?2",
            )?;
            for (ts, score) in scores {
                st.execute(params![self.host_id, ts, real(*score)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Number of raw samples stored (all hosts).
    pub fn sample_count(&self) -> Result<u64> {
        let n: i64 = self
            .reader()
            .query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
