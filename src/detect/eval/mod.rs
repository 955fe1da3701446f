//! Evaluation over NAB-format labelled series: `lookout eval --data DIR --labels L.json`.
//!
//! Each file is scored causally by `lookout detect`'s own code (the server's pipeline,
//! [`super::LiveDetector`], on the stream's time): without `--train` under
//! [`Protocol::Online`], with the probationary rows as `--train` under [`Protocol::Nab`]. Figures, all computed on the
//! rows after NAB's probationary period min(floor(0.15 n), 750), where the detector is
//! still learning and NAB ignores detections:
//! - best F1 over all thresholds, point-wise, without point adjustment;
//! - event recall at that threshold (share of label windows with a detection);
//! - ROC-AUC (Mann-Whitney, ties averaged) and PR-AUC (average precision);
//! - the NAB score (Lavin & Ahmad 2015) for the standard, reward_low_FP and
//!   reward_low_FN profiles: inside a window only the first detection counts, worth
//!   A_TP * sigma(position) with sigma(y) = 2 / (1 + e^(5y)) - 1 and position
//!   -(right - i + 1) / width; a detection outside windows costs A_FP * sigma of its
//!   relative distance past the previous window (-A_FP if none); a missed window
//!   costs A_FN. As NAB does, one threshold per profile is chosen to maximise the
//!   corpus total, and scores are normalised to 100 * (S - S_null) / (S_perfect -
//!   S_null) with S_null = -A_FN * windows (no detections) and S_perfect = A_TP *
//!   windows. NAB's own scorer is the reference for published numbers.
//!
//! [`EvalMode::PlainForest`] scores a plain Isolation Forest over the raw values (same
//! causal refit schedule, no features, no calibration, no baseline), so the gain of
//! the ensemble is visible on the same data.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::csv::read_table;
use super::forest::{IsolationForest, IsolationForestParams};
use super::timeparse::parse_timestamp;

mod metrics;
mod nab;
mod report;
#[cfg(test)]
mod tests;

use metrics::{best_f1, pr_auc, roc_auc};
pub use nab::{nab_score, NabResult, Profile, PROFILES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalMode {
    Ensemble,
    PlainForest,
}

/// How each series is fed to the detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// The whole series on the stream, learnt online (`lookout detect` without `--train`).
    #[default]
    Online,
    /// NAB's protocol as the product is judged by: the probationary rows
    /// (min(floor(0.15 n), 750)) are the `--train` file, the rest is the stream
    /// (`lookout detect --train`), and every row's score is mapped to [0, 1] by one dense
    /// rank over all rows of all series before NAB's threshold sweep.
    Nab,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("labels {path}: {message}")]
    Labels { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Csv {
        path: PathBuf,
        source: super::csv::CsvError,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no labelled file could be evaluated")]
    Empty,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileResult {
    pub file: String,
    pub rows: usize,
    pub windows: usize,
    pub best_f1: f64,
    pub f1_threshold: f64,
    pub event_recall: f64,
    pub roc_auc: f64,
    pub pr_auc: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub mode: EvalMode,
    pub protocol: Protocol,
    pub files: Vec<FileResult>,
    pub mean_f1: f64,
    pub mean_roc_auc: f64,
    pub mean_pr_auc: f64,
    /// Windows detected at each file's best-F1 threshold / all windows.
    pub event_recall: f64,
    /// NAB on the raw scores (every row over the threshold is a detection).
    pub nab: Vec<NabResult>,
    /// NAB on the onset series (see [`onsets`]).
    pub nab_onsets: Vec<NabResult>,
    pub warnings: Vec<String>,
}

/// One scored, labelled series (the scorer-independent part of the evaluation).
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    /// The alarm signal NAB thresholds (`lookout detect`'s score column).
    pub scores: Vec<f64>,
    /// The ranking signal for best F1, ROC-AUC and PR-AUC when it differs from the
    /// alarm signal (the ensemble's surprise; the alarm score is 0 off onsets, so it
    /// cannot rank the rows of an ongoing anomaly above normal ones).
    pub ranking: Option<Vec<f64>>,
    pub labels: Vec<bool>,
    /// Label windows as inclusive row ranges.
    pub windows: Vec<(usize, usize)>,
}

impl Series {
    pub fn probation(&self) -> usize {
        ((0.15 * self.scores.len() as f64).floor() as usize).min(750)
    }
}

/// Runs the detector over every labelled file and computes the figures.
pub fn run_eval(
    data_dir: &Path,
    labels_json: &Path,
    mode: EvalMode,
) -> Result<EvalReport, EvalError> {
    run_eval_with(data_dir, labels_json, mode, Protocol::Online)
}

/// [`run_eval`] under the given [`Protocol`].
pub fn run_eval_with(
    data_dir: &Path,
    labels_json: &Path,
    mode: EvalMode,
    protocol: Protocol,
) -> Result<EvalReport, EvalError> {
    let lerr = |m: String| EvalError::Labels {
        path: labels_json.to_path_buf(),
        message: m,
    };
    let text = std::fs::read_to_string(labels_json).map_err(|e| lerr(e.to_string()))?;
    let labels: BTreeMap<String, Vec<Vec<String>>> =
        serde_json::from_str(&text).map_err(|e| lerr(e.to_string()))?;
    let mut series = vec![];
    let mut warnings = vec![];
    for (name, wins) in &labels {
        let path = data_dir.join(name);
        let f = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                warnings.push(format!("{}: skipped: {e}", path.display()));
                continue;
            }
        };
        let (_, ts, rows) = read_table(f, "input").map_err(|e| EvalError::Csv {
            path: path.clone(),
            source: e,
        })?;
        let times: Vec<Option<i64>> = ts.iter().map(|t| parse_timestamp(t)).collect();
        let mut windows = vec![];
        for w in wins {
            let (Some(a), Some(b)) = (
                w.first().and_then(|s| parse_timestamp(s)),
                w.get(1).and_then(|s| parse_timestamp(s)),
            ) else {
                return Err(lerr(format!("{name}: bad window {w:?}")));
            };
            let idx: Vec<usize> = (0..times.len())
                .filter(|&i| times[i].is_some_and(|t| t >= a && t <= b))
                .collect();
            if let (Some(&l), Some(&r)) = (idx.first(), idx.last()) {
                windows.push((l, r));
            }
        }
        let mut labels = vec![false; rows.len()];
        for &(l, r) in &windows {
            labels[l..=r].iter_mut().for_each(|x| *x = true);
        }
        let split = match protocol {
            Protocol::Online => 0,
            Protocol::Nab => ((0.15 * rows.len() as f64).floor() as usize).min(750),
        };
        let (scores, ranking) = match (protocol, mode) {
            (Protocol::Online, EvalMode::PlainForest) => (plain_forest_online(&rows), None),
            _ => score_split_ranked(&ts, &rows, split, mode).map_err(|e| EvalError::Csv {
                path: path.clone(),
                source: e,
            })?,
        };
        series.push(Series {
            name: name.clone(),
            scores,
            ranking,
            labels,
            windows,
        });
    }
    if series.is_empty() {
        return Err(EvalError::Empty);
    }
    if protocol == Protocol::Nab {
        dense_rank(&mut series);
    }
    let mut report = evaluate(&series, mode);
    report.protocol = protocol;
    report.warnings.extend(warnings);
    Ok(report)
}

/// The seed's plain Isolation Forest over raw values, learning online: refitted on the
/// past rows at rows 256, 512, ..., 4096 and every 4096 after that (at most 8192 rows).
pub fn plain_forest_online(rows: &[Vec<f64>]) -> Vec<f64> {
    let width = rows.first().map_or(1, |r| r.len());
    let mut forest: Option<IsolationForest> = None;
    let mut next = 256;
    let mut out = Vec::with_capacity(rows.len());
    let clean = |v: f64| if v.is_finite() { v } else { 0.0 };
    for (i, r) in rows.iter().enumerate() {
        let c: Vec<f64> = r.iter().map(|v| clean(*v)).collect();
        out.push(forest.as_ref().map_or(0.0, |f| f.score_row(&c)));
        if i + 1 == next {
            let from = (i + 1).saturating_sub(8192);
            let x = ndarray::Array2::from_shape_fn((i + 1 - from, width), |(a, b)| {
                clean(rows[from + a][b])
            });
            forest = IsolationForestParams::default().fit_array(x.view()).ok();
            next = if next < 4096 { next * 2 } else { next + 4096 };
        }
    }
    out
}

/// Scores `rows[split..]` as `lookout detect --train` does, with `rows[..split]` as the
/// training file; the training rows get score 0. The rows go through the same CSV
/// reader and writer as the command, so the figures are the product's.
pub fn score_split(
    ts: &[String],
    rows: &[Vec<f64>],
    split: usize,
    mode: EvalMode,
) -> Result<Vec<f64>, super::csv::CsvError> {
    score_split_ranked(ts, rows, split, mode).map(|r| r.0)
}

/// [`score_split`], with the surprise column too for the ensemble: (scores, surprises).
pub fn score_split_ranked(
    ts: &[String],
    rows: &[Vec<f64>],
    split: usize,
    mode: EvalMode,
) -> Result<(Vec<f64>, Option<Vec<f64>>), super::csv::CsvError> {
    let split = split.min(rows.len());
    let mut out = vec![0.0; split];
    let mut ranking = None;
    match mode {
        EvalMode::Ensemble => {
            let width = rows.first().map_or(1, |r| r.len());
            let table = |range: std::ops::Range<usize>| {
                let mut s = String::from("timestamp");
                for i in 0..width {
                    s.push_str(&format!(",v{i}"));
                }
                s.push('\n');
                for i in range {
                    s.push_str(&ts[i].replace(',', " "));
                    for v in &rows[i] {
                        if v.is_finite() {
                            s.push_str(&format!(",{v}"));
                        } else {
                            s.push(',');
                        }
                    }
                    s.push('\n');
                }
                s
            };
            let test = table(split..rows.len());
            let train = (split > 0).then(|| table(0..split));
            let mut scored = Vec::new();
            super::csv::run_detect_with(
                train.as_ref().map(|t| t.as_bytes()),
                test.as_bytes(),
                &mut scored,
                &super::csv::DetectOptions {
                    surprise: true,
                    ..Default::default()
                },
            )?;
            let text = String::from_utf8_lossy(&scored);
            // The last two columns: score, surprise (the timestamp may hold commas).
            // An infinite surprise is the rarest state there is: it ranks at the top
            // (read as 0 it hid such rows from the figures); only a NaN or an empty
            // cell is no score.
            let col = |l: &str, k: usize| {
                l.rsplit(',')
                    .nth(k)
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|v| !v.is_nan())
                    .unwrap_or(0.0)
            };
            let mut rank = vec![0.0; split];
            for l in text.lines().skip(1) {
                out.push(col(l, 1));
                rank.push(col(l, 0));
            }
            rank.resize(rows.len(), 0.0);
            ranking = Some(rank);
        }
        EvalMode::PlainForest => {
            // The seed's plain forest: trained once on the probationary rows, frozen.
            let width = rows.first().map_or(1, |r| r.len());
            let clean = |v: f64| if v.is_finite() { v } else { 0.0 };
            let x = ndarray::Array2::from_shape_fn((split, width), |(a, b)| clean(rows[a][b]));
            let forest = IsolationForestParams::default().fit_array(x.view()).ok();
            out.extend(rows[split..].iter().map(|r| {
                let r: Vec<f64> = r.iter().map(|v| clean(*v)).collect();
                forest.as_ref().map_or(0.0, |f| f.score_row(&r))
            }));
        }
    }
    out.resize(rows.len(), 0.0);
    Ok((out, ranking))
}

/// Maps every score after probation to [0, 1] by one dense rank over all series
/// together (equal scores share a rank); probationary rows get 0.
pub fn dense_rank(series: &mut [Series]) {
    let mut all: Vec<f64> = series
        .iter()
        .flat_map(|s| s.scores[s.probation()..].iter().copied())
        .filter(|v| !v.is_nan())
        .collect();
    all.sort_by(f64::total_cmp);
    all.dedup();
    let top = (all.len().max(2) - 1) as f64;
    for s in series.iter_mut() {
        let p = s.probation();
        for (i, v) in s.scores.iter_mut().enumerate() {
            *v = if i < p || v.is_nan() {
                0.0
            } else {
                all.partition_point(|x| x < v) as f64 / top
            };
        }
    }
}

/// Rows a score must have been lower for before a rise counts as a new detection.
/// NAB counts every row over the threshold as a separate detection, so a detector
/// whose score stays high for the length of an anomaly pays one false positive per
/// row, while NAB's reference detectors emit one spike per alert. The onset series
/// keeps a score only where it exceeds every score of the previous `ONSET_GAP` rows
/// (causal, threshold-free), i.e. an alert's first sample, which is what
/// [`super::events`] turns into an event live. 12 rows is the same order as the event
/// logic's memory (an hour at NAB's 5 minutes, a minute at 5 s); it was fixed before
/// looking at any NAB figure and both figures are reported.
pub const ONSET_GAP: usize = 12;

/// See [`ONSET_GAP`].
pub fn onsets(scores: &[f64], gap: usize) -> Vec<f64> {
    (0..scores.len())
        .map(|i| {
            let prev = scores[i.saturating_sub(gap)..i]
                .iter()
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max);
            if scores[i] > prev {
                scores[i]
            } else {
                0.0
            }
        })
        .collect()
}

/// Computes all figures from scored series (scorer-independent; unit-tested).
pub fn evaluate(series: &[Series], mode: EvalMode) -> EvalReport {
    let mut files = vec![];
    let (mut det_windows, mut all_windows) = (0usize, 0usize);
    for s in series {
        let p = s.probation();
        let rank = s.ranking.as_ref().unwrap_or(&s.scores);
        let pts: Vec<(f64, bool)> = (p..s.scores.len())
            .map(|i| (rank[i], s.labels[i]))
            .collect();
        let (f1, thr) = best_f1(&pts);
        let wins: Vec<(usize, usize)> = s
            .windows
            .iter()
            .filter(|w| w.1 >= p)
            .map(|&(l, r)| (l.max(p), r))
            .collect();
        let detected = wins
            .iter()
            .filter(|&&(l, r)| (l..=r).any(|i| rank[i] >= thr))
            .count();
        det_windows += detected;
        all_windows += wins.len();
        files.push(FileResult {
            file: s.name.clone(),
            rows: s.scores.len(),
            windows: wins.len(),
            best_f1: f1,
            f1_threshold: thr,
            event_recall: if wins.is_empty() {
                f64::NAN
            } else {
                detected as f64 / wins.len() as f64
            },
            roc_auc: roc_auc(&pts),
            pr_auc: pr_auc(&pts),
        });
    }
    let mean = |f: &dyn Fn(&FileResult) -> f64| {
        let v: Vec<f64> = files.iter().map(f).filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    EvalReport {
        mode,
        protocol: Protocol::Online,
        mean_f1: mean(&|f| f.best_f1),
        mean_roc_auc: mean(&|f| f.roc_auc),
        mean_pr_auc: mean(&|f| f.pr_auc),
        event_recall: if all_windows == 0 {
            f64::NAN
        } else {
            det_windows as f64 / all_windows as f64
        },
        nab: PROFILES.iter().map(|p| nab_score(series, p)).collect(),
        nab_onsets: {
            let on: Vec<Series> = series
                .iter()
                .map(|s| Series {
                    scores: onsets(&s.scores, ONSET_GAP),
                    ..s.clone()
                })
                .collect();
            PROFILES.iter().map(|p| nab_score(&on, p)).collect()
        },
        files,
        warnings: vec![],
    }
}
