//! One example of each body ([`ApiBody`]): the contract test checks the server's
//! answers and the README's documented shapes against them.

use super::*;
use crate::model::ApiBody;

fn example_rule_config() -> RuleConfig {
    RuleConfig {
        name: Some("cpu-high".into()),
        severity: Some("critical".into()),
        enabled: Some(true),
        kind: Some("threshold".into()),
        condition: Some("cpu_usage > 90 for 5m".into()),
        resolve: Some(80.0),
        and_anomalous: Some(false),
        min_score: None,
        for_: None,
        intervals: None,
        channels: Some(vec!["ops-mail".into()]),
        hosts: Some(vec!["web-*".into()]),
    }
}

fn example_values() -> Vec<MetricValue> {
    vec![MetricValue {
        metric: "cpu_usage".into(),
        value: 97.0,
        threshold: Some(90.0),
        normal_low: Some(8.0),
        normal_high: Some(22.0),
    }]
}

impl Notification {
    /// A firing threshold notification, the documented example and a base for tests.
    pub fn example() -> Self {
        example_notification()
    }
}

fn example_notification() -> Notification {
    Notification {
        id: "cpu-high|web-1|firing|1764084700000".into(),
        kind: NotificationKind::Firing,
        rule: "cpu-high".into(),
        rule_kind: Some(RuleKindName::Threshold),
        condition: "cpu_usage > 90 for 5m".into(),
        host: "web-1".into(),
        severity: Severity::Critical,
        since: 1_764_084_700_000,
        at: 1_764_085_000_000,
        values: example_values(),
        explanation: Some(crate::model::AnomalyEvent::example().explanation),
        dashboard_link: "http://lookout:3000/?from=1764084400000&to=1764085300000".into(),
        channels: vec!["ops-mail".into()],
        digest: vec![],
        inhibited_by: None,
        forecast: None,
    }
}

impl ApiBody for AlertsOverview {
    fn example() -> Self {
        AlertsOverview {
            active: vec![ActiveAlert {
                rule: "cpu-high".into(),
                host: "web-1".into(),
                severity: Severity::Critical,
                state: "firing".into(),
                since: 1_764_084_700_000,
                values: example_values(),
                silenced: false,
                inhibited_by: None,
            }],
            rules: vec![
                RuleView {
                    rule: Rule {
                        name: "cpu-high".into(),
                        severity: Severity::Critical,
                        enabled: true,
                        channels: vec!["ops-mail".into()],
                        hosts: vec!["web-*".into()],
                        kind: RuleKind::Threshold(ThresholdRule {
                            metric: "cpu_usage".into(),
                            op: Op::Gt,
                            value: 90.0,
                            for_ms: 300_000,
                            resolve: Some(80.0),
                            and_anomalous: false,
                        }),
                    },
                    describe: "cpu_usage > 90 for 5m on web-*".into(),
                    source: "api".into(),
                    config: example_rule_config(),
                },
                RuleView {
                    rule: Rule {
                        name: "anomaly".into(),
                        severity: Severity::Warning,
                        enabled: true,
                        channels: vec![],
                        hosts: vec![],
                        kind: RuleKind::Anomaly {
                            min_score: Some(4.0),
                            for_ms: 60_000,
                        },
                    },
                    describe: "anomaly score >= 4 for 1m".into(),
                    source: "file".into(),
                    config: RuleConfig {
                        name: Some("anomaly".into()),
                        kind: Some("anomaly".into()),
                        min_score: Some(4.0),
                        for_: Some("1m".into()),
                        ..RuleConfig::default()
                    },
                },
                RuleView {
                    rule: Rule {
                        name: "sampler-stalled".into(),
                        severity: Severity::Critical,
                        enabled: true,
                        channels: vec![],
                        hosts: vec![],
                        kind: RuleKind::Stale { intervals: 5 },
                    },
                    describe: "no sample for 5 intervals".into(),
                    source: "file+api".into(),
                    config: RuleConfig {
                        name: Some("sampler-stalled".into()),
                        severity: Some("critical".into()),
                        kind: Some("stale".into()),
                        intervals: Some(5),
                        ..RuleConfig::default()
                    },
                },
            ],
            channels: vec!["ops-mail".into(), "chat".into()],
        }
    }
}

impl ApiBody for AlertHistory {
    fn example() -> Self {
        let firing = example_notification();
        let digest = Notification {
            id: "digest|1764085300000".into(),
            kind: NotificationKind::Digest,
            rule: String::new(),
            rule_kind: None,
            condition: String::new(),
            since: 1_764_085_000_000,
            at: 1_764_085_300_000,
            values: vec![],
            explanation: None,
            digest: vec![DigestEntry {
                kind: NotificationKind::Firing,
                rule: "disk-full".into(),
                rule_kind: Some(RuleKindName::Threshold),
                host: "web-1".into(),
                severity: Severity::Warning,
                since: 1_764_085_100_000,
            }],
            ..firing.clone()
        };
        let inhibited = Notification {
            id: "disk-full|web-1|inhibited|1764085100000".into(),
            kind: NotificationKind::Inhibited,
            rule: "disk-full".into(),
            condition: "disk_free_percent < 5".into(),
            severity: Severity::Warning,
            since: 1_764_085_100_000,
            at: 1_764_085_100_000,
            values: vec![],
            explanation: None,
            inhibited_by: Some("sampler-stalled on web-1".into()),
            ..firing.clone()
        };
        let delivered = DeliveryStatus {
            channel: "ops-mail".into(),
            status: "delivered".into(),
            attempts: 1,
            next_attempt_at: None,
            last_error: None,
            delivered_at: Some(1_764_085_301_000),
        };
        AlertHistory {
            from: 1_763_480_200_000,
            to: 1_764_085_400_000,
            entries: vec![
                AlertHistoryEntry {
                    id: 14,
                    created_at: 1_764_085_300_000,
                    notification: digest,
                    deliveries: vec![delivered],
                },
                AlertHistoryEntry {
                    id: 13,
                    created_at: 1_764_085_100_000,
                    notification: inhibited,
                    deliveries: vec![],
                },
                AlertHistoryEntry {
                    id: 12,
                    created_at: 1_764_085_000_000,
                    notification: firing,
                    deliveries: vec![DeliveryStatus {
                        channel: "ops-mail".into(),
                        status: "pending".into(),
                        attempts: 2,
                        next_attempt_at: Some(1_764_085_060_000),
                        last_error: Some("connection refused".into()),
                        delivered_at: None,
                    }],
                },
            ],
        }
    }
}

impl ApiBody for TestChannelRequest {
    fn example() -> Self {
        TestChannelRequest {
            channel: "ops-mail".into(),
        }
    }
}

impl ApiBody for RuleConfig {
    fn example() -> Self {
        example_rule_config()
    }
}

impl ApiBody for RuleSaved {
    fn example() -> Self {
        RuleSaved {
            name: "cpu-high".into(),
            describe: "cpu_usage > 90 for 5m".into(),
            enabled: true,
        }
    }
}

impl ApiBody for RuleTestResult {
    fn example() -> Self {
        RuleTestResult {
            rule: "cpu-high".into(),
            describe: "cpu_usage > 90 for 5m".into(),
            value_now: Some(12.5),
            condition_holds_now: Some(false),
        }
    }
}

impl ApiBody for Silence {
    fn example() -> Self {
        Silence {
            id: 4,
            rule: Some("disk-full".into()),
            host: None,
            starts_at: 1_764_085_000_000,
            ends_at: 1_764_092_200_000,
            comment: "maintenance".into(),
            created_by: "user:admin".into(),
        }
    }
}

impl ApiBody for SilenceList {
    fn example() -> Self {
        SilenceList {
            silences: vec![Silence::example()],
        }
    }
}

impl ApiBody for SilenceRequest {
    fn example() -> Self {
        SilenceRequest {
            rule: Some("disk-full".into()),
            host: Some("web-1".into()),
            duration: Some("2h".into()),
            ends_at: None,
            comment: "maintenance".into(),
            created_by: String::new(),
        }
    }
}

impl ApiBody for SilenceExpired {
    fn example() -> Self {
        SilenceExpired {
            id: 4,
            status: "expired".into(),
        }
    }
}
