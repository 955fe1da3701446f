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
