//! Faults under the real `lookout` binary (issue 11, findings 6 and part 5): the store
//! locked by another process, a full disk, a corrupt database at start. Nothing is
//! lost: samples and notifications wait in memory and are written when the store
//! comes back, tokens keep working, `/healthz` stays up and `/readyz` says why not.

#[path = "../../tests/alert_support/mod.rs"]
#[allow(dead_code)]
mod alert_support;

mod support;
use support::{free_port, KillOnDrop};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn start(data: &Path, config: Option<&Path>, env: &[(&str, &str)]) -> (KillOnDrop, String) {
    let port = free_port();
    let mut cmd = support::lookout_command(data, port);
    cmd.env("LOOKOUT_DETECTOR_ENABLED", "false")
        .envs(env.iter().copied())
        .stdout(Stdio::null());
    if let Some(c) = config {
        cmd.env("LOOKOUT_CONFIG", c);
    }
    let mut child = cmd.spawn().expect("start lookout");
    let base = format!("http://127.0.0.1:{port}");
    let url = format!("{base}/healthz");
    support::wait_for_start(&mut child, || {
        client().get(&url).send().is_ok_and(|r| r.status() == 200)
    });
    (KillOnDrop(child), base)
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn sample_count(db: &Path) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.query_row("SELECT COUNT(*) FROM samples", [], |r| r.get(0))
        .unwrap()
}

/// Another process holds the database's write lock for 14 s. Meanwhile a token whose
/// use is due to be noted still authenticates at once, `/healthz` answers, `/readyz`
/// says the store is not writable, and a threshold alert fires. After the lock: the
/// alert's webhook arrives and every sample of the locked time is in the store.
#[test]
fn a_locked_store_loses_no_sample_and_no_notification() {
    let hook = alert_support::HttpReceiver::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lookout.db");
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[alerts]
group_wait = "0s"
[[alerts.rules]]
name = "always"
condition = "cpu_usage >= 0 for 6s"
severity = "warning"
[[alerts.channels]]
type = "webhook"
name = "hook"
url = "{}"
"#,
            hook.url("/hook")
        ),
    )
    .unwrap();
    // A token made before the start, never used: its first use is noted with a write.
    let made = support::lookout_command(dir.path(), free_port())
        .args(["token", "create", "--name", "scraper", "--scope", "read"])
        .env("LOOKOUT_CONFIG", &config)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let token = String::from_utf8_lossy(&made.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("lk_"))
        .expect("a token in the output")
        .to_string();
    let (_server, base) = start(
        dir.path(),
        Some(&config),
        &[
            ("LOOKOUT_ADMIN_USER", "admin"),
            ("LOOKOUT_ADMIN_PASSWORD", "password-for-tests"),
        ],
    );
    let c = client();
    std::thread::sleep(Duration::from_secs(1));

    let other = rusqlite::Connection::open(&db).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let locked_at = Instant::now();
    let before = {
        let r = rusqlite::Connection::open(&db).unwrap();
        r.query_row("SELECT COUNT(*) FROM samples", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };

    let t0 = Instant::now();
    let m = c
        .get(format!("{base}/metrics"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(m.status(), 200, "a token refused while the store is locked");
    let token_took = t0.elapsed();
    assert!(token_took < Duration::from_secs(2), "{token_took:?}");
    assert_eq!(
        c.get(format!("{base}/healthz")).send().unwrap().status(),
        200
    );
    // /readyz names the store (its write check waits out the 5 s busy timeout).
    let ready = c.get(format!("{base}/readyz")).send().unwrap();
    assert_eq!(ready.status(), 503);
    let why = ready.text().unwrap();
    assert!(why.contains("store not writable"), "{why}");

    // The rule fires about 6 s after the start, inside the lock.
    std::thread::sleep(Duration::from_secs(14).saturating_sub(locked_at.elapsed()));
    assert!(
        hook.requests().is_empty(),
        "a notification went out while the outbox could not be written"
    );
    let locked_for = locked_at.elapsed();
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);
    let released = Instant::now();

    support::wait_until(|| !hook.requests().is_empty());
    let delivered_after = released.elapsed();
    let body = String::from_utf8_lossy(&hook.requests()[0].body).into_owned();
    assert!(body.contains("always"), "{body}");
    // Every second of the lock was sampled and is now stored (1 s sampling).
    support::wait_until(|| sample_count(&db) >= before + locked_for.as_secs() as i64 - 1);
    support::wait_until(|| {
        c.get(format!("{base}/readyz"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    println!(
        "locked store: token answered in {token_took:?}; lock held {locked_for:?}; \
         the alert that fired during it was delivered {delivered_after:?} after the release; \
         samples {before} before the lock, {} after (expected at least {})",
        sample_count(&db),
        before + locked_for.as_secs() as i64 - 1
    );
}

/// A rule or silence saved while another process holds the store's write lock gets
/// 503 with `Retry-After` and a message about the store, not a 400 blaming the
/// request (nor a 409 for a delete); once the lock goes, the same request succeeds.
#[test]
fn changes_while_the_store_is_locked_get_503_then_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lookout.db");
    // Open mode (loopback, no users): no session needed to change rules.
    let (_server, base) = start(dir.path(), None, &[]);
    let c = client();
    let put = |name: &str| {
        c.put(format!("{base}/api/alerts/rules/{name}"))
            .header("content-type", "application/json")
            .body(r#"{"condition":"cpu_usage > 99 for 5m"}"#)
            .send()
            .unwrap()
    };
    assert_eq!(put("before").status(), 200);

    let other = rusqlite::Connection::open(&db).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let r = put("during");
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.headers().get("retry-after").map(|v| v.to_str().unwrap()),
        Some("5")
    );
    let why = r.text().unwrap();
    assert!(why.contains("store is not available"), "{why}");
    let d = c
        .delete(format!("{base}/api/alerts/rules/before"))
        .send()
        .unwrap();
    assert_eq!(
        d.status(),
        503,
        "a delete blocked by the store is not a conflict"
    );
    let silence = c
        .post(format!("{base}/api/silences"))
        .header("content-type", "application/json")
        .body(r#"{"rule":"before","duration":"1h","comment":"maintenance"}"#)
        .send()
        .unwrap();
    assert_eq!(silence.status(), 503);
    // A request that is wrong is still a 400 naming the field, lock or not.
    let bad = c
        .put(format!("{base}/api/alerts/rules/bad"))
        .header("content-type", "application/json")
        .body(r#"{"condition":"cpu_usag > 5"}"#)
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);

    assert_eq!(put("during").status(), 200);
    let rules: serde_json::Value = c
        .get(format!("{base}/api/alerts"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let names: Vec<&str> = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"before") && names.contains(&"during"),
        "{names:?}"
    );
    assert_eq!(
        c.delete(format!("{base}/api/alerts/rules/before"))
            .send()
            .unwrap()
            .status(),
        200
    );
}

/// The data folder on a 4 MiB tmpfs that is then filled: `/healthz` stays up,
/// `/readyz` says samples are not being written, and once space is freed the held
/// samples are written (none of the full time is missing).
#[test]
fn a_full_disk_holds_samples_until_space_returns() {
    let outer = tempfile::tempdir().unwrap();
    let data = outer.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&data)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(data.clone());
    let db = data.join("lookout.db");
    let (server, base) = start(&data, None, &[]);
    let c = client();
    support::wait_until(|| sample_count(&db) >= 3);

    // Fill the file system to the last byte.
    let filler = data.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let one = [0u8; 1];
        while f.write_all(&one).is_ok() {}
        let _ = f.sync_all();
    }
    let full_at = Instant::now();
    let before = sample_count(&db);
    support::wait_until(|| {
        c.get(format!("{base}/readyz"))
            .send()
            .is_ok_and(|r| r.status() == 503 && r.text().unwrap_or_default().contains("not"))
    });
    assert_eq!(
        c.get(format!("{base}/healthz")).send().unwrap().status(),
        200
    );
    std::thread::sleep(Duration::from_secs(6).saturating_sub(full_at.elapsed()));
    let full_for = full_at.elapsed();

    std::fs::remove_file(&filler).unwrap();
    support::wait_until(|| {
        c.get(format!("{base}/readyz"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    support::wait_until(|| sample_count(&db) >= before + full_for.as_secs() as i64 - 1);
    drop(server);
}

/// A database file that is not a database stops the start with exit 2, a message
/// naming the file and how to recover, and leaves the file as it was.
#[test]
fn a_corrupt_database_stops_the_start_with_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lookout.db");
    let junk: Vec<u8> = (0..64 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&db, &junk).unwrap();
    let out = support::lookout_command(dir.path(), free_port())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&db.display().to_string()), "{err}");
    assert!(err.contains("corrupt"), "{err}");
    assert!(err.contains("move it aside"), "{err}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        junk,
        "the damaged file was changed"
    );
}
