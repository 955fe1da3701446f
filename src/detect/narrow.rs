//! f64 to f32 with a known rounding direction. A hub keeps one model per host, so the
//! forest's split thresholds and the seasonal profile's day bands are stored as f32;
//! rounding them outward (a band never narrower, a threshold never on the wrong side of
//! the value it was drawn above) keeps every judgement the f64 one would make.

/// The largest f32 <= `x` (`x` not NaN).
pub fn floor32(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) > x {
        f.next_down()
    } else {
        f
    }
}

/// The smallest f32 >= `x` (`x` not NaN).
pub fn ceil32(x: f64) -> f32 {
    let f = x as f32;
    if f64::from(f) < x {
        f.next_up()
    } else {
        f
    }
}

/// The smallest f32 > `x` (`x` not NaN).
pub fn above32(x: f64) -> f32 {
    floor32(x).next_up()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDGES: [f64; 12] = [
        0.1,
        -0.1,
        16_777_217.0, // 2^24 + 1: between two f32s
        -16_777_217.0,
        1e-40, // an f32 subnormal
        -1e-46,
        1e300,
        -1e300,
        0.0,
        -0.0,
        3.0,
        f64::INFINITY,
    ];

    #[test]
    fn each_rounds_the_stated_way_to_a_neighbouring_f32() {
        for x in EDGES {
            let (lo, hi, above) = (floor32(x), ceil32(x), above32(x));
            assert!(f64::from(lo) <= x && x <= f64::from(hi), "{x}: {lo} {hi}");
            assert!(lo == hi || lo.next_up() == hi, "{x}: not neighbours");
            assert!(f64::from(above) > x || x == f64::INFINITY, "{x}: {above}");
            // Nothing f32 lies strictly between x and `above`.
            assert!(f64::from(above.next_down()) <= x, "{x}: {above}");
        }
        // Exact f32 values stay themselves, except for `above`.
        assert_eq!(
            (floor32(3.0), ceil32(3.0), above32(3.0)),
            (3.0, 3.0, 3.0f32.next_up())
        );
    }
}
