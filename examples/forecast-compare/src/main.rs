#![allow(dead_code)] // trend.rs and interval.rs carry helpers only the product uses
//! Time-to-full errors of the product's robust trend (the very files
//! `src/forecast/trend.rs` and `interval.rs`, included by path) against augurs'
//! AutoETS and MSTL + AutoETS, on synthetic disks: a linear fill plus noise, a daily
//! cycle and a log-rotation saw-tooth, 20 seeds per case. The truth is the linear
//! part (plus the saw-tooth's mean) reaching 100. Prints one line per case and model.

// At the crate root, so trend.rs's `super::interval` finds interval.rs.
#[path = "../../../src/forecast/interval.rs"]
mod interval;
#[path = "../../../src/forecast/trend.rs"]
mod trend;
// The synthetic disks of the forecast's own accuracy tests.
#[path = "../../../src/forecast/synthetic.rs"]
mod synthetic;

use augurs_core::{Fit, Predict};
use augurs_ets::{trend::AutoETSTrendModel, AutoETS};
use augurs_mstl::MSTLModel;
use std::time::Instant;
use synthetic::{Synth, DAY, HOUR};

struct Case {
    name: &'static str,
    disk: Synth,
    history: i64,
    horizon: i64,
    /// MSTL's seasonal period (ms), when the history holds two of them.
    period: Option<i64>,
}

/// Hours until the first forecast step at or over 100 (None: not within `steps`).
fn crossing(points: &[f64], width_ms: i64, lag_ms: i64) -> Option<f64> {
    let i = points.iter().position(|v| *v >= 100.0)?;
    Some(((i as i64 + 1) * width_ms - lag_ms) as f64 / HOUR as f64)
}

fn main() {
    let cases = [
        Case {
            name: "1h of history, 2 %/h, small cycle",
            disk: Synth {
                start: 40.0,
                rate: 2.0,
                cycle: 0.2,
                tooth: 0.0,
                tooth_every: 0,
                noise: 0.1,
                step_ms: 5_000,
            },
            history: HOUR + 60_000,
            horizon: 4 * HOUR,
            period: None,
        },
        Case {
            name: "1h of history, 10 %/h, small cycle",
            disk: Synth {
                start: 40.0,
                rate: 10.0,
                cycle: 0.2,
                tooth: 0.0,
                tooth_every: 0,
                noise: 0.1,
                step_ms: 5_000,
            },
            history: HOUR + 60_000,
            horizon: 4 * HOUR,
            period: None,
        },
        Case {
            name: "12h, 0.5 %/h, 2h rotation saw-tooth",
            disk: Synth {
                start: 30.0,
                rate: 0.5,
                cycle: 0.05,
                tooth: 2.0,
                tooth_every: 2 * HOUR,
                noise: 0.1,
                step_ms: 10_000,
            },
            history: 12 * HOUR,
            horizon: 4 * HOUR,
            period: Some(2 * HOUR),
        },
        Case {
            name: "12h, 2 %/h, 2h rotation saw-tooth",
            disk: Synth {
                start: 30.0,
                rate: 2.0,
                cycle: 0.05,
                tooth: 2.0,
                tooth_every: 2 * HOUR,
                noise: 0.1,
                step_ms: 10_000,
            },
            history: 12 * HOUR,
            horizon: 4 * HOUR,
            period: Some(2 * HOUR),
        },
        Case {
            name: "3d, 0.3 %/h, big daily cycle + daily rotation",
            disk: Synth {
                start: 20.0,
                rate: 0.3,
                cycle: 3.0,
                tooth: 4.0,
                tooth_every: DAY,
                noise: 0.3,
                step_ms: 60_000,
            },
            history: 3 * DAY,
            horizon: DAY,
            period: Some(DAY),
        },
        Case {
            name: "3d, 0.5 %/h, big daily cycle + daily rotation",
            disk: Synth {
                start: 20.0,
                rate: 0.5,
                cycle: 3.0,
                tooth: 4.0,
                tooth_every: DAY,
                noise: 0.3,
                step_ms: 60_000,
            },
            history: 3 * DAY,
            horizon: DAY,
            period: Some(DAY),
        },
    ];
    let now = 10 * DAY;
    println!("model | case | truth | median error | worst error | no crossing | ms per fit");
    for c in &cases {
        let truth = c.disk.truth_hours(c.history);
        let lookback = (3 * c.horizon).clamp(6 * HOUR, 7 * DAY);
        let width = (lookback / trend::MAX_BUCKETS as i64).max(60_000);
        let mut errs: [Vec<f64>; 3] = Default::default();
        let mut misses = [0usize; 3];
        let mut ms = [0f64; 3];
        for seed in 0..20 {
            let pts = c.disk.points(c.history, now, seed);
            let first = pts[0].0;
            let buckets = trend::bucket_medians(&pts, first, width);
            let lag = now - buckets[buckets.len() - 1].0;
            let y: Vec<f64> = buckets.iter().map(|b| b.1).collect();
            let steps = ((truth * 20.0 * HOUR as f64) / width as f64) as usize;
            // 0: the product's robust trend.
            let t0 = Instant::now();
            let robust = trend::fit(&buckets, width, now)
                .filter(|t| t.slope > 0.0)
                .map(|t| (100.0 - t.level) / t.slope / HOUR as f64);
            ms[0] += t0.elapsed().as_secs_f64() * 1000.0;
            // 1: AutoETS, no season.
            let t1 = Instant::now();
            let ets = AutoETS::non_seasonal()
                .fit(&y)
                .ok()
                .and_then(|m| m.predict(steps, None).ok())
                .and_then(|f| crossing(&f.point, width, lag));
            ms[1] += t1.elapsed().as_secs_f64() * 1000.0;
            // 2: MSTL (the case's period) with an AutoETS trend.
            let t2 = Instant::now();
            let mstl = c.period.and_then(|p| {
                let period = (p / width) as usize;
                if y.len() < 2 * period {
                    return None;
                }
                let trend_model: AutoETSTrendModel = AutoETS::non_seasonal().into();
                MSTLModel::new(vec![period], trend_model)
                    .fit(&y)
                    .ok()
                    .and_then(|m| m.predict(steps, None).ok())
                    .and_then(|f| crossing(&f.point, width, lag))
            });
            ms[2] += t2.elapsed().as_secs_f64() * 1000.0;
            for (k, got) in [robust, ets, mstl].into_iter().enumerate() {
                match got {
                    Some(h) => errs[k].push((h - truth).abs() / truth),
                    None => misses[k] += 1,
                }
            }
        }
        for (k, name) in ["robust trend", "AutoETS", "MSTL+AutoETS"]
            .iter()
            .enumerate()
        {
            if k == 2 && c.period.is_none_or(|p| c.history < 2 * p) {
                println!(
                    "{name} | {} | {truth:.1} h | n/a (under two periods of history) | | |",
                    c.name
                );
                continue;
            }
            let mut e = errs[k].clone();
            e.sort_by(f64::total_cmp);
            let (med, worst) = if e.is_empty() {
                (f64::NAN, f64::NAN)
            } else {
                (e[e.len() / 2], e[e.len() - 1])
            };
            println!(
                "{name} | {} | {truth:.1} h | {:.1} % | {:.1} % | {}/20 | {:.2}",
                c.name,
                med * 100.0,
                worst * 100.0,
                misses[k],
                ms[k] / 20.0
            );
        }
    }
}
