//! Bytes per stored sample and the cost of storing it, as a hub stores its agents'
//! samples (issue 13: disk at hub scale).
//!
//! `cargo run --release -p lookout --example store_size -- [--samples 300]
//!  [--hosts 20] [--batch 1] [--threads 2] [--from FILE | --record FILE]`
//!
//! The snapshots are real: this machine sampled every 200 ms with the process table
//! re-read at every sample (a 5 s agent re-reads it at every sample too), or read from
//! a file of JSON lines written by `--record`, so runs before and after a change
//! store the same snapshots. Each simulated host ingests all of them, 5 s apart, in
//! batches of `--batch` (one transaction each) through `Store::ingest` like the hub;
//! then maintenance rolls the minutes up, the file is vacuumed and SQLite's `dbstat`
//! gives each table's and index's pages. Prints bytes per sample by table, the ingest
//! time per sample (wall and on a CPU), and the throughput of `--threads` ingesting
//! at once into a second store, as the hub's concurrent batches do.

use lookout::collect::{Sampler, SamplerOptions};
use lookout::model::Snapshot;
use lookout::store::{Store, StoreOptions};
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

struct Args {
    samples: usize,
    hosts: usize,
    batch: usize,
    threads: usize,
    from: Option<String>,
    record: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        samples: 300,
        hosts: 20,
        batch: 1,
        threads: 2,
        from: None,
        record: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or(format!("{k} needs a value"));
        let num = |s: String| s.parse::<usize>().map_err(|e| format!("{k}: {e}"));
        match k.as_str() {
            "--samples" => a.samples = num(v()?)?,
            "--hosts" => a.hosts = num(v()?)?,
            "--batch" => a.batch = num(v()?)?.max(1),
            "--threads" => a.threads = num(v()?)?.max(1),
            "--from" => a.from = Some(v()?),
            "--record" => a.record = Some(v()?),
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    Ok(a)
}

fn snapshots(a: &Args) -> Result<Vec<Snapshot>, Error> {
    if let Some(path) = &a.from {
        let f = std::io::BufReader::new(std::fs::File::open(path)?);
        let mut out = Vec::new();
        for line in f.lines() {
            out.push(serde_json::from_str(&line?)?);
        }
        return Ok(out);
    }
    let mut sampler = Sampler::new(
        "sampled".into(),
        SamplerOptions {
            process_refresh_every: Duration::ZERO,
            ..SamplerOptions::default()
        },
    );
    let t0 = Instant::now();
    sampler.sample(0);
    let mut out = Vec::with_capacity(a.samples);
    for _ in 0..a.samples {
        std::thread::sleep(Duration::from_millis(200));
        out.push(sampler.sample(t0.elapsed().as_millis() as i64));
    }
    if let Some(path) = &a.record {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for s in &out {
            writeln!(f, "{}", serde_json::to_string(s)?)?;
        }
    }
    Ok(out)
}

/// This thread's time on a CPU (Linux's schedstat, in ns): on a shared, busy machine
/// a steadier measure of the work than wall time, which includes waiting for a core.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Ingests every snapshot for each of `names`, 5 s apart from `t0`, in batches of
/// `batch`, the hosts taking turns; the time spent in `Store::ingest`.
fn fill(
    store: &Store,
    names: &[String],
    snaps: &[Snapshot],
    batch: usize,
    t0: i64,
) -> Result<Duration, Error> {
    let mut spent = Duration::ZERO;
    for (c, chunk) in snaps.chunks(batch).enumerate() {
        for name in names {
            let b: Vec<Snapshot> = chunk
                .iter()
                .enumerate()
                .map(|(i, s)| Snapshot {
                    host: name.clone(),
                    timestamp: t0 + ((c * batch + i) as i64) * 5_000,
                    ..s.clone()
                })
                .collect();
            let t = Instant::now();
            store.ingest(name, &b)?;
            spent += t.elapsed();
        }
    }
    Ok(spent)
}

fn main() -> Result<(), Error> {
    let a = args()?;
    let snaps = snapshots(&a)?;
    if snaps.is_empty() {
        return Err("no snapshots".into());
    }
    let json: usize = snaps
        .iter()
        .map(|s| serde_json::to_string(s).map(|j| j.len()))
        .sum::<Result<usize, _>>()?;
    println!(
        "{} snapshots, detail JSON {:.0} B on average ({} cores, {}+{} processes)",
        snaps.len(),
        json as f64 / snaps.len() as f64,
        snaps[0].cpu.per_core.len(),
        snaps[0].processes.top_cpu.len(),
        snaps[0].processes.top_memory.len(),
    );

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("hub.db");
    let store = Store::open(
        &path,
        StoreOptions {
            host: "hub".into(),
            ..StoreOptions::default()
        },
    )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let t0 = now - snaps.len() as i64 * 5_000 - 3_600_000;
    let names: Vec<String> = (0..a.hosts).map(|h| format!("host-{h:04}")).collect();
    let cpu0 = cpu_ns();
    let spent = fill(&store, &names, &snaps, a.batch, t0)?;
    let on_cpu = cpu_ns().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    let stored = store.sample_count()?;
    println!(
        "ingest: {stored} samples in batches of {}: {:.1} µs a sample ({:.0} samples/s), \
         {:.1} µs of it on a CPU",
        a.batch,
        spent.as_secs_f64() * 1e6 / stored as f64,
        stored as f64 / spent.as_secs_f64(),
        on_cpu.map_or(f64::NAN, |ns| ns as f64 / 1e3 / stored as f64),
    );
    if a.threads > 1 {
        // As the hub ingests: several batches at once, one writer at a time.
        let other = tempfile::tempdir()?;
        let s2 = Store::open(&other.path().join("hub.db"), store.options().clone())?;
        let t = Instant::now();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..a.threads)
                .map(|k| {
                    let mine: Vec<String> =
                        names.iter().skip(k).step_by(a.threads).cloned().collect();
                    let (s2, snaps) = (&s2, &snaps);
                    scope.spawn(move || fill(s2, &mine, snaps, a.batch, t0).map(|_| ()))
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().map_err(|_| "an ingest thread panicked")?)
        })?;
        let wall = t.elapsed().as_secs_f64();
        println!(
            "ingest from {} threads at once: {:.0} samples/s",
            a.threads,
            s2.sample_count()? as f64 / wall
        );
    }
    let (m, cpu0) = (Instant::now(), cpu_ns());
    let r = store.maintain(now)?;
    let on_cpu = cpu_ns().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    println!(
        "maintain: {} minutes rolled up in {:.1?}, {:.1} µs a sample on a CPU",
        r.minutes_rolled_up,
        m.elapsed(),
        on_cpu.map_or(f64::NAN, |ns| ns as f64 / 1e3 / stored as f64),
    );
    drop(store);

    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let unpacked = std::fs::metadata(&path)?.len();
    println!(
        "file as written: {unpacked} bytes, {:.0} B a sample",
        unpacked as f64 / stored as f64
    );
    conn.execute_batch("VACUUM;")?;
    let mut st = conn.prepare(
        "SELECT name, SUM(pgsize), SUM(payload) FROM dbstat GROUP BY name ORDER BY 2 DESC",
    )?;
    let rows: Vec<(String, i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let file = std::fs::metadata(&path)?.len();
    let per = |b: i64| b as f64 / stored as f64;
    println!(
        "{:<36} {:>12} {:>10} {:>10}",
        "table or index", "bytes", "B/sample", "payload"
    );
    for (name, bytes, payload) in &rows {
        if *bytes >= 8192 {
            println!(
                "{name:<36} {bytes:>12} {:>10.1} {:>10.1}",
                per(*bytes),
                per(*payload)
            );
        }
    }
    println!(
        "file after VACUUM: {file} bytes, {:.0} B a sample; 1,000 hosts at 5 s: {:.1} GB a day",
        file as f64 / stored as f64,
        file as f64 / stored as f64 * 1000.0 * 17_280.0 / 1e9
    );
    Ok(())
}
