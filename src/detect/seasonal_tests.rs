//! The seasonal member through the whole live pipeline: a nightly backup stops
//! alarming once it has been seen on two earlier days, the same burst at an unusual
//! hour still alarms, and the model panel says the daily pattern is learnt.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::live::{LiveConfig, LiveDetector, DAILY_PATTERN_LEARNT};
use super::seasonal::DAY_MS;
use crate::model::TimestampMs;

const STEP_MS: i64 = 60_000;
/// 2025-11-25 00:00 UTC: the days of the test are UTC days.
const T0: TimestampMs = 1_764_028_800_000;

/// CPU % and disk writes (B/s) at minute `minute` of the run: noise, a nightly backup
/// (disk writes x20, CPU +25) from 02:00 to 02:20 UTC, and the same burst at 14:00
/// on `off_hour_day`.
fn sample(rng: &mut Xoshiro256PlusPlus, minute: i64, off_hour_day: Option<i64>) -> Vec<f64> {
    let mut noise = || (0..12).map(|_| rng.gen::<f64>()).sum::<f64>() - 6.0;
    let mut cpu = 15.0 + 2.0 * noise();
    let mut disk = 5e5 + 1e5 * noise();
    let (day, tod) = (minute / 1440, minute % 1440);
    let burst = (120..140).contains(&tod)
        || off_hour_day.is_some_and(|d| d == day && (840..850).contains(&tod));
    if burst {
        cpu += 25.0;
        disk *= 20.0;
    }
    vec![cpu, disk]
}

/// Events opened per day in the backup window (01:55..02:40) and at 14:00..14:30,
/// with the seasonal member on or off; and the detector at the end.
fn run(
    seasonal: bool,
    days: i64,
    off_hour_day: Option<i64>,
) -> (Vec<(usize, usize)>, LiveDetector) {
    let mut cfg = LiveConfig {
        host: "test".into(),
        metric_names: vec!["cpu_usage".into(), "disk_write_bytes_per_sec".into()],
        self_train: true,
        // Retrained every 6 h rather than hourly to keep the debug-mode test short.
        retrain_every_secs: 6 * 3600,
        ..LiveConfig::default()
    };
    cfg.members.seasonal = seasonal;
    let mut det = LiveDetector::new(cfg);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let mut per_day = vec![(0, 0); days as usize];
    for minute in 0..days * 1440 {
        let ts = T0 + minute * STEP_MS;
        let out = det.observe(ts, &sample(&mut rng, minute, off_hour_day), &[], &[]);
        if let Some(e) = out.opened {
            let tod = (e.start - T0).rem_euclid(DAY_MS) / STEP_MS;
            let day = ((e.start - T0) / DAY_MS) as usize;
            if (115..160).contains(&tod) {
                per_day[day].0 += 1;
            } else if (840..870).contains(&tod) {
                per_day[day].1 += 1;
            }
        }
    }
    (per_day, det)
}

#[test]
fn nightly_backup_stops_alarming_after_two_days_and_an_off_hour_burst_still_alarms() {
    let (per_day, det) = run(true, 6, Some(5));
    // Seen on days 0 and 1, the backup is the time of day's normal from day 2 on.
    for (day, (backup, _)) in per_day.iter().enumerate().skip(2) {
        assert_eq!(*backup, 0, "backup alarmed on day {day}: {per_day:?}");
    }
    assert!(
        per_day[5].1 >= 1,
        "the 14:00 burst did not alarm: {per_day:?}"
    );
    let state = det.state();
    assert!(state.daily_pattern);
    assert_eq!(
        state.rhythms.first().map(String::as_str),
        Some(DAILY_PATTERN_LEARNT)
    );
    assert!(state.active_members.iter().any(|m| m == "seasonal"));
}

#[test]
fn without_the_seasonal_member_the_off_hour_burst_is_missed() {
    // The control, what the member changes: the models, which know no time of day,
    // learn the backup's state as normal within days (it is in their training window
    // and recurring events are learnt), and then miss the same burst at 14:00.
    let (per_day, det) = run(false, 6, Some(5));
    assert!(per_day[2].0 >= 1, "{per_day:?}");
    assert_eq!(per_day[5].1, 0, "{per_day:?}");
    assert!(!det.state().daily_pattern);
}

#[test]
fn first_two_days_are_not_seasonal() {
    let (_, det) = run(true, 2, None);
    assert!(!det.state().daily_pattern);
}
