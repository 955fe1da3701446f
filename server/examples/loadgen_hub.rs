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
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use sha2::{Digest, Sha256};

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

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ has a parent")
        .to_path_buf()
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// Clock ticks (user + system) of a process, from /proc/PID/stat.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// /proc's clock ticks per second.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a configuration value; no memory is passed.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// A field of /proc/PID/status in MiB (VmHWM, VmRSS).
fn status_mib(pid: u32, key: &str) -> u64 {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    st.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("/dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The trace's rows as column name -> value (empty cells are 0).
fn trace_rows() -> Vec<BTreeMap<String, f64>> {
    let path = root().join("tests/data/trace-idle.csv.gz");
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("the trace"))
        .read_to_string(&mut text)
        .expect("a gzip CSV");
    let mut lines = text.lines();
    let head: Vec<String> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(',').map(|v| v.parse::<f64>().unwrap_or(0.0)))
                .collect()
        })
        .collect()
}

/// A placeholder timestamp, replaced per sample: no real sample has it.
const TS_MARK: i64 = 9_123_456_789_012_345;

/// One trace row as a sample's JSON, split around the timestamp: (before, after).
fn render(
    template: &serde_json::Value,
    row: &BTreeMap<String, f64>,
    interval: f64,
) -> (String, String) {
    use serde_json::json;
    let r = |k: &str| row.get(k).copied().unwrap_or(0.0);
    let int = |k: &str| r(k) as i64;
    let mut s = template.clone();
    s["host"] = json!("");
    s["timestamp"] = json!(TS_MARK);
    s["interval_secs"] = json!(interval);
    s["anomaly_score"] = serde_json::Value::Null;
    s["anomaly"] = json!(false);
    s["cpu_usage"] = json!(r("cpu_usage"));
    s["cpu"]["total"] = json!(r("cpu_usage"));
    s["memory_usage"] = json!(r("memory_usage"));
    let m = &mut s["memory"];
    m["usage_percent"] = json!(r("memory_usage"));
    for k in ["used", "available", "free", "cached", "buffers"] {
        m[format!("{k}_bytes")] = json!(int(&format!("memory_{k}_bytes")));
    }
    m["swap_used_bytes"] = json!(int("swap_used_bytes"));
    m["swap_usage_percent"] = json!(r("swap_usage"));
    s["load"] = json!({"one": r("load_1"), "five": r("load_5"), "fifteen": r("load_15")});
    s["load_average"] = json!(r("load_1"));
    let d = &mut s["disk"];
    for k in ["read_bytes", "write_bytes", "read_ops", "write_ops"] {
        d[format!("{k}_per_sec")] = json!(r(&format!("disk_{k}_per_sec")));
    }
    d["free_percent"] = json!(r("disk_free_percent"));
    let n = &mut s["network"];
    for k in [
        "rx_bytes",
        "tx_bytes",
        "rx_packets",
        "tx_packets",
        "rx_errors",
        "tx_errors",
    ] {
        n[format!("{k}_per_sec")] = json!(r(&format!("net_{k}_per_sec")));
    }
    s["processes"]["count"] = json!(int("process_count"));
    let text = s.to_string();
    let mark = TS_MARK.to_string();
    let at = text.find(&mark).expect("the timestamp placeholder");
    (text[..at].to_string(), text[at + mark.len()..].to_string())
}

#[derive(Default)]
struct Stats {
    latencies: Vec<f64>,
    lateness: Vec<f64>,
    statuses: BTreeMap<String, u64>,
    sent: u64,
    accepted: u64,
    duplicate: u64,
    refused: u64,
    errors: u64,
    late: u64,
    build_secs: f64,
}

struct Hub {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

fn start_hub(a: &Args, bin: &Path) -> Hub {
    let dir = tempfile::Builder::new()
        .prefix("lookout-loadgen-")
        .tempdir()
        .expect("a temporary folder");
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("hub.log")).expect("hub.log");
    let child = Command::new(bin)
        .arg("serve")
        .env("LOOKOUT_SERVER_BIND", format!("127.0.0.1:{port}"))
        .env("LOOKOUT_STORE_PATH", dir.path().join("hub.db"))
        .env("LOOKOUT_HOST_NAME", "loadgen-hub")
        .env("LOOKOUT_DETECTOR_MODELS_DIR", dir.path().join("models"))
        .env("LOOKOUT_DETECTOR_MIN_HISTORY", &a.min_history)
        .env("LOOKOUT_LOG_LEVEL", "warn")
        .env("LOOKOUT_SERVER_MAX_BODY", "4MiB")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("hub.log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    Hub { child, dir, port }
}

fn stop_hub(mut hub: Hub, keep: bool) {
    // SIGTERM so the hub shuts down as in service (flushes, writes models).
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(hub.child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = hub.child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Ok(None) = hub.child.try_wait() {
        let _ = hub.child.kill();
        let _ = hub.child.wait();
    }
    if keep {
        println!("hub log and store: {}", hub.dir.keep().display());
    }
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
            let t = Instant::now();
            let res = client
                .post(url.as_str())
                .header("Content-Type", "application/json")
                .header("Content-Encoding", "gzip")
                .header("Authorization", auth[i].as_str())
                .body(body)
                .send()
                .await;
            let (status, reply) = match res {
                Ok(r) => {
                    let code = r.status();
                    let text = r.bytes().await.unwrap_or_default();
                    (
                        code.as_u16().to_string(),
                        (code.is_success()).then_some(text),
                    )
                }
                Err(e) => (
                    if e.is_timeout() { "timeout" } else { "error" }.to_string(),
                    None,
                ),
            };
            let dt = t.elapsed().as_secs_f64();
            let rep: Option<serde_json::Value> =
                reply.and_then(|b| serde_json::from_slice(&b).ok());
            let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
            s.latencies.push(dt);
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
    println!("  load average: {}", loadavg.join(" "));
    if s.errors > 0 {
        println!("  requests without a 200 reply: {}", s.errors);
    }
    Ok(())
}
