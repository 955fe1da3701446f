//! Detector benches: `cargo bench -p lookout --bench detect`.
//!
//! - forest training: 100 trees, psi 256, on 100,000 x 38 (target <= 0.2 s);
//! - batch scoring at 38 features, one thread (target >= 2,000,000 rows/s);
//!   (`score_batch_100k_x_38` uses the kernel `score_rows` picks; the `kernel_*` variants
//!   pin each kernel this CPU supports);
//! - one-sample latency (target <= 5 us);
//! - the whole ensemble per live sample (features + baseline + forest + PCA +
//!   calibration), on the 24 host metrics (96 features).
//!
//! Instruction counts, repeatable on a busy machine: `DETECT_BENCH_ONCE=1` (or
//! `=portable` / `=scalar` to pin the kernel) trains and scores
//! the 100k x 38 batch once, then exits:
//! `DETECT_BENCH_ONCE=1 valgrind --tool=callgrind --toggle-collect='*score_slice_complete_with*' <bench binary>`
//! and divide the collected instructions by 100,000. With `DETECT_BENCH_REPS=10` it
//! scores 10 times and prints this thread's CPU time per row (less disturbed by other
//! load than criterion's wall clock).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, Criterion, Throughput};
use lookout::detect::ensemble::{train, EnsembleScorer, TrainParams};
use lookout::detect::forest::{IsolationForestParams, Kernel};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn data(n: usize, d: usize) -> Array2<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    Array2::from_shape_fn((n, d), |(_, j)| {
        rng.gen::<f64>() * (1.0 + j as f64) + if j % 3 == 0 { rng.gen::<f64>() } else { 0.0 }
    })
}

fn forest(c: &mut Criterion) {
    let x = data(100_000, 38);
    let p = IsolationForestParams::default();
    let mut g = c.benchmark_group("forest");
    g.sample_size(20);
    g.bench_function("train_100x256_on_100k_x_38", |b| {
        b.iter(|| black_box(p.fit_array(x.view()).unwrap()))
    });
    let f = p.fit_array(x.view()).unwrap();
    let mut out = vec![0.0; x.nrows()];
    g.throughput(Throughput::Elements(x.nrows() as u64));
    g.bench_function("score_batch_100k_x_38", |b| {
        b.iter(|| {
            f.score_rows(x.view(), &mut out);
            black_box(out[0])
        })
    });
    let xs = x.as_slice().unwrap();
    for k in [Kernel::Portable, Kernel::Scalar] {
        if k.available() {
            g.bench_function(format!("score_batch_100k_x_38_kernel_{k:?}"), |b| {
                b.iter(|| {
                    f.score_slice_with(k, xs, &mut out);
                    black_box(out[0])
                })
            });
        }
    }
    g.throughput(Throughput::Elements(1));
    let row: Vec<f64> = x.row(123).to_vec();
    g.bench_function("score_one_sample_38", |b| {
        b.iter(|| black_box(f.score_row(black_box(&row))))
    });
    g.finish();
}

fn ensemble(c: &mut Criterion) {
    let width = lookout::model::METRICS.len();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let rows: Vec<(i64, Vec<f64>)> = (0..17_280)
        .map(|i| {
            (
                i as i64 * 5000,
                (0..width)
                    .map(|j| 10.0 * j as f64 + rng.gen::<f64>() * (1.0 + j as f64))
                    .collect(),
            )
        })
        .collect();
    let mut g = c.benchmark_group("ensemble");
    g.sample_size(10);
    g.bench_function("train_24h_at_5s_24_metrics", |b| {
        b.iter(|| black_box(train(&rows, &[], &TrainParams::default()).unwrap()))
    });
    let model = Arc::new(train(&rows, &[], &TrainParams::default()).unwrap());
    let p = TrainParams::default();
    let mut s = EnsembleScorer::new(width, p.members, p.baseline.clone());
    for (t, r) in rows.iter().take(800) {
        s.step(*t, r, true);
    }
    s.install_model(model.clone()).unwrap();
    let mut i = 0;
    let mut t = rows[799].0;
    g.throughput(Throughput::Elements(1));
    g.bench_function("live_sample_all_members", |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            t += 5000;
            black_box(s.step(t, &rows[i].1, true))
        })
    });
    // The whole live pipeline per sample: scoring, event logic, adaptation checks and
    // the training schedule (the server's path; training itself runs elsewhere).
    let names: Vec<String> = (0..width).map(|j| format!("m{j}")).collect();
    let mut det = lookout::detect::LiveDetector::new(lookout::detect::LiveConfig {
        metric_names: names,
        ..Default::default()
    });
    let mut t = 0i64;
    for (_, r) in rows.iter().take(800) {
        t += 5000;
        det.observe(t, r, &[], &[]);
    }
    det.install_model(model).unwrap();
    g.bench_function("live_observe_pipeline", |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            t += 5000;
            black_box(det.observe(t, &rows[i].1, &[], &[]))
        })
    });
    g.finish();
}

/// One training and one scoring pass of the batch bench (for callgrind).
fn once(which: &str) {
    let x = data(100_000, 38);
    let f = IsolationForestParams::default()
        .fit_array(x.view())
        .unwrap();
    let mut out = vec![0.0; x.nrows()];
    let kernel = match which {
        "portable" => Kernel::Portable,
        "scalar" => Kernel::Scalar,
        _ => Kernel::detect(),
    };
    // DETECT_BENCH_REPS=n repeats the scoring and reports this thread's CPU time per
    // row (Linux schedstat), which a busy machine disturbs less than wall time.
    let reps: u32 = std::env::var("DETECT_BENCH_REPS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let cpu_ns = || -> Option<u64> {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        s.split_whitespace().next()?.parse().ok()
    };
    let (t0, w0) = (cpu_ns(), std::time::Instant::now());
    for _ in 0..reps {
        f.score_slice_with(kernel, x.as_slice().unwrap(), &mut out);
    }
    let (t1, wall) = (cpu_ns(), w0.elapsed());
    let rows = f64::from(reps) * x.nrows() as f64;
    println!("{kernel:?}: sum of scores {}", out.iter().sum::<f64>());
    if let (Some(t0), Some(t1)) = (t0, t1) {
        println!(
            "{kernel:?}: {:.0} ns CPU/row = {:.2} M rows/s per CPU second; wall {:.2} M rows/s",
            (t1 - t0) as f64 / rows,
            rows / (t1 - t0) as f64 * 1e3,
            rows / wall.as_secs_f64() / 1e6
        );
    }
}

criterion_group!(benches, forest, ensemble);

fn main() {
    if let Ok(which) = std::env::var("DETECT_BENCH_ONCE") {
        return once(&which);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
