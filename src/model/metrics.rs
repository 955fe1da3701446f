//! Host metrics: the scalar metric table and the snapshot (`GET /metrics`, each
//! `snapshot` event of `GET /api/stream`).

use super::{ContainerStats, NodeFigures, Pressure, PressureStats, RunScope, TimestampMs};
use serde::{Deserialize, Serialize};

/// Unit of a scalar metric, used by the UI to format values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Percent,
    Bytes,
    BytesPerSec,
    PerSec,
    Count,
    /// Dimensionless (load average).
    Load,
}

/// One scalar metric the sampler produces at every sample, stored as one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    pub name: &'static str,
    pub unit: Unit,
    pub help: &'static str,
}

const fn m(name: &'static str, unit: Unit, help: &'static str) -> MetricDef {
    MetricDef { name, unit, help }
}

/// The scalar metrics, in storage order. Append only: the store's columns and the
/// detector's feature vectors follow this order, and a saved model records the names.
pub const METRICS: &[MetricDef] = &[
    m("cpu_usage", Unit::Percent, "CPU busy, all cores"),
    m(
        "memory_usage",
        Unit::Percent,
        "memory in use (total - available) / total",
    ),
    m(
        "memory_used_bytes",
        Unit::Bytes,
        "memory in use (total - available)",
    ),
    m(
        "memory_available_bytes",
        Unit::Bytes,
        "memory available for new work",
    ),
    m("memory_free_bytes", Unit::Bytes, "memory not used at all"),
    m("memory_cached_bytes", Unit::Bytes, "page cache"),
    m("memory_buffers_bytes", Unit::Bytes, "kernel buffers"),
    m("swap_used_bytes", Unit::Bytes, "swap in use"),
    m("swap_usage", Unit::Percent, "swap in use / swap total"),
    m("load_1", Unit::Load, "load average, 1 minute"),
    m("load_5", Unit::Load, "load average, 5 minutes"),
    m("load_15", Unit::Load, "load average, 15 minutes"),
    m(
        "disk_read_bytes_per_sec",
        Unit::BytesPerSec,
        "bytes read from block devices",
    ),
    m(
        "disk_write_bytes_per_sec",
        Unit::BytesPerSec,
        "bytes written to block devices",
    ),
    m("disk_read_ops_per_sec", Unit::PerSec, "completed reads"),
    m("disk_write_ops_per_sec", Unit::PerSec, "completed writes"),
    m(
        "disk_free_percent",
        Unit::Percent,
        "free space on the fullest mounted filesystem",
    ),
    m(
        "net_rx_bytes_per_sec",
        Unit::BytesPerSec,
        "bytes received, all interfaces",
    ),
    m(
        "net_tx_bytes_per_sec",
        Unit::BytesPerSec,
        "bytes sent, all interfaces",
    ),
    m("net_rx_packets_per_sec", Unit::PerSec, "packets received"),
    m("net_tx_packets_per_sec", Unit::PerSec, "packets sent"),
    m("net_rx_errors_per_sec", Unit::PerSec, "receive errors"),
    m("net_tx_errors_per_sec", Unit::PerSec, "transmit errors"),
    m("process_count", Unit::Count, "processes"),
    // Container throttling, OOM kills and pressure stall: src/model/container.rs.
    m(
        "cpu_throttled_percent",
        Unit::Percent,
        "container: CFS periods throttled, last interval",
    ),
    m(
        "cpu_throttled_percent_1m",
        Unit::Percent,
        "container: CFS periods throttled, last minute",
    ),
    m(
        "memory_oom_kills",
        Unit::Count,
        "container: OOM kills in the last interval",
    ),
    m("psi_cpu_some", Unit::Percent, "CPU pressure, some, avg10"),
    m(
        "psi_memory_some",
        Unit::Percent,
        "memory pressure, some, avg10",
    ),
    m(
        "psi_memory_full",
        Unit::Percent,
        "memory pressure, full, avg10",
    ),
    m("psi_io_some", Unit::Percent, "I/O pressure, some, avg10"),
    m("psi_io_full", Unit::Percent, "I/O pressure, full, avg10"),
];

/// Looks a metric up by name.
pub fn metric_def(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|d| d.name == name)
}

/// The latest state of the host: the body of `GET /metrics` and of each live update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Snapshot {
    /// CPU busy, all cores, 0-100 (the seed's field).
    pub cpu_usage: f64,
    /// Memory in use, 0-100 (the seed's field).
    pub memory_usage: f64,
    /// 1-minute load average (the seed's field).
    pub load_average: f64,
    pub host: String,
    pub timestamp: TimestampMs,
    /// Seconds actually elapsed since the previous sample (rates are over this span).
    pub interval_secs: f64,
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub load: LoadAverage,
    pub disk: DiskStats,
    pub network: NetworkStats,
    pub processes: ProcessStats,
    /// Combined anomaly score in [0, 1], once a detector scores this host.
    pub anomaly_score: Option<f64>,
    /// True while the score is over the decision threshold.
    pub anomaly: bool,
    /// `host`, or `container` when this process's cgroup (found at start, read at
    /// every sample) limits CPU or memory below the node's; then `cpu`/`memory` (and
    /// `cpu_usage`/`memory_usage`) are the container's share of its limits and the
    /// node's figures are under `node`.
    #[serde(default)]
    pub scope: RunScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeFigures>,
    /// Pressure stall information of the workload (the cgroup's in a container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<PressureStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CpuStats {
    /// 0-100.
    pub total: f64,
    /// 0-100, one per logical core.
    pub per_core: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MemoryStats {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub free_bytes: u64,
    pub cached_bytes: u64,
    pub buffers_bytes: u64,
    pub usage_percent: f64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
    pub swap_usage_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DiskStats {
    pub read_bytes_per_sec: f64,
    pub write_bytes_per_sec: f64,
    pub read_ops_per_sec: f64,
    pub write_ops_per_sec: f64,
    /// Free space on the fullest mounted filesystem, 0-100.
    pub free_percent: f64,
    pub devices: Vec<DeviceIo>,
    pub filesystems: Vec<FilesystemUsage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DeviceIo {
    pub name: String,
    pub read_bytes_per_sec: f64,
    pub write_bytes_per_sec: f64,
    pub read_ops_per_sec: f64,
    pub write_ops_per_sec: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FilesystemUsage {
    pub mount_point: String,
    pub total_bytes: u64,
    pub available_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NetworkStats {
    pub rx_bytes_per_sec: f64,
    pub tx_bytes_per_sec: f64,
    pub rx_packets_per_sec: f64,
    pub tx_packets_per_sec: f64,
    pub rx_errors_per_sec: f64,
    pub tx_errors_per_sec: f64,
    pub interfaces: Vec<InterfaceIo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct InterfaceIo {
    pub name: String,
    pub rx_bytes_per_sec: f64,
    pub tx_bytes_per_sec: f64,
    pub rx_packets_per_sec: f64,
    pub tx_packets_per_sec: f64,
    pub rx_errors_per_sec: f64,
    pub tx_errors_per_sec: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ProcessStats {
    pub count: u64,
    /// Top 10 by CPU, highest first.
    pub top_cpu: Vec<ProcessInfo>,
    /// Top 10 by resident memory, highest first.
    pub top_memory: Vec<ProcessInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ProcessInfo {
    pub pid: u32,
    pub name: String,
    /// Percent of one core (can exceed 100 on multi-core hosts).
    pub cpu_percent: f64,
    pub rss_bytes: u64,
}

impl Snapshot {
    /// The value of a scalar metric from [`METRICS`], by name.
    pub fn metric(&self, name: &str) -> Option<f64> {
        Some(match name {
            "cpu_usage" => self.cpu.total,
            "memory_usage" => self.memory.usage_percent,
            "memory_used_bytes" => self.memory.used_bytes as f64,
            "memory_available_bytes" => self.memory.available_bytes as f64,
            "memory_free_bytes" => self.memory.free_bytes as f64,
            "memory_cached_bytes" => self.memory.cached_bytes as f64,
            "memory_buffers_bytes" => self.memory.buffers_bytes as f64,
            "swap_used_bytes" => self.memory.swap_used_bytes as f64,
            "swap_usage" => self.memory.swap_usage_percent,
            "load_1" => self.load.one,
            "load_5" => self.load.five,
            "load_15" => self.load.fifteen,
            "disk_read_bytes_per_sec" => self.disk.read_bytes_per_sec,
            "disk_write_bytes_per_sec" => self.disk.write_bytes_per_sec,
            "disk_read_ops_per_sec" => self.disk.read_ops_per_sec,
            "disk_write_ops_per_sec" => self.disk.write_ops_per_sec,
            "disk_free_percent" => self.disk.free_percent,
            "net_rx_bytes_per_sec" => self.network.rx_bytes_per_sec,
            "net_tx_bytes_per_sec" => self.network.tx_bytes_per_sec,
            "net_rx_packets_per_sec" => self.network.rx_packets_per_sec,
            "net_tx_packets_per_sec" => self.network.tx_packets_per_sec,
            "net_rx_errors_per_sec" => self.network.rx_errors_per_sec,
            "net_tx_errors_per_sec" => self.network.tx_errors_per_sec,
            "process_count" => self.processes.count as f64,
            _ => return self.scope_metric(name),
        })
    }

    /// All scalar metrics in [`METRICS`] order.
    pub fn scalars(&self) -> Vec<f64> {
        METRICS
            .iter()
            .map(|d| self.metric(d.name).unwrap_or(f64::NAN))
            .collect()
    }
}

fn example_process(pid: u32, name: &str, cpu_percent: f64, rss_bytes: u64) -> ProcessInfo {
    ProcessInfo {
        pid,
        name: name.into(),
        cpu_percent,
        rss_bytes,
    }
}

/// The busiest processes of the examples.
pub(crate) fn example_processes() -> (Vec<ProcessInfo>, Vec<ProcessInfo>) {
    (
        vec![example_process(4242, "cc1plus", 97.5, 512_000_000)],
        vec![example_process(1337, "postgres", 2.5, 2_147_483_648)],
    )
}

impl super::ApiBody for Snapshot {
    fn example() -> Self {
        let (top_cpu, top_memory) = example_processes();
        Snapshot {
            cpu_usage: 12.5,
            memory_usage: 41.2,
            load_average: 0.42,
            host: "web-1".into(),
            timestamp: 1_764_085_000_000,
            interval_secs: 5.0,
            cpu: CpuStats {
                total: 12.5,
                per_core: vec![10.1, 14.9],
            },
            memory: MemoryStats {
                total_bytes: 8_000_000_000,
                used_bytes: 3_296_000_000,
                available_bytes: 4_704_000_000,
                free_bytes: 1_000_000_000,
                cached_bytes: 3_000_000_000,
                buffers_bytes: 200_000_000,
                usage_percent: 41.2,
                swap_total_bytes: 2_000_000_000,
                swap_used_bytes: 0,
                swap_usage_percent: 0.0,
            },
            load: LoadAverage {
                one: 0.42,
                five: 0.37,
                fifteen: 0.3,
            },
            disk: DiskStats {
                read_bytes_per_sec: 0.0,
                write_bytes_per_sec: 40960.0,
                read_ops_per_sec: 0.0,
                write_ops_per_sec: 3.2,
                free_percent: 63.0,
                devices: vec![DeviceIo {
                    name: "vda".into(),
                    read_bytes_per_sec: 0.0,
                    write_bytes_per_sec: 40960.0,
                    read_ops_per_sec: 0.0,
                    write_ops_per_sec: 3.2,
                }],
                filesystems: vec![FilesystemUsage {
                    mount_point: "/".into(),
                    total_bytes: 50_000_000_000,
                    available_bytes: 31_500_000_000,
                }],
            },
            network: NetworkStats {
                rx_bytes_per_sec: 1200.0,
                tx_bytes_per_sec: 800.0,
                rx_packets_per_sec: 10.0,
                tx_packets_per_sec: 8.0,
                rx_errors_per_sec: 0.0,
                tx_errors_per_sec: 0.0,
                interfaces: vec![InterfaceIo {
                    name: "eth0".into(),
                    rx_bytes_per_sec: 1200.0,
                    tx_bytes_per_sec: 800.0,
                    rx_packets_per_sec: 10.0,
                    tx_packets_per_sec: 8.0,
                    rx_errors_per_sec: 0.0,
                    tx_errors_per_sec: 0.0,
                }],
            },
            processes: ProcessStats {
                count: 213,
                top_cpu,
                top_memory,
            },
            anomaly_score: None,
            anomaly: false,
            // In a container: its own figures first, the node's beside them.
            scope: RunScope::Container,
            container: Some(ContainerStats {
                cgroup_version: "v2".into(),
                cgroup_path: "/sys/fs/cgroup".into(),
                cpu_limit_cores: 0.5,
                cpu_quota_set: true,
                cpuset_cpus: None,
                cpu_usage_percent: 97.0,
                cpu_periods: 1000,
                cpu_throttled_periods: 380,
                cpu_throttled_us: 19_000_000,
                throttled_percent: 75.0,
                throttled_percent_last_minute: 38.0,
                memory_current_bytes: 320_000_000,
                memory_working_set_bytes: 302_000_000,
                memory_max_bytes: Some(536_870_912),
                memory_usage_percent: 56.3,
                memory_cache_bytes: 18_000_000,
                swap_current_bytes: 0,
                swap_max_bytes: None,
                oom_kills: 2,
                memory_high_events: 0,
                memory_max_events: 42,
                oom_kills_in_interval: 0,
                io_read_bytes_per_sec: 0.0,
                io_write_bytes_per_sec: 40960.0,
            }),
            node: Some(NodeFigures {
                cpu_usage: 12.5,
                memory_usage: 4.1,
                memory_total_bytes: 68_719_476_736,
                memory_used_bytes: 2_817_498_546,
                load_average: 0.42,
                cores: 64,
                pressure: None,
            }),
            pressure: Some(PressureStats {
                source: "cgroup".into(),
                cpu: Some(Pressure {
                    some_avg10: 31.5,
                    some_avg60: 22.1,
                    some_total_us: 190_000_000,
                    full_avg10: 30.0,
                    full_avg60: 20.0,
                    full_total_us: 180_000_000,
                }),
                memory: Some(Pressure::default()),
                io: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_readable_from_a_snapshot() {
        let s = Snapshot::default();
        for d in METRICS {
            assert!(s.metric(d.name).is_some(), "{} not mapped", d.name);
        }
        assert_eq!(s.scalars().len(), METRICS.len());
        assert!(s.metric("no_such_metric").is_none());
    }

    #[test]
    fn metric_names_are_unique() {
        let mut names: Vec<_> = METRICS.iter().map(|d| d.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), METRICS.len());
    }
}
