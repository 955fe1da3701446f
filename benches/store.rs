//! Store throughput and query latency, and the forecast's cost on that store.
//! `cargo bench -p lookout --bench store`
//!
//! A plain timing harness (not criterion) because the interesting setup, a week of
//! 1-second samples, takes far longer than the measured operations and must run
//! once, not per criterion sample. Prints median and p90 per operation.

use lookout::model::{CpuStats, DeviceIo, InterfaceIo, ProcessInfo, Snapshot, TimestampMs};
use lookout::store::{HistoryQuery, Store, StoreOptions};
use std::time::{Duration, Instant};

const DAY: i64 = 86_400_000;
const T0: TimestampMs = 1_700_000_000_000 - 1_700_000_000_000 % DAY;

/// A snapshot shaped like a real one: 2 cores, a disk, two interfaces, 10+10 processes.
fn full_snapshot(ts: TimestampMs) -> Snapshot {
    let p = |i: u32| ProcessInfo {
        pid: 1000 + i,
        name: format!("process-{i}"),
        cpu_percent: f64::from(i),
        rss_bytes: u64::from(i) << 20,
    };
    let mut s = lean_snapshot(ts);
    s.disk.devices = vec![DeviceIo {
        name: "vda".into(),
        read_bytes_per_sec: 1e5,
        ..Default::default()
    }];
    s.network.interfaces = ["eth0", "lo"]
        .iter()
        .map(|n| InterfaceIo {
            name: n.to_string(),
            rx_bytes_per_sec: 1e4,
            ..Default::default()
        })
        .collect();
    s.processes.top_cpu = (0..10).map(p).collect();
    s.processes.top_memory = (0..10).map(p).collect();
    s
}

/// Scalars only (small JSON): used to fill a week of history quickly.
fn lean_snapshot(ts: TimestampMs) -> Snapshot {
    let x = (ts / 1000) as f64;
    Snapshot {
        host: "bench".into(),
        timestamp: ts,
        cpu_usage: 50.0 + 40.0 * (x / 600.0).sin(),
        cpu: CpuStats {
            total: 50.0 + 40.0 * (x / 600.0).sin(),
            per_core: vec![10.0, 20.0],
        },
        ..Default::default()
    }
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let med = times[times.len() / 2];
    let p90 = times[times.len() * 9 / 10];
    println!(
        "{name:<48} median {med:>10.2?}  p90 {p90:>10.2?}  (n={})",
        times.len()
    );
}

fn time<F: FnMut()>(n: usize, mut f: F) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let opts = StoreOptions {
        host: "bench".into(),
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.path().join("bench.db"), opts)?;

    // Insert: 1 full sample, then 60-sample batches, at increasing timestamps.
    let mut ts = T0 - 30 * DAY;
    let one = time(300, || {
        ts += 1000;
        store.insert(&[full_snapshot(ts)]).expect("insert");
    });
    report("insert 1 sample (full snapshot, 1 tx)", one);
    let batch = time(50, || {
        let b: Vec<Snapshot> = (0..60)
            .map(|_| {
                ts += 1000;
                full_snapshot(ts)
            })
            .collect();
        store.insert(&b).expect("insert");
    });
    report("insert 60-sample batch (full snapshots, 1 tx)", batch);

    // A week at 1 s density, then roll it up.
    let now = T0 + 7 * DAY;
    let fill = Instant::now();
    let mut t = T0;
    while t < now {
        let b: Vec<Snapshot> = (0..3600).map(|i| lean_snapshot(t + i * 1000)).collect();
        store.insert(&b)?;
        t += 3_600_000;
    }
    println!(
        "fill 7 d at 1 s ({} samples, lean snapshots): {:.1?}",
        store.sample_count()?,
        fill.elapsed()
    );
    let m = Instant::now();
    let r = store.maintain(now - 10 * 60_000)?;
    println!(
        "maintain (first rollup of {} minutes): {:.1?}",
        r.minutes_rolled_up,
        m.elapsed()
    );

    let q = |from, points| HistoryQuery {
        metrics: vec!["cpu_usage".into()],
        from,
        to: now,
        points,
    };
    let raw = q(now - 15 * 60_000, 1000);
    let h = store.history(&raw)?;
    let label = format!(
        "history 15 min raw ({} pts @ {} s)",
        h.series[0].points.len(),
        h.series[0].resolution_secs
    );
    report(
        &label,
        time(50, || drop(store.history(&raw).expect("history"))),
    );
    let week = q(now - 7 * DAY, 300);
    let h = store.history(&week)?;
    let label = format!(
        "history 7 d rolled up ({} pts @ {} s)",
        h.series[0].points.len(),
        h.series[0].resolution_secs
    );
    report(
        &label,
        time(20, || drop(store.history(&week).expect("history"))),
    );
    let mut week4 = week.clone();
    week4.metrics = [
        "cpu_usage",
        "memory_usage",
        "load_1",
        "net_rx_bytes_per_sec",
    ]
    .map(String::from)
    .to_vec();
    report(
        "history 7 d rolled up, 4 metrics",
        time(20, || drop(store.history(&week4).expect("history"))),
    );
    let hour = q(now - 3_600_000, 300);
    report(
        "history 1 h into 300 pts (15 s raw buckets)",
        time(20, || drop(store.history(&hour).expect("history"))),
    );
    report(
        "latest()",
        time(200, || drop(store.latest().expect("latest"))),
    );
    // GET /api/forecast's work: every filesystem's history (one JSON read per bucket)
    // and memory and swap history over three days, then the robust trends.
    let fq = lookout::forecast::source::ForecastQuery {
        metric: "all".into(),
        horizon_ms: DAY,
    };
    report(
        "forecast report, all, 24 h horizon (3 d history)",
        time(10, || {
            drop(lookout::forecast::source::report(&store, &fq, now).expect("forecast"))
        }),
    );
    // A forecast rule's work once a minute: 3 days of minute means.
    let minutes: Vec<(TimestampMs, f64)> = (0..3 * 1440)
        .map(|i| {
            (
                now - 3 * DAY + i * 60_000,
                50.0 + i as f64 * 0.01 + (i % 7) as f64,
            )
        })
        .collect();
    let subject = lookout::forecast::Subject::crossing("disk_free_percent", "<", 5.0);
    report(
        "forecast of 3 d of minute means (a rule's minute)",
        time(50, || {
            drop(lookout::forecast::forecast(&subject, &minutes, now, DAY));
        }),
    );
    let m = Instant::now();
    let r = store.maintain(now)?;
    println!(
        "maintain (incremental, {} minutes): {:.1?}",
        r.minutes_rolled_up,
        m.elapsed()
    );
    Ok(())
}
