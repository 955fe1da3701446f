//! Offline scoring: `lookout detect [--train TRAIN.csv] < TEST.csv > SCORES.csv`.
//!
//! Input: a header whose first column is `timestamp` (any string: ISO or epoch), every
//! other column numeric (empty / `nan` = missing). Output: `timestamp,score`, one row
//! per input row, written as each row is read. Streaming semantics: the score of row t
//! depends only on the training file and rows <= t. With a training file the model is
//! trained on it and its rows also warm up the feature state and rolling baseline;
//! without one the [`OnlineDetector`] learns from the stream's past.

use std::fmt;
use std::io::{Read, Write};
use std::sync::Arc;

use super::ensemble::{train, EnsembleScorer, OnlineDetector, TrainParams};

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

/// Scores `input` to `output` (see the module docs). Errors carry the line number.
pub fn run_detect(
    train_input: Option<impl Read>,
    input: impl Read,
    output: impl Write,
) -> Result<(), CsvError> {
    run_detect_with(train_input, input, output, &TrainParams::default())
}

enum Scorer {
    Trained(EnsembleScorer),
    Online(OnlineDetector),
}

/// [`run_detect`] with explicit training parameters.
pub fn run_detect_with(
    train_input: Option<impl Read>,
    input: impl Read,
    output: impl Write,
    params: &TrainParams,
) -> Result<(), CsvError> {
    let mut out = std::io::BufWriter::new(output);
    let io = |e: std::io::Error| err("input", 0, format!("write failed: {e}"));
    let trained = match train_input {
        Some(t) => {
            let (cols, ts, rows) = read_table(t, "train")?;
            let rows: Vec<(i64, Vec<f64>)> = rows
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    (
                        super::timeparse::parse_timestamp(&ts[i]).unwrap_or(i as i64),
                        r,
                    )
                })
                .collect();
            let mut p = params.clone();
            p.metric_names = cols.clone();
            let model = train(&rows, &[], &p)
                .map_err(|e| err("train", 0, format!("training failed: {e}")))?;
            Some((cols, rows, model))
        }
        None => None,
    };
    let mut reader = TableReader::new(input, "input")?;
    let width = reader.columns.len();
    let mut scorer = match trained {
        Some((cols, rows, model)) => {
            if cols.len() != width {
                return Err(err(
                    "input",
                    1,
                    format!(
                        "{width} value columns, but the training file has {}",
                        cols.len()
                    ),
                ));
            }
            let mut s = EnsembleScorer::new(width, params.members, params.baseline.clone());
            // Warm the feature state and rolling baseline on the training rows (their
            // scores are discarded), so the first test rows have context.
            for (_, r) in &rows {
                s.step(r);
            }
            s.install_model(Arc::new(model))
                .map_err(|e| err("train", 0, format!("training failed: {e}")))?;
            Scorer::Trained(s)
        }
        None => Scorer::Online(OnlineDetector::new(width, params.clone())),
    };
    writeln!(out, "timestamp,score").map_err(io)?;
    let mut v = Vec::with_capacity(width);
    while let Some((_, ts)) = reader.next_row(&mut v)? {
        let s = match &mut scorer {
            Scorer::Trained(s) => s.step(&v).map_or(0.0, |s| s.combined),
            Scorer::Online(o) => o.step(&v),
        };
        let ts = if ts.contains([',', '"', '\n']) {
            format!("\"{}\"", ts.replace('"', "\"\""))
        } else {
            ts
        };
        writeln!(out, "{ts},{s}").map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synth_csv(n: usize) -> String {
        let mut s = String::from("timestamp,cpu,mem\n");
        for i in 0..n {
            let cpu =
                20.0 + ((i * 37) % 11) as f64 + if (700..710).contains(&i) { 60.0 } else { 0.0 };
            let mem = 40.0 + ((i * 17) % 7) as f64 * 0.5;
            s.push_str(&format!(
                "2024-01-01T00:{:02}:{:02}Z,{cpu},{mem}\n",
                (i / 60) % 60,
                i % 60
            ));
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
        assert!(peak > 0.99, "peak {peak}");
        // Same with a training file.
        let train = synth_csv(500);
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
}
