//! Order-preserving integer keys: the batch walk compares `u32`s instead of floats,
//! with NaN going right exactly as in the float walk.
//!
//! Thresholds are f32 values (the fit rounds each split to one, `build.rs`), so a key
//! is 4 bytes: a hub holds one forest per host, and the keys were 200 KiB of a
//! host's 450 KiB forest as u64. A row value `v` goes right at threshold `t` when
//! `t <= v`; for an f32 `t` that is exactly `t <= floor32(v)`, with `floor32(v)` the
//! largest f32 not above `v`, so rows keep their f64 values and the walk loses nothing.

/// 1 when a point with value `v` goes right at threshold `thr` (not `v < thr`, so NaN
/// goes right, as in the arena walk), else 0: the heap-order child offset. The walks
/// compare keys; tests check the keys against this float rule.
#[cfg(test)]
pub(super) fn right(v: f64, thr: f64) -> usize {
    if v < thr {
        0
    } else {
        1
    }
}

/// Order-preserving unsigned key of a non-NaN f32: for non-NaN `a`, `b`, `a < b`
/// exactly when `order_key(a) < order_key(b)` (-0.0 and +0.0 share a key). Keys lie in
/// [0x007F_FFFF (-inf), 0xFF80_0000 (+inf)].
#[inline(always)]
pub(super) fn order_key(x: f32) -> u32 {
    // x + 0.0 turns -0.0 into +0.0 and leaves every other non-NaN value as it is.
    let b = (x + 0.0).to_bits();
    // Negative floats order backwards in their bits: flip them all; set the sign bit
    // of the others so they sort above.
    b ^ ((((b as i32) >> 31) as u32) | (1 << 31))
}

/// Key of a row value for the batch walk: `order_key(floor32(v)) + 1`, with
/// `floor32(v)` the largest f32 not above `v`, so that "goes
/// right" (`!(v < thr)`, i.e. `thr <= v`) becomes the strict
/// `threshold_key(thr) < value_key(v)`, one compare whose carry feeds `i = 2i + carry`.
/// NaN sorts above every threshold key, so it goes right, as in `right`.
#[inline(always)]
pub(super) fn value_key(v: f64) -> u32 {
    // Branch-free `order_key(floor32(v)) + 1`: when the nearest f32 `f` is above `v`,
    // `order_key(f)` instead of `order_key(f.next_down()) + 1`. The two differ only
    // at f = +0.0 (-0.0 shares its key, so the key under it is unused), and a
    // threshold key is never that unused key: every compare comes out the same.
    let f = v as f32;
    let k = order_key(f)
        .wrapping_add(1)
        .wrapping_sub(u32::from(f64::from(f) > v));
    if v.is_nan() {
        u32::MAX
    } else {
        k
    }
}

/// Key of a split threshold: a NaN threshold (`v < NaN` is false for every v) sorts
/// below every value key, so everything goes right, as in `right`.
pub(super) fn threshold_key(t: f32) -> u32 {
    if t.is_nan() {
        0
    } else {
        order_key(t)
    }
}

/// The threshold a key was made from (`threshold_key(threshold_of_key(k)) == k` for
/// every key `threshold_key` gives), for writing complete trees to a model file: -0.0
/// comes back as +0.0 and a NaN threshold as a NaN, which compare like them.
pub(super) fn threshold_of_key(k: u32) -> f32 {
    if k == 0 {
        return f32::NAN;
    }
    // Inverse of `order_key`: keys with the top bit set were non-negative floats.
    let b = if k >> 31 == 1 { k ^ (1 << 31) } else { !k };
    f32::from_bits(b)
}
