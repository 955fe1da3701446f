//! remote_write against real receivers from Debian, on loopback ports chosen now:
//! Prometheus (`--web.enable-remote-write-receiver`) and VictoriaMetrics. Known
//! samples go through Lookout's sink, the receiver is stopped in the middle (the
//! sink queues and retries), started again on the same port and data, and every
//! sample is read back through the receiver's query API: none lost within the bound.
//! A real `lookout serve` with `[export.remote_write]` then pushes its own series.

#[path = "support/engines.rs"]
mod engines;
mod support;

use engines::{query, value, wait_for, Engine};
use lookout::export::remote_write::{RemoteWriteOptions, RemoteWriteSink};
use lookout::export::Series;
use std::sync::atomic::Ordering;
use std::time::Duration;

const SNAPSHOTS: i64 = 60;
const DEVICES: [&str; 3] = ["a", "b", "c"];

/// Stops a receiver the polite way (SIGTERM), so it flushes what it acknowledged;
/// Lookout's sink cannot do anything about a receiver that loses acknowledged data.
fn stop(engine: Engine) {
    let mut child = engine.process;
    let pid = child.0.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let stopped = wait_for(Duration::from_secs(15), || {
        child.0.try_wait().ok().flatten()
    });
    assert!(stopped.is_some(), "receiver did not stop within 15 s");
}

fn series(i: i64) -> Vec<Series> {
    DEVICES
        .iter()
        .map(|d| Series {
            name: "lookout_rw_test_value",
            help: "",
            labels: vec![("host", "rw-test".into()), ("device", d.to_string())],
            value: i as f64,
        })
        .collect()
}

/// Pushes SNAPSHOTS snapshots of 3 series one second apart (timestamps 5 min ago),
/// stopping the receiver after half of them and restarting it with `restart`.
fn push_through_an_outage(
    url: &str,
    first: Engine,
    restart: impl FnOnce() -> Engine,
) -> (Engine, RemoteWriteSink, i64) {
    let mut o = RemoteWriteOptions::new(url);
    o.batch_size = 20;
    o.queue_max_samples = 10_000;
    o.min_backoff = Duration::from_millis(200);
    o.max_backoff = Duration::from_secs(1);
    o.timeout = Duration::from_secs(2);
    let sink = RemoteWriteSink::start(o);
    let stats = || sink.stats();
    let base = lookout::time::now_ms() - 300_000;
    for i in 0..SNAPSHOTS / 2 {
        sink.push(&series(i), base + i * 1000);
    }
    let drained = wait_for(Duration::from_secs(10), || {
        (stats().queued_samples.load(Ordering::Relaxed) == 0).then_some(())
    });
    assert!(
        drained.is_some(),
        "first half not sent: {:?}",
        sink.last_error()
    );
    stop(first);
    for i in SNAPSHOTS / 2..SNAPSHOTS {
        sink.push(&series(i), base + i * 1000);
    }
    let failing = wait_for(Duration::from_secs(10), || {
        (stats().failed_requests.load(Ordering::Relaxed) >= 2).then_some(())
    });
    assert!(
        failing.is_some(),
        "no failed request while the receiver was down"
    );
    assert_eq!(
        stats().queued_samples.load(Ordering::Relaxed),
        (SNAPSHOTS / 2) as u64 * DEVICES.len() as u64,
        "the second half must wait in the queue"
    );
    let second = restart();
    let caught_up = wait_for(Duration::from_secs(20), || {
        (stats().queued_samples.load(Ordering::Relaxed) == 0).then_some(())
    });
    assert!(
        caught_up.is_some(),
        "queue not drained after the receiver came back: {:?}",
        sink.last_error()
    );
    assert_eq!(stats().dropped_samples.load(Ordering::Relaxed), 0);
    assert_eq!(stats().rejected_samples.load(Ordering::Relaxed), 0);
    assert_eq!(
        stats().sent_samples.load(Ordering::Relaxed),
        SNAPSHOTS as u64 * DEVICES.len() as u64
    );
    (second, sink, base)
}

/// Every sample is in the receiver: per series, the count and the sum of 0..SNAPSHOTS.
fn assert_all_samples_stored(query_base: &str) {
    let expected_sum = (0..SNAPSHOTS).sum::<i64>() as f64;
    let rows = wait_for(Duration::from_secs(15), || {
        let rows = query(
            query_base,
            "count_over_time(lookout_rw_test_value{host=\"rw-test\"}[10m])",
        );
        (rows.len() == DEVICES.len() && rows.iter().all(|r| value(r) == SNAPSHOTS as f64))
            .then_some(rows)
    });
    assert!(
        rows.is_some(),
        "expected {SNAPSHOTS} samples in each of {} series, got {:?}",
        DEVICES.len(),
        query(
            query_base,
            "count_over_time(lookout_rw_test_value{host=\"rw-test\"}[10m])"
        )
    );
    let sums = query(
        query_base,
        "sum_over_time(lookout_rw_test_value{host=\"rw-test\"}[10m])",
    );
    assert_eq!(sums.len(), DEVICES.len());
    for s in &sums {
        assert_eq!(value(s), expected_sum, "{s}");
    }
}

#[test]
fn prometheus_receives_every_sample_across_a_receiver_outage() {
    let Some(bin) = engines::binary("prometheus", "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = "global:\n  scrape_interval: 1m\n";
    let first = engines::prometheus(&bin, dir.path(), config, 0);
    let port = first.port;
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    let (prom, sink, _) = push_through_an_outage(&url, first, || {
        engines::prometheus(&bin, dir.path(), config, port)
    });
    assert_all_samples_stored(&prom.base());
    sink.shutdown(Duration::from_secs(2));
}

#[test]
fn victoria_metrics_receives_every_sample_across_a_receiver_outage() {
    let Some(bin) = engines::binary("victoria-metrics", "victoria-metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let first = engines::victoria_metrics(&bin, dir.path(), 0);
    let port = first.port;
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    let (vm, sink, _) = push_through_an_outage(&url, first, || {
        engines::victoria_metrics(&bin, dir.path(), port)
    });
    assert_all_samples_stored(&vm.base());
    sink.shutdown(Duration::from_secs(2));
}

fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .filter(|n| !n.starts_with("lookout_remote_write_"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_lookout_server_pushes_every_exposed_series_and_its_anomaly_state_to_victoria_metrics() {
    let Some(bin) = engines::binary("victoria-metrics", "victoria-metrics") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let vm_dir = dir.path().join("vm");
    std::fs::create_dir_all(&vm_dir).unwrap();
    let vm = engines::victoria_metrics(&bin, &vm_dir, 0);
    let lookout = engines::lookout(
        dir.path(),
        &format!(
            "[sampler]\ninterval = \"1s\"\n[host]\nname = \"rw-bin\"\n\
             [export.remote_write]\nurl = \"{}/api/v1/write\"\nbatch_size = 50\n\
             bearer_token_env = \"RW_TOKEN\"\n",
            vm.base()
        ),
        &[("RW_TOKEN", "not-checked-by-victoria-metrics")],
    );
    let exposed = engines::client()
        .get(format!("{}/metrics/prometheus", lookout.base()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let want = metric_names(&exposed);
    assert!(want.contains("lookout_anomaly_event_open"), "{want:?}");
    let got = wait_for(Duration::from_secs(20), || {
        let url = format!("{}/api/v1/label/__name__/values", vm.base());
        let names: std::collections::BTreeSet<String> = engines::get_json(&url)?["data"]
            .as_array()?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .filter(|n| !n.starts_with("lookout_remote_write_"))
            .collect();
        want.is_subset(&names).then_some(names)
    });
    assert!(
        got.is_some(),
        "VictoriaMetrics did not get every series {want:?}"
    );
    // The names are indexed before the samples are searchable: poll the query too.
    let open = wait_for(Duration::from_secs(10), || {
        let rows = query(&vm.base(), "lookout_anomaly_event_open{host=\"rw-bin\"}");
        (rows.len() == 1).then_some(rows)
    });
    assert!(
        open.is_some_and(|r| value(&r[0]) == 0.0),
        "anomaly state not in VictoriaMetrics"
    );
    let health = engines::client()
        .get(format!("{}/metrics/prometheus", lookout.base()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        health.contains("lookout_remote_write_dropped_samples{host=\"rw-bin\"} 0"),
        "{health}"
    );
}
