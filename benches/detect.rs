//! Detector benches: `cargo bench -p lookout --bench detect`.
//!
//! - forest training: 100 trees, psi 256, on 100,000 x 38 (target <= 0.2 s);
//! - batch scoring at 38 features, one thread (target >= 2,000,000 rows/s);
//! - one-sample latency (target <= 5 us);
//! - the whole ensemble per live sample (features + baseline + forest + PCA +
//!   calibration), on the 24 host metrics (96 features).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lookout::detect::ensemble::{train, EnsembleScorer, TrainParams};
use lookout::detect::forest::IsolationForestParams;
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
    for (_, r) in rows.iter().take(800) {
        s.step(r);
    }
    s.install_model(model).unwrap();
    let mut i = 0;
    g.throughput(Throughput::Elements(1));
    g.bench_function("live_sample_all_members", |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            black_box(s.step(&rows[i].1))
        })
    });
    g.finish();
}

criterion_group!(benches, forest, ensemble);
criterion_main!(benches);
