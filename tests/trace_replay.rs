//! Replays real traces of this project's development host (recorded by
//! `scripts/record-trace.sh`: Lookout sampling every 1 s into a fresh store, then scripted
//! faults with their times as labels, exported with `lookout history export`) through the
//! detector's own pipeline as `lookout detect --train` runs it: the part before the first
//! fault trains the model (scored by the rolling baseline meanwhile, as a new server's
//! first hour is), then every sample is scored with default settings.
//!
//! - `trace-idle`: 25 idle minutes, then the faults. Every fault opens an event within
//!   10 s whose explanation names the fault's metric, the event closes within 60 s after
//!   the fault ends, and no event opens outside the faults.
//! - `trace-idle-2h`: the same after 2 hours of idle (one unscripted disk-read burst
//!   in them, labelled), replayed trained on the idle part and from a cold start.
//! - `trace-busy`: the same faults after 25 minutes during which this host was compiling
//!   the project (both cores at 100 % for long stretches, gigabytes of memory and disk
//!   churn). No event opens outside the faults. A CPU stress is this host's normal there
//!   (the builds ran both cores at 100 %), so it is not required to open one; every other
//!   fault does, naming its metric, within 20 s (the memory ramp needs more than 10 s to
//!   leave memory swings of several GB behind), and closes within 60 s after it ends.

use std::io::Read;

use lookout::detect::csv::read_table;
use lookout::detect::timeparse::parse_timestamp;
use lookout::detect::{LiveConfig, LiveDetector};
use lookout::model::AnomalyEvent;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Label {
    fault: String,
    metric: String,
    start: i64,
    end: i64,
}

/// The metric family a fault must be explained by (its label's metric or a sibling:
/// memory_used_bytes and memory_usage move together).
fn family(metric: &str) -> &str {
    match metric {
        m if m.starts_with("memory_") => "memory_",
        m if m.starts_with("disk_write") => "disk_write",
        m if m.starts_with("net_") => "net_",
        m => m,
    }
}

/// (opened at, the event in its last form, closed at)
type Replayed = Vec<(i64, AnomalyEvent, Option<i64>)>;

/// How a replay starts: trained on the part before the faults (as `lookout detect
/// --train` runs), or from nothing on the server's own schedule.
#[derive(PartialEq)]
enum Start {
    TrainedBeforeFaults,
    FromScratch,
}

fn replay(name: &str) -> (Vec<Label>, Replayed) {
    replay_with(name, Start::TrainedBeforeFaults)
}

fn replay_with(name: &str, start: Start) -> (Vec<Label>, Replayed) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let labels: Vec<Label> = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.labels.json"))).unwrap(),
    )
    .unwrap();
    let mut csv = String::new();
    let file = std::fs::File::open(dir.join(format!("{name}.csv.gz"))).unwrap();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut csv)
        .unwrap();
    let (cols, ts, rows) = read_table(csv.as_bytes(), "input").unwrap();
    let ts: Vec<i64> = ts.iter().map(|t| parse_timestamp(t).unwrap()).collect();
    let first_fault = first_scripted_fault(&labels);
    let mut det = LiveDetector::new(LiveConfig {
        metric_names: cols,
        self_train: true,
        ..Default::default()
    });
    let split = if start == Start::TrainedBeforeFaults {
        // The training file: everything up to a minute before the first fault.
        let split = ts.partition_point(|t| *t < first_fault - 60_000);
        for i in 0..split {
            det.observe(ts[i], &rows[i], &[], &[]);
        }
        det.train_now()
            .expect("trains on the part before the faults");
        split
    } else {
        // Every row scored, the first ones by the rolling baseline alone, the model
        // trained when the schedule says (after `min_history`, then every hour).
        0
    };
    let mut events: Replayed = vec![];
    for i in split..rows.len() {
        let out = det.observe(ts[i], &rows[i], &[], &[]);
        if let Some(e) = out.opened {
            events.push((ts[i], e, None));
        }
        if let Some(e) = out.updated {
            if let Some(last) = events.last_mut() {
                last.1 = e;
            }
        }
        if let Some(e) = out.closed {
            if let Some(last) = events.last_mut() {
                last.1 = e;
                last.2 = Some(ts[i]);
            }
        }
    }
    (labels, events)
}

/// The start of the first scripted fault. A trace may also label a disturbance that
/// was not scripted (`unscripted_*`: in the 2-hour trace, a grep of the build folder
/// 8 minutes in); the idle part before the faults includes it.
fn first_scripted_fault(labels: &[Label]) -> i64 {
    labels
        .iter()
        .filter(|l| !l.fault.starts_with("unscripted"))
        .map(|l| l.start)
        .min()
        .unwrap()
}

/// Checks every fault not in `exempt`; returns a line per fault for the log.
fn check_faults(labels: &[Label], events: &Replayed, open_within_ms: i64, exempt: &[&str]) {
    let mut report = vec![];
    for l in labels {
        let found = events
            .iter()
            .find(|(opened, _, _)| *opened >= l.start - 2_000 && *opened <= l.end);
        let Some((opened, e, closed)) = found else {
            report.push(format!("{}: no event", l.fault));
            assert!(exempt.contains(&l.fault.as_str()), "{}", report.join("\n"));
            continue;
        };
        let top: Vec<&str> = e
            .explanation
            .metrics
            .iter()
            .take(3)
            .map(|m| m.metric.as_str())
            .collect();
        report.push(format!(
            "{}: opened {:+.1} s after the start, closed {} after the end, top {top:?}",
            l.fault,
            (opened - l.start) as f64 / 1000.0,
            closed.map_or("never".into(), |c| format!(
                "{:+.1} s",
                (c - l.end) as f64 / 1000.0
            )),
        ));
        let line = report.join("\n");
        assert!(opened - l.start <= open_within_ms, "{line}");
        assert!(
            top.iter().any(|m| m.starts_with(family(&l.metric))),
            "{line}"
        );
        assert!(closed.unwrap_or(i64::MAX) - l.end <= 60_000, "{line}");
    }
    eprintln!("{}", report.join("\n"));
}

/// Events that opened outside every fault (from 2 s before its start to 60 s after its end).
fn false_events<'a>(labels: &[Label], events: &'a Replayed) -> Vec<&'a AnomalyEvent> {
    events
        .iter()
        .filter(|(opened, _, _)| {
            !labels
                .iter()
                .any(|l| *opened >= l.start - 2_000 && *opened <= l.end + 60_000)
        })
        .map(|e| &e.1)
        .collect()
}

#[test]
fn on_an_idle_host_every_fault_opens_an_event_naming_its_metric_and_nothing_else_does() {
    let (labels, events) = replay("trace-idle");
    assert!(labels.len() >= 5, "{labels:?}");
    check_faults(&labels, &events, 10_000, &[]);
    let false_ones = false_events(&labels, &events);
    assert!(false_ones.is_empty(), "{false_ones:?}");
}

/// The 2-hour idle trace, trained on its idle part as `lookout detect --train` runs.
/// The unscripted disturbance 8 minutes in is part of that training (so it is not
/// checked here; the cold-start replay below checks it).
#[test]
fn after_two_idle_hours_every_fault_opens_an_event_naming_its_metric_and_nothing_else_does() {
    let (mut labels, events) = replay("trace-idle-2h");
    labels.retain(|l| !l.fault.starts_with("unscripted"));
    assert!(labels.len() >= 5, "{labels:?}");
    check_faults(&labels, &events, 10_000, &[]);
    let false_ones = false_events(&labels, &events);
    assert!(false_ones.is_empty(), "{false_ones:?}");
}

#[test]
fn on_a_busy_build_host_faults_still_open_events_and_the_builds_open_none() {
    let (labels, events) = replay("trace-busy");
    assert!(labels.len() >= 5, "{labels:?}");
    check_faults(&labels, &events, 20_000, &["cpu"]);
    let false_ones = false_events(&labels, &events);
    assert!(false_ones.is_empty(), "{false_ones:?}");
}

/// The idle traces from their first row as a new server sees them: the rolling
/// baseline alone at first, then the model once an hour of history exists, retrained
/// on schedule. No event opens outside the faults; and when the faults come after the
/// first training (the 2-hour trace), every fault opens one as above, the unscripted
/// disturbance of the idle part included.
#[test]
fn an_idle_host_from_a_cold_start_opens_no_event_outside_the_faults() {
    for name in ["trace-idle", "trace-idle-2h"] {
        let (labels, events) = replay_with(name, Start::FromScratch);
        let false_ones = false_events(&labels, &events);
        assert!(false_ones.is_empty(), "{name}: {false_ones:?}");
        let idle_ms = first_scripted_fault(&labels) - first_timestamp(name);
        if idle_ms >= lookout::detect::LiveConfig::default().min_history_secs * 1000 {
            check_faults(&labels, &events, 10_000, &[]);
        } else {
            assert_eq!(
                name, "trace-idle",
                "the 2-hour trace has its faults checked"
            );
        }
    }
}

fn first_timestamp(name: &str) -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let file = std::fs::File::open(dir.join(format!("{name}.csv.gz"))).unwrap();
    let mut csv = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut csv)
        .unwrap();
    let row = csv.lines().nth(1).expect("a first row");
    parse_timestamp(row.split(',').next().unwrap()).unwrap()
}
