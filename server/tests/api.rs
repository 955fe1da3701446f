//! Integration: the real `lookout` binary on a free 127.0.0.1 port with a temp data
//! folder, called over HTTP; then restarted to read the earlier history back.

mod support;

use serde_json::Value;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        Self::start_with(data, &[])
    }

    fn start_with(data: &Path, extra_env: &[(&str, &str)]) -> Server {
        let port = support::free_port();
        let child = support::lookout_command(data, port)
            .envs(extra_env.iter().copied())
            .stdout(if std::env::var_os("LOOKOUT_TEST_LOGS").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("start lookout");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        server.wait_until(|| {
            get(&format!("{}/healthz", server.base))
                .map(|(s, _)| s == 200)
                .unwrap_or(false)
        });
        server
    }

    fn wait_until(&self, ok: impl FnMut() -> bool) {
        support::wait_until(ok)
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let (status, body) = get(&format!("{}{path}", self.base)).expect("request");
        let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
        (status, json)
    }

    fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, body)
    }

    fn put(&self, path: &str, body: &str) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, body)
    }

    fn delete(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, "")
    }

    fn send(&self, method: reqwest::Method, path: &str, body: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (status, text) = rt.block_on(async {
            let resp = reqwest::Client::new()
                .request(method, url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .timeout(Duration::from_secs(60))
                .send()
                .await
                .expect("request");
            (resp.status().as_u16(), resp.text().await.unwrap())
        });
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// SIGTERM, as a service manager would send: the server flushes and exits 0.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "lookout exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "lookout did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn get(url: &str) -> Result<(u16, String), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let resp = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        Ok((status, text))
    })
}

#[test]
fn serves_metrics_history_health_and_keeps_history_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    // /metrics: the seed's fields at the top level, plus the rest of the snapshot.
    server.wait_until(|| server.get("/metrics").0 == 200);
    let (_, m) = server.get("/metrics");
    for key in ["cpu_usage", "memory_usage", "load_average"] {
        assert!(m[key].is_number(), "{key} missing in {m}");
    }
    let cpu = m["cpu_usage"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&cpu));
    assert!(m["cpu"]["per_core"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    assert!(m["memory"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(m["load"]["fifteen"].is_number());
    assert!(m["disk"]["read_bytes_per_sec"].is_number());
    assert!(m["network"]["rx_bytes_per_sec"].is_number());
    assert!(m["processes"]["count"].as_u64().unwrap() > 0);
    assert!(m["timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    // Issue 12: the scope of the figures, and the container's and node's in a container.
    match m["scope"].as_str() {
        Some("host") => assert!(m.get("container").is_none() && m.get("node").is_none()),
        Some("container") => {
            assert!(m["container"]["cpu_limit_cores"].as_f64().unwrap() > 0.0);
            assert!(m["node"]["cpu_usage"].is_number());
        }
        other => panic!("scope {other:?} in {m}"),
    }
    if Path::new("/proc/pressure/cpu").exists() {
        assert!(m["pressure"]["cpu"]["some_total_us"].is_u64(), "{m}");
    }

    // readiness: store writable and sampler running.
    server.wait_until(|| server.get("/readyz").0 == 200);

    // history, good parameters: points arrive as samples are written.
    server.wait_until(|| {
        let (s, h) = server.get("/api/history?metric=cpu_usage,memory_usage&from=-15m");
        s == 200
            && h["series"][0]["points"]
                .as_array()
                .is_some_and(|p| p.len() >= 3)
    });
    let (_, h) = server.get("/api/history?metric=cpu_usage,memory_usage&from=-15m&points=100");
    assert_eq!(h["series"].as_array().unwrap().len(), 2);
    assert_eq!(h["series"][1]["metric"], "memory_usage");
    assert!(h["series"][0]["points"].as_array().unwrap().len() <= 100);
    // at full resolution each point is one stored sample.
    let (_, raw) = server.get("/api/history?metric=cpu_usage&from=-15m&points=10000");
    assert_eq!(
        raw["series"][0]["resolution_secs"].as_f64(),
        Some(1.0),
        "{raw}"
    );
    let first_seen = raw["series"][0]["points"][0]["t"].as_i64().unwrap();

    // history, bad parameters: 400 with a JSON error naming the parameter.
    let (s, e) = server.get("/api/history?metric=cpu_usage&points=abc");
    assert_eq!(s, 400);
    assert_eq!(e["param"], "points", "{e}");
    let (s, e) = server.get("/api/history?metric=no_such_metric");
    assert_eq!(s, 400);
    assert_eq!(e["param"], "metric");
    assert!(
        e["message"].as_str().unwrap().contains("cpu_usage"),
        "lists known metrics: {e}"
    );
    let (s, e) = server.get("/api/history");
    assert_eq!((s, e["param"].as_str()), (400, Some("metric")));

    // forecasts: minutes of history only, so each says so in words, not a number.
    let (s, f) = server.get("/api/forecast?metric=all&horizon=24h");
    assert_eq!(s, 200, "{f}");
    let list = f["forecasts"].as_array().unwrap();
    assert!(
        list.iter().any(|x| x["metric"] == "memory_used_bytes"),
        "{f}"
    );
    for x in list {
        assert_eq!(x["status"], "not_enough_history", "{x}");
        assert!(
            x["message"]
                .as_str()
                .unwrap()
                .starts_with("not enough history: ")
                && x["message"].as_str().unwrap().ends_with(" of 60 minutes"),
            "{x}"
        );
        assert!(x["time_to_bound_secs"].is_null());
    }
    let (s, e) = server.get("/api/forecast?metric=cpu_usage");
    assert_eq!((s, e["param"].as_str()), (400, Some("metric")), "{e}");
    let (s, e) = server.get("/api/forecast?horizon=90d");
    assert_eq!((s, e["param"].as_str()), (400, Some("horizon")), "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("out of range"),
        "{e}"
    );
    let (s, e) = server.get("/api/forecast?metric=filesystem:/no/such/mount");
    assert_eq!((s, e["param"].as_str()), (400, Some("metric")), "{e}");
    let (s, e) = server.get("/api/history?metric=cpu_usage&from=100&to=50");
    assert_eq!(s, 400, "{e}");

    // the dashboard page is server-rendered with current values, and carries what it
    // starts from (read before the render) as JSON for the browser to hydrate from.
    let (s, page) = server.get("/");
    assert_eq!(s, 200);
    let html = page.as_str().unwrap();
    assert!(html.contains("<html"), "{page}");
    let start = html
        .split(r#"id="page-start""#)
        .nth(1)
        .expect("the page's start data");
    let start = &start[start.find('>').unwrap() + 1..];
    let start: serde_json::Value =
        serde_json::from_str(&start[..start.find("</script>").unwrap()]).unwrap();
    let cpu = start["snapshot"]["cpu"]["total"]
        .as_f64()
        .expect("a snapshot");
    let card = html.split(r#"id="card-cpu""#).nth(1).expect("the CPU card");
    let value = card.split(r#"class="card-value">"#).nth(1).unwrap();
    assert_eq!(
        &value[..value.find('<').unwrap()],
        app::format::percent(cpu)
    );
    assert_eq!(start["me"]["role"], "admin", "{start}");
    assert!(
        start["hosts"].as_array().is_some_and(|h| !h.is_empty()),
        "{start}"
    );
    // The title names the host (the server writes it in the shell).
    let host = start["settings"]["host"].as_str().unwrap();
    let title = if host.is_empty() {
        start["snapshot"]["host"].as_str().unwrap().to_string()
    } else {
        host.to_string()
    };
    assert!(
        html.contains(&format!("<title>{title} · Lookout</title>")),
        "{html}"
    );
    let (_, page) = server.get("/analysis?host=%3Cb%3Eweb");
    assert!(
        page.as_str()
            .unwrap()
            .contains("<title>Analysis · &lt;b&gt;web · Lookout</title>"),
        "{page}"
    );
    // An unknown host is refused as the API refuses it, and the page still renders.
    let (s, page) = server.get("/?host=no-such-host");
    assert_eq!(s, 400, "{page}");
    assert!(page.as_str().unwrap().contains(r#"id="page-start""#));

    server.stop();

    // a day later (well, now): the history written before is still there.
    let server = Server::start(dir.path());
    let (s, h) = server.get("/api/history?metric=cpu_usage&from=-1h&points=10000");
    assert_eq!(s, 200);
    let points = h["series"][0]["points"].as_array().unwrap();
    assert!(
        points.iter().any(|p| p["t"].as_i64() == Some(first_seen)),
        "sample at {first_seen} lost across restart"
    );
    server.stop();
}

#[test]
fn bad_config_stops_startup_with_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lookout"))
        .env_clear()
        .env("LOOKOUT_SAMPLER_INTERVAL", "0.1s")
        .env("LOOKOUT_STORE_PATH", dir.path().join("x.db"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sampler.interval") && err.contains("1s to 1h"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[store]\nretention = \"7d\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lookout"))
        .env_clear()
        .args(["--config", cfg.to_str().unwrap(), "config"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("store.retention") && err.contains("raw_retention"),
        "{err}"
    );
}

/// Two hours of stored history: the server trains a model at start, scores live
/// samples, and serves the detector's state, versions and events.
#[test]
fn trains_from_stored_history_and_serves_detector_state() {
    use lookout::model::Snapshot;
    use lookout::store::{Store, StoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    {
        let store = Store::open(
            &dir.path().join("lookout.db"),
            StoreOptions {
                host: "testhost".into(),
                ..StoreOptions::default()
            },
        )
        .unwrap();
        let snaps: Vec<Snapshot> = (0..1440)
            .map(|i| {
                let t = now - 2 * 3_600_000 + i * 5000;
                let wobble = ((i * 7919) % 97) as f64 / 97.0;
                let mut s = Snapshot {
                    host: "testhost".into(),
                    timestamp: t,
                    ..Snapshot::default()
                };
                s.cpu.total = 10.0 + 5.0 * wobble;
                s.memory.usage_percent = 40.0 + wobble;
                s.memory.total_bytes = 8 << 30;
                s.load.one = 0.5 + wobble * 0.2;
                s.network.rx_bytes_per_sec = 1000.0 + 500.0 * wobble;
                s.processes.count = 200;
                s
            })
            .collect();
        store.insert(&snaps).unwrap();
    }
    let server = Server::start_with(dir.path(), &[("LOOKOUT_HOST_NAME", "testhost")]);

    // the first training starts by itself: enough history is stored.
    server.wait_until(|| server.get("/api/model").1["state"]["phase"] == "trained");
    let (s, m) = server.get("/api/model");
    assert_eq!(s, 200);
    assert_eq!(m["state"]["model_version"], 1, "{m}");
    assert!(
        m["state"]["trained_samples"].as_u64().unwrap() >= 1400,
        "{m}"
    );
    assert_eq!(m["versions"].as_array().unwrap().len(), 1);
    assert!(dir.path().join("models").read_dir().unwrap().count() >= 1);

    // live samples are scored with the model.
    server.wait_until(|| server.get("/metrics").1["anomaly_score"].is_number());
    let (_, metrics) = server.get("/metrics");
    // A surprise: 0 and up, no fixed top (this host is nothing like the stored one).
    let score = metrics["anomaly_score"].as_f64().unwrap();
    assert!(score >= 0.0 && score.is_finite(), "{score}");
    assert!(metrics["anomaly"].is_boolean());

    // on demand: a new version, hot-swapped.
    let (s, info) = server.post("/api/model/train", "");
    assert_eq!(s, 200, "{info}");
    assert_eq!(info["version"], 2);
    assert_eq!(server.get("/api/model").1["state"]["model_version"], 2);

    // sensitivity: validated, applied.
    let (s, r) = server.post("/api/model/sensitivity", r#"{"sensitivity":"high"}"#);
    assert_eq!((s, r["sensitivity"].as_str()), (200, Some("high")));
    // A surprise threshold as a JSON number; the older "1 - p" form reads as a surprise.
    let (s, r) = server.post("/api/model/sensitivity", r#"{"sensitivity":3.5}"#);
    assert_eq!((s, r["threshold"].as_f64()), (200, Some(3.5)), "{r}");
    let (s, r) = server.post("/api/model/sensitivity", r#"{"sensitivity":"0.999"}"#);
    assert_eq!(s, 200, "{r}");
    assert!((r["threshold"].as_f64().unwrap() - 3.0).abs() < 1e-9, "{r}");
    let (s, r) = server.post("/api/model/sensitivity", r#"{"sensitivity":"high"}"#);
    assert_eq!((s, r["sensitivity"].as_str()), (200, Some("high")));
    let (s, r) = server.post("/api/model/sensitivity", r#"{"sensitivity":"extreme"}"#);
    assert_eq!(s, 400, "{r}");

    // events: a list (the calm history opened none), bad ranges refused, unknown ids 404.
    let (s, ev) = server.get("/api/anomalies?from=-3h");
    assert_eq!(s, 200);
    assert!(ev["events"].is_array());
    assert_eq!(server.get("/api/anomalies?from=soon").0, 400);
    assert_eq!(server.post("/api/anomalies/999999/expected", "{}").0, 404);
    server.stop();
}

/// A webhook receiver on 127.0.0.1: collects request bodies.
fn webhook_receiver() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let mut s = stream;
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
        }
    });
    (port, rx)
}

/// A threshold rule from the config file fires through the real server: the webhook
/// receives it, the history records the delivery, silences and test sends work.
#[test]
fn alert_rule_fires_to_a_webhook_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (hook_port, bodies) = webhook_receiver();
    let cfg =
        support::always_busy_config(dir.path(), &format!("http://127.0.0.1:{hook_port}/alert"));
    let cfg_path = cfg.to_str().unwrap().to_string();
    let server = Server::start_with(dir.path(), &[("LOOKOUT_CONFIG", cfg_path.as_str())]);

    let body = bodies
        .recv_timeout(Duration::from_secs(30))
        .expect("webhook called");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["rule"], "always-busy", "{json}");
    assert_eq!(json["kind"], "firing", "{json}");

    let (_, alerts) = server.get("/api/alerts");
    assert_eq!(alerts["active"][0]["rule"], "always-busy", "{alerts}");
    assert_eq!(alerts["channels"][0], "hook");
    server.wait_until(|| {
        let (_, h) = server.get("/api/alerts/history?from=-1h");
        h["entries"].as_array().is_some_and(|e| !e.is_empty())
    });
    assert_eq!(server.get("/api/alerts/history?limit=0").0, 400);

    // a test send goes through the outbox to the same receiver.
    let (s, _) = server.post("/api/alerts/test", r#"{"channel":"hook"}"#);
    assert_eq!(s, 202);
    let test = bodies
        .recv_timeout(Duration::from_secs(30))
        .expect("test notification");
    assert!(test.contains("\"test\""), "{test}");
    assert_eq!(
        server.post("/api/alerts/test", r#"{"channel":"nope"}"#).0,
        400
    );

    // silences: created, listed, expired; bad input refused.
    let (s, sil) = server.post(
        "/api/silences",
        r#"{"rule":"always-busy","duration":"1h","comment":"maintenance"}"#,
    );
    assert_eq!(s, 201, "{sil}");
    let id = sil["id"].as_i64().unwrap();
    assert_eq!(
        server.get("/api/silences").1["silences"][0]["comment"],
        "maintenance"
    );
    assert_eq!(
        server
            .post("/api/silences", r#"{"rule":"x","duration":"soon"}"#)
            .0,
        400
    );
    assert_eq!(server.post("/api/silences", r#"{"duration":"1h"}"#).0, 400);
    assert_eq!(server.delete(&format!("/api/silences/{id}")).0, 200);
    assert_eq!(server.delete("/api/silences/424242").0, 404);

    // rules from the API: added, tested, refused with the field named, kept across restart.
    let (s, r) = server.put(
        "/api/alerts/rules/disk-low",
        r#"{"condition":"disk_free_percent < 5 for 1m"}"#,
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["describe"], "disk_free_percent < 5 for 1m");
    let (s, e) = server.put("/api/alerts/rules/bad", r#"{"condition":"cpu_usag > 5"}"#);
    assert_eq!(s, 400);
    assert!(e["message"].as_str().unwrap().contains("condition"), "{e}");
    let (s, t) = server.post(
        "/api/alerts/rules/test",
        r#"{"name":"t","condition":"process_count > 0"}"#,
    );
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["condition_holds_now"], true, "{t}");
    assert_eq!(
        server.delete("/api/alerts/rules/always-busy").0,
        409,
        "file rules are disabled, not deleted"
    );
    let (s, _) = server.put(
        "/api/alerts/rules/always-busy",
        r#"{"condition":"process_count > 0 for 1s","enabled":false}"#,
    );
    assert_eq!(s, 200);
    server.stop();

    let server = Server::start_with(dir.path(), &[("LOOKOUT_CONFIG", cfg_path.as_str())]);
    let (_, alerts) = server.get("/api/alerts");
    let rules = alerts["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["name"] == "disk-low"), "{alerts}");
    assert!(
        rules
            .iter()
            .any(|r| r["name"] == "always-busy" && r["enabled"] == false),
        "{alerts}"
    );
    assert_eq!(server.delete("/api/alerts/rules/disk-low").0, 200);
    server.stop();
}
