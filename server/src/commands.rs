//! The offline sub-commands: `detect`, `eval` and `model ...`. Each returns the
//! process exit code: 0 success, 1 failure, 2 bad input or usage.

use crate::config::Settings;
use crate::runtime::now_ms;
use lookout::detect::{
    run_detect, run_eval, train_excluding, EvalMode, ModelRegistry, TrainParams,
};
use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

fn fail(code: u8, msg: impl std::fmt::Display) -> u8 {
    eprintln!("lookout: {msg}");
    code
}

/// `lookout detect [--train TRAIN.csv] < TEST.csv > SCORES.csv`
pub fn detect(train_file: Option<&Path>) -> u8 {
    let train_input = match train_file.map(File::open).transpose() {
        Ok(f) => f.map(BufReader::new),
        Err(e) => return fail(2, format!("cannot read --train file: {e}")),
    };
    let stdin = io::stdin().lock();
    let stdout = io::stdout().lock();
    match run_detect(train_input, stdin, stdout) {
        Ok(()) => 0,
        Err(e) => fail(2, e),
    }
}

/// `lookout eval --data DIR --labels LABELS.json [--plain-forest]`
pub fn eval(data: &Path, labels: &Path, plain_forest: bool) -> u8 {
    let mode = if plain_forest {
        EvalMode::PlainForest
    } else {
        EvalMode::Ensemble
    };
    match run_eval(data, labels, mode) {
        Ok(report) => {
            println!("{report}");
            0
        }
        Err(e) => fail(2, e),
    }
}

fn registry(settings: &Settings) -> Result<ModelRegistry, u8> {
    ModelRegistry::open(&settings.detector.models_dir, settings.detector.keep_models).map_err(|e| {
        fail(
            1,
            format!(
                "cannot open models folder {}: {e}",
                settings.detector.models_dir.display()
            ),
        )
    })
}

/// `lookout model list`
pub fn model_list(settings: &Settings) -> u8 {
    let reg = match registry(settings) {
        Ok(r) => r,
        Err(c) => return c,
    };
    let (infos, warnings) = reg.list();
    for w in warnings {
        eprintln!("warning: {w}");
    }
    if infos.is_empty() {
        println!("no models in {}", settings.detector.models_dir.display());
        return 0;
    }
    println!(
        "{:>7}  {:<24}  {:>9}  {:<20}  file",
        "version", "trained at (UTC)", "samples", "members"
    );
    for i in infos {
        println!(
            "{:>7}  {:<24}  {:>9}  {:<20}  {}{}",
            format!("v{}", i.version),
            utc(i.trained_at),
            i.samples,
            i.members.join(","),
            i.path.display(),
            i.rolled_back_from
                .map(|v| format!(" (rollback of v{v})"))
                .unwrap_or_default()
        );
    }
    0
}

/// `lookout model show VERSION`: the metadata as JSON (no model weights).
pub fn model_show(settings: &Settings, version: u64) -> u8 {
    let reg = match registry(settings) {
        Ok(r) => r,
        Err(c) => return c,
    };
    match reg.load(version) {
        Ok(m) => {
            let meta = serde_json::json!({
                "version": m.version,
                "format_version": m.format_version,
                "trained_at": m.trained_at,
                "trained_at_utc": utc(m.trained_at),
                "window": [m.window.0, m.window.1],
                "samples": m.samples,
                "metrics": m.metrics,
                "features": m.features,
                "members": m.member_names(),
                "params": m.params,
                "calibration": m.calibration,
                "bands": m.bands,
                "expected": m.expected,
                "eval": m.eval,
                "rolled_back_from": m.rolled_back_from,
                "warnings": m.warnings,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&meta).unwrap_or_default()
            );
            0
        }
        Err(e) => fail(1, format!("model v{version}: {e}")),
    }
}

/// `lookout model rollback VERSION`: the old version becomes the newest; a running
/// server switches to it within 30 s.
pub fn model_rollback(settings: &Settings, version: u64) -> u8 {
    let reg = match registry(settings) {
        Ok(r) => r,
        Err(c) => return c,
    };
    match reg.rollback(version) {
        Ok(m) => {
            println!("rolled back: v{} is now a copy of v{version}", m.version);
            0
        }
        Err(e) => fail(1, format!("cannot roll back to v{version}: {e}")),
    }
}

/// `lookout model train`: trains on the store's recent window and saves a version;
/// a running server picks it up within 30 s.
pub fn model_train(settings: &Settings) -> u8 {
    let reg = match registry(settings) {
        Ok(r) => r,
        Err(c) => return c,
    };
    let store = match crate::open_store(settings) {
        Ok(s) => s,
        Err(e) => return fail(1, e),
    };
    let now = now_ms();
    let from = now - settings.detector.training_window.as_millis() as i64;
    let rows = match store.raw_range(from, now) {
        Ok(r) => r,
        Err(e) => return fail(1, format!("cannot read samples: {e}")),
    };
    let expected = match crate::detector::expected_intervals(&store, from, now) {
        Ok(e) => e,
        Err(e) => return fail(1, format!("cannot read events: {e}")),
    };
    let anomalous = match crate::detector::anomalous_intervals(&store, from, now) {
        Ok(e) => e,
        Err(e) => return fail(1, format!("cannot read events: {e}")),
    };
    let params = TrainParams {
        members: settings.detector.members,
        ..TrainParams::default()
    };
    let started = std::time::Instant::now();
    let mut model = match train_excluding(&rows, &expected, &anomalous, &params) {
        Ok(m) => m,
        Err(e) => return fail(1, format!("training failed: {e}")),
    };
    match reg.save(&mut model) {
        Ok(v) => {
            let _ = reg.prune();
            println!(
                "trained v{v} on {} samples in {:.2} s ({})",
                model.samples,
                started.elapsed().as_secs_f64(),
                model.member_names().join(", ")
            );
            0
        }
        Err(e) => fail(1, format!("cannot save the model: {e}")),
    }
}

/// Milliseconds since the epoch as "YYYY-MM-DD HH:MM:SS" (UTC).
pub fn utc(ms: i64) -> String {
    let t = lookout::alert::render::format_time(ms);
    t.trim_end_matches(" UTC").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(super::utc(1_795_623_471_073), "2026-11-25 16:17:51");
    }
}
