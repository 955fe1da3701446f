//! Forecast rules in the alert engine: the same lifecycle as other rules (pending,
//! firing after group wait, resolved), and the forecast in the message.

use super::*;
use crate::model::Snapshot;

const M: i64 = 60_000;
const T0: i64 = 1_764_000_000_000;

fn engine() -> AlertEngine {
    AlertConfig::from_toml(
        "group_wait = \"30s\"\ncooldown = \"0s\"\n[[rules]]\nname = \"disk-filling\"\n\
         condition = \"disk_free_percent < 5 within 24h\"",
    )
    .unwrap()
    .engine("h1")
    .unwrap()
}

fn snap(free: f64, t: i64) -> Snapshot {
    let mut s = Snapshot {
        host: "h1".into(),
        timestamp: t,
        interval_secs: 10.0,
        ..Snapshot::default()
    };
    s.disk.free_percent = free;
    s
}

/// Feeds `free(minutes since T0)` every 10 s over `[from, to)` minutes.
fn run(e: &mut AlertEngine, free: impl Fn(f64) -> f64, from: i64, to: i64) -> Vec<Notification> {
    let mut out = Vec::new();
    let mut t = T0 + from * M;
    while t < T0 + to * M {
        let mins = (t - T0) as f64 / M as f64;
        out.extend(e.observe_snapshot(&snap(free(mins), t), t));
        t += 10_000;
    }
    out
}

#[test]
fn a_disk_filling_within_the_horizon_fires_with_the_forecast_and_resolves() {
    let mut e = engine();
    // Free space falls 2 % per hour from 40 %: after 2 h it is 36 %, and 5 % is
    // reached 15.5 h later, inside the 24 h horizon. Nothing before 1 h of history.
    let falling = |m: f64| 40.0 - 2.0 * m / 60.0 + 0.05 * (m * 7.0).sin();
    assert!(run(&mut e, falling, 0, 59).is_empty());
    assert!(e.active(T0 + 59 * M).is_empty());
    let out = run(&mut e, falling, 59, 120);
    assert_eq!(out.len(), 1, "{out:?}");
    let n = &out[0];
    assert_eq!(n.kind, NotificationKind::Firing);
    assert_eq!(n.condition, "disk_free_percent < 5 within 1d (forecast)");
    let f = n.forecast.as_deref().unwrap();
    assert!(f.starts_with("disk_free_percent < 5 in ~"), "{f}");
    assert!(f.contains(", trend -") && f.ends_with(" per hour"), "{f}");
    let text = render::text(n);
    assert!(
        text.contains("Forecast: disk_free_percent < 5 in ~"),
        "{text}"
    );

    // The filling stops (the disk was cleaned up and stays flat): the forecast says so
    // and the alert resolves once the trend is flat.
    let out = run(&mut e, |m| 60.0 + 0.05 * (m * 7.0).sin(), 120, 600);
    assert_eq!(kinds(&out), [NotificationKind::Resolved], "{out:?}");
}

#[test]
fn a_slow_fill_outside_the_horizon_and_the_rule_tester_agree() {
    let mut e = engine();
    // 0.5 % per hour from 50 %: 5 % is ~90 h away, outside 24 h.
    let slow = |m: f64| 50.0 - 0.5 * m / 60.0;
    assert!(run(&mut e, slow, 0, 180).is_empty());
    let rule = e.rules()[0].clone();
    let j = e.judge(&rule, &snap(48.5, T0 + 180 * M));
    assert_eq!(j.holds, Some(false));
    assert_eq!(j.value, Some(48.5));
    let f = match &rule.kind {
        RuleKind::Forecast(f) => e.forecast_for(f, "h1", T0 + 180 * M).unwrap(),
        _ => unreachable!(),
    };
    let hours = f.time_to_bound_secs.unwrap() / 3600.0;
    assert!((hours - 87.0).abs() < 3.0, "{hours}");
    // A fresh engine (a restart) seeded from stored history judges the same at once.
    let mut fresh = engine();
    let pts: Vec<(i64, f64)> = (0..180 * 6)
        .map(|i| (T0 + i * 10_000, slow(i as f64 / 6.0)))
        .collect();
    fresh.seed_trend("", "disk_free_percent", &pts);
    let j2 = fresh.judge(&rule, &snap(48.5, T0 + 180 * M));
    assert_eq!(j2, j);
}

fn kinds(ns: &[Notification]) -> Vec<NotificationKind> {
    ns.iter().map(|n| n.kind).collect()
}

#[test]
fn history_is_asked_for_once_per_lookback_and_kept_with_live_samples() {
    let mut e = engine();
    let todo = e.forecast_metrics_to_seed();
    assert_eq!(todo.len(), 1);
    let (metric, keep) = todo[0].clone();
    assert_eq!(metric, "disk_free_percent");
    // Live samples arrive while the history is being read.
    let falling = |m: f64| 40.0 - 2.0 * m / 60.0;
    run(&mut e, falling, 170, 180);
    let history: Vec<(i64, f64)> = (0..170 * 6)
        .map(|i| (T0 + i * 10_000, falling(i as f64 / 6.0)))
        .collect();
    e.seed_trend("", &metric, &history);
    assert!(e.forecast_metrics_to_seed().is_empty());
    // Both parts are there: the forecast sees three hours (34 % falling 2 % an hour: 5 %
    // in 14.5 h), not the last ten minutes, which would be too little history.
    let rule = e.rules()[0].clone();
    let RuleKind::Forecast(f) = &rule.kind else {
        unreachable!()
    };
    let fc = e.forecast_for(f, "h1", T0 + 180 * M).unwrap();
    let hours = fc.time_to_bound_secs.unwrap() / 3600.0;
    assert!((hours - 14.5).abs() < 0.5, "{hours}");
    // A longer horizon needs a longer lookback: asked for again.
    let mut longer = AlertConfig::from_toml(
        "[[rules]]\nname = \"disk-filling\"\ncondition = \"disk_free_percent < 5 within 7d\"",
    )
    .unwrap()
    .engine("h1")
    .unwrap()
    .rules()
    .to_vec();
    e.set_rules(std::mem::take(&mut longer));
    let again = e.forecast_metrics_to_seed();
    assert!(again.len() == 1 && again[0].1 > keep, "{again:?}");
}
