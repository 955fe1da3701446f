//! `cargo run --release -p lookout --example adapt_after_sweep`
//!
//! The measurement behind the `detector.adapt_after` default (docs/detection.md): two
//! metrics at 5 s with normal noise of sd 1, two hours of normal data, then 8 hours of
//! either a level shift of +15 sd or a ramp of +10 sd per hour, five seeds each, for
//! several `adapt_after` values. Prints when the shifts were accepted as the new normal,
//! how many samples stayed over surprise 3, and whether any ramp (a leak) was accepted.
use lookout::detect::{LiveConfig, LiveDetector};
fn main() {
    let step = 5_000i64;
    for adapt in [600i64, 900, 1800, 3600, 7200] {
        let (
            mut shift_alarm_rows,
            mut shift_over_rows,
            mut adapted_at,
            mut ramp_adapted,
            mut ramp_late_over,
        ) = (0, 0, vec![], 0, 0);
        for seed in 0..5u64 {
            for kind in ["shift", "ramp"] {
                let mut det = LiveDetector::new(LiveConfig {
                    metric_names: vec!["a".into(), "b".into()],
                    self_train: true,
                    adapt_after_secs: adapt,
                    ..Default::default()
                });
                let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
                let mut noise = move || {
                    let mut s = 0.0;
                    for _ in 0..12 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        s += (x >> 11) as f64 / (1u64 << 53) as f64;
                    }
                    s - 6.0
                };
                let mut ts = 1_700_000_000_000i64;
                for _ in 0..1440 {
                    det.observe(ts, &[40.0 + noise(), 10.0 + noise()], &[], &[]);
                    ts += step;
                }
                let n = 4 * 7200 * 1000 / step; // 8 h after the change
                let mut adapted = None;
                for i in 0..n {
                    let t_s = i * step / 1000;
                    let a = if kind == "shift" {
                        55.0
                    } else {
                        40.0 + 10.0 * t_s as f64 / 3600.0
                    };
                    let o = det.observe(ts, &[a + noise(), 10.0 + noise()], &[], &[]);
                    ts += step;
                    if o.adapted && adapted.is_none() {
                        adapted = Some(t_s);
                    }
                    let s = o.score.unwrap();
                    if kind == "shift" {
                        shift_alarm_rows += (s.combined > 3.0) as usize;
                        shift_over_rows += (s.combined > 3.0) as usize;
                    } else if i > n - 120 {
                        ramp_late_over += (s.combined > 3.0) as usize;
                    }
                }
                if kind == "shift" {
                    adapted_at.push(adapted.unwrap_or(-1));
                } else {
                    ramp_adapted += adapted.is_some() as usize;
                }
            }
        }
        println!("adapt_after {adapt:>5} s: shift adapted at {adapted_at:?} s; shift rows over 3 (surprise) {shift_over_rows}, alarm rows over 3 {shift_alarm_rows}; ramps adapted {ramp_adapted}/5, ramp late rows over 3 {ramp_late_over}/595");
    }
}
