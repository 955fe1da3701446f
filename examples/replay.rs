//! Replays a stored host's samples through the detector to see each member's score:
//! `cargo run --release --example replay -- SAMPLES.csv TRAIN_ROWS [FROM_ROW]`
//! (CSV: `timestamp` then the metric columns, e.g. exported from the store's `samples`
//! table). Trains on the first TRAIN_ROWS rows, as the server does at `min_history`,
//! and prints, for every later row, the combined score, the member scores and the top
//! metric of the explanation. A diagnosis tool, not part of the product.
use lookout::detect::csv::read_table;
use lookout::detect::ensemble::EnsembleScorer;
use lookout::detect::{train, TrainParams};
use std::sync::Arc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("CSV path");
    let n_train: usize = args
        .get(2)
        .and_then(|v| v.parse().ok())
        .expect("TRAIN_ROWS");
    let from: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(n_train);
    let (cols, ts, rows) = read_table(std::fs::File::open(path).unwrap(), "input").unwrap();
    let params = TrainParams {
        metric_names: cols.clone(),
        ..Default::default()
    };
    let train_rows: Vec<(i64, Vec<f64>)> = rows[..n_train]
        .iter()
        .enumerate()
        .map(|(i, r)| (i as i64, r.clone()))
        .collect();
    let model = train(&train_rows, &[], &params).unwrap();
    let mut s = EnsembleScorer::new(cols.len(), params.members, params.baseline.clone());
    s.set_floors(
        cols.iter()
            .map(|c| lookout::detect::features::unit_floor(c))
            .collect(),
    );
    for (i, r) in rows.iter().enumerate() {
        if i == n_train {
            s.install_model(Arc::new(model.clone())).unwrap();
        }
        let t = lookout::detect::timeparse::parse_timestamp(&ts[i]).unwrap_or(i as i64 * 1000);
        let Some(step) = s.step(t, r, true) else {
            continue;
        };
        if i < from {
            continue;
        }
        let members: Vec<String> = step
            .members
            .iter()
            .map(|m| format!("{}={:.4}", m.member, m.score))
            .collect();
        let top = s.explain(2, &cols);
        let top: Vec<String> = top
            .iter()
            .map(|c| {
                format!(
                    "{}({:.3}) {:.1}%",
                    c.metric,
                    c.value,
                    100.0 * c.contribution
                )
            })
            .collect();
        println!(
            "{i} {} {:.4} {} | {}",
            ts[i],
            step.combined,
            members.join(" "),
            top.join(", ")
        );
    }
}
