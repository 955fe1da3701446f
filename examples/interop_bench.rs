//! Figures for the README's deployment section (run by `scripts/bench-interop.sh`,
//! which starts Debian's VictoriaMetrics on a loopback port and passes its URL):
//!
//! `cargo run --release --example interop_bench -- http://127.0.0.1:PORT/api/v1/write`
//!
//! 1. the cost of one `/metrics/prometheus` body (render of this host's real sample);
//! 2. the remote_write queue's memory per sample (RSS before/after queueing 1 M samples
//!    for a receiver that is down);
//! 3. remote_write throughput into the real receiver: samples/s, batches of 500.

use lookout::collect::{Sampler, SamplerOptions};
use lookout::export::remote_write::{RemoteWriteOptions, RemoteWriteSink};
use lookout::export::{exposition, host_series, HostView, Series};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

fn main() {
    let url = std::env::args()
        .nth(1)
        .expect("usage: interop_bench RECEIVER_WRITE_URL");
    let mut sampler = Sampler::new("bench-host".into(), SamplerOptions::default());
    sampler.sample(lookout::time::now_ms());
    std::thread::sleep(Duration::from_millis(500));
    let mut snap = sampler.sample(lookout::time::now_ms());
    snap.anomaly_score = Some(0.1);
    let view = HostView {
        snapshot: &snap,
        event_open: Some(false),
    };
    let series = host_series(view);

    // 1. Exposition.
    let reps = 2_000;
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..reps {
        bytes = exposition::render(&[view], &[]).len();
    }
    let per = start.elapsed() / reps;
    println!(
        "EXPOSITION: {} series, {bytes} bytes, {:.1} us per render ({reps} renders)",
        series.len(),
        per.as_secs_f64() * 1e6
    );
    // One hub-sized body: 100 hosts.
    let snaps: Vec<_> = (0..100)
        .map(|i| {
            let mut s = snap.clone();
            s.host = format!("host-{i}");
            s
        })
        .collect();
    let views: Vec<HostView> = snaps
        .iter()
        .map(|s| HostView {
            snapshot: s,
            event_open: Some(false),
        })
        .collect();
    let start = Instant::now();
    let body = exposition::render(&views, &[]);
    println!(
        "EXPOSITION_100_HOSTS: {} bytes, {:.1} ms per render",
        body.len(),
        start.elapsed().as_secs_f64() * 1e3
    );

    // 2. Queue memory: a receiver that is down (port 9 on loopback), a long backoff.
    let mut down = RemoteWriteOptions::new("http://127.0.0.1:9/api/v1/write");
    down.queue_max_samples = 2_000_000;
    down.min_backoff = Duration::from_secs(600);
    down.max_backoff = Duration::from_secs(600);
    let sink = RemoteWriteSink::start(down);
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_bytes();
    let snapshots = 1_000_000 / series.len();
    for i in 0..snapshots {
        sink.push(&series, i as i64 * 1000);
    }
    let queued = sink.stats().queued_samples.load(Ordering::Relaxed);
    let after = rss_bytes();
    println!(
        "QUEUE_MEMORY: {queued} samples queued, RSS +{:.1} MiB, {:.0} bytes per sample",
        (after - before) as f64 / 1048576.0,
        (after - before) as f64 / queued as f64
    );
    drop(sink);

    // 3. Throughput into the real receiver.
    let mut o = RemoteWriteOptions::new(url);
    o.queue_max_samples = 2_000_000;
    let sink = RemoteWriteSink::start(o);
    let snapshots = 5_000;
    let base = lookout::time::now_ms() - snapshots as i64 * 1000;
    let rename: Vec<Series> = series.clone();
    let start = Instant::now();
    for i in 0..snapshots {
        sink.push(&rename, base + i as i64 * 1000);
    }
    let total = (snapshots * series.len()) as u64;
    while sink.stats().sent_samples.load(Ordering::Relaxed)
        + sink.stats().rejected_samples.load(Ordering::Relaxed)
        < total
    {
        if start.elapsed() > Duration::from_secs(120) {
            println!("THROUGHPUT: not drained in 120 s: {:?}", sink.last_error());
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "THROUGHPUT: {total} samples in {secs:.2} s = {:.0} samples/s (batches of 500, one connection), rejected {}",
        total as f64 / secs,
        sink.stats().rejected_samples.load(Ordering::Relaxed)
    );
}
