use super::validate::duration_in;
use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn with_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lookout.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn tmp_store(dir: &tempfile::TempDir) -> Vec<(String, String)> {
    env(&[(
        "LOOKOUT_STORE_PATH",
        dir.path().join("db/l.db").to_str().unwrap(),
    )])
}

#[test]
fn defaults_are_valid_and_documented_values() {
    let dir = tempfile::tempdir().unwrap();
    let s = load(None, &tmp_store(&dir), &[]).unwrap();
    assert_eq!(s.bind.to_string(), "127.0.0.1:3000");
    assert_eq!(s.interval, Duration::from_secs(5));
    assert_eq!(s.raw_retention, Duration::from_secs(7 * 86400));
    assert_eq!(s.rollup_retention, Duration::from_secs(90 * 86400));
    assert_eq!(s.default_refresh_secs, 5);
}

#[test]
fn layers_apply_in_order_file_env_flag() {
    let (dir, path) =
        with_file("[sampler]\ninterval = \"10s\"\n[server]\nbind = \"127.0.0.1:4000\"\n");
    let mut e = tmp_store(&dir);
    e.extend(env(&[("LOOKOUT_SAMPLER_INTERVAL", "2s")]));
    let s = load(Some(&path), &e, &[]).unwrap();
    assert_eq!(s.interval, Duration::from_secs(2), "env beats file");
    assert_eq!(s.bind.port(), 4000, "file beats default");
    let flags = vec![("sampler.interval".into(), "1s".into(), "--interval".into())];
    let s = load(Some(&path), &e, &flags).unwrap();
    assert_eq!(s.interval, Duration::from_secs(1), "flag beats env");
}

#[test]
fn unknown_key_names_the_key_and_the_allowed_ones() {
    let (dir, path) = with_file("[sampler]\nintervl = \"5s\"\n");
    let e = load(Some(&path), &tmp_store(&dir), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("sampler.intervl"), "{e}");
    assert!(e.contains("interval, process_refresh"), "{e}");
    let (dir, path) = with_file("[nope]\nx = 1\n");
    let e = load(Some(&path), &tmp_store(&dir), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("`nope`") && e.contains("[sampler]"), "{e}");
}

#[test]
fn wrong_type_names_key_and_expected_type() {
    let (dir, path) = with_file("[sampler]\ninterval = 5\n");
    let e = load(Some(&path), &tmp_store(&dir), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sampler.interval") && e.contains("must be a string"),
        "{e}"
    );
    let e = load(None, &env(&[("LOOKOUT_LOG_MAX_FILES", "many")]), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("log.max_files") && e.contains("LOOKOUT_LOG_MAX_FILES") && e.contains("integer"),
        "{e}"
    );
}

#[test]
fn interval_out_of_range_says_allowed_values() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["500ms", "2h", "fast"] {
        let mut e = tmp_store(&dir);
        e.push(("LOOKOUT_SAMPLER_INTERVAL".into(), bad.into()));
        let msg = load(None, &e, &[]).unwrap_err().to_string();
        assert!(
            msg.contains("sampler.interval") && msg.contains("1s to 1h"),
            "{bad}: {msg}"
        );
    }
}

#[test]
fn unwritable_data_dir_is_refused_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    // A folder under a regular file can never be created, even as root.
    let bad = file.join("sub/lookout.db");
    let e = load(
        None,
        &env(&[("LOOKOUT_STORE_PATH", bad.to_str().unwrap())]),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("store.path") && e.contains("cannot create folder"),
        "{e}"
    );
}

#[test]
fn malformed_toml_is_reported_with_the_file() {
    let (dir, path) = with_file("[sampler\ninterval = \"5s\"\n");
    let e = load(Some(&path), &tmp_store(&dir), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not valid TOML") && e.contains("lookout.toml"),
        "{e}"
    );
}

#[test]
fn detector_settings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = tmp_store(&dir);
    e.push(("LOOKOUT_DETECTOR_SENSITIVITY".into(), "extreme".into()));
    let msg = load(None, &e, &[]).unwrap_err().to_string();
    assert!(
        msg.contains("detector.sensitivity") && msg.contains("low, medium, high"),
        "{msg}"
    );
    let mut e = tmp_store(&dir);
    e.push(("LOOKOUT_DETECTOR_MEMBERS".into(), "forest,lstm".into()));
    let msg = load(None, &e, &[]).unwrap_err().to_string();
    assert!(
        msg.contains("detector.members") && msg.contains("\"lstm\""),
        "{msg}"
    );
    let mut e = tmp_store(&dir);
    e.push(("LOOKOUT_DETECTOR_MEMBERS".into(), "baseline, pca".into()));
    let s = load(None, &e, &[]).unwrap();
    assert!(s.detector.members.baseline && s.detector.members.pca && !s.detector.members.forest);
}

#[test]
fn alert_rules_are_read_and_a_bad_rule_is_named() {
    let (dir, path) =
        with_file("[[alerts.rules]]\nname = \"cpu-high\"\ncondition = \"cpu_usage > 90 for 5m\"\n");
    let s = load(Some(&path), &tmp_store(&dir), &[]).unwrap();
    assert_eq!(s.alerts.rules().unwrap().len(), 1);
    assert_eq!(s.alerts.sample_interval.as_deref(), Some("5s"));
    let (dir, path) =
        with_file("[[alerts.rules]]\nname = \"cpu-high\"\ncondition = \"cpu_usag > 90 for 5m\"\n");
    let e = load(Some(&path), &tmp_store(&dir), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cpu-high") && e.contains("condition") && e.contains("cpu_usage"),
        "{e}"
    );
}

#[test]
fn misspelt_environment_variable_is_refused() {
    let e = load(None, &env(&[("LOOKOUT_SAMPLER_INTERVL", "1s")]), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("LOOKOUT_SAMPLER_INTERVL") && e.contains("LOOKOUT_SAMPLER_INTERVAL"),
        "{e}"
    );
}

#[test]
fn durations_parse() {
    let d = |raw: &str| {
        duration_in(
            "sampler.interval",
            raw,
            Duration::from_millis(1),
            Duration::from_secs(30 * 86400),
            "1ms to 30d",
        )
    };
    assert_eq!(d("5s").unwrap(), Duration::from_secs(5));
    assert_eq!(d("2m").unwrap(), Duration::from_secs(120));
    assert_eq!(d("7d").unwrap(), Duration::from_secs(7 * 86400));
    assert_eq!(d("250ms").unwrap(), Duration::from_millis(250));
    assert_eq!(d("1h30m").unwrap(), Duration::from_secs(5400));
    // One grammar for every key (lookout::time): a bare number has no unit.
    let e = d("3").unwrap_err().to_string();
    assert!(
        e.contains("sampler.interval") && e.contains("\"3s\""),
        "{e}"
    );
    assert!(d("3 parsecs").is_err() && d("").is_err());
    assert!(d("31d").unwrap_err().to_string().contains("out of range"));
}

#[test]
fn export_remote_write_is_checked_at_start_with_the_key_named() {
    let (dir, path) = with_file(
        "[export.remote_write]\nurl = \"http://127.0.0.1:9090/api/v1/write\"\nbatch_size = 200\n",
    );
    let s = load(Some(&path), &tmp_store(&dir), &[]).unwrap();
    let rw = s.remote_write.expect("the section is on");
    assert_eq!(rw.batch_size, 200);
    assert_eq!(rw.queue_max_samples, 100_000);
    let none = load(None, &tmp_store(&dir), &[]).unwrap();
    assert!(none.remote_write.is_none());
    for (text, says) in [
        ("url = \"prometheus:9090\"", "`url`"),
        ("url = \"http://p/w\"\nbatch_size = 0", "`batch_size`"),
        (
            "url = \"http://p/w\"\nbearer_token_env = \"LOOKOUT_TEST_UNSET_TOKEN\"",
            "LOOKOUT_TEST_UNSET_TOKEN",
        ),
        ("url = \"http://p/w\"\nqueue = 5", "unknown field `queue`"),
    ] {
        let (dir, path) = with_file(&format!("[export.remote_write]\n{text}\n"));
        let e = load(Some(&path), &tmp_store(&dir), &[]).unwrap_err().0;
        assert!(e.contains("export") && e.contains(says), "{text}: {e}");
    }
    let (dir, path) = with_file("[export.remote_wrte]\nurl = \"http://p/w\"\n");
    let e = load(Some(&path), &tmp_store(&dir), &[]).unwrap_err().0;
    assert!(e.contains("remote_wrte"), "{e}");
}
