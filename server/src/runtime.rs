//! Background tasks: the sampler, the batched store writer and store maintenance.
//!
//! Data path (Vector-style source -> transforms -> sinks): the sampler task produces a
//! `Snapshot` each interval; it is published on a `watch` channel (the latest value,
//! read by `/metrics` and the dashboard without any sampling in the request), on a
//! `broadcast` channel (live pushes), and sent to the writer task, which batches it
//! into SQLite.

use crate::alerting::Alerting;
use crate::config::Settings;
use crate::detector::Detection;
use lookout::collect::{Sampler, SamplerOptions};
use lookout::export::remote_write::RemoteWriteSink;
use lookout::export::{host_series, HostView};
use lookout::model::Snapshot;
use lookout::store::Store;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

/// Samples kept in memory while the store cannot be written (full disk, locked
/// file): at 1 s sampling, about 3 hours. Older ones are dropped with an error log.
const MAX_PENDING: usize = 10_000;

pub use lookout::time::now_ms;

/// Shared handles to the running services.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<Store>,
    pub latest: watch::Receiver<Option<Snapshot>>,
    pub live: broadcast::Sender<Arc<Snapshot>>,
    /// Timestamp of the last sample taken, for readiness.
    pub last_sample_at: Arc<AtomicI64>,
    /// Set while the writer cannot write (its message), for readiness.
    pub store_error: Arc<std::sync::Mutex<Option<String>>>,
    pub interval: Duration,
    /// Turns true when the server shuts down; long-lived responses (SSE) end then,
    /// so graceful shutdown does not wait on them forever.
    pub stopping: watch::Receiver<bool>,
    /// None when `detector.enabled` is false.
    pub detection: Option<Detection>,
    pub alerting: Alerting,
    /// Caps on open `/api/stream`s (`server.max_streams`, `..._per_caller`).
    pub streams: Arc<crate::streams::StreamLimits>,
    /// `[export.remote_write]`, when configured: every sample (with its anomaly
    /// score) is queued here after scoring.
    pub remote_write: Option<Arc<RemoteWriteSink>>,
    /// `[ingest]`: limits of agents' batches (`POST /api/ingest`).
    pub ingest: crate::config::IngestSettings,
    /// One detector per agent host (None when `detector.enabled` is false).
    pub hub: Option<crate::hub::HubDetectors>,
    /// The newest sample of each agent host (a hub's `/metrics/prometheus` lists
    /// every host, not only its own).
    pub fleet: Arc<std::sync::Mutex<std::collections::BTreeMap<String, Snapshot>>>,
}

impl Services {
    /// The detector of `host`: the server's own for its own host, on a hub an agent
    /// host's. None when detection is off, or for an agent host whose detector has not
    /// started since the hub did (it starts with the host's first batch). An agent
    /// host's takes that host's lock, which scoring one of its batches holds.
    pub fn detection_of(&self, host: &str) -> Option<Detection> {
        if host == self.store.options().host {
            self.detection.clone()
        } else {
            self.hub.as_ref().and_then(|h| h.detection(host))
        }
    }
}

pub struct Tasks {
    pub services: Services,
    handles: Vec<JoinHandle<()>>,
    writer: JoinHandle<()>,
    shutdown: watch::Sender<bool>,
}

impl Tasks {
    /// A handle that stops every task and live stream when sent `true`.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Stops sampling and waits until the writer has flushed what it holds.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for h in self.handles {
            let _ = h.await;
        }
        let _ = self.writer.await;
        if let Some(sink) = self.services.remote_write.and_then(Arc::into_inner) {
            // What is still queued gets one last bounded try.
            let _ =
                tokio::task::spawn_blocking(move || sink.shutdown(Duration::from_secs(2))).await;
        }
    }
}

/// Starts the sampler, writer, maintenance and (when enabled) training tasks.
pub fn start(settings: &Settings, store: Arc<Store>) -> Result<Tasks, crate::error::ServerError> {
    let initial = store.latest().ok().flatten();
    let (latest_tx, latest_rx) = watch::channel(initial);
    let (live_tx, _) = broadcast::channel(64);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (write_tx, write_rx) = mpsc::channel::<Snapshot>(1024);
    let mut handles = Vec::new();
    let detection = if settings.detector.enabled {
        let (d, task) = Detection::start(
            &settings.host,
            settings.detector.clone(),
            store.clone(),
            shutdown_rx.clone(),
        )
        .map_err(crate::error::ServerError::Detector)?;
        handles.push(task);
        Some(d)
    } else {
        None
    };
    let (alerting, alert_task) = Alerting::start(
        &settings.alerts,
        &settings.host,
        store.clone(),
        shutdown_rx.clone(),
    )
    .map_err(crate::error::ServerError::Alerting)?;
    handles.push(alert_task);
    let services = Services {
        store: store.clone(),
        latest: latest_rx,
        live: live_tx.clone(),
        last_sample_at: Arc::new(AtomicI64::new(0)),
        store_error: Arc::new(std::sync::Mutex::new(None)),
        interval: settings.interval,
        stopping: shutdown_rx.clone(),
        detection: detection.clone(),
        alerting: alerting.clone(),
        streams: crate::streams::StreamLimits::new(
            settings.edge.max_streams,
            settings.edge.max_streams_per_caller,
        ),
        remote_write: settings
            .remote_write
            .clone()
            .map(|o| Arc::new(RemoteWriteSink::start(o))),
        ingest: settings.ingest,
        hub: crate::hub::HubDetectors::new(settings, store.clone(), shutdown_rx.clone()),
        fleet: Arc::default(),
    };

    let sampler = Sampler::new(
        settings.host.clone(),
        SamplerOptions {
            process_refresh_every: settings.process_refresh,
            ..SamplerOptions::default()
        },
    );
    let outputs = Outputs {
        latest: latest_tx,
        live: live_tx,
        writer: write_tx,
        detection,
        alerting,
        last_sample_at: services.last_sample_at.clone(),
        remote_write: services.remote_write.clone(),
    };
    let sampler_task = tokio::spawn(run_sampler(
        sampler,
        settings.interval,
        outputs,
        shutdown_rx.clone(),
    ));
    let writer = tokio::spawn(run_writer(
        store.clone(),
        write_rx,
        settings.flush_interval,
        services.store_error.clone(),
    ));
    handles.push(sampler_task);
    handles.push(tokio::spawn(run_maintenance(store, shutdown_rx)));
    Ok(Tasks {
        services,
        handles,
        writer,
        shutdown: shutdown_tx,
    })
}

/// Where each sample goes after it is taken (and scored).
struct Outputs {
    latest: watch::Sender<Option<Snapshot>>,
    live: broadcast::Sender<Arc<Snapshot>>,
    writer: mpsc::Sender<Snapshot>,
    detection: Option<Detection>,
    alerting: Alerting,
    last_sample_at: Arc<AtomicI64>,
    remote_write: Option<Arc<RemoteWriteSink>>,
}

async fn run_sampler(
    mut sampler: Sampler,
    interval: Duration,
    out: Outputs,
    mut shutdown: watch::Receiver<bool>,
) {
    let Outputs {
        latest,
        live,
        writer,
        detection,
        alerting,
        last_sample_at,
        remote_write,
    } = out;
    let mut ticker = sample_ticker(interval);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => break,
        }
        let now = now_ms();
        let (detection, alerting) = (detection.clone(), alerting.clone());
        let taken = tokio::task::spawn_blocking(move || {
            let mut snap = sampler.sample(now);
            // Scored before it is published or stored, so every copy carries the score.
            let events = detection
                .as_ref()
                .map(|d| d.score(&mut snap))
                .unwrap_or_default();
            alerting.on_sample(&snap, &events);
            let event_open = detection.as_ref().map(|d| d.event_open());
            (sampler, snap, event_open)
        })
        .await;
        let (snap, event_open) = match taken {
            Ok((s, snap, event_open)) => {
                sampler = s;
                (snap, event_open)
            }
            Err(e) => {
                tracing::error!(error = %e, "sampler panicked; stopping the sampler");
                return;
            }
        };
        last_sample_at.store(snap.timestamp, Ordering::Relaxed);
        if let Some(sink) = &remote_write {
            let view = HostView {
                snapshot: &snap,
                event_open,
            };
            sink.push(&host_series(view), snap.timestamp);
        }
        let shared = Arc::new(snap.clone());
        let _ = live.send(shared);
        latest.send_replace(Some(snap.clone()));
        if writer.send(snap).await.is_err() {
            tracing::error!("store writer is gone; stopping the sampler");
            return;
        }
    }
    tracing::info!("sampler stopped");
}

/// Batches samples into the store. A failed write keeps the batch and retries at
/// the next flush, so a full disk loses nothing until `MAX_PENDING` is reached.
async fn run_writer(
    store: Arc<Store>,
    mut rx: mpsc::Receiver<Snapshot>,
    flush_every: Duration,
    store_error: Arc<std::sync::Mutex<Option<String>>>,
) {
    let mut pending: Vec<Snapshot> = Vec::new();
    let mut last_flush = tokio::time::Instant::now();
    loop {
        let received = rx.recv().await;
        let closing = received.is_none();
        if let Some(s) = received {
            pending.push(s);
        }
        if !closing && last_flush.elapsed() < flush_every {
            continue;
        }
        last_flush = tokio::time::Instant::now();
        let batch = std::mem::take(&mut pending);
        let st = store.clone();
        let result = tokio::task::spawn_blocking(move || {
            let r = st.insert(&batch);
            (batch, r)
        })
        .await;
        match result {
            Ok((_, Ok(()))) => {
                if store_error
                    .lock()
                    .map(|mut e| e.take().is_some())
                    .unwrap_or(false)
                {
                    tracing::info!("store writable again; pending samples written");
                }
            }
            Ok((batch, Err(e))) => {
                tracing::error!(error = %e, kept = batch.len(), "cannot write samples; will retry");
                if let Ok(mut slot) = store_error.lock() {
                    *slot = Some(e.to_string());
                }
                pending = batch;
                if pending.len() > MAX_PENDING {
                    let drop = pending.len() - MAX_PENDING;
                    tracing::error!(
                        dropped = drop,
                        "too many unwritten samples; dropping the oldest"
                    );
                    pending.drain(..drop);
                }
            }
            Err(e) => tracing::error!(error = %e, "store writer panicked"),
        }
        if closing {
            if !pending.is_empty() {
                tracing::error!(lost = pending.len(), "shutting down with unwritten samples");
            }
            break;
        }
    }
    tracing::info!("store writer stopped");
}

/// The sampler's clock: one tick per interval on a fixed grid from the start. A tick
/// the task gets to late (a busy runtime, a loaded host) does not move the ones after
/// it, so an hour at 1 s is 3,600 samples. (`Delay`, used before, restarted the grid
/// at every tick more than 5 ms late: under load the samples drifted to 1,000.9 ms
/// apart, 4 fewer than expected in 75 minutes.) After a stall longer than the
/// interval (a suspended laptop) the missed ticks are skipped, not burst.
fn sample_ticker(interval: Duration) -> tokio::time::Interval {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    ticker
}

async fn run_maintenance(store: Arc<Store>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(60));
    // Unlike the sampler's clock, no grid to keep: maintenance rolls up whatever minutes
    // are complete, so a late run only shifts the next one (never two back to back
    // after a long roll-up or a stall).
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => break,
        }
        let st = store.clone();
        let began = std::time::Instant::now();
        match tokio::task::spawn_blocking(move || st.maintain(now_ms())).await {
            // A long one is worth a line: on a busy hub it is what ingest waits for.
            Ok(Ok(report)) if began.elapsed() >= Duration::from_secs(1) => tracing::info!(
                ?report,
                millis = began.elapsed().as_millis() as u64,
                "store maintenance took over a second"
            ),
            Ok(Ok(report)) => tracing::debug!(?report, "store maintenance"),
            Ok(Err(e)) => tracing::warn!(error = %e, "store maintenance failed; will retry"),
            Err(e) => tracing::error!(error = %e, "store maintenance panicked"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    /// Ticks a runtime gets to only every 70 ms (a busy host): the interval's late
    /// ticks must not push the later ones back.
    async fn ticks_seen(mut ticker: tokio::time::Interval, over: Duration) -> u32 {
        let start = tokio::time::Instant::now();
        let mut ticks = 0;
        while tokio::time::Instant::now() - start < over {
            if ticker.tick().now_or_never().is_some() {
                ticks += 1;
            }
            tokio::time::advance(Duration::from_millis(70)).await;
        }
        ticks
    }

    #[tokio::test(start_paused = true)]
    async fn late_ticks_do_not_drift_the_sampling_grid() {
        let period = Duration::from_secs(1);
        // 100 s: the first tick at once, then one a second.
        let ticks = ticks_seen(sample_ticker(period), Duration::from_secs(100)).await;
        assert_eq!(ticks, 100, "one sample per second of the 100");
        // What the sampler did before: every late tick restarted the grid.
        let mut delayed = tokio::time::interval(period);
        delayed.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let drifted = ticks_seen(delayed, Duration::from_secs(100)).await;
        assert!(drifted < 100, "the old clock drifts: {drifted} ticks");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stall_skips_the_missed_samples_instead_of_bursting() {
        let mut ticker = sample_ticker(Duration::from_secs(1));
        ticker.tick().await;
        // Suspended for 10.5 s: one tick at wake-up, then back on the grid.
        tokio::time::advance(Duration::from_millis(10_500)).await;
        assert!(ticker.tick().now_or_never().is_some());
        assert!(
            ticker.tick().now_or_never().is_none(),
            "no burst of missed ticks"
        );
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(
            ticker.tick().now_or_never().is_some(),
            "on the grid at 11 s"
        );
    }
}
