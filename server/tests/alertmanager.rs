//! The `alertmanager` channel against Debian's Alertmanager on a loopback port chosen
//! now: a real `lookout serve` whose threshold rule fires (and whose test button
//! posts) shows up in Alertmanager's v2 API with its labels and annotations; and
//! through the outbox on a real SQLite store, a firing alert posted while
//! Alertmanager is down is retried and arrives once it is up, and its resolve ends it.

#[path = "support/engines.rs"]
mod engines;
mod support;

use engines::{get_json, wait_for};
use lookout::alert::notification::{Notification, NotificationKind};
use lookout::alert::notify::{AlertmanagerConfig, AlertmanagerNotifier};
use lookout::alert::{outbox, Notifier};
use lookout::store::{Store, StoreOptions};
use serde_json::Value;
use std::time::Duration;

/// Alerts Alertmanager holds now (resolved ones are not listed).
fn alerts(base: &str) -> Vec<Value> {
    get_json(&format!("{base}/api/v2/alerts"))
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

fn find(base: &str, alertname: &str) -> Option<Value> {
    alerts(base)
        .into_iter()
        .find(|a| a["labels"]["alertname"] == alertname)
}

#[test]
fn a_lookout_rule_and_the_test_button_reach_alertmanager_with_labels_and_annotations() {
    let Some(bin) = engines::binary("prometheus-alertmanager", "prometheus-alertmanager") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let am_dir = dir.path().join("am");
    std::fs::create_dir_all(&am_dir).unwrap();
    let am = engines::alertmanager(&bin, &am_dir);
    let lookout = engines::lookout(
        dir.path(),
        &format!(
            r#"
[sampler]
interval = "1s"
[host]
name = "am-test-host"
[alerts]
group_wait = "0s"
[[alerts.rules]]
name = "memory-in-use"
condition = "memory_used_bytes > 0"
severity = "warning"
[[alerts.channels]]
type = "alertmanager"
name = "am"
url = "{}"
"#,
            am.base()
        ),
        &[],
    );
    let alert = wait_for(Duration::from_secs(20), || {
        find(&am.base(), "memory-in-use")
    })
    .expect("the firing rule never reached Alertmanager");
    assert_eq!(alert["labels"]["host"], "am-test-host");
    assert_eq!(alert["labels"]["severity"], "warning");
    assert_eq!(alert["labels"]["kind"], "threshold");
    assert_eq!(alert["status"]["state"], "active");
    let explanation = alert["annotations"]["explanation"].as_str().unwrap_or("");
    assert!(explanation.contains("memory_used_bytes"), "{alert}");
    let link = alert["annotations"]["dashboard"].as_str().unwrap_or("");
    assert!(link.starts_with("http://127.0.0.1:"), "{alert}");
    assert_eq!(alert["generatorURL"].as_str(), Some(link));

    let status = engines::client()
        .post(format!("{}/api/alerts/test", lookout.base()))
        .json(&serde_json::json!({"channel": "am"}))
        .send()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 202);
    let test = wait_for(Duration::from_secs(20), || find(&am.base(), "LookoutTest"))
        .expect("the test notification never reached Alertmanager");
    assert_eq!(test["labels"]["kind"], "test");
}

fn notification(kind: NotificationKind, since: i64, at: i64) -> Notification {
    Notification {
        id: format!("disk-full|db-7|{}|{since}", kind.as_str()),
        kind,
        rule: "disk-full".into(),
        condition: "disk_free_percent < 5".into(),
        host: "db-7".into(),
        since,
        at,
        values: vec![],
        explanation: None,
        dashboard_link: "http://lookout.test:3000/?host=db-7".into(),
        channels: vec![],
        ..Notification::example()
    }
}

#[test]
fn the_outbox_retries_a_dead_alertmanager_then_delivers_and_resolves() {
    let Some(bin) = engines::binary("prometheus-alertmanager", "prometheus-alertmanager") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &dir.path().join("lookout.db"),
        StoreOptions {
            host: "db-7".into(),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    // Alertmanager's port is chosen first; nothing listens on it yet.
    let am_dir = dir.path().join("am");
    std::fs::create_dir_all(&am_dir).unwrap();
    let port = support::free_port();
    let notifiers: Vec<Box<dyn Notifier>> = vec![Box::new(
        AlertmanagerNotifier::new(AlertmanagerConfig {
            name: "am".into(),
            url: format!("http://127.0.0.1:{port}"),
            username: None,
            password_env: None,
            password_file: None,
            bearer_token_env: None,
            bearer_token_file: None,
            firing_ttl: None,
            timeout_secs: Some(2),
        })
        .unwrap(),
    )];
    let now = lookout::time::now_ms();
    let since = now - 60_000;
    let firing = notification(NotificationKind::Firing, since, now);
    outbox::enqueue(&store, &[firing], &notifiers, now).unwrap();
    let report = outbox::deliver_due(&store, &notifiers, now).unwrap();
    assert_eq!((report.delivered, report.failed), (0, 1), "{report:?}");
    assert_eq!(report.pending, 1, "kept for a retry");

    let am = engines::alertmanager_on(&bin, &am_dir, port);
    // The retry is due after the backoff: deliver as if that time had come.
    let later = now + outbox::backoff_ms(1);
    let report = outbox::deliver_due(&store, &notifiers, later).unwrap();
    assert_eq!((report.delivered, report.pending), (1, 0), "{report:?}");
    let alert = wait_for(Duration::from_secs(10), || find(&am.base(), "disk-full"))
        .expect("the retried alert is not in Alertmanager");
    assert_eq!(alert["labels"]["host"], "db-7");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["generatorURL"], "http://lookout.test:3000/?host=db-7");

    let resolved = notification(NotificationKind::Resolved, since, lookout::time::now_ms());
    outbox::enqueue(&store, &[resolved], &notifiers, later).unwrap();
    let report = outbox::deliver_due(&store, &notifiers, later).unwrap();
    assert_eq!(report.delivered, 1, "{report:?}");
    let gone = wait_for(Duration::from_secs(10), || {
        find(&am.base(), "disk-full").is_none().then_some(())
    });
    assert!(
        gone.is_some(),
        "the resolve did not end the alert: {:?}",
        alerts(&am.base())
    );
}
