//! Measures whether pressure stall (PSI) and CPU throttling columns improve the
//! detector (issue 12: keep them as features only if they do).
//!
//! `cargo run -p lookout --example pressure_features -- TRACE.csv.gz LABELS.json ...`
//! (pairs of a trace recorded by `scripts/record-trace.sh` and its labels). Each trace
//! is replayed as `tests/trace_replay.rs` does (train on the part before the first
//! fault, then score every sample with default settings) three times: with the
//! detector's features only (`model::detector_metric_names`), with the `psi_*`
//! columns added, and with the throttling and OOM columns added too. Prints per
//! variant: faults detected, the delay from each fault's start to its event, false
//! events, precision, recall and F1 (an event is true when it opens from 2 s before a
//! fault's start to 60 s after its end, a fault is detected when an event opens from
//! 2 s before its start to its end).
use std::io::Read;

use lookout::detect::csv::read_table;
use lookout::detect::timeparse::parse_timestamp;
use lookout::detect::{LiveConfig, LiveDetector};
use lookout::model::{detector_metric_names, SCOPE_METRICS};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Label {
    fault: String,
    start: i64,
    end: i64,
}

struct Trace {
    name: String,
    cols: Vec<String>,
    ts: Vec<i64>,
    rows: Vec<Vec<f64>>,
    labels: Vec<Label>,
}

fn load(csv_path: &str, labels_path: &str) -> Trace {
    let mut text = String::new();
    let file = std::fs::File::open(csv_path).unwrap_or_else(|e| panic!("{csv_path}: {e}"));
    if csv_path.ends_with(".gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap();
    } else {
        std::io::BufReader::new(file)
            .read_to_string(&mut text)
            .unwrap();
    }
    let (cols, ts, rows) = read_table(text.as_bytes(), "input").unwrap();
    let ts = ts.iter().map(|t| parse_timestamp(t).unwrap()).collect();
    let labels = serde_json::from_str(&std::fs::read_to_string(labels_path).unwrap()).unwrap();
    Trace {
        name: csv_path.to_string(),
        cols,
        ts,
        rows,
        labels,
    }
}

/// The events (opening time, the explanation's top three metrics) when the detector
/// sees only `keep` of the columns.
fn replay(t: &Trace, keep: &[String]) -> Vec<(i64, Vec<String>)> {
    let idx: Vec<usize> = keep
        .iter()
        .filter_map(|k| t.cols.iter().position(|c| c == k))
        .collect();
    let names: Vec<String> = idx.iter().map(|&i| t.cols[i].clone()).collect();
    let pick = |r: &Vec<f64>| idx.iter().map(|&i| r[i]).collect::<Vec<f64>>();
    let mut det = LiveDetector::new(LiveConfig {
        metric_names: names,
        self_train: true,
        ..Default::default()
    });
    let first_fault = t.labels.iter().map(|l| l.start).min().unwrap();
    let split = t.ts.partition_point(|x| *x < first_fault - 60_000);
    for i in 0..split {
        det.observe(t.ts[i], &pick(&t.rows[i]), &[], &[]);
    }
    det.train_now()
        .expect("trains on the part before the faults");
    let mut opened = vec![];
    for i in split..t.rows.len() {
        if let Some(e) = det.observe(t.ts[i], &pick(&t.rows[i]), &[], &[]).opened {
            let top = e.explanation.metrics.iter().take(3);
            opened.push((t.ts[i], top.map(|m| m.metric.clone()).collect()));
        }
    }
    opened
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    assert!(
        !args.is_empty() && args.len().is_multiple_of(2),
        "usage: pressure_features TRACE.csv[.gz] LABELS.json ..."
    );
    let mut traces: Vec<Trace> = args.chunks(2).map(|p| load(&p[0], &p[1])).collect();
    // A control: the psi_* columns again under other names, their rows shuffled (same
    // values, no timing). More columns alone change the forest's random subspaces; a gain
    // the shuffled copy also shows is not the pressure's information.
    for t in &mut traces {
        let psi_idx: Vec<usize> = (0..t.cols.len())
            .filter(|&i| t.cols[i].starts_with("psi_"))
            .collect();
        let n = t.rows.len();
        let mut order: Vec<usize> = (0..n).collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in (1..n).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let shuffled: Vec<Vec<f64>> = order
            .iter()
            .map(|&j| psi_idx.iter().map(|&c| t.rows[j][c]).collect())
            .collect();
        for (r, extra) in t.rows.iter_mut().zip(shuffled) {
            r.extend(extra);
        }
        for &c in &psi_idx {
            let name = format!("shuffled_{}", t.cols[c]);
            t.cols.push(name);
        }
    }
    let base = detector_metric_names();
    let psi: Vec<String> = SCOPE_METRICS
        .iter()
        .filter(|m| m.starts_with("psi_"))
        .map(|m| m.to_string())
        .collect();
    let all_scope: Vec<String> = SCOPE_METRICS.iter().map(|m| m.to_string()).collect();
    let shuffled: Vec<String> = psi.iter().map(|m| format!("shuffled_{m}")).collect();
    let variants = [
        ("features", base.clone()),
        ("features+psi", [base.clone(), psi].concat()),
        (
            "features+psi+throttling",
            [base.clone(), all_scope].concat(),
        ),
        ("features+shuffled psi", [base, shuffled].concat()),
    ];
    for t in &traces {
        let present: Vec<&str> = SCOPE_METRICS
            .iter()
            .copied()
            .filter(|m| t.cols.iter().any(|c| c == m))
            .collect();
        println!(
            "{}: {} samples, {} faults; columns present of {SCOPE_METRICS:?}: {present:?}",
            t.name,
            t.rows.len(),
            t.labels.len()
        );
    }
    for (name, keep) in &variants {
        let (mut faults, mut found, mut events, mut true_events) = (0, 0, 0, 0);
        let mut delays = vec![];
        let mut per_fault = vec![];
        for t in &traces {
            let opened = replay(t, keep);
            events += opened.len();
            true_events += opened
                .iter()
                .filter(|(o, _)| {
                    t.labels
                        .iter()
                        .any(|l| *o >= l.start - 2_000 && *o <= l.end + 60_000)
                })
                .count();
            for l in &t.labels {
                faults += 1;
                match opened
                    .iter()
                    .find(|(o, _)| *o >= l.start - 2_000 && *o <= l.end)
                {
                    Some((o, top)) => {
                        found += 1;
                        let d = (o - l.start) as f64 / 1000.0;
                        delays.push(d);
                        per_fault.push(format!("{} {d:+.0}s {top:?}", l.fault));
                    }
                    None => per_fault.push(format!("{} missed", l.fault)),
                }
            }
        }
        let precision = if events == 0 {
            0.0
        } else {
            true_events as f64 / events as f64
        };
        let recall = found as f64 / faults.max(1) as f64;
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        let mean = delays.iter().sum::<f64>() / delays.len().max(1) as f64;
        println!(
            "{name:<24} detected {found}/{faults}, mean delay {mean:.1} s, false events {}, \
             precision {precision:.2}, recall {recall:.2}, F1 {f1:.3}\n  {}",
            events - true_events,
            per_fault.join("\n  ")
        );
    }
}
