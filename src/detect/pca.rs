//! PCA detector: principal subspace fitted with `linfa-reduction`, scored as the
//! probabilistic-PCA Mahalanobis distance (Tipping & Bishop 1999):
//!
//! score(x) = sum_i t_i^2 / lambda_i  +  |x - mu - V^T t|^2 / sigma^2,   t = V (x - mu)
//!
//! i.e. Hotelling's T^2 on the kept components plus the squared reconstruction error
//! (SPE / Q statistic) over the noise variance sigma^2 = mean discarded eigenvalue.
//! Plain reconstruction error misses a change *along* a principal direction (a memory
//! leak moves used, available and usage together, which is one component); T^2 catches
//! it, SPE catches broken correlations. The sum splits exactly into per-feature terms
//! (x - mu)_j * (C^-1 (x - mu))_j, which give the attribution; the plain per-feature
//! reconstruction error is available too.
//!
//! Components are kept until they explain 90 % of the variance, the textbook default
//! for PCA-based monitoring (not tuned on any benchmark). If linfa's truncated SVD
//! fails (it is iterative: LOBPCG), a Jacobi eigen-decomposition of the covariance
//! is the fallback, so training never fails for numerical reasons alone.

use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_reduction::Pca;
use ndarray::{s, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::DetectError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaModel {
    pub d: usize,
    pub k: usize,
    pub mean: Vec<f64>,
    /// k x d, row-major, unit rows.
    pub components: Vec<f64>,
    pub eigenvalues: Vec<f64>,
    pub noise_var: f64,
    pub explained_ratio: f64,
    /// "linfa-reduction" or "jacobi".
    pub backend: String,
}

impl PcaModel {
    /// Fits on the rows of `x` (normalised features). At most `max_rows` rows are used
    /// (an even stride over the data) to bound training time.
    pub fn fit(
        x: ArrayView2<f64>,
        variance_kept: f64,
        max_rows: usize,
    ) -> Result<Self, DetectError> {
        let (n0, d) = x.dim();
        if n0 < 3 || d == 0 {
            return Err(DetectError::NotEnoughData(format!(
                "PCA needs >= 3 rows, got {n0}"
            )));
        }
        let step = n0.div_ceil(max_rows.max(3));
        // Sanitised before any eigen-solver sees it (linfa's panics on NaN): rows with
        // a non-finite value are left out, and so are constant columns (they carry no
        // variance; their components are 0 and the mean holds them).
        let finite: Vec<usize> = (0..n0)
            .step_by(step)
            .filter(|&i| x.row(i).iter().all(|v| v.is_finite()))
            .collect();
        let n = finite.len();
        if n < 3 {
            return Err(DetectError::NotEnoughData(format!(
                "PCA needs >= 3 rows of finite features, got {n} of {n0}"
            )));
        }
        let x: Array2<f64> = x.select(Axis(0), &finite);
        let mean = x.mean_axis(Axis(0)).expect("n > 0");
        let var = x.var_axis(Axis(0), 1.0);
        let total: f64 = var.sum();
        let active: Vec<usize> = (0..d).filter(|&j| var[j] > 1e-12).collect();
        let d_eff = active.len();
        if total <= 1e-12 || d_eff == 0 {
            return Err(DetectError::Pca(
                "no variance in the training features".into(),
            ));
        }
        // Ask linfa for up to half the active dimensions (and at least one residual
        // dimension), then keep what reaches the variance target.
        let k_try = (d_eff.div_ceil(2))
            .min(d_eff.saturating_sub(1))
            .min(n - 1)
            .max(1);
        let xa: Array2<f64> = x.select(Axis(1), &active);
        let mean_a = xa.mean_axis(Axis(0)).expect("n > 0");
        let linfa = if d_eff > JACOBI_MAX_DIMS || n < JACOBI_MIN_ROWS_PER_DIM * d_eff {
            linfa_fit(&xa, k_try).ok()
        } else {
            None
        };
        let (comps_a, eig, backend) = match linfa {
            Some((c, e)) => (c, e, "linfa-reduction"),
            None => {
                let (c, e) = jacobi_fit(&xa, &mean_a, k_try);
                (c, e, "jacobi")
            }
        };
        // Back to the full width: constant columns get 0 in every component.
        let mut comps = Array2::<f64>::zeros((comps_a.nrows(), d));
        for (a, &j) in active.iter().enumerate() {
            comps.column_mut(j).assign(&comps_a.column(a));
        }
        let mut k = comps.nrows();
        let mut cum = 0.0;
        for (i, l) in eig.iter().enumerate() {
            cum += l;
            if cum >= variance_kept * total {
                k = i + 1;
                break;
            }
        }
        let kept: f64 = eig.iter().take(k).sum();
        let resid_dims = d_eff.saturating_sub(k).max(1) as f64;
        // Floor: if the kept components explain (nearly) everything, the residual
        // variance would be ~0 and any rounding noise would look infinite.
        let noise_var = ((total - kept).max(0.0) / resid_dims).max(1e-3 * total / d_eff as f64);
        let eigenvalues: Vec<f64> = eig.iter().take(k).map(|l| l.max(noise_var)).collect();
        Ok(Self {
            d,
            k,
            mean: mean.to_vec(),
            components: comps.slice(s![..k, ..]).iter().copied().collect(),
            eigenvalues,
            noise_var,
            explained_ratio: (kept / total).min(1.0),
            backend: backend.into(),
        })
    }

    pub fn validate(&self) -> Result<(), DetectError> {
        if self.mean.len() != self.d
            || self.components.len() != self.k * self.d
            || self.eigenvalues.len() != self.k
            || self.noise_var.is_nan()
            || self.noise_var <= 0.0
            || self.eigenvalues.iter().any(|l| l.is_nan() || *l <= 0.0)
        {
            return Err(DetectError::Format("PCA model is inconsistent".into()));
        }
        Ok(())
    }

    /// Score of one row; `contrib` (if given) receives the per-feature split of the
    /// score (negative terms clipped to 0), `resid` the per-feature squared
    /// reconstruction error. `t` is scratch of length k. Allocation-free.
    #[allow(clippy::needless_range_loop)] // i, j index several arrays at once
    pub fn score(
        &self,
        row: &[f64],
        t: &mut [f64],
        mut contrib: Option<&mut [f64]>,
        mut resid: Option<&mut [f64]>,
    ) -> f64 {
        let d = self.d;
        assert_eq!(row.len(), d);
        let mut t2 = 0.0;
        for i in 0..self.k {
            let v = &self.components[i * d..(i + 1) * d];
            let mut acc = 0.0;
            for j in 0..d {
                acc += v[j] * (row[j] - self.mean[j]);
            }
            t[i] = acc;
            t2 += acc * acc / self.eigenvalues[i];
        }
        let mut spe = 0.0;
        for j in 0..d {
            let delta = row[j] - self.mean[j];
            let mut recon = 0.0;
            let mut w_sub = 0.0;
            for i in 0..self.k {
                let vij = self.components[i * d + j];
                recon += vij * t[i];
                w_sub += vij * t[i] / self.eigenvalues[i];
            }
            let r = delta - recon;
            spe += r * r;
            if let Some(c) = contrib.as_deref_mut() {
                c[j] = (delta * (w_sub + r / self.noise_var)).max(0.0);
            }
            if let Some(e) = resid.as_deref_mut() {
                e[j] = r * r;
            }
        }
        t2 + spe / self.noise_var
    }
}

/// Widest active feature set solved by Jacobi on the covariance directly (exact, and
/// O(d^3) is nothing at the detector's 96 features); wider sets go to linfa's LOBPCG
/// first. On host features (spreads many orders of magnitude apart) LOBPCG met NaN
/// and panicked in most trainings, after 0.6 s: a 24 h retraining at 5 s took
/// 0.88 s CPU through it and 0.26 s with Jacobi alone (`examples/hub_host_costs`), and
/// a hub retrains every host hourly.
const JACOBI_MAX_DIMS: usize = 128;
/// ... and with at least this many rows per dimension: on fewer (the first hour at
/// 1-minute sampling: 60 rows for 96 features) the covariance is rank-deficient, and
/// the exact solution's near-zero residual variance made every small move a large
/// reconstruction error (false events on a synthetic host's first day, where linfa's
/// approximate one did not).
const JACOBI_MIN_ROWS_PER_DIM: usize = 10;

thread_local! {
    /// Set while [`quietly`] runs its closure on this thread.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, catching a panic without the panic hook's message: the message (and a
/// backtrace) went to stderr at every such training, and a hub trains each host every
/// hour, so its log filled with a failure that the fallback handles. The hook of the
/// process is wrapped once and stays as it was for every other panic.
fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result
}

fn linfa_fit(x: &Array2<f64>, k: usize) -> Result<(Array2<f64>, Vec<f64>), DetectError> {
    let n = x.nrows() as f64;
    // linfa's LOBPCG can meet NaN inside its own iterations on finite, sanitised input
    // (the pressure trace's features: columns whose spreads differ by many orders of
    // magnitude) and panics sorting them; that is a failed fit like any other, so the
    // Jacobi fallback takes over instead of the member being switched off.
    let fit = quietly(|| Pca::params(k).fit(&DatasetBase::from(x.clone())))
        .map_err(|_| DetectError::Pca("linfa's eigen-solver panicked".into()))?;
    let pca = fit.map_err(|e| DetectError::Pca(e.to_string()))?;
    let comps = pca.components().to_owned();
    if comps.iter().any(|v| !v.is_finite()) {
        return Err(DetectError::Pca("non-finite components".into()));
    }
    // Variance along a component = sigma^2 / (n - 1) (linfa's explained_variance
    // divides by the component count instead, so compute it here).
    let eig: Vec<f64> = pca
        .singular_values()
        .iter()
        .map(|s| s * s / (n - 1.0))
        .collect();
    let mut order: Vec<usize> = (0..eig.len()).collect();
    order.sort_by(|&a, &b| eig[b].total_cmp(&eig[a]));
    let comps = comps.select(Axis(0), &order);
    let eig = order.iter().map(|&i| eig[i]).collect();
    Ok((comps, eig))
}

/// Cyclic Jacobi on the covariance; returns the top `k` eigenvectors (rows) and values.
fn jacobi_fit(x: &Array2<f64>, mean: &ndarray::Array1<f64>, k: usize) -> (Array2<f64>, Vec<f64>) {
    let d = x.ncols();
    let xc = x - mean;
    let mut a = xc.t().dot(&xc) / (x.nrows() as f64 - 1.0);
    let mut v = Array2::<f64>::eye(d);
    for _sweep in 0..50 {
        let off: f64 = (0..d)
            .flat_map(|p| (0..d).filter(move |&q| q != p).map(move |q| (p, q)))
            .map(|(p, q)| a[[p, q]] * a[[p, q]])
            .sum();
        if off < 1e-18 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                if a[[p, q]].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * a[[p, q]]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..d {
                    let (arp, arq) = (a[[r, p]], a[[r, q]]);
                    a[[r, p]] = c * arp - s * arq;
                    a[[r, q]] = s * arp + c * arq;
                }
                for r in 0..d {
                    let (apr, aqr) = (a[[p, r]], a[[q, r]]);
                    a[[p, r]] = c * apr - s * aqr;
                    a[[q, r]] = s * apr + c * aqr;
                }
                for r in 0..d {
                    let (vrp, vrq) = (v[[r, p]], v[[r, q]]);
                    v[[r, p]] = c * vrp - s * vrq;
                    v[[r, q]] = s * vrp + c * vrq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&i, &j| a[[j, j]].total_cmp(&a[[i, i]]));
    let order = &order[..k.min(d)];
    let comps = v.select(Axis(1), order).t().to_owned();
    let eig = order.iter().map(|&i| a[[i, i]].max(0.0)).collect();
    (comps, eig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn correlated(n: usize) -> Array2<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let mut x = Array2::zeros((n, 4));
        for i in 0..n {
            let a: f64 = rng.gen::<f64>() * 4.0 - 2.0;
            let b: f64 = rng.gen::<f64>() * 2.0 - 1.0;
            x[[i, 0]] = a + 0.05 * rng.gen::<f64>();
            x[[i, 1]] = a + 0.05 * rng.gen::<f64>();
            x[[i, 2]] = b + 0.05 * rng.gen::<f64>();
            x[[i, 3]] = -b + 0.05 * rng.gen::<f64>();
        }
        x
    }

    #[test]
    fn broken_correlation_scores_high_and_is_attributed() {
        let x = correlated(1000);
        let m = PcaModel::fit(x.view(), 0.9, 10_000).unwrap();
        m.validate().unwrap();
        assert_eq!(m.k, 2, "two latent factors");
        let mut t = vec![0.0; m.k];
        let normal = m.score(&[1.0, 1.0, 0.5, -0.5], &mut t, None, None);
        let mut c = vec![0.0; 4];
        let mut e = vec![0.0; 4];
        let odd = m.score(&[1.0, 1.0, 0.5, 0.5], &mut t, Some(&mut c), Some(&mut e));
        assert!(odd > 20.0 * normal.max(1.0), "{odd} vs {normal}");
        let top = (0..4).max_by(|&a, &b| c[a].total_cmp(&c[b])).unwrap();
        assert!(top == 2 || top == 3, "{c:?}");
        assert!(e[0] < e[3]);
    }

    #[test]
    fn non_finite_rows_and_constant_columns_are_sanitised_before_the_solver() {
        // linfa's eigen-solver panics on NaN: such rows never reach it, and a constant
        // column gets no weight (its variance is 0) instead of a degenerate direction.
        let base = correlated(600);
        let mut x = Array2::zeros((600, 6));
        x.slice_mut(s![.., ..4]).assign(&base);
        x.column_mut(4).fill(3.0);
        for i in (0..600).step_by(7) {
            x[[i, 5]] = f64::NAN;
            x[[i, 1]] = f64::INFINITY;
        }
        for i in (0..600).filter(|i| i % 7 != 0) {
            x[[i, 5]] = x[[i, 0]] * 0.5 + 0.01 * (i % 5) as f64;
        }
        let m = std::panic::catch_unwind(|| PcaModel::fit(x.view(), 0.9, 10_000))
            .expect("no panic")
            .expect("fits");
        m.validate().unwrap();
        assert_eq!(m.backend, "jacobi");
        assert!((0..m.k).all(|i| m.components[i * m.d + 4] == 0.0));
        let mut t = vec![0.0; m.k];
        let s = m.score(&[1.0, 1.0, 0.5, -0.5, 3.0, 0.5], &mut t, None, None);
        assert!(s.is_finite() && s < 50.0, "{s}");
        // Nothing finite at all: a clear error, not a panic.
        let all_nan = Array2::from_elem((50, 3), f64::NAN);
        let e = PcaModel::fit(all_nan.view(), 0.9, 10_000).unwrap_err();
        assert!(e.to_string().contains("finite"), "{e}");
    }

    /// The detector's widths with enough rows go to Jacobi; a wider feature set, or too
    /// few rows, to linfa first; the same components are kept either way.
    #[test]
    fn the_solver_follows_the_width() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let d = JACOBI_MAX_DIMS + 8;
        let mut x = Array2::zeros((1_000, d));
        for i in 0..1_000 {
            let (a, b): (f64, f64) = (rng.gen::<f64>() * 4.0 - 2.0, rng.gen::<f64>() - 0.5);
            for j in 0..d {
                x[[i, j]] = if j % 2 == 0 { a } else { b } + 0.01 * rng.gen::<f64>();
            }
        }
        let wide = PcaModel::fit(x.view(), 0.9, 10_000).unwrap();
        assert_eq!(wide.backend, "linfa-reduction");
        let narrow = PcaModel::fit(x.slice(s![.., ..96]), 0.9, 10_000).unwrap();
        assert_eq!(narrow.backend, "jacobi");
        // Fewer than 10 rows a dimension: linfa's approximate solution, as before.
        let short = PcaModel::fit(x.slice(s![..900, ..96]), 0.9, 10_000).unwrap();
        assert_eq!(short.backend, "linfa-reduction");
        // The even columns' direction carries 94 % of the variance: one component in both.
        assert_eq!((wide.k, narrow.k), (1, 1), "{} {}", wide.k, narrow.k);
    }

    #[test]
    fn jacobi_agrees_with_linfa() {
        let x = correlated(500);
        let mean = x.mean_axis(Axis(0)).unwrap();
        let (_, ej) = jacobi_fit(&x, &mean, 2);
        let (_, el) = linfa_fit(&x, 2).unwrap();
        for (a, b) in ej.iter().zip(&el) {
            assert!((a - b).abs() / a < 1e-3, "{ej:?} vs {el:?}");
        }
    }
}
