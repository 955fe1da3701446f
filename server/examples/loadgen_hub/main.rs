//! Load generator for a Lookout hub (issue 13): N simulated agents replay a recorded
//! host trace (tests/data/trace-idle.csv.gz) through the real ingest API
//! (POST /api/ingest, gzip batches, one ingest token per host) of a `lookout serve`
//! started here on 127.0.0.1, for a bounded time. Prints the hub's CPU (% of one core)
//! and peak RSS, the ingest latency (p50/p99), errors, how late the senders fell behind
//! their schedule, whether every sent sample was stored, and the generator's own CPU,
//! so that a run which stops keeping up can be blamed on the hub and not on us.
//!
//! Usage (scripts/loadgen-hub.sh builds and runs it):
//!   cargo run --release -p lookout-server --example loadgen_hub -- \
//!     --hosts 200 --interval 1 [--batch 10] [--secs 120] [--bin target/release/lookout]
//!     [--min-history 2m] [--concurrency 32] [--threads 1] [--keep]
//!
//! Why it is cheap: every trace row is rendered to its sample's JSON once, split around
//! the timestamp, so a batch is string concatenation plus gzip; the sends are async
//! (one tokio runtime, bounded in-flight requests) instead of one thread per sender.
//! The tokens are written straight into the hub's SQLite file (the same SHA-256 hash
//! `lookout token create` stores), which is quicker than one CLI call per host.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use sha2::{Digest, Sha256};

mod host;
mod hub;
mod send;
mod trace;

use host::{
    clock_ticks, cpu_ticks, now_secs, random_hex, root, rss_slope_per_hour, status_mib, watch_rss,
};
use hub::{start_hub, stop_hub, Hub};
use send::{send_with_retries, Stats, ATTEMPTS};
use trace::{render, trace_rows};

#[derive(Parser, Debug)]
#[command(about = "Drives a `lookout serve` on loopback with simulated agents (issue 13)")]
struct Args {
    /// Simulated hosts, one ingest token each.
    #[arg(long, default_value_t = 100)]
    hosts: usize,
    /// Sampling interval of each host, s.
    #[arg(long, default_value_t = 5.0)]
    interval: f64,
    /// Seconds one batch covers (agent.batch).
    #[arg(long, default_value_t = 10.0)]
    batch: f64,
    /// How long batches are sent, s.
    #[arg(long, default_value_t = 120.0)]
    secs: f64,
    /// Requests in flight at most (the Python generator's sender threads).
    #[arg(long, visible_alias = "workers", default_value_t = 32)]
    concurrency: usize,
    /// The generator's runtime threads (building, gzip, HTTP).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// detector.min_history: per-host training within the run.
    #[arg(long, default_value = "2m")]
    min_history: String,
    /// The hub binary.
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Keep the hub's folder (store, log).
    #[arg(long)]
    keep: bool,
}

fn main() {
    let a = Args::parse();
    let bin = a
        .bin
        .clone()
        .unwrap_or_else(|| root().join("target/release/lookout"));
    let hub = start_hub(&a, &bin);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads.max(1))
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = rt.block_on(run(&a, &hub));
    drop(rt);
    stop_hub(hub, a.keep);
    if let Err(e) = result {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}

async fn run(a: &Args, hub: &Hub) -> Result<(), String> {
    let base = format!("http://127.0.0.1:{}", hub.port);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let mut template = None;
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("{base}/metrics")).send().await {
            if r.status().is_success() {
                template = r.json::<serde_json::Value>().await.ok();
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let template = template.ok_or("the hub did not answer GET /metrics within 30 s")?;

    let db_path = hub.dir.path().join("hub.db");
    let db = rusqlite::Connection::open(&db_path).map_err(|e| e.to_string())?;
    db.busy_timeout(Duration::from_secs(30))
        .map_err(|e| e.to_string())?;
    let now_ms = (now_secs() * 1000.0) as i64;
    let mut auth = Vec::with_capacity(a.hosts);
    {
        let tx = db.unchecked_transaction().map_err(|e| e.to_string())?;
        for i in 0..a.hosts {
            let t = format!("lk_{}", random_hex(32));
            let hash = format!("{:x}", Sha256::digest(t.as_bytes()));
            tx.execute(
                "INSERT INTO api_tokens (name, token_hash, prefix, scope, created_by, created_at) \
                 VALUES (?1, ?2, ?3, 'ingest', 'loadgen', ?4)",
                rusqlite::params![format!("load-{i}"), hash, &t[..11], now_ms],
            )
            .map_err(|e| e.to_string())?;
            auth.push(format!("Bearer {t}"));
        }
        tx.commit().map_err(|e| e.to_string())?;
    }

    let rows = trace_rows();
    let parts: Arc<Vec<(String, String)>> = Arc::new(
        rows.iter()
            .map(|r| render(&template, r, a.interval))
            .collect(),
    );
    let per_batch = ((a.batch / a.interval).round() as usize).max(1);
    let stats = Arc::new(Mutex::new(Stats::default()));
    let permits = Arc::new(tokio::sync::Semaphore::new(a.concurrency.max(1)));
    let url = Arc::new(format!("{base}/api/ingest"));
    let auth = Arc::new(auth);

    let hub_pid = hub.child.id().to_string();
    let hz = clock_ticks();
    let (t0, c0, g0) = (Instant::now(), cpu_ticks(&hub_pid), cpu_ticks("self"));
    // The hub's RSS once a minute: on a run of hours, whether it levels off.
    let rss_series = Arc::new(Mutex::new(Vec::new()));
    let watcher = tokio::spawn(watch_rss(
        hub.child.id(),
        Duration::from_secs(60),
        rss_series.clone(),
    ));
    let start = now_secs();
    // Each host sends every `batch` s, phases spread evenly; its samples replay the
    // trace from its own offset, stamped with the real clock.
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = (0..a.hosts)
        .map(|i| {
            let due = a.batch * i as f64 / a.hosts as f64;
            Reverse(((due * 1e6) as u64, i))
        })
        .collect();
    let mut cursor: Vec<usize> = (0..a.hosts).map(|i| (i * 37) % rows.len()).collect();
    let mut tasks = tokio::task::JoinSet::new();
    let end_us = (a.secs * 1e6) as u64;
    while let Some(Reverse((due_us, i))) = heap.pop() {
        if due_us > end_us {
            continue;
        }
        let due = start + due_us as f64 / 1e6;
        let wait = due - now_secs();
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        // Waiting here is the sender falling behind: all requests in flight.
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let first = cursor[i];
        cursor[i] += per_batch;
        heap.push(Reverse((due_us + (a.batch * 1e6) as u64, i)));
        while tasks.try_join_next().is_some() {}
        let (client, parts, stats, url, auth) = (
            client.clone(),
            parts.clone(),
            stats.clone(),
            url.clone(),
            auth.clone(),
        );
        let (interval, batch) = (a.interval, a.batch);
        tasks.spawn(async move {
            let _permit = permit;
            let tb = Instant::now();
            let ts_end = (due * 1000.0) as i64;
            let mut json = String::with_capacity(parts[0].0.len() * 2 * per_batch + 64);
            json.push_str(&format!("{{\"host\":\"sim-{i:04}\",\"samples\":["));
            for k in 0..per_batch {
                let ts = ts_end - ((per_batch - 1 - k) as f64 * interval * 1000.0) as i64;
                let (pre, post) = &parts[(first + k) % parts.len()];
                if k > 0 {
                    json.push(',');
                }
                json.push_str(pre);
                json.push_str(&ts.to_string());
                json.push_str(post);
            }
            json.push_str("]}");
            // The agent's compression level (agent::encode).
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(json.len() / 4),
                flate2::Compression::default(),
            );
            gz.write_all(json.as_bytes()).expect("gzip into memory");
            let body = gz.finish().expect("gzip into memory");
            let built = tb.elapsed().as_secs_f64();
            let late = now_secs() - due;
            let (status, reply, dt, retries) =
                send_with_retries(&client, url.as_str(), auth[i].as_str(), body).await;
            let rep: Option<serde_json::Value> =
                reply.and_then(|b| serde_json::from_slice(&b).ok());
            let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
            s.latencies.push(dt);
            s.retries += u64::from(retries);
            s.lateness.push(late);
            s.build_secs += built;
            *s.statuses.entry(status).or_default() += 1;
            s.sent += per_batch as u64;
            if late > batch {
                s.late += 1;
            }
            match rep {
                Some(r) => {
                    let n = |k: &str| r.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
                    s.accepted += n("accepted");
                    s.duplicate += n("duplicate");
                    s.refused += n("refused");
                }
                None => s.errors += 1,
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    watcher.abort();
    let span = t0.elapsed().as_secs_f64();
    let (c1, g1) = (cpu_ticks(&hub_pid), cpu_ticks("self"));
    let hwm = status_mib(hub.child.id(), "VmHWM");
    let rss = status_mib(hub.child.id(), "VmRSS");
    let stored: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM samples s JOIN hosts h ON h.id = s.host_id \
             WHERE h.name LIKE 'sim-%'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    let models_dir = hub.dir.path().join("models").join("hosts");
    let models = std::fs::read_dir(&models_dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    std::fs::read_dir(e.path())
                        .map(|mut f| f.next().is_some())
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0);

    let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
    s.latencies.sort_by(f64::total_cmp);
    s.lateness.sort_by(f64::total_cmp);
    let q = |v: &[f64], p: f64| {
        v.get(((p * v.len() as f64) as usize).min(v.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let loadavg: Vec<&str> = loadavg.split_whitespace().take(3).collect();
    println!(
        "hosts {} at {} s sampling, {} s batches ({per_batch} samples each), {span:.0} s, \
         {} in flight at most, {} generator threads",
        a.hosts, a.interval, a.batch, a.concurrency, a.threads
    );
    println!(
        "  offered: {:.1} samples/s, {:.1} batches/s",
        a.hosts as f64 / a.interval,
        a.hosts as f64 / a.batch
    );
    println!(
        "  hub CPU: {:.1} % of one core; RSS peak {hwm} MiB (now {rss} MiB)",
        100.0 * (c1 - c0) as f64 / hz / span
    );
    println!(
        "  ingest latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests)",
        1000.0 * q(&s.latencies, 0.5),
        1000.0 * q(&s.latencies, 0.99),
        1000.0 * q(&s.latencies, 1.0),
        s.latencies.len()
    );
    println!(
        "  statuses {:?}; batches sent > one batch late: {} (lateness p99 {:.2} s, max {:.2} s)",
        s.statuses,
        s.late,
        q(&s.lateness, 0.99),
        q(&s.lateness, 1.0)
    );
    let lost = s.sent as i64 - stored;
    println!(
        "  samples sent {}, accepted {}, duplicate {}, refused {}; stored {stored}: {}",
        s.sent,
        s.accepted,
        s.duplicate,
        s.refused,
        if lost == 0 {
            "none lost".to_string()
        } else {
            format!("LOST {lost}")
        }
    );
    println!(
        "  load generator: {:.1} % of one core ({:.1} s building and gzipping batches)",
        100.0 * (g1 - g0) as f64 / hz / span,
        s.build_secs
    );
    println!("  hosts with a trained model at the end: {models}");
    let series = rss_series.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if series.len() >= 3 {
        let minutes: Vec<String> = series.iter().map(|(_, mib)| mib.to_string()).collect();
        println!("  hub RSS once a minute (MiB): {}", minutes.join(" "));
        println!(
            "  hub RSS over the last third of the run: {:+.1} MiB an hour",
            rss_slope_per_hour(&series[series.len() * 2 / 3..])
        );
    }
    println!("  load average: {}", loadavg.join(" "));
    if s.errors > 0 {
        println!(
            "  batches without a 200 reply after {ATTEMPTS} attempts: {}",
            s.errors
        );
    }
    println!("  attempts sent again after a failure: {}", s.retries);
    Ok(())
}
