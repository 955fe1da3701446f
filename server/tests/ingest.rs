//! `POST /api/ingest` against the real `lookout` binary on a loopback port and its
//! real SQLite file: idempotent batches, the ingest token bound to one host, bad
//! input refused whole with nothing stored, out-of-window timestamps refused one by
//! one. Every test is bounded in time and in requests.

mod support;
use support::{
    free_port, lookout_command, wait_for_start, wait_until, wait_until_within, KillOnDrop,
};

use lookout::model::{IngestBatch, IngestReply, Snapshot};
use lookout::store::auth::Scope;
use lookout::store::{Store, StoreOptions};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const HUB: &str = "hub-under-test";

struct Server {
    child: KillOnDrop,
    port: u16,
}

impl Server {
    /// The hub under test (its detector off unless `extra_env` turns it on), logging
    /// to `server.log` in its data folder.
    fn start(data: &Path, extra_env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let child = lookout_command(data, port)
            .env("LOOKOUT_HOST_NAME", HUB)
            .env("LOOKOUT_DETECTOR_ENABLED", "false")
            .env("LOOKOUT_DETECTOR_MODELS_DIR", data.join("models"))
            .envs(extra_env.iter().copied())
            .env("NO_COLOR", "1")
            .stdout(std::fs::File::create(data.join("server.log")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start lookout");
        let mut s = Server {
            child: KillOnDrop(child),
            port,
        };
        let health = s.url("/healthz");
        wait_for_start(&mut s.child.0, || {
            client()
                .get(&health)
                .send()
                .is_ok_and(|r| r.status() == 200)
        });
        s
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn store(data: &Path) -> Store {
    Store::open(
        &data.join("lookout.db"),
        StoreOptions {
            host: HUB.into(),
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

fn token(data: &Path, name: &str, scope: Scope) -> String {
    store(data).create_token(name, scope, "test", 0).unwrap().1
}

fn now_ms() -> i64 {
    lookout::time::now_ms()
}

fn sample(host: &str, ts: i64) -> Snapshot {
    let mut s = Snapshot {
        host: host.into(),
        timestamp: ts,
        interval_secs: 1.0,
        cpu_usage: 12.5,
        ..Snapshot::default()
    };
    s.cpu.total = 12.5;
    s
}

fn batch(host: &str, from: i64, n: i64) -> IngestBatch {
    IngestBatch {
        host: host.into(),
        samples: (0..n).map(|i| sample(host, from + i * 1000)).collect(),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Sends raw bytes as a gzip batch; returns the status and the JSON body.
fn post_raw(
    s: &Server,
    token: Option<&str>,
    body: Vec<u8>,
    encoding: &str,
) -> (u16, serde_json::Value) {
    let mut req = client()
        .post(s.url("/api/ingest"))
        .header("content-type", "application/json")
        .header("content-encoding", encoding)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(serde_json::Value::Null))
}

fn post(s: &Server, token: &str, b: &IngestBatch) -> (u16, serde_json::Value) {
    post_raw(
        s,
        Some(token),
        gzip(&serde_json::to_vec(b).unwrap()),
        "gzip",
    )
}

fn reply(v: serde_json::Value) -> IngestReply {
    serde_json::from_value(v).unwrap()
}

#[test]
fn a_batch_is_stored_once_however_often_it_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let t = token(dir.path(), "agent-1", Scope::Ingest);
    let s = Server::start(dir.path(), &[]);
    let from = now_ms() - 60_000;
    let b = batch("web-2", from, 30);

    let (status, body) = post(&s, &t, &b);
    assert_eq!(status, 200, "{body}");
    let r = reply(body);
    assert_eq!(
        (r.host.as_str(), r.accepted, r.duplicate, r.refused),
        ("web-2", 30, 0, 0)
    );

    // The agent did not hear the answer and sends it again, plus 10 new ones.
    let (status, body) = post(&s, &t, &b);
    assert_eq!(status, 200);
    let r = reply(body);
    assert_eq!((r.accepted, r.duplicate), (0, 30));
    let b1 = gzip(&serde_json::to_vec(&batch("web-2", from, 1)).unwrap());
    assert_eq!(post_raw(&s, None, b1, "gzip").0, 401);
    let mut more = batch("web-2", from, 40);
    more.samples.rotate_left(5);
    let r = reply(post(&s, &t, &more).1);
    assert_eq!((r.accepted, r.duplicate), (10, 30));

    // In the server's own SQLite file, under the host's name, each sample once.
    let st = store(dir.path());
    assert_eq!(st.host_sample_count("web-2").unwrap(), 40);
    let hosts = st.hosts().unwrap();
    assert!(
        hosts.iter().any(|(h, at)| h == "web-2" && at.is_some()),
        "{hosts:?}"
    );
    // The hub's exposition lists the agent host next to its own (issue 13: "on a
    // hub, every host").
    let text = client()
        .get(s.url("/metrics/prometheus"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(text.contains(r#"host="web-2""#), "{text}");
    assert!(text.contains(&format!(r#"host="{HUB}""#)), "{text}");
    // The token is now bound to web-2 (shown in the token list).
    let bound = st
        .tokens()
        .unwrap()
        .into_iter()
        .find(|x| x.name == "agent-1")
        .unwrap();
    assert_eq!(bound.host.as_deref(), Some("web-2"));
}

#[test]
fn a_token_writes_one_host_and_only_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let t = token(dir.path(), "agent-1", Scope::Ingest);
    let read = token(dir.path(), "reader", Scope::Read);
    let admin = token(dir.path(), "adm", Scope::Admin);
    // Auth on (a first admin): an ingest token must not pass as anyone else.
    let s = Server::start(
        dir.path(),
        &[
            ("LOOKOUT_ADMIN_USER", "admin"),
            ("LOOKOUT_ADMIN_PASSWORD", "password-for-tests"),
        ],
    );
    let now = now_ms();

    assert_eq!(post(&s, &t, &batch("web-2", now - 5_000, 3)).0, 200);
    // A second host under the bound token: 403, nothing stored for it.
    let (status, body) = post(&s, &t, &batch("web-3", now - 5_000, 3));
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("bound to host \"web-2\""),
        "{body}"
    );
    // A second token may write another host (unknown hosts are created).
    let t2 = token(dir.path(), "agent-2", Scope::Ingest);
    assert_eq!(post(&s, &t2, &batch("web-3", now - 5_000, 2)).0, 200);
    // Nobody writes as the hub itself.
    let t3 = token(dir.path(), "agent-3", Scope::Ingest);
    let (status, body) = post(&s, &t3, &batch(HUB, now - 5_000, 2));
    assert_eq!(status, 403, "{body}");

    // No token, an unknown one, a read or admin token: refused.
    let b = gzip(&serde_json::to_vec(&batch("web-9", now, 1)).unwrap());
    assert_eq!(post_raw(&s, None, b.clone(), "gzip").0, 401);
    assert_eq!(post_raw(&s, Some("lk_0000"), b.clone(), "gzip").0, 401);
    assert_eq!(post_raw(&s, Some(&read), b.clone(), "gzip").0, 403);
    assert_eq!(post_raw(&s, Some(&admin), b.clone(), "gzip").0, 403);
    // An ingest token reads nothing.
    let r = client()
        .get(s.url("/api/anomalies"))
        .bearer_auth(&t)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // Revoked: refused at once.
    store(dir.path())
        .revoke_token("agent-1", now_ms())
        .unwrap()
        .unwrap();
    assert_eq!(post(&s, &t, &batch("web-2", now, 1)).0, 401);

    let st = store(dir.path());
    assert_eq!(st.host_sample_count("web-2").unwrap(), 3);
    assert_eq!(st.host_sample_count("web-3").unwrap(), 2);
    assert_eq!(st.host_sample_count("web-9").unwrap(), 0);
}

#[test]
fn bad_batches_are_refused_whole_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let t = token(dir.path(), "agent-1", Scope::Ingest);
    let s = Server::start(
        dir.path(),
        &[
            ("LOOKOUT_INGEST_MAX_BATCH", "64KiB"),
            ("LOOKOUT_SERVER_MAX_BODY", "32KiB"),
        ],
    );
    let now = now_ms();
    let json = serde_json::to_vec(&batch("web-2", now - 10_000, 5)).unwrap();
    let check = |(status, body): (u16, serde_json::Value), want: u16, says: &str| {
        assert_eq!(status, want, "{body}");
        let msg = body["error"].as_str().unwrap_or_default().to_string();
        assert!(msg.contains(says), "{msg:?} should say {says:?}");
    };

    check(
        post_raw(&s, Some(&t), b"not gzip at all".to_vec(), "gzip"),
        400,
        "not valid gzip",
    );
    check(
        post_raw(&s, Some(&t), gzip(b"{\"host\": 7}"), "gzip"),
        400,
        "not a valid IngestBatch",
    );
    // Cut short: the end of the compressed stream is missing.
    let mut cut = gzip(&json);
    cut.truncate(cut.len() / 2);
    check(post_raw(&s, Some(&t), cut, "gzip"), 400, "gzip");
    check(
        post_raw(&s, Some(&t), gzip(&json), "br"),
        415,
        "not supported",
    );
    let mut mixed = batch("web-2", now - 10_000, 5);
    mixed.samples[3].host = "web-3".into();
    check(post(&s, &t, &mixed), 400, "one host per batch");
    let mut bad_host = batch("web 2", now - 10_000, 1);
    bad_host.samples.clear();
    check(post(&s, &t, &bad_host), 400, "not allowed");
    // A small body that inflates past `ingest.max_batch`: a zip bomb is refused.
    let mut bomb = batch("web-2", now - 10_000, 1);
    bomb.samples[0].processes.top_cpu = vec![
        lookout::model::ProcessInfo {
            name: "x".repeat(100_000),
            ..Default::default()
        };
        1
    ];
    let big = gzip(&serde_json::to_vec(&bomb).unwrap());
    assert!(big.len() < 32 * 1024);
    check(post_raw(&s, Some(&t), big, "gzip"), 413, "ingest.max_batch");
    // A compressed body past `server.max_body`.
    let noise: Vec<u8> = (0..40_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    check(
        post_raw(&s, Some(&t), noise, "gzip"),
        413,
        "server.max_body",
    );

    // Nothing of any of them was stored, and the token is still unbound (the mixed
    // and oversized batches never reached the store).
    let st = store(dir.path());
    assert_eq!(st.host_sample_count("web-2").unwrap(), 0);
    assert_eq!(st.host_sample_count("web-3").unwrap(), 0);
    // A good batch afterwards goes through.
    assert_eq!(
        reply(post(&s, &t, &batch("web-2", now - 10_000, 5)).1).accepted,
        5
    );
}

#[test]
fn samples_from_the_far_future_or_past_are_refused_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let t = token(dir.path(), "agent-1", Scope::Ingest);
    let s = Server::start(
        dir.path(),
        &[
            ("LOOKOUT_INGEST_MAX_FUTURE", "1m"),
            ("LOOKOUT_STORE_RAW_RETENTION", "1h"),
        ],
    );
    let now = now_ms();
    let mut b = batch("web-2", now - 10_000, 3);
    b.samples.push(sample("web-2", now + 10 * 60_000));
    b.samples.push(sample("", now + 20 * 60_000));
    b.samples.push(sample("web-2", now - 2 * 3_600_000));
    let (status, body) = post(&s, &t, &b);
    assert_eq!(status, 200, "{body}");
    let r = reply(body);
    assert_eq!((r.accepted, r.duplicate, r.refused), (3, 0, 3));
    assert!(r.refused_reason.unwrap().contains("ingest.max_future"));
    assert_eq!(store(dir.path()).host_sample_count("web-2").unwrap(), 3);
}

/// The alerts active for `rule` on `host` now (`GET /api/alerts`).
fn alert_state(s: &Server, rule: &str, host: &str) -> Option<String> {
    let v: serde_json::Value = client()
        .get(s.url("/api/alerts"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["active"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule"] == rule && a["host"] == host)
        .map(|a| a["state"].as_str().unwrap_or_default().to_string())
}

#[test]
fn a_host_that_stops_sending_goes_stale_and_coming_back_resolves_it() {
    let dir = tempfile::tempdir().unwrap();
    let t = token(dir.path(), "agent-1", Scope::Ingest);
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        "[alerts]\ngroup_wait = \"0s\"\ncooldown = \"0s\"\n\n[[alerts.rules]]\nname = \"host-stale\"\nkind = \"stale\"\nintervals = 2\n",
    )
    .unwrap();
    let s = Server::start(dir.path(), &[("LOOKOUT_CONFIG", config.to_str().unwrap())]);
    // Two samples at 1 s: a 2 s cadence, stale after 2 x 2 s without a batch.
    let now = now_ms();
    assert_eq!(post(&s, &t, &batch("web-2", now - 2_000, 2)).0, 200);
    assert_eq!(alert_state(&s, "host-stale", "web-2"), None);
    // The hub's engine ticks every 5 s: within wait_until's 30 s the host is stale, and only it
    // (the hub samples itself every second).
    wait_until(|| alert_state(&s, "host-stale", "web-2").is_some());
    assert_eq!(
        alert_state(&s, "host-stale", "web-2").as_deref(),
        Some("firing")
    );
    assert_eq!(alert_state(&s, "host-stale", HUB), None);
    // Back: the next batch resolves it at once.
    assert_eq!(post(&s, &t, &batch("web-2", now_ms() - 2_000, 2)).0, 200);
    assert_eq!(alert_state(&s, "host-stale", "web-2"), None);
}

/// Posts the last 100 s of `host`'s history, in 10 s batches, a little noise on the
/// CPU and memory steady at 2 of 8 GiB: enough for a model with
/// `LOOKOUT_DETECTOR_MIN_HISTORY=1m`.
fn post_history(s: &Server, token: &str, host: &str) {
    let from = now_ms() - 100_000;
    for b in 0..10 {
        let mut batch = batch(host, from + b * 10_000, 10);
        for (i, smp) in batch.samples.iter_mut().enumerate() {
            let v = 10.0 + ((b as usize * 10 + i) % 7) as f64;
            smp.cpu_usage = v;
            smp.cpu.total = v;
            smp.memory.total_bytes = 8 << 30;
            smp.memory.used_bytes = 2 << 30;
        }
        assert_eq!(reply(post(s, token, &batch).1).accepted, 10);
    }
}

#[test]
fn each_agent_host_gets_its_own_detector_scores_and_model() {
    let dir = tempfile::tempdir().unwrap();
    let t = token(dir.path(), "agent-1", Scope::Ingest);
    let models = dir.path().join("models");
    let s = Server::start(
        dir.path(),
        &[
            ("LOOKOUT_DETECTOR_ENABLED", "true"),
            ("LOOKOUT_DETECTOR_MODELS_DIR", models.to_str().unwrap()),
            ("LOOKOUT_DETECTOR_MIN_HISTORY", "1m"),
        ],
    );
    post_history(&s, &t, "web-2");
    // Its own model, trained on its own history, in its own folder (within the
    // training task's 30 s tick).
    let own = models.join("hosts").join("web-2");
    wait_until_within(Duration::from_secs(45), || {
        std::fs::read_dir(&own).map(|d| d.count()).unwrap_or(0) > 0
    });
    // The hub's own host has too little history for a model of its own yet.
    let hub_models = std::fs::read_dir(&models)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count();
    assert_eq!(hub_models, 0, "web-2's model is not the hub's");
    // From now on web-2's samples are scored by its model as they arrive, and stored
    // with their scores. The file is written just before the model is installed (on
    // the training thread, below the request handlers), so a sample may still come
    // first: send one a second until one is scored.
    let web2 = store(dir.path()).as_host("web-2").unwrap();
    let mut scored = false;
    for _ in 0..20 {
        let mut next = batch("web-2", now_ms() - 1_000, 1);
        next.samples[0].cpu.total = 12.0;
        assert_eq!(reply(post(&s, &t, &next).1).accepted, 1);
        if web2.latest().unwrap().unwrap().anomaly_score.is_some() {
            scored = true;
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        scored,
        "web-2's newest sample is scored; log: {}",
        std::fs::read_to_string(dir.path().join("server.log")).unwrap()
    );
}

/// On a hub the panels' actions follow the host picker: the sensitivity set for an
/// agent host is its detector's (the hub's own keeps its own), "train now" for it
/// trains a model in that host's folder, listed in its report, and the rule tester
/// judges that host's newest sample.
#[test]
fn model_actions_for_an_agent_host_act_on_its_detector() {
    let dir = tempfile::tempdir().unwrap();
    let t = token(dir.path(), "agent-1", Scope::Ingest);
    let admin = token(dir.path(), "admin", Scope::Admin);
    let s = Server::start(
        dir.path(),
        &[
            ("LOOKOUT_DETECTOR_ENABLED", "true"),
            ("LOOKOUT_DETECTOR_MIN_HISTORY", "1m"),
        ],
    );
    post_history(&s, &t, "web-3");
    let report = |query: &str| -> serde_json::Value {
        client()
            .get(s.url(&format!("/api/model{query}")))
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let set = |query: &str, level: &str| {
        client()
            .post(s.url(&format!("/api/model/sensitivity{query}")))
            .bearer_auth(&admin)
            .json(&serde_json::json!({ "sensitivity": level }))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(set("?host=web-3", "high"), 200);
    assert_eq!(report("?host=web-3")["sensitivity"], "high");
    assert_eq!(
        report("")["sensitivity"],
        "medium",
        "the hub's own is unchanged"
    );
    assert_eq!(set("", "low"), 200);
    assert_eq!(report("?host=web-3")["sensitivity"], "high");
    assert_eq!(report("")["sensitivity"], "low");
    // A host the hub never heard of: 400 naming the parameter.
    assert_eq!(set("?host=nobody", "high"), 400);

    let trained = client()
        .post(s.url("/api/model/train?host=web-3"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({}))
        .send()
        .unwrap();
    let status = trained.status().as_u16();
    let body: serde_json::Value = trained.json().unwrap();
    assert_eq!(status, 200, "{body}");
    let version = body["version"].as_u64().unwrap();
    assert!(
        body["path"].as_str().unwrap().contains("web-3"),
        "web-3's folder: {body}"
    );
    let listed = report("?host=web-3");
    assert!(
        listed["versions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["version"].as_u64() == Some(version)),
        "{listed}"
    );

    // The rule tester judges the newest sample of the host the page shows.
    let mut last = batch("web-3", now_ms() - 500, 1);
    last.samples[0].cpu_usage = 42.25;
    last.samples[0].cpu.total = 42.25;
    assert_eq!(reply(post(&s, &t, &last).1).accepted, 1);
    let tested: serde_json::Value = client()
        .post(s.url("/api/alerts/rules/test?host=web-3"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "name": "t", "condition": "cpu_usage > 40" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(tested["value_now"], 42.25, "{tested}");
    assert_eq!(tested["condition_holds_now"], true, "{tested}");
}

/// Open file descriptors of a process (Linux `/proc`).
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

#[test]
fn agent_hosts_share_the_hubs_store_connections() {
    let dir = tempfile::tempdir().unwrap();
    let t: Vec<String> = (0..11)
        .map(|i| token(dir.path(), &format!("agent-{i}"), Scope::Ingest))
        .collect();
    let s = Server::start(dir.path(), &[("LOOKOUT_DETECTOR_ENABLED", "true")]);
    let now = now_ms();
    // The first host warms up whatever a host's detector opens once for all.
    assert_eq!(post(&s, &t[0], &batch("web-0", now - 5_000, 3)).0, 200);
    let before = open_fds(s.child.0.id());
    for (i, token) in t.iter().enumerate().skip(1) {
        let host = format!("web-{i}");
        assert_eq!(post(&s, token, &batch(&host, now - 5_000, 3)).0, 200);
    }
    let after = open_fds(s.child.0.id());
    // A store per host was 5 more (the SQLite file, its WAL and four readers' handles):
    // 50 for these ten. Sharing the hub's store, a host costs no descriptor.
    assert!(
        after < before + 10,
        "{before} descriptors before ten more hosts, {after} after"
    );
}
