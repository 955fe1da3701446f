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
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::csv::read_table;
use super::forest::{IsolationForest, IsolationForestParams};
use super::timeparse::parse_timestamp;

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

/// NAB application profile weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: &'static str,
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
}

pub const PROFILES: [Profile; 3] = [
    Profile {
        name: "standard",
        tp: 1.0,
        fp: 0.11,
        fn_: 1.0,
    },
    Profile {
        name: "reward_low_FP",
        tp: 1.0,
        fp: 0.22,
        fn_: 1.0,
    },
    Profile {
        name: "reward_low_FN",
        tp: 1.0,
        fp: 0.11,
        fn_: 2.0,
    },
];

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
pub struct NabResult {
    pub profile: String,
    pub score: f64,
    pub threshold: f64,
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

fn sigma(y: f64) -> f64 {
    if y > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * y).exp()) - 1.0
    }
}

/// Best F1 (no point adjustment) and its threshold over the given (score, label).
fn best_f1(pts: &[(f64, bool)]) -> (f64, f64) {
    let pos = pts.iter().filter(|p| p.1).count();
    if pos == 0 {
        return (0.0, f64::INFINITY);
    }
    let mut s: Vec<(f64, bool)> = pts.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0usize, 0usize);
    let (mut best, mut thr) = (0.0, f64::INFINITY);
    let mut i = 0;
    while i < s.len() {
        let v = s[i].0;
        while i < s.len() && s[i].0 == v {
            if s[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let f1 = 2.0 * tp as f64 / (tp + fp + pos) as f64;
        if f1 > best {
            best = f1;
            thr = v;
        }
    }
    (best, thr)
}

/// ROC-AUC with tied scores counted half.
fn roc_auc(pts: &[(f64, bool)]) -> f64 {
    let mut s: Vec<(f64, bool)> = pts.to_vec();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pos = s.iter().filter(|p| p.1).count() as f64;
    let neg = s.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j < s.len() && s[j].0 == s[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0; // ranks i+1..=j
        rank_sum += avg_rank * s[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Average precision (area under the step-wise PR curve), ties grouped.
fn pr_auc(pts: &[(f64, bool)]) -> f64 {
    let pos = pts.iter().filter(|p| p.1).count() as f64;
    if pos == 0.0 {
        return f64::NAN;
    }
    let mut s: Vec<(f64, bool)> = pts.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut n, mut ap, mut last_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < s.len() {
        let v = s[i].0;
        while i < s.len() && s[i].0 == v {
            tp += s[i].1 as u8 as f64;
            n += 1.0;
            i += 1;
        }
        let recall = tp / pos;
        ap += (recall - last_recall) * (tp / n);
        last_recall = recall;
    }
    ap
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

/// NAB score of the corpus for one profile with the threshold that maximises it.
pub fn nab_score(series: &[Series], prof: &Profile) -> NabResult {
    // Every scored point after probation: (score, series, row).
    struct Pt {
        score: f64,
        window: Option<usize>,
        value: f64,
    }
    let mut pts = vec![];
    let mut n_windows = 0usize;
    for s in series {
        let p = s.probation();
        let wins: Vec<(usize, usize)> = s.windows.iter().filter(|w| w.1 >= p).copied().collect();
        for i in p..s.scores.len() {
            let w = wins.iter().position(|&(l, r)| i >= l && i <= r);
            let value = match w {
                Some(k) => {
                    let (l, r) = wins[k];
                    let width = (r - l + 1) as f64;
                    prof.tp * sigma(-((r - i + 1) as f64) / width)
                }
                None => {
                    let prev = wins.iter().rfind(|w| w.1 < i);
                    let u = match prev {
                        Some(&(l, r)) => sigma((i - r) as f64 / ((r - l) as f64).max(1.0)),
                        None => -1.0,
                    };
                    prof.fp * u
                }
            };
            pts.push(Pt {
                score: s.scores[i],
                window: w.map(|k| n_windows + k),
                value,
            });
        }
        n_windows += wins.len();
    }
    let null = -prof.fn_ * n_windows as f64;
    let perfect = prof.tp * n_windows as f64;
    pts.sort_by(|a, b| b.score.total_cmp(&a.score));
    // Sweep thresholds from high to low, adding detections incrementally.
    let mut best_tp = vec![f64::NEG_INFINITY; n_windows];
    let (mut fp_sum, mut win_sum) = (0.0, null);
    let (mut best, mut best_thr) = (null, f64::INFINITY);
    let mut i = 0;
    while i < pts.len() {
        let v = pts[i].score;
        while i < pts.len() && pts[i].score == v {
            match pts[i].window {
                Some(w) => {
                    if pts[i].value > best_tp[w] {
                        let old = if best_tp[w] == f64::NEG_INFINITY {
                            -prof.fn_
                        } else {
                            best_tp[w]
                        };
                        win_sum += pts[i].value - old;
                        best_tp[w] = pts[i].value;
                    }
                }
                None => fp_sum += pts[i].value,
            }
            i += 1;
        }
        if win_sum + fp_sum > best {
            best = win_sum + fp_sum;
            best_thr = v;
        }
    }
    let score = if perfect > null {
        100.0 * (best - null) / (perfect - null)
    } else {
        f64::NAN
    };
    NabResult {
        profile: prof.name.to_string(),
        score,
        threshold: best_thr,
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            EvalMode::Ensemble => "ensemble (baseline + forest + PCA, calibrated)",
            EvalMode::PlainForest => "plain Isolation Forest over raw values",
        };
        writeln!(f, "detector: {mode}")?;
        if self.protocol == Protocol::Nab {
            writeln!(
                f,
                "protocol: nab (probationary rows as --train, the rest streamed, one dense rank over all series)"
            )?;
        }
        writeln!(
            f,
            "{:<48} {:>6} {:>4} {:>7} {:>7} {:>7} {:>7}",
            "file", "rows", "win", "bestF1", "evRec", "ROC", "PR"
        )?;
        for r in &self.files {
            writeln!(
                f,
                "{:<48} {:>6} {:>4} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
                r.file, r.rows, r.windows, r.best_f1, r.event_recall, r.roc_auc, r.pr_auc
            )?;
        }
        writeln!(
            f,
            "{:<48} {:>6} {:>4} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
            "MEAN (event recall pooled)",
            self.files.iter().map(|r| r.rows).sum::<usize>(),
            self.files.iter().map(|r| r.windows).sum::<usize>(),
            self.mean_f1,
            self.event_recall,
            self.mean_roc_auc,
            self.mean_pr_auc
        )?;
        for (n, o) in self.nab.iter().zip(&self.nab_onsets) {
            writeln!(
                f,
                "NAB {:<14} raw scores {:>7.2} (thr {:.6})   onsets {:>7.2} (thr {:.6})",
                n.profile, n.score, n.threshold, o.score, o.threshold
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_on_a_tiny_hand_made_set() {
        // 20 rows; probation = floor(0.15 * 20) = 3. Window rows 10..=12.
        let mut scores = vec![0.1; 20];
        scores[11] = 0.9; // inside the window
        scores[12] = 0.8; // inside
        scores[15] = 0.85; // false positive, ranks between them
        let mut labels = vec![false; 20];
        labels[10..=12].iter_mut().for_each(|l| *l = true);
        let s = Series {
            name: "t.csv".into(),
            scores,
            ranking: None,
            labels,
            windows: vec![(10, 12)],
        };
        let r = evaluate(std::slice::from_ref(&s), EvalMode::Ensemble);
        let f = &r.files[0];
        // Thresholds: 0.9 -> tp1 fp0: F1 = 2/(1+0+3) = 0.5; 0.85 -> 2/(1+1+3) = 0.4;
        // 0.8 -> tp2 fp1: 4/(2+1+3) = 0.667; 0.1 -> tp3 fp14: 6/(3+14+3) = 0.3.
        assert!((f.best_f1 - 2.0 / 3.0).abs() < 1e-12, "{}", f.best_f1);
        assert_eq!(f.f1_threshold, 0.8);
        assert_eq!(f.event_recall, 1.0);
        // ROC: 3 pos, 14 neg. Pos 0.9 beats 14, 0.8 beats 13, 0.1 ties 13 (6.5) -> 33.5 / 42.
        assert!((f.roc_auc - 33.5 / 42.0).abs() < 1e-12, "{}", f.roc_auc);
        // AP: recall 1/3 at precision 1, 2/3 at 2/3, 1 at 3/17.
        let ap = 1.0 / 3.0 * 1.0 + 1.0 / 3.0 * (2.0 / 3.0) + 1.0 / 3.0 * (3.0 / 17.0);
        assert!((f.pr_auc - ap).abs() < 1e-12, "{}", f.pr_auc);
        // NAB standard: best is threshold 0.9 (TP at row 11: sigma(-2/3)), no FP.
        let n = &r.nab[0];
        let tp = sigma(-2.0 / 3.0);
        assert_eq!(n.threshold, 0.9);
        assert!(
            (n.score - 100.0 * (tp + 1.0) / 2.0).abs() < 1e-9,
            "{}",
            n.score
        );
        // The threshold sweep includes "no detections" (the null detector, 0), so a
        // constant detector never goes below 0; one that flags the window start ~99.
        let mut z = s.clone();
        z.scores = vec![0.0; 20];
        assert!(nab_score(&[z.clone()], &PROFILES[0]).score >= 0.0);
        z.scores[10] = 1.0;
        assert!(nab_score(&[z], &PROFILES[0]).score > 99.0);
    }
}
