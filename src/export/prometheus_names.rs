//! The one table of Prometheus names for Lookout's metrics, used by the exposition
//! and by remote_write. Prometheus conventions: a `lookout_` prefix, the unit in the
//! name (`_percent`, `_bytes`, `_per_second`), a `host` label on every series, and a
//! second label where a metric is one of several (`core`, `device`, `mount`,
//! `interface`). Rates are gauges over the last sampling interval, not counters:
//! Lookout samples deltas, it does not keep the kernel's running totals.

use crate::model::{metric_def, Snapshot, METRICS};

/// Prometheus name of each scalar metric of [`METRICS`], by Lookout name. Every entry
/// of `METRICS` has one (a test checks it), so a new metric cannot be left out.
pub const SCALAR_NAMES: &[(&str, &str)] = &[
    ("cpu_usage", "lookout_cpu_usage_percent"),
    ("memory_usage", "lookout_memory_usage_percent"),
    ("memory_used_bytes", "lookout_memory_used_bytes"),
    ("memory_available_bytes", "lookout_memory_available_bytes"),
    ("memory_free_bytes", "lookout_memory_free_bytes"),
    ("memory_cached_bytes", "lookout_memory_cached_bytes"),
    ("memory_buffers_bytes", "lookout_memory_buffers_bytes"),
    ("swap_used_bytes", "lookout_swap_used_bytes"),
    ("swap_usage", "lookout_swap_usage_percent"),
    // Dimensionless, named as node_exporter names them.
    ("load_1", "lookout_load1"),
    ("load_5", "lookout_load5"),
    ("load_15", "lookout_load15"),
    (
        "disk_read_bytes_per_sec",
        "lookout_disk_read_bytes_per_second",
    ),
    (
        "disk_write_bytes_per_sec",
        "lookout_disk_written_bytes_per_second",
    ),
    ("disk_read_ops_per_sec", "lookout_disk_reads_per_second"),
    ("disk_write_ops_per_sec", "lookout_disk_writes_per_second"),
    (
        "disk_free_percent",
        "lookout_filesystem_fullest_free_percent",
    ),
    (
        "net_rx_bytes_per_sec",
        "lookout_network_receive_bytes_per_second",
    ),
    (
        "net_tx_bytes_per_sec",
        "lookout_network_transmit_bytes_per_second",
    ),
    (
        "net_rx_packets_per_sec",
        "lookout_network_receive_packets_per_second",
    ),
    (
        "net_tx_packets_per_sec",
        "lookout_network_transmit_packets_per_second",
    ),
    (
        "net_rx_errors_per_sec",
        "lookout_network_receive_errors_per_second",
    ),
    (
        "net_tx_errors_per_sec",
        "lookout_network_transmit_errors_per_second",
    ),
    ("process_count", "lookout_processes"),
    ("cpu_throttled_percent", "lookout_cpu_throttled_percent"),
    (
        "cpu_throttled_percent_1m",
        "lookout_cpu_throttled_1m_percent",
    ),
    ("memory_oom_kills", "lookout_memory_oom_kills"),
    ("psi_cpu_some", "lookout_pressure_cpu_some_percent"),
    ("psi_memory_some", "lookout_pressure_memory_some_percent"),
    ("psi_memory_full", "lookout_pressure_memory_full_percent"),
    ("psi_io_some", "lookout_pressure_io_some_percent"),
    ("psi_io_full", "lookout_pressure_io_full_percent"),
];

pub const ANOMALY_SCORE: &str = "lookout_anomaly_score";
pub const ANOMALY_EVENT_OPEN: &str = "lookout_anomaly_event_open";

/// The Prometheus name of a Lookout scalar metric.
pub fn prometheus_name(metric: &str) -> Option<&'static str> {
    SCALAR_NAMES
        .iter()
        .find(|(m, _)| *m == metric)
        .map(|(_, p)| *p)
}

/// One sample of one series: name, labels (`host` first), value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// What is known of one host at one moment: its latest sample and, where a detector
/// runs for it, whether an anomaly event is open.
#[derive(Debug, Clone, Copy)]
pub struct HostView<'a> {
    pub snapshot: &'a Snapshot,
    /// None where no detector runs (then no `lookout_anomaly_event_open` series).
    pub event_open: Option<bool>,
}

/// Every series of one host's snapshot, in a fixed order. Metrics the host does not
/// have (pressure outside a cgroup, no anomaly score yet) are left out rather than
/// sent as NaN.
pub fn host_series(view: HostView<'_>) -> Vec<Series> {
    let s = view.snapshot;
    let host = || ("host", s.host.clone());
    let mut out = Vec::with_capacity(64);
    for def in METRICS {
        let (Some(name), Some(value)) = (prometheus_name(def.name), s.metric(def.name)) else {
            continue;
        };
        if value.is_finite() {
            out.push(Series {
                name,
                help: metric_def(def.name).map_or("", |d| d.help),
                labels: vec![host()],
                value,
            });
        }
    }
    let mut one = |name, help, value: f64| {
        out.push(Series {
            name,
            help,
            labels: vec![host()],
            value,
        })
    };
    one(
        "lookout_memory_total_bytes",
        "memory installed",
        s.memory.total_bytes as f64,
    );
    one(
        "lookout_swap_total_bytes",
        "swap configured",
        s.memory.swap_total_bytes as f64,
    );
    if let Some(score) = s.anomaly_score.filter(|v| v.is_finite()) {
        one(
            ANOMALY_SCORE,
            "combined anomaly score of the latest sample, 0-1",
            score,
        );
    }
    if let Some(open) = view.event_open {
        one(
            ANOMALY_EVENT_OPEN,
            "1 while an anomaly event is open on the host",
            f64::from(u8::from(open)),
        );
    }
    let mut labelled = |name, help, key: &'static str, label: &str, value: f64| {
        out.push(Series {
            name,
            help,
            labels: vec![host(), (key, label.to_string())],
            value,
        })
    };
    for (i, v) in s.cpu.per_core.iter().enumerate() {
        labelled(
            "lookout_cpu_core_usage_percent",
            "CPU busy, one logical core",
            "core",
            &i.to_string(),
            *v,
        );
    }
    for d in &s.disk.devices {
        let n = &d.name;
        labelled(
            "lookout_device_read_bytes_per_second",
            "bytes read from the device",
            "device",
            n,
            d.read_bytes_per_sec,
        );
        labelled(
            "lookout_device_written_bytes_per_second",
            "bytes written to the device",
            "device",
            n,
            d.write_bytes_per_sec,
        );
        labelled(
            "lookout_device_reads_per_second",
            "completed reads on the device",
            "device",
            n,
            d.read_ops_per_sec,
        );
        labelled(
            "lookout_device_writes_per_second",
            "completed writes on the device",
            "device",
            n,
            d.write_ops_per_sec,
        );
    }
    for f in &s.disk.filesystems {
        let m = &f.mount_point;
        labelled(
            "lookout_filesystem_size_bytes",
            "filesystem size",
            "mount",
            m,
            f.total_bytes as f64,
        );
        labelled(
            "lookout_filesystem_avail_bytes",
            "filesystem space available",
            "mount",
            m,
            f.available_bytes as f64,
        );
    }
    for i in &s.network.interfaces {
        let n = &i.name;
        labelled(
            "lookout_interface_receive_bytes_per_second",
            "bytes received on the interface",
            "interface",
            n,
            i.rx_bytes_per_sec,
        );
        labelled(
            "lookout_interface_transmit_bytes_per_second",
            "bytes sent on the interface",
            "interface",
            n,
            i.tx_bytes_per_sec,
        );
        labelled(
            "lookout_interface_receive_packets_per_second",
            "packets received on the interface",
            "interface",
            n,
            i.rx_packets_per_sec,
        );
        labelled(
            "lookout_interface_transmit_packets_per_second",
            "packets sent on the interface",
            "interface",
            n,
            i.tx_packets_per_sec,
        );
        labelled(
            "lookout_interface_receive_errors_per_second",
            "receive errors on the interface",
            "interface",
            n,
            i.rx_errors_per_sec,
        );
        labelled(
            "lookout_interface_transmit_errors_per_second",
            "transmit errors on the interface",
            "interface",
            n,
            i.tx_errors_per_sec,
        );
    }
    out.retain(|s| s.value.is_finite());
    out
}

/// Whether `name` is a valid Prometheus metric or label name.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ApiBody;

    #[test]
    fn every_metric_has_one_valid_unique_name() {
        for def in METRICS {
            let name = prometheus_name(def.name)
                .unwrap_or_else(|| panic!("{} has no Prometheus name", def.name));
            assert!(valid_name(name), "{name}");
        }
        let mut names: Vec<_> = SCALAR_NAMES.iter().map(|(_, p)| *p).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SCALAR_NAMES.len(), "a name is used twice");
        assert_eq!(
            SCALAR_NAMES.len(),
            METRICS.len(),
            "an entry names no metric"
        );
    }

    #[test]
    fn a_snapshot_gives_host_labelled_series_with_units() {
        let mut s = Snapshot::example();
        s.anomaly_score = Some(0.75);
        let series = host_series(HostView {
            snapshot: &s,
            event_open: Some(true),
        });
        let get = |name: &str| series.iter().find(|x| x.name == name).map(|x| x.value);
        assert_eq!(get("lookout_cpu_usage_percent"), Some(s.cpu.total));
        assert_eq!(get(ANOMALY_SCORE), Some(0.75));
        assert_eq!(get(ANOMALY_EVENT_OPEN), Some(1.0));
        assert!(series
            .iter()
            .all(|x| x.labels[0] == ("host", "web-1".to_string())));
        let core = series
            .iter()
            .find(|x| x.name == "lookout_cpu_core_usage_percent")
            .unwrap();
        assert_eq!(core.labels[1], ("core", "0".to_string()));
        assert!(series
            .iter()
            .all(|x| valid_name(x.name) && x.value.is_finite()));
    }
}
