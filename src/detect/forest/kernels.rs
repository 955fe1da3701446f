//! Batch-scoring kernels over the complete trees (see the module docs of `forest`).

use super::{as_u32, BLOCK, MAX_COMPLETE_DEPTH};
#[cfg(target_arch = "x86_64")]
use super::{KF12_FEAT, KF12_TREE, WIDE, WIDE_DEPTH};

/// Batch-scoring kernel over the complete trees; all give bit-identical scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Portable Rust: 8 rows in lockstep, one scalar load chain each.
    Portable,
    /// The portable walk with each step as four x86-64 instructions (inline asm); the
    /// same as `Portable` on other architectures.
    Scalar,
}

impl Kernel {
    /// Whether this CPU can run the kernel (both run everywhere; kept so callers that
    /// pick a kernel by name have one place to ask).
    pub fn available(self) -> bool {
        true
    }

    /// The fastest kernel: `Scalar`.
    ///
    /// AVX2 and AVX-512 gather kernels were tried and removed: on the Intel Xeon (AVX-512
    /// F + VL) this runs on they score 1.23 and 1.20 M rows per CPU second against the
    /// scalar walk's 2.73 (portable: 1.97), with
    /// `DETECT_BENCH_ONCE=<kernel> DETECT_BENCH_REPS=10 target/release/deps/detect-*`
    /// (the bench binary of `cargo bench --bench detect --no-run`); on an AMD Zen 4 they
    /// lost as well (0.94 and 0.90 against 2.2). A gather costs about as much as its
    /// lanes' scalar loads, and the scalar step is only four instructions.
    pub fn detect() -> Kernel {
        Kernel::Scalar
    }
}

/// One chunk of batch scoring for a kernel: the complete trees and the chunk's rows as
/// transposed blocks of value keys.
pub(super) struct Chunk<'a> {
    /// Per tree `w` u32 threshold keys (`threshold_key`) then `w` u32 feature offsets
    /// (feature index times `lanes`), as in `Complete::trees`.
    pub trees: &'a [u64],
    /// Leaf path lengths, `w` per tree.
    pub leaf: &'a [f32],
    /// Slots per tree (2^depth).
    pub w: usize,
    pub depth: usize,
    /// `acc.len() / BLOCK` blocks of `BLOCK * d` value keys, `[feature][lane]`.
    pub tb: &'a [u32],
    pub d: usize,
    /// Rows per transposed block: [`BLOCK`], or [`WIDE`] for `score_chunk_wide`.
    pub lanes: usize,
}

impl<'a> Chunk<'a> {
    /// u64 words per tree in `trees`.
    fn tree_words(&self) -> usize {
        self.w
    }
    /// Tree k: its threshold keys and feature offsets.
    fn tree(&self, k: usize) -> (&'a [u32], &'a [u32]) {
        let tw = self.tree_words();
        let t = &self.trees[k * tw..(k + 1) * tw];
        (as_u32(&t[..self.w / 2]), as_u32(&t[self.w / 2..]))
    }
}

impl Chunk<'_> {
    /// The shape invariants the kernels rely on (the feature offsets are checked once,
    /// by `validate` before `build_complete`).
    pub(super) fn check(&self, acc: &[f64]) {
        assert!(self.depth >= 1 && self.depth <= MAX_COMPLETE_DEPTH && self.w == 1 << self.depth);
        assert!(self.trees.len().is_multiple_of(self.tree_words()));
        assert!(self.trees.len() / self.tree_words() * self.w == self.leaf.len());
        assert!(acc.len().is_multiple_of(self.lanes) && self.tb.len() == acc.len() * self.d);
        assert!(self.tb.len() <= i32::MAX as usize);
        debug_assert!((0..self.leaf.len() / self.w).all(|k| self
            .tree(k)
            .1
            .iter()
            .all(|&f| (f as usize) < self.lanes * self.d)));
    }
}

/// Portable kernel: per tree, L rows (the chunk's lanes) walk in lockstep
/// (independent load chains).
///
/// # Safety
/// `c` passed [`Chunk::check`], `c.lanes == L` and every feature offset is < L * d.
#[allow(clippy::needless_range_loop)] // j walks L independent rows in lockstep
pub(super) unsafe fn score_chunk_portable<const L: usize>(c: &Chunk, acc: &mut [f64]) {
    assert_eq!(c.lanes, L);
    let w = c.w;
    for k in 0..c.leaf.len() / w {
        let (key, feat) = c.tree(k);
        let leaf = &c.leaf[k * w..(k + 1) * w];
        for (blk, base) in c.tb.chunks_exact(L * c.d).enumerate() {
            let mut cur = [1usize; L];
            for _ in 0..c.depth {
                for j in 0..L {
                    // SAFETY: after s < depth steps cur[j] < 2^(s+1) <= w = key.len() =
                    // feat.len(); feat + j < L * d = base.len().
                    unsafe {
                        let i = cur[j];
                        let f = *feat.get_unchecked(i) as usize;
                        let v = *base.get_unchecked(f + j);
                        cur[j] = i + i + (*key.get_unchecked(i) < v) as usize;
                    }
                }
            }
            let a = &mut acc[blk * L..(blk + 1) * L];
            for j in 0..L {
                // SAFETY: after depth steps w <= cur[j] < 2 w.
                a[j] += unsafe { *leaf.get_unchecked(cur[j] - w) } as f64;
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
pub(super) unsafe fn score_chunk_asm(c: &Chunk, acc: &mut [f64]) {
    assert_eq!(c.lanes, BLOCK);
    let w = c.w;
    for k in 0..c.leaf.len() / w {
        let (keys, feats) = c.tree(k);
        let (key, feat) = (keys.as_ptr(), feats.as_ptr());
        // The tree's leaves shifted by -w, indexed by the final slot (w <= i < 2w).
        let leaf_w = c.leaf[k * w..(k + 1) * w].as_ptr().wrapping_sub(w);
        // Every row starts at the root (slot 1): its key and feature stay in registers.
        let (key1, feat1) = (keys[1], feats[1] as usize);
        for (blk, base) in c.tb.chunks_exact(BLOCK * c.d).enumerate() {
            let base = base.as_ptr();
            let (c0, c1, c2, c3) = (&mut 1usize, &mut 1usize, &mut 1usize, &mut 1usize);
            let (c4, c5, c6, c7) = (&mut 1usize, &mut 1usize, &mut 1usize, &mut 1usize);
            // SAFETY: feat1 + lane < BLOCK * d indexes the block.
            macro_rules! root_step {
                ($i:expr, $lane:literal) => {
                    // SAFETY: see the comment above the macro.
                    unsafe {
                        std::arch::asm!(
                            "cmp {k:e}, dword ptr [{base} + {f}*4 + {off}]",
                            "adc {i}, {i}",
                            i = inout(reg) *$i,
                            k = in(reg) key1,
                            f = in(reg) feat1,
                            base = in(reg) base,
                            off = const $lane * 4,
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
                        // SAFETY: see the comment above the macro.
                        unsafe {
                            std::arch::asm!(
                                "mov {f:e}, dword ptr [{feat} + {i}*4]",
                                "mov {v:e}, dword ptr [{base} + {f}*4 + {off}]",
                                "cmp dword ptr [{key} + {i}*4], {v:e}",
                                "adc {i}, {i}",
                                i = inout(reg) *$i,
                                f = out(reg) _,
                                v = out(reg) _,
                                feat = in(reg) feat,
                                base = in(reg) base,
                                key = in(reg) key,
                                off = const $lane * 4,
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
                a[0] += *leaf_w.wrapping_add(*c0) as f64;
                a[1] += *leaf_w.wrapping_add(*c1) as f64;
                a[2] += *leaf_w.wrapping_add(*c2) as f64;
                a[3] += *leaf_w.wrapping_add(*c3) as f64;
                a[4] += *leaf_w.wrapping_add(*c4) as f64;
                a[5] += *leaf_w.wrapping_add(*c5) as f64;
                a[6] += *leaf_w.wrapping_add(*c6) as f64;
                a[7] += *leaf_w.wrapping_add(*c7) as f64;
            }
        }
    }
}

/// x86-64 kernel for height limit 8 (psi = 256, the default): the steps of
/// [`score_chunk_asm`] for 12 rows at once. Each row's walk is a chain of dependent
/// loads (~11 cycles a level), so throughput grows with the rows in flight; 12 cursors
/// fit in the registers because the levels are unrolled (no counter) and one pointer
/// reaches both the keys and the feature offsets (`Complete::trees`, `KF12_FEAT` bytes
/// apart).
///
/// # Safety
/// As [`score_chunk_portable`], with `c.lanes == WIDE`, `c.depth == WIDE_DEPTH` and
/// feature offsets f * WIDE, f < d.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn score_chunk_wide(c: &Chunk, acc: &mut [f64]) {
    assert!(c.lanes == WIDE && c.depth == WIDE_DEPTH && c.w == 1 << WIDE_DEPTH);
    assert_eq!(c.tree_words(), KF12_TREE);
    let w = c.w;
    for (k, tree) in c.trees.chunks_exact(KF12_TREE).enumerate() {
        let node = tree.as_ptr();
        let leaf_w = c.leaf[k * w..(k + 1) * w].as_ptr().wrapping_sub(w);
        for (blk, base) in c.tb.chunks_exact(WIDE * c.d).enumerate() {
            let base = base.as_ptr();
            let mut cur = [1usize; WIDE];
            let [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11] = &mut cur;
            // The asm blocks are not `pure`, so the compiler keeps them in this order:
            // level by level across the 12 rows, the interleaving the CPU needs.
            // SAFETY: slot i < 256 = w: key at node + 4 i, feature offset (f * 12, f < d)
            // at node + KF12_FEAT + 4 i, both inside this tree's KF12_TREE words; the
            // row's key at base + 4 (offset + lane) < base + 4 * 12 d. The carry of
            // `key < v` (unsigned) is "goes right".
            macro_rules! step {
                ($i:expr, $lane:literal) => {
                    // SAFETY: see the comment above the macro.
                    unsafe {
                        std::arch::asm!(
                            "mov {t:e}, dword ptr [{node} + {i}*4 + {feat}]",
                            "mov {t:e}, dword ptr [{base} + {t}*4 + {off}]",
                            "cmp dword ptr [{node} + {i}*4], {t:e}",
                            "adc {i}, {i}",
                            i = inout(reg) *$i,
                            t = out(reg) _,
                            node = in(reg) node,
                            base = in(reg) base,
                            feat = const KF12_FEAT,
                            off = const $lane * 4,
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
                *a += unsafe { *leaf_w.wrapping_add(i) } as f64;
            }
        }
    }
}
