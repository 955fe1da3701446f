//! `lookout history export` through the real binary, on a store written with the
//! engine's `Store` API: the CSV it writes (header, values, missing values, timestamps),
//! the round trip through `lookout detect`, relative times, and the bad-input exits.

mod support;
use support::output_with_stdin;

use lookout::model::{CpuStats, MemoryStats, Snapshot, TimestampMs, METRICS};
use lookout::store::{Store, StoreOptions};
use std::path::Path;
use std::process::{Command, Output};

const HOST: &str = "export-test-host";
/// 2025-11-24T16:00:00Z.
const T0: TimestampMs = 1_764_000_000_000;
const MIN: i64 = 60_000;

fn lookout(data: &Path, host: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lookout"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOOKOUT_STORE_PATH", data.join("lookout.db"))
        .env("LOOKOUT_DETECTOR_MODELS_DIR", data.join("models"))
        .env("LOOKOUT_HOST_NAME", host)
        .current_dir(data);
    c
}

fn run(data: &Path, args: &[&str]) -> Output {
    output_with_stdin(lookout(data, HOST).args(args), "")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn cpu(i: i64) -> f64 {
    if i == 42 {
        f64::NAN // stored as NULL: a missing value
    } else {
        20.0 + (i % 7) as f64 * 0.25 + i as f64 / 3.0
    }
}

fn mem(i: i64) -> f64 {
    40.0 + ((i * 17) % 11) as f64 * 0.1
}

fn snap(ts: TimestampMs, cpu: f64, mem: f64) -> Snapshot {
    Snapshot {
        host: HOST.into(),
        timestamp: ts,
        cpu_usage: cpu,
        cpu: CpuStats {
            total: cpu,
            per_core: vec![],
        },
        memory: MemoryStats {
            usage_percent: mem,
            total_bytes: 8 << 30,
            used_bytes: 3 << 30,
            ..MemoryStats::default()
        },
        ..Snapshot::default()
    }
}

/// A store at `data/lookout.db` holding `snaps`.
fn store_with(data: &Path, snaps: &[Snapshot]) {
    let store = Store::open(
        &data.join("lookout.db"),
        StoreOptions {
            host: HOST.into(),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.insert(snaps).unwrap();
}

/// 150 samples one minute apart from T0 (two and a half hours: several read chunks).
fn minute_samples(data: &Path) {
    let snaps: Vec<Snapshot> = (0..150)
        .map(|i| snap(T0 + i * MIN, cpu(i), mem(i)))
        .collect();
    store_with(data, &snaps);
}

#[test]
fn export_writes_the_detect_format_and_round_trips_through_detect() {
    let dir = tempfile::tempdir().unwrap();
    minute_samples(dir.path());
    // ISO --from, epoch-seconds --to, both inclusive: rows 10..=100.
    let to_secs = ((T0 + 100 * MIN) / 1000).to_string();
    let range = ["--from", "2025-11-24T16:10:00Z", "--to", &to_secs];
    let metrics = ["--metrics", "cpu_usage,memory_usage"];

    let out = run(
        dir.path(),
        &[
            &["history", "export"][..],
            &range,
            &metrics,
            &["--timestamps", "ms"],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "timestamp,cpu_usage,memory_usage");
    assert_eq!(lines.len(), 1 + 91, "{csv}");
    for (row, line) in lines[1..].iter().enumerate() {
        let i = row as i64 + 10;
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 3, "{line}");
        assert_eq!(f[0], (T0 + i * MIN).to_string());
        if i == 42 {
            assert_eq!(f[1], "", "a missing value is an empty field: {line}");
        } else {
            assert_eq!(f[1].parse::<f64>().unwrap(), cpu(i), "{line}");
        }
        assert_eq!(f[2].parse::<f64>().unwrap(), mem(i), "{line}");
    }
    assert_eq!(
        lines[1],
        format!("{},{},{}", T0 + 10 * MIN, cpu(10), mem(10))
    );

    // The default timestamps are ISO, UTC with milliseconds; same rows otherwise.
    let out = run(
        dir.path(),
        &[&["history", "export"][..], &range, &metrics].concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let iso = text(&out.stdout);
    let iso_lines: Vec<&str> = iso.lines().collect();
    assert_eq!(iso_lines.len(), lines.len());
    assert!(
        iso_lines[1].starts_with("2025-11-24T16:10:00.000Z,"),
        "{}",
        iso_lines[1]
    );
    assert!(
        iso_lines[91].starts_with("2025-11-24T17:40:00.000Z,"),
        "{}",
        iso_lines[91]
    );
    for (a, b) in iso_lines[1..].iter().zip(&lines[1..]) {
        assert_eq!(a.split_once(',').unwrap().1, b.split_once(',').unwrap().1);
    }

    // Round trip: `lookout detect` reads both forms, one score line per row.
    for input in [&csv, &iso] {
        let out = output_with_stdin(lookout(dir.path(), HOST).arg("detect"), input);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let scores = text(&out.stdout);
        let score_lines: Vec<&str> = scores.lines().collect();
        assert_eq!(score_lines[0], "timestamp,score");
        assert_eq!(score_lines.len(), input.lines().count());
        for (s, row) in score_lines[1..].iter().zip(input.lines().skip(1)) {
            let (ts, score) = s.split_once(',').unwrap();
            assert_eq!(ts, row.split_once(',').unwrap().0);
            assert!(score.parse::<f64>().unwrap().is_finite(), "{s}");
        }
    }
}

#[test]
fn defaults_export_every_sample_and_metric_and_output_writes_a_file() {
    let dir = tempfile::tempdir().unwrap();
    minute_samples(dir.path());
    let out = run(dir.path(), &["history", "export", "--timestamps", "ms"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    let header: Vec<&str> = std::iter::once("timestamp")
        .chain(METRICS.iter().map(|d| d.name))
        .collect();
    assert_eq!(lines[0], header.join(","));
    assert_eq!(
        lines.len(),
        1 + 150,
        "every sample, across read chunks, once"
    );
    assert_eq!(lines[1].split(',').count(), header.len());
    assert!(
        lines[1].starts_with(&format!("{T0},{},{}", cpu(0), mem(0))),
        "{}",
        lines[1]
    );
    let bytes = header
        .iter()
        .position(|h| *h == "memory_used_bytes")
        .unwrap();
    assert_eq!(lines[1].split(',').nth(bytes), Some("3221225472"));
    assert!(lines[150].starts_with(&format!("{},", T0 + 149 * MIN)));

    let file = dir.path().join("out/trace.csv");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let out = run(
        dir.path(),
        &[
            "history",
            "export",
            "--timestamps",
            "ms",
            "-o",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), csv);
    assert!(
        text(&out.stderr).contains("wrote 150 samples"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn relative_times_count_back_from_now() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let ago = |m: i64| now - m * MIN;
    store_with(
        dir.path(),
        &[
            snap(ago(180), 1.0, 10.0),
            snap(ago(90), 2.0, 20.0),
            snap(ago(30), 3.0, 30.0),
            snap(ago(1), 4.0, 40.0),
        ],
    );
    let values = |args: &[&str]| -> Vec<String> {
        let out = run(
            dir.path(),
            &[&["history", "export", "--metrics", "cpu_usage"][..], args].concat(),
        );
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let csv = text(&out.stdout);
        assert_eq!(csv.lines().next(), Some("timestamp,cpu_usage"));
        csv.lines()
            .skip(1)
            .map(|l| l.split_once(',').unwrap().1.to_string())
            .collect()
    };
    assert_eq!(values(&[]), ["1", "2", "3", "4"]);
    assert_eq!(values(&["--from", "-2h"]), ["2", "3", "4"]);
    assert_eq!(values(&["--from=-2h", "--to", "-10m"]), ["2", "3"]);
    assert_eq!(
        values(&["--from", "-7d", "--to", "now"]),
        ["1", "2", "3", "4"]
    );
    assert_eq!(values(&["--from", "-45m", "--to", "-15m"]), ["3"]);
}

#[test]
fn bad_options_exit_2_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    minute_samples(dir.path());
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--from", "yesterday"],
            vec!["--from", "yesterday", "-2h"],
        ),
        (vec!["--to", "2025-13-01"], vec!["--to", "2025-13-01"]),
        (vec!["--from", "-5"], vec!["--from"]),
        (
            vec!["--from", "-1h", "--to", "-2h"],
            vec!["--from", "after", "--to"],
        ),
        (
            vec![
                "--from",
                "2025-11-24T17:00:00Z",
                "--to",
                "2025-11-24T16:00:00Z",
            ],
            vec!["--from", "after"],
        ),
        (
            vec!["--metrics", "cpu_usage,cpu_usag"],
            vec![
                "\"cpu_usag\"",
                "valid names",
                "memory_usage",
                "process_count",
            ],
        ),
        (vec!["--metrics", ","], vec!["--metrics"]),
        (vec!["--timestamps", "unix"], vec!["--timestamps"]),
    ];
    for (args, expect) in cases {
        let out = run(dir.path(), &[&["history", "export"][..], &args].concat());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = text(&out.stderr);
        for e in &expect {
            assert!(err.contains(e), "{args:?}: want {e:?} in {err}");
        }
    }
}

#[test]
fn a_missing_store_exits_1_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["history", "export"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("no store at") && err.contains("lookout.db"),
        "{err}"
    );
    assert!(!dir.path().join("lookout.db").exists());
    assert!(out.stdout.is_empty());
}

#[test]
fn an_empty_range_writes_the_header_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    minute_samples(dir.path());
    let args = [
        "history",
        "export",
        "--from",
        "2025-11-20 00:00",
        "--to",
        "2025-11-21 00:00",
        "--metrics",
        "cpu_usage",
    ];
    let out = run(dir.path(), &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "timestamp,cpu_usage\n");
    let err = text(&out.stderr);
    assert!(
        err.contains("no samples between 2025-11-20T00:00:00.000Z and 2025-11-21T00:00:00.000Z"),
        "{err}"
    );

    // Samples recorded under another host name: empty, with the setting to change.
    let out = output_with_stdin(
        lookout(dir.path(), "some-other-host").args(["history", "export"]),
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let err = text(&out.stderr);
    assert!(
        err.contains("no samples between") && err.contains("host.name"),
        "{err}"
    );
}
