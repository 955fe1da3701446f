//! The alert tables of the store: idempotent outbox, silences, engine state,
//! and a check that credentials never show in Debug output or errors.

use super::notify::{ChannelConfig, Notifier};
use super::*;
use crate::store::tests::temp_store;

struct Failing;

impl Notifier for Failing {
    fn name(&self) -> &str {
        "mail"
    }
    fn send(&self, _: &Notification) -> Result<(), NotifyError> {
        Err(NotifyError::Delivery("relay down".into()))
    }
}

#[test]
fn outbox_is_idempotent_and_backs_off() {
    let (_dir, s) = temp_store("h1");
    let engine = AlertEngine::new(Vec::new(), EngineSettings::default());
    let n = engine.test_notification("mail", 1_000);
    assert_eq!(s.enqueue_notification(&n, &["mail"], 1_000).unwrap(), 1);
    assert_eq!(s.enqueue_notification(&n, &["mail"], 2_000).unwrap(), 0);
    let notifiers: Vec<Box<dyn Notifier>> = vec![Box::new(Failing)];
    let r = deliver_due(&s, &notifiers, 1_000).unwrap();
    assert_eq!((r.attempted, r.failed, r.pending), (1, 1, 1));
    assert_eq!(r.next_due, Some(1_000 + outbox::backoff_ms(1)));
    // Not due again before the backoff ends.
    assert_eq!(deliver_due(&s, &notifiers, 5_000).unwrap().attempted, 0);
    let r = deliver_due(&s, &notifiers, 6_000).unwrap();
    assert_eq!(
        (r.attempted, r.next_due),
        (1, Some(6_000 + outbox::backoff_ms(2)))
    );
    let h = s.alert_history(0, i64::MAX, 10).unwrap();
    assert_eq!(h[0].deliveries[0].attempts, 2);
    assert!(h[0].deliveries[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("relay down"));
    // Pending rows survive pruning, whatever their age.
    assert_eq!(s.prune_alert_history(i64::MAX).unwrap(), 0);
}

#[test]
fn silences_are_stored_listed_expired_and_deleted() {
    let (_dir, s) = temp_store("h1");
    let sil = Silence {
        id: 0,
        rule: Some("cpu".into()),
        host: None,
        starts_at: 100,
        ends_at: 1_000,
        comment: "deploy".into(),
        created_by: "admin".into(),
    };
    sil.validate().unwrap();
    let id = s.create_silence(&sil).unwrap();
    assert_eq!(s.silences(Some(500)).unwrap().len(), 1);
    assert_eq!(s.silences(Some(1_000)).unwrap().len(), 0);
    assert!(s.expire_silence(id, 300).unwrap());
    assert_eq!(s.silences(Some(400)).unwrap().len(), 0);
    assert_eq!(s.silences(None).unwrap()[0].ends_at, 300);
    assert!(s.delete_silence(id).unwrap());
    assert!(!s.delete_silence(id).unwrap());
    let everything = Silence { rule: None, ..sil };
    assert!(everything.validate().is_err());
}

#[test]
fn engine_state_round_trips_through_the_store() {
    let (_dir, s) = temp_store("h1");
    assert!(s.load_alert_engine_state().unwrap().is_none());
    let e = AlertEngine::new(Vec::new(), EngineSettings::default());
    s.save_alert_engine_state(&e.export_state(), 1).unwrap();
    s.save_alert_engine_state(&e.export_state(), 2).unwrap();
    assert!(s.load_alert_engine_state().unwrap().is_some());
}

#[test]
fn credentials_stay_out_of_debug_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cred = dir.path().join("smtp.cred");
    std::fs::write(&cred, "mailer\nPa55w0rd-XYZ\n").unwrap();
    let cfg = AlertConfig::from_toml(&format!(
        "[[channels]]\ntype = \"email\"\nname = \"m\"\nhost = \"127.0.0.1\"\nport = 9\n\
         tls = \"none\"\nfrom = \"a@b.test\"\nto = [\"c@d.test\"]\ntimeout_secs = 1\n\
         credentials_file = \"{}\"\n\
         [[channels]]\ntype = \"webhook\"\nname = \"w\"\nurl = \"http://127.0.0.1:9/T/B/tok3n\"\n",
        cred.display()
    ))
    .unwrap();
    let notifiers = cfg.notifiers().unwrap();
    let n = AlertEngine::new(Vec::new(), EngineSettings::default()).test_notification("m", 0);
    for ch in &cfg.channels {
        let shown = format!("{ch:?}");
        assert!(
            !shown.contains("Pa55w0rd") && !shown.contains("tok3n"),
            "{shown}"
        );
    }
    for notifier in &notifiers {
        let err = notifier.send(&n).unwrap_err().to_string();
        assert!(!err.contains("Pa55w0rd") && !err.contains("tok3n"), "{err}");
    }
    let missing = ChannelConfig::Webhook(
        toml::from_str("name = \"x\"\nurl_env = \"LOOKOUT_TEST_UNSET_VAR\"").unwrap(),
    );
    assert!(missing.build().is_err());
}

#[test]
fn inhibited_entries_are_history_only() {
    let (_dir, s) = temp_store("h1");
    let mut engine = AlertConfig::from_toml(
        "group_wait = \"10s\"\n[[rules]]\nname = \"cpu\"\ncondition = \"cpu_usage > 90\"\n\
         [[rules]]\nname = \"stalled\"\nkind = \"stale\"\nintervals = 1\n",
    )
    .unwrap()
    .engine("h1")
    .unwrap();
    let mut hot = crate::model::Snapshot {
        host: "h2".into(),
        timestamp: 1_000,
        interval_secs: 1.0,
        ..Default::default()
    };
    hot.cpu.total = 99.0;
    // cpu fires on h2 and waits for the group wait; h2 stops sampling meanwhile.
    assert!(engine.observe_snapshot(&hot, 1_000).is_empty());
    let noted = engine.tick(11_000);
    assert_eq!(noted.len(), 1);
    assert_eq!(noted[0].kind, NotificationKind::Inhibited);
    let notifiers: Vec<Box<dyn Notifier>> = vec![Box::new(Failing)];
    // Through the outbox: stored for the history, but no channel gets a delivery row.
    assert_eq!(enqueue(&s, &noted, &notifiers, 11_000).unwrap(), 0);
    let h = s.alert_history(0, i64::MAX, 10).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].notification.kind, NotificationKind::Inhibited);
    assert_eq!(h[0].notification.rule, "cpu");
    assert_eq!(
        h[0].notification.inhibited_by.as_deref(),
        Some("stalled on h2")
    );
    assert!(h[0].deliveries.is_empty());
    assert_eq!(deliver_due(&s, &notifiers, 11_000).unwrap().attempted, 0);
}
