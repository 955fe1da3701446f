use super::*;
use lookout::model::{RuleConfig, RuleTestResult};

fn config(f: impl FnOnce(&mut RuleConfig)) -> RuleConfig {
    let mut c = RuleConfig::default();
    f(&mut c);
    c
}

#[test]
fn a_form_round_trips_through_the_rule_config() {
    let c = config(|c| {
        c.name = Some("cpu".into());
        c.condition = Some("cpu_usage > 90 for 5m".into());
        c.resolve = Some(80.0);
        c.severity = Some("critical".into());
        c.channels = Some(vec!["mail".into()]);
        c.and_anomalous = Some(true);
    });
    let f = RuleForm::from_config("cpu", &c);
    assert_eq!(f.kind, "threshold");
    assert_eq!(f.condition, "cpu_usage > 90 for 5m and anomalous");
    assert_eq!(f.resolve, "80.0");
    let b = f.body(&c).unwrap();
    assert_eq!(
        b.channels,
        Some(vec!["mail".to_string()]),
        "keys the form does not show are kept"
    );
    assert_eq!(
        b.condition.as_deref(),
        Some("cpu_usage > 90 for 5m and anomalous")
    );
    assert_eq!(b.resolve, Some(80.0));
    assert!(b.and_anomalous.is_none());
    assert_eq!(b.enabled, Some(true));

    let f = RuleForm::from_config(
        "d",
        &config(|c| {
            c.condition = Some("disk_free_percent < 5".into());
            c.for_ = Some("1m".into());
        }),
    );
    assert_eq!(f.condition, "disk_free_percent < 5 for 1m");
    assert!(f.body(&RuleConfig::default()).unwrap().for_.is_none());

    let mut f = RuleForm::from_config(
        "st",
        &config(|c| {
            c.kind = Some("stale".into());
            c.intervals = Some(4);
        }),
    );
    assert_eq!((f.kind.as_str(), f.intervals.as_str()), ("stale", "4"));
    f.enabled = false;
    let b = f.body(&RuleConfig::default()).unwrap();
    // On the wire: only the keys that are set.
    assert_eq!(
        serde_json::to_string(&SparseRule(&b)).unwrap(),
        r#"{"name":"st","severity":"warning","enabled":false,"kind":"stale","intervals":4}"#
    );
}

#[test]
fn a_forecast_rule_keeps_its_condition() {
    let f = RuleForm::from_config(
        "fill",
        &config(|c| c.condition = Some("disk_free_percent < 5 within 24h".into())),
    );
    assert_eq!(f.kind, "forecast");
    let b = f.body(&RuleConfig::default()).unwrap();
    assert_eq!(
        serde_json::to_string(&SparseRule(&b)).unwrap(),
        r#"{"name":"fill","severity":"warning","enabled":true,"kind":"forecast","condition":"disk_free_percent < 5 within 24h"}"#
    );
}

#[test]
fn bad_numbers_name_the_field() {
    let mut f = RuleForm::empty();
    f.name = "x".into();
    f.condition = "cpu_usage > 1".into();
    f.resolve = "eighty".into();
    let e = f.body(&RuleConfig::default()).unwrap_err();
    assert!(e.contains("\"x\"") && e.contains("`resolve`"), "{e}");
    f.kind = "stale".into();
    f.intervals = "-1".into();
    assert!(f
        .body(&RuleConfig::default())
        .unwrap_err()
        .contains("`intervals`"));
}

#[test]
fn test_answers_read_as_a_verdict() {
    let t = RuleTestResult {
        rule: "t".into(),
        describe: "cpu_usage > 5".into(),
        value_now: Some(12.345),
        condition_holds_now: Some(true),
    };
    assert_eq!(
        verdict_line(&t),
        "OK: cpu_usage > 5 — would fire now (value 12.35)"
    );
    let t = RuleTestResult {
        describe: "no sample for 3 intervals".into(),
        value_now: None,
        condition_holds_now: None,
        ..t
    };
    assert!(verdict_line(&t).ends_with("cannot tell from the latest sample"));
}
