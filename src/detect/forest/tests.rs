use super::keys::{order_key, right, threshold_key, threshold_of_key, value_key};
use super::*;
use linfa::traits::Predict;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn gaussian_blob(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |_| {
        // Sum of uniforms: cheap, bell-shaped, deterministic.
        (0..6).map(|_| rng.gen::<f64>()).sum::<f64>() - 3.0
    })
}

#[test]
fn c_factor_matches_hand_values() {
    assert_eq!(c_factor(1), 0.0);
    assert_eq!(c_factor(2), 1.0);
    // c(3) = 2 (ln 2 + gamma) - 4/3
    let c3 = 2.0 * (2f64.ln() + EULER_GAMMA) - 4.0 / 3.0;
    assert!((c_factor(3) - c3).abs() < 1e-12);
    assert!((c_factor(3) - 1.207_392_357).abs() < 1e-6);
    // c(256) = 2 (ln 255 + gamma) - 510/256 = 10.244770...
    assert!(
        (c_factor(256) - 10.244_770_8).abs() < 1e-5,
        "{}",
        c_factor(256)
    );
}

#[test]
fn path_lengths_on_a_hand_built_case() {
    // Two distinct points: one split isolates both at depth 1 -> E(h) = 1, score
    // 2^(-1/c(2)) = 0.5 for both.
    let x = ndarray::array![[0.0], [1.0]];
    let f = IsolationForestParams {
        n_trees: 10,
        sample_size: 2,
        ..Default::default()
    }
    .fit(&DatasetBase::from(x.clone()))
    .unwrap();
    assert_eq!(f.height_limit(), 1);
    assert!((f.mean_path_length(&[0.0]) - 1.0).abs() < 1e-6);
    assert!((f.score_row(&[1.0]) - 0.5).abs() < 1e-6);
    // Four identical points cannot be split: leaf at depth 0 of size 4, h = c(4).
    let x = ndarray::array![[3.0], [3.0], [3.0], [3.0]];
    let f = IsolationForestParams {
        n_trees: 3,
        sample_size: 4,
        ..Default::default()
    }
    .fit_array(x.view())
    .unwrap();
    assert!((f.mean_path_length(&[3.0]) - c_factor(4)).abs() < 1e-5);
    assert!((f.score_row(&[3.0]) - 0.5).abs() < 1e-6);
}

#[test]
fn planted_outliers_rank_at_the_top() {
    // Isolation Forest isolates points that are extreme in several of the few
    // features it splits on (an outlier in 1 of many dimensions is isolated
    // slowly: that is why the ensemble adds the baseline and PCA).
    let mut x = gaussian_blob(2000, 3, 1);
    let planted = [17usize, 444, 1200, 1999];
    for (k, &i) in planted.iter().enumerate() {
        x[[i, k % 3]] += 8.0;
        x[[i, (k + 1) % 3]] -= 7.0;
    }
    let forest = IsolationForestParams::default()
        .fit(&DatasetBase::from(x.clone()))
        .unwrap();
    let scores: Array1<f64> = forest.predict(&x);
    let mut order: Vec<usize> = (0..x.nrows()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let top: Vec<usize> = order[..planted.len()].to_vec();
    for p in planted {
        assert!(
            top.contains(&p),
            "planted {p} not in top {top:?}: {:?} {:?}",
            planted.map(|q| scores[q]),
            top.iter()
                .map(|&q| (x.row(q).to_vec(), scores[q]))
                .collect::<Vec<_>>()
        );
        assert!(scores[p] > 0.6, "score {}", scores[p]);
    }
    // Attribution names the displaced features.
    let mut att = vec![0.0; 3];
    forest.attribution(x.row(17).as_slice().unwrap(), &mut att);
    let worst = (0..3).min_by(|&a, &b| att[a].total_cmp(&att[b])).unwrap();
    assert_eq!(worst, 2, "features 0 and 1 were displaced: {att:?}");
}

#[test]
fn batch_single_and_linfa_paths_agree_and_are_deterministic() {
    let x = gaussian_blob(301, 7, 2);
    let p = IsolationForestParams {
        n_trees: 30,
        ..Default::default()
    };
    let a = p.fit_array(x.view()).unwrap();
    let b = p.fit_array(x.view()).unwrap();
    assert_eq!(a, b, "same seed, same forest");
    let mut batch = vec![0.0; x.nrows()];
    a.score_rows(x.view(), &mut batch);
    for (i, b) in batch.iter().enumerate() {
        let s = a.score_row(x.row(i).as_slice().unwrap());
        assert!((s - b).abs() < 1e-12);
    }
    let c = IsolationForestParams { seed: 99, ..p }
        .fit_array(x.view())
        .unwrap();
    assert_ne!(a, c, "another seed, another forest");
    // Non-standard layout goes through the same code.
    let xt = x.t().to_owned();
    let mut batch2 = vec![0.0; x.nrows()];
    a.score_rows(xt.t(), &mut batch2);
    assert_eq!(batch, batch2);
}

#[test]
fn composes_with_linfa_preprocessing_scaler() {
    use linfa::traits::Transformer;
    use linfa_preprocessing::linear_scaling::LinearScaler;
    let mut x = gaussian_blob(500, 3, 3);
    x.column_mut(1).mapv_inplace(|v| v * 1000.0 + 5e4);
    x[[7, 0]] = 6.0;
    x[[7, 1]] = 5e4 + 6000.0;
    x[[7, 2]] = -6.0;
    let ds = DatasetBase::from(x);
    let scaler = LinearScaler::standard().fit(&ds).unwrap();
    let ds = scaler.transform(ds);
    let forest = IsolationForestParams::default().fit(&ds).unwrap();
    let scores: Array1<f64> = forest.predict(&ds);
    let argmax = (0..scores.len())
        .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
        .unwrap();
    assert_eq!(argmax, 7);
}

#[test]
fn keys_order_like_the_floats_they_encode() {
    let specials = [
        f64::NEG_INFINITY,
        f64::MIN,
        -1e300,
        -2.5,
        -1.0,
        -f64::MIN_POSITIVE,
        -4.9e-324,
        -0.0,
        0.0,
        4.9e-324,
        f64::MIN_POSITIVE,
        0.1,
        1.0,
        1.0 + f64::EPSILON,
        3e10,
        f64::MAX,
        f64::INFINITY,
    ];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let mut vals: Vec<f64> = specials.to_vec();
    vals.extend(
        (0..300)
            .map(|_| f64::from_bits(rng.gen::<u64>()))
            .filter(|v| !v.is_nan()),
    );
    vals.push(f64::NAN);
    vals.push(-f64::NAN);
    // Thresholds are f32 (every one a fit makes); rows keep their f64 values. Each
    // value also as its f32 neighbours, where the rounding of a row value would show.
    let mut thresholds: Vec<f32> = Vec::new();
    for &v in &vals {
        let f = v as f32;
        thresholds.extend([f, f.next_down(), f.next_up()]);
    }
    thresholds.extend([f32::MIN, f32::MAX, -0.0, f32::from_bits(1)]);
    let mut rows = vals.clone();
    rows.extend(thresholds.iter().map(|&t| f64::from(t)));
    rows.extend(thresholds.iter().map(|&t| f64::from(t) * (1.0 + 1e-12)));
    for &t in &thresholds {
        for &v in &rows {
            let want = right(v, f64::from(t)) == 1;
            assert_eq!(threshold_key(t) < value_key(v), want, "v {v:e} thr {t:e}");
        }
        assert_eq!(
            threshold_key(threshold_of_key(threshold_key(t))),
            threshold_key(t)
        );
    }
    for &a in &thresholds {
        for &b in &thresholds {
            if !a.is_nan() && !b.is_nan() {
                assert_eq!(order_key(a) < order_key(b), a < b, "{a:e} < {b:e}");
            }
        }
    }
}

/// Every kernel this CPU runs, the portable one and the arena walk give the same
/// bits, for several depths (leaves above the last level, so unrolled leaf copies
/// and c(size) corrections), batch sizes that are not multiples of 8 or of the chunk,
/// NaN / infinite / signed-zero values and NaN thresholds (from infinite training
/// values: -inf + u * inf).
#[test]
fn all_kernels_score_bit_identically() {
    let kernels: Vec<Kernel> = [Kernel::Portable, Kernel::Scalar]
        .into_iter()
        .filter(|k| k.available())
        .collect();
    assert!(kernels.contains(&Kernel::detect()));
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(21);
    let d = 6;
    let mut train = gaussian_blob(700, d, 7);
    // Duplicates make small leaves that stop early; a coarse feature makes ties.
    for i in 0..200 {
        let src = train.row(i % 5).to_owned();
        train.row_mut(i).assign(&src);
    }
    train.column_mut(3).mapv_inplace(|v| (v * 2.0).round());
    let mut with_inf = train.clone();
    for i in (0..700).step_by(97) {
        with_inf[[i, 1]] = f64::NEG_INFINITY;
        with_inf[[i + 1, 4]] = f64::INFINITY;
    }
    for n in [1usize, 7, 8, 9, 255, 256, 257, 1003] {
        let mut x = gaussian_blob(n, d, 100 + n as u64);
        x.column_mut(3).mapv_inplace(|v| (v * 2.0).round());
        for i in 0..n {
            if rng.gen_bool(0.05) {
                let f = rng.gen_range(0..d);
                x[[i, f]] =
                    [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0][rng.gen_range(0..5)];
            }
        }
        let xs = x.as_slice().unwrap();
        for (data, limit, trees) in [
            (&train, None, 40),
            (&train, Some(1), 5),
            (&train, Some(3), 17),
            (&train, Some(10), 9),
            (&with_inf, None, 30),
        ] {
            let p = IsolationForestParams {
                n_trees: trees,
                sample_size: 256,
                height_limit: limit,
                seed: n as u64,
            };
            let f = p.fit_array(data.view()).unwrap();
            let Layout::Complete(c) = &f.layout else {
                panic!("depth {} not unrolled", f.height_limit());
            };
            // The default depth uses the 12-row x86-64 kernel, the others 8 rows.
            assert_eq!(
                c.stride == WIDE,
                cfg!(target_arch = "x86_64") && f.height_limit() == WIDE_DEPTH
            );
            // The reference: the same fit, scored through its arena.
            let arena = p.fit_arena(data.view()).unwrap();
            assert!(!arena.is_complete());
            let mut want = vec![0.0; n];
            arena.score_slice(xs, &mut want);
            for (i, w) in want.iter().enumerate() {
                let r = &xs[i * d..(i + 1) * d];
                assert_eq!(w.to_bits(), arena.score_row(r).to_bits(), "arena row {i}");
                assert_eq!(w.to_bits(), f.score_row(r).to_bits(), "one-row {i}");
            }
            for &k in &kernels {
                let mut got = vec![-1.0; n];
                f.score_slice_with(k, xs, &mut got);
                for i in 0..n {
                    assert_eq!(
                        got[i].to_bits(),
                        want[i].to_bits(),
                        "{k:?} n {n} limit {limit:?} row {i}: {} vs {}",
                        got[i],
                        want[i]
                    );
                }
            }
        }
    }
    // The infinite training values did produce NaN thresholds.
    let f = IsolationForestParams::default()
        .fit_arena(with_inf.view())
        .unwrap();
    let Layout::Arena(a) = &f.layout else {
        unreachable!()
    };
    assert!(a.nodes.iter().any(|nd| nd.thr.is_nan()));
}

#[test]
fn complete_trees_score_bit_identically_to_the_arena() {
    let x = gaussian_blob(1003, 5, 5);
    // psi 600: sizes over 256, kept as two bytes (one byte at psi <= 256).
    for (limit, psi) in [
        (Some(1), 256),
        (Some(3), 256),
        (None, 256),
        (Some(10), 256),
        (Some(12), 256),
        (None, 600),
    ] {
        let p = IsolationForestParams {
            n_trees: 25,
            height_limit: limit,
            sample_size: psi,
            ..Default::default()
        };
        let f = p.fit_array(x.view()).unwrap();
        assert_eq!(f.is_complete(), f.height_limit() <= MAX_COMPLETE_DEPTH);
        if let Layout::Complete(c) = &f.layout {
            assert_eq!(matches!(c.size, Sizes::Byte(_)), psi <= 256);
        }
        // The reference: the same fit kept in its arena.
        let arena = p.fit_arena(x.view()).unwrap();
        let (mut a, mut b) = (vec![0.0; x.nrows()], vec![0.0; x.nrows()]);
        f.score_rows(x.view(), &mut a);
        arena.score_rows(x.view(), &mut b);
        let (mut at, mut bt) = (vec![0.0; 5], vec![0.0; 5]);
        let mut credited = 0.0;
        for i in 0..x.nrows() {
            assert_eq!(a[i].to_bits(), b[i].to_bits(), "row {i}");
            let r = x.row(i).to_vec();
            assert_eq!(f.score_row(&r).to_bits(), arena.score_row(&r).to_bits());
            // The attribution (the forest's part of an event's explanation) too, bit
            // for bit: the complete trees carry the arena's node sizes.
            f.attribution(&r, &mut at);
            arena.attribution(&r, &mut bt);
            for j in 0..5 {
                assert_eq!(at[j].to_bits(), bt[j].to_bits(), "row {i} feature {j}");
            }
            credited += at.iter().sum::<f64>();
        }
        assert!(credited > 0.0, "the attribution credited nothing");
        let nan = [f64::NAN, 0.0, f64::INFINITY, -1.0, 1e300];
        assert_eq!(f.score_row(&nan).to_bits(), arena.score_row(&nan).to_bits());
        f.attribution(&nan, &mut at);
        arena.attribution(&nan, &mut bt);
        assert_eq!(at, bt);
        // A model file keeps the layout: the complete trees, or the arena when too deep.
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json.contains("\"nodes\""), !f.is_complete());
        let g: IsolationForest = serde_json::from_str(&json).unwrap();
        assert_eq!(f, g);
        // A file of session 9 and before (the arena) loads into the same forest.
        let old: IsolationForest =
            serde_json::from_str(&serde_json::to_string(&arena).unwrap()).unwrap();
        assert_eq!(f, old);
    }
}

/// A forest as session 9 wrote it into model files (the arena: roots, nodes with
/// thr / feat / left / right / value, sizes), written out by hand: one tree on two
/// features, the root splitting feature 1 at 0.5, its right child feature 0 at -1.0.
#[test]
fn a_forest_file_of_session_9_loads_and_scores() {
    let json = r#"{"n_features":2,"psi":4,"height_limit":2,"roots":[0],
        "nodes":[{"thr":0.5,"feat":1,"left":1,"right":2,"value":0.0},
                 {"thr":0.0,"feat":0,"left":1,"right":1,"value":2.0},
                 {"thr":-1.0,"feat":0,"left":3,"right":4,"value":0.0},
                 {"thr":0.0,"feat":0,"left":3,"right":3,"value":2.0},
                 {"thr":0.0,"feat":0,"left":4,"right":4,"value":3.0}],
        "sizes":[4,2,2,1,1]}"#;
    let f: IsolationForest = serde_json::from_str(json).unwrap();
    assert!(f.is_complete());
    // Left at the root: the leaf of value 2 at depth 1 (its copies below it).
    assert_eq!(f.mean_path_length(&[9.0, 0.0]), 2.0);
    assert_eq!(f.mean_path_length(&[-5.0, 0.7]), 2.0);
    assert_eq!(f.mean_path_length(&[-0.5, 0.5]), 3.0);
    // NaN goes right, as `!(NaN < thr)` did in the arena.
    assert_eq!(f.mean_path_length(&[f64::NAN, f64::NAN]), 3.0);
    // Attribution: to the right child (4 -> 2) on feature 1: one bit; then 2 -> 1 on
    // feature 0: one bit. To the left leaf: one bit on feature 1, then nothing.
    let mut a = [0.0; 2];
    f.attribution(&[-0.5, 0.5], &mut a);
    assert_eq!(a, [1.0, 1.0]);
    f.attribution(&[9.0, 0.0], &mut a);
    assert_eq!(a, [0.0, 1.0]);
    // Saved again, it is written as complete trees and loads back the same.
    let again = serde_json::to_string(&f).unwrap();
    assert!(again.contains("\"leaf\"") && !again.contains("\"nodes\""));
    assert_eq!(serde_json::from_str::<IsolationForest>(&again).unwrap(), f);
    // A corrupt arena (child out of range) is refused, not unrolled.
    let bad = json.replace(r#""left":3,"right":4"#, r#""left":3,"right":40"#);
    assert!(serde_json::from_str::<IsolationForest>(&bad).is_err());
}

#[test]
fn serde_round_trip_keeps_scores() {
    let x = gaussian_blob(300, 4, 4);
    let f = IsolationForestParams {
        n_trees: 20,
        ..Default::default()
    }
    .fit_array(x.view())
    .unwrap();
    let json = serde_json::to_string(&f).unwrap();
    let g: IsolationForest = serde_json::from_str(&json).unwrap();
    g.validate().unwrap();
    assert_eq!(
        f.score_row(&[0.1, 0.2, 0.3, 5.0]),
        g.score_row(&[0.1, 0.2, 0.3, 5.0])
    );
}
