//! Holding under abuse and faults, against the real `lookout` binary on a loopback
//! port: parallel password guessing, open-mode host/origin rules, trusted proxies,
//! file permissions, `/readyz` without writes, revoked tokens ending streams, and
//! bad parameters. Every test is bounded in time and in requests.

mod support;
use support::free_port;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "admin";
const PASSWORD: &str = "password-for-tests";

fn lookout(data: &Path, port: u16, extra_env: &[(&str, &str)]) -> Command {
    let mut cmd = support::lookout_command(data, port);
    cmd.env("LOOKOUT_DETECTOR_ENABLED", "false")
        .envs(extra_env.iter().copied());
    cmd
}

/// A running binary, stopped (SIGKILL) when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data: &Path, extra_env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let child = lookout(data, port, extra_env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start lookout");
        let mut server = Server { child, port };
        let (url, c) = (server.url("/healthz"), client());
        support::wait_for_start(&mut server.child, || {
            c.get(&url).send().is_ok_and(|r| r.status() == 200)
        });
        server
    }

    /// With a first admin (auth on).
    fn with_admin(data: &Path, extra_env: &[(&str, &str)]) -> Server {
        let mut env = vec![
            ("LOOKOUT_ADMIN_USER", ADMIN),
            ("LOOKOUT_ADMIN_PASSWORD", PASSWORD),
        ];
        env.extend_from_slice(extra_env);
        Server::start(data, &env)
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn login(c: &reqwest::blocking::Client, s: &Server, password: &str) -> reqwest::blocking::Response {
    c.post(s.url("/api/auth/login"))
        .json(&serde_json::json!({"username": ADMIN, "password": password}))
        .send()
        .unwrap()
}

/// Signs `user` in: the session cookie (`lookout_session=...`) and its CSRF token.
fn sign_in(
    c: &reqwest::blocking::Client,
    s: &Server,
    user: &str,
    password: &str,
) -> (String, String) {
    let r = c
        .post(s.url("/api/auth/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "login {user}");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("lookout_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = r.json::<serde_json::Value>().unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    (cookie, csrf)
}

/// 200 parallel wrong logins check at most the limit's number of passwords: the
/// rest are answered 429 (with Retry-After) before any hash runs.
#[test]
fn parallel_wrong_logins_check_at_most_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::with_admin(dir.path(), &[]);
    const N: usize = 200;
    const THREADS: usize = 20;
    let url = s.url("/api/auth/login");
    let results: Vec<(u16, bool)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let url = url.clone();
                scope.spawn(move || {
                    let c = client();
                    (0..N / THREADS)
                        .map(|i| {
                            let r = c
                                .post(&url)
                                .json(&serde_json::json!({
                                    "username": ADMIN,
                                    "password": format!("guess {t} {i}"),
                                }))
                                .send()
                                .unwrap();
                            (r.status().as_u16(), r.headers().contains_key("retry-after"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let checked = results.iter().filter(|(s, _)| *s == 401).count();
    let refused = results.iter().filter(|(s, _)| *s == 429).count();
    eprintln!(
        "{N} parallel wrong logins: {checked} passwords checked (401), {refused} refused (429)"
    );
    // Peak memory of the server (Linux), for the record.
    if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", s.child.id())) {
        if let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM")) {
            eprintln!("server peak RSS after the burst: {hwm}");
        }
    }
    assert_eq!(checked + refused, N, "{results:?}");
    assert!(
        checked <= 10,
        "{checked} passwords checked; the limit is 10/min"
    );
    assert!(
        results.iter().all(|(s, ra)| *s != 429 || *ra),
        "every 429 carries Retry-After"
    );
    // Sequential guesses go on being checked only up to the limit in all.
    let c = client();
    let mut total = checked;
    for i in 0..20 {
        match login(&c, &s, &format!("again {i}")).status().as_u16() {
            401 => total += 1,
            429 => break,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(total, 10, "passwords checked in all");
    // Over the limit even the right password waits.
    assert_eq!(login(&c, &s, PASSWORD).status(), 429);
}

/// Open mode (no users, loopback bind): a foreign Host gets 421, a foreign Origin on
/// a state-changing request 403, forwarding headers 400; the first admin can be
/// created only from a loopback page or a client without Origin.
#[test]
fn open_mode_answers_only_loopback_hosts_and_origins() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let c = client();
    let get = |host: &str| {
        c.get(s.url("/api/alerts"))
            .header("host", host)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    for ok in [
        "localhost".to_string(),
        format!("localhost:{}", s.port),
        format!("127.0.0.1:{}", s.port),
        "127.9.9.9".into(),
        format!("[::1]:{}", s.port),
    ] {
        assert_eq!(get(&ok), 200, "Host: {ok}");
    }
    for bad in [
        "evil.example",
        "evil.example:80",
        "127.0.0.1.nip.io",
        "10.0.0.1",
    ] {
        assert_eq!(get(bad), 421, "Host: {bad}");
    }
    // Forwarding headers without a trusted proxy.
    for (h, v) in [
        ("x-forwarded-for", "203.0.113.7"),
        ("forwarded", "for=203.0.113.7"),
        ("x-forwarded-proto", "https"),
    ] {
        let r = c.get(s.url("/api/alerts")).header(h, v).send().unwrap();
        assert_eq!(r.status(), 400, "{h}");
    }
    // State-changing requests: a foreign Origin is refused, a loopback one is not.
    let sens = |origin: Option<&str>| {
        let mut r = c
            .post(s.url("/api/model/sensitivity"))
            .json(&serde_json::json!({"sensitivity": "high"}));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send().unwrap().status().as_u16()
    };
    assert_eq!(sens(Some("https://evil.example")), 403);
    assert_eq!(sens(Some("null")), 403);
    // (The detector is off here, so the handler itself answers 404.)
    assert_eq!(sens(Some(&format!("http://localhost:{}", s.port))), 404);
    assert_eq!(sens(None), 404);
    // A foreign page cannot create the first admin (and so lock the owner out).
    let user =
        serde_json::json!({"name": "mallory", "role": "admin", "password": "mallory-password-1"});
    let r = c
        .post(s.url("/api/users"))
        .header("origin", "http://evil.example")
        .json(&user)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(s.url("/api/users"))
        .header("host", "evil.example")
        .json(&user)
        .send()
        .unwrap();
    assert_eq!(r.status(), 421);
    // Still open: nobody was created.
    assert_eq!(get("localhost"), 200);
    // The owner, from this machine, can.
    let r = c
        .post(s.url("/api/users"))
        .header("origin", format!("http://127.0.0.1:{}", s.port))
        .json(&serde_json::json!({"name": ADMIN, "role": "admin", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(get("localhost"), 401, "auth is on now");
}

/// A trusted proxy without a user: start-up refuses, naming the key.
#[test]
fn a_trusted_proxy_requires_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let child = lookout(
        dir.path(),
        free_port(),
        &[("LOOKOUT_SERVER_TRUSTED_PROXIES", "127.0.0.2")],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut child = support::KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "lookout started instead of refusing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = std::mem::replace(&mut child.0, Command::new("true").spawn().unwrap())
        .wait_with_output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("server.trusted_proxies") && stderr.contains("no user exists"),
        "{stderr}"
    );
}

/// Behind a trusted proxy that says https: the session cookie is `Secure`, HSTS is
/// sent, and the login limit counts the forwarded client, not the proxy.
#[test]
fn behind_a_trusted_proxy_cookies_are_secure_and_the_limit_keys_on_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::with_admin(
        dir.path(),
        &[("LOOKOUT_SERVER_TRUSTED_PROXIES", "127.0.0.2")],
    );
    let proxy = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let attempt = |client_ip: &str, user: &str, password: &str| {
        proxy
            .post(s.url("/api/auth/login"))
            .header("x-forwarded-for", client_ip)
            .header("x-forwarded-proto", "https")
            .json(&serde_json::json!({"username": user, "password": password}))
            .send()
            .unwrap()
    };
    let ok = attempt("203.0.113.7", ADMIN, PASSWORD);
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
    let cookies: Vec<&str> = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("lookout_session=") && c.contains("; Secure")),
        "{cookies:?}"
    );
    // One forwarded client runs out of attempts (distinct names: the per-account
    // limit stays out of it)...
    for i in 0..10 {
        assert_eq!(attempt("203.0.113.7", &format!("u{i}"), "x").status(), 401);
    }
    assert_eq!(attempt("203.0.113.7", ADMIN, PASSWORD).status(), 429);
    // ...another client behind the same proxy does not.
    assert_eq!(attempt("198.51.100.9", ADMIN, PASSWORD).status(), 200);
}

/// The database, its WAL and SHM files and the log file are owner-only (0600), and
/// the folders Lookout creates for them 0700.
#[cfg(unix)]
#[test]
fn store_and_log_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db_dir = dir.path().join("state").join("db");
    let log_dir = dir.path().join("logs");
    let db = db_dir.join("lookout.db");
    let s = Server::start(
        dir.path(),
        &[
            ("LOOKOUT_STORE_PATH", db.to_str().unwrap()),
            ("LOOKOUT_LOG_DIR", log_dir.to_str().unwrap()),
        ],
    );
    // Let the sampler write so the WAL and SHM files exist.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !db_dir.join("lookout.db-wal").exists() {
        assert!(Instant::now() < deadline, "no WAL file");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for f in [
        db.clone(),
        db_dir.join("lookout.db-wal"),
        db_dir.join("lookout.db-shm"),
        log_dir.join("lookout.log"),
    ] {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    for d in [dir.path().join("state"), db_dir.clone(), log_dir.clone()] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    drop(s);
}

/// `/readyz` hammered by many threads writes to the store at most once a second.
#[test]
fn readyz_does_not_write_on_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let store = lookout::store::Store::open(
        &dir.path().join("lookout.db"),
        lookout::store::StoreOptions::default(),
    )
    .unwrap();
    let before = store.write_checks().unwrap();
    let start = Instant::now();
    const THREADS: usize = 30;
    const CALLS: usize = 50;
    let url = s.url("/readyz");
    let answered: usize = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..THREADS)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || {
                    let c = client();
                    (0..CALLS)
                        .filter(|_| c.get(&url).send().is_ok_and(|r| r.status().as_u16() != 0))
                        .count()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let secs = start.elapsed().as_secs() as i64;
    let writes = store.write_checks().unwrap() - before;
    eprintln!(
        "{answered} /readyz calls in {} ms: {writes} store writes",
        start.elapsed().as_millis()
    );
    assert_eq!(answered, THREADS * CALLS);
    assert!(writes <= secs + 2, "{writes} writes in {secs} s");
}

/// A token revoked while its `/api/stream` is open: the stream ends within seconds.
#[test]
fn revoking_a_token_ends_its_open_stream() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::with_admin(dir.path(), &[]);
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let (cookie, csrf) = sign_in(&c, &s, ADMIN, PASSWORD);
    let created: serde_json::Value = c
        .post(s.url("/api/tokens"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"name": "watcher", "scope": "read"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = created["token"].as_str().unwrap().to_string();

    let mut stream = c
        .get(s.url("/api/stream"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut buf = [0u8; 65536];
    assert!(stream.read(&mut buf).unwrap() > 0, "a first event");
    let revoked = c
        .delete(s.url("/api/tokens/watcher"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let at = Instant::now();
    let mut events_after = 0;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                events_after += String::from_utf8_lossy(&buf[..n])
                    .matches("event: snapshot")
                    .count();
                assert!(
                    at.elapsed() < Duration::from_secs(5),
                    "still streaming 5 s after the revocation ({events_after} events)"
                );
            }
            Err(e) => panic!("stream did not end: {e} after {:?}", at.elapsed()),
        }
    }
    let took = at.elapsed();
    eprintln!(
        "stream ended {} ms after the revocation, {events_after} events after it",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// Bad `/api/series` parameters and oversized silence fields get 400 naming the
/// parameter, never a 500 or the framework's wrapped error.
#[test]
fn bad_parameters_get_a_clear_400() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let c = client();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let from = now - 600_000;
    let ok = format!("/api/series?metrics=cpu_usage&from={from}&to={now}&points=100");
    assert_eq!(c.get(s.url(&ok)).send().unwrap().status(), 200);
    let cases = [
        (format!("/api/series?metrics=cpu_usage&from={from}&to={now}&points=-1"), "points"),
        (format!("/api/series?metrics=cpu_usage&from={from}&to={now}&points=0"), "points"),
        (
            format!("/api/series?metrics=cpu_usage&from={from}&to={now}&points=4294967296000"),
            "points",
        ),
        (format!("/api/series?metrics=cpu_usage&to={now}&points=100"), "from"),
        (
            "/api/series?metrics=cpu_usage&from=-9223372036854775808&to=9223372036854775807&points=100"
                .to_string(),
            "from",
        ),
        (format!("/api/series?metrics=cpu_usage&from={now}&to={from}&points=100"), "to"),
        (format!("/api/series?from={from}&to={now}&points=100"), "metrics"),
    ];
    for (path, param) in &cases {
        let r = c.get(s.url(path)).send().unwrap();
        let status = r.status().as_u16();
        let body = r.text().unwrap();
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains(param), "{path}: {body}");
        for wrapped in ["ServerFnError", "Args", "Deserialization", "span"] {
            assert!(!body.contains(wrapped), "{path}: {body}");
        }
    }
    // The other ranges and times of findings 3 and 11: a wrapping history span, a
    // time cut inside a multi-byte character (a panic before).
    for (path, param) in [
        (
            "/api/history?metric=cpu_usage&from=-15250000000d&to=9223372036854775806",
            "from",
        ),
        ("/api/anomalies?from=-1%C3%A9", "from"),
    ] {
        let r = c.get(s.url(path)).send().unwrap();
        let status = r.status().as_u16();
        let body = r.text().unwrap();
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains(param), "{path}: {body}");
    }
    // A silence of 10^25 s (a float-to-Duration panic before).
    let r = c
        .post(s.url("/api/silences"))
        .json(&serde_json::json!({"duration": "10000000000000000000000000s", "rule": "cpu"}))
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("duration"), "{body}");
    let silence = |comment: String| {
        c.post(s.url("/api/silences"))
            .json(&serde_json::json!({"duration": "1h", "rule": "cpu", "comment": comment}))
            .send()
            .unwrap()
    };
    let r = silence("x".repeat(5000));
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("comment"));
    let r = silence("a sane comment".into());
    let status = r.status();
    assert_eq!(status, 201, "{}", r.text().unwrap());
}

/// A client that sends half a header and waits must not hold a stopping server: after
/// SIGTERM it closes within the grace (3 s) and flushes, well inside Docker's 10 s.
#[test]
fn a_half_sent_request_does_not_hold_the_shutdown() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let mut held: Vec<std::net::TcpStream> = (0..5)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    // A stream that never ends on its own, too.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .write_all(b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    held.push(stream);
    std::thread::sleep(Duration::from_millis(500));
    let pid = server.child.id().to_string();
    let asked = Instant::now();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(8),
            "still running 8 s after SIGTERM with half-sent requests open"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    assert!(
        asked.elapsed() < Duration::from_secs(6),
        "{:?}",
        asked.elapsed()
    );
    drop(held);
}

/// A silence records who made it from the credentials, not from the body (finding 8).
#[test]
fn a_silence_is_made_by_its_caller_not_by_its_body() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::with_admin(dir.path(), &[]);
    let c = client();
    let (cookie, csrf) = sign_in(&c, &s, ADMIN, PASSWORD);
    let created: serde_json::Value = c
        .post(s.url("/api/tokens"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"name": "ops-bot", "scope": "admin"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    let silence: serde_json::Value = c
        .post(s.url("/api/silences"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "rule": "cpu", "duration": "1h", "comment": "deploy", "created_by": "user:someone-else"
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(silence["created_by"], "token:ops-bot", "{silence}");
    let by_session: serde_json::Value = c
        .post(s.url("/api/silences"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"rule": "cpu", "duration": "1h", "created_by": "token:ops-bot"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        by_session["created_by"],
        format!("user:{ADMIN}"),
        "{by_session}"
    );
}

/// Removing a user revokes the tokens they made: an admin token must not outlive its
/// admin (finding 8).
#[test]
fn a_removed_admin_s_token_stops_working() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::with_admin(dir.path(), &[]);
    let c = client();
    let (cookie, csrf) = sign_in(&c, &s, ADMIN, PASSWORD);
    let added = c
        .post(s.url("/api/users"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"name": "ops", "role": "admin", "password": "ops-password-1"}))
        .send()
        .unwrap();
    assert_eq!(added.status(), 201, "{}", added.text().unwrap());
    let (ops_cookie, ops_csrf) = sign_in(&c, &s, "ops", "ops-password-1");
    let created: serde_json::Value = c
        .post(s.url("/api/tokens"))
        .header("cookie", &ops_cookie)
        .header("x-csrf-token", &ops_csrf)
        .json(&serde_json::json!({"name": "ops-admin", "scope": "admin"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    let users = |t: &str| {
        c.get(s.url("/api/users"))
            .bearer_auth(t)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(users(&token), 200);
    let removed = c
        .delete(s.url("/api/users/ops"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .unwrap();
    assert_eq!(removed.status(), 200);
    assert_eq!(users(&token), 401, "the removed admin's token still works");
}

/// Open streams are capped per caller and in all: past the cap 503 with Retry-After,
/// and a place comes back when a stream ends.
#[test]
fn streams_are_capped_and_places_come_back() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[
            ("LOOKOUT_SERVER_MAX_STREAMS", "3"),
            ("LOOKOUT_SERVER_MAX_STREAMS_PER_CALLER", "2"),
        ],
    );
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let open = || c.get(s.url("/api/stream")).send().unwrap();
    let mut first = open();
    let second = open();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let mut buf = [0u8; 4096];
    assert!(first.read(&mut buf).unwrap() > 0);
    let third = open();
    assert_eq!(third.status(), 503);
    assert_eq!(third.headers()["retry-after"], "5");
    assert!(third
        .text()
        .unwrap()
        .contains("server.max_streams_per_caller"));
    drop(first);
    // The server notices the closed connection at its next event (1 s sampling).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = open();
        if again.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the place never came back");
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(second);
}

/// Sends raw bytes on a new connection (written from a thread, so a server that answers
/// and closes before reading everything is seen) and returns the answer.
fn raw(port: u16, request: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&request);
    });
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    drop(s);
    let _ = writer.join();
    String::from_utf8_lossy(&out).into_owned()
}

/// What the issue found already held (its "Held up" list), kept that way: path
/// traversal under `/pkg` and `/vendor` is 404, a 10 MB header 431, deeply nested and
/// truncated JSON 400, a 2 MB anonymous body 413 (with auth on, before any login).
#[test]
fn what_held_up_stays_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A file the traversals aim at, next to the server's working folder.
    std::fs::write(dir.path().join("secret.txt"), "top secret").unwrap();
    let s = Server::start(dir.path(), &[]);
    for path in [
        "/pkg/../secret.txt",
        "/pkg/../../../../etc/passwd",
        "/pkg/%2e%2e/secret.txt",
        "/pkg/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/pkg/..%2fsecret.txt",
        "/vendor/../secret.txt",
        "/vendor/%2e%2e/%2e%2e/etc/passwd",
        "/vendor/..%5c..%5cetc%5cpasswd",
    ] {
        let answer = raw(
            s.port,
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .into_bytes(),
        );
        let status = answer.split(' ').nth(1).unwrap_or("");
        assert!(status == "404" || status == "400", "{path}: {answer}");
        assert!(
            !answer.contains("top secret") && !answer.contains("root:"),
            "{path}: {answer}"
        );
    }
    // A 10 MB header: 431 once it passes the head limit, not a process holding 10 MB.
    let mut big = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    big.extend_from_slice(b"\r\n\r\n");
    let answer = raw(s.port, big);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.200}");
    // Deeply nested and truncated JSON bodies.
    let c = client();
    for body in [
        "{\"a\":".repeat(100_000),
        "[".repeat(100_000),
        r#"{"duration": "1h", "rule": "cp"#.to_string(),
    ] {
        let r = c
            .post(s.url("/api/silences"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        assert_eq!(status, 400, "{:.40}: {text}", body);
    }
    drop(s);
    // With auth on, a 2 MB body from nobody is refused at the edge (413).
    let dir = tempfile::tempdir().unwrap();
    let s = Server::with_admin(dir.path(), &[]);
    let r = c
        .post(s.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
}
