//! Table layout and migrations.
//!
//! Metric columns are generated from [`model::METRICS`]: the only names that ever
//! reach SQL text are those `&'static str`s (checked to be plain identifiers), never
//! user input. METRICS is append-only, so a metric added later becomes a new
//! column through [`add_missing_columns`] without a hand-written migration.

use super::error::{Result, StoreError};
use crate::model::{self, Unit};
use rusqlite::{Connection, Transaction};
use std::path::Path;

/// The per-sample anomaly score column. Also queryable through `history` as the
/// pseudo-metric `anomaly_score` (dimensionless, 0-1; unscored samples are skipped).
pub const SCORE_COLUMN: &str = "anomaly_score";

/// A column name known to be safe in SQL text, with the unit history reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub unit: Unit,
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Every value column of `samples`, in storage order: METRICS then the score.
pub fn columns() -> impl Iterator<Item = Column> {
    model::METRICS
        .iter()
        .map(|d| Column {
            name: d.name,
            unit: d.unit,
        })
        .chain(std::iter::once(Column {
            name: SCORE_COLUMN,
            unit: Unit::Load,
        }))
        // Defence in depth: a malformed name in METRICS is never spliced into SQL.
        .filter(|c| is_identifier(c.name))
}

/// Names accepted by history queries.
pub fn queryable_names() -> Vec<&'static str> {
    columns().map(|c| c.name).collect()
}

/// Maps a user-supplied name to the static column, or None if unknown.
pub fn column(name: &str) -> Option<Column> {
    columns().find(|c| c.name == name)
}

/// Ordered migrations; index i migrates from version i to i + 1.
const MIGRATIONS: &[fn(&Transaction) -> rusqlite::Result<()>] = &[
    v1_initial,
    v2_alerts,
    v3_alert_rules,
    v4_auth,
    v5_ingest,
    v6_core_rollups,
];

/// The schema version this build writes.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

fn v1_initial(tx: &Transaction) -> rusqlite::Result<()> {
    let sample_cols: String = columns().map(|c| format!(", {} REAL", c.name)).collect();
    let rollup_cols: String = columns()
        .map(|c| format!(", {0}_min REAL, {0}_avg REAL, {0}_max REAL", c.name))
        .collect();
    tx.execute_batch(&format!(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE hosts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
         CREATE TABLE samples (
             host_id INTEGER NOT NULL REFERENCES hosts(id),
             ts INTEGER NOT NULL{sample_cols},
             PRIMARY KEY (host_id, ts)) WITHOUT ROWID;
         CREATE TABLE sample_details (
             host_id INTEGER NOT NULL REFERENCES hosts(id),
             ts INTEGER NOT NULL,
             json TEXT NOT NULL,
             PRIMARY KEY (host_id, ts)) WITHOUT ROWID;
         CREATE TABLE rollups_1m (
             host_id INTEGER NOT NULL REFERENCES hosts(id),
             ts INTEGER NOT NULL{rollup_cols},
             n INTEGER NOT NULL,
             PRIMARY KEY (host_id, ts)) WITHOUT ROWID;
         CREATE TABLE anomaly_events (
             id INTEGER PRIMARY KEY,
             host_id INTEGER NOT NULL REFERENCES hosts(id),
             start INTEGER NOT NULL,
             \"end\" INTEGER,
             peak_score REAL NOT NULL,
             peak_at INTEGER NOT NULL,
             explanation TEXT NOT NULL,
             expected INTEGER NOT NULL DEFAULT 0);
         CREATE INDEX anomaly_events_by_start ON anomaly_events (host_id, start);"
    ))
}

/// Alerting (src/alert, methods in store/alerts.rs): notifications with their
/// per-channel deliveries (the outbox *and* the history: a delivery row is pending
/// until sent), silences, and the engine's state so a restart does not re-announce.
/// Alert rules added or edited through the API/UI (by name; they override a config
/// file rule of the same name), stored as the rule's JSON config.
fn v3_alert_rules(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE alert_rules (
             name TEXT PRIMARY KEY,
             config TEXT NOT NULL,
             updated_at INTEGER NOT NULL);",
    )
}

/// Access control (methods in store/auth.rs): users with Argon2id hashes, sessions
/// and API tokens kept only as SHA-256 hashes of their secrets, the audit log.
fn v4_auth(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE users (
             id INTEGER PRIMARY KEY,
             name TEXT NOT NULL UNIQUE,
             role TEXT NOT NULL,
             password_hash TEXT NOT NULL,
             created_at INTEGER NOT NULL,
             updated_at INTEGER NOT NULL);
         CREATE TABLE sessions (
             id_hash TEXT PRIMARY KEY,
             user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
             created_at INTEGER NOT NULL,
             expires_at INTEGER NOT NULL) WITHOUT ROWID;
         CREATE INDEX sessions_by_expiry ON sessions (expires_at);
         CREATE TABLE api_tokens (
             id INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             token_hash TEXT NOT NULL UNIQUE,
             prefix TEXT NOT NULL,
             scope TEXT NOT NULL,
             created_by TEXT NOT NULL,
             created_at INTEGER NOT NULL,
             last_used_at INTEGER,
             revoked_at INTEGER);
         CREATE TABLE audit_log (
             id INTEGER PRIMARY KEY,
             at INTEGER NOT NULL,
             actor TEXT NOT NULL,
             action TEXT NOT NULL,
             target TEXT NOT NULL,
             detail TEXT NOT NULL);",
    )
}

/// Agents and a hub (store/ingest.rs): an ingest token is bound to the host of its
/// first batch, so it cannot write another host's samples.
fn v5_ingest(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch("ALTER TABLE api_tokens ADD COLUMN host TEXT;")
}

/// Per-core CPU use by minute (the analysis page's heatmap; see store/cores.rs): one
/// row per host and minute, the cores' means as little-endian f32s (4 bytes a core),
/// rolled up from the snapshots' `cpu.per_core` with the other rollups.
fn v6_core_rollups(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE core_rollups_1m (
             host_id INTEGER NOT NULL REFERENCES hosts(id),
             ts INTEGER NOT NULL,
             n INTEGER NOT NULL,
             per_core BLOB NOT NULL,
             PRIMARY KEY (host_id, ts)) WITHOUT ROWID;",
    )
}

fn v2_alerts(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE alert_notifications (
             id INTEGER PRIMARY KEY,
             dedup_key TEXT NOT NULL UNIQUE,
             kind TEXT NOT NULL,
             rule TEXT NOT NULL,
             host TEXT NOT NULL,
             severity TEXT NOT NULL,
             since INTEGER NOT NULL,
             created_at INTEGER NOT NULL,
             body TEXT NOT NULL);
         CREATE INDEX alert_notifications_by_time ON alert_notifications (created_at);
         CREATE TABLE alert_deliveries (
             notification_id INTEGER NOT NULL
                 REFERENCES alert_notifications(id) ON DELETE CASCADE,
             channel TEXT NOT NULL,
             status TEXT NOT NULL DEFAULT 'pending',
             attempts INTEGER NOT NULL DEFAULT 0,
             next_attempt_at INTEGER NOT NULL,
             last_error TEXT,
             delivered_at INTEGER,
             PRIMARY KEY (notification_id, channel)) WITHOUT ROWID;
         CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_attempt_at);
         CREATE TABLE alert_silences (
             id INTEGER PRIMARY KEY,
             rule TEXT,
             host TEXT,
             starts_at INTEGER NOT NULL,
             ends_at INTEGER NOT NULL,
             comment TEXT NOT NULL,
             created_by TEXT NOT NULL);
         CREATE TABLE alert_engine_state (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             state TEXT NOT NULL,
             saved_at INTEGER NOT NULL);",
    )
}

/// Brings the database to [`LATEST_VERSION`], one transaction per step so a crash
/// mid-migration leaves the previous version intact. Refuses newer databases: an
/// old binary writing into a newer schema could silently drop data.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > LATEST_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: LATEST_VERSION,
        });
    }
    for version in found..LATEST_VERSION {
        let mut step = || -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            MIGRATIONS[version as usize](&tx)?;
            tx.pragma_update(None, "user_version", version + 1)?;
            tx.commit()
        };
        step().map_err(|source| StoreError::Migration {
            path: path.to_path_buf(),
            version: version + 1,
            source,
        })?;
    }
    add_missing_columns(conn).map_err(|source| StoreError::Migration {
        path: path.to_path_buf(),
        version: LATEST_VERSION,
        source,
    })
}

/// Adds columns for metrics appended to METRICS after the database was created.
fn add_missing_columns(conn: &mut Connection) -> rusqlite::Result<()> {
    let existing: Vec<String> = {
        let mut st = conn.prepare("SELECT name FROM pragma_table_info('samples')")?;
        let names = st.query_map([], |r| r.get(0))?;
        names.collect::<rusqlite::Result<_>>()?
    };
    let missing: Vec<Column> = columns()
        .filter(|c| !existing.iter().any(|e| e == c.name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for c in missing {
        tx.execute_batch(&format!(
            "ALTER TABLE samples ADD COLUMN {0} REAL;
             ALTER TABLE rollups_1m ADD COLUMN {0}_min REAL;
             ALTER TABLE rollups_1m ADD COLUMN {0}_avg REAL;
             ALTER TABLE rollups_1m ADD COLUMN {0}_max REAL;",
            c.name
        ))?;
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_cover_metrics_and_score() {
        let names = queryable_names();
        assert_eq!(names.len(), model::METRICS.len() + 1);
        assert_eq!(names.last(), Some(&SCORE_COLUMN));
        assert!(column("cpu_usage").is_some());
        assert!(column("cpu_usage; DROP TABLE samples").is_none());
        assert!(!is_identifier("a b") && !is_identifier("1a") && is_identifier("load_1"));
    }
}
