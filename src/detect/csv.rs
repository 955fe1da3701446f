//! Offline scoring: `lookout detect [--train TRAIN.csv] [--events] < TEST.csv > SCORES.csv`.
//!
//! Input: a header whose first column is `timestamp` (epoch seconds or milliseconds, or
//! ISO `YYYY-MM-DD[ T]HH:MM[:SS]`), every other column numeric (empty / `nan` =
//! missing). Output: `timestamp,score` (with `--events`, `timestamp,score,event`: 1
//! while an anomaly event is open), one row per input row, written as each row is read.
//!
//! It runs the server's pipeline, [`LiveDetector`], on the stream's own time: the same
//! members, training schedule and window, adaptation and event logic (columns named
//! like the server's metrics get the same unit floors). Streaming semantics: the score
//! of row t depends only on the training file and rows <= t. A training file's rows
//! go through the detector first (their scores are not printed) and a model is trained
//! at its end, as `lookout model train` would; without one the detector learns from the
//! stream's past, as a new server does.
//!
//! Rows that cannot be scored get an empty score and are counted in [`DetectSummary`]
//! (the command prints it on stderr): a timestamp not after the previous row's
//! (duplicated or out of order), or a row with no value at all. Long gaps in time are
//! reported too; missing values are imputed (last value), so no score is NaN.

use std::collections::VecDeque;
use std::fmt;
use std::io::{Read, Write};

use super::live::{LiveConfig, LiveDetector};
use super::timeparse::parse_timestamp;

/// A CSV problem, with the 1-based line it was found on (0 = not tied to a line).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvError {
    pub line: usize,
    /// "input" or "train".
    pub source: &'static str,
    pub message: String,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else if self.source == "train" {
            write!(f, "training file line {}: {}", self.line, self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for CsvError {}

fn err(source: &'static str, line: usize, message: impl Into<String>) -> CsvError {
    CsvError {
        line,
        source,
        message: message.into(),
    }
}

/// A streaming reader of the timestamp + numeric columns format.
pub struct TableReader<R: Read> {
    rdr: csv::Reader<R>,
    source: &'static str,
    /// Column names after `timestamp`.
    pub columns: Vec<String>,
    record: csv::StringRecord,
}

impl<R: Read> TableReader<R> {
    pub fn new(input: R, source: &'static str) -> Result<Self, CsvError> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut record = csv::StringRecord::new();
        let got = rdr.read_record(&mut record).map_err(|e| {
            err(
                source,
                e.position().map_or(1, |p| p.line() as usize),
                e.to_string(),
            )
        })?;
        if !got {
            return Err(err(
                source,
                1,
                "empty file: expected a header starting with `timestamp`",
            ));
        }
        let line = record.position().map_or(1, |p| p.line() as usize);
        if record
            .get(0)
            .map(|s| s.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            != Some("timestamp".into())
        {
            return Err(err(
                source,
                line,
                format!(
                    "no header: the first column must be `timestamp`, got {:?}",
                    record.get(0).unwrap_or("")
                ),
            ));
        }
        if record.len() < 2 {
            return Err(err(
                source,
                line,
                "header has no value columns after `timestamp`",
            ));
        }
        let columns = record
            .iter()
            .skip(1)
            .map(|s| s.trim().to_string())
            .collect();
        Ok(Self {
            rdr,
            source,
            columns,
            record,
        })
    }

    /// Next row: (line, timestamp, values); `Ok(None)` at the end.
    pub fn next_row(&mut self, values: &mut Vec<f64>) -> Result<Option<(usize, String)>, CsvError> {
        let src = self.source;
        let got = self.rdr.read_record(&mut self.record).map_err(|e| {
            err(
                src,
                e.position().map_or(0, |p| p.line() as usize),
                e.to_string(),
            )
        })?;
        if !got {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line() as usize);
        let want = self.columns.len() + 1;
        if self.record.len() != want {
            return Err(err(
                src,
                line,
                format!("expected {want} fields, got {}", self.record.len()),
            ));
        }
        values.clear();
        for (i, field) in self.record.iter().enumerate().skip(1) {
            let f = field.trim();
            let v = if f.is_empty()
                || f.eq_ignore_ascii_case("nan")
                || f.eq_ignore_ascii_case("null")
            {
                f64::NAN
            } else {
                match f.parse::<f64>() {
                    Ok(v) => v,
                    Err(_) => {
                        return Err(err(
                            src,
                            line,
                            format!("column {:?}: {f:?} is not a number", self.columns[i - 1]),
                        ));
                    }
                }
            };
            values.push(v);
        }
        Ok(Some((line, self.record.get(0).unwrap_or("").to_string())))
    }
}

/// A whole table: (column names, timestamps, rows).
pub type Table = (Vec<String>, Vec<String>, Vec<Vec<f64>>);

/// Reads a whole table.
pub fn read_table<R: Read>(input: R, source: &'static str) -> Result<Table, CsvError> {
    let mut r = TableReader::new(input, source)?;
    let (mut ts, mut rows) = (vec![], vec![]);
    let mut v = vec![];
    while let Some((_, t)) = r.next_row(&mut v)? {
        ts.push(t);
        rows.push(v.clone());
    }
    Ok((r.columns, ts, rows))
}

/// How `lookout detect` runs.
#[derive(Debug, Clone, Default)]
pub struct DetectOptions {
    /// Print the `event` column.
    pub events: bool,
    /// Print a `surprise` column after the score: the combined surprise of every row
    /// (the ranking signal; the score is the alarm score, non-zero at onsets). Used by
    /// `lookout eval` for its per-series ranking figures.
    pub surprise: bool,
    /// The pipeline's settings (schedule, adaptation, sensitivity); the metric names
    /// come from the header and training is always inline.
    pub config: LiveConfig,
}

/// What a run of `lookout detect` did besides scoring, for stderr.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectSummary {
    pub rows: usize,
    /// Rows skipped for a timestamp not after the previous row's, and the first line.
    pub out_of_order: usize,
    pub first_out_of_order: Option<usize>,
    /// Rows with no value at all (not scored, not learnt).
    pub empty_rows: usize,
    /// Gaps of over ten typical intervals: (line after the gap, gap in ms).
    pub gaps: Vec<(usize, i64)>,
    pub trainings: usize,
    pub training_failures: Vec<String>,
    pub adaptations: usize,
    pub events: usize,
}

impl DetectSummary {
    /// One line per thing the user should know ("skipped 3 rows: ...").
    pub fn lines(&self) -> Vec<String> {
        let mut v = vec![];
        if self.out_of_order > 0 {
            v.push(format!(
                "skipped {} row(s) whose timestamp is not after the previous row's (duplicated or out of order; first at line {}): empty score",
                self.out_of_order,
                self.first_out_of_order.unwrap_or(0)
            ));
        }
        if self.empty_rows > 0 {
            v.push(format!(
                "{} row(s) with no values: empty score",
                self.empty_rows
            ));
        }
        for (line, ms) in self.gaps.iter().take(5) {
            v.push(format!(
                "gap of {} before line {line}: missing time is not scored",
                human_duration(*ms)
            ));
        }
        if self.gaps.len() > 5 {
            v.push(format!("... and {} more gaps", self.gaps.len() - 5));
        }
        for f in self.training_failures.iter().take(3) {
            v.push(format!("training failed (the previous model stays): {f}"));
        }
        v
    }
}

/// Scores `input` to `output` (see the module docs). Errors carry the line number.
pub fn run_detect(
    train_input: Option<impl Read>,
    input: impl Read,
    output: impl Write,
) -> Result<DetectSummary, CsvError> {
    run_detect_with(train_input, input, output, &DetectOptions::default())
}

/// Typical sampling interval (median of the last intervals) and gap detection.
#[derive(Default)]
struct Gaps {
    recent: VecDeque<i64>,
}

impl Gaps {
    /// Records the interval; returns it when it is a gap (over ten typical ones).
    fn gap(&mut self, dt: i64) -> Option<i64> {
        let mut sorted: Vec<i64> = self.recent.iter().copied().collect();
        sorted.sort_unstable();
        let typical = sorted.get(sorted.len() / 2).copied();
        if self.recent.len() == 32 {
            self.recent.pop_front();
        }
        self.recent.push_back(dt);
        typical
            .filter(|t| sorted.len() >= 8 && dt > 10 * t.max(&1))
            .map(|_| dt)
    }
}

/// [`run_detect`] with options.
pub fn run_detect_with(
    train_input: Option<impl Read>,
    input: impl Read,
    output: impl Write,
    options: &DetectOptions,
) -> Result<DetectSummary, CsvError> {
    let mut out = std::io::BufWriter::new(output);
    let io = |e: std::io::Error| err("input", 0, format!("write failed: {e}"));
    let mut reader = TableReader::new(input, "input")?;
    let width = reader.columns.len();
    let mut config = options.config.clone();
    config.metric_names = reader.columns.clone();
    config.self_train = true;
    let mut summary = DetectSummary::default();
    let mut det = LiveDetector::new(config);
    let mut gaps = Gaps::default();
    let mut last_ts: Option<i64> = None;
    let mut v = Vec::with_capacity(width);

    if let Some(t) = train_input {
        let mut tr = TableReader::new(t, "train")?;
        if tr.columns.len() != width {
            return Err(err(
                "input",
                1,
                format!(
                    "{width} value columns, but the training file has {}",
                    tr.columns.len()
                ),
            ));
        }
        let mut rows = 0;
        while let Some((line, ts)) = tr.next_row(&mut v)? {
            let t = parse_timestamp(&ts).ok_or_else(|| bad_time("train", line, &ts))?;
            if v.iter().any(|x| x.is_finite()) {
                let o = det.observe(t, &v, &[], &[]);
                rows += o.skipped.is_none() as usize;
            }
        }
        if rows < super::ensemble::TrainParams::default().min_rows {
            return Err(err(
                "train",
                0,
                format!(
                    "training failed: {rows} usable rows, need at least {}",
                    super::ensemble::TrainParams::default().min_rows
                ),
            ));
        }
        det.train_now()
            .map_err(|e| err("train", 0, format!("training failed: {e}")))?;
        summary.trainings += 1;
        last_ts = det.training_rows().last().map(|r| r.0);
    }

    writeln!(
        out,
        "timestamp,score{}{}",
        if options.surprise { ",surprise" } else { "" },
        if options.events { ",event" } else { "" }
    )
    .map_err(io)?;
    while let Some((line, ts)) = reader.next_row(&mut v)? {
        summary.rows += 1;
        let t = parse_timestamp(&ts).ok_or_else(|| bad_time("input", line, &ts))?;
        // Empty: not scored (no values, or skipped); 0 while nothing can score yet
        // (the first minutes), as live.
        let (mut score, mut surprise) = (String::new(), String::new());
        if !v.iter().any(|x| x.is_finite()) {
            summary.empty_rows += 1;
        } else {
            if let Some(prev) = last_ts.filter(|p| t > *p) {
                if let Some(g) = gaps.gap(t - prev) {
                    summary.gaps.push((line, g));
                }
            }
            let o = det.observe(t, &v, &[], &[]);
            if o.skipped.is_some() {
                summary.out_of_order += 1;
                summary.first_out_of_order.get_or_insert(line);
            } else {
                last_ts = Some(t);
                score = o
                    .score
                    .as_ref()
                    .map_or("0".to_string(), |s| format!("{}", s.alarm));
                surprise = o
                    .score
                    .map_or("0".to_string(), |s| format!("{}", s.combined));
            }
            summary.events += o.opened.is_some() as usize;
            summary.adaptations += o.adapted as usize;
            match o.trained {
                Some(Ok(_)) => summary.trainings += 1,
                Some(Err(e)) => summary.training_failures.push(e),
                None => {}
            }
        }
        let ts = if ts.contains([',', '"', '\n']) {
            format!("\"{}\"", ts.replace('"', "\"\""))
        } else {
            ts
        };
        let surprise = if options.surprise {
            format!(",{surprise}")
        } else {
            String::new()
        };
        if options.events {
            let open = det.open_event().is_some() as u8;
            writeln!(out, "{ts},{score}{surprise},{open}").map_err(io)?;
        } else {
            writeln!(out, "{ts},{score}{surprise}").map_err(io)?;
        }
    }
    out.flush().map_err(io)?;
    Ok(summary)
}

/// "2 h 10 min", "45 s".
fn human_duration(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn bad_time(source: &'static str, line: usize, ts: &str) -> CsvError {
    err(
        source,
        line,
        format!(
            "timestamp {ts:?} is not a time: write epoch seconds or milliseconds, or YYYY-MM-DD HH:MM:SS"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synth_csv(n: usize) -> String {
        synth_csv_from(n, 1_700_000_000)
    }

    /// `n` rows at 1 s from epoch second `t0`, a burst at rows 700..710.
    fn synth_csv_from(n: usize, t0: i64) -> String {
        let mut s = String::from("timestamp,cpu,mem\n");
        for i in 0..n {
            let cpu =
                20.0 + ((i * 37) % 11) as f64 + if (700..710).contains(&i) { 60.0 } else { 0.0 };
            let mem = 40.0 + ((i * 17) % 7) as f64 * 0.5;
            s.push_str(&format!("{},{cpu},{mem}\n", t0 + i as i64));
        }
        s
    }

    fn scores(out: &[u8]) -> Vec<String> {
        String::from_utf8(out.to_vec())
            .unwrap()
            .lines()
            .skip(1)
            .map(String::from)
            .collect()
    }

    #[test]
    fn streaming_property_first_half_equals_prefix() {
        let full = synth_csv(1200);
        let half: String = full.lines().take(601).map(|l| format!("{l}\n")).collect();
        let (mut a, mut b) = (vec![], vec![]);
        run_detect(None::<&[u8]>, full.as_bytes(), &mut a).unwrap();
        run_detect(None::<&[u8]>, half.as_bytes(), &mut b).unwrap();
        let (a, b) = (scores(&a), scores(&b));
        assert_eq!(a.len(), 1200);
        assert_eq!(
            &a[..600],
            &b[..],
            "scores of the first half must not depend on the rest"
        );
        // The planted burst scores high once models exist.
        let v: Vec<f64> = a
            .iter()
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        let peak = v[700..710].iter().cloned().fold(0.0, f64::max);
        assert!(peak > 3.0, "peak {peak}");
        // Same with a training file (the hour before).
        let train = synth_csv_from(3600, 1_700_000_000 - 3600);
        let (mut c, mut d) = (vec![], vec![]);
        run_detect(Some(train.as_bytes()), full.as_bytes(), &mut c).unwrap();
        run_detect(Some(train.as_bytes()), half.as_bytes(), &mut d).unwrap();
        assert_eq!(&scores(&c)[..600], &scores(&d)[..]);
    }

    #[test]
    fn bad_csv_errors_carry_line_numbers() {
        let run = |s: &str| run_detect(None::<&[u8]>, s.as_bytes(), Vec::new()).unwrap_err();
        let e = run("timestamp,a,b\n1,2,3\n2,3\n");
        assert_eq!(e.line, 3);
        assert_eq!(e.to_string(), "line 3: expected 3 fields, got 2");
        let e = run("timestamp,a\n1,2\n2,3\n3,abc\n");
        assert_eq!(e.line, 4);
        assert!(e.to_string().starts_with("line 4: column \"a\""), "{e}");
        let e = run("");
        assert_eq!((e.line, e.to_string().contains("empty")), (1, true));
        let e = run("1,2,3\n4,5,6\n");
        assert_eq!(e.line, 1);
        assert!(e.to_string().contains("no header"), "{e}");
        let e = run_detect(
            Some("timestamp,a\n1,x\n".as_bytes()),
            "timestamp,a\n1,2\n".as_bytes(),
            Vec::new(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "training file line 2: column \"a\": \"x\" is not a number"
        );
    }

    #[test]
    fn gaps_constant_and_missing_columns_score_without_nan_and_are_reported() {
        // 3 h at 10 s: column a is noisy, b constant, c missing for the second hour;
        // a 2-hour hole in time after row 700.
        let mut csv = String::from("timestamp,a,b,c\n");
        let mut t = 1_700_000_000i64;
        for i in 0..1080 {
            if i == 700 {
                t += 7200;
            }
            let a = 10.0 + ((i * 37) % 11) as f64;
            let c = if (360..720).contains(&i) {
                String::new()
            } else {
                format!("{}", 5.0 + ((i * 13) % 5) as f64)
            };
            csv.push_str(&format!("{t},{a},7,{c}\n"));
            t += 10;
        }
        let mut out = vec![];
        let summary = run_detect(None::<&[u8]>, csv.as_bytes(), &mut out).unwrap();
        let rows = scores(&out);
        assert_eq!(rows.len(), 1080);
        for r in &rows {
            let s = r.rsplit(',').next().unwrap();
            let v: f64 = s.parse().unwrap_or_else(|_| panic!("row {r:?}"));
            assert!(v.is_finite() && v >= 0.0, "{r}");
        }
        assert_eq!(summary.gaps.len(), 1, "{:?}", summary.gaps);
        assert_eq!(summary.gaps[0].0, 702, "the line after the hole");
        assert!(
            summary
                .lines()
                .iter()
                .any(|l| l.starts_with("gap of 2 h 0 min before line 702")),
            "{:?}",
            summary.lines()
        );
        assert!(
            summary.trainings >= 1,
            "trained despite the constant and missing columns"
        );
    }
}
