//! x86-64 vector kernels for batch scoring through the complete trees of
//! [`super::forest`]: each lane walks one row, a tree level is a few gathers (the split
//! slot's feature and threshold, then the row's value of that feature), one compare and
//! `i = 2i + right`. Every row of a block walks exactly `depth` levels of a complete
//! tree, so there is no branch on the data.
//!
//! The compare is `threshold_key(thr) < value_key(v)` on order-preserving integer keys,
//! the same predicate as the scalar walk (`!(v < thr)`, NaN goes right), and each row's
//! leaf values are added in tree order in f64, so the scores are bit-identical to the
//! scalar path.
//!
//! Layout shared with the scalar path: `tb` holds the value keys of blocks of 8
//! rows transposed as `[feature][lane]`; `feat` holds feature index times 8; per tree
//! `w` slots of `thr`/`feat` (heap order from 1) and `w` leaf values.

use std::arch::x86_64::*;

/// Rows per transposed block (`forest::BLOCK`).
const B: usize = super::forest::BLOCK;

use super::forest::Chunk;

/// AVX2: four rows per vector (64-bit lanes), four vectors (two blocks) in flight.
///
/// # Safety
/// The CPU must support AVX2; `c` passed `Chunk::check` and every `feat` entry is < 8 d.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn score_chunk_avx2(c: &Chunk, acc: &mut [f64]) {
    assert_eq!(c.lanes, B);
    let (w, d) = (c.w, c.d);
    let rows = acc.len();
    let lanes_lo = _mm256_set_epi64x(3, 2, 1, 0);
    let lanes_hi = _mm256_set_epi64x(7, 6, 5, 4);
    let wv = _mm256_set1_epi64x(w as i64);
    let ones = _mm256_set1_epi64x(1);
    let sign = _mm256_set1_epi64x(i64::MIN);
    // One level for one vector of four rows whose values start at `base`.
    macro_rules! step {
        ($cur:ident, $tp:ident, $fp:ident, $base:expr, $lanes:ident) => {{
            let f = _mm256_cvtepu32_epi64(_mm256_i64gather_epi32::<4>($fp, $cur));
            let t = _mm256_i64gather_epi64::<8>($tp, $cur);
            let v = _mm256_i64gather_epi64::<8>($base, _mm256_add_epi64(f, $lanes));
            // Unsigned t < v as a signed compare of both with the top bit flipped;
            // right is all ones (-1) or 0: i = 2i + 1 or 2i.
            let right = _mm256_cmpgt_epi64(_mm256_xor_si256(v, sign), _mm256_xor_si256(t, sign));
            $cur = _mm256_sub_epi64(_mm256_add_epi64($cur, $cur), right);
        }};
    }
    macro_rules! add_leaf {
        ($cur:ident, $lp:ident, $at:expr) => {{
            let l = _mm256_i64gather_pd::<8>($lp, _mm256_sub_epi64($cur, wv));
            let a = acc.as_mut_ptr().add($at);
            _mm256_storeu_pd(a, _mm256_add_pd(_mm256_loadu_pd(a), l));
        }};
    }
    for k in 0..c.key.len() / w {
        // SAFETY (all gathers): after s < depth levels every lane's slot is < 2^(s+1) <=
        // w, after depth levels w <= slot < 2w (so slot - w indexes the tree's leaves);
        // feat + lane < 8 d indexes the block (checked above).
        let tp = c.key.as_ptr().add(k * w) as *const i64;
        let fp = c.feat.as_ptr().add(k * w) as *const i32;
        let lp = c.leaf.as_ptr().add(k * w);
        let mut r = 0;
        while r + 2 * B <= rows {
            let b0 = c.tb.as_ptr().add(r * d) as *const i64;
            let b1 = b0.add(B * d);
            let (mut c0, mut c1, mut c2, mut c3) = (ones, ones, ones, ones);
            for _ in 0..c.depth {
                step!(c0, tp, fp, b0, lanes_lo);
                step!(c1, tp, fp, b0, lanes_hi);
                step!(c2, tp, fp, b1, lanes_lo);
                step!(c3, tp, fp, b1, lanes_hi);
            }
            add_leaf!(c0, lp, r);
            add_leaf!(c1, lp, r + 4);
            add_leaf!(c2, lp, r + 8);
            add_leaf!(c3, lp, r + 12);
            r += 2 * B;
        }
        if r < rows {
            let b0 = c.tb.as_ptr().add(r * d) as *const i64;
            let (mut c0, mut c1) = (ones, ones);
            for _ in 0..c.depth {
                step!(c0, tp, fp, b0, lanes_lo);
                step!(c1, tp, fp, b0, lanes_hi);
            }
            add_leaf!(c0, lp, r);
            add_leaf!(c1, lp, r + 4);
        }
    }
}

/// AVX-512 (F + VL): eight rows per vector (one block), two blocks in flight.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512VL; `c` passed `Chunk::check` and every
/// `feat` entry is < 8 d.
#[target_feature(enable = "avx2,avx512f,avx512vl")]
pub(super) unsafe fn score_chunk_avx512(c: &Chunk, acc: &mut [f64]) {
    assert_eq!(c.lanes, B);
    let (w, d) = (c.w, c.d);
    let rows = acc.len();
    let lanes = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    let wv = _mm256_set1_epi32(w as i32);
    let ones = _mm256_set1_epi32(1);
    macro_rules! step {
        ($cur:ident, $tp:ident, $fp:ident, $base:expr) => {{
            let f = _mm256_i32gather_epi32::<4>($fp, $cur);
            let t = _mm512_i32gather_epi64::<8>($cur, $tp);
            let v = _mm512_i32gather_epi64::<8>(_mm256_add_epi32(f, lanes), $base);
            let right = _mm512_cmplt_epu64_mask(t, v);
            let twice = _mm256_add_epi32($cur, $cur);
            $cur = _mm256_mask_add_epi32(twice, right, twice, ones);
        }};
    }
    macro_rules! add_leaf {
        ($cur:ident, $lp:ident, $at:expr) => {{
            let l = _mm512_i32gather_pd::<8>(_mm256_sub_epi32($cur, wv), $lp);
            let a = acc.as_mut_ptr().add($at);
            _mm512_storeu_pd(a, _mm512_add_pd(_mm512_loadu_pd(a), l));
        }};
    }
    for k in 0..c.key.len() / w {
        // SAFETY: as in `score_chunk_avx2`.
        let tp = c.key.as_ptr().add(k * w) as *const i64;
        let fp = c.feat.as_ptr().add(k * w) as *const i32;
        let lp = c.leaf.as_ptr().add(k * w);
        let mut r = 0;
        while r + 2 * B <= rows {
            let b0 = c.tb.as_ptr().add(r * d) as *const i64;
            let b1 = b0.add(B * d);
            let (mut c0, mut c1) = (ones, ones);
            for _ in 0..c.depth {
                step!(c0, tp, fp, b0);
                step!(c1, tp, fp, b1);
            }
            add_leaf!(c0, lp, r);
            add_leaf!(c1, lp, r + B);
            r += 2 * B;
        }
        if r < rows {
            let b0 = c.tb.as_ptr().add(r * d) as *const i64;
            let mut c0 = ones;
            for _ in 0..c.depth {
                step!(c0, tp, fp, b0);
            }
            add_leaf!(c0, lp, r);
        }
    }
}
