use super::*;

#[test]
fn calibration_maps_training_scores_to_uniform() {
    // Skewed raw scores (exponential-ish): calibrated ones should be ~U(0, 1).
    let raw: Vec<f64> = (1..=5000).map(|i| -((i as f64) / 5001.0).ln()).collect();
    let c = Calibrator::fit(&raw).unwrap();
    let cal: Vec<f64> = raw.iter().map(|s| c.cdf(*s)).collect();
    for q in [0.1, 0.25, 0.5, 0.75, 0.9] {
        let share = cal.iter().filter(|v| **v <= q).count() as f64 / cal.len() as f64;
        assert!((share - q).abs() < 0.02, "P(cal <= {q}) = {share}");
    }
    // Tail: above anything seen it keeps growing towards 1, never past it.
    let max = raw.iter().cloned().fold(0.0, f64::max);
    assert!(c.cdf(max) > 0.99 && c.cdf(max) < 1.0);
    assert!(c.cdf(max + 5.0) > c.cdf(max));
    assert!(c.cdf(1e300) <= 1.0);
    assert_eq!(c.cdf(-1.0), 0.0);
}

#[test]
fn plateaus_get_mid_rank() {
    let mut raw = vec![0.0; 900];
    raw.extend((0..100).map(|i| i as f64));
    let c = Calibrator::fit(&raw).unwrap();
    let p0 = c.cdf(0.0);
    assert!(p0 > 0.3 && p0 < 0.6, "{p0}");
}

/// 3 metrics of noise with a 40-row incident (metric 0 jumps to 30) at rows 500..540.
fn rows_with_incident() -> Vec<(TimestampMs, Vec<f64>)> {
    let mut x: u64 = 7;
    let mut noise = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    (0..1000)
        .map(|i| {
            let jump = if (500..540).contains(&i) { 30.0 } else { 0.0 };
            (
                i as TimestampMs * 1000,
                vec![10.0 + noise() + jump, 5.0 + noise(), 20.0 + noise()],
            )
        })
        .collect()
}

#[test]
fn past_incidents_are_left_out_of_training_unless_expected() {
    let rows = rows_with_incident();
    let incident = [(500_000, 539_000)];
    let score_of = |model: TrainedModel| {
        let mut s = EnsembleScorer::new(3, Members::default(), BaselineParams::default());
        for (t, r) in &rows[..900] {
            s.step(*t, r, true);
        }
        s.install_model(Arc::new(model)).unwrap();
        let mut out = StepScores {
            combined: 0.0,
            members: vec![],
            corroborated: 0.0,
        };
        for k in 0..3 {
            out = s
                .step(900_000 + k * 1000, &[40.0, 5.0, 20.0], true)
                .unwrap();
        }
        out.combined
    };
    let p = TrainParams::default();
    let learnt = train(&rows, &[], &p).unwrap();
    let trimmed = train_excluding(&rows, &[], &incident, &p).unwrap();
    assert!(trimmed.warnings.is_empty(), "{:?}", trimmed.warnings);
    let (a, b) = (score_of(learnt), score_of(trimmed));
    assert!(
        a < 2.3 && b > 3.0,
        "a repeat of the incident is flagged only when it was trimmed: {a} vs {b}"
    );
    // An interval marked expected is learnt as normal whatever `anomalous` says.
    let exp = [ExpectedInterval {
        start: 500_000,
        end: 539_000,
        metrics: vec![],
    }];
    let kept = train_excluding(&rows, &exp, &incident, &p).unwrap();
    assert!(score_of(kept) < 2.3);
    // Over the cap, nothing is left out and the model says why.
    let all = [(0, 999_000)];
    let capped = train_excluding(&rows, &[], &all, &p).unwrap();
    assert!(
        capped.warnings.iter().any(|w| w.contains("kept")),
        "{:?}",
        capped.warnings
    );
}

#[test]
fn combination_is_bonferroni_min_p() {
    // p = 0.001, 0.5, 0.8: 3 * 0.001 = 0.003 -> surprise -log10(0.003).
    let s = |p: f64| -p.log10();
    assert!((combine(&[s(0.001), s(0.5), s(0.8)]) - s(0.003)).abs() < 1e-12);
    assert_eq!(combine(&[s(0.9), s(0.8)]), 0.0);
    assert_eq!(combine(&[]), 0.0);
    assert!((combine(&[2.0]) - 2.0).abs() < 1e-12);
    assert!((surprise_from_setting(0.999) - 3.0).abs() < 1e-9);
    assert_eq!(surprise_from_setting(4.0), 4.0);
}

#[test]
fn corroboration_is_the_second_member_bounded_for_any_dependence() {
    // One member alone at 6: nobody vouches for it.
    assert_eq!(corroborate(&[6.0, 0.1, 0.15]), 0.0);
    // Two at 6 and 4 of three: P(two reach 1e-4) <= 3 * 1e-4 / 2.
    let c = corroborate(&[6.0, 4.0, 0.2]);
    assert!((c - (4.0 - 1.5f64.log10())).abs() < 1e-12, "{c}");
    // Under the min-p combination, unless the top two agree: then up to log10 2 over.
    assert!(c < combine(&[6.0, 4.0, 0.2]));
    let agree = corroborate(&[4.0, 4.0, 0.2]) - combine(&[4.0, 4.0, 0.2]);
    assert!((agree - 2f64.log10()).abs() < 1e-12, "{agree}");
    // Two members: the lower of the two; one member: itself.
    assert_eq!(corroborate(&[3.0, 5.0]), 3.0);
    assert_eq!(corroborate(&[2.5]), 2.5);
    assert_eq!(corroborate(&[]), 0.0);
}

#[test]
fn surprise_keeps_growing_past_anything_seen() {
    let raw: Vec<f64> = (1..=5000).map(|i| -((i as f64) / 5001.0).ln()).collect();
    let c = Calibrator::fit(&raw).unwrap();
    let max = raw.iter().cloned().fold(0.0, f64::max);
    let (a, b, far) = (c.surprise(max), c.surprise(max + 5.0), c.surprise(1e6));
    assert!(a > 3.0 && b > a && far > b, "{a} {b} {far}");
    assert!(
        far.is_finite() && far > 1e4,
        "no cap but floating point: {far}"
    );
    // Continuous where the body meets the tail, and 0 at the bottom.
    let u = c.tail_u;
    assert!((c.surprise(u - 1e-9) - c.surprise(u)).abs() < 1e-3);
    assert_eq!(c.surprise(-1.0), 0.0);
}

#[test]
fn members_corroborate_each_other_one_sample_apart() {
    // The baseline sees a step at one sample, PCA the sample after: simultaneously
    // nobody vouches for either (the other members are quiet at each sample) ...
    let (before, now) = ([5.0, 0.3, 0.2], [0.4, 0.3, 4.5]);
    assert!(corroborate(&now) < 0.3, "{}", corroborate(&now));
    // ... but within the last two samples two of three members reached 1e-4.5:
    // P <= m w p / 2 with w = 2, i.e. the second-highest minus log10(3).
    let prev: Vec<Option<f64>> = before.iter().map(|s| Some(*s)).collect();
    let c = corroborate_lagged(&now, &prev);
    assert!((c - (4.5 - 3f64.log10())).abs() < 1e-12, "{c}");
    // A single member high at both samples is still alone.
    let alone = corroborate_lagged(&[6.0, 0.3, 0.2], &[Some(6.0), Some(0.2), Some(0.1)]);
    assert_eq!(alone, corroborate(&[6.0, 0.3, 0.2]));
    assert!(alone < 0.3, "{alone}");
    // With no previous sample (or nothing higher in it) it is the simultaneous bound.
    assert_eq!(
        corroborate_lagged(&[6.0, 4.0, 0.2], &[None, None, None]),
        corroborate(&[6.0, 4.0, 0.2])
    );
    assert_eq!(
        corroborate_lagged(&[6.0, 4.0, 0.2], &[Some(1.0), Some(1.0), Some(0.1)]),
        corroborate(&[6.0, 4.0, 0.2])
    );
    // Two members agreeing now keep their smaller correction even if the lagged view
    // is a little higher.
    let both = corroborate_lagged(&[4.0, 4.0, 0.2], &[Some(4.2), Some(0.1), Some(0.1)]);
    assert_eq!(both, corroborate(&[4.0, 4.0, 0.2]));
}

/// `bursty` disk-like metrics, then one memory-like metric, 6,000 rows at 1 s: each
/// disk metric is idle noise with a heavy-tailed burst (Pareto, tens to thousands of
/// times the noise) on `share` of rows; memory is a level of 600 with noise of about 1.
fn disk_and_memory_rows(bursty: usize, share: f64) -> Vec<(TimestampMs, Vec<f64>)> {
    let mut x: u64 = 11;
    let mut unit = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..6000)
        .map(|i| {
            let mut r: Vec<f64> = (0..bursty)
                .map(|_| {
                    let burst = if unit() < share {
                        50.0 / unit().max(1e-3).powf(1.2)
                    } else {
                        0.0
                    };
                    5.0 + unit() + burst
                })
                .collect();
            r.push(600.0 + 2.0 * (unit() - 0.5));
            (i as TimestampMs * 1000, r)
        })
        .collect()
}

/// On these features (one metric bursting on 3 % of rows beside a quiet one), linfa's
/// LOBPCG meets NaN in its own iterations and panics: the fit falls back to the
/// Jacobi solver and the PCA member stays on (it was switched off for the model).
#[test]
fn a_panicking_eigen_solver_falls_back_to_jacobi() {
    let model = train(
        &disk_and_memory_rows(1, 0.03)[..5000],
        &[],
        &TrainParams::default(),
    )
    .unwrap();
    let pca = model.pca.as_ref().expect("the PCA member is on");
    assert_eq!(pca.backend, "jacobi");
    assert!(model.warnings.is_empty(), "{:?}", model.warnings);
}

/// A quiet metric's step is measured against its own tail, not the bursty metrics':
/// beside four disk-like metrics that burst far past their 99th percentile, a
/// memory-like metric's step of 20 of its robust sigmas is rare to the baseline
/// member, and one ten times larger is rarer still. Before the per-metric tail scale,
/// the bursts set the member's tail (as in the 2-hour idle trace, where a memory
/// ramp of 266 sigmas scored 3.6).
#[test]
fn a_quiet_metrics_step_outranks_the_bursty_metrics_usual_excursions() {
    let rows = disk_and_memory_rows(4, 0.005);
    let model = train(&rows[..5000], &[], &TrainParams::default()).unwrap();
    let tail = &model.calibration.baseline_tail;
    assert!(
        tail[..4].iter().all(|t| *t > 1.5) && tail[4] == 1.0,
        "{tail:?}"
    );
    let baseline_after = |level: f64| {
        let mut s = EnsembleScorer::new(5, Members::default(), BaselineParams::default());
        for (t, r) in &rows[..5900] {
            s.step(*t, r, true);
        }
        s.install_model(Arc::new(model.clone())).unwrap();
        for (t, r) in &rows[5900..] {
            s.step(*t, r, true);
        }
        let out = s
            .step(6_000_000, &[5.5, 5.5, 5.5, 5.5, level], true)
            .unwrap();
        out.members
            .iter()
            .find(|m| m.member == "baseline")
            .unwrap()
            .score
    };
    // The metric's scale is its 1 % floor, 6: 20 and 200 of them.
    let (small, large) = (baseline_after(720.0), baseline_after(1800.0));
    assert!(small > 4.0, "20 sigmas: {small}");
    assert!(large > small + 2.0, "200 sigmas: {large} vs {small}");
    // A model saved before the tail scales (none in the file) still loads and scores.
    let mut old = model.clone();
    old.calibration.baseline_tail.clear();
    old.validate().unwrap();
}
