//! `cargo run --release -p lookout --example eval [DATA_DIR] [LABELS_JSON]`
//!
//! Evaluates the ensemble under NAB's protocol and online, and a plain Isolation Forest
//! over raw values, on NAB-format data (default: ../shared/data/nab and its realAWSCloudwatch windows).

use std::path::PathBuf;

use lookout::detect::eval::{run_eval_with, Protocol};
use lookout::detect::EvalMode;

fn main() {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(args.next().unwrap_or_else(|| "../shared/data/nab".into()));
    let labels = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| data.join("realAWSCloudwatch_windows.json"));
    let runs = [
        (EvalMode::Ensemble, Protocol::Nab),
        (EvalMode::PlainForest, Protocol::Nab),
        (EvalMode::Ensemble, Protocol::Online),
    ];
    for (mode, protocol) in runs {
        let t = std::time::Instant::now();
        match run_eval_with(&data, &labels, mode, protocol) {
            Ok(r) => println!("{r}(took {:.1} s)\n", t.elapsed().as_secs_f64()),
            Err(e) => {
                eprintln!("eval failed: {e}");
                std::process::exit(2);
            }
        }
    }
}
