//! A hub's per-host detectors: one [`Detection`] per agent host (its own
//! `LiveDetector`, model files under `detector.models_dir/hosts/<host>/`, versions,
//! training schedule and open event), made on the host's first batch. Each works on
//! a view of the server's one store as that host ([`Store::as_host`]: the same
//! connections, no file of its own), so every store read and write it makes (history
//! for training, scores, events) is that host's.
//!
//! Samples are scored before they are stored, in timestamp order, each once: a
//! re-sent sample (stored already) or one older than the newest scored is stored
//! unscored rather than fed to the detector twice or out of order.

use crate::config::{DetectorSettings, Settings};
use crate::detector::Detection;
use lookout::model::{AnomalyEvent, Snapshot, TimestampMs};
use lookout::store::Store;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

struct HostDetection {
    detection: Detection,
    /// The newest timestamp fed to the detector.
    last_scored: TimestampMs,
}

/// Cheap to clone; shared by the ingest route.
#[derive(Clone)]
pub struct HubDetectors {
    store: Arc<Store>,
    settings: DetectorSettings,
    hosts: Arc<Mutex<HashMap<String, Arc<Mutex<HostDetection>>>>>,
    stopping: watch::Receiver<bool>,
}

impl HubDetectors {
    /// None when `detector.enabled` is false.
    pub fn new(
        settings: &Settings,
        store: Arc<Store>,
        stopping: watch::Receiver<bool>,
    ) -> Option<HubDetectors> {
        settings.detector.enabled.then(|| HubDetectors {
            store,
            settings: settings.detector.clone(),
            hosts: Arc::new(Mutex::new(HashMap::new())),
            stopping,
        })
    }

    /// Hosts with a detector now.
    pub fn hosts(&self) -> Vec<String> {
        let mut h: Vec<String> = lock(&self.hosts).keys().cloned().collect();
        h.sort();
        h
    }

    /// The model folder of `host` (host names are checked: no `/`, no leading `.`).
    pub fn models_dir(base: &std::path::Path, host: &str) -> PathBuf {
        base.join("hosts").join(host)
    }

    /// The host's detector, made (and warmed up from its stored history) on first use.
    /// Blocking; must run inside the tokio runtime (its training task is spawned).
    fn detector(&self, host: &str) -> Result<Arc<Mutex<HostDetection>>, String> {
        if let Some(d) = lock(&self.hosts).get(host) {
            return Ok(d.clone());
        }
        let store = self
            .store
            .as_host(host)
            .map_err(|e| format!("cannot read the store for host {host}: {e}"))?;
        let last_scored = store
            .raw_bounds()
            .ok()
            .flatten()
            .map(|(_, newest)| newest)
            .unwrap_or(i64::MIN);
        let mut settings = self.settings.clone();
        settings.models_dir = Self::models_dir(&self.settings.models_dir, host);
        let (detection, _task) =
            Detection::start(host, settings, Arc::new(store), self.stopping.clone())?;
        tracing::info!(%host, "detector started for a new host");
        let entry = Arc::new(Mutex::new(HostDetection {
            detection,
            last_scored,
        }));
        // Two first batches of one host racing: the first one in wins.
        Ok(lock(&self.hosts)
            .entry(host.to_string())
            .or_insert(entry)
            .clone())
    }

    /// `host`'s detector (None: none made for it since the hub started).
    pub fn detection(&self, host: &str) -> Option<Detection> {
        let d = lock(&self.hosts).get(host).cloned()?;
        let detection = lock(&d).detection.clone();
        Some(detection)
    }

    /// Whether `host` has an anomaly event open (None: no detector for it yet).
    pub fn event_open(&self, host: &str) -> Option<bool> {
        self.detection(host).map(|d| d.event_open())
    }

    /// Scores `samples` (sorted by time) of `host` in place; returns the anomaly events
    /// opened, updated or closed (stored already, for alerting). Blocking.
    pub fn score_batch(&self, host: &str, samples: &mut [Snapshot]) -> Vec<AnomalyEvent> {
        let d = match self.detector(host) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(%host, error = %e, "no detector for this host; samples stored unscored");
                return Vec::new();
            }
        };
        let mut d = lock(&d);
        let mut events = Vec::new();
        for s in samples.iter_mut() {
            if s.timestamp <= d.last_scored {
                continue;
            }
            d.last_scored = s.timestamp;
            s.host = host.to_string();
            events.extend(d.detection.score(s));
        }
        events
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
