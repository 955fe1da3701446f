//! Alert tables: the notification outbox / history, silences, engine state.
//!
//! A notification is inserted with one delivery row per channel *before* anything
//! is sent, keyed by (dedup key, channel), so re-inserting the same notification
//! (after a crash, or by a retried caller) never creates a second message.

use super::error::Result;
use super::Store;
use crate::alert::engine::PersistedState;
use crate::alert::notification::{Notification, Silence};
pub use crate::model::alerts::{AlertHistoryEntry, DeliveryStatus};
use crate::model::TimestampMs;
use rusqlite::{params, OptionalExtension};

/// A delivery due for an attempt.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub notification_id: i64,
    pub channel: String,
    pub attempts: u32,
    pub notification: Notification,
}

fn silence_row(r: &rusqlite::Row) -> rusqlite::Result<Silence> {
    Ok(Silence {
        id: r.get(0)?,
        rule: r.get(1)?,
        host: r.get(2)?,
        starts_at: r.get(3)?,
        ends_at: r.get(4)?,
        comment: r.get(5)?,
        created_by: r.get(6)?,
    })
}

impl Store {
    /// Puts `n` in the outbox for `channels`, due at once. Idempotent: returns how
    /// many delivery rows were new (0 when this notification was already queued).
    pub fn enqueue_notification(
        &self,
        n: &Notification,
        channels: &[&str],
        now: TimestampMs,
    ) -> Result<usize> {
        let body = serde_json::to_string(n)?;
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO alert_notifications
             (dedup_key, kind, rule, host, severity, since, created_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (dedup_key) DO NOTHING",
            params![
                n.id,
                n.kind.as_str(),
                n.rule,
                n.host,
                n.severity.as_str(),
                n.since,
                now,
                body
            ],
        )?;
        let id: i64 = tx.query_row(
            "SELECT id FROM alert_notifications WHERE dedup_key = ?1",
            [&n.id],
            |r| r.get(0),
        )?;
        let mut added = 0;
        for ch in channels {
            added += tx.execute(
                "INSERT INTO alert_deliveries (notification_id, channel, next_attempt_at)
                 VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![id, ch, now],
            )?;
        }
        tx.commit()?;
        Ok(added)
    }

    /// Pending deliveries whose next attempt is at or before `now`, oldest first.
    pub fn due_deliveries(&self, now: TimestampMs, limit: usize) -> Result<Vec<DueDelivery>> {
        let conn = self.reader();
        let mut st = conn.prepare(
            "SELECT d.notification_id, d.channel, d.attempts, n.body
             FROM alert_deliveries d JOIN alert_notifications n ON n.id = d.notification_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
             ORDER BY d.next_attempt_at, d.notification_id LIMIT ?2",
        )?;
        let rows = st.query_map(params![now, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (notification_id, channel, attempts, body) = row?;
            out.push(DueDelivery {
                notification_id,
                channel,
                attempts,
                notification: serde_json::from_str(&body)?,
            });
        }
        Ok(out)
    }

    /// Records a successful delivery.
    pub fn mark_delivered(
        &self,
        notification_id: i64,
        channel: &str,
        now: TimestampMs,
    ) -> Result<()> {
        self.writer().execute(
            "UPDATE alert_deliveries SET status = 'delivered', attempts = attempts + 1,
             delivered_at = ?3, last_error = NULL
             WHERE notification_id = ?1 AND channel = ?2",
            params![notification_id, channel, now],
        )?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub fn mark_failed(
        &self,
        notification_id: i64,
        channel: &str,
        error: &str,
        next_attempt_at: TimestampMs,
    ) -> Result<()> {
        self.writer().execute(
            "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = ?3,
             next_attempt_at = ?4 WHERE notification_id = ?1 AND channel = ?2",
            params![notification_id, channel, error, next_attempt_at],
        )?;
        Ok(())
    }

    /// Deliveries not yet made, and the earliest next attempt (for the worker's sleep).
    pub fn pending_deliveries(&self) -> Result<(u64, Option<TimestampMs>)> {
        Ok(self.reader().query_row(
            "SELECT COUNT(*), MIN(next_attempt_at) FROM alert_deliveries WHERE status = 'pending'",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
        )?)
    }

    /// Notifications created in `from..=to`, newest first, with their deliveries.
    pub fn alert_history(
        &self,
        from: TimestampMs,
        to: TimestampMs,
        limit: usize,
    ) -> Result<Vec<AlertHistoryEntry>> {
        let conn = self.reader();
        let mut st = conn.prepare(
            "SELECT id, created_at, body FROM alert_notifications
             WHERE created_at BETWEEN ?1 AND ?2 ORDER BY created_at DESC, id DESC LIMIT ?3",
        )?;
        let rows = st
            .query_map(params![from, to, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get::<_, String>(2)?))
            })?
            .collect::<rusqlite::Result<Vec<(i64, TimestampMs, String)>>>()?;
        let mut ds = conn.prepare(
            "SELECT channel, status, attempts, next_attempt_at, last_error, delivered_at
             FROM alert_deliveries WHERE notification_id = ?1 ORDER BY channel",
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, created_at, body) in rows {
            let deliveries = ds
                .query_map([id], |r| {
                    let status: String = r.get(1)?;
                    let next: TimestampMs = r.get(3)?;
                    Ok(DeliveryStatus {
                        channel: r.get(0)?,
                        next_attempt_at: (status == "pending").then_some(next),
                        status,
                        attempts: r.get(2)?,
                        last_error: r.get(4)?,
                        delivered_at: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            out.push(AlertHistoryEntry {
                id,
                created_at,
                notification: serde_json::from_str(&body)?,
                deliveries,
            });
        }
        Ok(out)
    }

    /// Deletes history older than `before` whose deliveries are all done (pending
    /// rows are kept however old: the outbox never drops a message).
    pub fn prune_alert_history(&self, before: TimestampMs) -> Result<usize> {
        Ok(self.writer().execute(
            "DELETE FROM alert_notifications WHERE created_at < ?1 AND NOT EXISTS
             (SELECT 1 FROM alert_deliveries d
              WHERE d.notification_id = alert_notifications.id AND d.status = 'pending')",
            [before],
        )?)
    }

    /// Stores a silence and returns its id (validate it first with
    /// [`Silence::validate`]).
    pub fn create_silence(&self, s: &Silence) -> Result<i64> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO alert_silences (rule, host, starts_at, ends_at, comment, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                s.rule,
                s.host,
                s.starts_at,
                s.ends_at,
                s.comment,
                s.created_by
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Silences, newest first; with `active_at`, only those in force at that time.
    pub fn silences(&self, active_at: Option<TimestampMs>) -> Result<Vec<Silence>> {
        let conn = self.reader();
        let sql = "SELECT id, rule, host, starts_at, ends_at, comment, created_by
                   FROM alert_silences WHERE ?1 IS NULL OR (starts_at <= ?1 AND ends_at > ?1)
                   ORDER BY id DESC";
        let mut st = conn.prepare(sql)?;
        let rows = st.query_map([active_at], silence_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Ends a silence now (kept for the record). False if no such silence.
    pub fn expire_silence(&self, id: i64, now: TimestampMs) -> Result<bool> {
        Ok(self.writer().execute(
            "UPDATE alert_silences SET ends_at = MIN(ends_at, ?2) WHERE id = ?1",
            params![id, now],
        )? > 0)
    }

    /// Deletes a silence. False if no such silence.
    pub fn delete_silence(&self, id: i64) -> Result<bool> {
        Ok(self
            .writer()
            .execute("DELETE FROM alert_silences WHERE id = ?1", [id])?
            > 0)
    }

    /// Saves the engine's state (call after each batch of notifications is queued).
    pub fn save_alert_engine_state(&self, state: &PersistedState, now: TimestampMs) -> Result<()> {
        let json = serde_json::to_string(state)?;
        self.writer().execute(
            "INSERT INTO alert_engine_state (id, state, saved_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at",
            params![json, now],
        )?;
        Ok(())
    }

    pub fn load_alert_engine_state(&self) -> Result<Option<PersistedState>> {
        let json: Option<String> = self
            .reader()
            .query_row(
                "SELECT state FROM alert_engine_state WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }

    /// Rules saved through the API/UI, by name.
    pub fn saved_alert_rules(&self) -> Result<Vec<crate::alert::RuleConfig>> {
        let conn = self.reader();
        let mut st = conn.prepare_cached("SELECT config FROM alert_rules ORDER BY name")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            out.push(serde_json::from_str(&json?)?);
        }
        Ok(out)
    }

    /// Adds or replaces a rule by its name.
    pub fn save_alert_rule(
        &self,
        name: &str,
        rule: &crate::alert::RuleConfig,
        now: TimestampMs,
    ) -> Result<()> {
        self.writer().execute(
            "INSERT INTO alert_rules (name, config, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET config = ?2, updated_at = ?3",
            params![name, serde_json::to_string(rule)?, now],
        )?;
        Ok(())
    }

    /// Removes a saved rule; false when there was none.
    pub fn delete_alert_rule(&self, name: &str) -> Result<bool> {
        Ok(self
            .writer()
            .execute("DELETE FROM alert_rules WHERE name = ?1", params![name])?
            > 0)
    }
}
