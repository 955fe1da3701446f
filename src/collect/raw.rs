//! Raw readings: what the probe reads from the system, before any maths.
//!
//! Cumulative counters (disk and network) only mean something as a difference
//! between two readings; gauges (CPU %, memory, load, filesystems, processes) are
//! already what the snapshot shows. Keeping both in one plain struct lets the
//! derivation in `derive.rs` be a pure function that tests feed synthetic readings.

use super::cgroup::CgroupCounters;
use crate::model::{
    FilesystemUsage, LoadAverage, MemoryStats, PressureStats, ProcessStats, TimestampMs,
};

/// Cumulative I/O counters of one block device since boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskCounters {
    pub name: String,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
    /// Counted in the host totals. False for stacked devices (device-mapper, md
    /// RAID) whose I/O is already counted on the disks underneath.
    pub in_total: bool,
}

/// Cumulative counters of one network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetCounters {
    pub name: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
}

/// Everything read from the system at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawReading {
    /// When the reading was taken; rates use the difference of two of these, not
    /// the configured interval, so a late tick doesn't inflate rates.
    pub taken_at: TimestampMs,
    /// 0-100 (gauge; sysinfo already differentiates CPU ticks).
    pub cpu_total: f64,
    pub cpu_per_core: Vec<f64>,
    pub memory: MemoryStats,
    pub load: LoadAverage,
    pub disks: Vec<DiskCounters>,
    pub filesystems: Vec<FilesystemUsage>,
    pub interfaces: Vec<NetCounters>,
    pub processes: ProcessStats,
    /// The cgroup's limits and counters, when a cgroup was found at start and its
    /// files read this time.
    pub cgroup: Option<CgroupCounters>,
    /// `/proc/pressure`, None on a kernel without PSI.
    pub host_pressure: Option<PressureStats>,
}
