//! Email over TLS against a real SMTP server on 127.0.0.1 (tests/alert_support): STARTTLS
//! and implicit TLS with a private CA made at test time (rcgen), AUTH PLAIN and LOGIN,
//! wrong credentials and untrusted certificates. Credentials never show in errors.
//!
//! Every test but one reads credentials from a `credentials_file`, which wins over the
//! environment, so the one test that sets `EMAIL_USER` / `EMAIL_PASS` cannot leak into
//! the others running in parallel.

#[allow(dead_code)]
mod alert_support;

use alert_support::{SinkOptions, SmtpSink, TestPki};
use lookout::alert::{deliver_due, enqueue, AlertConfig, AlertEngine, EngineSettings, Notifier};
use lookout::store::{Store, StoreOptions};
use std::path::Path;

const USER: &str = "lookout@relay.test";
const PASS: &str = "c0rrect-h0rse-battery";
const T0: i64 = 1_764_088_697_000;

struct Setup {
    _dir: tempfile::TempDir,
    store: Store,
    ca_file: String,
    creds_file: String,
}

fn setup(pki: &TestPki, password: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let creds = dir.path().join("smtp-credentials");
    std::fs::write(&creds, format!("{USER}\n{password}\n")).unwrap();
    let store = Store::open(
        &dir.path().join("db.sqlite"),
        StoreOptions {
            host: "web1".into(),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    Setup {
        ca_file: ca.display().to_string(),
        creds_file: creds.display().to_string(),
        store,
        _dir: dir,
    }
}

/// An email channel; `extra` adds keys (ca_file, credentials_file).
fn channel(port: u16, tls: &str, extra: &str) -> AlertConfig {
    AlertConfig::from_toml(&format!(
        "[[channels]]\ntype = \"email\"\nname = \"mail\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         tls = \"{tls}\"\nfrom = \"Lookout <lookout@example.test>\"\nto = [\"ops@example.test\"]\n\
         timeout_secs = 5\n{extra}"
    ))
    .unwrap()
}

fn tls_sink(pki: &TestPki, implicit: bool, mechanisms: Vec<&'static str>) -> SmtpSink {
    SmtpSink::start_with(
        0,
        SinkOptions {
            tls: Some(pki.server.clone()),
            implicit_tls: implicit,
            auth: Some((USER.into(), PASS.into())),
            mechanisms,
        },
    )
}

/// Queues one test notification for `mail` and runs one delivery pass at `now`.
fn send_one(
    s: &Setup,
    notifiers: &[Box<dyn Notifier>],
    now: i64,
) -> lookout::alert::DeliveryReport {
    let engine = AlertEngine::new(Vec::new(), EngineSettings::default());
    let n = engine.test_notification("mail", T0);
    enqueue(&s.store, &[n], notifiers, T0).unwrap();
    deliver_due(&s.store, notifiers, now).unwrap()
}

fn q(p: &str) -> String {
    format!("{:?}", Path::new(p).display().to_string())
}

/// The mail channel in `mode` trusting the test CA, with the credentials file of `s`.
fn trusted_channel(s: &Setup, port: u16, mode: &str) -> AlertConfig {
    let extra = format!(
        "ca_file = {}\ncredentials_file = {}\n",
        q(&s.ca_file),
        q(&s.creds_file)
    );
    channel(port, mode, &extra)
}

#[test]
fn starttls_with_auth_plain_delivers_as_the_configured_user() {
    let pki = TestPki::new();
    let sink = tls_sink(&pki, false, vec!["PLAIN", "LOGIN"]);
    let s = setup(&pki, PASS);
    let cfg = trusted_channel(&s, sink.port, "starttls");
    let notifiers = cfg.notifiers().unwrap();
    let r = send_one(&s, &notifiers, T0);
    assert_eq!((r.delivered, r.failed, r.pending), (1, 0, 0), "{r:?}");
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].encrypted, "message accepted only after STARTTLS");
    assert_eq!(mails[0].auth_user.as_deref(), Some(USER));
    assert!(mails[0].data.contains("[TEST] Lookout test notification"));
    assert_eq!(sink.auth_attempts(), [(USER.to_string(), true)]);
}

#[test]
fn implicit_tls_with_auth_login_delivers() {
    let pki = TestPki::new();
    let sink = tls_sink(&pki, true, vec!["LOGIN"]);
    let s = setup(&pki, PASS);
    let cfg = trusted_channel(&s, sink.port, "tls");
    let notifiers = cfg.notifiers().unwrap();
    let r = send_one(&s, &notifiers, T0);
    assert_eq!((r.delivered, r.failed), (1, 0), "{r:?}");
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].encrypted);
    assert_eq!(mails[0].auth_user.as_deref(), Some(USER));
}

#[test]
fn a_wrong_password_fails_clearly_without_the_password_and_is_retried() {
    let pki = TestPki::new();
    let sink = tls_sink(&pki, false, Vec::new());
    let wrong = "Wr0ng-Pa55word-xyz";
    let s = setup(&pki, wrong);
    let cfg = trusted_channel(&s, sink.port, "starttls");
    let notifiers = cfg.notifiers().unwrap();
    let r = send_one(&s, &notifiers, T0);
    assert_eq!((r.delivered, r.failed, r.pending), (0, 1, 1), "{r:?}");
    let err = &r.errors[0].2;
    assert!(
        err.contains("535") && err.contains("authentication rejected"),
        "{err}"
    );
    assert!(err.contains("EMAIL_USER") || err.contains("credentials_file"));
    assert!(!err.contains(wrong) && !err.contains(PASS), "{err}");
    assert_eq!(sink.auth_attempts(), [(USER.to_string(), false)]);
    assert!(sink.mails().is_empty());
    // Kept in the outbox with the error recorded (no password there either).
    let h = s.store.alert_history(0, i64::MAX, 10).unwrap();
    let d = &h[0].deliveries[0];
    assert_eq!((d.status.as_str(), d.attempts), ("pending", 1));
    let stored = d.last_error.as_deref().unwrap();
    assert!(
        stored.contains("535") && !stored.contains(wrong),
        "{stored}"
    );
    assert!(r.next_due.is_some_and(|t| t > T0));

    // The password is fixed (file rewritten, channel rebuilt as at a restart): the
    // same queued message goes out on the next due attempt, once.
    std::fs::write(&s.creds_file, format!("{USER}\n{PASS}\n")).unwrap();
    let notifiers = cfg.notifiers().unwrap();
    let r = deliver_due(&s.store, &notifiers, r.next_due.unwrap()).unwrap();
    assert_eq!((r.delivered, r.pending), (1, 0), "{r:?}");
    assert_eq!(sink.mails().len(), 1);
    assert_eq!(sink.mails()[0].auth_user.as_deref(), Some(USER));
}

#[test]
fn an_untrusted_certificate_fails_clearly_before_any_credentials_are_sent() {
    let pki = TestPki::new();
    let other_ca = TestPki::new();
    for (implicit, mode) in [(false, "starttls"), (true, "tls")] {
        let sink = tls_sink(&pki, implicit, Vec::new());
        let s = setup(&pki, PASS);
        // No ca_file: the private CA is unknown to the built-in roots. Then a ca_file
        // of another CA: still not the one that signed the server's certificate.
        for ca in [String::new(), {
            let p = Path::new(&s.ca_file).with_file_name("other.pem");
            std::fs::write(&p, &other_ca.ca_pem).unwrap();
            format!("ca_file = {}\n", q(&p.display().to_string()))
        }] {
            let cfg = channel(
                sink.port,
                mode,
                &format!("{ca}credentials_file = {}\n", q(&s.creds_file)),
            );
            let notifiers = cfg.notifiers().unwrap();
            let engine = AlertEngine::new(Vec::new(), EngineSettings::default());
            let n = engine.test_notification("mail", T0);
            let err = notifiers[0].send(&n).unwrap_err().to_string();
            assert!(
                err.contains("certificate") && err.contains("ca_file"),
                "{mode}: {err}"
            );
            assert!(!err.contains(PASS), "{err}");
        }
        assert!(sink.mails().is_empty());
        assert!(sink.auth_attempts().is_empty(), "no AUTH before trust");
        // The sink's thread records the failed handshake just after the client gives up.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while sink.tls_failures() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(sink.tls_failures(), 2, "{mode}");
    }
}

#[test]
fn credentials_from_the_environment_are_used() {
    let pki = TestPki::new();
    let sink = tls_sink(&pki, false, Vec::new());
    let s = setup(&pki, PASS);
    std::env::set_var("EMAIL_USER", USER);
    std::env::set_var("EMAIL_PASS", PASS);
    let cfg = channel(
        sink.port,
        "starttls",
        &format!("ca_file = {}\n", q(&s.ca_file)),
    );
    let notifiers = cfg.notifiers().unwrap();
    std::env::remove_var("EMAIL_USER");
    std::env::remove_var("EMAIL_PASS");
    let r = send_one(&s, &notifiers, T0);
    assert_eq!(r.delivered, 1, "{r:?}");
    assert_eq!(sink.mails()[0].auth_user.as_deref(), Some(USER));
}

#[test]
fn ca_file_mistakes_are_config_errors_naming_the_file() {
    let pki = TestPki::new();
    let s = setup(&pki, PASS);
    let missing = Path::new(&s.ca_file).with_file_name("nope.pem");
    let e = channel(
        25,
        "starttls",
        &format!("ca_file = {}\n", q(&missing.display().to_string())),
    )
    .notifiers()
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("ca_file") && e.contains("nope.pem"), "{e}");
    let e = channel(25, "none", &format!("ca_file = {}\n", q(&s.ca_file)))
        .notifiers()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("ca_file") && e.contains("none"), "{e}");
    // Credentials are not PEM: refused without echoing the file's content.
    let e = channel(25, "tls", &format!("ca_file = {}\n", q(&s.creds_file)))
        .notifiers()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no PEM certificate") && !e.contains(PASS), "{e}");
}
