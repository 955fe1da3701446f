use super::*;

fn rule(kind: RuleKind) -> RuleView {
    RuleView {
        rule: Rule {
            name: "r".into(),
            severity: Severity::Warning,
            enabled: true,
            channels: vec!["ops".into()],
            hosts: vec!["web-*".into()],
            kind,
        },
        describe: "d".into(),
        source: "api".into(),
        config: RuleConfig::default(),
    }
}

/// The hand-written readers (`RuleKindWire`, `RuleViewWire`) read back what the
/// derived writers write, for every kind.
#[test]
fn every_rule_kind_round_trips() {
    let kinds = [
        RuleKind::Anomaly {
            min_score: None,
            for_ms: 60_000,
        },
        RuleKind::Anomaly {
            min_score: Some(4.5),
            for_ms: 0,
        },
        RuleKind::Threshold(ThresholdRule {
            metric: "cpu_usage".into(),
            op: Op::Ge,
            value: 90.0,
            for_ms: 300_000,
            resolve: Some(80.0),
            and_anomalous: true,
        }),
        RuleKind::Stale { intervals: 3 },
        RuleKind::Forecast(ForecastRule {
            metric: "disk_free_percent".into(),
            op: Op::Lt,
            value: 5.0,
            within_ms: 86_400_000,
        }),
    ];
    for kind in kinds {
        let view = rule(kind);
        let json = serde_json::to_string(&view).unwrap();
        let back: RuleView = serde_json::from_str(&json).unwrap();
        assert_eq!(back, view, "{json}");
    }
}

#[test]
fn rule_kind_reads_the_tag_anywhere_and_requires_each_kinds_fields() {
    let k: RuleKind = serde_json::from_str(r#"{"intervals": 2, "kind": "stale"}"#).unwrap();
    assert_eq!(k, RuleKind::Stale { intervals: 2 });
    let e = serde_json::from_str::<RuleKind>(r#"{"kind": "threshold", "metric": "cpu_usage", "op": ">", "for_ms": 0, "and_anomalous": false}"#)
        .unwrap_err();
    assert!(e.to_string().contains("missing field `value`"), "{e}");
    let e = serde_json::from_str::<RuleKind>(r#"{"kind": "sometimes"}"#).unwrap_err();
    assert!(e.to_string().contains("unknown variant"), "{e}");
    // A rule view without `hosts` (older answers) watches every host.
    let mut json = serde_json::to_value(rule(RuleKind::Stale { intervals: 1 })).unwrap();
    json.as_object_mut().unwrap().remove("hosts");
    let back: RuleView = serde_json::from_value(json).unwrap();
    assert!(back.rule.hosts.is_empty());
}
