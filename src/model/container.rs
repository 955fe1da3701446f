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
pub enum RunScope {
    /// The whole node (no cgroup limits found, or they could not be read).
    #[default]
    Host,
    /// A cgroup with a CPU quota and/or a memory limit.
    Container,
}

impl RunScope {
    pub fn name(self) -> &'static str {
        match self {
            RunScope::Host => "host",
            RunScope::Container => "container",
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
    /// True when a quota (cpu.max / cfs_quota_us, the tightest over the group's
    /// ancestors) under the node's cores is set: the container can be throttled.
    pub cpu_quota_set: bool,
    /// CPUs of the group's cpuset (`cpuset.cpus.effective`) when fewer than the
    /// node's; `cpu_limit_cores` is the smaller of this and the quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpuset_cpus: Option<usize>,
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

/// The metrics of [`super::METRICS`] this file adds (appended at its end). They are
/// stored, charted and available to rules, but are not detector features: issue 12
/// asks to keep them only if they measurably improve the detector, and on the trace
/// recorded with them (tests/data/trace-pressure) they do not (a shuffled copy of the
/// PSI columns did better than the real ones: docs/detection.md, `--example
/// pressure_features`). Saved models keep their width.
pub const SCOPE_METRICS: &[&str] = &[
    "cpu_throttled_percent",
    "cpu_throttled_percent_1m",
    "memory_oom_kills",
    "psi_cpu_some",
    "psi_memory_some",
    "psi_memory_full",
    "psi_io_some",
    "psi_io_full",
];

/// The detector's features: [`super::METRICS`] without [`SCOPE_METRICS`] (a prefix
/// of METRICS, so a longer row cut to this width keeps the right columns).
pub fn detector_metric_names() -> Vec<String> {
    super::METRICS
        .iter()
        .filter(|d| !SCOPE_METRICS.contains(&d.name))
        .map(|d| d.name.to_string())
        .collect()
}

impl super::Snapshot {
    /// Values of [`SCOPE_METRICS`]; 0 where there is no container or no PSI (so
    /// every stored scalar stays a finite number).
    pub fn scope_metric(&self, name: &str) -> Option<f64> {
        let c = self.container.as_ref();
        let p = self.pressure.as_ref();
        let avg = |r: fn(&PressureStats) -> Option<Pressure>, full: bool| {
            p.and_then(r)
                .map_or(0.0, |x| if full { x.full_avg10 } else { x.some_avg10 })
        };
        Some(match name {
            "cpu_throttled_percent" => c.map_or(0.0, |c| c.throttled_percent),
            "cpu_throttled_percent_1m" => c.map_or(0.0, |c| c.throttled_percent_last_minute),
            "memory_oom_kills" => c.map_or(0.0, |c| c.oom_kills_in_interval as f64),
            "psi_cpu_some" => avg(|p| p.cpu, false),
            "psi_memory_some" => avg(|p| p.memory, false),
            "psi_memory_full" => avg(|p| p.memory, true),
            "psi_io_some" => avg(|p| p.io, false),
            "psi_io_full" => avg(|p| p.io, true),
            _ => return None,
        })
    }
}

/// "container: 0.5 CPU, 512 MiB" for the dashboard header and the log.
pub fn describe_limits(c: &ContainerStats) -> String {
    let cpu = if c.cpu_quota_set {
        let cores = (c.cpu_limit_cores * 100.0).round() / 100.0;
        format!("{cores} CPU")
    } else if let Some(n) = c.cpuset_cpus {
        format!("{n} CPU{} (cpuset)", if n == 1 { "" } else { "s" })
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
        let c = ContainerStats {
            cpu_limit_cores: 2.0,
            cpuset_cpus: Some(2),
            ..Default::default()
        };
        assert_eq!(
            describe_limits(&c),
            "container: 2 CPUs (cpuset), no memory limit"
        );
    }

    #[test]
    fn scope_metrics_are_the_tail_of_metrics_and_not_detector_features() {
        let names: Vec<&str> = super::super::METRICS.iter().map(|d| d.name).collect();
        let tail = &names[names.len() - SCOPE_METRICS.len()..];
        assert_eq!(tail, SCOPE_METRICS);
        let det = detector_metric_names();
        assert_eq!(det.len(), names.len() - SCOPE_METRICS.len());
        assert_eq!(det, names[..det.len()]);
    }

    #[test]
    fn scope_metrics_read_the_container_and_pressure() {
        let mut s = super::super::Snapshot::default();
        assert_eq!(s.metric("psi_cpu_some"), Some(0.0), "no PSI: 0");
        assert_eq!(s.metric("cpu_throttled_percent_1m"), Some(0.0));
        s.container = Some(ContainerStats {
            throttled_percent: 12.0,
            throttled_percent_last_minute: 38.0,
            oom_kills_in_interval: 2,
            ..Default::default()
        });
        s.pressure = Some(PressureStats {
            source: "cgroup".into(),
            memory: Some(Pressure {
                some_avg10: 4.5,
                full_avg10: 1.25,
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(s.metric("cpu_throttled_percent"), Some(12.0));
        assert_eq!(s.metric("cpu_throttled_percent_1m"), Some(38.0));
        assert_eq!(s.metric("memory_oom_kills"), Some(2.0));
        assert_eq!(s.metric("psi_memory_some"), Some(4.5));
        assert_eq!(s.metric("psi_memory_full"), Some(1.25));
        assert_eq!(s.metric("psi_io_full"), Some(0.0));
    }

    #[test]
    fn scope_serialises_as_the_documented_words() {
        assert_eq!(
            serde_json::to_string(&RunScope::Container).unwrap(),
            "\"container\""
        );
        assert_eq!(serde_json::to_string(&RunScope::Host).unwrap(), "\"host\"");
    }
}
