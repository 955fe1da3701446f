//! A hub with two agent hosts, against the real `lookout` binary and its SQLite file:
//! the fleet overview (`GET /api/fleet`) lists every host worst first and filters by
//! name, and every endpoint a dashboard panel reads answers for the host named by
//! `host=` (and 400 naming the parameter for a host it does not know).

mod support;
use support::{free_port, lookout_command, wait_for_start, wait_until, KillOnDrop};

use lookout::model::{FleetOverview, HostStatus, IngestBatch, Snapshot};
use lookout::store::auth::Scope;
use lookout::store::{Store, StoreOptions};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const HUB: &str = "fleet-hub";

struct Hub {
    child: KillOnDrop,
    port: u16,
}

impl Hub {
    fn start(data: &Path, extra_env: &[(&str, &str)]) -> Hub {
        let port = free_port();
        let child = lookout_command(data, port)
            .env("LOOKOUT_HOST_NAME", HUB)
            .env("LOOKOUT_DETECTOR_ENABLED", "false")
            .envs(extra_env.iter().copied())
            .stdout(std::fs::File::create(data.join("server.log")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start lookout");
        let mut hub = Hub {
            child: KillOnDrop(child),
            port,
        };
        let health = hub.url("/healthz");
        wait_for_start(&mut hub.child.0, || {
            client()
                .get(&health)
                .send()
                .is_ok_and(|r| r.status() == 200)
        });
        hub
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let r = client().get(self.url(path)).send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Sends `n` samples of `host` ending now, CPU at `cpu`.
    fn send(&self, token: &str, host: &str, n: i64, cpu: f64) {
        let now = lookout::time::now_ms();
        let batch = IngestBatch {
            host: host.into(),
            samples: (0..n)
                .map(|i| {
                    let mut s = Snapshot {
                        host: host.into(),
                        timestamp: now - (n - 1 - i) * 1000,
                        interval_secs: 1.0,
                        cpu_usage: cpu,
                        memory_usage: cpu / 2.0,
                        load_average: cpu / 100.0,
                        ..Snapshot::default()
                    };
                    s.cpu.total = cpu;
                    s.memory.total_bytes = 8 << 30;
                    s.memory.used_bytes = 4 << 30;
                    s.memory.available_bytes = 4 << 30;
                    s
                })
                .collect(),
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&serde_json::to_vec(&batch).unwrap()).unwrap();
        let r = client()
            .post(self.url("/api/ingest"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gz.finish().unwrap())
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{:?}", r.text());
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn ingest_token(data: &Path, name: &str) -> String {
    let store = Store::open(
        &data.join("lookout.db"),
        StoreOptions {
            host: HUB.into(),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store
        .create_token(name, Scope::Ingest, "test", 0)
        .unwrap()
        .1
}

fn fleet(hub: &Hub, query: &str) -> FleetOverview {
    let (status, body) = hub.get(&format!("/api/fleet{query}"));
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

/// A 400 that names `host` (`param` in the JSON API's error body; the server
/// functions `/metrics` and `/api/series` answer with the message as text), in the
/// one wording every endpoint uses.
fn assert_unknown_host(hub: &Hub, path: &str) {
    let r = client().get(hub.url(path)).send().unwrap();
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    assert_eq!(status, 400, "{path}: {text}");
    let named = match serde_json::from_str::<Value>(&text) {
        Ok(body) if body.is_object() => body["param"] == "host",
        _ => text.contains("host: unknown host"),
    };
    assert!(named && text.contains("nope"), "{path}: {text}");
    assert!(
        text.contains("see GET /api/fleet for the hosts this server knows"),
        "{path}: {text}"
    );
}

#[test]
fn the_fleet_lists_every_host_worst_first_and_panels_follow_host() {
    let dir = tempfile::tempdir().unwrap();
    let (t2, t3) = (
        ingest_token(dir.path(), "agent-2"),
        ingest_token(dir.path(), "agent-3"),
    );
    let hub = Hub::start(dir.path(), &[]);
    hub.send(&t2, "web-2", 5, 91.0);
    hub.send(&t3, "db-3", 5, 7.0);
    // web-3 sent once, two minutes ago: stale.
    let t4 = ingest_token(dir.path(), "agent-4");
    let old = IngestBatch {
        host: "web-old".into(),
        samples: vec![Snapshot {
            host: "web-old".into(),
            timestamp: lookout::time::now_ms() - 120_000,
            interval_secs: 1.0,
            cpu_usage: 3.0,
            ..Snapshot::default()
        }],
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&serde_json::to_vec(&old).unwrap()).unwrap();
    let r = client()
        .post(hub.url("/api/ingest"))
        .bearer_auth(&t4)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The hub's own sampler has a sample too.
    wait_until(|| hub.get("/metrics").0 == 200);

    let all = fleet(&hub, "");
    let names: Vec<&str> = all.hosts.iter().map(|t| t.host.as_str()).collect();
    assert_eq!(all.total, 4, "{names:?}");
    // Stale first; then the ok hosts, busiest CPU first (unscored: detector off).
    assert_eq!(names[0], "web-old");
    assert_eq!(all.hosts[0].status, HostStatus::Stale);
    let web2 = all.hosts.iter().position(|t| t.host == "web-2").unwrap();
    let db3 = all.hosts.iter().position(|t| t.host == "db-3").unwrap();
    assert!(web2 < db3, "{names:?}");
    let t = &all.hosts[web2];
    assert_eq!(t.status, HostStatus::Ok);
    assert_eq!(t.cpu_usage, Some(91.0));
    assert_eq!(t.memory_usage, Some(45.5));
    assert_eq!(t.load_average, Some(0.91));
    assert_eq!(t.open_events, 0);
    assert!(!t.this_host);
    let own = all
        .hosts
        .iter()
        .find(|t| t.host == HUB)
        .expect("the hub's own tile");
    assert!(own.this_host && own.status == HostStatus::Ok, "{own:?}");

    // The name filter: every word, case ignored.
    let web = fleet(&hub, "?filter=WEB");
    let names: Vec<&str> = web.hosts.iter().map(|t| t.host.as_str()).collect();
    assert_eq!(names, ["web-old", "web-2"]);
    assert_eq!(web.total, 4);
    assert!(fleet(&hub, "?filter=nothing-like-it").hosts.is_empty());

    // Every panel's endpoint, for web-2.
    let (s, m) = hub.get("/metrics?host=web-2");
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        (m["host"].as_str(), m["cpu_usage"].as_f64()),
        (Some("web-2"), Some(91.0))
    );
    let (s, own) = hub.get("/metrics");
    assert_eq!((s, own["host"].as_str()), (200, Some(HUB)));
    let now = lookout::time::now_ms();
    let series = format!(
        "/api/series?metrics=cpu_usage&from={}&to={}&points=100&host=db-3",
        now - 600_000,
        now + 1_000
    );
    let (s, h) = hub.get(&series);
    assert_eq!(s, 200, "{h}");
    let points = h["series"][0]["points"].as_array().unwrap().clone();
    assert!(!points.is_empty(), "{h}");
    assert!(points.iter().all(|p| p["v"].as_f64() == Some(7.0)), "{h}");
    let (s, h) = hub.get("/api/history?metric=cpu_usage&host=web-2");
    assert_eq!(s, 200, "{h}");
    let values: Vec<f64> = h["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["v"].as_f64())
        .collect();
    assert!(
        !values.is_empty() && values.iter().all(|v| *v == 91.0),
        "{h}"
    );
    for path in [
        "/api/anomalies?host=web-2",
        "/api/model?host=web-2",
        "/api/forecast?metric=memory_usage&host=web-2",
        "/api/alerts?host=web-2",
        "/api/alerts/history?host=web-2",
    ] {
        let (s, b) = hub.get(path);
        assert_eq!(s, 200, "{path}: {b}");
    }
    let (_, f) = hub.get("/api/forecast?metric=memory_usage&host=web-2");
    assert!(f.to_string().contains("memory"), "{f}");

    for path in [
        "/metrics?host=nope",
        "/api/history?metric=cpu_usage&host=nope",
        "/api/anomalies?host=nope",
        "/api/model?host=nope",
        "/api/forecast?host=nope",
        "/api/alerts?host=nope",
        "/api/alerts/history?host=nope",
        "/api/stream?host=nope",
        "/api/analysis/cores?host=nope",
        "/api/analysis/rhythm?host=nope",
        "/api/analysis/correlation?metric=cpu_usage,load_1&host=nope",
        "/api/analysis/overlay?metric=cpu_usage,load_1&host=nope",
    ] {
        assert_unknown_host(&hub, path);
    }
    let series = format!(
        "/api/series?metrics=cpu_usage&from={}&to={}&points=10&host=nope",
        now - 1000,
        now
    );
    assert_unknown_host(&hub, &series);
}

#[test]
fn a_single_host_has_one_tile() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]);
    wait_until(|| hub.get("/metrics").0 == 200);
    let f = fleet(&hub, "");
    assert_eq!(f.hosts.len(), 1, "{f:?}");
    assert_eq!(f.hosts[0].host, HUB);
    assert!(f.hosts[0].cpu_usage.is_some());
    // Its own name is accepted as `host` everywhere.
    let (s, m) = hub.get(&format!("/metrics?host={HUB}"));
    assert_eq!((s, m["host"].as_str()), (200, Some(HUB)));
    assert_eq!(hub.get(&format!("/api/model?host={HUB}")).0, 200);
}

/// The alerts active now: (rule, host, state).
fn active(hub: &Hub, query: &str) -> Vec<(String, String, String)> {
    let (status, v) = hub.get(&format!("/api/alerts{query}"));
    assert_eq!(status, 200, "{v}");
    let mut a: Vec<(String, String, String)> = v["active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (s("rule"), s("host"), s("state"))
        })
        .collect();
    a.sort();
    a
}

#[test]
fn a_rule_naming_one_agent_host_fires_only_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (t2, t3) = (
        ingest_token(dir.path(), "agent-2"),
        ingest_token(dir.path(), "agent-3"),
    );
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        "[alerts]\ngroup_wait = \"0s\"\ncooldown = \"0s\"\n\n\
         [[alerts.rules]]\nname = \"web-cpu\"\ncondition = \"cpu_usage > 50\"\nhosts = [\"web-*\"]\n\n\
         [[alerts.rules]]\nname = \"any-cpu\"\ncondition = \"cpu_usage > 50\"\n",
    )
    .unwrap();
    let hub = Hub::start(dir.path(), &[("LOOKOUT_CONFIG", config.to_str().unwrap())]);
    // Both hosts far over the line, twice (pending, then firing).
    for _ in 0..2 {
        hub.send(&t2, "web-2", 3, 91.0);
        hub.send(&t3, "db-3", 3, 92.0);
        std::thread::sleep(Duration::from_millis(1_100));
    }
    let firing = |rule: &str, host: &str| {
        active(&hub, "")
            .iter()
            .any(|(r, h, s)| r == rule && h == host && s == "firing")
    };
    wait_until(|| firing("web-cpu", "web-2") && firing("any-cpu", "db-3"));
    let all = active(&hub, "");
    assert!(firing("any-cpu", "web-2"), "{all:?}");
    // The rule naming web-* never judged db-3 (nor the hub itself).
    assert!(
        !all.iter().any(|(r, h, _)| r == "web-cpu" && h != "web-2"),
        "{all:?}"
    );
    // The API lists the rule with its hosts, and says so in words.
    let (_, v) = hub.get("/api/alerts");
    let rule = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "web-cpu")
        .unwrap()
        .clone();
    assert_eq!(rule["hosts"], serde_json::json!(["web-*"]), "{rule}");
    assert_eq!(rule["describe"], "cpu_usage > 50 on web-*", "{rule}");
    // `host=` keeps that host's alerts alone.
    let db = active(&hub, "?host=db-3");
    assert_eq!(
        db,
        vec![(
            "any-cpu".to_string(),
            "db-3".to_string(),
            "firing".to_string()
        )]
    );
}
