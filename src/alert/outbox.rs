//! The persistent outbox: notifications are written to SQLite before any attempt
//! and leave it only once delivered, so an SMTP outage or a restart delays alerts
//! but never loses them, and the (dedup key, channel) key means none goes twice.
//!
//! Delivery is at-least-once at the transport boundary: a crash after the server
//! accepted a message but before `mark_delivered` commits resends that one message.
//! That window is one SQLite write, and the generic webhook payload carries `id`
//! for receivers that want to deduplicate.

use super::notification::{Notification, NotificationKind};
use super::notify::Notifier;
use crate::model::TimestampMs;
use crate::store::{Store, StoreError};

/// First retry after 5 s, doubling per attempt, capped at 5 min: fast enough to
/// recover from a relay restart, slow enough not to hammer a dead server.
pub const BACKOFF_BASE_MS: i64 = 5_000;
pub const BACKOFF_CAP_MS: i64 = 5 * 60_000;
/// Rows handled per [`deliver_due`] call, so one call stays short.
pub const BATCH: usize = 100;

/// Delay before the next attempt after `attempts` failed ones (>= 1).
pub fn backoff_ms(attempts: u32) -> i64 {
    let exp = attempts.saturating_sub(1).min(20);
    (BACKOFF_BASE_MS << exp).min(BACKOFF_CAP_MS)
}

/// Queues notifications on their channels (all `notifiers` when a notification
/// names none; none for `inhibited` history entries). Returns how many delivery rows were new.
pub fn enqueue(
    store: &Store,
    notifications: &[Notification],
    notifiers: &[Box<dyn Notifier>],
    now: TimestampMs,
) -> Result<usize, StoreError> {
    let all: Vec<&str> = notifiers.iter().map(|n| n.name()).collect();
    let mut added = 0;
    for n in notifications {
        let channels: Vec<&str> = if n.kind == NotificationKind::Inhibited {
            // History only: an inhibited alert is recorded, never delivered.
            Vec::new()
        } else if n.channels.is_empty() {
            all.clone()
        } else {
            n.channels.iter().map(String::as_str).collect()
        };
        added += store.enqueue_notification(n, &channels, now)?;
    }
    Ok(added)
}

/// What one [`deliver_due`] pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub attempted: usize,
    pub delivered: usize,
    pub failed: usize,
    /// (channel, notification id, error) of the failures, for the log.
    pub errors: Vec<(String, String, String)>,
    /// Deliveries still pending after this pass, and the earliest next attempt.
    pub pending: u64,
    pub next_due: Option<TimestampMs>,
}

/// Tries every due delivery once; successes are marked delivered, failures get
/// the error recorded and a retry scheduled with [`backoff_ms`]. Blocking: run it
/// from `spawn_blocking`, e.g. every few seconds and right after [`enqueue`].
pub fn deliver_due(
    store: &Store,
    notifiers: &[Box<dyn Notifier>],
    now: TimestampMs,
) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    for d in store.due_deliveries(now, BATCH)? {
        report.attempted += 1;
        let result = match notifiers.iter().find(|n| n.name() == d.channel) {
            Some(notifier) => notifier.send(&d.notification).map_err(|e| e.to_string()),
            // Kept and retried: the channel may come back with a config reload.
            None => Err(format!("no channel named {:?} is configured", d.channel)),
        };
        match result {
            Ok(()) => {
                store.mark_delivered(d.notification_id, &d.channel, now)?;
                report.delivered += 1;
            }
            Err(e) => {
                let next = now + backoff_ms(d.attempts + 1);
                store.mark_failed(d.notification_id, &d.channel, &e, next)?;
                report.failed += 1;
                report.errors.push((d.channel, d.notification.id, e));
            }
        }
    }
    (report.pending, report.next_due) = store.pending_deliveries()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(1), 5_000);
        assert_eq!(backoff_ms(2), 10_000);
        assert_eq!(backoff_ms(4), 40_000);
        assert_eq!(backoff_ms(7), BACKOFF_CAP_MS);
        assert_eq!(backoff_ms(1000), BACKOFF_CAP_MS);
    }
}
