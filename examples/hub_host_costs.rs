//! What one host costs a hub in steady state, beyond ingest (issue 13): its hourly
//! retraining on the last 24 h of its stored samples at 5 s (read from the store and
//! trained, as the hub's training thread does through `detect::train_from_store`), and
//! its daily profile's hourly read of 8 days of 1-minute rollups
//! (`detect::seasonal_history`). A load generator's run of an hour never reaches
//! this: its hosts have minutes of history, so their trainings are small.
//!
//! The host's 8 days are synthetic (a daily rhythm and noise on every detector metric)
//! and written to a real SQLite store in a temporary folder first; the costs are
//! then timed as this thread's CPU time (Linux schedstat), which other load on the
//! machine disturbs less than wall time, and projected to 1,000 hosts.
//!
//!     cargo run --release -p lookout --example hub_host_costs

use lookout::detect::{
    seasonal_history, train_from_store, HistoryRequest, Members, TrainParams, TrainingPlan,
};
use lookout::model::{
    detector_metric_names, CpuStats, DiskStats, LoadAverage, MemoryStats, NetworkStats,
    ProcessInfo, ProcessStats, Snapshot, TimestampMs,
};
use lookout::store::{Store, StoreOptions};
use std::time::Instant;

const DAY: i64 = 86_400_000;
const STEP: i64 = 5_000;
const HOSTS: f64 = 1_000.0;

/// This thread's CPU time in ns (0 where schedstat is missing).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A sample at `ts`: every detector metric follows a daily rhythm plus noise, with a
/// process list as an agent sends it (deterministic: a small LCG).
fn snapshot(ts: TimestampMs, seed: &mut u64) -> Snapshot {
    let mut noise = || {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let day = ((ts % DAY) as f64 / DAY as f64 * std::f64::consts::TAU).sin();
    let cpu = 20.0 + 10.0 * day + 5.0 * noise();
    let used = 4e9 + 5e8 * day + 1e8 * noise();
    let p = |i: u32, n: f64| ProcessInfo {
        pid: 100 + i,
        name: format!("worker-{i}"),
        cpu_percent: n * 10.0,
        rss_bytes: (u64::from(i) + 1) << 24,
    };
    Snapshot {
        host: "h".into(),
        timestamp: ts,
        interval_secs: 5.0,
        cpu_usage: cpu,
        memory_usage: used / 8e9 * 100.0,
        load_average: cpu / 25.0,
        cpu: CpuStats {
            total: cpu,
            per_core: vec![cpu, cpu * 0.9],
        },
        memory: MemoryStats {
            total_bytes: 8_000_000_000,
            used_bytes: used as u64,
            available_bytes: (8e9 - used) as u64,
            free_bytes: (6e9 - used).max(1e8) as u64,
            cached_bytes: (2e9 + 1e8 * noise()) as u64,
            buffers_bytes: (2e8 + 1e6 * noise()) as u64,
            usage_percent: used / 8e9 * 100.0,
            ..Default::default()
        },
        load: LoadAverage {
            one: cpu / 25.0 + noise(),
            five: cpu / 25.0,
            fifteen: cpu / 25.0,
        },
        disk: DiskStats {
            read_bytes_per_sec: 1e5 * (1.0 + day) + 5e4 * noise(),
            write_bytes_per_sec: 2e5 * (1.0 + day) + 5e4 * noise(),
            read_ops_per_sec: 10.0 + 5.0 * noise(),
            write_ops_per_sec: 20.0 + 5.0 * noise(),
            free_percent: 60.0 - 0.1 * noise(),
            ..Default::default()
        },
        network: NetworkStats {
            rx_bytes_per_sec: 5e4 * (1.0 + day) + 1e4 * noise(),
            tx_bytes_per_sec: 3e4 * (1.0 + day) + 1e4 * noise(),
            rx_packets_per_sec: 50.0 + 10.0 * noise(),
            tx_packets_per_sec: 40.0 + 10.0 * noise(),
            ..Default::default()
        },
        processes: ProcessStats {
            top_cpu: (0..5).map(|i| p(i, noise())).collect(),
            top_memory: (0..5).map(|i| p(i, noise())).collect(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(
        &dir.path().join("hub.db"),
        StoreOptions {
            host: "h".into(),
            ..StoreOptions::default()
        },
    )?;
    let now = 1_700_000_000_000 - 1_700_000_000_000 % DAY + 8 * DAY + 13 * 3_600_000;
    let start = now - 8 * DAY;
    let fill = Instant::now();
    let mut seed = 7u64;
    let mut t = start;
    while t < now {
        let batch: Vec<Snapshot> = (0..720)
            .map(|i| snapshot(t + i * STEP, &mut seed))
            .filter(|s| s.timestamp < now)
            .collect();
        store.insert(&batch)?;
        t += 720 * STEP;
    }
    store.maintain(now)?;
    println!(
        "one host, 8 days at 5 s: {} samples stored and rolled up in {:.1?}",
        store.sample_count()?,
        fill.elapsed()
    );

    // The hourly retraining: the last 24 h, all members, the detector's metrics.
    let plan = || TrainingPlan {
        from: now - DAY,
        to: now,
        expected: Vec::new(),
        anomalous: Vec::new(),
        params: TrainParams {
            members: Members::default(),
            metric_names: detector_metric_names(),
            ..TrainParams::default()
        },
    };
    let reps = 5;
    let (c0, w0) = (cpu_ns(), Instant::now());
    let mut rows = 0;
    for _ in 0..reps {
        let model = train_from_store(&store, plan())?;
        rows = model.samples;
    }
    let train_cpu = (cpu_ns() - c0) as f64 / 1e9 / f64::from(reps);
    let train_wall = w0.elapsed().as_secs_f64() / f64::from(reps);

    // The daily profile's hourly read: 8 days of 5-minute slots from the rollups.
    let request = HistoryRequest {
        from: now - 8 * DAY,
        to: now,
        slot_ms: 300_000,
    };
    let (c0, w0) = (cpu_ns(), Instant::now());
    let mut slots = 0;
    for _ in 0..reps {
        slots = seasonal_history(&store, &request)?.len();
    }
    let load_cpu = (cpu_ns() - c0) as f64 / 1e9 / f64::from(reps);
    let load_wall = w0.elapsed().as_secs_f64() / f64::from(reps);

    println!(
        "retraining on 24 h ({rows} rows): {train_cpu:.3} s CPU ({train_wall:.3} s wall) a host an hour"
    );
    println!(
        "daily profile read ({slots} slots of 8 days): {:.1} ms CPU ({:.1} ms wall) a host an hour",
        load_cpu * 1e3,
        load_wall * 1e3
    );
    let share = HOSTS * (train_cpu + load_cpu) / 3600.0;
    println!(
        "for {HOSTS} hosts: {:.0} s CPU an hour = {:.1} % of one core on average, on the one training thread ({:.0} % of its hour)",
        HOSTS * (train_cpu + load_cpu),
        share * 100.0,
        HOSTS * (train_wall + load_wall) / 3600.0 * 100.0
    );
    Ok(())
}
