//! Slow and idle clients against the real `lookout` binary on loopback: slowloris
//! sockets, trickled headers and bodies, idle keep-alive connections and the connection
//! cap (issue 11, part 2). Every test is bounded in sockets and in time.

mod support;
use support::{free_port, KillOnDrop};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

fn start(data: &Path, env: &[(&str, &str)]) -> (KillOnDrop, u16) {
    let port = free_port();
    let mut child = support::lookout_command(data, port)
        .env("LOOKOUT_DETECTOR_ENABLED", "false")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start lookout");
    support::wait_for_start(&mut child, || {
        raw_request(
            port,
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .is_ok_and(|r| r.starts_with("HTTP/1.1 200"))
    });
    (KillOnDrop(child), port)
}

/// Sends `request` on a new connection and reads the answer to the end (or 5 s).
fn raw_request(port: u16, request: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(request.as_bytes())?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// How long until the server closes `s` (reads return 0 or fail), up to `limit`.
fn closed_after(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while t0.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return Some(t0.elapsed()),
            Ok(_) => continue, // an answer (e.g. a 408): keep reading to the close
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(_) => return Some(t0.elapsed()),
        }
    }
    None
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// 300 sockets that each send one header byte a second, reconnecting when the server
/// drops them, against a cap of 64 connections: `/healthz` keeps answering at once on
/// new connections, and the server's descriptors stay bounded by the cap. Every probe
/// gets an answer; a 503 with `Retry-After` is allowed for a few of them (a server
/// starved of CPU cannot read its newest connections to tell a client from an
/// attacker, and refuses rather than drop one unanswered), but most must be served.
#[test]
fn slowloris_sockets_do_not_hold_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (server, port) = start(dir.path(), &[("LOOKOUT_SERVER_MAX_CONNECTIONS", "64")]);
    let fds_before = open_fds(server.0.id());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attacker = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            const HEAD: &[u8] =
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
            let connect = || {
                let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
                s.set_write_timeout(Some(Duration::from_millis(200))).ok()?;
                Some((s, 0usize))
            };
            let mut sockets: Vec<Option<(TcpStream, usize)>> =
                (0..300).map(|_| connect()).collect();
            let (mut connects, mut rounds) = (300usize, 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && rounds < 30 {
                for slot in sockets.iter_mut() {
                    let alive = match slot {
                        Some((s, sent)) if *sent < HEAD.len() => {
                            let ok = s.write_all(&HEAD[*sent..*sent + 1]).is_ok();
                            *sent += 1;
                            ok
                        }
                        _ => false,
                    };
                    if !alive && connects < 3000 {
                        *slot = connect();
                        connects += 1;
                    }
                }
                rounds += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            connects
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    let mut took = Vec::new();
    let (mut max_fds, mut refused) = (0, 0);
    for _ in 0..30 {
        let t0 = Instant::now();
        let answer = raw_request(
            port,
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        took.push(t0.elapsed());
        if answer.starts_with("HTTP/1.1 503") {
            assert!(answer.contains("retry-after: 5"), "{answer:?}");
            refused += 1;
        } else {
            assert!(
                answer.starts_with("HTTP/1.1 200"),
                "/healthz answered {answer:?} during the attack"
            );
        }
        max_fds = max_fds.max(open_fds(server.0.id()));
        std::thread::sleep(Duration::from_millis(150));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let connects = attacker.join().unwrap();
    took.sort();
    let (median, worst) = (took[took.len() / 2], took[took.len() - 1]);
    println!(
        "slowloris: {connects} attacker connections, /healthz median {median:?}, max {worst:?}, \
         {refused} of 30 refused (503); server fds {fds_before} before, at most {max_fds} during"
    );
    assert!(refused <= 3, "{refused} of 30 /healthz probes refused");
    assert!(median < Duration::from_millis(100), "median {median:?}");
    assert!(worst < Duration::from_secs(1), "max {worst:?}");
    // The cap's 64, plus sockets on their way out: evicted ones until their task runs,
    // refused ones while their 503 is written. Without the cap the 300 attackers alone
    // would hold 300.
    assert!(
        max_fds < fds_before + 64 + 48,
        "{max_fds} descriptors open with a cap of 64 connections"
    );
}

/// A header trickled past `server.header_timeout`, a body trickled past
/// `server.body_timeout` (408) and a keep-alive connection left idle are all closed.
#[test]
fn trickled_heads_and_bodies_and_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start(
        dir.path(),
        &[
            ("LOOKOUT_SERVER_HEADER_TIMEOUT", "2s"),
            ("LOOKOUT_SERVER_BODY_TIMEOUT", "2s"),
        ],
    );
    // A head, one byte every 300 ms: closed at about 2 s, not before.
    let mut slow_head = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let writer = {
        let mut s = slow_head.try_clone().unwrap();
        std::thread::spawn(move || {
            for b in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaa".iter()
            {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    let closed =
        closed_after(&mut slow_head, Duration::from_secs(6)).expect("slow head not closed in 6 s");
    assert!(
        closed >= Duration::from_millis(1500),
        "closed after {closed:?}"
    );
    writer.join().unwrap();

    // A body of 100 declared bytes, 10 sent: 408 after the body timeout.
    let mut slow_body = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow_body
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username",
        )
        .unwrap();
    slow_body
        .set_read_timeout(Some(Duration::from_secs(6)))
        .unwrap();
    let t0 = Instant::now();
    let mut buf = vec![0u8; 4096];
    let n = slow_body.read(&mut buf).unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("server.body_timeout"), "{answer}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());

    // One whole request, then idle on a keep-alive connection: closed at about 2 s.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let n = idle.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let closed =
        closed_after(&mut idle, Duration::from_secs(6)).expect("idle connection not closed in 6 s");
    assert!(
        closed >= Duration::from_millis(1500),
        "closed after {closed:?}"
    );
}

/// With the cap full of connections that have all sent requests (nothing to evict), a
/// newcomer is told 503 with `Retry-After`; once they leave, new ones are served.
#[test]
fn past_the_cap_a_newcomer_gets_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start(dir.path(), &[("LOOKOUT_SERVER_MAX_CONNECTIONS", "16")]);
    let mut held = Vec::new();
    for _ in 0..16 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(s);
    }
    let refused = raw_request(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 5"),
        "{refused}"
    );
    assert!(refused.contains("server.max_connections"), "{refused}");
    drop(held);
    support::wait_until(|| {
        raw_request(
            port,
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .is_ok_and(|r| r.starts_with("HTTP/1.1 200"))
    });
}

/// The bytes of a real TLS ClientHello (rustls's), to trickle.
fn client_hello() -> Vec<u8> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    assert!(hello.len() > 100 && hello[0] == 0x16, "a handshake record");
    hello
}

/// Clients that send a ClientHello one byte a second against the TLS listener: each is
/// closed at the handshake timeout (`server.header_timeout`, in all, not per read), and
/// 300 of them at once (more than the 256 handshakes allowed in flight), reconnecting
/// when dropped, leave `/healthz` over TLS answering at once on new connections.
#[test]
fn a_trickled_tls_handshake_is_closed_and_does_not_hold_others() {
    let dir = tempfile::tempdir().unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    // A new connection (and handshake) for every request: what is measured is a
    // newcomer getting through.
    let tls_client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .add_root_certificate(reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap())
        .tls_built_in_root_certs(false)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let port = free_port();
    let mut child = support::lookout_command(dir.path(), port)
        .env("LOOKOUT_DETECTOR_ENABLED", "false")
        .env("LOOKOUT_TLS_CERT", &cert)
        .env("LOOKOUT_TLS_KEY", &key)
        .env("LOOKOUT_SERVER_HEADER_TIMEOUT", "3s")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start lookout");
    let healthz = format!("https://127.0.0.1:{port}/healthz");
    support::wait_for_start(&mut child, || {
        tls_client
            .get(&healthz)
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    let _server = KillOnDrop(child);
    let hello = client_hello();

    // One trickler alone: closed at the 3 s timeout although it sends a byte a second.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let writer = {
        let (mut s, hello) = (slow.try_clone().unwrap(), hello.clone());
        std::thread::spawn(move || {
            for b in hello.iter().take(15) {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let closed =
        closed_after(&mut slow, Duration::from_secs(12)).expect("trickled handshake not closed");
    println!("a ClientHello trickled a byte a second: closed after {closed:?} (timeout 3 s)");
    assert!(
        closed >= Duration::from_millis(2500) && closed < Duration::from_secs(5),
        "closed after {closed:?}; the handshake timeout is 3 s in all"
    );
    writer.join().unwrap();

    // 300 at once, reconnecting when dropped.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attacker = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let connect = || {
                let s = TcpStream::connect(("127.0.0.1", port)).ok()?;
                s.set_write_timeout(Some(Duration::from_millis(200))).ok()?;
                Some((s, 0usize))
            };
            let mut sockets: Vec<Option<(TcpStream, usize)>> =
                (0..300).map(|_| connect()).collect();
            let (mut connects, mut rounds) = (300usize, 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && rounds < 40 {
                for slot in sockets.iter_mut() {
                    let alive = match slot {
                        Some((s, sent)) if *sent < hello.len() => {
                            let ok = s.write_all(&hello[*sent..*sent + 1]).is_ok();
                            *sent += 1;
                            ok
                        }
                        _ => false,
                    };
                    if !alive && connects < 5000 {
                        *slot = connect();
                        connects += 1;
                    }
                }
                rounds += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            connects
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    let mut took = Vec::new();
    let t_flood = Instant::now();
    // Past the handshake timeout: the first tricklers have been cut and have come back.
    while took.len() < 40 || t_flood.elapsed() < Duration::from_secs(8) {
        let t0 = Instant::now();
        let r = tls_client.get(&healthz).send().expect("/healthz over TLS");
        took.push(t0.elapsed());
        assert_eq!(r.status(), 200);
        std::thread::sleep(Duration::from_millis(150));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let connects = attacker.join().unwrap();
    took.sort();
    let (median, worst) = (took[took.len() / 2], took[took.len() - 1]);
    println!(
        "TLS trickle: {connects} attacker connections; /healthz over TLS on new connections \
         ({} calls): median {median:?}, max {worst:?}",
        took.len()
    );
    assert!(
        connects > 300,
        "the tricklers were never cut: {connects} connections"
    );
    assert!(median < Duration::from_millis(100), "median {median:?}");
    assert!(worst < Duration::from_secs(1), "max {worst:?}");
}
