//! The server's edge, end to end: the real `lookout` binary (TLS with a certificate
//! made here by rcgen, the HTTP -> HTTPS redirect, trusted proxies, security headers,
//! body limits, the logs API, bad TLS files at start-up), plus the edge layers over a
//! small router served on a real socket (client info, panics, error bodies).

mod support;
use support::free_port;

use axum::routing::get;
use axum::{Extension, Router};
use lookout_server::config;
use lookout_server::edge::{self, Cidr, ClientInfo, EdgeSettings};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn lookout(data: &Path, port: u16, extra_env: &[(&str, String)]) -> Command {
    let mut cmd = support::lookout_command(data, port);
    cmd.env("LOOKOUT_DETECTOR_ENABLED", "false")
        .envs(extra_env.iter().map(|(k, v)| (*k, v.as_str())));
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
    fn start(
        data: &Path,
        extra_env: &[(&str, String)],
        client: &reqwest::blocking::Client,
    ) -> Server {
        let port = free_port();
        let child = lookout(data, port, extra_env)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start lookout");
        let mut server = Server { child, port };
        let https = extra_env.iter().any(|(k, _)| *k == "LOOKOUT_TLS_CERT");
        let url = format!("{}/healthz", server.base(https));
        support::wait_for_start(&mut server.child, || {
            client.get(&url).send().is_ok_and(|r| r.status() == 200)
        });
        server
    }

    fn base(&self, https: bool) -> String {
        let scheme = if https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}

fn plain_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn header<'a>(r: &'a reqwest::blocking::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The headers every response must carry, whatever served it.
fn assert_security_headers(r: &reqwest::blocking::Response, what: &str) {
    let csp = header(r, "content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    for directive in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "connect-src 'self'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: CSP lacks {directive}: {csp}"
        );
    }
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_else(|| panic!("{what}: no script-src: {csp}"));
    assert!(
        !script_src.contains("'unsafe-inline'") && !script_src.contains("'unsafe-eval'"),
        "{what}: {script_src}"
    );
    assert_eq!(
        header(r, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(header(r, "x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(header(r, "referrer-policy"), Some("no-referrer"), "{what}");
}

/// A site folder with one static file, so static serving is exercised without a
/// `cargo leptos build`.
fn site(dir: &Path) -> PathBuf {
    let site = dir.join("site");
    std::fs::create_dir_all(site.join("vendor")).unwrap();
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("vendor/probe.js"), "console.log('probe');\n").unwrap();
    site
}

#[test]
fn headers_on_pages_api_static_files_and_errors_and_the_nonce_matches() {
    let dir = tempfile::tempdir().unwrap();
    let site = site(dir.path());
    let client = plain_client();
    let s = Server::start(
        dir.path(),
        &[("LOOKOUT_SERVER_SITE_ROOT", site.display().to_string())],
        &client,
    );
    let base = s.base(false);

    let page = client.get(format!("{base}/")).send().unwrap();
    assert_eq!(page.status(), 200);
    assert_security_headers(&page, "page");
    let csp = header(&page, "content-security-policy")
        .unwrap()
        .to_string();
    assert!(
        header(&page, "strict-transport-security").is_none(),
        "no HSTS over plain http"
    );
    let html = page.text().unwrap();
    // Every inline script carries the nonce the header names, and only that one.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("nonce in CSP")
        .to_string();
    assert!(nonce.len() >= 16, "{nonce}");
    let inline_scripts: Vec<&str> = html
        .split("<script")
        .skip(1)
        .map(|s| s.split('>').next().unwrap())
        .filter(|attrs| !attrs.contains("src="))
        .collect();
    assert!(
        !inline_scripts.is_empty(),
        "the hydration bootstrap is inline"
    );
    for attrs in &inline_scripts {
        assert!(
            attrs.contains(&format!("nonce=\"{nonce}\"")),
            "inline script without the header's nonce: <script{attrs}>"
        );
    }
    // A fresh nonce per response.
    let again = client.get(format!("{base}/")).send().unwrap();
    assert!(!header(&again, "content-security-policy")
        .unwrap()
        .contains(&nonce));

    for (path, status) in [
        ("/healthz", 200),
        ("/api/model", 200),
        ("/vendor/probe.js", 200),
        ("/no/such/page", 404),
        ("/api/history?metric=nope", 400),
    ] {
        let r = client.get(format!("{base}{path}")).send().unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        assert_security_headers(&r, path);
        let body = r.text().unwrap();
        if path == "/vendor/probe.js" {
            assert_eq!(body, "console.log('probe');\n");
        }
        if status >= 400 {
            assert!(
                !body.contains(".rs:") && !body.contains(&dir.path().display().to_string()),
                "{path}: error body leaks a path: {body}"
            );
        }
    }
}

#[test]
fn oversized_bodies_get_a_json_413_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let client = plain_client();
    let s = Server::start(
        dir.path(),
        &[("LOOKOUT_SERVER_MAX_BODY", "4KiB".into())],
        &client,
    );
    let base = s.base(false);
    let big = format!("{{\"comment\":\"{}\"}}", "x".repeat(8 * 1024));
    for path in ["/api/silences", "/api/alerts/rules/test"] {
        let r = client
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
        assert_security_headers(&r, path);
        let v: serde_json::Value = r.json().unwrap();
        let e = v["error"].as_str().unwrap();
        assert!(e.contains("4096") && e.contains("server.max_body"), "{e}");
    }
    // Chunked, so no Content-Length to refuse up front: the limit still holds.
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let chunk = "y".repeat(6000);
    write!(
        tcp,
        "POST /api/silences HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("server.max_body"), "{answer}");
    // A client that writes its whole 12 MiB body before reading still gets the 413, not
    // a reset connection ("broken pipe"): the refused body is drained first. Declared
    // length and chunked alike.
    let body = "z".repeat(12 * 1024 * 1024);
    for chunked in [false, true] {
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let (framing, payload) = if chunked {
            let chunks: String = body
                .as_bytes()
                .chunks(64 * 1024)
                .map(|c| format!("{:x}\r\n{}\r\n", c.len(), std::str::from_utf8(c).unwrap()))
                .collect();
            (
                "Transfer-Encoding: chunked".to_string(),
                chunks + "0\r\n\r\n",
            )
        } else {
            (format!("Content-Length: {}", body.len()), body.clone())
        };
        let request = format!(
            "POST /api/silences HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Type: application/json\r\n{framing}\r\n\r\n{payload}"
        );
        tcp.write_all(request.as_bytes())
            .unwrap_or_else(|e| panic!("chunked={chunked}: sending the body: {e}"));
        let mut answer = [0u8; 4096];
        let n = tcp
            .read(&mut answer)
            .unwrap_or_else(|e| panic!("chunked={chunked}: reading the answer: {e}"));
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "chunked={chunked}: {answer}"
        );
    }
    // A client that waits for "100 Continue" is refused at once, before it sends anything.
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        tcp,
        "POST /api/silences HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut answer = [0u8; 4096];
    let n = tcp.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // Under the limit is fine.
    let r = client
        .post(format!("{base}/api/alerts/rules/test"))
        .header("content-type", "application/json")
        .body(r#"{"condition":"cpu_usage > 90 for 1m"}"#)
        .send()
        .unwrap();
    assert_ne!(r.status(), 413);
}

fn self_signed(dir: &Path) -> (PathBuf, PathBuf, reqwest::Certificate) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let root = reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap();
    (cert, key, root)
}

#[test]
fn tls_end_to_end_with_hsts_and_the_http_redirect() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, root) = self_signed(dir.path());
    let tls_client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .add_root_certificate(root)
        .tls_built_in_root_certs(false)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect_port = free_port();
    let s = Server::start(
        dir.path(),
        &[
            ("LOOKOUT_TLS_CERT", cert.display().to_string()),
            ("LOOKOUT_TLS_KEY", key.display().to_string()),
            (
                "LOOKOUT_TLS_REDIRECT_HTTP",
                format!("127.0.0.1:{redirect_port}"),
            ),
        ],
        &tls_client,
    );
    let base = s.base(true);
    for path in ["/", "/healthz", "/api/model"] {
        let r = tls_client.get(format!("{base}{path}")).send().unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(
            header(&r, "strict-transport-security"),
            Some("max-age=31536000"),
            "{path}"
        );
        assert_security_headers(&r, path);
    }
    // The live feed works over TLS too (SSE).
    let mut sse = tls_client.get(format!("{base}/api/stream")).send().unwrap();
    assert_eq!(sse.status(), 200);
    let mut first = [0u8; 64];
    let n = sse.read(&mut first).unwrap();
    assert!(n > 0);
    drop(sse);

    // A client that does not trust the certificate is refused.
    let untrusting = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(untrusting.get(format!("{base}/healthz")).send().is_err());
    // Plain HTTP on the TLS port gets no page.
    let plain = plain_client();
    let r = plain
        .get(format!("http://127.0.0.1:{}/healthz", s.port))
        .send();
    assert!(r.map(|r| r.status() != 200).unwrap_or(true));

    // The redirect listener sends everything to https, same host and path.
    let r = plain
        .get(format!(
            "http://127.0.0.1:{redirect_port}/api/history?metric=cpu_usage"
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 301);
    assert_eq!(
        header(&r, "location"),
        Some(format!("https://127.0.0.1:{}/api/history?metric=cpu_usage", s.port).as_str())
    );
    let r = plain
        .post(format!("http://127.0.0.1:{redirect_port}/api/silences"))
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 308, "non-GET keeps its method");
    // Following the redirect with the trusting client lands on the TLS server.
    let follow = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .add_root_certificate(self_signed_root(&cert))
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    let r = follow
        .get(format!("http://127.0.0.1:{redirect_port}/healthz"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.url().scheme(), "https");
}

fn self_signed_root(cert: &Path) -> reqwest::Certificate {
    reqwest::Certificate::from_pem(&std::fs::read(cert).unwrap()).unwrap()
}

#[test]
fn bad_tls_files_stop_start_up_with_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = self_signed(dir.path());
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "-----BEGIN NOTHING-----\n").unwrap();
    let missing = dir.path().join("missing.pem").display().to_string();
    // (environment, words the error must contain)
    type Case = (Vec<(&'static str, String)>, &'static [&'static str]);
    let cases: Vec<Case> = vec![
        (
            vec![
                ("LOOKOUT_TLS_CERT", missing.clone()),
                ("LOOKOUT_TLS_KEY", key.display().to_string()),
            ],
            &["`tls.cert`", "missing.pem"],
        ),
        (
            vec![
                ("LOOKOUT_TLS_CERT", cert.display().to_string()),
                ("LOOKOUT_TLS_KEY", missing.clone()),
            ],
            &["`tls.key`", "missing.pem"],
        ),
        (
            vec![
                ("LOOKOUT_TLS_CERT", junk.display().to_string()),
                ("LOOKOUT_TLS_KEY", key.display().to_string()),
            ],
            &["`tls.cert`", "junk.pem"],
        ),
        (
            vec![
                ("LOOKOUT_TLS_CERT", cert.display().to_string()),
                ("LOOKOUT_TLS_KEY", cert.display().to_string()),
            ],
            &["`tls.key`", "cert.pem"],
        ),
        (
            vec![("LOOKOUT_TLS_CERT", cert.display().to_string())],
            &["`tls.key`"],
        ),
        (
            vec![("LOOKOUT_TLS_REDIRECT_HTTP", "127.0.0.1:8080".into())],
            &["`tls.redirect_http`"],
        ),
    ];
    for (env, wanted) in cases {
        let out: Output = lookout(dir.path(), free_port(), &env)
            .output()
            .expect("run lookout");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        for w in wanted {
            assert!(stderr.contains(w), "{env:?}: wanted {w} in: {stderr}");
        }
    }
}

#[test]
fn forwarded_proto_counts_only_from_a_trusted_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let client = plain_client();
    // Only 127.0.0.2 is a proxy; 127.0.0.1 is an ordinary client.
    // A trusted proxy requires a user.
    let s = Server::start(
        dir.path(),
        &[
            (
                "LOOKOUT_SERVER_TRUSTED_PROXIES",
                "127.0.0.2, 10.0.0.0/8".into(),
            ),
            ("LOOKOUT_ADMIN_USER", "admin".into()),
            ("LOOKOUT_ADMIN_PASSWORD", "password-for-tests".into()),
        ],
        &client,
    );
    let url = format!("{}/healthz", s.base(false));
    let direct = client
        .get(&url)
        .header("x-forwarded-proto", "https")
        .send()
        .unwrap();
    assert_eq!(direct.status(), 200);
    assert!(
        header(&direct, "strict-transport-security").is_none(),
        "an untrusted peer cannot claim https"
    );
    let proxy = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let via = proxy
        .get(&url)
        .header("x-forwarded-proto", "https")
        .send()
        .unwrap();
    assert_eq!(
        header(&via, "strict-transport-security"),
        Some("max-age=31536000")
    );
    let via_http = proxy
        .get(&url)
        .header("x-forwarded-proto", "http")
        .send()
        .unwrap();
    assert!(header(&via_http, "strict-transport-security").is_none());
}

#[test]
fn logs_api_serves_recent_lines_by_level_and_checks_its_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let client = plain_client();
    let s = Server::start(dir.path(), &[], &client);
    let base = s.base(false);
    let v: serde_json::Value = client
        .get(format!("{base}/api/logs?level=info&limit=1000"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["capacity"], 1000);
    let lines = v["lines"].as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["message"].as_str().unwrap().contains("Lookout listening")),
        "{v}"
    );
    for l in lines {
        assert!(["INFO", "WARN", "ERROR"].contains(&l["level"].as_str().unwrap()));
        assert!(l["t"].as_i64().unwrap() > 1_600_000_000_000);
    }
    let v: serde_json::Value = client
        .get(format!("{base}/api/logs?limit=1"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["lines"].as_array().unwrap().len(), 1);
    for bad in ["level=loud", "limit=0", "limit=5000", "limit=many"] {
        let r = client.get(format!("{base}/api/logs?{bad}")).send().unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let v: serde_json::Value = r.json().unwrap();
        assert!(v["param"].is_string(), "{bad}: {v}");
    }
}

// --- The edge layers over a small router on a real socket. ---

async fn serve_small(edge: EdgeSettings) -> SocketAddr {
    let app =
        Router::new()
            .route(
                "/who",
                get(|Extension(c): Extension<ClientInfo>| async move {
                    format!("{} {}", c.ip, c.https)
                }),
            )
            .route(
                "/panic",
                get(|| async {
                    if std::hint::black_box(true) {
                        panic!("secret detail at /home/someone/src/lib.rs:1:1");
                    }
                    "unreachable"
                }),
            )
            .route(
                "/fail",
                get(|| async {
                    (
                        axum::http::StatusCode::CONFLICT,
                        "training failed: cannot write /tmp/lookout/models/m-7.json: denied",
                    )
                }),
            );
    let app = edge::apply(app, &edge);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = edge::serve(listener, app, &edge, std::future::pending()).await;
    });
    addr
}

async fn get_from(local: &str, url: String, headers: &[(&str, &str)]) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn client_info_trusts_forwarded_for_only_from_listed_proxies() {
    let addr = serve_small(EdgeSettings {
        trusted_proxies: vec![Cidr::parse("127.0.0.2").unwrap()],
        ..EdgeSettings::default()
    })
    .await;
    let url = format!("http://{addr}/who");
    let fwd = [
        ("x-forwarded-for", "203.0.113.9, 127.0.0.2"),
        ("x-forwarded-proto", "https"),
    ];
    let direct = get_from("127.0.0.1", url.clone(), &fwd).await;
    assert_eq!(direct.text().await.unwrap(), "127.0.0.1 false");
    let via_proxy = get_from("127.0.0.2", url.clone(), &fwd).await;
    assert_eq!(via_proxy.text().await.unwrap(), "203.0.113.9 true");
    let plain = get_from("127.0.0.3", url.clone(), &[]).await;
    assert_eq!(plain.text().await.unwrap(), "127.0.0.3 false");
}

#[tokio::test]
async fn panics_and_error_bodies_tell_the_client_nothing_internal() {
    let addr = serve_small(EdgeSettings::default()).await;
    let r = get_from("127.0.0.1", format!("http://{addr}/panic"), &[]).await;
    assert_eq!(r.status(), 500);
    assert!(r.headers().contains_key("content-security-policy"));
    let body = r.text().await.unwrap();
    assert_eq!(body, r#"{"error":"internal error"}"#);
    let r = get_from("127.0.0.1", format!("http://{addr}/fail"), &[]).await;
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.text().await.unwrap(),
        "training failed: cannot write [redacted]: denied"
    );
}

// --- Configuration: PORT, trusted proxies, body limit. ---

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn port_env_binds_all_interfaces_unless_bind_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("l.db").display().to_string();
    let base = [("LOOKOUT_STORE_PATH", store.as_str()), ("PORT", "4567")];
    let s = config::load(None, &env(&base), &[]).unwrap();
    assert_eq!(s.bind.to_string(), "0.0.0.0:4567");

    let mut e = env(&base);
    e.push(("LOOKOUT_SERVER_BIND".into(), "127.0.0.1:3100".into()));
    assert_eq!(
        config::load(None, &e, &[]).unwrap().bind.to_string(),
        "127.0.0.1:3100"
    );

    let flag = vec![(
        "server.bind".to_string(),
        "127.0.0.1:3200".to_string(),
        "--bind".to_string(),
    )];
    assert_eq!(
        config::load(None, &env(&base), &flag)
            .unwrap()
            .bind
            .to_string(),
        "127.0.0.1:3200"
    );

    let file = dir.path().join("lookout.toml");
    std::fs::write(&file, "[server]\nbind = \"127.0.0.1:3300\"\n").unwrap();
    assert_eq!(
        config::load(Some(&file), &env(&base), &[])
            .unwrap()
            .bind
            .to_string(),
        "127.0.0.1:3300"
    );
    // A file without `server.bind` leaves room for PORT.
    std::fs::write(&file, "[server]\nmax_body = \"2MiB\"\n").unwrap();
    let s = config::load(Some(&file), &env(&base), &[]).unwrap();
    assert_eq!(s.bind.to_string(), "0.0.0.0:4567");
    assert_eq!(s.edge.max_body, 2 * 1024 * 1024);

    let bad = [("LOOKOUT_STORE_PATH", store.as_str()), ("PORT", "eighty")];
    let msg = config::load(None, &env(&bad), &[]).unwrap_err().to_string();
    assert!(msg.contains("PORT") && msg.contains("eighty"), "{msg}");
}

#[test]
fn edge_settings_are_checked_with_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("l.db").display().to_string();
    let s = config::load(None, &env(&[("LOOKOUT_STORE_PATH", &store)]), &[]).unwrap();
    assert_eq!(s.edge.max_body, 1024 * 1024, "default 1 MiB");
    assert!(s.edge.tls.is_none() && s.edge.trusted_proxies.is_empty() && s.edge.hsts);

    let e = env(&[
        ("LOOKOUT_STORE_PATH", &store),
        ("LOOKOUT_SERVER_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
    ]);
    let s = config::load(None, &e, &[]).unwrap();
    assert_eq!(s.edge.trusted_proxies.len(), 2);
    assert!(s.edge.trusted_proxies[1].contains("10.9.8.7".parse().unwrap()));

    let file = dir.path().join("lookout.toml");
    std::fs::write(&file, "[server]\ntrusted_proxies = [\"10.0.0.0/40\"]\n").unwrap();
    let msg = config::load(Some(&file), &env(&[("LOOKOUT_STORE_PATH", &store)]), &[])
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("server.trusted_proxies") && msg.contains("10.0.0.0/40"),
        "{msg}"
    );

    for bad in ["huge", "10"] {
        let e = env(&[
            ("LOOKOUT_STORE_PATH", &store),
            ("LOOKOUT_SERVER_MAX_BODY", bad),
        ]);
        let msg = config::load(None, &e, &[]).unwrap_err().to_string();
        assert!(msg.contains("server.max_body"), "{bad}: {msg}");
    }
}
