//! Wires the engine's alerting into the server: each scored sample and each anomaly
//! event feed the alert engine; notifications go to the SQLite outbox first, and a
//! delivery task sends what is due (retrying with backoff), so nothing is lost when
//! a channel is down or the server restarts.

use crate::runtime::now_ms;
use lookout::alert::{
    deliver_due, enqueue, AlertConfig, AlertEngine, Notification, Notifier, Rule, RuleConfig,
    Silence,
};
pub use lookout::model::RuleView;
use lookout::model::{ActiveAlert, AnomalyEvent, RuleTestResult, Snapshot};
use lookout::store::{Store, StoreError};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};

#[derive(Clone)]
pub struct Alerting {
    engine: Arc<Mutex<AlertEngine>>,
    notifiers: Arc<Vec<Box<dyn Notifier>>>,
    store: Arc<Store>,
    /// Wakes the delivery task as soon as something is enqueued.
    wake: Arc<Notify>,
    /// The config file's `[alerts]` (rules there can be overridden, not deleted).
    config: Arc<AlertConfig>,
    /// Rules saved through the API (a copy of the store's, for listing without I/O).
    saved: Arc<Mutex<Vec<RuleConfig>>>,
    /// Notifications the outbox could not take (the store locked by another process,
    /// a full disk): kept here, oldest first, and written again before anything new,
    /// so an alert that fires while the store is away is still delivered.
    unsent: Arc<Mutex<std::collections::VecDeque<Notification>>>,
}

/// Why an alerting change from the API failed, so the caller gets the right answer:
/// their input (400), a rule they cannot delete (409), or the store being away (503,
/// try again) rather than one message for all three.
#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    /// What the caller sent is wrong; the message names what.
    #[error("{0}")]
    Invalid(String),
    /// A rule of the config file cannot be deleted through the API.
    #[error("rule {0:?} is defined in the config file; disable it (\"enabled\": false) instead")]
    InConfigFile(String),
    /// The store could not be read or written (locked by another process, a full disk).
    #[error("the store is not available now ({0}); try again")]
    Store(#[from] StoreError),
}

/// Notifications held in memory at most while the outbox cannot be written; past it
/// the oldest go, with an error in the log (at one a minute per rule this is days).
pub const MAX_UNSENT: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Alerting {
    /// Builds the engine from `[alerts]`, restores its state and silences, and starts
    /// the tick + delivery task. Blocking (store reads): call at start-up.
    pub fn start(
        cfg: &AlertConfig,
        host: &str,
        store: Arc<Store>,
        stopping: watch::Receiver<bool>,
    ) -> Result<(Alerting, tokio::task::JoinHandle<()>), String> {
        let mut engine = cfg
            .engine(host)
            .map_err(|e| format!("invalid configuration: {e}"))?;
        let notifiers = cfg
            .notifiers()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        match store.load_alert_engine_state() {
            Ok(Some(state)) => engine.import_state(state),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot restore alert state; starting fresh"),
        }
        engine.set_silences(store.silences(None).map_err(|e| e.to_string())?);
        // Every host with samples (agents of a hub), so one that stopped sending while
        // the hub was down still goes stale.
        match store.hosts() {
            Ok(hosts) => {
                for (name, last) in hosts {
                    if let Some(last) = last {
                        engine.seed_host(&name, last);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list the stored hosts"),
        }
        let mut saved = store.saved_alert_rules().map_err(|e| e.to_string())?;
        match cfg.with_saved(&saved) {
            Ok(rules) => engine.set_rules(rules),
            Err(e) => {
                tracing::error!("rules saved through the API are invalid, using the file's: {e}");
                saved.clear();
            }
        }
        // The forecast buffers get their stored history on the first tick, which runs at
        // once: reading up to a week of samples must not hold up start-up.
        tracing::info!(
            rules = engine.rules().len(),
            channels = notifiers.len(),
            "alerting ready"
        );
        let alerting = Alerting {
            engine: Arc::new(Mutex::new(engine)),
            notifiers: Arc::new(notifiers),
            store,
            wake: Arc::new(Notify::new()),
            config: Arc::new(cfg.clone()),
            saved: Arc::new(Mutex::new(saved)),
            unsent: Arc::default(),
        };
        let task = tokio::spawn(alerting.clone().run(stopping));
        Ok((alerting, task))
    }

    /// Feeds one scored sample and the events it opened or updated. Blocking.
    pub fn on_sample(&self, snap: &Snapshot, events: &[AnomalyEvent]) {
        let now = snap.timestamp;
        let notifications = {
            let mut engine = lock(&self.engine);
            for e in events {
                engine.observe_event(e);
            }
            engine.observe_snapshot(snap, now)
        };
        self.enqueue(&notifications, now);
    }

    /// Feeds an agent's batch for `host`, as arriving now (see
    /// `AlertEngine::observe_batch`). Blocking.
    pub fn on_batch(&self, host: &str, samples: &[Snapshot], events: &[AnomalyEvent]) {
        let now = now_ms();
        let notifications = {
            let mut engine = lock(&self.engine);
            for e in events {
                engine.observe_event(e);
            }
            engine.observe_batch(host, samples, now)
        };
        self.enqueue(&notifications, now);
    }

    /// Writes `notifications` to the outbox after any held back earlier; what cannot
    /// be written is held in memory (see `unsent`) and tried again on the next call
    /// (every tick: at most 5 s later). The outbox ignores a notification it already
    /// has, so a retry after a half-written batch duplicates nothing.
    fn enqueue(&self, notifications: &[Notification], now: i64) {
        let batch: Vec<Notification> = {
            let mut unsent = lock(&self.unsent);
            if unsent.is_empty() && notifications.is_empty() {
                return;
            }
            unsent.extend(notifications.iter().cloned());
            unsent.drain(..).collect()
        };
        let held_back = batch.len() - notifications.len();
        match enqueue(&self.store, &batch, &self.notifiers, now) {
            Ok(_) => {
                if held_back > 0 {
                    tracing::info!(
                        count = held_back,
                        "outbox writable again: held notifications queued"
                    );
                }
                self.wake.notify_one();
            }
            Err(e) => {
                let mut unsent = lock(&self.unsent);
                // Anything added meanwhile by another caller goes after this batch.
                let newer: Vec<Notification> = unsent.drain(..).collect();
                unsent.extend(batch);
                unsent.extend(newer);
                let over = unsent.len().saturating_sub(MAX_UNSENT);
                if over > 0 {
                    unsent.drain(..over);
                    tracing::error!(
                        dropped = over,
                        "too many notifications held in memory; dropping the oldest"
                    );
                }
                tracing::error!(
                    error = %e,
                    held = unsent.len(),
                    "cannot write notifications to the outbox; holding them in memory and retrying"
                );
            }
        }
        if notifications.is_empty() {
            return;
        }
        let state = lock(&self.engine).export_state();
        if let Err(e) = self.store.save_alert_engine_state(&state, now) {
            tracing::warn!(error = %e, "cannot save alert state");
        }
    }

    /// Notifications held in memory because the outbox could not take them.
    pub fn unsent(&self) -> usize {
        lock(&self.unsent).len()
    }

    async fn run(self, mut stopping: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = self.wake.notified() => {}
                _ = stopping.wait_for(|s| *s) => break,
            }
            let this = self.clone();
            let _ = tokio::task::spawn_blocking(move || this.tick_and_deliver()).await;
        }
    }

    /// Fills the forecast rules' buffers from stored history (the engine keeps them in
    /// memory only), so a forecast rule judges at once after a restart or a rule edit
    /// instead of an hour later. The store is read without holding the engine, so
    /// samples keep flowing meanwhile; a metric is read once per lookback.
    fn seed_forecasts(&self) {
        let todo = lock(&self.engine).forecast_metrics_to_seed();
        for (metric, keep) in todo {
            let now = now_ms();
            match lookout::forecast::source::scalar_points(&self.store, &metric, now - keep, now) {
                Ok(points) => lock(&self.engine).seed_trend("", &metric, &points),
                Err(e) => {
                    tracing::warn!(error = %e, metric, "cannot read history for a forecast rule")
                }
            }
        }
    }

    fn tick_and_deliver(&self) {
        self.seed_forecasts();
        let now = now_ms();
        let notifications = lock(&self.engine).tick(now);
        self.enqueue(&notifications, now);
        match deliver_due(&self.store, &self.notifiers, now) {
            Ok(r) if r.failed > 0 => {
                tracing::warn!(?r, "some notifications not delivered yet; will retry")
            }
            Ok(r) if r.delivered > 0 => {
                tracing::info!(delivered = r.delivered, "notifications delivered")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "outbox delivery failed"),
        }
    }

    // ------------------------------------------------------------ API helpers

    pub fn active(&self) -> Vec<ActiveAlert> {
        lock(&self.engine).active(now_ms())
    }

    /// The effective rules with their source and editable form.
    pub fn rules(&self) -> Vec<RuleView> {
        let rules = lock(&self.engine).rules().to_vec();
        lookout::alert::merge::rule_views(&self.config, &lock(&self.saved), &rules)
    }

    pub fn channels(&self) -> Vec<String> {
        self.notifiers
            .iter()
            .map(|n| n.name().to_string())
            .collect()
    }

    /// Enqueues a test notification for one channel. Errors name the unknown channel.
    pub fn send_test(&self, channel: &str) -> Result<(), AlertingError> {
        if !self.notifiers.iter().any(|n| n.name() == channel) {
            return Err(AlertingError::Invalid(format!(
                "no channel named {channel:?}; configured: {}",
                self.channels().join(", ")
            )));
        }
        let now = now_ms();
        let n = lock(&self.engine).test_notification(channel, now);
        self.enqueue(&[n], now);
        Ok(())
    }

    pub fn add_silence(&self, mut s: Silence) -> Result<Silence, AlertingError> {
        s.validate().map_err(AlertingError::Invalid)?;
        s.id = self.store.create_silence(&s)?;
        self.reload_silences()?;
        Ok(s)
    }

    pub fn expire_silence(&self, id: i64) -> Result<bool, AlertingError> {
        let found = self.store.expire_silence(id, now_ms())?;
        self.reload_silences()?;
        Ok(found)
    }

    fn reload_silences(&self) -> Result<(), AlertingError> {
        let all = self.store.silences(None)?;
        lock(&self.engine).set_silences(all);
        Ok(())
    }

    /// Adds or replaces a rule (by name) from the API; it is stored and overrides a
    /// file rule of the same name. Errors name the rule and field.
    pub fn put_rule(&self, name: &str, mut rule: RuleConfig) -> Result<Rule, AlertingError> {
        rule.name = Some(name.to_string());
        let mut saved = self.store.saved_alert_rules()?;
        saved.retain(|r| r.name.as_deref() != Some(name));
        saved.push(rule.clone());
        let rules = self
            .config
            .with_saved(&saved)
            .map_err(|e| AlertingError::Invalid(e.to_string()))?;
        self.store.save_alert_rule(name, &rule, now_ms())?;
        let parsed = rules.iter().find(|r| r.name == name).cloned();
        lock(&self.engine).set_rules(rules);
        *lock(&self.saved) = saved;
        // A new forecast rule's history is read by the background task, not here.
        self.wake.notify_one();
        parsed
            .ok_or_else(|| AlertingError::Invalid(format!("rule {name:?} not found after saving")))
    }

    /// Removes a rule saved through the API. A rule of the config file cannot be
    /// removed this way (disable it with `enabled = false` instead).
    pub fn delete_rule(&self, name: &str) -> Result<bool, AlertingError> {
        let in_file = self
            .config
            .rules
            .iter()
            .any(|r| r.name.as_deref() == Some(name));
        let removed = self.store.delete_alert_rule(name)?;
        if !removed && in_file {
            return Err(AlertingError::InConfigFile(name.to_string()));
        }
        let saved = self.store.saved_alert_rules()?;
        // What is left was valid with the deleted rule in it, and stays valid without.
        let rules = self
            .config
            .with_saved(&saved)
            .map_err(|e| AlertingError::Invalid(e.to_string()))?;
        lock(&self.engine).set_rules(rules);
        *lock(&self.saved) = saved;
        Ok(removed)
    }

    /// Checks a rule without saving it: does it parse, and would its condition hold
    /// on the latest sample?
    pub fn test_rule(
        &self,
        rule: &RuleConfig,
        latest: Option<&Snapshot>,
    ) -> Result<RuleTestResult, AlertingError> {
        let parsed = rule
            .parse(0)
            .map_err(|e| AlertingError::Invalid(e.to_string()))?;
        // The engine's own judgement (lookout::alert::AlertEngine::judge), not a copy of it.
        let (value, holds) = match latest {
            Some(s) => {
                let j = lock(&self.engine).judge(&parsed, s);
                (j.value, j.holds)
            }
            None => (None, None),
        };
        Ok(RuleTestResult {
            describe: parsed.describe(),
            rule: parsed.name,
            value_now: value,
            condition_holds_now: holds,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
