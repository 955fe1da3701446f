//! Isolation Forest after Liu, Ting & Zhou (2008), "Isolation Forest", ICDM.
//!
//! Layout: every tree lives in one flat arena of 24-byte nodes (children by index, no
//! `Box`), so scoring touches contiguous memory and allocates nothing per row. Leaves
//! point to themselves, which lets the scorer walk every tree
//! for exactly `height_limit` steps without a data-dependent branch; batch scoring
//! walks 8 rows through the same tree at once so their load chains overlap.
//!
//! For scoring, the arena is also unrolled (when `height_limit` <= [`MAX_COMPLETE_DEPTH`])
//! into complete binary trees in heap order (from 1: the children of slot i are 2i and
//! 2i + 1), so a step is `i = 2i + (x[feat[i]] >= thr[i])` with no child loads, and the
//! slots past the last level hold each path's leaf value (depth + c(size)). This copy
//! is derived (not serialised: saved models keep the arena format) and walks exactly
//! the same path as the arena, so scores are bit-identical.
//!
//! Batch scoring compares order-preserving integer keys instead of floats
//! (`threshold_key(thr) < value_key(v)` exactly when `!(v < thr)`, NaN included), so on
//! x86-64 a step is four instructions: load the feature offset, load the row's key,
//! compare with the threshold key, `adc i, i`. Each row's walk is a chain of dependent
//! loads, so throughput comes from walking many rows at once: 12 in the default
//! depth-8 kernel ([`Kernel`] lists the others; all are tested bit-identical).
//!
//! Scores follow the paper: s(x) = 2^(-E(h(x)) / c(psi)), with
//! c(n) = 2 H(n-1) - 2 (n-1) / n and H(i) ~ ln(i) + Euler's gamma.
//!
//! Files: `build` fits the arena and unrolls it, `keys` holds the integer keys of the
//! batch walk, `kernels` the batch-scoring kernels, `score` every way of scoring.

use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, ArrayBase, Data, Ix2};
use serde::{Deserialize, Serialize};

use super::DetectError;

mod build;
mod kernels;
mod keys;
mod score;
#[cfg(test)]
mod tests;

pub use kernels::Kernel;

/// Euler–Mascheroni constant, used in the harmonic-number approximation.
pub const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Rows scored together through one tree (independent load chains for the CPU).
pub(super) const BLOCK: usize = 8;
/// Rows per block of the x86-64 wide kernel (as many cursors as registers allow).
const WIDE: usize = 12;
/// The height limit the wide kernel is unrolled for (psi = 256, the default).
const WIDE_DEPTH: usize = 8;
/// u64 words per tree in `Complete::kf12`: 256 keys, then 256 u32 feature offsets.
const KF12_TREE: usize = (1 << WIDE_DEPTH) * 3 / 2;
/// Byte distance from a tree's keys to its feature offsets in `Complete::kf12`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const KF12_FEAT: usize = (1 << WIDE_DEPTH) * 8;
/// Rows that walk one tree before the next (a multiple of `BLOCK` and of `WIDE`); small
/// enough that the chunk's transposed keys (48 x 38 x 8 B = 14.6 KB) and one tree stay
/// in L1 (measured best among 24 / 48 / 96 / 120 / 264).
const CHUNK: usize = 48;
/// Deepest height limit unrolled into complete trees (2^10 slots, ~20 KB per tree);
/// deeper forests score through the arena.
pub const MAX_COMPLETE_DEPTH: usize = 10;

/// Average path length of an unsuccessful search in a binary search tree of `n`
/// points: the normaliser c(n) of the paper (c(1) = 0, c(2) = 1).
pub fn c_factor(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// Hyper-parameters. Defaults are the paper's: psi = 256, t = 100, l = ceil(log2 psi);
/// the paper shows path lengths converge well before 100 trees and that 256 samples
/// suffice across very different data sets, so they are not tuned per data set here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForestParams {
    pub n_trees: usize,
    pub sample_size: usize,
    /// Height limit; `None` = ceil(log2(sample size)).
    pub height_limit: Option<usize>,
    pub seed: u64,
}

impl Default for IsolationForestParams {
    fn default() -> Self {
        Self {
            n_trees: 100,
            sample_size: 256,
            height_limit: None,
            seed: 0x5EED_1507,
        }
    }
}

/// One node of the arena. Internal: go `left` when `x[feat] < thr`, else `right`.
/// Leaf: both children = itself (so the comparison's outcome does not matter and `thr`
/// is a finite dummy that JSON can carry), `value` = depth + c(leaf size).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Node {
    thr: f64,
    feat: u32,
    left: u32,
    right: u32,
    value: f32,
}

/// Complete-tree copy of the arena (see the module docs), per tree `width` =
/// 2^height_limit split slots (`thr`, `feat`; heap order from 1, slot 0 unused, so the
/// children of i are 2i and 2i + 1) and `width` leaf values.
#[derive(Debug, Clone, PartialEq)]
struct Complete {
    width: usize,
    thr: Vec<f64>,
    /// `threshold_key(thr)`: batch scoring compares integer keys of the row values,
    /// `key < value_key(v)` exactly when `right(v, thr)` is 1.
    key: Vec<u64>,
    /// Feature index times [`BLOCK`]: its offset in a transposed block of rows.
    feat: Vec<u32>,
    leaf: Vec<f64>,
    /// For the x86-64 12-lane kernel (height limit 8 only): per tree 256 threshold keys
    /// followed by 256 feature offsets (f * 12) packed two per u64, so one register
    /// addresses both (`KF12_FEAT` bytes apart).
    kf12: Vec<u64>,
}

/// The serialised fields of [`IsolationForest`]; deserialising goes through it so the
/// derived scoring layout is rebuilt.
#[derive(Deserialize)]
struct ForestRepr {
    n_features: usize,
    psi: usize,
    height_limit: usize,
    roots: Vec<u32>,
    nodes: Vec<Node>,
    sizes: Vec<u32>,
}

impl From<ForestRepr> for IsolationForest {
    fn from(r: ForestRepr) -> Self {
        let mut f = IsolationForest {
            n_features: r.n_features,
            psi: r.psi,
            height_limit: r.height_limit,
            roots: r.roots,
            nodes: r.nodes,
            sizes: r.sizes,
            complete: None,
        };
        f.complete = f.build_complete();
        f
    }
}

/// A fitted forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "ForestRepr")]
pub struct IsolationForest {
    n_features: usize,
    /// psi actually used (min(sample_size, rows)).
    psi: usize,
    height_limit: usize,
    roots: Vec<u32>,
    nodes: Vec<Node>,
    /// Training samples that reached each node (attribution only, kept out of `Node`
    /// so the scoring loop's nodes stay 24 bytes).
    sizes: Vec<u32>,
    /// Scoring layout, derived from the arena; `None` when too deep or inconsistent.
    #[serde(skip)]
    complete: Option<Complete>,
}

impl IsolationForest {
    pub fn n_features(&self) -> usize {
        self.n_features
    }
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }
    pub fn sample_size(&self) -> usize {
        self.psi
    }
    pub fn height_limit(&self) -> usize {
        self.height_limit
    }

    /// Checks indices after deserialisation, so a corrupt file can never make the
    /// unchecked scoring loop read out of bounds.
    pub fn validate(&self) -> Result<(), DetectError> {
        let n = self.nodes.len() as u32;
        let bad = self.roots.iter().any(|&r| r >= n)
            || self.sizes.len() != self.nodes.len()
            || self.n_features == 0
            || self
                .nodes
                .iter()
                .any(|nd| nd.left >= n || nd.right >= n || nd.feat as usize >= self.n_features);
        if bad || self.roots.is_empty() || self.psi < 2 {
            return Err(DetectError::Format(
                "isolation forest arena is inconsistent".into(),
            ));
        }
        Ok(())
    }
}

impl<D: Data<Elem = f64>, T> Fit<ArrayBase<D, Ix2>, T, DetectError> for IsolationForestParams {
    type Object = IsolationForest;

    fn fit(
        &self,
        dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
    ) -> Result<IsolationForest, DetectError> {
        let f = self.fit_array(dataset.records().view())?;
        f.validate()?;
        Ok(f)
    }
}

/// `forest.predict(&x)` / `forest.predict(&dataset)` give one anomaly score per row.
impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for IsolationForest {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        assert_eq!(x.nrows(), y.len(), "one target per row");
        let out = y.as_slice_mut().expect("owned Array1 is contiguous");
        self.score_rows(x.view(), out);
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}
