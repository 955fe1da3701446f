//! `lookout agent`: samples this host with the server's own sampler and ships the
//! samples to a hub (`POST /api/ingest`), without a store, a detector or a web server.
//!
//! Two threads. The sampling thread takes a sample every interval and, once the
//! pending samples cover `batch_every`, writes them as one gzip batch into the on-disk
//! [`buffer`]; the shipping thread sends the buffered batches oldest first and deletes
//! each once the hub acknowledges it (any 2xx). The agent opens every connection (it
//! works behind NAT), and every sample is keyed by (host, timestamp), so a batch sent
//! twice (the answer was lost, the agent was killed mid-send) is stored once.
//!
//! What can be lost: the samples not yet written as a batch (at most one batch, when
//! the agent is killed with -9; a clean stop writes them first), and the oldest
//! batches once the buffer is past its bound while the hub is unreachable (counted).

pub mod buffer;
pub mod ship;

use crate::collect::{Sampler, SamplerOptions};
use crate::model::{IngestBatch, Snapshot};
use crate::time::now_ms;
use buffer::Buffer;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything the agent runs with (the server's `[agent]` section, checked).
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The hub's base URL, e.g. `https://hub.example.com:3000`.
    pub hub: String,
    /// An ingest token (`lk_...`).
    pub token: String,
    /// The name this host's samples are stored under on the hub.
    pub host: String,
    pub interval: Duration,
    pub process_refresh: Duration,
    /// A batch is written once its samples cover this long.
    pub batch_every: Duration,
    pub buffer_dir: PathBuf,
    /// The buffer's bound in bytes (compressed batches).
    pub buffer_max_bytes: u64,
    /// Trust this PEM CA (a private or self-signed hub certificate) besides the
    /// public roots.
    pub ca_file: Option<PathBuf>,
    /// One request's time limit.
    pub timeout: Duration,
}

/// gzip of the batch's JSON: the request body, and the buffer file's content.
pub fn encode(host: &str, samples: Vec<Snapshot>) -> std::io::Result<Vec<u8>> {
    let batch = IngestBatch {
        host: host.to_string(),
        samples,
    };
    let json = serde_json::to_vec(&batch)?;
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 4),
        flate2::Compression::default(),
    );
    gz.write_all(&json)?;
    gz.finish()
}

/// Runs until `stop` receives a message (or its sender is dropped): then writes the
/// pending samples as a last batch and returns; the buffered batches wait on disk
/// for the next start. Errors only when the buffer cannot be opened or the shipper
/// cannot be set up.
pub fn run(opts: AgentOptions, stop: mpsc::Receiver<()>) -> Result<(), String> {
    let buffer = Buffer::open(&opts.buffer_dir, opts.buffer_max_bytes).map_err(|e| {
        format!(
            "cannot open the agent buffer {} (`agent.buffer_dir`): {e}",
            opts.buffer_dir.display()
        )
    })?;
    let buffer = Arc::new(Mutex::new(buffer));
    let shipper = ship::Shipper::new(&opts)?;
    let (wake_tx, wake_rx) = mpsc::channel::<()>();
    let (ship_stop_tx, ship_stop_rx) = mpsc::channel::<()>();
    let ship_buffer = buffer.clone();
    let ship_thread = std::thread::Builder::new()
        .name("lookout-ship".into())
        .spawn(move || shipper.run(&ship_buffer, &wake_rx, &ship_stop_rx))
        .map_err(|e| format!("cannot start the shipping thread: {e}"))?;
    tracing::info!(
        hub = %opts.hub,
        host = %opts.host,
        interval_secs = opts.interval.as_secs_f64(),
        batch_secs = opts.batch_every.as_secs_f64(),
        buffer = %opts.buffer_dir.display(),
        "Lookout agent running"
    );

    let mut sampler = Sampler::new(
        opts.host.clone(),
        SamplerOptions {
            process_refresh_every: opts.process_refresh,
            ..SamplerOptions::default()
        },
    );
    let batch_ms = opts.batch_every.as_millis() as i64;
    let mut pending: Vec<Snapshot> = Vec::new();
    let mut next = Instant::now();
    let write_batch = |pending: &mut Vec<Snapshot>| {
        if pending.is_empty() {
            return;
        }
        let first_ts = pending[0].timestamp;
        let n = pending.len();
        let samples = std::mem::take(pending);
        let written = encode(&opts.host, samples).and_then(|body| {
            buffer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(&body, first_ts, n)
        });
        match written {
            Ok(0) => {}
            Ok(dropped) => {
                let total = buffer.lock().map(|b| b.dropped()).unwrap_or(0);
                tracing::warn!(
                    dropped,
                    dropped_total = total,
                    "agent buffer past `agent.buffer_max`: the oldest samples were dropped"
                )
            }
            Err(e) => {
                tracing::error!(error = %e, samples = n, "cannot write a batch to the agent buffer; it is lost")
            }
        }
        let _ = wake_tx.send(());
    };
    loop {
        let now = now_ms();
        let mut snap = sampler.sample(now);
        // The hub names the host; the per-sample copy would only repeat it.
        snap.host.clear();
        pending.push(snap);
        // The pending samples cover (newest - oldest) + one interval; half an interval
        // of slack absorbs timer jitter, so 10 s at 1 s is 10 samples, not 11.
        let interval_ms = opts.interval.as_millis() as i64;
        if now - pending[0].timestamp + interval_ms + interval_ms / 2 >= batch_ms {
            write_batch(&mut pending);
        }
        next += opts.interval;
        let wait = next.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            // Far behind (a suspended machine): continue from now instead of bursting.
            next = Instant::now();
        }
        match stop.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    write_batch(&mut pending);
    let _ = ship_stop_tx.send(());
    let _ = wake_tx.send(());
    let _ = ship_thread.join();
    tracing::info!("agent stopped");
    Ok(())
}
