//! Wire types for the workload's scope: host or container (a cgroup with limits),
//! the container's own figures, the node's figures kept beside them, and pressure
//! stall information (PSI).
//!
//! In a container the snapshot's primary figures (`cpu_usage`, `memory_usage`,
//! `cpu`, `memory`) are the container's share of its limits; the node's are kept
//! under [`NodeFigures`]. On a host without limits `scope` is `host`, `container`
//! and `node` are absent and everything is the node's.

use serde::{Deserialize, Serialize};

/// Where Lookout's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The whole node (no cgroup limits found, or they could not be read).
    #[default]
    Host,
    /// A cgroup with a CPU quota and/or a memory limit.
    Container,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Host => "host",
            Scope::Container => "container",
        }
    }
}

/// One PSI line pair (`some` and `full`) of a pressure file. Averages are the
/// percentage of wall time in which tasks stalled; totals are microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Pressure {
    pub some_avg10: f64,
    pub some_avg60: f64,
    pub some_total_us: u64,
    /// `full` is absent from the host's cpu file on kernels before 5.13: 0 then.
    pub full_avg10: f64,
    pub full_avg60: f64,
    pub full_total_us: u64,
}

/// Pressure stall information of CPU, memory and I/O; a resource is None where
/// the kernel has no PSI (`psi=0`, kernels before 4.20, a cgroup without it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PressureStats {
    /// `cgroup` (the container's `*.pressure` files) or `host` (`/proc/pressure`).
    pub source: String,
    pub cpu: Option<Pressure>,
    pub memory: Option<Pressure>,
    pub io: Option<Pressure>,
}

/// The container's own figures (cgroup v2 or v1), primary in container scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ContainerStats {
    /// "v2" or "v1".
    pub cgroup_version: String,
    /// The cgroup's directory as this process sees it (cpu controller on v1).
    pub cgroup_path: String,
    /// CPUs the container may use: quota / period, or the node's cores when no
    /// quota is set.
    pub cpu_limit_cores: f64,
    /// True when `cpu_limit_cores` comes from a quota (cpu.max / cfs_quota_us).
    pub cpu_quota_set: bool,
    /// CPU used over the last interval as a share of `cpu_limit_cores`, 0-100.
    pub cpu_usage_percent: f64,
    /// Cumulative CFS periods and throttled periods, and throttled time (µs).
    pub cpu_periods: u64,
    pub cpu_throttled_periods: u64,
    pub cpu_throttled_us: u64,
    /// Throttled periods / periods over the last interval, 0-100.
    pub throttled_percent: f64,
    /// Throttled periods / periods over (up to) the last minute, 0-100.
    pub throttled_percent_last_minute: f64,
    /// memory.current (v2) / memory.usage_in_bytes (v1), page cache included.
    pub memory_current_bytes: u64,
    /// `memory_current_bytes` minus inactive file cache, as `docker stats` shows.
    pub memory_working_set_bytes: u64,
    /// memory.max / memory.limit_in_bytes; None when unlimited ("max") or bogus.
    pub memory_max_bytes: Option<u64>,
    /// Working set / limit, 0-100 (0 without a limit).
    pub memory_usage_percent: f64,
    /// File cache charged to the container.
    pub memory_cache_bytes: u64,
    pub swap_current_bytes: u64,
    pub swap_max_bytes: Option<u64>,
    /// Cumulative counters from memory.events (v2); v1 has oom_kill in
    /// memory.oom_control (kernel 4.13+) and nothing for high/max.
    pub oom_kills: u64,
    pub memory_high_events: u64,
    pub memory_max_events: u64,
    /// OOM kills during the last interval (an alert-able rate of the counter).
    pub oom_kills_in_interval: u64,
    /// From io.stat (v2) / blkio.throttle.io_service_bytes (v1), 0 where absent.
    pub io_read_bytes_per_sec: f64,
    pub io_write_bytes_per_sec: f64,
}

/// The node's figures, kept in container scope beside the container's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NodeFigures {
    pub cpu_usage: f64,
    pub memory_usage: f64,
    pub memory_total_bytes: u64,
    pub memory_used_bytes: u64,
    pub load_average: f64,
    pub cores: usize,
    /// `/proc/pressure`, when the container's own pressure files are primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<PressureStats>,
}

/// "container: 0.5 CPU, 512 MiB" for the dashboard header and the log.
pub fn describe_limits(c: &ContainerStats) -> String {
    let cpu = if c.cpu_quota_set {
        let cores = (c.cpu_limit_cores * 100.0).round() / 100.0;
        format!("{cores} CPU")
    } else {
        "no CPU quota".to_string()
    };
    let mem = match c.memory_max_bytes {
        Some(b) if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        Some(b) if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        Some(b) => format!("{} MiB", b >> 20),
        None => "no memory limit".to_string(),
    };
    format!("container: {cpu}, {mem}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_like_docker_flags() {
        let c = ContainerStats {
            cpu_limit_cores: 0.5,
            cpu_quota_set: true,
            memory_max_bytes: Some(512 << 20),
            ..Default::default()
        };
        assert_eq!(describe_limits(&c), "container: 0.5 CPU, 512 MiB");
        let c = ContainerStats {
            cpu_limit_cores: 2.0,
            cpu_quota_set: false,
            memory_max_bytes: Some(3 << 30),
            ..Default::default()
        };
        assert_eq!(describe_limits(&c), "container: no CPU quota, 3 GiB");
    }

    #[test]
    fn scope_serialises_as_the_documented_words() {
        assert_eq!(
            serde_json::to_string(&Scope::Container).unwrap(),
            "\"container\""
        );
        assert_eq!(serde_json::to_string(&Scope::Host).unwrap(), "\"host\"");
    }
}
