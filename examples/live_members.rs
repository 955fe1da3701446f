//! Replays a CSV through the live pipeline with the NAB protocol's split (the first
//! min(15 %, 750) rows as `--train`, then self-training on its schedule) and prints,
//! for rows FROM..=TO of the scored part, the combined surprise and every member's,
//! and the retrainings around them:
//! `cargo run --example live_members -- SERIES.csv FROM TO [cold|ROWS]`; with ROWS, the
//! first ROWS rows train the model; with `cold`, nothing
//! is trained first: the whole series is learnt online on the server's schedule, as
//! `lookout detect` without `--train` does (how the recorded traces are replayed).
//! A diagnosis tool (it found the PCA spike after a retrain on ec2_cpu_24ae8d), not
//! part of the product.
use lookout::detect::csv::read_table;
use lookout::detect::timeparse::parse_timestamp;
use lookout::detect::{LiveConfig, LiveDetector};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("CSV path");
    let from: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(0);
    let to: usize = args
        .get(3)
        .and_then(|v| v.parse().ok())
        .unwrap_or(usize::MAX);
    let (cols, ts, rows) = read_table(std::fs::File::open(path).unwrap(), "input").unwrap();
    let cold = args.get(4).is_some_and(|a| a == "cold");
    let n_train = if cold {
        0
    } else {
        // A row count as the fourth argument: train on that many rows instead.
        args.get(4)
            .and_then(|a| a.parse().ok())
            .unwrap_or((rows.len() * 15 / 100).min(750))
    };
    let mut det = LiveDetector::new(LiveConfig {
        metric_names: cols,
        self_train: true,
        ..Default::default()
    });
    let time = |i: usize| parse_timestamp(&ts[i]).expect("timestamp");
    for (i, r) in rows.iter().enumerate().take(n_train) {
        det.observe(time(i), r, &[], &[]);
    }
    if !cold {
        det.train_now().expect("training");
    }
    for (i, r) in rows.iter().enumerate().skip(n_train) {
        let o = det.observe(time(i), r, &[], &[]);
        let k = i - n_train;
        if k < from || k > to {
            continue;
        }
        if let Some(s) = o.score {
            let m: Vec<String> = s
                .members
                .iter()
                .map(|m| format!("{}={:.2}", m.member, m.score))
                .collect();
            println!(
                "row {k} {} combined={:.2} alarm={:.2} event={} {}",
                ts[i],
                s.combined,
                s.alarm,
                det.open_event().is_some() as u8,
                m.join(" ")
            );
        }
        if let Some(t) = o.trained {
            println!("row {k}: retrained {t:?}");
        }
    }
}
