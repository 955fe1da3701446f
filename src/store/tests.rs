//! Store tests on real SQLite files in temporary directories.

use super::*;
use crate::model::{
    AnomalyEvent, CpuStats, DeviceIo, Explanation, MetricContribution, ProcessInfo, Snapshot,
    TimestampMs,
};
use std::time::Duration;

/// A day-aligned base time (2023-11-14T00:00Z), so every bucket width lines up.
const T0: TimestampMs = 1_700_000_000_000 - 1_700_000_000_000 % DAY;
const DAY: i64 = 86_400_000;

/// A fresh store for `host` in a folder of its own, for the engine's unit tests (keep
/// the folder: the store lives in it).
pub(crate) fn temp_store(host: &str) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &dir.path().join("l.db"),
        StoreOptions {
            host: host.into(),
            ..StoreOptions::default()
        },
    )
    .expect("open store");
    (dir, store)
}

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("data/lookout.db"), opts()).expect("open store")
}

fn opts() -> StoreOptions {
    StoreOptions {
        host: "test-host".into(),
        ..StoreOptions::default()
    }
}

fn snap(ts: TimestampMs, cpu: f64) -> Snapshot {
    Snapshot {
        host: "test-host".into(),
        timestamp: ts,
        cpu_usage: cpu,
        cpu: CpuStats {
            total: cpu,
            per_core: vec![cpu, cpu / 2.0],
        },
        ..Snapshot::default()
    }
}

/// One sample per second, cpu = f(seconds since `start`).
fn fill(store: &Store, start: TimestampMs, secs: i64, f: impl Fn(i64) -> f64) {
    let batch: Vec<Snapshot> = (0..secs).map(|i| snap(start + i * 1000, f(i))).collect();
    store.insert(&batch).expect("insert");
}

fn query(metric: &str, from: TimestampMs, to: TimestampMs, points: usize) -> HistoryQuery {
    HistoryQuery {
        metrics: vec![metric.into()],
        from,
        to,
        points,
    }
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
}

#[test]
fn snapshot_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert_eq!(store.latest().unwrap(), None);
    let mut s = snap(T0, 42.0);
    s.disk.devices.push(DeviceIo {
        name: "sda".into(),
        read_bytes_per_sec: 1.5,
        ..Default::default()
    });
    s.processes.top_cpu.push(ProcessInfo {
        pid: 7,
        name: "postgres".into(),
        cpu_percent: 99.5,
        rss_bytes: 1 << 30,
    });
    store.insert(&[s.clone(), snap(T0 - 5000, 1.0)]).unwrap();
    assert_eq!(store.latest().unwrap(), Some(s.clone()));
    assert_eq!(store.snapshot_at(T0 + 999).unwrap(), Some(s.clone()));
    assert_eq!(store.snapshot_at(T0 - 1).unwrap().unwrap().cpu_usage, 1.0);
    assert_eq!(store.snapshot_at(T0 - 6000).unwrap(), None);
    assert_eq!(store.sample_count().unwrap(), 2);

    // Same (host, ts) replaces.
    store.insert(&[snap(T0, 50.0)]).unwrap();
    assert_eq!(store.sample_count().unwrap(), 2);
    assert_eq!(store.latest().unwrap().unwrap().cpu_usage, 50.0);

    let rows = store.raw_range(T0 - 5000, T0).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, T0 - 5000);
    assert_eq!(rows[1].1.len(), crate::model::METRICS.len());
    assert_eq!(rows[1].1[0], 50.0);
    store.check_writable().unwrap();
}

#[test]
fn raw_bounds_are_this_hosts_oldest_and_newest() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert_eq!(store.raw_bounds().unwrap(), None);
    let mut other = snap(T0 - 60_000, 1.0);
    other.host = "other-host".into();
    store.insert(&[other]).unwrap();
    assert_eq!(store.raw_bounds().unwrap(), None, "another host's samples");
    fill(&store, T0, 10, |i| i as f64);
    assert_eq!(store.raw_bounds().unwrap(), Some((T0, T0 + 9000)));
}

#[test]
fn history_picks_raw_then_raw_buckets_then_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    fill(&store, T0, 20 * 60, |i| (i % 60) as f64);

    // 15 min at 1 s = 900 samples fit in 1000 points: raw.
    let h = store
        .history(&query("cpu_usage", T0, T0 + 15 * 60_000, 1000))
        .unwrap();
    let s = &h.series[0];
    assert_eq!(s.resolution_secs, 1.0);
    assert_eq!(s.points.len(), 901);
    assert!(s.points.windows(2).all(|w| w[0].t < w[1].t));
    assert_eq!(
        (s.points[5].v, s.points[5].min, s.points[5].max),
        (5.0, 5.0, 5.0)
    );

    // Same span into 100 points: 9 s -> 10 s buckets over raw samples.
    let h = store
        .history(&query("cpu_usage", T0, T0 + 15 * 60_000 - 1, 100))
        .unwrap();
    let s = &h.series[0];
    assert_eq!(s.resolution_secs, 10.0);
    assert_eq!(s.points.len(), 90);
    assert_eq!(
        (s.points[0].v, s.points[0].min, s.points[0].max),
        (4.5, 0.0, 9.0)
    );

    // 20 min into 10 points: 2-minute buckets; without rollups yet, from raw.
    let q = query("cpu_usage", T0, T0 + 20 * 60_000 - 1, 10);
    let before = store.history(&q).unwrap();
    assert_eq!(before.series[0].resolution_secs, 120.0);
    assert_eq!(before.series[0].points.len(), 10);
    assert_eq!(before.series[0].points[0].v, 29.5);
    // After rolling up 15 of the 20 minutes: rollups + raw tail, same answer.
    let r = store.maintain(T0 + 15 * 60_000 + 30_000).unwrap();
    assert_eq!(r.minutes_rolled_up, 15);
    assert_eq!(store.history(&q).unwrap(), before);

    // Empty range: empty series, still one per metric.
    let h = store
        .history(&query("load_1", T0 - DAY, T0 - DAY / 2, 300))
        .unwrap();
    assert!(h.series[0].points.is_empty());
}

#[test]
fn rollups_are_exact_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    // Three minutes; value = second of the stream (0..179).
    fill(&store, T0, 180, |i| i as f64);
    // Minute 3 has started but is incomplete: not rolled up.
    store.insert(&[snap(T0 + 180_000, 1000.0)]).unwrap();
    let now = T0 + 181_000;
    let r = store.maintain(now).unwrap();
    assert_eq!(r.minutes_rolled_up, 3);
    assert_eq!(r.rolled_up_until, Some(T0 + 180_000));
    let again = store.maintain(now).unwrap();
    assert_eq!(again.minutes_rolled_up, 0, "second run has nothing to do");

    // 1-minute buckets read from rollups (+ raw for minute 3).
    let h = store
        .history(&query("cpu_usage", T0, T0 + 240_000 - 1, 4))
        .unwrap();
    let s = &h.series[0];
    assert_eq!(s.resolution_secs, 60.0);
    let got: Vec<(i64, f64, f64, f64)> = s
        .points
        .iter()
        .map(|p| (p.t - T0, p.v, p.min, p.max))
        .collect();
    assert_eq!(
        got,
        [
            (0, 29.5, 0.0, 59.0),
            (60_000, 89.5, 60.0, 119.0),
            (120_000, 149.5, 120.0, 179.0),
            (180_000, 1000.0, 1000.0, 1000.0),
        ]
    );
    // Two-minute buckets merge minute rollups weighted by their sample counts.
    let h = store
        .history(&query("cpu_usage", T0, T0 + 240_000 - 1, 2))
        .unwrap();
    assert_eq!(h.series[0].points[0].v, 59.5);
    assert_eq!(
        h.series[0].points[1].v,
        (120..180).sum::<i64>() as f64 / 61.0 + 1000.0 / 61.0
    );
}

/// `aggregates` buckets at any width from the rollups and the raw samples after their
/// mark (what the seasonal profile reads: 5-minute slots): 10 minutes with 7 rolled up
/// give each bucket's exact mean, lowest, highest and count.
#[test]
fn aggregates_read_rollups_then_raw_at_the_asked_width() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    fill(&store, T0, 600, |i| i as f64);
    store.maintain(T0 + 7 * 60_000 + 500).unwrap();
    let got = store
        .aggregates(&["cpu_usage".to_string()], T0, T0 + 600_000, 300_000)
        .unwrap();
    assert_eq!(got.len(), 1);
    let buckets: Vec<(i64, f64, f64, f64, i64)> = got[0]
        .iter()
        .map(|(t, a)| (t - T0, a.mean, a.min, a.max, a.count))
        .collect();
    assert_eq!(
        buckets,
        [
            (0, 149.5, 0.0, 299.0, 300),
            (300_000, 449.5, 300.0, 599.0, 300)
        ]
    );
    // An unknown metric is an error naming it.
    let bad = store.aggregates(&["cpu_usag".to_string()], T0, T0 + 1, 300_000);
    assert!(
        matches!(&bad, Err(StoreError::UnknownMetric(m)) if m == "cpu_usag"),
        "{bad:?}"
    );
}

#[test]
fn retention_prunes_raw_then_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    fill(&store, T0, 120, |_| 10.0);
    store.maintain(T0 + 120_000).unwrap();
    assert_eq!(store.sample_count().unwrap(), 120);

    // 8 days later: raw gone (past 7 d), rollups still answer.
    let r = store.maintain(T0 + 8 * DAY).unwrap();
    assert_eq!(
        (r.samples_deleted, r.details_deleted, r.rollups_deleted),
        (120, 120, 0)
    );
    assert_eq!(store.sample_count().unwrap(), 0);
    assert_eq!(store.latest().unwrap(), None);
    let h = store
        .history(&query("cpu_usage", T0, T0 + 120_000, 1000))
        .unwrap();
    assert_eq!(h.series[0].resolution_secs, 60.0, "raw pruned: rollups");
    assert_eq!(h.series[0].points.len(), 2);
    assert_eq!(h.series[0].points[0].v, 10.0);

    // 91 days later: rollups gone too.
    let r = store.maintain(T0 + 91 * DAY).unwrap();
    assert_eq!(r.rollups_deleted, 2);
    let h = store
        .history(&query("cpu_usage", T0, T0 + 120_000, 1000))
        .unwrap();
    assert!(h.series[0].points.is_empty());
}

#[test]
fn migrations_set_version_and_refuse_newer_databases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/lookout.db");
    {
        let store = Store::open(&path, opts()).unwrap();
        assert_eq!(store.schema_version().unwrap(), LATEST_VERSION);
        store.insert(&[snap(T0, 1.0)]).unwrap();
    }
    // Reopening is a no-op migration and keeps the data.
    let store = Store::open(&path, opts()).unwrap();
    assert_eq!(store.sample_count().unwrap(), 1);
    drop(store);

    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = Store::open(&path, opts()).err().expect("newer db refused");
    let msg = err.to_string();
    assert!(matches!(err, StoreError::TooNew { .. }));
    assert!(msg.contains("newer") && msg.contains("lookout.db"), "{msg}");
}

#[test]
fn open_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = Store::open(&file.join("lookout.db"), opts()).err().unwrap();
    assert!(
        err.to_string().starts_with("cannot create directory"),
        "{err}"
    );
    assert!(err.to_string().contains("not-a-dir"), "{err}");
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 4096]).unwrap();
    let err = Store::open(&garbage, opts()).err().unwrap();
    assert!(err.to_string().contains("garbage.db"), "{err}");
}

#[test]
fn events_save_update_list_and_mark_expected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut e = AnomalyEvent {
        start: T0,
        peak_score: 0.9,
        peak_at: T0 + 5000,
        explanation: Explanation {
            metrics: vec![MetricContribution {
                metric: "cpu_usage".into(),
                value: 99.0,
                normal_low: 1.0,
                normal_high: 20.0,
                contribution: 1.0,
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    let id = store.save_event(&e).unwrap();
    assert!(id > 0);
    e.id = id;
    e.host = "test-host".into();
    let later = store
        .save_event(&AnomalyEvent {
            id: 0,
            start: T0 + DAY,
            end: Some(T0 + DAY + 60_000),
            ..e.clone()
        })
        .unwrap();

    // Open event overlaps any range after its start; newest first.
    let list = store.events(T0, T0 + 2 * DAY).unwrap();
    assert_eq!(list.iter().map(|e| e.id).collect::<Vec<_>>(), [later, id]);
    assert_eq!(list[1], e);

    e.end = Some(T0 + 30_000);
    assert_eq!(store.save_event(&e).unwrap(), id);
    assert!(store.events(T0 + 60_000, T0 + 120_000).unwrap().is_empty());
    assert!(store.set_event_expected(id, true).unwrap());
    assert!(store.events(T0, T0 + 1).unwrap()[0].expected);
    let by_id = store.event(id).unwrap().expect("event by id");
    assert_eq!(
        (by_id.id, by_id.end, by_id.expected),
        (id, Some(T0 + 30_000), true)
    );
    assert!(store.event(12345).unwrap().is_none());
    assert!(!store.set_event_expected(12345, true).unwrap());
    let missing = AnomalyEvent { id: 12345, ..e };
    assert!(matches!(
        store.save_event(&missing),
        Err(StoreError::EventNotFound(12345))
    ));
}

#[test]
fn scores_show_in_history_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    fill(&store, T0, 10, |_| 1.0);
    store
        .set_scores(&[(T0 + 2000, 0.25), (T0 + 3000, 0.75), (T0 + 99_000, 1.0)])
        .unwrap();
    let h = store
        .history(&query("anomaly_score", T0, T0 + 10_000, 300))
        .unwrap();
    let pts: Vec<(i64, f64)> = h.series[0].points.iter().map(|p| (p.t - T0, p.v)).collect();
    assert_eq!(
        pts,
        [(2000, 0.25), (3000, 0.75)],
        "unscored samples are skipped"
    );
    assert_eq!(
        store.snapshot_at(T0 + 3000).unwrap().unwrap().anomaly_score,
        Some(0.75)
    );
    store.maintain(T0 + 120_000).unwrap();
    let h = store
        .history(&query("anomaly_score", T0, T0 + 60_000, 1))
        .unwrap();
    assert_eq!(h.series[0].points.len(), 1);
    assert_eq!(
        (h.series[0].points[0].v, h.series[0].points[0].max),
        (0.5, 0.75)
    );
    assert!(matches!(
        store.history(&query("bogus", T0, T0 + 1, 1)),
        Err(StoreError::UnknownMetric(_))
    ));
}

#[test]
fn concurrent_reads_during_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open(&dir));
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for b in 0..20 {
                fill(&store, T0 + b * 60_000, 60, |i| i as f64);
            }
        })
    };
    for _ in 0..20 {
        store
            .history(&query("cpu_usage", T0, T0 + 20 * 60_000, 300))
            .unwrap();
    }
    writer.join().unwrap();
    assert_eq!(store.sample_count().unwrap(), 1200);
}

const CRASH_ENV: &str = "LOOKOUT_STORE_CRASH_CHILD_DB";

/// Child half of `kill_dash_nine_never_corrupts`: writes 10-sample batches forever.
/// A no-op in a normal test run.
#[test]
fn crash_child_writer() {
    let Some(path) = std::env::var_os(CRASH_ENV) else {
        return;
    };
    let store = Store::open(std::path::Path::new(&path), opts()).unwrap();
    for b in 0.. {
        let batch: Vec<Snapshot> = (0..10)
            .map(|i| snap(T0 + (b * 10 + i) * 1000, 1.0))
            .collect();
        store.insert(&batch).unwrap();
    }
}

#[test]
fn kill_dash_nine_never_corrupts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args(["--exact", "store::tests::crash_child_writer", "--nocapture"])
        .env(CRASH_ENV, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    while seen < 500 {
        assert!(
            std::time::Instant::now() < deadline,
            "child wrote too slowly ({seen})"
        );
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(conn) = rusqlite::Connection::open(&path) {
            seen = conn
                .query_row("SELECT COUNT(*) FROM samples", [], |r| r.get::<_, i64>(0))
                .unwrap_or(0);
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();

    let store = Store::open(&path, opts()).unwrap();
    let count = store.sample_count().unwrap();
    assert!(
        count >= seen as u64,
        "{count} < {seen}: committed data lost"
    );
    assert_eq!(count % 10, 0, "a batch was half written");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// Reads held open (a slow range, an export) take one reader each: while all but one
/// are held, other reads still answer; with all held, a read waits for the first freed.
#[test]
fn a_held_reader_does_not_queue_other_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open(&dir));
    fill(&store, 1_000_000, 60, |i| i as f64);
    let held: Vec<_> = (0..super::READERS - 1).map(|_| store.reader()).collect();
    // Held on this thread: another thread reads, and must get the free reader.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let store = store.clone();
        s.spawn(move || tx.send(store.latest().map(|l| l.map(|x| x.timestamp))));
        let answer = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a read waited behind held readers");
        assert_eq!(answer.unwrap(), Some(1_000_000 + 59_000));
    });
    // Every reader held: a read waits, and goes on once they are freed.
    let mut held = held;
    held.push(store.reader());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let store = store.clone();
        s.spawn(move || tx.send(store.latest().is_ok()));
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        drop(held);
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(true));
    });
}

/// A damaged file is named as such, with the way out, and left as it was.
#[test]
fn a_damaged_file_is_reported_as_corrupt_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let junk: Vec<u8> = (0..32 * 1024).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(&path, &junk).unwrap();
    let err = match Store::open(&path, opts()) {
        Err(e) => e,
        Ok(_) => panic!("opened a file of junk"),
    };
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains("move it aside"),
        "{text}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), junk);
}

#[test]
fn per_core_history_from_rollups_and_raw_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    // 10 minutes at 1 s: 10 % for 5 minutes, then 50 % (core 1 runs at half of core 0).
    fill(&store, T0, 600, |i| if i < 300 { 10.0 } else { 50.0 });
    // Minutes 0-7 rolled up; 8 and 9 are read from the raw snapshots.
    let r = store.maintain(T0 + 8 * 60_000 + 500).unwrap();
    assert_eq!(r.rolled_up_until, Some(T0 + 8 * 60_000));
    let rows: i64 = store
        .reader()
        .query_row("SELECT COUNT(*) FROM core_rollups_1m", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 8);
    let h = store.core_history(T0, T0 + 600_000 - 1, 10).unwrap();
    assert_eq!(h.bucket_secs, 60.0);
    assert_eq!(h.times.len(), 10);
    assert_eq!(h.times[0], T0);
    assert_eq!(h.cores.len(), 2);
    for (j, t) in h.times.iter().enumerate() {
        let want = if *t < T0 + 300_000 { 10.0 } else { 50.0 };
        assert_eq!(h.cores[0][j], Some(want), "bucket {j}");
        assert_eq!(h.cores[1][j], Some(want / 2.0), "bucket {j}");
    }
    // A short span is bucketed finer, from raw snapshots only; a gap stays null.
    let h = store.core_history(T0 + 290_000, T0 + 310_000, 20).unwrap();
    assert_eq!(h.bucket_secs, 1.0);
    assert_eq!(h.cores[0][0], Some(10.0));
    assert_eq!(h.cores[0][15], Some(50.0));
    let h = store.core_history(T0 + 700_000, T0 + 760_000, 10).unwrap();
    assert!(h.cores.is_empty() && !h.times.is_empty());
}

#[test]
fn a_host_view_reads_and_writes_that_host_through_the_same_connections() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    fill(&store, T0, 3, |_| 10.0);
    assert!(store.existing_host("web-2").unwrap().is_none());
    let web2 = store.as_host("web-2").unwrap();
    assert_eq!(web2.options().host, "web-2");
    // Nothing of web-2 yet; the hub's own samples are not its.
    assert!(web2.latest().unwrap().is_none());
    let mut s = snap(T0 + 5_000, 77.0);
    s.host = String::new();
    web2.insert(&[s]).unwrap();
    assert_eq!(web2.latest().unwrap().unwrap().cpu_usage, 77.0);
    assert_eq!(store.latest().unwrap().unwrap().cpu_usage, 10.0);
    assert_eq!(store.host_sample_count("web-2").unwrap(), 1);
    // Found again without writing, and the same pool (one writer for both).
    let again = store.existing_host("web-2").unwrap().unwrap();
    assert_eq!(again.raw_bounds().unwrap(), Some((T0 + 5_000, T0 + 5_000)));
    assert!(std::sync::Arc::ptr_eq(&store.pool, &again.pool));
}

/// Moved from the `HostId` reads (`history_of`, `latest_of`): a hub's view of an
/// ingested host reads that host's samples, and the hub's own reads stay its own.
#[test]
fn an_ingested_hosts_view_reads_its_own_samples() {
    let (_dir, s) = temp_store("hub");
    let at = |ts: i64, cpu: f64| {
        let mut s = snap(ts, cpu);
        s.host = String::new();
        s
    };
    s.ingest("web-2", &[at(1_000, 42.0), at(2_000, 44.0)])
        .unwrap();
    s.ingest("hub", &[at(1_000, 7.0)]).unwrap();
    let web = s.existing_host("web-2").unwrap().unwrap();
    let q = query("cpu_usage", 0, 3_000, 10);
    let theirs = web.history(&q).unwrap();
    assert_eq!(theirs.series[0].points.len(), 2);
    assert_eq!(theirs.series[0].points[0].v, 42.0);
    assert_eq!(s.history(&q).unwrap().series[0].points[0].v, 7.0);
    assert_eq!(web.latest().unwrap().unwrap().timestamp, 2_000);
    assert_eq!(s.latest().unwrap().unwrap().timestamp, 1_000);
    assert!(s.existing_host("nope").unwrap().is_none());
}

/// A snapshot with all a real one carries: container, node and pressure figures,
/// four cores, two filesystems, 10 + 10 processes with f32-widened percentages.
fn full_snap(ts: TimestampMs, cpu: f64) -> Snapshot {
    use crate::model::{ApiBody, FilesystemUsage};
    let mut s = Snapshot::example();
    s.host = "test-host".into();
    s.timestamp = ts;
    s.cpu_usage = cpu;
    s.cpu.per_core = vec![cpu, 0.0, 100.0, f64::from(33.3f32)];
    s.disk.filesystems.push(FilesystemUsage {
        mount_point: "/var/lib/docker".into(),
        total_bytes: 1 << 40,
        available_bytes: 123_456_789_012,
    });
    let p = |i: u32| ProcessInfo {
        pid: 1000 + i,
        name: format!("worker-{i}"),
        cpu_percent: f64::from(i as f32 * 9.77),
        rss_bytes: u64::from(i) * 4096 * 1013,
    };
    s.processes.top_cpu = (0..10).map(p).collect();
    s.processes.top_memory = (5..15).map(p).collect();
    s
}

/// (typeof(json), length(json)) of this host's stored details at `ts`.
fn stored_kind(store: &Store, ts: TimestampMs) -> (String, i64) {
    store
        .reader()
        .query_row(
            "SELECT typeof(json), length(json) FROM sample_details WHERE host_id = ?1 AND ts = ?2",
            rusqlite::params![store.host_id, ts],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// Every reader of `sample_details` gets `a` (at T0) and `b` (at T0 + 1 s) back.
fn assert_details_read(store: &Store, a: &Snapshot, b: &Snapshot) {
    assert_eq!(store.snapshot_at(T0 + 999).unwrap().as_ref(), Some(a));
    assert_eq!(store.latest().unwrap().as_ref(), Some(b));
    let fs = store.filesystem_history(T0, T0 + 1_999, 1_000).unwrap();
    assert_eq!(
        fs,
        vec![
            (T0, a.disk.filesystems.clone()),
            (T0 + 1_000, b.disk.filesystems.clone())
        ]
    );
    let h = store.core_history(T0, T0 + 1_999, 2).unwrap();
    assert_eq!(h.times, vec![T0, T0 + 1_000]);
    for (core, values) in h.cores.iter().enumerate() {
        assert_eq!(
            values,
            &vec![Some(a.cpu.per_core[core]), Some(b.cpu.per_core[core])]
        );
    }
    assert_eq!(h.cores.len(), 4);
}

#[test]
fn details_are_stored_compressed_and_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let (a, b) = (full_snap(T0, 12.5), full_snap(T0 + 1_000, 87.25));
    store.insert(&[a.clone(), b.clone()]).unwrap();
    assert_details_read(&store, &a, &b);
    let (kind, len) = stored_kind(&store, T0);
    let json = serde_json::to_string(&a).unwrap().len() as i64;
    assert_eq!(kind, "blob");
    assert!(len * 3 < json, "{len} bytes stored for {json} of JSON");

    // A hub's ingest stores them the same way, under the agent's host name.
    store.ingest("web-2", std::slice::from_ref(&a)).unwrap();
    let web = store.existing_host("web-2").unwrap().unwrap();
    assert_eq!(stored_kind(&web, T0).0, "blob");
    let mut want = a.clone();
    want.host = "web-2".into();
    assert_eq!(web.latest().unwrap(), Some(want));

    // The per-core rollup of maintenance reads them too.
    store.maintain(T0 + 120_000).unwrap();
    let h = store.core_history(T0, T0 + 59_999, 1).unwrap();
    assert_eq!(h.bucket_secs, 60.0);
    assert_eq!(h.cores[2], vec![Some(100.0)]);
    assert_eq!(h.cores[0], vec![Some((12.5 + 87.25) / 2.0)]);
}

#[test]
fn details_written_as_text_by_older_versions_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let (a, b) = (full_snap(T0, 12.5), full_snap(T0 + 1_000, 87.25));
    store.insert(&[a.clone(), b.clone()]).unwrap();
    // As Lookout wrote every row before the compressed format: the JSON as TEXT.
    store
        .writer()
        .execute(
            "UPDATE sample_details SET json = ?2 WHERE ts = ?1",
            rusqlite::params![T0, serde_json::to_string(&a).unwrap()],
        )
        .unwrap();
    assert_eq!(stored_kind(&store, T0).0, "text");
    assert_eq!(stored_kind(&store, T0 + 1_000).0, "blob");
    assert_details_read(&store, &a, &b);
}

#[test]
fn a_damaged_details_blob_fails_its_own_sample_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let (a, b) = (full_snap(T0, 12.5), full_snap(T0 + 1_000, 87.25));
    store
        .insert(&[a.clone(), b, full_snap(T0 + 2_000, 50.0)])
        .unwrap();
    // Right format byte, bytes that do not inflate; then an unknown format byte.
    let damage = |ts: TimestampMs, blob: &[u8]| {
        store
            .writer()
            .execute(
                "UPDATE sample_details SET json = ?2 WHERE ts = ?1",
                rusqlite::params![ts, blob],
            )
            .unwrap();
    };
    damage(T0 + 1_000, &[1, 0xde, 0xad, 0xbe, 0xef]);
    damage(T0 + 2_000, &[7, 1, 2, 3]);
    let err = store.latest().unwrap_err();
    assert!(
        matches!(&err, StoreError::Detail { ts, .. } if *ts == T0 + 2_000),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the stored details of the sample at {} cannot be read: unknown details format 7",
            T0 + 2_000
        )
    );
    let err = store.snapshot_at(T0 + 1_500).unwrap_err().to_string();
    assert!(
        err.contains("does not inflate") || err.contains("truncated"),
        "{err}"
    );
    assert_eq!(store.snapshot_at(T0 + 999).unwrap(), Some(a.clone()));
    // Series skip the damaged samples; maintenance rolls up the rest.
    let fs = store.filesystem_history(T0, T0 + 2_999, 1_000).unwrap();
    assert_eq!(fs, vec![(T0, a.disk.filesystems.clone())]);
    let h = store.core_history(T0, T0 + 2_999, 3).unwrap();
    assert_eq!(h.cores[0], vec![Some(12.5), None, None]);
    store.maintain(T0 + 120_000).unwrap();
    let h = store.core_history(T0, T0 + 59_999, 1).unwrap();
    assert_eq!(h.cores[0], vec![Some(12.5)]);
}
