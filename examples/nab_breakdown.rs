//! `cargo run --release -p lookout --example nab_breakdown [DATA_DIR] [LABELS_JSON]`
//!
//! The ensemble under NAB's protocol only (the first run of the `eval` example, without
//! the plain-forest and online runs), then, per series, what the standard profile's
//! optimised threshold makes of it: the windows found (and how early in them) and the
//! false positives (row and alarm score); with `WINDOWS=1` also every nonzero alarm
//! inside each window (offset in the window: alarm). A diagnosis tool for detector
//! changes: the corpus total says whether a change helps, this says where.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lookout::detect::csv::read_table;
use lookout::detect::eval::{dense_rank, evaluate, score_split_ranked, Series};
use lookout::detect::timeparse::parse_timestamp;
use lookout::detect::EvalMode;

fn main() {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(args.next().unwrap_or_else(|| "../shared/data/nab".into()));
    let labels_path = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| data.join("realAWSCloudwatch_windows.json"));
    let t0 = std::time::Instant::now();
    let text = std::fs::read_to_string(&labels_path).expect("labels");
    let labels: BTreeMap<String, Vec<Vec<String>>> = serde_json::from_str(&text).expect("json");
    let mut series = vec![];
    let mut raw_scores = vec![];
    for (name, wins) in &labels {
        let Ok(f) = std::fs::File::open(data.join(name)) else {
            continue;
        };
        let (_, ts, rows) = read_table(f, "input").expect("csv");
        let times: Vec<Option<i64>> = ts.iter().map(|t| parse_timestamp(t)).collect();
        let mut windows = vec![];
        for w in wins {
            let a = parse_timestamp(&w[0]).unwrap();
            let b = parse_timestamp(&w[1]).unwrap();
            let idx: Vec<usize> = (0..times.len())
                .filter(|&i| times[i].is_some_and(|t| t >= a && t <= b))
                .collect();
            if let (Some(&l), Some(&r)) = (idx.first(), idx.last()) {
                windows.push((l, r));
            }
        }
        let mut lab = vec![false; rows.len()];
        for &(l, r) in &windows {
            lab[l..=r].iter_mut().for_each(|x| *x = true);
        }
        let split = ((0.15 * rows.len() as f64).floor() as usize).min(750);
        let (scores, ranking) =
            score_split_ranked(&ts, &rows, split, EvalMode::Ensemble).expect("score");
        raw_scores.push(scores.clone());
        series.push(Series {
            name: name.clone(),
            scores,
            ranking,
            labels: lab,
            windows,
        });
    }
    dense_rank(&mut series);
    let report = evaluate(&series, EvalMode::Ensemble);
    for n in &report.nab {
        println!(
            "NAB {:<14} {:>7.2} (thr {:.6})",
            n.profile, n.score, n.threshold
        );
    }
    println!(
        "mean ROC {:.3} PR {:.3}",
        report.mean_roc_auc, report.mean_pr_auc
    );
    let thr = report.nab[0].threshold;
    for (s, raw) in series.iter().zip(&raw_scores) {
        let p = s.probation();
        let mut found = vec![];
        let mut fps = vec![];
        for (k, &(l, r)) in s.windows.iter().enumerate() {
            if r < p {
                continue;
            }
            let top: Vec<String> = (l.max(p)..=r)
                .filter(|&i| raw[i] > 0.0)
                .map(|i| format!("{}:{:.1}", i - l, raw[i]))
                .collect();
            if let Some(i) = (l.max(p)..=r).find(|&i| s.scores[i] >= thr) {
                found.push(format!("w{k}@{}/{}", i - l, r - l + 1));
            } else {
                found.push(format!("w{k}:miss"));
            }
            if std::env::var_os("WINDOWS").is_some() {
                found.push(format!("[{}]", top.join(" ")));
            }
        }
        for (i, r) in raw.iter().enumerate().skip(p) {
            if s.scores[i] >= thr && !s.labels[i] {
                fps.push(format!("{i}({r:.1})"));
            }
        }
        println!(
            "{:<48} {} | FP {}: {}",
            s.name,
            found.join(" "),
            fps.len(),
            fps.join(" ")
        );
    }
    println!("(took {:.1} s)", t0.elapsed().as_secs_f64());
}
