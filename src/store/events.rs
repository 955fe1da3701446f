//! Anomaly events: stretches of time the detector found anomalous.

use super::error::{Result, StoreError};
use super::Store;
use crate::model::{AnomalyEvent, TimestampMs};
use rusqlite::{params, Row};

fn event_row(r: &Row) -> rusqlite::Result<(AnomalyEvent, String)> {
    Ok((
        AnomalyEvent {
            id: r.get(0)?,
            host: r.get(1)?,
            start: r.get(2)?,
            end: r.get(3)?,
            peak_score: r.get(4)?,
            peak_at: r.get(5)?,
            explanation: Default::default(),
            expected: r.get(7)?,
        },
        r.get(6)?,
    ))
}

impl Store {
    /// Inserts the event when `e.id == 0` (returning the new id), else updates the
    /// stored event with that id (an open event being extended or closed).
    pub fn save_event(&self, e: &AnomalyEvent) -> Result<i64> {
        let explanation = serde_json::to_string(&e.explanation)?;
        let host = if e.host.is_empty() {
            &self.opts.host
        } else {
            &e.host
        };
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO hosts (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
            [host],
        )?;
        let host_id: i64 =
            tx.query_row("SELECT id FROM hosts WHERE name = ?1", [host], |r| r.get(0))?;
        let id = if e.id == 0 {
            tx.execute(
                "INSERT INTO anomaly_events
                 (host_id, start, \"end\", peak_score, peak_at, explanation, expected)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    host_id,
                    e.start,
                    e.end,
                    e.peak_score,
                    e.peak_at,
                    explanation,
                    e.expected
                ],
            )?;
            tx.last_insert_rowid()
        } else {
            let n = tx.execute(
                "UPDATE anomaly_events SET host_id = ?2, start = ?3, \"end\" = ?4,
                 peak_score = ?5, peak_at = ?6, explanation = ?7, expected = ?8 WHERE id = ?1",
                params![
                    e.id,
                    host_id,
                    e.start,
                    e.end,
                    e.peak_score,
                    e.peak_at,
                    explanation,
                    e.expected
                ],
            )?;
            if n == 0 {
                return Err(StoreError::EventNotFound(e.id));
            }
            e.id
        };
        tx.commit()?;
        Ok(id)
    }

    /// This host's events overlapping `[from, to]` (open events count as ongoing),
    /// newest first.
    pub fn events(&self, from: TimestampMs, to: TimestampMs) -> Result<Vec<AnomalyEvent>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT e.id, h.name, e.start, e.\"end\", e.peak_score, e.peak_at, e.explanation,
                    e.expected
             FROM anomaly_events e JOIN hosts h ON h.id = e.host_id
             WHERE e.host_id = ?1 AND e.start <= ?3 AND (e.\"end\" IS NULL OR e.\"end\" >= ?2)
             ORDER BY e.start DESC, e.id DESC",
        )?;
        let rows = st.query_map(params![self.host_id, from, to], event_row)?;
        let mut out = Vec::new();
        for row in rows {
            let (mut e, json) = row?;
            e.explanation = serde_json::from_str(&json)?;
            out.push(e);
        }
        Ok(out)
    }

    /// One event by id, of any host.
    pub fn event(&self, id: i64) -> Result<Option<AnomalyEvent>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT e.id, h.name, e.start, e.\"end\", e.peak_score, e.peak_at, e.explanation,
                    e.expected
             FROM anomaly_events e JOIN hosts h ON h.id = e.host_id
             WHERE e.id = ?1",
        )?;
        let mut rows = st.query_map(params![id], event_row)?;
        match rows.next() {
            Some(row) => {
                let (mut e, json) = row?;
                e.explanation = serde_json::from_str(&json)?;
                Ok(Some(e))
            }
            None => Ok(None),
        }
    }

    /// Marks an event expected (or not). Returns false when no such event exists.
    pub fn set_event_expected(&self, id: i64, expected: bool) -> Result<bool> {
        let n = self.writer().execute(
            "UPDATE anomaly_events SET expected = ?2 WHERE id = ?1",
            params![id, expected],
        )?;
        Ok(n > 0)
    }
}
