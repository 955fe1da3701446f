//! Human-readable values for cards, tables, chart ticks and tooltips.
//!
//! Pure functions (no browser, no clock) so they are unit tested on the host and give
//! the same text on the server and in the browser, which keeps hydration consistent.
//! Sizes use binary units (KiB, MiB, GiB: what `free` and `top` show) and transfer rates
//! use decimal units (KB/s, MB/s: what network and disk tools show).

use lookout::model::Unit;

/// Shown for a value that is missing or not a number.
pub const MISSING: &str = "—";

/// `12.3 %`. Values of 100 and more keep no decimal.
pub fn percent(v: f64) -> String {
    if !v.is_finite() {
        return MISSING.into();
    }
    if v.abs() >= 100.0 {
        format!("{v:.0} %")
    } else {
        format!("{v:.1} %")
    }
}

/// Scales `v` by `step` until it fits below `step`, picking the matching unit.
fn scaled(v: f64, step: f64, units: &[&str]) -> String {
    if !v.is_finite() {
        return MISSING.into();
    }
    let mut x = v;
    let mut i = 0;
    while x.abs() >= step && i + 1 < units.len() {
        x /= step;
        i += 1;
    }
    if i == 0 {
        format!("{x:.0} {}", units[0])
    } else if x.abs() >= 100.0 {
        format!("{x:.0} {}", units[i])
    } else {
        format!("{x:.1} {}", units[i])
    }
}

/// A size in bytes with binary units: `512 B`, `1.5 KiB`, `3.2 GiB`.
pub fn bytes(v: f64) -> String {
    scaled(v, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB"])
}

/// A transfer rate in bytes per second with decimal units: `0 B/s`, `12.5 KB/s`, `1.2 MB/s`.
pub fn rate(v: f64) -> String {
    scaled(v, 1000.0, &["B/s", "KB/s", "MB/s", "GB/s", "TB/s"])
}

/// An event rate: `12.0/s`, `1.2k/s`.
pub fn per_sec(v: f64) -> String {
    scaled(v, 1000.0, &["/s", "k/s", "M/s", "G/s"]).replacen(' ', "", 1)
}

/// A load average: two decimals, as `uptime` shows it.
pub fn load(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        MISSING.into()
    }
}

/// A count with thin-space thousands separators: `1 234 567`.
pub fn count(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// The anomaly score (a surprise, 0 and up) with two decimals, or "—" until a detector scores the host.
pub fn score(v: Option<f64>) -> String {
    match v {
        Some(s) if s.is_finite() => format!("{s:.2}"),
        _ => MISSING.into(),
    }
}

/// Formats a value of a metric of the given unit.
pub fn by_unit(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Percent => percent(v),
        Unit::Bytes => bytes(v),
        Unit::BytesPerSec => rate(v),
        Unit::PerSec => per_sec(v),
        Unit::Count => {
            if v.is_finite() && v >= 0.0 {
                count(v.round() as u64)
            } else {
                MISSING.into()
            }
        }
        Unit::Load => load(v),
    }
}

/// How much of a time stamp a label shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeStyle {
    /// `14:05:09`
    Seconds,
    /// `14:05`
    Minutes,
    /// `Tue 14:05`
    DayMinutes,
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// A wall-clock label for `t_ms` (ms since the epoch, UTC) in a zone `offset_min` minutes
/// east of UTC. The browser passes its own offset; the server renders UTC (offset 0).
pub fn time_label(t_ms: i64, offset_min: i32, style: TimeStyle) -> String {
    let local_s = t_ms.div_euclid(1000) + i64::from(offset_min) * 60;
    let day = local_s.div_euclid(86_400);
    let sod = local_s.rem_euclid(86_400);
    let (h, m, s) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    match style {
        TimeStyle::Seconds => format!("{h:02}:{m:02}:{s:02}"),
        TimeStyle::Minutes => format!("{h:02}:{m:02}"),
        TimeStyle::DayMinutes => {
            // 1970-01-01 was a Thursday.
            let wd = WEEKDAYS[day.rem_euclid(7) as usize];
            format!("{wd} {h:02}:{m:02}")
        }
    }
}

/// `s` escaped for a URL's query value (host names are plain already; this keeps a
/// stray character from changing the query).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percents() {
        assert_eq!(percent(0.0), "0.0 %");
        assert_eq!(percent(12.345), "12.3 %");
        assert_eq!(percent(100.0), "100 %");
        assert_eq!(percent(f64::NAN), MISSING);
    }

    #[test]
    fn byte_sizes_are_binary() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(1023.0), "1023 B");
        assert_eq!(bytes(1024.0), "1.0 KiB");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(8.0 * 1024.0 * 1024.0 * 1024.0), "8.0 GiB");
        assert_eq!(bytes(300.0 * 1024.0 * 1024.0), "300 MiB");
        assert_eq!(bytes(f64::INFINITY), MISSING);
    }

    #[test]
    fn rates_are_decimal() {
        assert_eq!(rate(0.0), "0 B/s");
        assert_eq!(rate(999.0), "999 B/s");
        assert_eq!(rate(12_500.0), "12.5 KB/s");
        assert_eq!(rate(1_200_000.0), "1.2 MB/s");
        assert_eq!(per_sec(12.0), "12/s");
        assert_eq!(per_sec(1_500.0), "1.5k/s");
    }

    #[test]
    fn loads_counts_scores() {
        assert_eq!(load(1.234), "1.23");
        assert_eq!(count(7), "7");
        assert_eq!(count(1234), "1\u{202f}234");
        assert_eq!(count(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(score(None), MISSING);
        assert_eq!(score(Some(0.4567)), "0.46");
        assert_eq!(by_unit(Unit::Count, 42.0), "42");
        assert_eq!(by_unit(Unit::Percent, 5.0), "5.0 %");
    }

    #[test]
    fn time_labels() {
        // 2024-01-02T03:04:05Z, a Tuesday.
        let t = 1_704_164_645_000;
        assert_eq!(time_label(t, 0, TimeStyle::Seconds), "03:04:05");
        assert_eq!(time_label(t, 0, TimeStyle::Minutes), "03:04");
        assert_eq!(time_label(t, 0, TimeStyle::DayMinutes), "Tue 03:04");
        assert_eq!(time_label(t, 120, TimeStyle::Minutes), "05:04");
        // West of UTC the day rolls back.
        assert_eq!(time_label(t, -300, TimeStyle::DayMinutes), "Mon 22:04");
        assert_eq!(time_label(0, 0, TimeStyle::DayMinutes), "Thu 00:00");
    }
}
