//! The offline commands through the real binary: `lookout detect` (streaming,
//! bad-CSV errors with line numbers, exit 2) and `lookout eval` on a tiny labelled set.

mod support;

use std::process::{Command, Output};

fn run(args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lookout"));
    support::output_with_stdin(cmd.env_clear().args(args), stdin)
}

/// A noisy periodic series with a spike at row 300.
fn series(rows: usize) -> String {
    let mut csv = String::from("timestamp,cpu,mem\n");
    for i in 0..rows {
        let noise = ((i * 7919) % 101) as f64 / 101.0;
        let cpu = if (300..305).contains(&i) {
            99.0
        } else {
            20.0 + 5.0 * noise + (i as f64 / 20.0).sin()
        };
        csv.push_str(&format!(
            "{},{cpu:.3},{:.3}\n",
            1_700_000_000 + i * 60,
            40.0 + noise
        ));
    }
    csv
}

#[test]
fn detect_streams_one_score_per_row_and_a_prefix_scores_the_same() {
    let whole = series(400);
    let out = run(&["detect"], &whole);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "timestamp,score");
    assert_eq!(lines.len(), 401);

    // Streaming: the first half alone scores exactly as inside the whole file.
    let half: String = whole.lines().take(201).map(|l| format!("{l}\n")).collect();
    let out = run(&["detect"], &half);
    let half_text = String::from_utf8(out.stdout).unwrap();
    let half_lines: Vec<&str> = half_text.lines().collect();
    assert_eq!(half_lines, lines[..201]);

    // The spike scores above the calm rows before it.
    let score = |l: &str| l.split(',').nth(1).unwrap().parse::<f64>().unwrap();
    let calm = (250..300).map(|i| score(lines[i + 1])).fold(0.0, f64::max);
    let spike = (300..305).map(|i| score(lines[i + 1])).fold(0.0, f64::max);
    assert!(spike > calm, "spike {spike} vs calm max {calm}");
}

#[test]
fn detect_rejects_bad_csv_with_the_line_number_and_exit_2() {
    for (input, expect) in [
        ("timestamp,a\n1,2\n3\n", "line 3"),
        ("timestamp,a\n1,2\n2,abc\n", "line 3"),
        ("", "empty"),
    ] {
        let out = run(&["detect"], input);
        assert_eq!(out.status.code(), Some(2), "{input:?}");
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(err.contains(expect), "{input:?}: {err}");
    }
}

#[test]
fn eval_prints_the_figures_for_a_tiny_labelled_set() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("set")).unwrap();
    let mut csv = String::from("timestamp,value\n");
    for i in 0..600 {
        let v = if (450..460).contains(&i) {
            95.0
        } else {
            10.0 + ((i * 31) % 7) as f64
        };
        csv.push_str(&format!("2024-01-01 {:02}:{:02}:00,{v}\n", i / 60, i % 60));
    }
    std::fs::write(dir.path().join("set/a.csv"), csv).unwrap();
    let labels = dir.path().join("labels.json");
    std::fs::write(
        &labels,
        r#"{"set/a.csv": [["2024-01-01 07:25:00", "2024-01-01 07:45:00"]]}"#,
    )
    .unwrap();
    let out = run(
        &[
            "eval",
            "--data",
            dir.path().to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
        ],
        "",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("set/a.csv") && text.contains("NAB standard"),
        "{text}"
    );

    let out = run(
        &[
            "eval",
            "--data",
            "/nonexistent",
            "--labels",
            "/nonexistent.json",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn detect_events_column_marks_the_open_event_and_bad_rows_are_reported() {
    // 3 h at 1 min with a 20-minute CPU step at row 150.
    let mut csv = String::from("timestamp,cpu,mem\n");
    for i in 0..180usize {
        let noise = ((i * 7919) % 101) as f64 / 101.0;
        let cpu = if (150..170).contains(&i) {
            95.0
        } else {
            20.0 + 3.0 * noise
        };
        csv.push_str(&format!(
            "{},{cpu:.3},{:.3}\n",
            1_700_000_000 + i * 60,
            40.0 + noise
        ));
    }
    let out = run(&["detect", "--events"], &csv);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(text.lines().next(), Some("timestamp,score,event"));
    assert_eq!(rows.len(), 180);
    let open: Vec<usize> = (0..180).filter(|&i| rows[i][2] == "1").collect();
    assert!(!open.is_empty(), "the step opened an event");
    assert!(
        open[0] >= 150 && open[0] <= 153,
        "opened at the onset, row {}",
        open[0]
    );
    assert!(
        open.iter().all(|&i| i < 175),
        "closed after the step: {open:?}"
    );

    // A duplicated timestamp, an out-of-order one and an empty row: empty scores, said on stderr.
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    lines.insert(101, lines[100].clone());
    lines.insert(103, lines[50].clone());
    lines.insert(110, format!("{},,", 1_700_000_000 + 108 * 60 + 30));
    let out = run(&["detect"], &(lines.join("\n") + "\n"));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let scores: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    assert_eq!(scores.len(), 183);
    for i in [100, 102, 109] {
        assert_eq!(scores[i], "", "row {i} is not scored");
    }
    assert!(scores
        .iter()
        .filter(|s| !s.is_empty())
        .all(|s| s.parse::<f64>().unwrap().is_finite()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipped 2 row(s) whose timestamp is not after")
            && err.contains("1 row(s) with no values"),
        "{err}"
    );

    // A bad setting is refused before anything is read.
    let out = run(&["detect", "--sensitivity", "extreme"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sensitivity"));
}

#[test]
fn eval_runs_the_nab_protocol() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("set")).unwrap();
    let mut csv = String::from("timestamp,value\n");
    for i in 0..1000 {
        let v = if (800..805).contains(&i) {
            95.0
        } else {
            10.0 + ((i * 31) % 7) as f64
        };
        csv.push_str(&format!("{},{v}\n", 1_700_000_000 + i * 300));
    }
    std::fs::write(dir.path().join("set/a.csv"), csv).unwrap();
    let labels = dir.path().join("labels.json");
    std::fs::write(&labels, r#"{"set/a.csv": [["1700237000", "1700246000"]]}"#).unwrap();
    let args = |protocol: &str| {
        vec![
            "eval".to_string(),
            "--data".into(),
            dir.path().to_str().unwrap().into(),
            "--labels".into(),
            labels.to_str().unwrap().into(),
            "--protocol".into(),
            protocol.into(),
        ]
    };
    let a = args("nab");
    let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("protocol: nab"), "{text}");
    // One obvious spike in one labelled window: the detector finds it, so NAB standard is high.
    let standard: f64 = text
        .lines()
        .find(|l| l.starts_with("NAB standard"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(standard > 50.0, "{text}");
    let a = args("weekly");
    let out = run(&a.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert_eq!(out.status.code(), Some(2));
}
