//! Wires the engine's live detector into the server: every sample is scored before it
//! is published and stored, events are persisted, and a background task trains,
//! saves and hot-swaps models (on a schedule, on demand, or when another process —
//! `lookout model train|rollback` — wrote a newer version).

use crate::config::DetectorSettings;
use crate::runtime::now_ms;
use lookout::detect::{
    DetectError, LiveConfig, LiveDetector, LiveOutcome, ModelInfo, ModelRegistry, Sensitivity,
    TrainFromStoreError,
};
use lookout::model::{AnomalyEvent, Snapshot, TimestampMs};
use lookout::store::Store;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// The detector's live state plus the id of the stored event it has open.
struct HostDetector {
    detector: LiveDetector,
    open_event_id: Option<i64>,
}

/// What `/api/model` shows besides the detector's own state (the wire type).
pub use lookout::model::TrainingStatus;
use lookout::model::{DetectorReport, ModelReport};

type TrainReply = oneshot::Sender<Result<ModelInfo, TrainingError>>;

/// Why a training did not give an installed model. The handler turns the caller's
/// part (too little history: 409) and the store's (busy or away: 503, try again)
/// into their own answers; the rest is the server's fault (500).
#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    /// The window holds too little usable history, or a member cannot be fitted.
    #[error("{0}")]
    Data(DetectError),
    /// The stored samples or events could not be read.
    #[error("cannot read the stored samples or events: {0}")]
    Store(#[from] lookout::store::StoreError),
    /// The model file could not be written to `detector.models_dir`.
    #[error("cannot save the model: {0}")]
    Save(DetectError),
    /// The new model does not fit the live detector (a metric count changed).
    #[error("cannot install the model: {0}")]
    Install(DetectError),
    /// The training thread or task is gone (shutting down) or the job panicked.
    #[error("{0}")]
    Runner(String),
}

impl From<TrainFromStoreError> for TrainingError {
    fn from(e: TrainFromStoreError) -> Self {
        match e {
            TrainFromStoreError::Store(e) => TrainingError::Store(e),
            TrainFromStoreError::Detect(e) => TrainingError::Data(e),
        }
    }
}

/// Cheap to clone; shared by the sampler task, the training task and the routes.
#[derive(Clone)]
pub struct Detection {
    live: Arc<Mutex<HostDetector>>,
    store: Arc<Store>,
    registry: ModelRegistry,
    settings: Arc<DetectorSettings>,
    status: Arc<Mutex<TrainingStatus>>,
    requests: mpsc::Sender<TrainReply>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Detection {
    /// Builds the detector, loads the newest valid model and replays recent history
    /// so that scoring resumes at once after a restart. Blocking: call at start-up.
    pub fn start(
        host: &str,
        settings: DetectorSettings,
        store: Arc<Store>,
        stopping: watch::Receiver<bool>,
    ) -> Result<(Detection, tokio::task::JoinHandle<()>), String> {
        let registry =
            ModelRegistry::open(&settings.models_dir, settings.keep_models).map_err(|e| {
                format!(
                    "cannot open the models folder `detector.models_dir` = {}: {e}",
                    settings.models_dir.display()
                )
            })?;
        let config = LiveConfig {
            host: host.to_string(),
            members: settings.members,
            sensitivity: settings.sensitivity,
            min_history_secs: settings.min_history.as_secs() as i64,
            training_window_secs: settings.training_window.as_secs() as i64,
            retrain_every_secs: settings.retrain_every.as_secs() as i64,
            adapt_after_secs: settings.adapt_after.as_secs() as i64,
            // Training reads the store, so the detector keeps only the rows a new
            // normal is learnt from (`adapt_after`).
            buffer_secs: 60,
            self_train: false,
            // The daily profile's days are read from the store's rollups (at start, at
            // each new day, hourly): kept in memory, they were half of a hub's memory
            // per host, and a restart lost them.
            seasonal_loaded: true,
            // Throttling, OOM kills and PSI are stored but are not features.
            metric_names: lookout::model::detector_metric_names(),
            ..LiveConfig::default()
        };
        let mut detector = LiveDetector::new(config);
        let (model, warnings) = registry.load_newest_valid();
        for w in warnings {
            tracing::warn!("model file skipped: {w}");
        }
        if let Some(m) = model {
            let version = m.version;
            match detector.install_model(Arc::new(m)) {
                Ok(()) => tracing::info!(version, "loaded detector model"),
                Err(e) => tracing::warn!(version, error = %e, "model incompatible; will retrain"),
            }
        }
        // Events marked expected teach the detector before any retraining.
        let now = now_ms();
        if let Ok(events) = store.events(now - 90 * 86_400_000, now) {
            for e in events
                .iter()
                .filter(|e| e.expected && e.explanation.rhythm.is_none())
            {
                detector.mark_expected(e);
            }
            // Recent events teach the rhythms (nightly jobs) after a restart.
            for e in events.iter().filter(|e| now - e.start <= 15 * 86_400_000) {
                detector.remember(e);
            }
        }
        let (tx, rx) = mpsc::channel(4);
        let detection = Detection {
            live: Arc::new(Mutex::new(HostDetector {
                detector,
                open_event_id: None,
            })),
            store,
            registry,
            settings: Arc::new(settings),
            status: Arc::new(Mutex::new(TrainingStatus::default())),
            requests: tx,
        };
        detection.load_seasonal(now);
        detection.replay(now);
        let task = tokio::spawn(detection.clone().run_training(rx, stopping));
        Ok((detection, task))
    }

    /// Reads the seasonal profile's days from the store when the detector wants them
    /// (blocking: one aggregate query). On a read error the bands in service stay and
    /// the next tick tries again.
    fn load_seasonal(&self, now: TimestampMs) {
        let Some(request) = lock(&self.live).detector.seasonal_load_due(now) else {
            return;
        };
        match lookout::detect::seasonal_history(&self.store, &request) {
            Ok(slots) => lock(&self.live)
                .detector
                .load_seasonal(&request, slots.iter()),
            Err(e) => tracing::warn!(
                error = %e,
                "cannot read the stored history of the daily profile; the bands in service stay"
            ),
        }
    }

    /// Feeds the stored samples of the last `min_history` (plus a margin, so that
    /// exactly enough stored history counts as enough) through the detector.
    fn replay(&self, now: TimestampMs) {
        let span = self.settings.min_history.max(self.settings.adapt_after);
        let from = now - span.as_millis() as i64 - 300_000;
        let rows = match self.store.raw_range(from, now) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read history for the detector");
                return;
            }
        };
        let n = rows.len();
        for (ts, scalars) in rows {
            let outcome = lock(&self.live).detector.observe(ts, &scalars, &[], &[]);
            self.persist(outcome, true);
        }
        tracing::info!(samples = n, "detector warmed up from stored history");
    }

    /// Scores one sample in place (`anomaly_score`, `anomaly`) and stores any event
    /// change, returned with its store id (for alerting). Blocking (a store write when
    /// an event opens, peaks or closes).
    pub fn score(&self, snap: &mut Snapshot) -> Vec<AnomalyEvent> {
        let scalars = snap.scalars();
        let outcome = lock(&self.live).detector.observe(
            snap.timestamp,
            &scalars,
            &snap.processes.top_cpu,
            &snap.processes.top_memory,
        );
        if let Some(s) = &outcome.score {
            snap.anomaly_score = Some(s.combined);
            snap.anomaly = s.anomalous;
        }
        let mut outcome = outcome;
        if let Some(e) = outcome.opened.as_mut() {
            // Throttling, a memory limit, pressure: named beside the metrics.
            e.explanation.causes = lookout::detect::causes::resource_causes(snap);
        }
        self.persist(outcome, false)
    }

    fn persist(&self, outcome: LiveOutcome, replaying: bool) -> Vec<AnomalyEvent> {
        let mut touched = Vec::new();
        let adapted = outcome.adapted;
        if let Some(mut e) = outcome.opened {
            // On replay, an event that was stored before the restart is found again.
            let existing = replaying
                .then(|| self.store.events(e.start, e.start).ok())
                .flatten()
                .and_then(|list| list.into_iter().find(|x| x.start == e.start).map(|x| x.id));
            let id = match existing {
                Some(id) => Some(id),
                None => self.save(&e),
            };
            if !replaying {
                tracing::warn!(
                    score = e.peak_score,
                    top = e
                        .explanation
                        .metrics
                        .first()
                        .map(|m| m.metric.as_str())
                        .unwrap_or("-"),
                    expected = e.expected,
                    "anomaly event opened"
                );
            }
            lock(&self.live).open_event_id = id;
            e.id = id.unwrap_or(0);
            touched.push(e);
        }
        for (e, closing) in [(outcome.updated, false), (outcome.closed, true)] {
            let Some(mut e) = e else { continue };
            let id = lock(&self.live).open_event_id;
            e.id = id.unwrap_or(0);
            let saved = self.save(&e);
            let mut live = lock(&self.live);
            live.open_event_id = if closing { None } else { saved.or(id) };
            if closing && !replaying {
                if adapted {
                    tracing::info!(
                        peak = e.peak_score,
                        "anomaly event closed: the change held steady and is the new normal"
                    );
                } else {
                    tracing::info!(peak = e.peak_score, "anomaly event closed");
                }
            }
            drop(live);
            touched.push(e);
        }
        touched
    }

    fn save(&self, e: &AnomalyEvent) -> Option<i64> {
        match self.store.save_event(e) {
            Ok(id) => Some(id),
            Err(err) => {
                tracing::error!(error = %err, "cannot store anomaly event");
                None
            }
        }
    }

    /// The detector's state, model versions and training status, for `/api/model`.
    /// Whether an anomaly event is open now (`lookout_anomaly_event_open`).
    pub fn event_open(&self) -> bool {
        lock(&self.live).open_event_id.is_some()
    }

    pub fn report(&self) -> ModelReport {
        let (state, sensitivity) = {
            let live = lock(&self.live);
            (
                live.detector.state(),
                live.detector.config().sensitivity.name(),
            )
        };
        let (versions, warnings) = self.registry.list();
        ModelReport {
            enabled: true,
            detector: Some(DetectorReport {
                state,
                sensitivity,
                training: lock(&self.status).clone(),
                versions: versions.iter().map(ModelInfo::to_version).collect(),
                warnings,
            }),
        }
    }

    pub fn set_sensitivity(&self, s: Sensitivity) {
        lock(&self.live).detector.set_sensitivity(s);
    }

    /// Marks an event expected and teaches the live detector. Returns the event,
    /// or None when no event has that id.
    pub fn mark_expected(
        &self,
        id: i64,
        expected: bool,
    ) -> Result<Option<AnomalyEvent>, lookout::store::StoreError> {
        if !self.store.set_event_expected(id, expected)? {
            return Ok(None);
        }
        let event = self.store.event(id)?;
        if let (Some(e), true) = (&event, expected) {
            lock(&self.live).detector.mark_expected(e);
        }
        Ok(event)
    }

    /// Asks the training task to train now; resolves when the model is installed.
    pub async fn train_now(&self) -> Result<ModelInfo, TrainingError> {
        let (tx, rx) = oneshot::channel();
        let gone = |m: &str| TrainingError::Runner(m.to_string());
        self.requests
            .send(tx)
            .await
            .map_err(|_| gone("the training task is not running"))?;
        rx.await.map_err(|_| gone("training was cancelled"))?
    }

    async fn run_training(
        self,
        mut requests: mpsc::Receiver<TrainReply>,
        mut stopping: watch::Receiver<bool>,
    ) {
        let mut ticker = tokio::time::interval(Duration::from_secs(30));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let reply = tokio::select! {
                _ = ticker.tick() => None,
                r = requests.recv() => match r { Some(r) => Some(r), None => break },
                _ = stopping.wait_for(|s| *s) => break,
            };
            self.pick_up_newer_model();
            if lock(&self.live)
                .detector
                .seasonal_load_due(now_ms())
                .is_some()
            {
                // Queued with the trainings: a hub's hosts all reload after midnight.
                let this = self.clone();
                if let Err(e) = crate::training::run(move || this.load_seasonal(now_ms())).await {
                    tracing::warn!(error = %e, "the daily profile was not reloaded");
                }
            }
            let due = reply.is_some() || self.training_due();
            if !due {
                continue;
            }
            let this = self.clone();
            // Queued with every other host's training, below the request handlers.
            let result = crate::training::run(move || this.train_and_install())
                .await
                .unwrap_or_else(|e| Err(TrainingError::Runner(e)));
            match &result {
                Ok(info) => tracing::info!(
                    version = info.version,
                    samples = info.samples,
                    "detector model trained"
                ),
                Err(e) => tracing::warn!(error = %e, "detector training failed"),
            }
            if let Some(reply) = reply {
                let _ = reply.send(result);
            }
        }
    }

    /// The engine's schedule (stream time: the samples' timestamps), also after a
    /// change was accepted as the new normal; a failed attempt waits `retrain_every`.
    fn training_due(&self) -> bool {
        let live = lock(&self.live);
        lock(&self.status).next_training_at = live.detector.next_training_at();
        live.detector.training_due()
    }

    /// Loads a version written by another process if it is newer than ours.
    fn pick_up_newer_model(&self) {
        let current = lock(&self.live)
            .detector
            .model()
            .map(|m| m.version)
            .unwrap_or(0);
        let (versions, _) = self.registry.list();
        let Some(newest) = versions.iter().map(|v| v.version).max() else {
            return;
        };
        if newest <= current {
            return;
        }
        match self.registry.load(newest) {
            Ok(m) => {
                if lock(&self.live).detector.install_model(Arc::new(m)).is_ok() {
                    tracing::info!(version = newest, "switched to a newer model version");
                }
            }
            Err(e) => tracing::warn!(version = newest, error = %e, "newer model file unusable"),
        }
    }

    /// Reads the training window from the store, trains, saves and installs.
    fn train_and_install(&self) -> Result<ModelInfo, TrainingError> {
        let now = now_ms();
        lock(&self.status).training = true;
        let result = self.train_inner(now);
        let mut status = lock(&self.status);
        status.training = false;
        status.last_trained_at = Some(now);
        status.last_error = result.as_ref().err().map(|e| e.to_string());
        result
    }

    fn train_inner(&self, now: TimestampMs) -> Result<ModelInfo, TrainingError> {
        // The engine says what to read and how to treat it; the store adds what the
        // detector may not remember (events from before a restart).
        let mut plan = lock(&self.live).detector.begin_training();
        if plan.to <= 0 {
            plan.to = now;
            plan.from = now - self.settings.training_window.as_millis() as i64;
        }
        let mut model = lookout::detect::train_from_store(&self.store, plan)?;
        let version = self
            .registry
            .save(&mut model)
            .map_err(TrainingError::Save)?;
        let _ = self.registry.prune();
        let info = self
            .registry
            .list()
            .0
            .into_iter()
            .find(|i| i.version == version)
            .ok_or_else(|| {
                TrainingError::Save(DetectError::Format(format!(
                    "model v{version} saved but not listed"
                )))
            })?;
        lock(&self.live)
            .detector
            .install_model(Arc::new(model))
            .map_err(TrainingError::Install)?;
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout::store::StoreOptions;

    /// A server started on a store that holds days of samples with a nightly backup
    /// has its daily pattern at once: the profile is read from the store's rollups
    /// (and the raw samples after them), not learnt again over two days after every
    /// restart.
    #[tokio::test]
    async fn a_restarted_server_reads_its_daily_pattern_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("lookout.db"),
            StoreOptions {
                host: "h".into(),
                ..StoreOptions::default()
            },
        )
        .unwrap();
        let now = now_ms();
        let first = (now - 4 * 86_400_000) / 60_000;
        let rows: Vec<Snapshot> = (first..now / 60_000)
            .map(|minute| {
                let tod = minute.rem_euclid(1440);
                let noise = (minute * 7919).rem_euclid(100) as f64 / 100.0;
                let level = if (120..140).contains(&tod) {
                    90.0
                } else {
                    10.0
                };
                Snapshot {
                    host: "h".into(),
                    timestamp: minute * 60_000,
                    cpu_usage: level + noise,
                    // The stored `cpu_usage` column is the snapshot's `cpu.total`.
                    cpu: lookout::model::CpuStats {
                        total: level + noise,
                        ..Default::default()
                    },
                    ..Snapshot::default()
                }
            })
            .collect();
        store.insert(&rows[..rows.len() - 30]).unwrap();
        store.maintain(now - 30 * 60_000).unwrap();
        store.insert(&rows[rows.len() - 30..]).unwrap();
        let settings = DetectorSettings {
            enabled: true,
            sensitivity: Sensitivity::Medium,
            members: lookout::detect::Members::default(),
            min_history: Duration::from_secs(3600),
            training_window: Duration::from_secs(86_400),
            retrain_every: Duration::from_secs(3600),
            adapt_after: Duration::from_secs(1800),
            models_dir: dir.path().join("models"),
            keep_models: 2,
        };
        let (_stop, stopping) = watch::channel(false);
        let (detection, task) = Detection::start("h", settings, Arc::new(store), stopping).unwrap();
        let report = detection.report().detector.expect("a detector");
        assert!(report.state.daily_pattern, "{:?}", report.state);
        assert!(lock(&detection.live)
            .detector
            .seasonal_load_due(now)
            .is_none());
        task.abort();
    }
}
