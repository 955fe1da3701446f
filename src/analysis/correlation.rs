//! Pearson's r between bucketed series. Pure, so it is tested without a store.

use crate::model::{CorrelationCell, Point, Series, TimestampMs};
use std::collections::HashMap;

/// Fewest shared points for an r worth showing.
const MIN_POINTS: usize = 3;

/// Pearson's r of paired values, with how many pairs there were; r is None with fewer
/// than 3 pairs or when either side is flat (its r is undefined).
pub fn pearson(pairs: &[(f64, f64)]) -> CorrelationCell {
    let n = pairs.len();
    let cell = |r| CorrelationCell {
        r,
        n: u32::try_from(n).unwrap_or(u32::MAX),
    };
    if n < MIN_POINTS {
        return cell(None);
    }
    let (mx, my) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (mx / n as f64, my / n as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        let (dx, dy) = (x - mx, y - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    // Flat within rounding: relative to the values' size, not an absolute epsilon
    // (byte rates are in the millions, scores below one).
    let flat = |s: f64, m: f64| s <= f64::EPSILON * n as f64 * (m * m).max(f64::MIN_POSITIVE);
    if flat(sxx, mx) || flat(syy, my) {
        return cell(None);
    }
    cell(Some((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)))
}

/// The matrix of every two series, paired on equal timestamps (the buckets of one
/// history query line up; a bucket missing from either side is left out).
pub fn correlate(series: &[Series]) -> Vec<Vec<CorrelationCell>> {
    let maps: Vec<HashMap<TimestampMs, f64>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter(|p: &&Point| p.v.is_finite())
                .map(|p| (p.t, p.v))
                .collect()
        })
        .collect();
    let mut cells = vec![vec![CorrelationCell::default(); series.len()]; series.len()];
    for i in 0..series.len() {
        for j in i..series.len() {
            let pairs: Vec<(f64, f64)> = series[i]
                .points
                .iter()
                .filter_map(|p| Some((*maps[i].get(&p.t)?, *maps[j].get(&p.t)?)))
                .collect();
            let c = pearson(&pairs);
            cells[i][j] = c;
            cells[j][i] = c;
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Unit;

    fn series(name: &str, values: &[(i64, f64)]) -> Series {
        Series {
            metric: name.into(),
            unit: Unit::Percent,
            resolution_secs: 60.0,
            points: values
                .iter()
                .map(|&(t, v)| Point {
                    t,
                    v,
                    min: v,
                    max: v,
                })
                .collect(),
        }
    }

    #[test]
    fn pearson_of_known_pairs() {
        let up: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 * i as f64 + 1.0)).collect();
        let c = pearson(&up);
        assert_eq!(c.n, 10);
        assert!((c.r.unwrap() - 1.0).abs() < 1e-12);
        let down: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, -0.5 * i as f64)).collect();
        assert!((pearson(&down).r.unwrap() + 1.0).abs() < 1e-12);
        // x = 1..5, y = 2,4,5,4,5: r = 0.7746 (by hand: sxy 6, sxx 10, syy 6).
        let r = pearson(&[(1.0, 2.0), (2.0, 4.0), (3.0, 5.0), (4.0, 4.0), (5.0, 5.0)])
            .r
            .unwrap();
        assert!((r - 6.0 / 60f64.sqrt()).abs() < 1e-12, "{r}");
    }

    #[test]
    fn too_few_points_or_a_flat_series_has_no_r() {
        assert_eq!(pearson(&[(1.0, 2.0), (2.0, 3.0)]).r, None);
        assert_eq!(pearson(&[(1.0, 2.0), (2.0, 3.0)]).n, 2);
        let flat: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 1e9)).collect();
        assert_eq!(pearson(&flat).r, None);
    }

    #[test]
    fn matrix_pairs_equal_timestamps_only() {
        let a = series("a", &[(0, 1.0), (60, 2.0), (120, 3.0), (180, 4.0)]);
        // b misses t=60 and has an extra t=240: 3 shared points, perfectly anti-correlated.
        let b = series("b", &[(0, 9.0), (120, 7.0), (180, 6.0), (240, 100.0)]);
        let m = correlate(&[a, b]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0][0].n, 4);
        assert_eq!(m[1][1].n, 4);
        assert_eq!(m[0][1], m[1][0]);
        assert_eq!(m[0][1].n, 3);
        assert!(m[0][1].r.unwrap() < -0.99);
    }
}
