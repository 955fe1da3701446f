//! Order-preserving integer keys: the batch walk compares `u64`s instead of floats,
//! with NaN going right exactly as in the float walk.

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

/// Order-preserving unsigned key of a non-NaN f64: for non-NaN `a`, `b`, `a < b`
/// exactly when `order_key(a) < order_key(b)` (-0.0 and +0.0 share a key). Keys lie in
/// [0x000F_FFFF_FFFF_FFFF (-inf), 0xFFF0_0000_0000_0000 (+inf)].
#[inline(always)]
pub(super) fn order_key(x: f64) -> u64 {
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
pub(super) fn value_key(v: f64) -> u64 {
    let k = order_key(v).wrapping_add(1);
    if v.is_nan() {
        u64::MAX
    } else {
        k
    }
}

/// Key of a split threshold: a NaN threshold (`v < NaN` is false for every v) sorts
/// below every value key, so everything goes right, as in `right`.
pub(super) fn threshold_key(t: f64) -> u64 {
    if t.is_nan() {
        0
    } else {
        order_key(t)
    }
}

/// The threshold a key was made from (`threshold_key(threshold_of_key(k)) == k` for
/// every key `threshold_key` gives), for writing complete trees to a model file: -0.0
/// comes back as +0.0 and a NaN threshold as a NaN, which compare like them.
pub(super) fn threshold_of_key(k: u64) -> f64 {
    if k == 0 {
        return f64::NAN;
    }
    // Inverse of `order_key`: keys with the top bit set were non-negative floats.
    let b = if k >> 63 == 1 { k ^ (1 << 63) } else { !k };
    f64::from_bits(b)
}
