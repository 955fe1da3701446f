//! End to end on this machine (slow, so `#[ignore]`d; run by scripts/e2e-alert.sh):
//! Lookout at 1 s sampling trains a model on this host's idle history, then a real
//! CPU + memory load (`stress-ng`) must produce an email naming the anomalous metric
//! and the stress process through a real SMTP server on 127.0.0.1, and a resolve
//! email after the load stops. Prints the time from load start to email.

#[path = "../../tests/alert_support/mod.rs"]
#[allow(dead_code)]
mod alert_support;

mod support;
use support::KillOnDrop;

use alert_support::SmtpSink;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get_json(url: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match reqwest::get(url).await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        }
    })
}

fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    None
}

#[test]
#[ignore = "several minutes and needs stress-ng: scripts/e2e-alert.sh"]
fn stress_load_sends_an_anomaly_email_and_a_resolve_email() {
    let runs: usize = std::env::var("E2E_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    // E2E_IDLE_SECS: watch this long with no load after training and count the
    // firing emails (false alerts); E2E_MIN_HISTORY: training history (default 5m).
    let idle_secs: u64 = std::env::var("E2E_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let min_history = std::env::var("E2E_MIN_HISTORY").unwrap_or_else(|_| "5m".into());
    // E2E_VM_BYTES: the memory the load takes (stress-ng syntax; default a quarter of
    // MemTotal, in absolute kB: stress-ng's "25%" is of *free* memory, which on a host
    // whose RAM is page cache is a few hundred MB).
    let vm_bytes = std::env::var("E2E_VM_BYTES").unwrap_or_else(|_| {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let total_kb: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(4 << 20);
        format!("{}k", total_kb / 4)
    });
    println!("load: stress-ng --cpu 2 --vm 1 --vm-bytes {vm_bytes} for 45 s");
    let sink = SmtpSink::start(0);
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let cfg = dir.path().join("lookout.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[sampler]
interval = "1s"
process_refresh = "1s"
[detector]
min_history = "{}"
[alerts]
group_wait = "0s"
cooldown = "30s"
[[alerts.rules]]
name = "host-anomaly"
kind = "anomaly"
for = "3s"
severity = "critical"
[[alerts.channels]]
type = "email"
name = "mail"
host = "127.0.0.1"
port = {}
tls = "none"
from = "lookout@test"
to = ["oncall@test"]
"#,
            min_history, sink.port
        ),
    )
    .unwrap();
    let server = Command::new(env!("CARGO_BIN_EXE_lookout"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOOKOUT_CONFIG", &cfg)
        .env("LOOKOUT_SERVER_BIND", format!("127.0.0.1:{port}"))
        .env("LOOKOUT_LOG_LEVEL", "info")
        .current_dir(dir.path())
        .stdout(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut server = KillOnDrop(server);
    let base = format!("http://127.0.0.1:{port}");

    // Training waits for min_history of samples, then takes seconds: allow 10 min more.
    let history_ms = lookout::alert::rules::parse_duration(&min_history)
        .unwrap_or_else(|e| panic!("E2E_MIN_HISTORY={min_history:?}: {e}"));
    let train_limit = Duration::from_millis(history_ms as u64) + Duration::from_secs(600);
    let trained = wait_for(train_limit, || {
        (get_json(&format!("{base}/api/model"))["state"]["phase"] == "trained").then_some(())
    });
    assert!(trained.is_some(), "no model trained");
    println!(
        "model: {}",
        get_json(&format!("{base}/api/model"))["state"]["message"]
    );
    // Let the freshly trained model settle on idle samples.
    std::thread::sleep(Duration::from_secs(20));
    let firing = |from: usize| -> Vec<String> {
        sink.mails()
            .into_iter()
            .skip(from)
            .map(|m| m.data)
            .filter(|d| d.contains("Subject:") && subject(d).to_lowercase().contains("firing"))
            .collect()
    };
    if idle_secs > 0 {
        let before = sink.mails().len();
        std::thread::sleep(Duration::from_secs(idle_secs));
        let false_alerts = firing(before);
        for m in &false_alerts {
            println!("idle alert: {}", subject(m));
        }
        println!(
            "idle run: {} firing alert email(s) in {idle_secs} s with no load",
            false_alerts.len()
        );
    }

    let mut delays = Vec::new();
    for run in 0..runs {
        let before = sink.mails().len();
        let started = Instant::now();
        let mut load = Command::new("stress-ng")
            .args([
                "--cpu",
                "2",
                "--vm",
                "1",
                "--vm-bytes",
                &vm_bytes,
                "--vm-keep",
                // Pages are mapped and touched at once: the memory step does not
                // depend on how much CPU the worker gets on a busy host.
                "--vm-populate",
                "--timeout",
                "45s",
                "--quiet",
            ])
            .spawn()
            .expect("stress-ng (apt-get install stress-ng)");
        // The alert for the load: the first firing email naming the stress process
        // (on a busy host other anomalies may fire too; they are printed, not hidden).
        let found = wait_for(Duration::from_secs(60), || {
            firing(before).into_iter().find(|m| m.contains("stress-ng"))
        });
        let delay = started.elapsed();
        let _ = load.wait();
        for m in firing(before).iter().filter(|m| !m.contains("stress-ng")) {
            println!("run {run}: other alert meanwhile: {}", subject(m));
            // Its text part, so a miss can be understood (which metrics, which processes).
            for l in m.lines().filter(|l| {
                let l = l.trim_start();
                l.starts_with("- ") || l.starts_with("Top") || l.contains("since")
            }) {
                println!("    {l}");
            }
        }
        let mail = found.unwrap_or_else(|| {
            panic!("run {run}: no firing email naming stress-ng within 60 s of the load")
        });
        delays.push(delay.as_secs_f64());
        println!(
            "run {run}: email {:.1} s after load start",
            delay.as_secs_f64()
        );
        assert!(
            ["cpu_usage", "memory_", "load_"]
                .iter()
                .any(|m| mail.contains(m)),
            "names the metric: {mail}"
        );
        let resolved = wait_for(Duration::from_secs(900), || {
            sink.mails()
                .into_iter()
                .skip(before)
                .find(|m| m.data.to_lowercase().contains("resolved"))
        });
        assert!(
            resolved.is_some(),
            "run {run}: no resolve email within 15 min of the load's end"
        );
        println!(
            "run {run}: resolved {:.0} s after load start",
            started.elapsed().as_secs_f64()
        );
        std::thread::sleep(Duration::from_secs(40));
    }
    delays.sort_by(f64::total_cmp);
    println!(
        "load start -> email, median of {runs}: {:.1} s ({delays:?})",
        delays[delays.len() / 2]
    );
    let _ = server.0.kill();
}

fn subject(mail: &str) -> &str {
    mail.lines()
        .find_map(|l| l.strip_prefix("Subject:"))
        .unwrap_or("")
        .trim()
}
