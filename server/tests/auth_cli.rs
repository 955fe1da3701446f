//! Access control through the real binary: the bind policy at start-up (exit 2 with
//! the fix named, `--insecure-no-auth`, the admin from LOOKOUT_ADMIN_USER), and the
//! `lookout user ...` / `lookout token ...` commands on a store file.

mod support;
use support::{free_port, output_with_stdin};

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn lookout(data: &Path, env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lookout"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOOKOUT_STORE_PATH", data.join("lookout.db"))
        .env("LOOKOUT_DETECTOR_MODELS_DIR", data.join("models"))
        .env("LOOKOUT_SAMPLER_INTERVAL", "1s")
        .envs(env.iter().copied())
        .current_dir(data);
    c
}

fn run(data: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    output_with_stdin(lookout(data, env).args(args), stdin)
}

/// Starts `lookout serve` and waits until it answers on `port` (127.0.0.1) or exits.
fn start(data: &Path, args: &[&str], env: &[(&str, &str)], port: u16) -> Child {
    let mut child = lookout(data, env)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("lookout exited early with {status}");
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        assert!(Instant::now() < deadline, "lookout did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn http(port: u16, path: &str, bearer: Option<&str>) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}{path}"))
            .timeout(Duration::from_secs(10));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    })
}

#[test]
fn a_non_loopback_bind_without_users_refuses_to_start_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bind = format!("0.0.0.0:{}", free_port());
    let out = lookout(dir.path(), &[])
        .args(["--bind", &bind])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for hint in [
        "refusing to serve",
        "lookout user add",
        "LOOKOUT_ADMIN_USER",
        "--insecure-no-auth",
    ] {
        assert!(err.contains(hint), "{hint:?} missing from: {err}");
    }
    // auth.enabled = off is refused there too.
    let out = lookout(dir.path(), &[("LOOKOUT_AUTH_ENABLED", "off")])
        .args(["--bind", &bind])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // `on` with nobody to sign in is refused even on loopback.
    let out = lookout(dir.path(), &[("LOOKOUT_AUTH_ENABLED", "on")])
        .args(["--bind", &format!("127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user exists"));
}

#[test]
fn insecure_no_auth_serves_openly_and_the_admin_env_turns_auth_on() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bind = format!("0.0.0.0:{port}");
    let mut child = start(
        dir.path(),
        &["--bind", &bind, "--insecure-no-auth"],
        &[],
        port,
    );
    let (status, _) = http(port, "/api/model", None);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200, "open without users");

    // First start with the bootstrap variables: an admin exists, auth is on.
    let port = free_port();
    let bind = format!("0.0.0.0:{port}");
    let env = [
        ("LOOKOUT_ADMIN_USER", "root"),
        ("LOOKOUT_ADMIN_PASSWORD", "bootstrap-password"),
    ];
    let mut child = start(dir.path(), &["--bind", &bind], &env, port);
    let (health, _) = http(port, "/healthz", None);
    let (model, body) = http(port, "/api/model", None);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(health, 200);
    assert_eq!(model, 401, "{body}");
    let out = run(dir.path(), &["user", "list"], &[], "");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("root") && list.contains("admin"), "{list}");
}

#[test]
fn users_and_tokens_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let said = |out: &Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let complaint = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
    let out = run(d, &["user", "list"], &[], "");
    assert!(out.status.success() && said(&out).starts_with("no users"));
    let out = run(d, &["token", "list"], &[], "");
    assert!(out.status.success() && said(&out).starts_with("no tokens"));
    let out = run(
        d,
        &[
            "user",
            "add",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &[],
        "alice-password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The password from the environment; a bad role is a usage error.
    let out = run(
        d,
        &["user", "add", "bob", "--role", "viewer"],
        &[("LOOKOUT_PASSWORD", "bob-password")],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        d,
        &["user", "add", "carol", "--role", "root"],
        &[],
        "pw-pw-pw-pw\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let out = run(
        d,
        &[
            "user",
            "add",
            "dave",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        &[],
        "short\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too short"));

    let out = run(d, &["user", "list"], &[], "");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("alice") && list.contains("bob") && !list.contains("dave"),
        "{list}"
    );
    let out = run(d, &["user", "remove", "alice"], &[], "");
    assert_ne!(out.status.code(), Some(0), "the last admin stays");
    let out = run(
        d,
        &["user", "passwd", "bob", "--password-stdin"],
        &[],
        "new-bob-password\n",
    );
    assert!(out.status.success());
    let out = run(
        d,
        &["user", "passwd", "nobody"],
        &[("LOOKOUT_PASSWORD", "pw-pw-pw-pw-pw")],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        complaint(&out).contains("no user named \"nobody\""),
        "{}",
        complaint(&out)
    );
    let out = run(d, &["user", "remove", "bob"], &[], "");
    assert!(out.status.success(), "{}", complaint(&out));
    assert!(!said(&run(d, &["user", "list"], &[], "")).contains("bob"));
    let out = run(d, &["user", "remove", "bob"], &[], "");
    assert_eq!(out.status.code(), Some(1));

    // The token alone on stdout, so a script can capture it.
    let out = run(
        d,
        &["token", "create", "--name", "prom", "--scope", "read"],
        &[],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.trim();
    assert_eq!(stdout.lines().count(), 1);
    assert!(token.starts_with("lk_") && token.len() == 67, "{stdout:?}");
    let out = run(d, &["token", "list"], &[], "");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("prom") && list.contains("live") && !list.contains(token),
        "{list}"
    );

    // A running server takes it for /metrics, and stops the moment it is revoked.
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut child = start(d, &["--bind", &bind], &[], port);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut metrics = http(port, "/metrics", Some(token));
    while metrics.0 == 503 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        metrics = http(port, "/metrics", Some(token));
    }
    let anonymous = http(port, "/metrics", None);
    let out = run(d, &["token", "revoke", "prom"], &[], "");
    let revoked = http(port, "/metrics", Some(token));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(metrics.0, 200, "{}", metrics.1);
    assert!(metrics.1.contains("cpu_usage"));
    assert_eq!(anonymous.0, 401);
    assert!(out.status.success());
    assert_eq!(revoked.0, 401, "revoked while running: {}", revoked.1);
    let out = run(d, &["token", "revoke", "prom"], &[], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        complaint(&out).contains("no live token \"prom\""),
        "{}",
        complaint(&out)
    );
    assert!(said(&run(d, &["token", "list"], &[], "")).contains("revoked"));
}
