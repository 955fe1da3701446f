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

use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, ArrayBase, ArrayView2, Data, Ix2};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use super::DetectError;

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

/// 1 when a point with value `v` goes right at threshold `thr` (not `v < thr`, so NaN
/// goes right, as in the arena walk), else 0: the heap-order child offset.
#[inline(always)]
fn right(v: f64, thr: f64) -> usize {
    if v < thr {
        0
    } else {
        1
    }
}

/// Batch-scoring kernel over the complete trees; all give bit-identical scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Portable Rust: 8 rows in lockstep, one scalar load chain each.
    Portable,
    /// The portable walk with each step as four x86-64 instructions (inline asm); the
    /// same as `Portable` on other architectures.
    Scalar,
    /// x86-64 AVX2 gathers, 4 rows per vector.
    Avx2,
    /// x86-64 AVX-512 (F + VL) gathers, 8 rows per vector.
    Avx512,
}

impl Kernel {
    /// Whether this CPU can run the kernel.
    pub fn available(self) -> bool {
        match self {
            Kernel::Portable | Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest available kernel.
    ///
    /// That is `Scalar` everywhere: on the AMD Zen 4 this was measured on, the gather
    /// kernels are slower (AVX2 0.94, AVX-512 0.90, portable 1.55 vs scalar 2.2 M rows
    /// per CPU second, `DETECT_BENCH_ONCE=avx2|avx512|portable|scalar` in
    /// `benches/detect.rs`): a gather costs about as much as its lanes' scalar loads, and
    /// the scalar step is only four instructions.
    pub fn detect() -> Kernel {
        Kernel::Scalar
    }
}

/// Order-preserving unsigned key of a non-NaN f64: for non-NaN `a`, `b`, `a < b`
/// exactly when `order_key(a) < order_key(b)` (-0.0 and +0.0 share a key). Keys lie in
/// [0x000F_FFFF_FFFF_FFFF (-inf), 0xFFF0_0000_0000_0000 (+inf)].
#[inline(always)]
fn order_key(x: f64) -> u64 {
    // x + 0.0 turns -0.0 into +0.0 and leaves every other non-NaN value as it is.
    let b = (x + 0.0).to_bits();
    // Negative floats order backwards in their bits: flip them all; set the sign bit
    // of the others so they sort above.
    b ^ ((((b as i64) >> 63) as u64) | (1 << 63))
}

/// Key of a row value for the batch walk: `order_key + 1`, so that "goes right"
/// (`!(v < thr)`, i.e. `thr <= v`) becomes the strict `threshold_key(thr) < value_key(v)`,
/// one compare whose carry feeds `i = 2i + carry`. NaN sorts above every threshold key,
/// so it goes right, as in `right`.
#[inline(always)]
fn value_key(v: f64) -> u64 {
    let k = order_key(v).wrapping_add(1);
    if v.is_nan() {
        u64::MAX
    } else {
        k
    }
}

/// Key of a split threshold: a NaN threshold (`v < NaN` is false for every v) sorts
/// below every value key, so everything goes right, as in `right`.
fn threshold_key(t: f64) -> u64 {
    if t.is_nan() {
        0
    } else {
        order_key(t)
    }
}

/// One chunk of batch scoring for a kernel: the complete trees and the chunk's rows as
/// transposed blocks of value keys.
pub(super) struct Chunk<'a> {
    /// Threshold keys (`threshold_key`), `w` per tree.
    pub key: &'a [u64],
    /// Feature index times [`BLOCK`], `w` per tree.
    pub feat: &'a [u32],
    /// Leaf path lengths, `w` per tree.
    pub leaf: &'a [f64],
    /// Slots per tree (2^depth).
    pub w: usize,
    pub depth: usize,
    /// `acc.len() / BLOCK` blocks of `BLOCK * d` value keys, `[feature][lane]`.
    pub tb: &'a [u64],
    pub d: usize,
    /// Rows per transposed block: [`BLOCK`], or [`WIDE`] for `score_chunk_wide`.
    pub lanes: usize,
}

impl Chunk<'_> {
    /// The shape invariants the kernels rely on (the feature offsets are checked once,
    /// by `validate` before `build_complete`).
    fn check(&self, acc: &[f64]) {
        assert!(self.depth >= 1 && self.depth <= MAX_COMPLETE_DEPTH && self.w == 1 << self.depth);
        assert!(self.key.len() == self.feat.len() && self.key.len() == self.leaf.len());
        assert!(self.key.len().is_multiple_of(self.w));
        assert!(acc.len().is_multiple_of(self.lanes) && self.tb.len() == acc.len() * self.d);
        assert!(self.tb.len() <= i32::MAX as usize);
        debug_assert!(self.feat.iter().all(|&f| (f as usize) < BLOCK * self.d));
    }
}

/// Portable kernel: per tree, BLOCK rows walk in lockstep (independent load chains).
///
/// # Safety
/// `c` passed [`Chunk::check`] and every `feat` entry is < BLOCK * d.
#[allow(clippy::needless_range_loop)] // j walks BLOCK independent rows in lockstep
unsafe fn score_chunk_portable(c: &Chunk, acc: &mut [f64]) {
    assert_eq!(c.lanes, BLOCK);
    let w = c.w;
    for k in 0..c.key.len() / w {
        let key = &c.key[k * w..(k + 1) * w];
        let feat = &c.feat[k * w..(k + 1) * w];
        let leaf = &c.leaf[k * w..(k + 1) * w];
        for (blk, base) in c.tb.chunks_exact(BLOCK * c.d).enumerate() {
            let mut cur = [1usize; BLOCK];
            for _ in 0..c.depth {
                for j in 0..BLOCK {
                    // SAFETY: after s < depth steps cur[j] < 2^(s+1) <= w = key.len() =
                    // feat.len(); feat + j < BLOCK * d = base.len().
                    unsafe {
                        let i = cur[j];
                        let f = *feat.get_unchecked(i) as usize;
                        let v = *base.get_unchecked(f + j);
                        cur[j] = i + i + (*key.get_unchecked(i) < v) as usize;
                    }
                }
            }
            let a = &mut acc[blk * BLOCK..(blk + 1) * BLOCK];
            for j in 0..BLOCK {
                // SAFETY: after depth steps w <= cur[j] < 2 w.
                a[j] += unsafe { *leaf.get_unchecked(cur[j] - w) };
            }
        }
    }
}

/// x86-64 kernel: the portable walk with each step pinned to four instructions
/// (load the feature offset, load the row's key, compare with the threshold key,
/// `adc i, i`: i = 2i + carry), which LLVM does not find on its own (it spills the
/// eight cursors and materialises the flag with setcc).
///
/// # Safety
/// As [`score_chunk_portable`].
#[cfg(target_arch = "x86_64")]
unsafe fn score_chunk_asm(c: &Chunk, acc: &mut [f64]) {
    assert_eq!(c.lanes, BLOCK);
    let w = c.w;
    for k in 0..c.key.len() / w {
        let key = c.key[k * w..].as_ptr();
        let feat = c.feat[k * w..].as_ptr();
        // The tree's leaves shifted by -w, indexed by the final slot (w <= i < 2w).
        let leaf_w = c.leaf[k * w..(k + 1) * w].as_ptr().wrapping_sub(w);
        // Every row starts at the root (slot 1): its key and feature stay in registers.
        let (key1, feat1) = (c.key[k * w + 1], c.feat[k * w + 1] as usize);
        for (blk, base) in c.tb.chunks_exact(BLOCK * c.d).enumerate() {
            let base = base.as_ptr();
            let (c0, c1, c2, c3) = (&mut 1usize, &mut 1usize, &mut 1usize, &mut 1usize);
            let (c4, c5, c6, c7) = (&mut 1usize, &mut 1usize, &mut 1usize, &mut 1usize);
            // SAFETY: feat1 + lane < BLOCK * d indexes the block.
            macro_rules! root_step {
                ($i:expr, $lane:literal) => {
                    unsafe {
                        std::arch::asm!(
                            "cmp {k}, qword ptr [{base} + {f}*8 + {off}]",
                            "adc {i}, {i}",
                            i = inout(reg) *$i,
                            k = in(reg) key1,
                            f = in(reg) feat1,
                            base = in(reg) base,
                            off = const $lane * 8,
                            options(readonly, nostack),
                        )
                    }
                };
            }
            root_step!(c0, 0);
            root_step!(c1, 1);
            root_step!(c2, 2);
            root_step!(c3, 3);
            root_step!(c4, 4);
            root_step!(c5, 5);
            root_step!(c6, 6);
            root_step!(c7, 7);
            for _ in 1..c.depth {
                // SAFETY: as in `score_chunk_portable`: the slot i < w indexes `key` and
                // `feat` of this tree, feat + lane < BLOCK * d indexes the block. The
                // carry of `key < v` (unsigned) is "goes right".
                macro_rules! step {
                    ($i:expr, $lane:literal) => {
                        unsafe {
                            std::arch::asm!(
                                "mov {f:e}, dword ptr [{feat} + {i}*4]",
                                "mov {v}, qword ptr [{base} + {f}*8 + {off}]",
                                "cmp qword ptr [{key} + {i}*8], {v}",
                                "adc {i}, {i}",
                                i = inout(reg) *$i,
                                f = out(reg) _,
                                v = out(reg) _,
                                feat = in(reg) feat,
                                base = in(reg) base,
                                key = in(reg) key,
                                off = const $lane * 8,
                                options(readonly, nostack),
                            )
                        }
                    };
                }
                step!(c0, 0);
                step!(c1, 1);
                step!(c2, 2);
                step!(c3, 3);
                step!(c4, 4);
                step!(c5, 5);
                step!(c6, 6);
                step!(c7, 7);
            }
            let a = &mut acc[blk * BLOCK..(blk + 1) * BLOCK];
            // SAFETY: after depth steps w <= i < 2 w, so leaf_w + i is in `leaf`.
            unsafe {
                a[0] += *leaf_w.wrapping_add(*c0);
                a[1] += *leaf_w.wrapping_add(*c1);
                a[2] += *leaf_w.wrapping_add(*c2);
                a[3] += *leaf_w.wrapping_add(*c3);
                a[4] += *leaf_w.wrapping_add(*c4);
                a[5] += *leaf_w.wrapping_add(*c5);
                a[6] += *leaf_w.wrapping_add(*c6);
                a[7] += *leaf_w.wrapping_add(*c7);
            }
        }
    }
}

/// x86-64 kernel for height limit 8 (psi = 256, the default): the steps of
/// [`score_chunk_asm`] for 12 rows at once. Each row's walk is a chain of dependent
/// loads (~11 cycles a level), so throughput grows with the rows in flight; 12 cursors
/// fit in the registers because the levels are unrolled (no counter) and one pointer
/// reaches both the keys and the feature offsets (`kf12`, `KF12_FEAT` bytes apart).
///
/// # Safety
/// As [`score_chunk_portable`], with `c.lanes == WIDE`, `c.depth == WIDE_DEPTH` and
/// `kf12` built by `build_complete` for the same trees (feature offsets f * WIDE, f < d).
#[cfg(target_arch = "x86_64")]
unsafe fn score_chunk_wide(c: &Chunk, kf12: &[u64], acc: &mut [f64]) {
    assert!(c.lanes == WIDE && c.depth == WIDE_DEPTH && c.w == 1 << WIDE_DEPTH);
    assert_eq!(kf12.len(), c.key.len() / c.w * KF12_TREE);
    let w = c.w;
    for (k, tree) in kf12.chunks_exact(KF12_TREE).enumerate() {
        let node = tree.as_ptr();
        let leaf_w = c.leaf[k * w..(k + 1) * w].as_ptr().wrapping_sub(w);
        for (blk, base) in c.tb.chunks_exact(WIDE * c.d).enumerate() {
            let base = base.as_ptr();
            let mut cur = [1usize; WIDE];
            let [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11] = &mut cur;
            // The asm blocks are not `pure`, so the compiler keeps them in this order:
            // level by level across the 12 rows, the interleaving the CPU needs.
            // SAFETY: slot i < 256 = w: key at node + 8 i, feature offset (f * 12, f < d)
            // at node + KF12_FEAT + 4 i, both inside this tree's KF12_TREE words; the
            // row's key at base + 8 (offset + lane) < base + 8 * 12 d. The carry of
            // `key < v` (unsigned) is "goes right".
            macro_rules! step {
                ($i:expr, $lane:literal) => {
                    unsafe {
                        std::arch::asm!(
                            "mov {t:e}, dword ptr [{node} + {i}*4 + {feat}]",
                            "mov {t}, qword ptr [{base} + {t}*8 + {off}]",
                            "cmp qword ptr [{node} + {i}*8], {t}",
                            "adc {i}, {i}",
                            i = inout(reg) *$i,
                            t = out(reg) _,
                            node = in(reg) node,
                            base = in(reg) base,
                            feat = const KF12_FEAT,
                            off = const $lane * 8,
                            options(readonly, nostack),
                        )
                    }
                };
            }
            macro_rules! level {
                () => {
                    step!(c0, 0);
                    step!(c1, 1);
                    step!(c2, 2);
                    step!(c3, 3);
                    step!(c4, 4);
                    step!(c5, 5);
                    step!(c6, 6);
                    step!(c7, 7);
                    step!(c8, 8);
                    step!(c9, 9);
                    step!(c10, 10);
                    step!(c11, 11);
                };
            }
            level!();
            level!();
            level!();
            level!();
            level!();
            level!();
            level!();
            level!();
            let a = &mut acc[blk * WIDE..(blk + 1) * WIDE];
            for (a, &i) in a.iter_mut().zip(&cur) {
                // SAFETY: after 8 levels w <= i < 2 w.
                *a += unsafe { *leaf_w.wrapping_add(i) };
            }
        }
    }
}

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

impl IsolationForestParams {
    fn validate(&self) -> Result<(), DetectError> {
        if self.n_trees == 0 || self.sample_size < 2 {
            return Err(DetectError::InvalidParams(
                "isolation forest needs n_trees >= 1 and sample_size >= 2".into(),
            ));
        }
        Ok(())
    }

    /// Fits on the rows of `x` (any layout). NaNs must have been imputed before.
    pub fn fit_array(&self, x: ArrayView2<f64>) -> Result<IsolationForest, DetectError> {
        self.validate()?;
        let (n, d) = x.dim();
        if n < 2 || d == 0 {
            return Err(DetectError::NotEnoughData(format!(
                "isolation forest needs >= 2 rows and >= 1 feature, got {n} x {d}"
            )));
        }
        let psi = self.sample_size.min(n);
        let limit = self
            .height_limit
            .unwrap_or_else(|| (psi as f64).log2().ceil() as usize)
            .max(1);
        let mut b = Builder {
            x,
            nodes: Vec::with_capacity(self.n_trees * 2 * psi),
            sizes: Vec::with_capacity(self.n_trees * 2 * psi),
            limit,
            varying: Vec::with_capacity(d),
        };
        let mut roots = Vec::with_capacity(self.n_trees);
        let mut idx: Vec<usize> = Vec::with_capacity(psi);
        for t in 0..self.n_trees {
            // One stream per tree, derived from the seed: trees are reproducible and
            // independent of each other's consumption (parallel training stays equal).
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                self.seed ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            idx.clear();
            idx.extend(sample(&mut rng, n, psi));
            roots.push(b.build(&mut idx, 0, &mut rng));
        }
        let mut f = IsolationForest {
            n_features: d,
            psi,
            height_limit: limit,
            roots,
            nodes: b.nodes,
            sizes: b.sizes,
            complete: None,
        };
        f.complete = f.build_complete();
        Ok(f)
    }
}

struct Builder<'a> {
    x: ArrayView2<'a, f64>,
    nodes: Vec<Node>,
    sizes: Vec<u32>,
    limit: usize,
    varying: Vec<usize>,
}

impl Builder<'_> {
    fn leaf(&mut self, me: u32, depth: usize, size: usize) -> u32 {
        self.nodes[me as usize] = Node {
            thr: 0.0,
            feat: 0,
            left: me,
            right: me,
            value: (depth as f64 + c_factor(size)) as f32,
        };
        me
    }

    fn range(&self, idx: &[usize], f: usize) -> (f64, f64) {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for &i in idx {
            let v = self.x[[i, f]];
            lo = lo.min(v);
            hi = hi.max(v);
        }
        (lo, hi)
    }

    fn build(&mut self, idx: &mut [usize], depth: usize, rng: &mut Xoshiro256PlusPlus) -> u32 {
        let me = self.nodes.len() as u32;
        self.nodes.push(Node {
            thr: 0.0,
            feat: 0,
            left: 0,
            right: 0,
            value: 0.0,
        });
        self.sizes.push(idx.len() as u32);
        if depth >= self.limit || idx.len() <= 1 {
            return self.leaf(me, depth, idx.len());
        }
        let d = self.x.ncols();
        // The paper picks a random attribute; one that is constant on this node cannot
        // split, so fall back to a uniform pick among the attributes that vary here
        // (as scikit-learn does) instead of wasting the node.
        let mut f = rng.gen_range(0..d);
        let (mut lo, mut hi) = self.range(idx, f);
        if hi <= lo {
            self.varying.clear();
            for g in 0..d {
                let (l, h) = self.range(idx, g);
                if h > l {
                    self.varying.push(g);
                }
            }
            if self.varying.is_empty() {
                return self.leaf(me, depth, idx.len());
            }
            f = self.varying[rng.gen_range(0..self.varying.len())];
            (lo, hi) = self.range(idx, f);
        }
        let u: f64 = rng.gen();
        let mut thr = lo + u * (hi - lo);
        if thr <= lo {
            // u == 0 would put every point right; split mid-way instead.
            thr = lo + 0.5 * (hi - lo);
        }
        // Partition: values < thr first.
        let mut split = 0;
        for k in 0..idx.len() {
            if self.x[[idx[k], f]] < thr {
                idx.swap(k, split);
                split += 1;
            }
        }
        let (l, r) = idx.split_at_mut(split);
        let left = self.build(l, depth + 1, rng);
        let right = self.build(r, depth + 1, rng);
        self.nodes[me as usize] = Node {
            thr,
            feat: f as u32,
            left,
            right,
            value: 0.0,
        };
        me
    }
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

    /// Unrolls every tree into heap order: slot i at level k < limit copies the arena
    /// node reached by the same left/right choices, and the last level copies the value
    /// of the node the arena walk ends on after `height_limit` steps.
    fn build_complete(&self) -> Option<Complete> {
        let l = self.height_limit;
        if l == 0
            || l > MAX_COMPLETE_DEPTH
            || self.validate().is_err()
            || self
                .n_features
                .checked_mul(BLOCK)
                .is_none_or(|m| m > u32::MAX as usize)
        {
            return None;
        }
        let w = 1usize << l;
        let t = self.roots.len();
        let mut c = Complete {
            width: w,
            thr: vec![0.0; t * w],
            key: vec![0; t * w],
            feat: vec![0; t * w],
            leaf: vec![0.0; t * w],
            kf12: Vec::new(),
        };
        // arena[i]: the arena node at heap slot i.
        let mut arena = vec![0u32; 2 * w];
        for (k, &root) in self.roots.iter().enumerate() {
            arena[1] = root;
            for i in 1..w {
                let nd = self.nodes[arena[i] as usize];
                c.thr[k * w + i] = nd.thr;
                c.key[k * w + i] = threshold_key(nd.thr);
                c.feat[k * w + i] = nd.feat * BLOCK as u32;
                arena[2 * i] = nd.left;
                arena[2 * i + 1] = nd.right;
            }
            for i in 0..w {
                c.leaf[k * w + i] = self.nodes[arena[w + i] as usize].value as f64;
            }
        }
        if cfg!(target_arch = "x86_64")
            && l == WIDE_DEPTH
            && self
                .n_features
                .checked_mul(WIDE)
                .is_some_and(|m| m <= u32::MAX as usize)
        {
            c.kf12 = vec![0; t * KF12_TREE];
            for k in 0..t {
                let tree = &mut c.kf12[k * KF12_TREE..(k + 1) * KF12_TREE];
                for i in 1..w {
                    tree[i] = c.key[k * w + i];
                    let f = (c.feat[k * w + i] / BLOCK as u32 * WIDE as u32) as u64;
                    tree[w + i / 2] |= f << (32 * (i % 2));
                }
            }
        }
        Some(c)
    }

    #[inline(always)]
    fn leaf_of(&self, root: u32, row: &[f64]) -> u32 {
        let mut cur = root;
        for _ in 0..self.height_limit {
            // SAFETY: `validate` (run after fit and after deserialisation) guarantees
            // every child index < nodes.len() and every feat < n_features == row.len().
            let nd = unsafe { self.nodes.get_unchecked(cur as usize) };
            let v = unsafe { *row.get_unchecked(nd.feat as usize) };
            cur = if v < nd.thr { nd.left } else { nd.right };
        }
        cur
    }

    /// Mean path length E(h(x)) over the trees.
    pub fn mean_path_length(&self, row: &[f64]) -> f64 {
        assert_eq!(row.len(), self.n_features, "feature count mismatch");
        let mut sum = 0.0f64;
        if let Some(c) = &self.complete {
            let (thr, feat, leaf) = (&c.thr, &c.feat, &c.leaf);
            for k in 0..self.roots.len() {
                let o = k * c.width;
                let mut i = 1usize;
                for _ in 0..self.height_limit {
                    // SAFETY: after s < height_limit steps i < 2^(s+1) <= width, so
                    // o + i < thr.len() == feat.len(); feat / BLOCK < n_features ==
                    // row.len() (checked by `validate` before `complete` was built).
                    unsafe {
                        let f = *feat.get_unchecked(o + i) as usize / BLOCK;
                        let v = *row.get_unchecked(f);
                        i = 2 * i + right(v, *thr.get_unchecked(o + i));
                    }
                }
                // SAFETY: after height_limit steps width <= i < 2 width.
                sum += unsafe { *leaf.get_unchecked(o + i - c.width) };
            }
            return sum / self.roots.len() as f64;
        }
        for &r in &self.roots {
            sum += self.nodes[self.leaf_of(r, row) as usize].value as f64;
        }
        sum / self.roots.len() as f64
    }

    /// Anomaly score of one row, in (0, 1]; ~0.5 or less is normal.
    pub fn score_row(&self, row: &[f64]) -> f64 {
        self.score_from_path(self.mean_path_length(row))
    }

    fn score_from_path(&self, mean_h: f64) -> f64 {
        2f64.powf(-mean_h / c_factor(self.psi))
    }

    /// [`Self::score_slice`] with a chosen kernel (benchmarks and tests compare them);
    /// forests deeper than [`MAX_COMPLETE_DEPTH`] always score through the arena.
    ///
    /// # Panics
    /// If the CPU cannot run `kernel` ([`Kernel::available`]) or the shapes disagree.
    pub fn score_slice_with(&self, kernel: Kernel, data: &[f64], out: &mut [f64]) {
        assert!(
            kernel.available(),
            "{kernel:?} is not supported by this CPU"
        );
        assert_eq!(
            data.len(),
            out.len() * self.n_features,
            "feature count mismatch"
        );
        match &self.complete {
            Some(c) => self.score_slice_complete_with(kernel, c, data, out),
            None => self.score_slice(data, out),
        }
    }

    /// Scores a standard-layout row-major slice of `out.len()` rows.
    ///
    /// Rows go in chunks of [`CHUNK`]: each tree is walked by the whole chunk, 8 or 12
    /// rows in lockstep, before the next tree, so the tree stays in L1 instead of the
    /// whole forest streaming through the cache for every row.
    #[allow(clippy::needless_range_loop)] // j walks 8 independent rows in lockstep
    pub fn score_slice(&self, data: &[f64], out: &mut [f64]) {
        let d = self.n_features;
        assert_eq!(data.len(), out.len() * d, "feature count mismatch");
        if let Some(c) = &self.complete {
            return self.score_slice_complete(c, data, out);
        }
        let n = out.len();
        let full = n / BLOCK * BLOCK;
        let t = self.roots.len() as f64;
        let mut acc_buf = [0.0f64; CHUNK];
        let mut cs = 0;
        while cs < full {
            let ce = (cs + CHUNK).min(full);
            let acc = &mut acc_buf[..ce - cs];
            acc.fill(0.0);
            for &root in &self.roots {
                let mut b = cs;
                while b < ce {
                    let base = &data[b * d..(b + BLOCK) * d];
                    let mut cur = [root; BLOCK];
                    for _ in 0..self.height_limit {
                        for j in 0..BLOCK {
                            // SAFETY: as in `leaf_of`; j * d + feat < BLOCK * d = base.len().
                            let nd = unsafe { self.nodes.get_unchecked(cur[j] as usize) };
                            let v = unsafe { *base.get_unchecked(j * d + nd.feat as usize) };
                            cur[j] = if v < nd.thr { nd.left } else { nd.right };
                        }
                    }
                    for j in 0..BLOCK {
                        acc[b - cs + j] +=
                            unsafe { self.nodes.get_unchecked(cur[j] as usize) }.value as f64;
                    }
                    b += BLOCK;
                }
            }
            for (k, a) in acc.iter().enumerate() {
                out[cs + k] = self.score_from_path(a / t);
            }
            cs = ce;
        }
        for i in full..n {
            out[i] = self.score_row(&data[i * d..(i + 1) * d]);
        }
    }

    /// [`Self::score_slice`] on the complete trees: same chunking, same summation order,
    /// with the fastest [`Kernel`] this CPU has.
    fn score_slice_complete(&self, c: &Complete, data: &[f64], out: &mut [f64]) {
        self.score_slice_complete_with(Kernel::detect(), c, data, out)
    }

    fn score_slice_complete_with(
        &self,
        kernel: Kernel,
        c: &Complete,
        data: &[f64],
        out: &mut [f64],
    ) {
        let d = self.n_features;
        let n = out.len();
        let wide = cfg!(target_arch = "x86_64") && kernel == Kernel::Scalar && !c.kf12.is_empty();
        let lanes = if wide { WIDE } else { BLOCK };
        let full = n / lanes * lanes;
        let t = self.roots.len() as f64;
        let w = c.width;
        let mut acc_buf = [0.0f64; CHUNK];
        // The chunk's rows, transposed per block of BLOCK rows: [block][feature][lane], so
        // lane j of a block reads feature f at the constant offset f * BLOCK + j.
        // Values become `value_key`s, so a step compares integers.
        let mut tbuf = vec![0u64; CHUNK.min(full) * d];
        let mut kbuf = vec![0u64; CHUNK.min(full) * d];
        let cn = c_factor(self.psi);
        let mut cs = 0;
        while cs < full {
            let ce = (cs + CHUNK).min(full);
            let acc = &mut acc_buf[..ce - cs];
            acc.fill(0.0);
            let tb = &mut tbuf[..(ce - cs) * d];
            // Keys row by row (a contiguous loop the compiler vectorises), then a plain
            // transpose of each block.
            let kb = &mut kbuf[..(ce - cs) * d];
            for (k, &v) in kb.iter_mut().zip(&data[cs * d..ce * d]) {
                *k = value_key(v);
            }
            for (dst, src) in tb
                .chunks_exact_mut(lanes * d)
                .zip(kb.chunks_exact(lanes * d))
            {
                for (f, ls) in dst.chunks_exact_mut(lanes).enumerate() {
                    for (j, l) in ls.iter_mut().enumerate() {
                        *l = src[j * d + f];
                    }
                }
            }
            let chunk = Chunk {
                key: &c.key,
                feat: &c.feat,
                leaf: &c.leaf,
                w,
                depth: self.height_limit,
                tb,
                d,
                lanes,
            };
            chunk.check(acc);
            // SAFETY: `chunk` passed `check`, `feat` entries are f * BLOCK with f < d
            // (`build_complete`), and `score_slice_with` / `detect` only pass kernels
            // that `Kernel::available` accepted.
            unsafe {
                match kernel {
                    Kernel::Portable => score_chunk_portable(&chunk, acc),
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Scalar if wide => score_chunk_wide(&chunk, &c.kf12, acc),
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Scalar => score_chunk_asm(&chunk, acc),
                    #[cfg(not(target_arch = "x86_64"))]
                    Kernel::Scalar => score_chunk_portable(&chunk, acc),
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Avx2 => super::forest_simd::score_chunk_avx2(&chunk, acc),
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Avx512 => super::forest_simd::score_chunk_avx512(&chunk, acc),
                    #[cfg(not(target_arch = "x86_64"))]
                    Kernel::Avx2 | Kernel::Avx512 => unreachable!("x86-64 only"),
                }
            }
            for (o, a) in out[cs..ce].iter_mut().zip(acc.iter()) {
                // `score_from_path` with c(psi) computed once.
                *o = 2f64.powf(-(a / t) / cn);
            }
            cs = ce;
        }
        for i in full..n {
            out[i] = self.score_row(&data[i * d..(i + 1) * d]);
        }
    }

    /// Scores every row of `x`.
    pub fn score_rows(&self, x: ArrayView2<f64>, out: &mut [f64]) {
        assert_eq!(x.ncols(), self.n_features, "feature count mismatch");
        assert_eq!(x.nrows(), out.len());
        match x.as_slice() {
            Some(s) => self.score_slice(s, out),
            None => {
                let owned = x.as_standard_layout();
                self.score_slice(owned.as_slice().expect("standard layout"), out)
            }
        }
    }

    /// Path-depth attribution: for each feature, the isolation gained by the splits on
    /// it along x's path, log2(node size / child size) bits, averaged over trees. The
    /// bits along a path add up to log2(psi / leaf size), i.e. exactly how much the
    /// path was shortened relative to a point that stays with the crowd, so a feature
    /// that isolated x early (big jump to a small child) gets most of the credit.
    /// Features merely crossed on the way (balanced splits) get little.
    pub fn attribution(&self, row: &[f64], out: &mut [f64]) {
        assert_eq!(row.len(), self.n_features);
        assert_eq!(out.len(), self.n_features);
        out.iter_mut().for_each(|o| *o = 0.0);
        for &root in &self.roots {
            let mut cur = root as usize;
            for _ in 0..self.height_limit {
                let nd = self.nodes[cur];
                if nd.left as usize == cur {
                    break;
                }
                let next = if row[nd.feat as usize] < nd.thr {
                    nd.left
                } else {
                    nd.right
                } as usize;
                let (n0, n1) = (
                    self.sizes[cur].max(1) as f64,
                    self.sizes[next].max(1) as f64,
                );
                out[nd.feat as usize] += (n0 / n1).log2();
                cur = next;
            }
        }
        let t = self.roots.len() as f64;
        out.iter_mut().for_each(|o| *o /= t);
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

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::traits::Predict;
    use ndarray::Array2;

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
        for &t in &vals {
            for &v in &vals {
                let want = right(v, t) == 1;
                assert_eq!(threshold_key(t) < value_key(v), want, "v {v:e} thr {t:e}");
                if !v.is_nan() && !t.is_nan() {
                    assert_eq!(order_key(v) < order_key(t), v < t, "{v:e} < {t:e}");
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
        let kernels: Vec<Kernel> = [
            Kernel::Portable,
            Kernel::Scalar,
            Kernel::Avx2,
            Kernel::Avx512,
        ]
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
                    x[[i, f]] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0]
                        [rng.gen_range(0..5)];
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
                let f = IsolationForestParams {
                    n_trees: trees,
                    sample_size: 256,
                    height_limit: limit,
                    seed: n as u64,
                }
                .fit_array(data.view())
                .unwrap();
                let c = f.complete.as_ref().unwrap();
                // The default depth uses the 12-row x86-64 kernel, the others 8 rows.
                assert_eq!(c.kf12.is_empty(), f.height_limit() != WIDE_DEPTH);
                let arena = IsolationForest {
                    complete: None,
                    ..f.clone()
                };
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
            .fit_array(with_inf.view())
            .unwrap();
        assert!(f.nodes.iter().any(|nd| nd.thr.is_nan()));
    }

    #[test]
    fn complete_trees_score_bit_identically_to_the_arena() {
        let x = gaussian_blob(1003, 5, 5);
        for limit in [Some(1), Some(3), None, Some(10), Some(12)] {
            let f = IsolationForestParams {
                n_trees: 25,
                height_limit: limit,
                ..Default::default()
            }
            .fit_array(x.view())
            .unwrap();
            assert_eq!(f.complete.is_some(), f.height_limit() <= MAX_COMPLETE_DEPTH);
            let arena = IsolationForest {
                complete: None,
                ..f.clone()
            };
            let (mut a, mut b) = (vec![0.0; x.nrows()], vec![0.0; x.nrows()]);
            f.score_rows(x.view(), &mut a);
            arena.score_rows(x.view(), &mut b);
            for i in 0..x.nrows() {
                assert_eq!(a[i].to_bits(), b[i].to_bits(), "row {i}");
                let r = x.row(i).to_vec();
                assert_eq!(f.score_row(&r).to_bits(), arena.score_row(&r).to_bits());
            }
            let nan = [f64::NAN, 0.0, f64::INFINITY, -1.0, 1e300];
            assert_eq!(f.score_row(&nan).to_bits(), arena.score_row(&nan).to_bits());
            // Deserialising rebuilds the scoring layout.
            let g: IsolationForest =
                serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
            assert_eq!(f, g);
        }
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
}
