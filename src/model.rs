//! Wire types shared by the engine, the server and the browser.
//!
//! Everything here is plain data with serde derives: no I/O, no system calls, so the
//! wasm front end compiles it as it is. The JSON shape of [`Snapshot`] is the public
//! `GET /metrics` schema (documented in README.md): keep field names stable.

use serde::{Deserialize, Serialize};

pub mod container;
pub use container::*;

/// Milliseconds since the Unix epoch, UTC.
pub type TimestampMs = i64;

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
    pub scope: Scope,
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

/// One point of a history series. Raw samples have `min == max == v`; rolled-up
/// points carry the bucket's minimum and maximum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub t: TimestampMs,
    pub v: f64,
    pub min: f64,
    pub max: f64,
}

/// A metric's history over a time range, at the resolution the store chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub metric: String,
    pub unit: Unit,
    /// Seconds per point: the sampling interval for raw data, else the bucket width.
    pub resolution_secs: f64,
    pub points: Vec<Point>,
}

/// The answer to a history query: one series per requested metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub from: TimestampMs,
    pub to: TimestampMs,
    pub series: Vec<Series>,
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

// ---------------------------------------------------------------- anomaly detection

/// The detector's verdict on one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AnomalyScore {
    pub timestamp: TimestampMs,
    /// Combined, calibrated score in [0, 1].
    pub combined: f64,
    /// Each enabled ensemble member's calibrated score in [0, 1], by member name
    /// ("baseline", "forest", "pca").
    pub members: Vec<MemberScore>,
    /// `combined` is over the decision threshold.
    pub anomalous: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MemberScore {
    pub member: String,
    pub score: f64,
}

/// How much one metric contributed to an anomalous moment, against its learnt band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MetricContribution {
    pub metric: String,
    pub value: f64,
    /// Normal band learnt at training time (e.g. 1st..99th percentile or median +- k MAD).
    pub normal_low: f64,
    pub normal_high: f64,
    /// Share of the anomaly attributed to this metric, 0..1 (all contributions sum to ~1).
    pub contribution: f64,
}

/// Why a moment was anomalous: top metrics and the busiest processes at the peak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Explanation {
    pub metrics: Vec<MetricContribution>,
    pub top_cpu: Vec<ProcessInfo>,
    pub top_memory: Vec<ProcessInfo>,
    /// Set when the event recurs on a rhythm the detector has seen ("daily pattern:
    /// also at this time on 3 earlier days"); such events are flagged expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhythm: Option<String>,
}

/// An anomaly event: a stretch of samples whose score stayed over the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AnomalyEvent {
    /// Store id; 0 until stored.
    pub id: i64,
    pub host: String,
    pub start: TimestampMs,
    /// None while the event is open.
    pub end: Option<TimestampMs>,
    pub peak_score: f64,
    pub peak_at: TimestampMs,
    pub explanation: Explanation,
    /// An admin marked it expected (e.g. a nightly backup): treated as normal in training.
    pub expected: bool,
}
