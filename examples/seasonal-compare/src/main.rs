#![allow(dead_code)] // seasonal.rs carries accessors only the product uses
//! The seasonal member's choice (src/detect/seasonal.rs): the product's time-of-day
//! profile (that very file, included by path) against an MSTL decomposition
//! (augurs-mstl's stlrs, periods one hour and one day), on synthetic hosts at 60 s:
//! noise, a nightly backup (02:00-02:20 UTC), optionally an hourly cron job (2 min at
//! :00) and a smooth daily cycle. Both learn three days; day 4 is judged, with the
//! backup and the cron job as usual plus bursts at 14:00 (as high as the backup) and
//! 09:37 (as high as the cron job). A method *separates* a seed when every burst
//! minute scores above every other minute of day 4, i.e. some threshold alarms on the
//! bursts and never on the usual jobs. Prints, per case, the seeds separated, the
//! false-alarm minutes at each method's own rule (profile: outside its band by more
//! than one band width; MSTL: |remainder| over 6 robust sd of its training
//! remainder) and the cost.

#[path = "../../../src/detect/seasonal.rs"]
mod seasonal;

use augurs_mstl::stlrs::MstlParams;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use seasonal::{SeasonalParams, SeasonalProfile};
use std::time::Instant;

const DAY: usize = 1440;
const SEEDS: u64 = 10;

struct Case {
    name: &'static str,
    cron: bool,
    cycle: f64,
}

fn series(case: &Case, seed: u64) -> (Vec<f64>, Vec<bool>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut x = Vec::with_capacity(4 * DAY);
    let mut burst = Vec::with_capacity(4 * DAY);
    for i in 0..4 * DAY {
        let tod = i % DAY;
        let noise = (0..12).map(|_| rng.gen::<f64>()).sum::<f64>() - 6.0;
        let cycle = case.cycle * (2.0 * std::f64::consts::PI * tod as f64 / DAY as f64).sin();
        let mut v = 10.0 + cycle + noise;
        if (120..140).contains(&tod) {
            v += 80.0;
        }
        if case.cron && tod % 60 < 2 {
            v += 30.0;
        }
        let day4 = i >= 3 * DAY;
        let b_high = day4 && (840..850).contains(&tod);
        let b_cron = day4 && case.cron && (577..579).contains(&tod);
        if b_high {
            v += 80.0;
        }
        if b_cron {
            v += 30.0;
        }
        x.push(v);
        burst.push(b_high || b_cron);
    }
    (x, burst)
}

/// Day-4 scores of the profile (band widths outside its band), and its cost per sample.
fn profile_scores(x: &[f64]) -> (Vec<f64>, f64) {
    let mut p = SeasonalProfile::new(1, SeasonalParams::default());
    let t = Instant::now();
    let mut out = Vec::with_capacity(DAY);
    for (i, v) in x.iter().enumerate() {
        let verdict = p.observe(i as i64 * 60_000, &[*v]);
        if i >= 3 * DAY {
            out.push(verdict.map_or(0.0, |v| v.excess));
        }
    }
    (out, t.elapsed().as_secs_f64() / x.len() as f64)
}

/// Day-4 scores of MSTL fitted on days 1-3: |x - (last trend + seasonal components a
/// period earlier)| over the robust sd of the training remainder; and the fit time.
fn mstl_scores(x: &[f64]) -> Option<(Vec<f64>, f64)> {
    let train: Vec<f32> = x[..3 * DAY].iter().map(|v| *v as f32).collect();
    let t = Instant::now();
    let fit = MstlParams::new().fit(&train, &[60, DAY]).ok()?;
    let secs = t.elapsed().as_secs_f64();
    let mut rem: Vec<f64> = fit.remainder().iter().map(|v| v.abs() as f64).collect();
    rem.sort_by(f64::total_cmp);
    let sd = (1.4826 * rem[rem.len() / 2]).max(1e-9);
    let trend = *fit.trend().last()? as f64;
    let periods = [60usize, DAY];
    let scores = (3 * DAY..4 * DAY)
        .map(|i| {
            let season: f64 = fit
                .seasonal()
                .iter()
                .zip(periods)
                .map(|(s, p)| {
                    // The same phase in the last fitted period.
                    let j = i - p * ((i - 3 * DAY) / p + 1);
                    s[j] as f64
                })
                .sum();
            (x[i] - trend - season).abs() / sd
        })
        .collect();
    Some((scores, secs))
}

/// (separated, false-alarm minutes at `rule`)
fn judge(scores: &[f64], burst: &[bool], rule: f64) -> (bool, usize) {
    let min_burst = scores
        .iter()
        .zip(burst)
        .filter(|(_, b)| **b)
        .map(|(s, _)| *s)
        .fold(f64::INFINITY, f64::min);
    let max_other = scores
        .iter()
        .zip(burst)
        .filter(|(_, b)| !**b)
        .map(|(s, _)| *s)
        .fold(0.0, f64::max);
    let fp = scores
        .iter()
        .zip(burst)
        .filter(|(s, b)| !**b && **s > rule)
        .count();
    (min_burst > max_other, fp)
}

fn main() {
    let cases = [
        Case {
            name: "nightly backup",
            cron: false,
            cycle: 0.0,
        },
        Case {
            name: "backup + hourly cron",
            cron: true,
            cycle: 0.0,
        },
        Case {
            name: "backup + cron + daily cycle (amplitude 5 sd)",
            cron: true,
            cycle: 5.0,
        },
    ];
    println!("{SEEDS} seeds per case, 60 s samples, 3 days learnt, day 4 judged");
    for c in &cases {
        let (mut p_sep, mut p_fp, mut p_cost) = (0, 0, 0.0);
        let (mut m_sep, mut m_fp, mut m_cost, mut m_fail) = (0, 0, 0.0, 0);
        for seed in 0..SEEDS {
            let (x, burst) = series(c, seed);
            let day4 = &burst[3 * DAY..];
            let (s, cost) = profile_scores(&x);
            let (sep, fp) = judge(&s, day4, 1.0);
            p_sep += sep as usize;
            p_fp += fp;
            p_cost += cost / SEEDS as f64;
            match mstl_scores(&x) {
                Some((s, secs)) => {
                    let (sep, fp) = judge(&s, day4, 6.0);
                    m_sep += sep as usize;
                    m_fp += fp;
                    m_cost += secs / SEEDS as f64;
                }
                None => m_fail += 1,
            }
        }
        println!(
            "{:<46} profile: separated {p_sep}/{SEEDS}, false-alarm minutes {p_fp}, {:.2} us/sample (no refit)",
            c.name,
            p_cost * 1e6
        );
        println!(
            "{:<46} MSTL:    separated {m_sep}/{SEEDS}, false-alarm minutes {m_fp}, fit on 3 days {:.1} ms per metric{}",
            "",
            m_cost * 1e3,
            if m_fail > 0 {
                format!(", {m_fail} fits failed")
            } else {
                String::new()
            }
        );
    }
}
