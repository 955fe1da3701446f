//! Training: the members fitted on a window of rows, calibrated on held-out scores.

use super::*;
use crate::time::now_ms;

fn default_names(width: usize) -> Vec<String> {
    if width == METRICS.len() {
        METRICS.iter().map(|d| d.name.to_string()).collect()
    } else {
        (0..width).map(|i| format!("m{i}")).collect()
    }
}

/// Trains a model on stored rows (timestamp, scalars in metric order; NaN = missing).
/// Pure CPU work: run it on a blocking thread.
pub fn train(
    rows: &[(TimestampMs, Vec<f64>)],
    expected: &[ExpectedInterval],
    params: &TrainParams,
) -> Result<TrainedModel, DetectError> {
    train_excluding(rows, expected, &[], params)
}

/// At most this share of the training rows is left out as past anomalies; beyond it
/// the "anomaly" is the host's new normal and must be learnt.
pub const MAX_EXCLUDED_SHARE: f64 = 0.2;

/// [`train`], leaving the rows inside `anomalous` intervals (past events nobody marked
/// expected) out of what the models learn as normal and out of their calibration,
/// so an incident in the window does not teach the detector to ignore the next one.
/// The rows still feed the feature state (its windows stay continuous). Rows inside
/// an expected interval are always kept.
pub fn train_excluding(
    rows: &[(TimestampMs, Vec<f64>)],
    expected: &[ExpectedInterval],
    anomalous: &[(TimestampMs, TimestampMs)],
    params: &TrainParams,
) -> Result<TrainedModel, DetectError> {
    let n = rows.len();
    if n < params.min_rows.max(8) {
        return Err(DetectError::NotEnoughData(format!(
            "{n} rows, need at least {}",
            params.min_rows.max(8)
        )));
    }
    let width = rows[0].1.len();
    if width == 0 {
        return Err(DetectError::InvalidParams("rows have no metrics".into()));
    }
    if let Some(bad) = rows.iter().find(|r| r.1.len() != width) {
        return Err(DetectError::Shape {
            expected: width,
            got: bad.1.len(),
        });
    }
    let metrics = if params.metric_names.len() == width {
        params.metric_names.clone()
    } else {
        default_names(width)
    };
    let mut warnings = Vec::new();

    // Per-metric medians (imputation fallback) and bands.
    let mut medians = Vec::with_capacity(width);
    let mut bands = Vec::with_capacity(width);
    let mut col = Vec::with_capacity(n);
    #[allow(clippy::needless_range_loop)] // m indexes rows' columns and names alike
    for m in 0..width {
        col.clear();
        col.extend(rows.iter().map(|r| r.1[m]).filter(|v| v.is_finite()));
        if col.is_empty() {
            warnings.push(format!(
                "metric {} has no values in the training window",
                metrics[m]
            ));
        }
        let (med, _) = robust_center_scale(&mut col);
        col.sort_by(f64::total_cmp);
        medians.push(med);
        bands.push(Band {
            low: if col.is_empty() {
                0.0
            } else {
                quantile_sorted(&col, 0.01)
            },
            median: med,
            high: if col.is_empty() {
                0.0
            } else {
                quantile_sorted(&col, 0.99)
            },
        });
    }

    let slices: Vec<&[f64]> = rows.iter().map(|r| r.1.as_slice()).collect();
    let (imputed, raw_feats) = features::build_matrix(&slices, width, Some(&medians));

    // Baseline raw scores over the training rows, for its calibration.
    let mut base = RollingBaseline::new(width, params.baseline.clone());
    base.set_floors(metrics.iter().map(|m| features::unit_floor(m)).collect());
    // First pass unscaled: the per-metric |z| give each metric's usual surprise;
    // the member's scores are then the max of the scaled z, as it scores live.
    let mut zbuf = vec![0.0; width];
    let in_expected_at = |i: usize| {
        expected
            .iter()
            .any(|e| rows[i].0 >= e.start && rows[i].0 <= e.end)
    };
    let mut excluded: Vec<bool> = (0..n)
        .map(|i| {
            !in_expected_at(i)
                && anomalous
                    .iter()
                    .any(|&(a, b)| rows[i].0 >= a && rows[i].0 <= b)
        })
        .collect();
    let n_excluded = excluded.iter().filter(|x| **x).count();
    if n_excluded as f64 > MAX_EXCLUDED_SHARE * n as f64 {
        warnings.push(format!(
            "{n_excluded} of {n} rows are in past anomaly events: over {:.0} %, so they were \
             kept (the host's normal has changed)",
            100.0 * MAX_EXCLUDED_SHARE
        ));
        excluded.iter_mut().for_each(|x| *x = false);
    }
    let z_rows: Vec<Vec<f64>> = imputed
        .rows()
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            base.observe(
                rows[i].0,
                r.as_slice().expect("row-major"),
                &mut zbuf,
                !excluded[i],
            )
            .filter(|_| !excluded[i])
            .map(|_| zbuf.clone())
        })
        .collect();
    let surprise = crate::detect::baseline::surprise_from_z(&z_rows, width);
    let tail = crate::detect::baseline::tail_from_z(&z_rows, &surprise);
    let base_scores: Vec<f64> = z_rows
        .iter()
        .map(|z| {
            (0..width)
                .map(|m| crate::detect::baseline::scaled(z[m], surprise[m], tail[m]))
                .fold(0.0, f64::max)
        })
        .collect();

    // Expected intervals: replicate their rows so they are "normal" for the models.
    let mut idx: Vec<usize> = (0..n).filter(|&i| !excluded[i]).collect();
    let in_expected: Vec<usize> = (0..n).filter(|&i| in_expected_at(i)).collect();
    if !in_expected.is_empty() {
        let want = (params.expected_min_share * n as f64).ceil() as usize;
        let reps = (want / in_expected.len()).clamp(0, 10);
        for _ in 1..reps {
            idx.extend(in_expected.iter().copied());
        }
    }
    let feats = raw_feats.select(Axis(0), &idx);
    let floors: Vec<f64> = (0..feats.ncols())
        .map(|j| {
            let m = features::metric_of(j);
            (0.01 * medians[m].abs()).max(features::unit_floor(&metrics[m]))
        })
        .collect();
    let normalizer = Normalizer::fit(feats.view(), Some(&floors));
    let z: Array2<f64> = normalizer.apply_matrix(feats.view());

    let mut cal = Calibrations {
        baseline: if params.members.baseline {
            Calibrator::fit(&base_scores)
        } else {
            None
        },
        baseline_surprise: surprise,
        baseline_tail: tail,
        ..Default::default()
    };
    if params.members.baseline && cal.baseline.is_none() {
        warnings.push("baseline: too few rows to calibrate; it calibrates online".into());
    }

    let forest = if params.members.forest {
        let f = params.forest.fit_array(z.view())?;
        f.validate()?;
        let mut s = vec![0.0; z.nrows()];
        f.score_rows(z.view(), &mut s);
        cal.forest = Calibrator::fit(&s);
        Some(f)
    } else {
        None
    };

    let pca = if params.members.pca {
        // `PcaModel::fit` sanitises its input (non-finite rows and constant columns
        // out), which is what made linfa's eigen-solver panic; the guard stays as the
        // last resort, and a failed fit only switches the member off for this version.
        let fit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            PcaModel::fit(z.view(), params.pca_variance, params.max_pca_rows)
        }))
        .unwrap_or_else(|_| Err(DetectError::Pca("the eigen-solver panicked".into())));
        match fit {
            Ok(p) => {
                let mut t = vec![0.0; p.k];
                let s: Vec<f64> = z
                    .rows()
                    .into_iter()
                    .map(|r| p.score(r.as_slice().expect("row-major"), &mut t, None, None))
                    .collect();
                cal.pca = Calibrator::fit(&s);
                Some(p)
            }
            Err(e) => {
                let line = format!("pca member off for this model: {e}");
                tracing::warn!(target: "lookout::detect", "{line}");
                warnings.push(line);
                None
            }
        }
    } else {
        None
    };

    Ok(TrainedModel {
        format_version: FORMAT_VERSION,
        version: 0,
        trained_at: now_ms(),
        window: (rows[0].0, rows[n - 1].0),
        samples: n,
        features: features::feature_names(&metrics),
        metrics,
        params: params.clone(),
        normalizer,
        bands,
        forest,
        pca,
        calibration: cal,
        expected: expected.to_vec(),
        eval: None,
        rolled_back_from: None,
        warnings,
    })
}
