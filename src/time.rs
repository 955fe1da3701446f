//! Durations and times as people write them, one grammar for every place that reads
//! one: the configuration file and its environment overrides, alert rules (`for 5m`,
//! `cooldown`), silences, the history API's `from`/`to`, and the command line.
//!
//! A **duration** is one or more `<number><unit>` parts: `500ms`, `30s`, `1.5h`,
//! `1h30m`, `2w`. Units: `ms`, `s`, `m` (or `min`), `h`, `d`, `w`. A unit is always
//! required: a bare `90` is refused with a hint (`"90s"`), because it would mean
//! seconds to some readers and minutes to others.
//!
//! A **time** is `now`, a duration before now with a minus sign (`-15m`), or
//! milliseconds since the Unix epoch (`1733300000000`).
//!
//! No dependency on the engine: the dashboard uses it too.

use crate::model::TimestampMs;
use std::fmt;
use std::time::Duration;

/// Why a duration or time was refused; the message quotes the input and says what
/// would have been accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError(pub String);

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TimeError {}

/// The accepted forms, for messages and `--help`.
pub const DURATION_FORMS: &str = "a number and a unit, e.g. 500ms, 30s, 5m, 1.5h, 1h30m, 7d, 2w";

const UNITS: &[(&str, f64)] = &[
    ("ms", 0.001),
    ("s", 1.0),
    ("min", 60.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("d", 86_400.0),
    ("w", 604_800.0),
];

/// The longest duration accepted (about 31,700 years): far past any setting, and small
/// enough that milliseconds fit an `i64` and `Duration` arithmetic cannot overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(1_000_000_000_000);

/// Parses a duration (see the module docs).
pub fn parse_duration(s: &str) -> Result<Duration, TimeError> {
    let text = s.trim();
    let bad = |why: &str| {
        Err(TimeError(format!(
            "{s:?} is not a duration: {why}; write {DURATION_FORMS}"
        )))
    };
    if text.is_empty() {
        return bad("it is empty");
    }
    let mut rest = text;
    let mut secs = 0.0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return bad("a number must come first");
        }
        let (num, tail) = rest.split_at(num_len);
        let Ok(n) = num.parse::<f64>() else {
            return bad(&format!("{num:?} is not a number"));
        };
        let unit_len = tail
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(tail.len());
        let (unit, after) = tail.split_at(unit_len);
        if unit.is_empty() {
            return Err(TimeError(format!(
                "{s:?} has no unit: write e.g. \"{num}s\" or \"{num}m\" (units ms, s, m, h, d, w)"
            )));
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            return bad(&format!("unknown unit {unit:?} (units ms, s, m, h, d, w)"));
        };
        secs += n * scale;
        rest = after.trim_start();
    }
    if !secs.is_finite() || secs > MAX_DURATION.as_secs_f64() {
        return bad("it is too long");
    }
    // Whole milliseconds: every reader works in them.
    Ok(Duration::from_millis((secs * 1000.0).round() as u64))
}

/// [`parse_duration`] in milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<i64, TimeError> {
    parse_duration(s).map(|d| d.as_millis() as i64)
}

/// The shortest exact form of a duration in whole units (`90s` -> `90s`, `3600s` ->
/// `1h`, `5400s` -> `90m`, `1500ms` -> `1500ms`); [`parse_duration`] reads it back.
pub fn format_duration_ms(ms: i64) -> String {
    for (unit, len) in [
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= len && ms % len == 0 {
            return format!("{}{unit}", ms / len);
        }
    }
    format!("{ms}ms")
}

/// [`format_duration_ms`] of a `Duration`.
pub fn format_duration(d: Duration) -> String {
    format_duration_ms(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds since the Unix epoch, from the system clock (0 if the clock reads
/// before 1970). Not for the browser: `SystemTime` does not exist on wasm32.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> TimestampMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Parses a time (see the module docs): `now`, `-<duration>` or epoch milliseconds.
pub fn parse_time(value: &str, now: TimestampMs) -> Result<TimestampMs, TimeError> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(ms) = v.parse::<i64>() {
        if ms < 0 {
            return Err(TimeError(format!(
                "{v:?}: a time before now needs a unit, e.g. -15m; epoch milliseconds are never negative"
            )));
        }
        return Ok(ms);
    }
    let Some(rel) = v.strip_prefix('-') else {
        return Err(TimeError(format!(
            "{v:?} is not a time: write `now`, a time before now such as -15m, -1h, -7d, \
             or milliseconds since the epoch"
        )));
    };
    let back = parse_duration(rel)?;
    Ok(now.saturating_sub(back.as_millis() as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Result<Duration, TimeError> {
        parse_duration(s)
    }

    #[test]
    fn durations_in_every_form() {
        assert_eq!(d("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(d("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(d("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(d("5min").unwrap(), Duration::from_secs(300));
        assert_eq!(d("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(d("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(d("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(d(" 7d ").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(d("2w").unwrap(), Duration::from_secs(14 * 86_400));
        assert_eq!(d("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn a_bare_number_is_refused_with_a_hint() {
        let e = d("90").unwrap_err().to_string();
        assert!(e.contains("no unit") && e.contains("\"90s\""), "{e}");
    }

    #[test]
    fn nonsense_is_refused_without_panicking() {
        for s in [
            "",
            "m",
            "s5",
            "5 parsecs",
            "1..5s",
            "-5s",
            "5s-",
            "1e3s",
            "é",
            "5é",
            "9999999999999999999w",
            "NaNs",
            "infs",
        ] {
            assert!(d(s).is_err(), "{s:?} was accepted");
        }
    }

    #[test]
    fn formatting_reads_back() {
        for s in ["500ms", "30s", "5m", "4h", "1d", "2w", "90m", "1500ms"] {
            assert_eq!(format_duration(d(s).unwrap()), s);
        }
        assert_eq!(format_duration_ms(3_600_000), "1h");
        assert_eq!(format_duration_ms(0), "0ms");
    }

    #[test]
    fn times() {
        let now = 1_000_000_000;
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(parse_time("-15m", now).unwrap(), now - 900_000);
        assert_eq!(parse_time("-1h30m", now).unwrap(), now - 5_400_000);
        assert_eq!(parse_time("1700000000000", now).unwrap(), 1_700_000_000_000);
        // A huge offset saturates at the far past instead of wrapping.
        assert!(parse_time("-1000000w", now).unwrap() < 0);
        for bad in ["-5", "-1\u{e9}", "yesterday", "-", "--5m", "-1d5"] {
            assert!(parse_time(bad, now).is_err(), "{bad:?} was accepted");
        }
    }
}
