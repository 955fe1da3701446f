//! Debian's Prometheus scrapes a real `lookout serve` at `/metrics/prometheus` (scrape
//! config written at test time, both on loopback ports chosen now), and the scraped
//! values are read back through Prometheus' HTTP API.

#[path = "support/engines.rs"]
mod engines;
mod support;

use engines::{query, value, wait_for};
use std::time::Duration;

fn mem_total_bytes() -> f64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024.0
}

#[test]
fn prometheus_scrapes_every_metric_with_units_host_labels_and_the_anomaly_series() {
    let Some(bin) = engines::binary("prometheus", "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lookout = engines::lookout(
        dir.path(),
        "[sampler]\ninterval = \"1s\"\n[host]\nname = \"scrape-test-host\"\n",
        &[],
    );
    // The exposition itself: text format 0.0.4, units in names, host labels.
    let resp = engines::client()
        .get(format!("{}/metrics/prometheus", lookout.base()))
        .send()
        .unwrap();
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let text = resp.text().unwrap();
    for needle in [
        "# TYPE lookout_cpu_usage_percent gauge",
        "lookout_memory_used_bytes{host=\"scrape-test-host\"}",
        "lookout_network_receive_bytes_per_second{host=\"scrape-test-host\"}",
        "lookout_cpu_core_usage_percent{host=\"scrape-test-host\",core=\"0\"}",
        "lookout_anomaly_event_open{host=\"scrape-test-host\"} 0",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }

    let prom_dir = dir.path().join("prom");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: lookout\n    metrics_path: /metrics/prometheus\n    static_configs:\n      - targets: [\"127.0.0.1:{}\"]\n",
        lookout.port
    );
    let prom = engines::prometheus(&bin, &prom_dir, &config, 0);
    let base = prom.base();
    let up = wait_for(Duration::from_secs(20), || {
        let rows = query(&base, "up{job=\"lookout\"}");
        rows.first().filter(|r| value(r) == 1.0).cloned()
    });
    assert!(
        up.is_some(),
        "Prometheus never scraped Lookout successfully"
    );

    // A value that does not move: the memory installed, as /proc/meminfo says.
    let rows = wait_for(Duration::from_secs(10), || {
        let r = query(&base, "lookout_memory_total_bytes");
        (!r.is_empty()).then_some(r)
    })
    .expect("lookout_memory_total_bytes never scraped");
    assert_eq!(rows[0]["metric"]["host"], "scrape-test-host");
    assert_eq!(rows[0]["metric"]["job"], "lookout");
    assert_eq!(value(&rows[0]), mem_total_bytes());

    let cpu = query(
        &base,
        "lookout_cpu_usage_percent{host=\"scrape-test-host\"}",
    );
    assert_eq!(cpu.len(), 1, "{cpu:?}");
    assert!((0.0..=100.0).contains(&value(&cpu[0])));
    let open = query(&base, "lookout_anomaly_event_open");
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(value(&open[0]), 0.0);
    // One series per core, each labelled.
    let cores = query(&base, "count(lookout_cpu_core_usage_percent)");
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(value(&cores[0]) >= 1.0 && value(&cores[0]) <= n.max(1) as f64 * 4.0);
    // Several samples arrived over time (the scrape runs every second).
    let samples = wait_for(Duration::from_secs(10), || {
        let r = query(&base, "count_over_time(lookout_memory_used_bytes[1m])");
        r.first().filter(|r| value(r) >= 3.0).cloned()
    });
    assert!(samples.is_some(), "fewer than 3 scrapes in 10 s");
}
