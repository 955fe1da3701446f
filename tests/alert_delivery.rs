//! Alert delivery against real servers on 127.0.0.1: an SMTP sink speaking SMTP
//! over TCP and an HTTP webhook receiver (tests/alert_support), plus the outage /
//! restart scenario: nothing lost, nothing twice.

#[allow(dead_code)]
mod alert_support;

use alert_support::{free_port, HttpReceiver, SmtpSink};
use lookout::alert::notify::sign;
use lookout::alert::{
    deliver_due, enqueue, AlertConfig, AlertEngine, Notification, NotificationKind,
};
use lookout::model::{AnomalyEvent, Explanation, MetricContribution, ProcessInfo, Snapshot};
use lookout::store::{Store, StoreOptions};
use std::time::Duration;

const T0: i64 = 1_764_088_697_000;

fn rules_toml() -> &'static str {
    "group_wait = \"0s\"\ndashboard_url = \"http://dash.test:3000\"\n\
     [[rules]]\nname = \"cpu-high\"\nseverity = \"critical\"\n\
     condition = \"cpu_usage > 90 for 20s\"\nresolve = 70\n\
     [[rules]]\nname = \"mem-high\"\ncondition = \"memory_usage > 80\"\n\
     [[rules]]\nname = \"load-high\"\ncondition = \"load_1 > 8\"\n"
}

fn email_channel(port: u16) -> String {
    format!(
        "[[channels]]\ntype = \"email\"\nname = \"ops-mail\"\nhost = \"127.0.0.1\"\n\
         port = {port}\ntls = \"none\"\nfrom = \"Lookout <lookout@example.test>\"\n\
         to = [\"a@example.test\", \"b@example.test\"]\ntimeout_secs = 5\n"
    )
}

fn hot(t: i64) -> Snapshot {
    let mut s = Snapshot {
        host: "web1".into(),
        timestamp: t,
        interval_secs: 1.0,
        anomaly: true,
        anomaly_score: Some(0.95),
        ..Snapshot::default()
    };
    s.cpu.total = 99.0;
    s.memory.usage_percent = 91.0;
    s.load.one = 12.0;
    s
}

fn event() -> AnomalyEvent {
    AnomalyEvent {
        host: "web1".into(),
        start: T0,
        peak_score: 0.95,
        peak_at: T0,
        explanation: Explanation {
            metrics: vec![MetricContribution {
                metric: "cpu_usage".into(),
                value: 99.0,
                normal_low: 1.5,
                normal_high: 35.0,
                contribution: 0.7,
            }],
            top_cpu: vec![ProcessInfo {
                pid: 4242,
                name: "stress-ng".into(),
                cpu_percent: 380.0,
                rss_bytes: 64 << 20,
            }],
            top_memory: Vec::new(),
            rhythm: None,
            causes: Vec::new(),
        },
        ..AnomalyEvent::default()
    }
}

/// Runs `engine` over 30 s of hot samples and returns the notifications.
fn raise(engine: &mut AlertEngine) -> Vec<Notification> {
    engine.observe_event(&event());
    (0..=30)
        .flat_map(|i| engine.observe_snapshot(&hot(T0 + i * 1000), T0 + i * 1000))
        .collect()
}

fn store_at(path: &std::path::Path) -> Store {
    Store::open(
        path,
        StoreOptions {
            host: "web1".into(),
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn email_reaches_a_real_smtp_server_with_the_facts() {
    let sink = SmtpSink::start(0);
    let cfg =
        AlertConfig::from_toml(&format!("{}{}", rules_toml(), email_channel(sink.port))).unwrap();
    let mut engine = cfg.engine("web1").unwrap();
    let notifiers = cfg.notifiers().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = store_at(&dir.path().join("db.sqlite"));

    let out = raise(&mut engine);
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(enqueue(&store, &out, &notifiers, T0).unwrap(), 3);
    let report = deliver_due(&store, &notifiers, T0 + 31_000).unwrap();
    assert_eq!(
        (report.delivered, report.failed, report.pending),
        (3, 0, 0),
        "{report:?}"
    );

    let mails = sink.mails();
    assert_eq!(mails.len(), 3);
    let cpu = mails
        .iter()
        .find(|m| m.data.contains("FIRING cpu-high on web1"))
        .expect("cpu mail");
    assert_eq!(cpu.rcpt, ["<a@example.test>", "<b@example.test>"]);
    assert!(cpu.from.contains("lookout@example.test"));
    let d = &cpu.data;
    assert!(
        d.contains("Subject: [CRITICAL] FIRING cpu-high on web1"),
        "{d}"
    );
    assert!(
        d.contains("multipart/alternative") && d.contains("text/html"),
        "{d}"
    );
    assert!(
        d.contains("cpu_usage = 99 (threshold 90), normal band 1.5..35"),
        "{d}"
    );
    assert!(d.contains("stress-ng (pid 4242)"), "{d}");
    assert!(d.contains("since 2025-11-25 16:38:37 UTC"), "{d}");
    assert!(d.contains("http://dash.test:3000/?host=web1&from="), "{d}");
    assert!(d.contains("<li>stress-ng (pid 4242)"), "{d}");

    // Resolve: one more mail per alert that clears.
    let mut cool = hot(T0 + 60_000);
    cool.cpu.total = 5.0;
    let out = engine.observe_snapshot(&cool, T0 + 60_000);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, NotificationKind::Resolved);
    enqueue(&store, &out, &notifiers, T0 + 60_000).unwrap();
    deliver_due(&store, &notifiers, T0 + 60_000).unwrap();
    assert!(sink
        .mails()
        .iter()
        .any(|m| m.data.contains("[RESOLVED] cpu-high on web1")));

    let history = store.alert_history(0, i64::MAX, 10).unwrap();
    assert_eq!(history.len(), 4);
    assert!(history
        .iter()
        .all(|h| h.deliveries.len() == 1 && h.deliveries[0].status == "delivered"));
}

#[test]
fn webhooks_send_signed_json_and_slack_payloads() {
    let rx = HttpReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("hook.secret");
    std::fs::write(&secret_file, "s3cr3t-key\n").unwrap();
    let cfg = AlertConfig::from_toml(&format!(
        "{}[[channels]]\ntype = \"webhook\"\nname = \"hook\"\nurl = \"{}\"\nsecret_file = \"{}\"\n\
         [[channels]]\ntype = \"webhook\"\nname = \"slack\"\nformat = \"slack\"\nurl = \"{}\"\n",
        rules_toml(),
        rx.url("/hook"),
        secret_file.display(),
        rx.url("/slack/T000/B000/tok3n")
    ))
    .unwrap();
    let mut engine = cfg.engine("web1").unwrap();
    let notifiers = cfg.notifiers().unwrap();
    assert!(!format!("{:?}", cfg.channels).contains("tok3n"));
    let store = store_at(&dir.path().join("db.sqlite"));

    let out: Vec<_> = raise(&mut engine)
        .into_iter()
        .filter(|n| n.rule == "cpu-high")
        .collect();
    assert_eq!(enqueue(&store, &out, &notifiers, T0).unwrap(), 2);
    let report = deliver_due(&store, &notifiers, T0 + 31_000).unwrap();
    assert_eq!(report.delivered, 2, "{report:?}");

    let reqs = rx.requests();
    let hook = reqs
        .iter()
        .find(|r| r.path == "/hook")
        .expect("generic webhook");
    let sig = hook
        .header("x-lookout-signature")
        .expect("signature header");
    assert_eq!(sig, sign(b"s3cr3t-key", &hook.body));
    assert_ne!(sig, sign(b"wrong", &hook.body));
    assert_eq!(hook.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["kind"], "firing");
    assert_eq!(v["rule"], "cpu-high");
    assert_eq!(v["host"], "web1");
    assert_eq!(v["severity"], "critical");
    assert_eq!(v["values"][0]["metric"], "cpu_usage");
    assert_eq!(v["explanation"]["top_cpu"][0]["name"], "stress-ng");
    assert_eq!(v["id"], out[0].id);

    let slack = reqs
        .iter()
        .find(|r| r.path.starts_with("/slack"))
        .expect("slack");
    assert!(slack.header("x-lookout-signature").is_none());
    let v: serde_json::Value = serde_json::from_slice(&slack.body).unwrap();
    assert_eq!(v["text"], "[CRITICAL] FIRING cpu-high on web1");
    assert_eq!(v["blocks"][0]["type"], "header");
    assert!(v["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("stress-ng"));
}

#[test]
fn smtp_outage_and_restart_deliver_every_alert_exactly_once() {
    let port = free_port();
    let cfg = AlertConfig::from_toml(&format!("{}{}", rules_toml(), email_channel(port))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.sqlite");
    let out;
    {
        let store = store_at(&db);
        let notifiers = cfg.notifiers().unwrap();
        let mut engine = cfg.engine("web1").unwrap();
        out = raise(&mut engine);
        assert_eq!(out.len(), 3);
        enqueue(&store, &out, &notifiers, T0).unwrap();
        // The SMTP server is down for 10 minutes: every attempt fails and backs off.
        let mut now = T0 + 30_000;
        let mut attempts = 0;
        while now < T0 + 10 * 60_000 {
            let r = deliver_due(&store, &notifiers, now).unwrap();
            assert_eq!(r.delivered, 0);
            attempts += r.attempted;
            assert_eq!(r.pending, 3);
            now += 15_000;
        }
        // Exponential backoff: far fewer than one attempt per call per alert.
        assert!(attempts > 3 && attempts < 3 * 40, "{attempts}");
        let h = store.alert_history(0, i64::MAX, 10).unwrap();
        let d = &h[0].deliveries[0];
        assert_eq!(d.status, "pending");
        assert!(
            d.attempts >= 2 && d.last_error.as_deref().unwrap().contains("SMTP"),
            "{d:?}"
        );
    } // "Lookout stops": the store is closed.

    // Restart: reopen the store, re-enqueue the same notifications (a re-run after a
    // crash) -- nothing new -- then the SMTP server comes back.
    let store = store_at(&db);
    let notifiers = cfg.notifiers().unwrap();
    assert_eq!(
        enqueue(&store, &out, &notifiers, T0 + 11 * 60_000).unwrap(),
        0
    );
    let sink = SmtpSink::start(port);
    let later = T0 + 20 * 60_000;
    let r = deliver_due(&store, &notifiers, later).unwrap();
    assert_eq!((r.delivered, r.pending), (3, 0), "{r:?}");
    let r = deliver_due(&store, &notifiers, later + 3_600_000).unwrap();
    assert_eq!(r.attempted, 0);
    std::thread::sleep(Duration::from_millis(100));
    let mails = sink.mails();
    assert_eq!(mails.len(), 3);
    for rule in ["cpu-high", "mem-high", "load-high"] {
        let n = mails
            .iter()
            .filter(|m| m.data.contains(&format!("FIRING {rule} on web1")))
            .count();
        assert_eq!(n, 1, "{rule}");
    }
}
