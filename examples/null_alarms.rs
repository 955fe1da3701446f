//! `cargo run --release -p lookout --example null_alarms`
//!
//! A check of the alarm score on synthetic streams with no anomaly and with injected
//! ones, for changes to how the alarm score is formed (docs/detection.md, session 10):
//! at 5 min sampling, 4,000 rows per stream, 5 seeds, four kinds of normal data
//! (Gaussian noise; an AR(1) with coefficient 0.9; a lognormal bursty rate; a metric
//! quantised to steps of 1), it counts alarm-score rows over 2, 3 and 4 after the first
//! day on the clean streams (false alarms), and on the same streams with 5 one-row
//! spikes of +8 sd and 3 six-row level shifts of +5 sd injected (one every 450 rows),
//! the share found with an alarm over 3 within 2 samples of their start.
use lookout::detect::{LiveConfig, LiveDetector};

fn main() {
    let step = 300_000i64;
    let n = 4000usize;
    for kind in ["gauss", "ar1", "lognormal", "quantised"] {
        let (mut over, mut found, mut total) = ([0usize; 3], 0usize, 0usize);
        for seed in 0..5u64 {
            let mut x = (seed + 1).wrapping_mul(0x9E3779B97F4A7C15) | 1;
            let mut uni = move || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 11) as f64 / (1u64 << 53) as f64
            };
            let mut base = Vec::with_capacity(n);
            let mut ar = 0.0;
            for _ in 0..n {
                let g: f64 = (0..12).map(|_| uni()).sum::<f64>() - 6.0;
                ar = 0.9 * ar + (1.0f64 - 0.81).sqrt() * g;
                base.push(match kind {
                    "gauss" => 50.0 + g,
                    "ar1" => 50.0 + ar,
                    "lognormal" => (g).exp() * 10.0,
                    _ => (50.0 + 2.0 * g).round(),
                });
            }
            // The normal spread, for the injected sizes.
            let mut sorted = base.clone();
            sorted.sort_by(f64::total_cmp);
            let sd = (sorted[n * 84 / 100] - sorted[n * 16 / 100]) / 2.0;
            let mut injected = base.clone();
            let mut starts = vec![];
            // One every 450 rows (the 24 h training window holds at most one), so
            // the model does not learn them as normal.
            for k in 0..8 {
                let at = 400 + k * 450 + (uni() * 60.0) as usize;
                starts.push(at);
                if k % 3 != 2 {
                    injected[at] += 8.0 * sd;
                } else {
                    for v in injected.iter_mut().skip(at).take(6) {
                        *v += 5.0 * sd;
                    }
                }
            }
            for (clean, series) in [(true, &base), (false, &injected)] {
                let mut det = LiveDetector::new(LiveConfig {
                    metric_names: vec!["v".into()],
                    self_train: true,
                    ..Default::default()
                });
                let mut alarms = vec![0.0; n];
                for (i, v) in series.iter().enumerate() {
                    let o = det.observe(1_700_000_000_000 + i as i64 * step, &[*v], &[], &[]);
                    alarms[i] = o.score.map_or(0.0, |s| s.alarm);
                }
                if clean {
                    for a in &alarms[288..] {
                        for (k, t) in [2.0, 3.0, 4.0].iter().enumerate() {
                            over[k] += (*a > *t) as usize;
                        }
                    }
                } else {
                    for &s in &starts {
                        total += 1;
                        found += alarms[s..(s + 3).min(n)].iter().any(|a| *a > 3.0) as usize;
                    }
                }
            }
        }
        println!(
            "{kind:<10} clean: alarm rows over 2 / 3 / 4: {} / {} / {} (of {}); injected found within 2 samples at 3: {found}/{total}",
            over[0],
            over[1],
            over[2],
            5 * (n - 288)
        );
    }
}
