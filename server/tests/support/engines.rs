//! Real monitoring engines from Debian (Prometheus, Alertmanager, VictoriaMetrics)
//! and a real `lookout serve`, each started on a loopback port chosen at run time
//! with its own data folder, and waited for with a bounded timeout. Used by
//! prometheus_scrape.rs, remote_write.rs and alertmanager.rs.
#![allow(dead_code)]

use crate::support::{free_port, KillOnDrop};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The binary's path, or None with the reason printed (the test then skips:
/// `scripts/setup.sh` installs these packages, so CI runs the tests).
pub fn binary(name: &str, package: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/bin", "/usr/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        println!(
            "SKIPPED: {name} not found (Debian package {package}; scripts/setup.sh installs it)"
        );
    }
    found
}

/// A blocking HTTP client with a short timeout (every call is bounded).
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

pub fn get_json(url: &str) -> Option<serde_json::Value> {
    let r = client().get(url).send().ok()?;
    r.status().is_success().then(|| r.json().ok()).flatten()
}

/// Calls `f` every 200 ms until it gives Some or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A server process on 127.0.0.1:`port`, killed when dropped.
pub struct Engine {
    pub port: u16,
    pub process: KillOnDrop,
}

impl Engine {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn spawn(bin: &Path, args: &[String], log: &Path) -> KillOnDrop {
    let log = std::fs::File::create(log).unwrap();
    KillOnDrop(
        Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display())),
    )
}

fn ready(url: &str, what: &str, log: &Path) {
    let ok = wait_for(Duration::from_secs(20), || {
        client()
            .get(url)
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });
    assert!(
        ok.is_some(),
        "{what} not ready at {url} within 20 s; its log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Prometheus with `config` (YAML) and its TSDB in `dir`, on `port` (0 = a free one),
/// with the remote-write receiver on.
pub fn prometheus(bin: &Path, dir: &Path, config: &str, port: u16) -> Engine {
    let port = if port == 0 { free_port() } else { port };
    let cfg = dir.join("prometheus.yml");
    std::fs::write(&cfg, config).unwrap();
    let log = dir.join("prometheus.log");
    let args = vec![
        format!("--config.file={}", cfg.display()),
        format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--web.enable-remote-write-receiver".into(),
        "--log.level=warn".into(),
    ];
    let process = spawn(bin, &args, &log);
    ready(
        &format!("http://127.0.0.1:{port}/-/ready"),
        "prometheus",
        &log,
    );
    Engine { port, process }
}

/// VictoriaMetrics with its data in `dir`, on `port` (0 = a free one).
pub fn victoria_metrics(bin: &Path, dir: &Path, port: u16) -> Engine {
    let port = if port == 0 { free_port() } else { port };
    let log = dir.join("victoria-metrics.log");
    let args = vec![
        format!("-storageDataPath={}", dir.join("vm").display()),
        format!("-httpListenAddr=127.0.0.1:{port}"),
        // Show samples as soon as they are stored (the default hides the last 30 s).
        "-search.latencyOffset=0s".into(),
        "-loggerLevel=WARN".into(),
    ];
    let process = spawn(bin, &args, &log);
    ready(
        &format!("http://127.0.0.1:{port}/health"),
        "victoria-metrics",
        &log,
    );
    Engine { port, process }
}

/// Alertmanager with a config that routes everything to a null receiver.
pub fn alertmanager(bin: &Path, dir: &Path) -> Engine {
    alertmanager_on(bin, dir, free_port())
}

/// [`alertmanager`] on a given port.
pub fn alertmanager_on(bin: &Path, dir: &Path, port: u16) -> Engine {
    let cluster = free_port();
    let cfg = dir.join("alertmanager.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: \"null\"\n  group_wait: 1s\nreceivers:\n  - name: \"null\"\n",
    )
    .unwrap();
    let log = dir.join("alertmanager.log");
    let args = vec![
        format!("--config.file={}", cfg.display()),
        format!("--storage.path={}", dir.join("am").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        // No gossip with other instances: a single local Alertmanager.
        "--cluster.listen-address=".into(),
        format!("--cluster.advertise-address=127.0.0.1:{cluster}"),
        "--log.level=warn".into(),
    ];
    let process = spawn(bin, &args, &log);
    ready(
        &format!("http://127.0.0.1:{port}/-/ready"),
        "alertmanager",
        &log,
    );
    Engine { port, process }
}

/// `lookout serve` with `config` (TOML) in `dir`, at 1 s sampling
/// ([`support::lookout_command`](crate::support::lookout_command)); waits for /readyz
/// and shows its log if it does not get there.
pub fn lookout(dir: &Path, config: &str, envs: &[(&str, &str)]) -> Engine {
    let port = free_port();
    let cfg = dir.join("lookout.toml");
    std::fs::write(&cfg, config).unwrap();
    let log = dir.join("lookout.log");
    let logf = std::fs::File::create(&log).unwrap();
    let mut cmd = crate::support::lookout_command(dir, port);
    cmd.env("LOOKOUT_CONFIG", &cfg)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf);
    // Owned at once: killed even when the start fails.
    let mut process = KillOnDrop(cmd.spawn().unwrap());
    let url = format!("http://127.0.0.1:{port}/readyz");
    crate::support::wait_for_start_logged(&mut process.0, &log, || {
        client()
            .get(&url)
            .send()
            .is_ok_and(|r| r.status().is_success())
    });
    Engine { port, process }
}

/// A PromQL instant query; the `result` array.
pub fn query(base: &str, promql: &str) -> Vec<serde_json::Value> {
    let r = client()
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", promql)])
        .send()
        .ok()
        .and_then(|r| r.json::<serde_json::Value>().ok());
    r.and_then(|v| v["data"]["result"].as_array().cloned())
        .unwrap_or_default()
}

/// The value of a result row (`["<ts>", "<value>"]`) as a number.
pub fn value(row: &serde_json::Value) -> f64 {
    row["value"][1]
        .as_str()
        .unwrap_or("NaN")
        .parse()
        .unwrap_or(f64::NAN)
}
