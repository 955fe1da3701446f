//! Isolation Forest after Liu, Ting & Zhou (2008), "Isolation Forest", ICDM.
//!
//! Layout: fitting grows every tree in one flat arena of 24-byte nodes (children by
//! index, no `Box`); leaves point to themselves, which lets a walk take exactly
//! `height_limit` steps without a data-dependent branch.
//!
//! A fitted forest keeps only one layout (issue 13: the hub holds one model per host).
//! When `height_limit` <= [`MAX_COMPLETE_DEPTH`] the arena is unrolled into complete
//! binary trees in heap order (from 1: the children of slot i are 2i and 2i + 1), so a
//! step is `i = 2i + (x[feat[i]] >= thr[i])` with no child loads, the slots past the
//! last level hold each path's leaf value (depth + c(size), an f32 as in the arena), and
//! the training sizes of every slot are kept for the attribution (a byte each at psi
//! <= 256, else two); the arena is
//! then dropped. The complete trees walk exactly the arena's paths, so scores and
//! attributions are bit-identical (`tests.rs` compares them with an arena kept for
//! reference). Deeper forests keep the arena and score through it.
//! Per tree of the default depth 8: 256 threshold keys and 256 feature offsets (2 KB:
//! thresholds are f32, see `keys`), 256 leaf values (1 KB) and 512 sizes (0.5 KB),
//! 0.35 MB for 100 trees (0.45 MB with u64 keys until session 13), against 2.4 MB for
//! the arena plus the scoring copy of session 9.
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
//! Model files written before session 10 carry the arena (`nodes`, `sizes`); they load
//! and are unrolled like a fresh fit. Files now carry the complete trees.
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
/// u64 words per tree of depth 8 in `Complete::trees`: 256 u32 keys, then 256 u32
/// feature offsets.
const KF12_TREE: usize = 1 << WIDE_DEPTH;
/// Byte distance from a depth-8 tree's keys to its feature offsets in `Complete::trees`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const KF12_FEAT: usize = (1 << WIDE_DEPTH) * 4;
/// Rows that walk one tree before the next (a multiple of `BLOCK` and of `WIDE`); small
/// enough that the chunk's transposed keys (48 x 38 x 4 B = 7.3 KB) and one tree stay
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

/// The arena a forest is grown in (and kept for forests too deep to unroll).
#[derive(Debug, Clone, PartialEq)]
struct Arena {
    roots: Vec<u32>,
    nodes: Vec<Node>,
    /// Training samples that reached each node (attribution only, kept out of `Node`
    /// so the scoring loop's nodes stay 24 bytes).
    sizes: Vec<u32>,
}

/// Complete trees (see the module docs), `width` = 2^height_limit slots per tree.
#[derive(Debug, Clone, PartialEq)]
struct Complete {
    width: usize,
    /// Rows per transposed block of the batch walk ([`BLOCK`], or [`WIDE`] for the
    /// x86-64 12-row kernel at depth 8): feature offsets are `f * stride`.
    stride: usize,
    /// Per tree [`Complete::tree_words`] u64: `width` u32 threshold keys
    /// (`threshold_key(thr)`, slot 0 unused; `key < value_key(v)` exactly when the row
    /// goes right), then `width` u32 feature offsets (`f * stride`), so one register
    /// addresses both (`width * 4` bytes apart).
    trees: Vec<u64>,
    /// Per tree `width` leaf path lengths, indexed by final slot - width.
    leaf: Vec<f32>,
    /// Per tree `2 * width` training sizes of the node at each slot (slot 0 unused):
    /// attribution only.
    size: Sizes,
}

/// Training sizes of the complete trees' slots as the attribution reads them,
/// max(size, 1) (a child left empty by its split counts as 1): one byte each, minus
/// one, when none is over 256 (psi <= 256, the default), else two.
#[derive(Debug, Clone, PartialEq)]
enum Sizes {
    Byte(Vec<u8>),
    Wide(Vec<u16>),
}

impl Sizes {
    fn pack(sizes: Vec<u16>) -> Sizes {
        if sizes.iter().all(|&s| s <= 256) {
            Sizes::Byte(sizes.iter().map(|&s| (s.max(1) - 1) as u8).collect())
        } else {
            Sizes::Wide(sizes.iter().map(|&s| s.max(1)).collect())
        }
    }
    /// max(size, 1) of slot i.
    fn get(&self, i: usize) -> u16 {
        match self {
            Sizes::Byte(v) => v[i] as u16 + 1,
            Sizes::Wide(v) => v[i],
        }
    }
    fn len(&self) -> usize {
        match self {
            Sizes::Byte(v) => v.len(),
            Sizes::Wide(v) => v.len(),
        }
    }
}

impl Complete {
    fn tree_words(&self) -> usize {
        self.width
    }
    fn n_trees(&self) -> usize {
        self.trees.len() / self.tree_words()
    }
    /// Threshold keys of tree k.
    fn keys(&self, k: usize) -> &[u32] {
        let tw = self.tree_words();
        as_u32(&self.trees[k * tw..k * tw + self.width / 2])
    }
    /// Feature offsets (`f * stride`) of tree k.
    fn feats(&self, k: usize) -> &[u32] {
        let tw = self.tree_words();
        as_u32(&self.trees[k * tw + self.width / 2..(k + 1) * tw])
    }
}

/// The u32 view of u64 words (native order, so writes and reads through it agree).
fn as_u32(w: &[u64]) -> &[u32] {
    // SAFETY: u64 is at least as aligned as u32, every bit pattern is a valid u32, and
    // the view covers exactly the same bytes for the same lifetime.
    unsafe { std::slice::from_raw_parts(w.as_ptr().cast::<u32>(), w.len() * 2) }
}

fn as_u32_mut(w: &mut [u64]) -> &mut [u32] {
    // SAFETY: as in `as_u32`, with the unique borrow passed on.
    unsafe { std::slice::from_raw_parts_mut(w.as_mut_ptr().cast::<u32>(), w.len() * 2) }
}

#[derive(Debug, Clone, PartialEq)]
enum Layout {
    Arena(Arena),
    Complete(Complete),
}

/// The serialised form of [`IsolationForest`]: the arena (files of session 9 and
/// before, and forests too deep to unroll) or the complete trees (`thr`, `feat` as
/// plain feature indices, `leaf`, `size`, each per tree as in [`Complete`]).
#[derive(Serialize, Deserialize)]
struct ForestRepr {
    n_features: usize,
    psi: usize,
    height_limit: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    roots: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nodes: Option<Vec<Node>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sizes: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thr: Option<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feat: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    leaf: Option<Vec<f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<Vec<u16>>,
}

impl TryFrom<ForestRepr> for IsolationForest {
    type Error = DetectError;
    fn try_from(r: ForestRepr) -> Result<Self, DetectError> {
        let bad = || DetectError::Format("isolation forest file has no complete layout".into());
        let f = match (r.roots, r.nodes, r.sizes) {
            (Some(roots), Some(nodes), Some(sizes)) => {
                let f = IsolationForest {
                    n_features: r.n_features,
                    psi: r.psi,
                    height_limit: r.height_limit,
                    layout: Layout::Arena(Arena {
                        roots,
                        nodes,
                        sizes,
                    }),
                };
                // Checked before unrolling, which indexes the arena.
                f.validate()?;
                f.compact()
            }
            _ => IsolationForest::from_complete(
                r.n_features,
                r.psi,
                r.height_limit,
                r.thr.ok_or_else(bad)?,
                r.feat.ok_or_else(bad)?,
                r.leaf.ok_or_else(bad)?,
                r.size.ok_or_else(bad)?,
            )?,
        };
        f.validate()?;
        Ok(f)
    }
}

impl From<&IsolationForest> for ForestRepr {
    fn from(f: &IsolationForest) -> Self {
        let mut r = ForestRepr {
            n_features: f.n_features,
            psi: f.psi,
            height_limit: f.height_limit,
            roots: None,
            nodes: None,
            sizes: None,
            thr: None,
            feat: None,
            leaf: None,
            size: None,
        };
        match &f.layout {
            Layout::Arena(a) => {
                r.roots = Some(a.roots.clone());
                r.nodes = Some(a.nodes.clone());
                r.sizes = Some(a.sizes.clone());
            }
            Layout::Complete(c) => {
                let (mut thr, mut feat) = (Vec::new(), Vec::new());
                for k in 0..c.n_trees() {
                    // Slot 0 is unused (key 0, which would read as a NaN threshold).
                    thr.push(0.0);
                    thr.extend(
                        c.keys(k)[1..]
                            .iter()
                            .map(|&key| f64::from(keys::threshold_of_key(key))),
                    );
                    feat.extend(c.feats(k).iter().map(|&o| o / c.stride as u32));
                }
                r.thr = Some(thr);
                r.feat = Some(feat);
                r.leaf = Some(c.leaf.clone());
                r.size = Some((0..c.size.len()).map(|i| c.size.get(i)).collect());
            }
        }
        r
    }
}

impl Serialize for IsolationForest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ForestRepr::from(self).serialize(s)
    }
}

/// A fitted forest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ForestRepr")]
pub struct IsolationForest {
    n_features: usize,
    /// psi actually used (min(sample_size, rows)).
    psi: usize,
    height_limit: usize,
    layout: Layout,
}

impl IsolationForest {
    pub fn n_features(&self) -> usize {
        self.n_features
    }
    pub fn n_trees(&self) -> usize {
        match &self.layout {
            Layout::Arena(a) => a.roots.len(),
            Layout::Complete(c) => c.n_trees(),
        }
    }
    pub fn sample_size(&self) -> usize {
        self.psi
    }
    pub fn height_limit(&self) -> usize {
        self.height_limit
    }

    /// Whether the forest scores through complete trees (else through its arena).
    pub fn is_complete(&self) -> bool {
        matches!(self.layout, Layout::Complete(_))
    }

    /// Checks indices after deserialisation, so a corrupt file can never make the
    /// unchecked scoring loop read out of bounds.
    pub fn validate(&self) -> Result<(), DetectError> {
        let bad = match &self.layout {
            Layout::Arena(a) => {
                let n = a.nodes.len() as u32;
                a.roots.is_empty()
                    || a.roots.iter().any(|&r| r >= n)
                    || a.sizes.len() != a.nodes.len()
                    || a.nodes.iter().any(|nd| {
                        nd.left >= n || nd.right >= n || nd.feat as usize >= self.n_features
                    })
            }
            Layout::Complete(c) => {
                let w = c.width;
                let t = c.trees.len() / c.tree_words().max(1);
                self.height_limit == 0
                    || self.height_limit > MAX_COMPLETE_DEPTH
                    || w != 1 << self.height_limit
                    || !(c.stride == BLOCK || c.stride == WIDE)
                    || self
                        .n_features
                        .checked_mul(c.stride)
                        .is_none_or(|m| m > u32::MAX as usize)
                    || t == 0
                    || c.trees.len() != t * c.tree_words()
                    || c.leaf.len() != t * w
                    || c.size.len() != t * 2 * w
                    || (0..t).any(|k| {
                        c.feats(k)
                            .iter()
                            .any(|&o| o as usize >= self.n_features * c.stride)
                    })
            }
        };
        if bad || self.n_features == 0 || self.psi < 2 {
            return Err(DetectError::Format(
                "isolation forest layout is inconsistent".into(),
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
