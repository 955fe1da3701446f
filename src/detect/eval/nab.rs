//! The NAB score (Lavin & Ahmad 2015) with its three profiles (see [`super`]).

use serde::{Deserialize, Serialize};

use super::Series;

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
pub struct NabResult {
    pub profile: String,
    pub score: f64,
    pub threshold: f64,
}

pub(super) fn sigma(y: f64) -> f64 {
    if y > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * y).exp()) - 1.0
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
