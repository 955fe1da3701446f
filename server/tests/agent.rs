//! `lookout agent` shipping to `lookout serve` (the hub), both as real processes on
//! loopback, with the real SQLite file: a hub killed with -9 and restarted loses no
//! acknowledged sample and the agent backfills the outage in order; an agent killed
//! with -9 loses at most one batch. Bounded in time (about a minute each). The slim
//! `lookout-agent` binary runs the same agent: the outage test and the setting errors
//! run with it too.

mod support;
use support::free_port;

use lookout::store::auth::Scope;
use lookout::store::{Store, StoreOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HUB: &str = "hub-under-test";
const AGENT_HOST: &str = "agent-under-test";
/// The agent's batch span in these tests (`agent.batch`).
const BATCH_SECS: i64 = 3;

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The two ways to run an agent: `lookout agent` and the slim `lookout-agent`.
#[derive(Clone, Copy, Debug)]
enum AgentBinary {
    Lookout,
    Slim,
}

impl AgentBinary {
    /// The program and the arguments before the agent's own flags.
    fn command(self) -> (&'static str, &'static [&'static str]) {
        match self {
            AgentBinary::Lookout => (env!("CARGO_BIN_EXE_lookout"), &["agent"]),
            AgentBinary::Slim => (env!("CARGO_BIN_EXE_lookout-agent"), &[]),
        }
    }
}

fn base(dir: &Path, log: &str) -> Command {
    base_of(env!("CARGO_BIN_EXE_lookout"), dir, log)
}

fn base_of(program: &str, dir: &Path, log: &str) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOOKOUT_SAMPLER_INTERVAL", "1s")
        .env("LOOKOUT_DETECTOR_ENABLED", "false")
        .env("LOOKOUT_LOG_LEVEL", "info,lookout=debug")
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(log)).unwrap());
    c
}

fn start_hub(dir: &Path, port: u16) -> Proc {
    start_hub_with(dir, port, &[], None)
}

/// A hub with extra settings; `root`: it serves https with a certificate of that CA.
fn start_hub_with(
    dir: &Path,
    port: u16,
    env: &[(&str, String)],
    root: Option<reqwest::Certificate>,
) -> Proc {
    let child = base(dir, "hub.log")
        .env("LOOKOUT_SERVER_BIND", format!("127.0.0.1:{port}"))
        .env("LOOKOUT_STORE_PATH", dir.join("hub.db"))
        .env("LOOKOUT_HOST_NAME", HUB)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("serve")
        .spawn()
        .unwrap();
    let mut hub = Proc(child);
    let scheme = if root.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://127.0.0.1:{port}/healthz");
    let mut client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5));
    if let Some(r) = root {
        client = client.add_root_certificate(r);
    }
    let client = client.build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if client.get(&url).send().is_ok_and(|r| r.status() == 200) {
            return hub;
        }
        if let Ok(Some(s)) = hub.0.try_wait() {
            panic!("hub exited early: {s}");
        }
        assert!(Instant::now() < deadline, "no hub within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_agent(dir: &Path, port: u16, token: &str) -> Proc {
    start_agent_to(dir, &format!("http://127.0.0.1:{port}"), token, &[])
}

fn start_agent_to(dir: &Path, hub: &str, token: &str, env: &[(&str, String)]) -> Proc {
    start_agent_of(AgentBinary::Lookout, dir, hub, token, env)
}

fn start_agent_of(
    binary: AgentBinary,
    dir: &Path,
    hub: &str,
    token: &str,
    env: &[(&str, String)],
) -> Proc {
    let (program, pre) = binary.command();
    let child = base_of(program, dir, "agent.log")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("LOOKOUT_AGENT_TOKEN", token)
        .env("LOOKOUT_HOST_NAME", AGENT_HOST)
        .env("LOOKOUT_AGENT_BATCH", format!("{BATCH_SECS}s"))
        .env("LOOKOUT_AGENT_BUFFER_DIR", buffer_dir(dir))
        .env("LOOKOUT_AGENT_TIMEOUT", "2s")
        .args(pre)
        .args(["--hub", hub])
        .spawn()
        .unwrap();
    Proc(child)
}

fn buffer_dir(dir: &Path) -> PathBuf {
    dir.join("agent-buffer")
}

fn buffered_batches(dir: &Path) -> usize {
    std::fs::read_dir(buffer_dir(dir))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".batch.gz"))
            })
            .count()
        })
        .unwrap_or(0)
}

fn store(dir: &Path) -> Store {
    Store::open(
        &dir.join("hub.db"),
        StoreOptions {
            host: HUB.into(),
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

/// The agent host's stored sample timestamps, oldest first.
fn stored(dir: &Path) -> Vec<i64> {
    let s = store(dir);
    let mut ts: Vec<i64> = s
        .host_history_timestamps(AGENT_HOST)
        .unwrap()
        .into_iter()
        .collect();
    ts.sort();
    ts
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Gaps between consecutive samples longer than 1.6 intervals, as (before, after).
fn gaps(ts: &[i64]) -> Vec<(i64, i64)> {
    ts.windows(2)
        .filter(|w| w[1] - w[0] > 1_600)
        .map(|w| (w[0], w[1]))
        .collect()
}

fn sigterm(p: &Proc) {
    let ok = Command::new("kill")
        .args(["-TERM", &p.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn setup() -> (tempfile::TempDir, u16, String) {
    let dir = tempfile::tempdir().unwrap();
    let token = store(dir.path())
        .create_token("agent", Scope::Ingest, "test", 0)
        .unwrap()
        .1;
    (dir, free_port(), token)
}

#[test]
fn a_hub_killed_and_restarted_loses_no_acknowledged_sample() {
    hub_outage_is_backfilled(AgentBinary::Lookout);
}

#[test]
fn the_slim_agent_binary_backfills_a_hub_outage_too() {
    hub_outage_is_backfilled(AgentBinary::Slim);
}

fn hub_outage_is_backfilled(binary: AgentBinary) {
    let (dir, port, token) = setup();
    let d = dir.path();
    let mut hub = start_hub(d, port);
    let hub_url = format!("http://127.0.0.1:{port}");
    let mut agent = start_agent_of(binary, d, &hub_url, &token, &[]);
    wait_until("3 batches at the hub", 60, || {
        stored(d).len() >= 3 * BATCH_SECS as usize
    });

    hub.0.kill().unwrap();
    hub.0.wait().unwrap();
    // What the hub acknowledged is what it committed: read from its file now.
    let acknowledged = stored(d);
    // Down for two batches: the agent buffers on disk.
    std::thread::sleep(Duration::from_secs(2 * BATCH_SECS as u64 + 1));
    assert!(
        buffered_batches(d) >= 1,
        "the agent buffers while the hub is down"
    );
    let _hub = start_hub(d, port);
    // Backfill: the buffer empties and the hub has the outage's samples.
    wait_until("the backfill", 90, || {
        buffered_batches(d) == 0 && stored(d).len() > acknowledged.len() + 2 * BATCH_SECS as usize
    });
    sigterm(&agent);
    let status = agent.0.wait().unwrap();
    assert!(status.success(), "agent exit: {status}");

    let after = stored(d);
    for ts in &acknowledged {
        assert!(
            after.binary_search(ts).is_ok(),
            "acknowledged sample {ts} lost"
        );
    }
    // Continuous: every second from the first sample to the last, outage included.
    assert_eq!(gaps(&after), vec![], "{} samples", after.len());
    assert_eq!(buffered_batches(d), 0, "a clean stop sends the last batch");
}

#[test]
fn an_agent_killed_with_sigkill_loses_at_most_one_batch() {
    let (dir, port, token) = setup();
    let d = dir.path();
    let _hub = start_hub(d, port);
    let mut agent = start_agent(d, port, &token);
    wait_until("2 batches at the hub", 60, || {
        stored(d).len() >= 2 * BATCH_SECS as usize
    });
    // Killed at a moment that is not a batch boundary.
    std::thread::sleep(Duration::from_millis(1_500));
    let killed_at = lookout::time::now_ms();
    agent.0.kill().unwrap();
    agent.0.wait().unwrap();
    let restarted_at = lookout::time::now_ms();
    let agent = start_agent(d, port, &token);
    wait_until("samples of the restarted agent", 60, || {
        stored(d)
            .last()
            .is_some_and(|&t| t > restarted_at + BATCH_SECS * 1000)
    });
    sigterm(&agent);
    let mut agent = agent;
    assert!(agent.0.wait().unwrap().success());

    let ts = stored(d);
    let last_before = *ts.iter().filter(|&&t| t <= killed_at).max().unwrap();
    let first_after = *ts.iter().find(|&&t| t > killed_at).unwrap();
    // The killed agent's pending samples (taken after its last written batch) are the
    // only loss: at most one batch span before the kill.
    let lost_span = killed_at - last_before;
    assert!(
        lost_span <= BATCH_SECS * 1000 + 1_000,
        "lost {lost_span} ms of samples before the kill (one batch is {BATCH_SECS} s)"
    );
    assert!(first_after >= restarted_at);
    // Apart from the kill, the series is continuous.
    let g = gaps(&ts);
    assert!(g.len() <= 1, "{g:?}");
    assert_eq!(buffered_batches(d), 0);
}

#[test]
fn an_agent_without_a_hub_or_a_token_says_what_is_missing() {
    for binary in [AgentBinary::Lookout, AgentBinary::Slim] {
        settings_errors_are_named(binary);
    }
}

fn settings_errors_are_named(binary: AgentBinary) {
    let dir = tempfile::tempdir().unwrap();
    let (program, pre) = binary.command();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        // `args` are written as for `lookout`: the slim binary takes them without
        // the leading "agent".
        let args = &args[1..];
        let out = Command::new(program)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .args(pre)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, err) = run(&["agent"], &[("LOOKOUT_AGENT_TOKEN", "lk_1")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--hub"), "{err}");
    let (code, err) = run(&["agent", "--hub", "http://127.0.0.1:9"], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("LOOKOUT_AGENT_TOKEN"), "{err}");
    let (code, err) = run(
        &["agent", "--hub", "ftp://x"],
        &[("LOOKOUT_AGENT_TOKEN", "lk_1")],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("agent.hub"), "{err}");
    let (code, err) = run(
        &[
            "agent",
            "--hub",
            "http://127.0.0.1:9",
            "--set",
            "agent.buffer_max=1KiB",
        ],
        &[("LOOKOUT_AGENT_TOKEN", "lk_1")],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("agent.buffer_max"), "{err} ({binary:?})");
    // Nothing of a server's was made: no models folder, no store.
    assert!(!dir.path().join("models").exists());
}

#[test]
fn an_agent_ships_over_tls_to_a_hub_whose_ca_it_is_given() {
    let (dir, port, token) = setup();
    let d = dir.path();
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert, key) = (d.join("cert.pem"), d.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let root = reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap();
    let tls = [
        ("LOOKOUT_TLS_CERT", cert.display().to_string()),
        ("LOOKOUT_TLS_KEY", key.display().to_string()),
    ];
    let _hub = start_hub_with(d, port, &tls, Some(root));
    let url = format!("https://127.0.0.1:{port}");
    // Without the CA the certificate is not trusted: nothing arrives, all is buffered.
    let mut untrusting = start_agent_to(d, &url, &token, &[]);
    std::thread::sleep(Duration::from_secs(BATCH_SECS as u64 * 2 + 1));
    assert!(
        stored(d).is_empty(),
        "an untrusted certificate was accepted"
    );
    assert!(buffered_batches(d) >= 1);
    untrusting.0.kill().unwrap();
    untrusting.0.wait().unwrap();
    // With `agent.ca_file`: delivered, the earlier batches included.
    let ca = [("LOOKOUT_AGENT_CA_FILE", cert.display().to_string())];
    let agent = start_agent_to(d, &url, &token, &ca);
    wait_until("samples over TLS and an empty buffer", 60, || {
        stored(d).len() >= 2 * BATCH_SECS as usize && buffered_batches(d) == 0
    });
    drop(agent);
}
