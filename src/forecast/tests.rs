//! Accuracy on series with a known fill rate: a linear fill plus noise, a daily
//! cycle and a log-rotation saw-tooth. The predicted time to full must be within
//! 10 % of the truth (the linear part reaching the size) once 1 h of trend is
//! there. `cargo test -p lookout --lib forecast:: -- --nocapture` prints the errors.

use super::synthetic::{Synth, DAY, HOUR};
use super::*;

fn disk() -> Subject {
    Subject::filesystem("/synthetic", 100.0)
}

/// Runs `synth` over several seeds; returns the worst relative error.
fn worst_error(name: &str, synth: &Synth, history: i64, horizon: i64) -> f64 {
    let now = 10 * DAY;
    let mut worst = 0.0f64;
    let mut covered = 0;
    let seeds = 20;
    for seed in 0..seeds {
        let pts = synth.points(history, now, seed);
        let f = forecast(&disk(), &pts, now, horizon);
        assert_eq!(f.status, ForecastStatus::Reaches, "{name}: {}", f.message);
        let got = f.time_to_bound_secs.unwrap() / 3600.0;
        let truth = synth.truth_hours(history);
        worst = worst.max((got - truth).abs() / truth);
        let lo = f.time_to_bound_low_secs.unwrap() / 3600.0;
        let hi = f.time_to_bound_high_secs.unwrap_or(f64::INFINITY) / 3600.0;
        covered += usize::from(lo <= truth && truth <= hi);
    }
    println!(
        "FORECAST-ACCURACY {name}: truth {:.1} h, worst error {:.1} %, interval covers truth {covered}/{seeds}",
        synth.truth_hours(history),
        worst * 100.0
    );
    worst
}

#[test]
fn one_hour_of_trend_gives_time_to_full_within_10_percent() {
    for rate in [2.0, 5.0, 10.0] {
        let s = Synth {
            start: 40.0,
            rate,
            cycle: 0.2,
            tooth: 0.0,
            tooth_every: 0,
            noise: 0.1,
            step_ms: 5_000,
        };
        let e = worst_error(
            &format!("1h, {rate} %/h, noise, cycle"),
            &s,
            HOUR + 60_000,
            4 * HOUR,
        );
        assert!(e < 0.10, "rate {rate}: {:.1} %", e * 100.0);
    }
}

#[test]
fn days_of_history_cancel_a_large_daily_cycle_and_daily_rotation() {
    for rate in [0.1, 0.3, 0.5] {
        let s = Synth {
            start: 20.0,
            rate,
            cycle: 3.0,
            tooth: 4.0,
            tooth_every: DAY,
            noise: 0.3,
            step_ms: 60_000,
        };
        let e = worst_error(
            &format!("3d, {rate} %/h, big cycle, daily rotation"),
            &s,
            3 * DAY,
            DAY,
        );
        assert!(e < 0.10, "rate {rate}: {:.1} %", e * 100.0);
    }
}

#[test]
fn hourly_rotation_saw_tooth_does_not_bend_the_trend() {
    for rate in [0.5, 2.0] {
        let s = Synth {
            start: 30.0,
            rate,
            // Over 12 h a daily cycle is a slope no model can tell from the fill:
            // keep it small here (its slope is at most 2 pi 0.05 / 24 = 0.013 %/h).
            cycle: 0.05,
            tooth: 2.0,
            tooth_every: 2 * HOUR,
            noise: 0.1,
            step_ms: 10_000,
        };
        let e = worst_error(
            &format!("12h, {rate} %/h, 2h rotation"),
            &s,
            12 * HOUR,
            4 * HOUR,
        );
        assert!(e < 0.10, "rate {rate}: {:.1} %", e * 100.0);
    }
}

#[test]
fn too_little_history_flat_falling_and_gappy_series_are_said_in_words() {
    let now = 10 * DAY;
    let minutes = |m: i64, f: &dyn Fn(i64) -> f64| -> Vec<(i64, f64)> {
        (0..=m * 12)
            .map(|i| (now - m * 60_000 + i * 5_000, f(i)))
            .collect()
    };
    let f = forecast(&disk(), &minutes(12, &|i| 50.0 + i as f64), now, DAY);
    assert_eq!(f.status, ForecastStatus::NotEnoughHistory);
    assert_eq!(f.message, "not enough history: 12 of 60 minutes");
    assert!(f.time_to_bound_secs.is_none() && f.line.is_empty());

    let noise = |i: i64| ((i as f64 * 12.9898).sin() * 43_758.545).fract() * 0.2;
    let f = forecast(&disk(), &minutes(120, &|i| 50.0 + noise(i)), now, DAY);
    assert_eq!(
        (f.status, f.message.as_str()),
        (ForecastStatus::NotApproaching, "not filling up")
    );
    let f = forecast(
        &disk(),
        &minutes(120, &|i| 80.0 - i as f64 * 0.01),
        now,
        DAY,
    );
    assert_eq!(
        (f.status, f.message.as_str()),
        (ForecastStatus::NotApproaching, "not filling up")
    );
    assert!(f.time_to_bound_secs.is_none());

    // Two hours of history of which only the first ten minutes and the last five exist.
    let mut pts = minutes(120, &|i| 50.0 + i as f64 * 0.01);
    pts.retain(|(t, _)| *t < now - 110 * 60_000 || *t > now - 5 * 60_000);
    let f = forecast(&disk(), &pts, now, DAY);
    assert_eq!(f.status, ForecastStatus::Gaps, "{}", f.message);
    assert!(f.message.starts_with("gaps: samples in "), "{}", f.message);

    // Nothing for the last hour.
    let pts: Vec<(i64, f64)> = minutes(180, &|i| 50.0 + i as f64 * 0.01)
        .into_iter()
        .filter(|(t, _)| *t < now - HOUR)
        .collect();
    let f = forecast(&disk(), &pts, now, DAY);
    assert_eq!(f.message, "gaps: no sample in the last 60 minutes");
}

#[test]
fn a_filling_disk_says_when_in_words_and_draws_its_line() {
    let now = 10 * DAY;
    // 1 unit per hour from 70: full in 30 h minus the 2 h of history = 28 h.
    let pts: Vec<(i64, f64)> = (0..=1440)
        .map(|i| (now - 2 * HOUR + i * 5_000, 70.0 + i as f64 * 5.0 / 3600.0))
        .collect();
    let f = forecast(&disk(), &pts, now, DAY);
    assert_eq!(f.status, ForecastStatus::Reaches);
    assert_eq!(f.message, "/synthetic full in ~1 d 4 h");
    assert!(!f.within_horizon);
    assert!(forecast(&disk(), &pts, now, 2 * DAY).within_horizon);
    assert_eq!(f.line.len(), 25);
    assert_eq!(f.line[0].t, now);
    assert!(f.line.iter().all(|p| p.low <= p.v && p.v <= p.high));
    assert!((f.line[24].v - 96.0).abs() < 0.01, "{:?}", f.line[24]);
}
