//! From a firing alert to a notification: group wait and repeats, silences,
//! inhibition, the rate limit's digest, and the message itself.

use super::{AlertEngine, Phase};
use crate::alert::inhibit::AlertRef;
use crate::alert::notification::{DigestEntry, Notification, NotificationKind};
use crate::model::{Explanation, TimestampMs};

impl AlertEngine {
    /// Sends due firing notifications (after group wait, and repeats) and digests.
    pub(super) fn flush(&mut self, now: TimestampMs, out: &mut Vec<Notification>) {
        let keys: Vec<(String, String)> = self.alerts.keys().cloned().collect();
        for key in keys {
            let Phase::Firing {
                fired_at,
                notified_at,
                repeats,
            } = self.alerts[&key].phase
            else {
                continue;
            };
            let due = match notified_at {
                None => now >= fired_at + self.settings.group_wait_ms,
                Some(t) => now >= t + self.settings.repeat_interval_ms,
            };
            if !due || self.silenced(&key.0, &key.1, now) {
                continue;
            }
            let Some(i) = self.rules.iter().position(|r| r.name == key.0) else {
                continue;
            };
            if let Some(source) = self.inhibited_by(&key.0, &key.1) {
                self.note_inhibition(i, &key, fired_at, source, now, out);
                continue;
            }
            let repeats = if notified_at.is_some() {
                repeats + 1
            } else {
                0
            };
            let n = self.notification(i, &key.1, NotificationKind::Firing, fired_at, now, repeats);
            if let Some(a) = self.alerts.get_mut(&key) {
                a.phase = Phase::Firing {
                    fired_at,
                    notified_at: Some(now),
                    repeats,
                };
            }
            self.emit(n, now, out);
        }
        let window = self.settings.rate_limit_window_ms;
        let digest_due = self
            .held_since
            .is_some_and(|t| now >= t + self.settings.group_wait_ms)
            && self.last_digest_at.is_none_or(|t| now >= t + window);
        if digest_due {
            let digest = std::mem::take(&mut self.held);
            self.held_since = None;
            self.last_digest_at = Some(now);
            out.push(Notification {
                id: format!("digest|{now}"),
                kind: NotificationKind::Digest,
                rule: "digest".into(),
                rule_kind: None,
                condition: format!(
                    "more than {} notifications in {}",
                    self.settings.rate_limit_max,
                    crate::alert::rules::format_duration(window)
                ),
                host: self.settings.host.clone(),
                severity: digest.iter().map(|d| d.severity).max().unwrap_or_default(),
                since: digest.iter().map(|d| d.since).min().unwrap_or(now),
                at: now,
                values: Vec::new(),
                explanation: None,
                dashboard_link: self.link(&self.settings.host, now - window, now),
                channels: Vec::new(),
                digest,
                inhibited_by: None,
                forecast: None,
            });
        }
    }

    /// Rate-limited output: beyond the limit a notification becomes a digest line.
    /// A resolve is held back if silenced (its firing may have been sent earlier).
    pub(super) fn emit(&mut self, n: Notification, now: TimestampMs, out: &mut Vec<Notification>) {
        if n.kind == NotificationKind::Resolved
            && (self.silenced(&n.rule, &n.host, now)
                || self.inhibited_by(&n.rule, &n.host).is_some())
        {
            return;
        }
        let window = self.settings.rate_limit_window_ms;
        while self.sent.front().is_some_and(|&t| t <= now - window) {
            self.sent.pop_front();
        }
        if self.sent.len() < self.settings.rate_limit_max {
            self.sent.push_back(now);
            out.push(n);
        } else {
            self.held_since.get_or_insert(now);
            self.held.push(DigestEntry {
                kind: n.kind,
                rule: n.rule,
                rule_kind: n.rule_kind,
                host: n.host,
                severity: n.severity,
                since: n.since,
            });
        }
    }

    pub(super) fn silenced(&self, rule: &str, host: &str, now: TimestampMs) -> bool {
        self.silences.iter().any(|s| s.covers(rule, host, now))
    }

    /// The firing alert (`"rule on host"`) that inhibits (rule, host), if any.
    pub(super) fn inhibited_by(&self, rule: &str, host: &str) -> Option<String> {
        if self.inhibit.is_empty() {
            return None;
        }
        let target = AlertRef {
            rule: self.rules.iter().find(|r| r.name == rule)?,
            host,
        };
        self.alerts.iter().find_map(|((src_rule, src_host), a)| {
            if !matches!(a.phase, Phase::Firing { .. }) {
                return None;
            }
            let source = AlertRef {
                rule: self.rules.iter().find(|r| &r.name == src_rule)?,
                host: src_host,
            };
            self.inhibit
                .iter()
                .any(|i| i.inhibits(&source, &target))
                .then(|| format!("{src_rule} on {src_host}"))
        })
    }

    /// Writes one `inhibited` history entry per firing (no channel delivers it; the
    /// outbox stores it for the history only), outside the rate limit.
    pub(super) fn note_inhibition(
        &mut self,
        i: usize,
        key: &(String, String),
        fired_at: TimestampMs,
        source: String,
        now: TimestampMs,
        out: &mut Vec<Notification>,
    ) {
        if self.alerts[key].inhibition_noted == Some(fired_at) {
            return;
        }
        let mut n = self.notification(i, &key.1, NotificationKind::Inhibited, fired_at, now, 0);
        n.inhibited_by = Some(source);
        if let Some(a) = self.alerts.get_mut(key) {
            a.inhibition_noted = Some(fired_at);
        }
        out.push(n);
    }

    pub(super) fn relevant_explanation(&self, host: &str, now: TimestampMs) -> Option<Explanation> {
        let e = self.hosts.get(host)?.event.as_ref()?;
        (!e.expected && e.end.is_none_or(|end| now - end < 10 * 60_000))
            .then(|| e.explanation.clone())
    }

    pub(super) fn notification(
        &self,
        i: usize,
        host: &str,
        kind: NotificationKind,
        fired_at: TimestampMs,
        now: TimestampMs,
        repeats: u32,
    ) -> Notification {
        let rule = &self.rules[i];
        let a = self.alerts.get(&(rule.name.clone(), host.to_string()));
        let mut id = format!("{}|{host}|{}|{fired_at}", rule.name, kind.as_str());
        if repeats > 0 {
            id += &format!("|repeat-{repeats}");
        }
        Notification {
            id,
            kind,
            rule: rule.name.clone(),
            rule_kind: Some(rule.kind_name()),
            condition: rule.describe(),
            host: host.to_string(),
            severity: rule.severity,
            since: fired_at,
            at: now,
            values: a.map(|a| a.values.clone()).unwrap_or_default(),
            explanation: a.and_then(|a| a.explanation.clone()),
            dashboard_link: self.link(host, fired_at, now),
            channels: rule.channels.clone(),
            digest: Vec::new(),
            inhibited_by: None,
            forecast: a.and_then(|a| a.forecast.clone()),
        }
    }

    /// Dashboard URL showing 15 min before `from` to 5 min after `to`.
    pub(super) fn link(&self, host: &str, from: TimestampMs, to: TimestampMs) -> String {
        format!(
            "{}/?host={}&from={}&to={}",
            self.settings.dashboard_url.trim_end_matches('/'),
            url_escape(host),
            from - 15 * 60_000,
            to + 5 * 60_000
        )
    }

    /// A test message for the UI's "send test notification" (one channel).
    pub fn test_notification(&self, channel: &str, now: TimestampMs) -> Notification {
        Notification {
            id: format!("test|{channel}|{now}"),
            kind: NotificationKind::Test,
            rule: "test".into(),
            rule_kind: None,
            condition: "manual test notification".into(),
            host: self.settings.host.clone(),
            severity: crate::alert::rules::Severity::Info,
            since: now,
            at: now,
            values: Vec::new(),
            explanation: None,
            dashboard_link: self.link(&self.settings.host, now, now),
            channels: vec![channel.to_string()],
            digest: Vec::new(),
            inhibited_by: None,
            forecast: None,
        }
    }
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
