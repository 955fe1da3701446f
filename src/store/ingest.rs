//! The hub's side of agents: storing a host's batch idempotently, and binding an
//! ingest token to the one host it may write.

use super::details;
use super::error::Result;
use super::samples::{host_id, insert_sample_sql_with, sample_values};
use super::Store;
use crate::model::{Snapshot, TimestampMs};
use rusqlite::{params, params_from_iter, OptionalExtension};

/// What [`Store::ingest`] did with a batch: every sample is counted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestCounts {
    /// Stored now.
    pub accepted: u64,
    /// A sample with the same (host, timestamp) was stored already.
    pub duplicate: u64,
}

/// The answer of [`Store::bind_token_host`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The token is bound to this host (now, or since an earlier batch).
    Bound,
    /// The token is bound to another host.
    Other(String),
    /// The token is unknown, revoked, or not an ingest token.
    NoToken,
}

impl Store {
    /// Stores `host`'s samples in one transaction (all or nothing). Unlike
    /// [`Store::insert`], a sample whose (host, timestamp) is stored already is kept
    /// as it was and counted as a duplicate, so an agent re-sending a batch it was
    /// not sure about stores nothing twice. The samples' own `host` is not read:
    /// the caller has checked it.
    pub fn ingest(&self, host: &str, snaps: &[Snapshot]) -> Result<IngestCounts> {
        let mut counts = IngestCounts::default();
        if snaps.is_empty() {
            return Ok(counts);
        }
        let sql = insert_sample_sql_with("INSERT", "ON CONFLICT (host_id, ts) DO NOTHING");
        // Compressed before the writer is taken, so other hosts' batches do not wait
        // for it (a duplicate's is wasted: re-sent batches are rare).
        let stored = snaps
            .iter()
            .map(|s| {
                let mut stored = s.clone();
                stored.host = host.to_string();
                details::column(&stored)
            })
            .collect::<serde_json::Result<Vec<_>>>()?;
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        {
            let id = host_id(&tx, host)?;
            let mut ins = tx.prepare_cached(&sql)?;
            let mut det = tx.prepare_cached(
                "INSERT INTO sample_details (host_id, ts, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT (host_id, ts) DO NOTHING",
            )?;
            for (s, detail) in snaps.iter().zip(stored) {
                if ins.execute(params_from_iter(sample_values(id, s)))? == 0 {
                    counts.duplicate += 1;
                    continue;
                }
                det.execute(params![id, s.timestamp, detail])?;
                counts.accepted += 1;
            }
        }
        tx.commit()?;
        Ok(counts)
    }

    /// Binds the live ingest token `token_id` to `host` if it is bound to none yet,
    /// and says which host it is bound to. One statement, so two first batches of
    /// different hosts racing cannot both win.
    pub fn bind_token_host(&self, token_id: i64, host: &str) -> Result<Binding> {
        let conn = self.writer();
        conn.execute(
            "UPDATE api_tokens SET host = ?2
             WHERE id = ?1 AND host IS NULL AND revoked_at IS NULL AND scope = 'ingest'",
            params![token_id, host],
        )?;
        let bound: Option<Option<String>> = conn
            .query_row(
                "SELECT host FROM api_tokens
                 WHERE id = ?1 AND revoked_at IS NULL AND scope = 'ingest'",
                [token_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match bound {
            None | Some(None) => Binding::NoToken,
            Some(Some(h)) if h == host => Binding::Bound,
            Some(Some(h)) => Binding::Other(h),
        })
    }

    /// Every host with stored samples or a name in the hosts table, by name, with
    /// its newest raw sample's timestamp (None when it has none).
    pub fn hosts(&self) -> Result<Vec<(String, Option<TimestampMs>)>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT h.name, (SELECT MAX(ts) FROM samples s WHERE s.host_id = h.id)
             FROM hosts h ORDER BY h.name",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The timestamps of `host`'s raw samples, oldest first (empty for an unknown host).
    pub fn host_history_timestamps(&self, host: &str) -> Result<Vec<TimestampMs>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached(
            "SELECT s.ts FROM samples s JOIN hosts h ON h.id = s.host_id
             WHERE h.name = ?1 ORDER BY s.ts",
        )?;
        let rows = st.query_map([host], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Number of raw samples stored for `host` (0 for an unknown host).
    pub fn host_sample_count(&self, host: &str) -> Result<u64> {
        let n: i64 = self.reader().query_row(
            "SELECT COUNT(*) FROM samples s JOIN hosts h ON h.id = s.host_id WHERE h.name = ?1",
            [host],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::auth::Scope;

    fn store() -> (tempfile::TempDir, Store) {
        crate::store::tests::temp_store("hub")
    }

    fn snap(ts: TimestampMs, cpu: f64) -> Snapshot {
        let mut s = Snapshot {
            timestamp: ts,
            cpu_usage: cpu,
            ..Snapshot::default()
        };
        s.cpu.total = cpu;
        s
    }

    #[test]
    fn a_resent_batch_is_counted_duplicate_and_keeps_the_first_values() {
        let (_d, s) = store();
        let batch = vec![snap(1_000, 10.0), snap(2_000, 20.0)];
        let c = s.ingest("web-2", &batch).unwrap();
        assert_eq!((c.accepted, c.duplicate), (2, 0));
        let again = vec![snap(2_000, 99.0), snap(3_000, 30.0), snap(3_000, 31.0)];
        let c = s.ingest("web-2", &again).unwrap();
        assert_eq!((c.accepted, c.duplicate), (1, 2));
        assert_eq!(s.host_sample_count("web-2").unwrap(), 3);
        assert_eq!(s.host_sample_count("hub").unwrap(), 0);
        let hosts = s.hosts().unwrap();
        assert!(
            hosts.contains(&("web-2".to_string(), Some(3_000))),
            "{hosts:?}"
        );
        let cpu: f64 = s
            .reader()
            .query_row(
                "SELECT cpu_usage FROM samples s JOIN hosts h ON h.id = s.host_id
                 WHERE h.name = 'web-2' AND ts = 2000",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(cpu, 20.0, "the first write wins");
    }

    #[test]
    fn an_ingest_token_binds_to_its_first_host_only() {
        let (_d, s) = store();
        let (t, _) = s.create_token("agent", Scope::Ingest, "cli", 0).unwrap();
        let (r, _) = s.create_token("reader", Scope::Read, "cli", 0).unwrap();
        assert_eq!(s.bind_token_host(t.id, "web-2").unwrap(), Binding::Bound);
        assert_eq!(s.bind_token_host(t.id, "web-2").unwrap(), Binding::Bound);
        assert_eq!(
            s.bind_token_host(t.id, "web-3").unwrap(),
            Binding::Other("web-2".into())
        );
        assert_eq!(s.bind_token_host(r.id, "web-2").unwrap(), Binding::NoToken);
        assert_eq!(s.tokens().unwrap()[1].host.as_deref(), Some("web-2"));
        s.revoke_token("agent", 5).unwrap().unwrap();
        assert_eq!(s.bind_token_host(t.id, "web-2").unwrap(), Binding::NoToken);
    }
}
