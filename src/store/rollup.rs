//! Periodic maintenance: 1-minute rollups and retention pruning.

use super::error::Result;
use super::resolution::ROLLUP_MS;
use super::{duration_ms, schema, Store};
use crate::model::TimestampMs;
use rusqlite::{params, OptionalExtension, Transaction};

/// What one `maintain` run did (for logs and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// (host, minute) rollup rows written.
    pub minutes_rolled_up: u64,
    pub samples_deleted: u64,
    pub details_deleted: u64,
    pub rollups_deleted: u64,
    pub events_deleted: u64,
    /// Rollups now cover every sample older than this (exclusive, minute aligned).
    pub rolled_up_until: Option<TimestampMs>,
}

/// `meta` key of the rollup high-water mark: minutes before it are rolled up.
pub const ROLLED_UNTIL_KEY: &str = "rolled_up_until";

/// Tables are keyed (host_id, ts): naming the hosts lets SQLite seek the primary
/// key per host instead of scanning the whole table for a `ts` range.
const BY_KEY: &str = "WHERE host_id IN (SELECT id FROM hosts) AND ts < ?1";

pub fn floor_minute(ts: TimestampMs) -> TimestampMs {
    ts - ts.rem_euclid(ROLLUP_MS)
}

pub fn rolled_until(tx: &rusqlite::Connection) -> rusqlite::Result<Option<TimestampMs>> {
    let v: Option<String> = tx
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [ROLLED_UNTIL_KEY],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|s| s.parse().ok()))
}

fn rollup_sql() -> String {
    let mut targets = Vec::new();
    let mut aggs = Vec::new();
    for c in schema::columns() {
        targets.push(format!("{0}_min, {0}_avg, {0}_max", c.name));
        aggs.push(format!("MIN({0}), AVG({0}), MAX({0})", c.name));
    }
    format!(
        "INSERT OR REPLACE INTO rollups_1m (host_id, ts, {}, n)
         SELECT host_id, (ts / {ROLLUP_MS}) * {ROLLUP_MS} AS minute, {}, COUNT(*)
         FROM samples WHERE host_id IN (SELECT id FROM hosts) AND ts >= ?1 AND ts < ?2
         GROUP BY host_id, minute",
        targets.join(", "),
        aggs.join(", ")
    )
}

/// Where the next rollup starts: the high-water mark, or the first stored minute
/// (None: nothing stored yet).
fn rollup_start(conn: &rusqlite::Connection) -> rusqlite::Result<Option<TimestampMs>> {
    if let Some(t) = rolled_until(conn)? {
        return Ok(Some(t));
    }
    let first: Option<i64> = conn.query_row("SELECT MIN(ts) FROM samples", [], |r| r.get(0))?;
    Ok(first.map(floor_minute))
}

/// The per-core rollups of `[start, end)`, computed on a reader beforehand.
type CoresRead = (TimestampMs, TimestampMs, super::cores::CoreMinutes);

/// Rolls up every complete minute (one whose end is at or before `now`) after the
/// high-water mark. Incremental and idempotent: a second run finds nothing to do.
/// `cores`: the per-core rollups read beforehand; used when they cover the same
/// minutes, else read here.
fn roll_up(
    tx: &Transaction,
    now: TimestampMs,
    cores: Option<CoresRead>,
) -> rusqlite::Result<(u64, Option<TimestampMs>)> {
    let target = floor_minute(now);
    let Some(start) = rollup_start(tx)? else {
        return Ok((0, None));
    };
    if start >= target {
        // Nothing complete yet, or the clock went back: never move the mark back.
        return Ok((0, Some(start)));
    }
    let n = tx.execute(&rollup_sql(), params![start, target])?;
    let minutes = match cores {
        Some((s, e, minutes)) if (s, e) == (start, target) => minutes,
        // Another maintenance moved the mark in between: read them here.
        _ => super::cores::read_rollups(tx, start, target)?,
    };
    super::cores::write_rollups(tx, &minutes)?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![ROLLED_UNTIL_KEY, target.to_string()],
    )?;
    Ok((n as u64, Some(target)))
}

impl Store {
    /// Rolls up complete minutes, then prunes raw samples and details older than
    /// the raw retention, rollups and closed events older than the rollup retention.
    /// Rolling up first means pruning never drops a minute that was not summarised.
    ///
    /// Samples that arrive for a minute already rolled up (a late batch) stay in the
    /// raw table but are not re-aggregated; insert before calling this.
    pub fn maintain(&self, now: TimestampMs) -> Result<MaintenanceReport> {
        let raw_cutoff = now.saturating_sub(duration_ms(self.opts.raw_retention));
        let rollup_cutoff = now.saturating_sub(duration_ms(self.opts.rollup_retention));
        // The per-core rollup parses every new snapshot's JSON: done on a reader
        // first, so the writer (and with it every ingest) waits only for the writes.
        let target = floor_minute(now);
        let cores = {
            let conn = self.reader();
            match rollup_start(&conn)? {
                Some(start) if start < target => Some((
                    start,
                    target,
                    super::cores::read_rollups(&conn, start, target)?,
                )),
                _ => None,
            }
        };
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let (minutes, until) = roll_up(&tx, now, cores)?;
        let del = |sql: &str, cutoff: i64| -> rusqlite::Result<u64> {
            Ok(tx.execute(sql, [cutoff])? as u64)
        };
        // Per-core rollups (store/cores.rs) share the rollups' retention.
        del(
            &format!("DELETE FROM core_rollups_1m {BY_KEY}"),
            rollup_cutoff,
        )?;
        let report = MaintenanceReport {
            minutes_rolled_up: minutes,
            samples_deleted: del(&format!("DELETE FROM samples {BY_KEY}"), raw_cutoff)?,
            details_deleted: del(&format!("DELETE FROM sample_details {BY_KEY}"), raw_cutoff)?,
            rollups_deleted: del(&format!("DELETE FROM rollups_1m {BY_KEY}"), rollup_cutoff)?,
            events_deleted: del(
                "DELETE FROM anomaly_events WHERE \"end\" IS NOT NULL AND \"end\" < ?1",
                rollup_cutoff,
            )?,
            rolled_up_until: until,
        };
        tx.commit()?;
        Ok(report)
    }
}
