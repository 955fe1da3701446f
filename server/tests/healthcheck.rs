//! `lookout healthcheck` (the Docker HEALTHCHECK) through the real binary: healthy while a
//! real `lookout serve` runs, unhealthy (exit 1) once it is gone or when a server answers
//! something other than 200; `PORT` decides where it looks, as it does for `serve`.

mod support;
use support::{free_port, KillOnDrop};

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn lookout(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lookout"));
    cmd.env_clear().args(args).envs(env.iter().copied());
    cmd
}

fn healthcheck(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec!["healthcheck"];
    all.extend_from_slice(args);
    lookout(&all, env).output().unwrap()
}

#[test]
fn healthy_while_the_server_runs_and_unhealthy_after() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let db = dir.path().join("lookout.db");
    let models = format!(
        "detector.models_dir={}",
        dir.path().join("models").display()
    );
    let common = ["--db", db.to_str().unwrap(), "--set", &models];

    // Nothing listens yet: unhealthy, and the message names the address.
    let out = healthcheck(&[&["--bind", &bind][..], &common[..]].concat(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{bind}/healthz")));

    let mut serve_args = vec!["serve", "--bind", &bind];
    serve_args.extend_from_slice(&common);
    let mut server = KillOnDrop(
        lookout(&serve_args, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    let healthy = loop {
        let out = healthcheck(&[&["--bind", &bind][..], &common[..]].concat(), &[]);
        if out.status.success() {
            break out;
        }
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("lookout serve exited early: {status}");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never healthy");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(String::from_utf8_lossy(&healthy.stdout).trim(), "ok");

    // PORT (how the image configures the port) points it at the same server: the
    // wildcard bind that PORT implies is reached on loopback.
    let port_s = port.to_string();
    let out = healthcheck(&common, &[("PORT", &port_s)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    drop(server);
    let out = healthcheck(&[&["--bind", &bind][..], &common[..]].concat(), &[]);
    assert_eq!(out.status.code(), Some(1));
}

/// A real HTTP server on 127.0.0.1 that answers every connection with `reply`.
fn answer_with(reply: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut s = stream.unwrap();
            // Read the whole request head, then answer and close.
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(reply.as_bytes());
        }
    });
    port
}

#[test]
fn a_non_200_or_non_http_answer_is_unhealthy() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lookout.db");
    for (reply, expect) in [
        (
            "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
            "HTTP 503",
        ),
        ("SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP response"),
    ] {
        let bind = format!("127.0.0.1:{}", answer_with(reply));
        let out = healthcheck(&["--bind", &bind, "--db", db.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(1), "{reply:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{reply:?}: {err}");
    }
    // And a 200 from any server counts as healthy (the check reads only the status line).
    let bind = format!(
        "127.0.0.1:{}",
        answer_with("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    );
    let out = healthcheck(&["--bind", &bind, "--db", db.to_str().unwrap()], &[]);
    assert!(out.status.success());
}

/// With native TLS on, the check speaks https to the server and accepts exactly the
/// configured certificate: healthy against the real server, unhealthy when the server
/// presents another certificate.
#[test]
fn with_native_tls_it_checks_over_https_against_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let write_cert = |name: &str| {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = dir.path().join(format!("{name}.crt"));
        let key = dir.path().join(format!("{name}.key"));
        std::fs::write(&cert, ck.cert.pem()).unwrap();
        std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
        (cert, key)
    };
    let (cert, key) = write_cert("server");
    let (other_cert, other_key) = write_cert("other");
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let db = dir.path().join("lookout.db");
    let models = format!(
        "detector.models_dir={}",
        dir.path().join("models").display()
    );
    let tls_args = |c: &std::path::Path, k: &std::path::Path| {
        vec![
            "--bind".to_string(),
            bind.clone(),
            "--db".into(),
            db.to_str().unwrap().into(),
            "--set".into(),
            models.clone(),
            "--set".into(),
            format!("tls.cert={}", c.display()),
            "--set".into(),
            format!("tls.key={}", k.display()),
        ]
    };
    let args = tls_args(&cert, &key);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut serve = vec!["serve"];
    serve.extend_from_slice(&args);
    let mut server = KillOnDrop(
        lookout(&serve, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    loop {
        let out = healthcheck(&args, &[]);
        if out.status.success() {
            break;
        }
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("lookout serve exited early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never healthy over TLS: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The same server checked with another configured certificate: refused.
    let other = tls_args(&other_cert, &other_key);
    let other: Vec<&str> = other.iter().map(String::as_str).collect();
    let out = healthcheck(&other, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("https://") && err.contains("not the configured tls.cert"),
        "{err}"
    );
}
