//! `lookout history export`: stored raw samples as CSV in the format `lookout detect`
//! reads: a header `timestamp,<metric>,...`, one row per sample, oldest first, every
//! value column numeric and an empty field for a missing value.
//!
//! The range is read one hour at a time, so exporting weeks of 1 s samples holds one
//! hour of rows in memory, never the whole range. Exit codes as the other commands:
//! 0 success (also for an empty range: header only, and a note on stderr), 1 failure
//! (no store, read or write error), 2 bad input (naming the option).

use crate::config::Settings;
use crate::runtime::now_ms;
use lookout::detect::timeparse::parse_timestamp;
use lookout::model::{TimestampMs, METRICS};
use lookout::store::Store;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

/// Rows are read from the store this many milliseconds at a time.
const CHUNK_MS: i64 = 3_600_000;

/// How the `timestamp` column is written. Both read back exactly through
/// `lookout detect` (and [`parse_timestamp`]).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampFormat {
    /// UTC with milliseconds: 2026-12-04T15:30:00.000Z.
    #[default]
    Iso,
    /// Milliseconds since the Unix epoch.
    Ms,
}

/// The options of `lookout history export`, as typed on the command line.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    pub from: Option<String>,
    pub to: Option<String>,
    /// Comma-separated metric names; None = every metric in `model::METRICS` order.
    pub metrics: Option<String>,
    /// None = stdout.
    pub output: Option<PathBuf>,
    pub timestamps: TimestampFormat,
}

use crate::error::exit_with as fail;

/// What a time option accepts (for error messages and `--help`).
pub const TIME_FORMATS: &str = "epoch seconds or milliseconds, an ISO time in UTC such as \
    2026-12-04T15:30:00Z or \"2026-12-04 15:30\", `now`, or a time relative to now such as \
    -30m, -2h, -7d (units ms, s, m, h, d)";

/// Parses a `--from` / `--to` value to milliseconds since the epoch: `now`, `-<duration>`
/// (the duration syntax of the configuration file, e.g. `-90s`, `-2h`, `-7d`), or an
/// absolute time as `lookout detect` reads it (epoch s or ms, ISO `YYYY-MM-DD[ T]HH:MM[:SS]Z`).
pub fn parse_time(value: &str, now: TimestampMs) -> Option<TimestampMs> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("now") || v.starts_with('-') {
        // The one grammar of relative times (lookout::time); "-5" has no unit: refused.
        return lookout::time::parse_time(v, now).ok();
    }
    parse_timestamp(v)
}

/// `2026-12-04T15:30:00.000Z`: UTC with milliseconds, which [`parse_timestamp`] reads
/// back to the same millisecond.
pub fn iso_ms(ms: TimestampMs) -> String {
    // "YYYY-MM-DD HH:MM:SS UTC", floored to the second (Euclidean, so before 1970 too).
    let secs = lookout::alert::render::format_time(ms);
    let date = secs.get(..10).unwrap_or_default();
    let time = secs.get(11..19).unwrap_or_default();
    format!("{date}T{time}.{:03}Z", ms.rem_euclid(1000))
}

/// The metric names and their indexes in `model::METRICS` (the order of
/// `Store::raw_range` values), or the message for exit 2.
pub fn select_metrics(list: Option<&str>) -> Result<Vec<(&'static str, usize)>, String> {
    let Some(list) = list else {
        return Ok(METRICS
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name, i))
            .collect());
    };
    let valid = || {
        METRICS
            .iter()
            .map(|d| d.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut picked: Vec<(&'static str, usize)> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some(i) = METRICS.iter().position(|d| d.name == name) else {
            return Err(format!(
                "--metrics: unknown metric {name:?}; valid names: {}",
                valid()
            ));
        };
        if picked.iter().any(|(_, j)| *j == i) {
            return Err(format!("--metrics: {name:?} is listed twice"));
        }
        picked.push((METRICS[i].name, i));
    }
    if picked.is_empty() {
        return Err(format!(
            "--metrics: no metric named; give a comma-separated list of: {}",
            valid()
        ));
    }
    Ok(picked)
}

fn time_option(option: &str, value: Option<&str>, now: TimestampMs) -> Result<Option<i64>, String> {
    value
        .map(|v| {
            parse_time(v, now).ok_or_else(|| {
                format!("{option}: cannot read {v:?} as a time; write {TIME_FORMATS}")
            })
        })
        .transpose()
}

/// Writes the header and every row with `from <= ts <= to`, reading `CHUNK_MS` at a
/// time. Returns the number of rows written.
pub fn write_csv(
    store: &Store,
    from: TimestampMs,
    to: TimestampMs,
    metrics: &[(&str, usize)],
    timestamps: TimestampFormat,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let mut header = String::from("timestamp");
    for (name, _) in metrics {
        header.push(',');
        header.push_str(name);
    }
    writeln!(out, "{header}")?;
    let mut rows = 0u64;
    let mut line = String::with_capacity(32 + 24 * metrics.len());
    let mut start = from;
    while start <= to {
        let end = start.saturating_add(CHUNK_MS - 1).min(to);
        let chunk = store
            .raw_range(start, end)
            .map_err(|e| ExportError::Store(e.to_string()))?;
        for (ts, values) in chunk {
            line.clear();
            match timestamps {
                TimestampFormat::Iso => line.push_str(&iso_ms(ts)),
                TimestampFormat::Ms => line.push_str(&ts.to_string()),
            }
            for (_, i) in metrics {
                line.push(',');
                // Display of f64 is the shortest text that parses back to the same value.
                match values.get(*i) {
                    Some(v) if v.is_finite() => line.push_str(&v.to_string()),
                    _ => {}
                }
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
            rows += 1;
        }
        if end >= to {
            break;
        }
        start = end + 1;
    }
    out.flush()?;
    Ok(rows)
}

/// A failure while exporting.
#[derive(Debug)]
pub enum ExportError {
    Store(String),
    Write(io::Error),
}

impl From<io::Error> for ExportError {
    fn from(e: io::Error) -> Self {
        ExportError::Write(e)
    }
}

/// `lookout history export [--from T] [--to T] [--metrics A,B] [--output FILE]
/// [--timestamps iso|ms]`: returns the exit code.
pub fn history_export(settings: &Settings, opts: &ExportOptions) -> u8 {
    let now = now_ms();
    let metrics = match select_metrics(opts.metrics.as_deref()) {
        Ok(m) => m,
        Err(e) => return fail(2, e),
    };
    let (from, to) = match (
        time_option("--from", opts.from.as_deref(), now),
        time_option("--to", opts.to.as_deref(), now),
    ) {
        (Ok(f), Ok(t)) => (f, t.unwrap_or(now)),
        (Err(e), _) | (_, Err(e)) => return fail(2, e),
    };
    if let Some(from) = from {
        if from > to {
            return fail(
                2,
                format!(
                    "--from ({}) is after --to ({}); the range must run forwards",
                    iso_ms(from),
                    iso_ms(to)
                ),
            );
        }
    }
    let path = &settings.store_path;
    if !path.is_file() {
        return fail(
            1,
            format!(
                "no store at {} (`store.path`): nothing has been recorded there; point --db \
                 (or store.path, LOOKOUT_STORE_PATH) at the database `lookout serve` writes",
                path.display()
            ),
        );
    }
    let store = match crate::open_store(settings) {
        Ok(s) => s,
        Err(e) => return fail(1, e),
    };
    let bounds = match store.raw_bounds() {
        Ok(b) => b,
        Err(e) => return fail(1, format!("cannot read samples: {e}")),
    };
    // Default start: the oldest stored sample (the epoch when none is as old as `to`).
    // Reading starts there in any case, so an early --from does not walk through years
    // of empty hours.
    let from = from.unwrap_or(match bounds {
        Some((oldest, _)) if oldest <= to => oldest,
        _ => 0.min(to),
    });
    let (read_from, read_to) = match bounds {
        Some((oldest, newest)) => (from.max(oldest), to.min(newest)),
        None => (from, from.saturating_sub(1)),
    };
    let export =
        |w: &mut dyn Write| write_csv(&store, read_from, read_to, &metrics, opts.timestamps, w);
    let result = match &opts.output {
        None => match export(&mut BufWriter::new(io::stdout().lock())) {
            // `lookout history export | head`: the reader had enough.
            Err(ExportError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => return 0,
            other => other,
        },
        Some(file) => {
            let f = match File::create(file) {
                Ok(f) => f,
                Err(e) => {
                    return fail(
                        2,
                        format!("--output: cannot create {}: {e}", file.display()),
                    )
                }
            };
            let result = export(&mut BufWriter::new(f));
            if result.is_err() {
                // No half-written file that looks like a complete export.
                let _ = std::fs::remove_file(file);
            }
            result
        }
    };
    let target = opts
        .output
        .as_ref()
        .map_or_else(|| "stdout".to_string(), |f| f.display().to_string());
    let rows = match result {
        Ok(rows) => rows,
        Err(ExportError::Store(e)) => return fail(1, format!("cannot read samples: {e}")),
        Err(ExportError::Write(e)) => return fail(1, format!("cannot write {target}: {e}")),
    };
    if rows == 0 {
        eprintln!(
            "lookout: no samples between {} and {} (host {:?} in {}){}",
            iso_ms(from),
            iso_ms(to),
            settings.host,
            path.display(),
            other_hosts_hint(&store, bounds.is_none())
        );
    } else if opts.output.is_some() {
        eprintln!("lookout: wrote {rows} samples to {target}");
    }
    0
}

/// When this host has no samples but the file has some, they were recorded under
/// another host name.
fn other_hosts_hint(store: &Store, none_for_host: bool) -> String {
    match store.sample_count() {
        Ok(n) if none_for_host && n > 0 => format!(
            "; the store holds {n} samples of other hosts: set host.name \
             (LOOKOUT_HOST_NAME) to the name they were recorded under"
        ),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: TimestampMs = 1_796_398_200_000; // 2026-12-04T15:30:00Z

    #[test]
    fn iso_timestamps_read_back_exactly() {
        assert_eq!(iso_ms(NOW), "2026-12-04T15:30:00.000Z");
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(951_782_400_999), "2000-02-29T00:00:00.999Z");
        for ms in [0, 1, 999, 59_999, 951_782_400_001, NOW + 123, NOW + 59_999] {
            assert_eq!(parse_timestamp(&iso_ms(ms)), Some(ms), "{}", iso_ms(ms));
        }
        for k in 0..5000i64 {
            let ms = NOW + k * 7_919 + k % 1000;
            assert_eq!(parse_timestamp(&iso_ms(ms)), Some(ms));
        }
    }

    #[test]
    fn times_absolute_relative_and_now() {
        assert_eq!(parse_time("now", NOW), Some(NOW));
        assert_eq!(parse_time("-2h", NOW), Some(NOW - 7_200_000));
        assert_eq!(parse_time("-30m", NOW), Some(NOW - 1_800_000));
        assert_eq!(parse_time("-7d", NOW), Some(NOW - 7 * 86_400_000));
        assert_eq!(parse_time("-90s", NOW), Some(NOW - 90_000));
        assert_eq!(parse_time("2026-12-04T15:30:00Z", 0), Some(NOW));
        assert_eq!(parse_time("2026-12-04 15:30", 0), Some(NOW));
        assert_eq!(parse_time("2026-12-04T15:30:00.000Z", 0), Some(NOW));
        assert_eq!(parse_time("1796398200", 0), Some(NOW));
        assert_eq!(parse_time("1796398200000", 0), Some(NOW));
        for bad in [
            "",
            "yesterday",
            "-5",
            "-2x",
            "-h",
            "2026-13-01",
            "2026-12-04T25:00",
        ] {
            assert_eq!(parse_time(bad, NOW), None, "{bad:?}");
        }
    }

    #[test]
    fn metrics_default_to_all_and_unknown_lists_the_valid_ones() {
        let all = select_metrics(None).unwrap();
        assert_eq!(all.len(), METRICS.len());
        assert_eq!(all[0], ("cpu_usage", 0));
        assert_eq!(
            select_metrics(Some("memory_usage, cpu_usage")).unwrap(),
            vec![("memory_usage", 1), ("cpu_usage", 0)]
        );
        let e = select_metrics(Some("cpu_usage,cpu")).unwrap_err();
        assert!(e.contains("\"cpu\"") && e.contains("process_count"), "{e}");
        assert!(select_metrics(Some("cpu_usage,cpu_usage")).is_err());
        assert!(select_metrics(Some(" , ")).is_err());
    }
}
