//! Timestamp parsing for CSV input and NAB labels: epoch seconds or milliseconds, or
//! ISO-8601-like `YYYY-MM-DD[ T]HH:MM[:SS[.frac]][Z]` (taken as UTC).

use crate::model::TimestampMs;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a timestamp to milliseconds since the epoch, or None.
pub fn parse_timestamp(s: &str) -> Option<TimestampMs> {
    let s = s.trim().trim_matches('"');
    if let Ok(v) = s.parse::<f64>() {
        if !v.is_finite() {
            return None;
        }
        // Below 1e11 it is seconds (1e11 s is the year 5138; 1e11 ms is 1973).
        return Some(if v.abs() < 1e11 {
            (v * 1000.0).round() as i64
        } else {
            v.round() as i64
        });
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    if b.len() > 10 {
        if b[10] != b' ' && b[10] != b'T' {
            return None;
        }
        let rest = s[11..].trim_end_matches('Z');
        let mut parts = rest.split(':');
        let h: i64 = parts.next()?.parse().ok()?;
        let mi: i64 = parts.next()?.parse().ok()?;
        let sec: f64 = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0.0,
        };
        if parts.next().is_some()
            || !(0..24).contains(&h)
            || !(0..60).contains(&mi)
            || !(0.0..61.0).contains(&sec)
        {
            return None;
        }
        ms += h * 3_600_000 + mi * 60_000 + (sec * 1000.0).round() as i64;
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso_and_epoch() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Some(0));
        assert_eq!(
            parse_timestamp("2014-02-14 14:30:00"),
            Some(1_392_388_200_000)
        );
        assert_eq!(
            parse_timestamp("2014-02-19 00:22:00.000000"),
            Some(1_392_769_320_000)
        );
        assert_eq!(
            parse_timestamp("2014-02-14T14:30:00Z"),
            Some(1_392_388_200_000)
        );
        assert_eq!(parse_timestamp("1392388200"), Some(1_392_388_200_000));
        assert_eq!(parse_timestamp("1392388200000"), Some(1_392_388_200_000));
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
