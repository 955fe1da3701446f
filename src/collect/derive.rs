//! The pure half of the sampler: (previous reading, current reading) -> Snapshot.
//!
//! No clock, no system calls: elapsed time comes from the readings' own timestamps,
//! so tests can drive resets, device churn and irregular intervals with plain data.

use super::cgroup::CgroupCounters;
use super::disk::fullest_free_percent;
use super::network::counts_in_total;
use super::rate::{percent, rate};
use super::raw::{DiskCounters, NetCounters, RawReading};
use crate::model::{
    ContainerStats, CpuStats, DeviceIo, DiskStats, InterfaceIo, MemoryStats, NetworkStats,
    NodeFigures, RunScope, Snapshot,
};

/// Builds the snapshot for `cur`. With no previous reading (first sample) or a
/// non-advancing clock every rate is 0. A device or interface absent from `prev`
/// (hot-plugged, re-created) reports 0 this time: there is no baseline, and its
/// lifetime counters would otherwise show as one huge spike.
pub fn derive(host: &str, prev: Option<&RawReading>, cur: &RawReading) -> Snapshot {
    let elapsed = prev
        .map(|p| (cur.taken_at - p.taken_at) as f64 / 1000.0)
        .unwrap_or(0.0)
        .max(0.0);
    let disk = disk_stats(prev.map(|p| p.disks.as_slice()), cur, elapsed);
    let network = net_stats(prev.map(|p| p.interfaces.as_slice()), cur, elapsed);
    let mut snap = Snapshot {
        cpu_usage: cur.cpu_total,
        memory_usage: cur.memory.usage_percent,
        load_average: cur.load.one,
        host: host.to_string(),
        timestamp: cur.taken_at,
        interval_secs: elapsed,
        cpu: CpuStats {
            total: cur.cpu_total,
            per_core: cur.cpu_per_core.clone(),
        },
        memory: cur.memory.clone(),
        load: cur.load.clone(),
        disk,
        network,
        processes: cur.processes.clone(),
        anomaly_score: None,
        anomaly: false,
        scope: RunScope::Host,
        container: None,
        node: None,
        pressure: cur.host_pressure.clone(),
    };
    if let Some(c) = &cur.cgroup {
        let prev_c = prev.and_then(|p| p.cgroup.as_ref());
        let cs = container_stats(
            prev_c,
            c,
            elapsed,
            cur.cpu_per_core.len(),
            cur.memory.total_bytes,
        );
        if effective(&cs) {
            apply_container(&mut snap, cs, c, cur);
        }
    }
    snap
}

/// The cgroup limits the workload below the node: a CPU quota under the node's
/// cores or a memory limit under the node's memory. Otherwise the node's figures
/// are the workload's and the scope is `host`.
pub fn effective(cs: &ContainerStats) -> bool {
    cs.cpu_quota_set || cs.cpuset_cpus.is_some() || cs.memory_max_bytes.is_some()
}

/// Makes the container's figures primary: CPU as a share of the quota, memory as
/// the working set against the limit; the node's go under `node`.
fn apply_container(snap: &mut Snapshot, cs: ContainerStats, c: &CgroupCounters, cur: &RawReading) {
    snap.node = Some(NodeFigures {
        cpu_usage: cur.cpu_total,
        memory_usage: cur.memory.usage_percent,
        memory_total_bytes: cur.memory.total_bytes,
        memory_used_bytes: cur.memory.used_bytes,
        load_average: cur.load.one,
        cores: cur.cpu_per_core.len(),
        pressure: c.pressure.as_ref().and(cur.host_pressure.clone()),
    });
    if let Some(p) = &c.pressure {
        snap.pressure = Some(p.clone());
    }
    snap.cpu.total = cs.cpu_usage_percent;
    snap.cpu_usage = cs.cpu_usage_percent;
    snap.scope = RunScope::Container;
    if !c.memory_read {
        // No memory controller for this group: memory stays the node's.
        snap.container = Some(cs);
        return;
    }
    let limit = cs.memory_max_bytes.unwrap_or(cur.memory.total_bytes);
    let used = cs.memory_working_set_bytes.min(limit);
    let swap_total = cs.swap_max_bytes.unwrap_or(cur.memory.swap_total_bytes);
    let swap_used = cs.swap_current_bytes.min(swap_total);
    snap.memory = MemoryStats {
        total_bytes: limit,
        used_bytes: used,
        available_bytes: limit - used,
        free_bytes: limit.saturating_sub(cs.memory_current_bytes),
        cached_bytes: cs.memory_cache_bytes,
        buffers_bytes: 0,
        usage_percent: cs.memory_usage_percent,
        swap_total_bytes: swap_total,
        swap_used_bytes: swap_used,
        swap_usage_percent: percent(swap_used, swap_total),
    };
    snap.memory_usage = cs.memory_usage_percent;
    snap.container = Some(cs);
}

/// The container's figures from two readings of its counters. Never over 100 %,
/// never a division by zero: a quota above the node's cores counts as the node's
/// cores, a memory limit above the node's memory as the node's memory.
pub fn container_stats(
    prev: Option<&CgroupCounters>,
    c: &CgroupCounters,
    elapsed: f64,
    node_cores: usize,
    node_memory: u64,
) -> ContainerStats {
    let cores = node_cores.max(1) as f64;
    let quota = c.cpu_quota_cores.filter(|q| *q < cores);
    // A cpuset of fewer CPUs than the node's caps the CPU time as a quota does (a
    // cpuset naming more CPUs than /proc/stat shows is not a limit).
    let cpuset = c.cpuset_cpus.filter(|&n| n >= 1 && (n as f64) < cores);
    let limit_cores = quota
        .unwrap_or(cores)
        .min(cpuset.map_or(cores, |n| n as f64));
    let pct = |v: f64| {
        if v.is_finite() {
            v.clamp(0.0, 100.0)
        } else {
            0.0
        }
    };
    let cpu_usage_percent = prev.map_or(0.0, |p| {
        let used_cores = rate(p.cpu_usage_us, c.cpu_usage_us, elapsed) / 1e6;
        pct(used_cores / limit_cores * 100.0)
    });
    let throttled_percent = prev.map_or(0.0, |p| {
        throttled_share(p.nr_periods, p.nr_throttled, c.nr_periods, c.nr_throttled)
    });
    let memory_max = c
        .memory_max
        .filter(|&m| c.memory_read && (node_memory == 0 || m < node_memory));
    let working_set = c.memory_current.saturating_sub(c.inactive_file);
    let mem_limit = memory_max.unwrap_or(node_memory);
    ContainerStats {
        cgroup_version: c.version.to_string(),
        cgroup_path: c.path.clone(),
        cpu_limit_cores: limit_cores,
        cpu_quota_set: quota.is_some(),
        cpuset_cpus: cpuset,
        cpu_usage_percent,
        cpu_periods: c.nr_periods,
        cpu_throttled_periods: c.nr_throttled,
        cpu_throttled_us: c.throttled_us,
        throttled_percent,
        throttled_percent_last_minute: throttled_percent,
        memory_current_bytes: c.memory_current,
        memory_working_set_bytes: working_set,
        memory_max_bytes: memory_max,
        memory_usage_percent: percent(working_set.min(mem_limit), mem_limit),
        memory_cache_bytes: c.file,
        swap_current_bytes: c.swap_current,
        swap_max_bytes: c.swap_max,
        oom_kills: c.oom_kill,
        memory_high_events: c.high_events,
        memory_max_events: c.max_events,
        oom_kills_in_interval: prev.map_or(0, |p| c.oom_kill.saturating_sub(p.oom_kill)),
        io_read_bytes_per_sec: prev
            .map_or(0.0, |p| rate(p.io_read_bytes, c.io_read_bytes, elapsed)),
        io_write_bytes_per_sec: prev
            .map_or(0.0, |p| rate(p.io_write_bytes, c.io_write_bytes, elapsed)),
    }
}

/// Throttled periods as a share of the periods between two readings, 0-100; 0
/// when no period passed or a counter went backwards (group re-created).
pub fn throttled_share(p_periods: u64, p_throttled: u64, periods: u64, throttled: u64) -> f64 {
    if periods <= p_periods || throttled < p_throttled {
        return 0.0;
    }
    let dp = periods - p_periods;
    let dt = (throttled - p_throttled).min(dp);
    dt as f64 / dp as f64 * 100.0
}

fn disk_stats(prev: Option<&[DiskCounters]>, cur: &RawReading, elapsed: f64) -> DiskStats {
    let mut s = DiskStats {
        free_percent: fullest_free_percent(&cur.filesystems),
        filesystems: cur.filesystems.clone(),
        ..DiskStats::default()
    };
    for c in &cur.disks {
        let p = prev.and_then(|ps| ps.iter().find(|p| p.name == c.name));
        let r = |f: fn(&DiskCounters) -> u64| p.map_or(0.0, |p| rate(f(p), f(c), elapsed));
        let d = DeviceIo {
            name: c.name.clone(),
            read_bytes_per_sec: r(|d| d.read_bytes),
            write_bytes_per_sec: r(|d| d.write_bytes),
            read_ops_per_sec: r(|d| d.read_ops),
            write_ops_per_sec: r(|d| d.write_ops),
        };
        // Totals are sums of per-device rates, not rates of summed counters: a device
        // disappearing must not look like a reset of the whole host.
        if c.in_total {
            s.read_bytes_per_sec += d.read_bytes_per_sec;
            s.write_bytes_per_sec += d.write_bytes_per_sec;
            s.read_ops_per_sec += d.read_ops_per_sec;
            s.write_ops_per_sec += d.write_ops_per_sec;
        }
        s.devices.push(d);
    }
    s
}

fn net_stats(prev: Option<&[NetCounters]>, cur: &RawReading, elapsed: f64) -> NetworkStats {
    let mut s = NetworkStats::default();
    for c in &cur.interfaces {
        let p = prev.and_then(|ps| ps.iter().find(|p| p.name == c.name));
        let r = |f: fn(&NetCounters) -> u64| p.map_or(0.0, |p| rate(f(p), f(c), elapsed));
        let i = InterfaceIo {
            name: c.name.clone(),
            rx_bytes_per_sec: r(|n| n.rx_bytes),
            tx_bytes_per_sec: r(|n| n.tx_bytes),
            rx_packets_per_sec: r(|n| n.rx_packets),
            tx_packets_per_sec: r(|n| n.tx_packets),
            rx_errors_per_sec: r(|n| n.rx_errors),
            tx_errors_per_sec: r(|n| n.tx_errors),
        };
        if counts_in_total(&c.name) {
            s.rx_bytes_per_sec += i.rx_bytes_per_sec;
            s.tx_bytes_per_sec += i.tx_bytes_per_sec;
            s.rx_packets_per_sec += i.rx_packets_per_sec;
            s.tx_packets_per_sec += i.tx_packets_per_sec;
            s.rx_errors_per_sec += i.rx_errors_per_sec;
            s.tx_errors_per_sec += i.tx_errors_per_sec;
        }
        s.interfaces.push(i);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FilesystemUsage, LoadAverage, MemoryStats};

    fn reading(t: i64, disk_read: u64, eth_rx: u64, lo_rx: u64) -> RawReading {
        RawReading {
            taken_at: t,
            cpu_total: 12.5,
            cpu_per_core: vec![10.0, 15.0],
            memory: MemoryStats {
                total_bytes: 100,
                used_bytes: 40,
                usage_percent: 40.0,
                ..Default::default()
            },
            load: LoadAverage {
                one: 0.5,
                five: 0.4,
                fifteen: 0.3,
            },
            disks: vec![
                DiskCounters {
                    name: "sda".into(),
                    read_bytes: disk_read,
                    read_ops: disk_read / 512,
                    in_total: true,
                    ..Default::default()
                },
                DiskCounters {
                    name: "dm-0".into(),
                    read_bytes: disk_read,
                    in_total: false,
                    ..Default::default()
                },
            ],
            filesystems: vec![FilesystemUsage {
                mount_point: "/".into(),
                total_bytes: 1000,
                available_bytes: 250,
            }],
            interfaces: vec![
                NetCounters {
                    name: "eth0".into(),
                    rx_bytes: eth_rx,
                    ..Default::default()
                },
                NetCounters {
                    name: "lo".into(),
                    rx_bytes: lo_rx,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn first_sample_has_zero_rates_and_gauges() {
        let s = derive("h", None, &reading(1_000, 5_000, 7_000, 1));
        assert_eq!(s.interval_secs, 0.0);
        assert_eq!(s.disk.read_bytes_per_sec, 0.0);
        assert_eq!(s.network.rx_bytes_per_sec, 0.0);
        assert_eq!(s.cpu_usage, 12.5);
        assert_eq!(s.memory_usage, 40.0);
        assert_eq!(s.load_average, 0.5);
        assert_eq!(s.disk.free_percent, 25.0);
        assert_eq!(s.host, "h");
        assert_eq!(s.timestamp, 1_000);
    }

    #[test]
    fn rates_use_actual_elapsed_and_skip_stacked_and_loopback() {
        let a = reading(10_000, 0, 0, 0);
        let b = reading(12_000, 4096, 2000, 999_999);
        let s = derive("h", Some(&a), &b);
        assert_eq!(s.interval_secs, 2.0);
        assert_eq!(s.disk.read_bytes_per_sec, 2048.0, "dm-0 not double counted");
        assert_eq!(s.disk.read_ops_per_sec, 4.0);
        assert_eq!(
            s.disk.devices[1].read_bytes_per_sec, 2048.0,
            "dm-0 still listed"
        );
        assert_eq!(s.network.rx_bytes_per_sec, 1000.0, "lo excluded from total");
        assert_eq!(s.network.interfaces[1].rx_bytes_per_sec, 999_999.0 / 2.0);
    }

    #[test]
    fn changed_interval_changes_divisor() {
        let a = reading(0, 0, 0, 0);
        // Same increase over 5 s instead of 1 s: a fifth of the rate.
        let s1 = derive("h", Some(&a), &reading(1_000, 0, 5_000, 0));
        let s5 = derive("h", Some(&a), &reading(5_000, 0, 5_000, 0));
        assert_eq!(s1.network.rx_bytes_per_sec, 5_000.0);
        assert_eq!(s5.network.rx_bytes_per_sec, 1_000.0);
    }

    #[test]
    fn counter_reset_counts_from_zero() {
        let a = reading(0, 1_000_000, 1_000_000, 0);
        let b = reading(1_000, 512, 300, 0);
        let s = derive("h", Some(&a), &b);
        assert_eq!(s.network.rx_bytes_per_sec, 300.0);
        assert_eq!(s.disk.read_bytes_per_sec, 512.0);
    }

    #[test]
    fn clock_going_backwards_gives_zero_rates() {
        let a = reading(5_000, 0, 0, 0);
        let s = derive("h", Some(&a), &reading(4_000, 1024, 1024, 0));
        assert_eq!(s.interval_secs, 0.0);
        assert_eq!(s.network.rx_bytes_per_sec, 0.0);
    }

    #[test]
    fn appearing_and_disappearing_interfaces() {
        let mut a = reading(0, 0, 0, 0);
        a.interfaces.push(NetCounters {
            name: "veth-old".into(),
            rx_bytes: 10,
            ..Default::default()
        });
        let mut b = reading(1_000, 0, 100, 0);
        b.interfaces.push(NetCounters {
            name: "wg0".into(),
            rx_bytes: 1 << 40,
            ..Default::default()
        });
        let s = derive("h", Some(&a), &b);
        let names: Vec<_> = s
            .network
            .interfaces
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(names, ["eth0", "lo", "wg0"]);
        assert_eq!(
            s.network.interfaces[2].rx_bytes_per_sec, 0.0,
            "no baseline yet"
        );
        assert_eq!(s.network.rx_bytes_per_sec, 100.0);
    }

    // ------------------------------------------------------------ container scope

    use crate::collect::cgroup::{detect, read_counters};
    use crate::model::{describe_limits, RunScope};
    use std::path::PathBuf;

    fn counters(fixture: &str) -> CgroupCounters {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cgroup")
            .join(fixture);
        read_counters(&detect(&root).unwrap()).unwrap()
    }

    /// A 2-core, 8 GiB node whose own CPU is at 12.5 % and memory at 40 %.
    fn node_reading(t: i64, cgroup: Option<CgroupCounters>) -> RawReading {
        let mut r = reading(t, 0, 0, 0);
        r.memory = MemoryStats {
            total_bytes: 8 << 30,
            used_bytes: (8u64 << 30) / 10 * 4,
            available_bytes: (8u64 << 30) - (8u64 << 30) / 10 * 4,
            usage_percent: 40.0,
            swap_total_bytes: 1 << 30,
            ..Default::default()
        };
        r.cgroup = cgroup;
        r
    }

    #[test]
    fn container_figures_are_primary_and_the_nodes_kept() {
        let a = counters("v2-container");
        let mut b = a.clone();
        // 2 s later: 0.5 CPU-seconds/s used (the whole quota of 0.5 CPU), 20 periods
        // of which 15 throttled, one more OOM kill.
        b.cpu_usage_us += 1_000_000;
        b.nr_periods += 20;
        b.nr_throttled += 15;
        b.oom_kill += 1;
        b.io_write_bytes += 2 << 20;
        let s = derive(
            "h",
            Some(&node_reading(0, Some(a))),
            &node_reading(2_000, Some(b)),
        );
        assert_eq!(s.scope, RunScope::Container);
        let c = s.container.as_ref().unwrap();
        assert_eq!(c.cpu_limit_cores, 0.5);
        assert!(c.cpu_quota_set);
        assert_eq!(c.cpu_usage_percent, 100.0);
        assert_eq!(s.cpu_usage, 100.0);
        assert_eq!(s.metric("cpu_usage"), Some(100.0));
        assert_eq!(c.throttled_percent, 75.0);
        assert_eq!(c.oom_kills_in_interval, 1);
        assert_eq!(c.io_write_bytes_per_sec, (1 << 20) as f64);
        // 384 MiB charged, 96 MiB of it inactive file cache: 288 MiB of 512 MiB.
        assert_eq!(c.memory_working_set_bytes, 288 << 20);
        assert_eq!(s.memory.total_bytes, 512 << 20);
        assert_eq!(s.memory.used_bytes, 288 << 20);
        assert_eq!(s.memory_usage, 56.25);
        assert_eq!(s.memory.swap_total_bytes, 0, "memory.swap.max 0: no swap");
        let node = s.node.as_ref().unwrap();
        assert_eq!(
            (node.cpu_usage, node.memory_usage, node.cores),
            (12.5, 40.0, 2)
        );
        assert_eq!(s.pressure.as_ref().unwrap().source, "cgroup");
    }

    #[test]
    fn unlimited_cgroup_keeps_host_scope() {
        let a = counters("v2-unlimited");
        let s = derive("h", None, &node_reading(0, Some(a)));
        assert_eq!(s.scope, RunScope::Host);
        assert!(s.container.is_none() && s.node.is_none());
        assert_eq!((s.cpu_usage, s.memory_usage), (12.5, 40.0));
    }

    #[test]
    fn cgroup_that_failed_to_read_falls_back_to_node_figures() {
        let s = derive("h", None, &node_reading(0, None));
        assert_eq!(s.scope, RunScope::Host);
        assert_eq!((s.cpu_usage, s.memory_usage), (12.5, 40.0));
    }

    #[test]
    fn bogus_limits_never_exceed_100_percent_or_divide_by_zero() {
        let mut a = counters("v2-container");
        // A memory limit above the node's memory is the node's memory; usage above
        // the limit (kernel slack) is capped; a quota above the node's cores is no
        // quota; zero cores reported is one core.
        a.memory_max = Some(1 << 40);
        a.memory_current = 20 << 30;
        a.inactive_file = 0;
        a.cpu_quota_cores = Some(64.0);
        let mut b = a.clone();
        b.cpu_usage_us += 50_000_000;
        let cs = container_stats(Some(&a), &b, 1.0, 0, 8 << 30);
        assert_eq!(cs.memory_max_bytes, None);
        assert!(!cs.cpu_quota_set);
        assert_eq!(cs.cpu_limit_cores, 1.0);
        assert_eq!(cs.cpu_usage_percent, 100.0);
        assert_eq!(cs.memory_usage_percent, 100.0);
        assert!(!effective(&cs));
        // Node memory unknown: the limit is taken as it is (20 GiB of 1 TiB).
        let cs = container_stats(None, &b, 0.0, 2, 0);
        assert_eq!(cs.memory_usage_percent, 1.953125);
        // Neither a limit nor node memory: 0 %, not NaN.
        b.memory_max = None;
        let cs = container_stats(None, &b, 0.0, 2, 0);
        assert_eq!(cs.memory_usage_percent, 0.0);
        assert_eq!(cs.cpu_usage_percent, 0.0, "no baseline yet");
    }

    #[test]
    fn v1_container_with_cpu_quota_only_shares_the_node_memory() {
        let a = counters("v1-docker");
        let mut b = a.clone();
        b.cpu_usage_us += 750_000;
        let mut node_a = node_reading(0, Some(a));
        node_a.cpu_per_core = vec![0.0; 4];
        let mut node_b = node_reading(1_000, Some(b));
        node_b.cpu_per_core = vec![0.0; 4];
        let s = derive("h", Some(&node_a), &node_b);
        assert_eq!(s.scope, RunScope::Container);
        let c = s.container.unwrap();
        assert_eq!(c.cpu_limit_cores, 1.5);
        assert_eq!(c.cpu_usage_percent, 50.0);
        assert_eq!(c.memory_max_bytes, None);
        assert_eq!(
            s.memory.total_bytes,
            8 << 30,
            "the node's memory is the limit"
        );
        assert_eq!(s.memory.used_bytes, 70 << 20);
    }

    #[test]
    fn without_memory_files_cpu_is_the_containers_and_memory_the_nodes() {
        let mut a = counters("v2-container");
        a.memory_read = false;
        let mut b = a.clone();
        b.cpu_usage_us += 500_000;
        let s = derive(
            "h",
            Some(&node_reading(0, Some(a))),
            &node_reading(1_000, Some(b)),
        );
        assert_eq!(s.scope, RunScope::Container);
        assert_eq!(s.cpu_usage, 100.0);
        assert_eq!(s.memory_usage, 40.0, "the node's");
        assert_eq!(s.memory.total_bytes, 8 << 30);
        assert_eq!(s.container.unwrap().memory_max_bytes, None);
    }

    #[test]
    fn a_cpuset_without_a_quota_is_the_cpu_limit() {
        // cpuset 0,2 on a 4-core node, no quota, no memory limit: 1.5 CPU-seconds/s
        // used is 75 % of the two CPUs the container may run on.
        let a = counters("v2-cpuset");
        let mut b = a.clone();
        b.cpu_usage_us += 1_500_000;
        let mut node_a = node_reading(0, Some(a.clone()));
        node_a.cpu_per_core = vec![0.0; 4];
        let mut node_b = node_reading(1_000, Some(b));
        node_b.cpu_per_core = vec![0.0; 4];
        let s = derive("h", Some(&node_a), &node_b);
        assert_eq!(s.scope, RunScope::Container);
        let c = s.container.as_ref().unwrap();
        assert_eq!((c.cpu_limit_cores, c.cpuset_cpus), (2.0, Some(2)));
        assert!(!c.cpu_quota_set, "a cpuset never throttles");
        assert_eq!(s.cpu_usage, 75.0);
        assert_eq!(s.memory.total_bytes, 8 << 30, "no memory limit: the node's");
        assert_eq!(
            describe_limits(c),
            "container: 2 CPUs (cpuset), no memory limit"
        );
        // The same cpuset on a 2-core node limits nothing: host scope.
        let s = derive("h", None, &node_reading(0, Some(a)));
        assert_eq!(s.scope, RunScope::Host);
    }

    #[test]
    fn docker_cpuset_cpus_captured_from_a_real_container() {
        // `docker run --cpuset-cpus 1 --memory 256m` on this 2-core hybrid host (Docker
        // 20.10, cgroup v1, the mounts show /docker/<id> at their roots).
        let a = counters("v1-docker-cpuset");
        assert_eq!((a.cpu_quota_cores, a.cpuset_cpus), (None, Some(1)));
        assert_eq!(a.memory_max, Some(256 << 20));
        let cs = container_stats(None, &a, 0.0, 2, 23 << 30);
        assert_eq!((cs.cpu_limit_cores, cs.cpuset_cpus), (1.0, Some(1)));
        assert!(!cs.cpu_quota_set && effective(&cs));
        assert_eq!(describe_limits(&cs), "container: 1 CPU (cpuset), 256 MiB");
    }

    #[test]
    fn the_tighter_of_quota_and_cpuset_and_a_parents_limits() {
        // The slice's quota 1.5 CPU and cpuset 2-3 on an 8-core node: 1.5 CPU.
        let a = counters("v2-nested");
        let cs = container_stats(None, &a, 0.0, 8, 8 << 30);
        assert_eq!(cs.cpu_limit_cores, 1.5);
        assert!(cs.cpu_quota_set);
        assert_eq!(cs.cpuset_cpus, Some(2));
        assert_eq!(cs.memory_max_bytes, Some(256 << 20));
        // A quota of 3 CPUs with cpuset 2-3: the cpuset binds.
        let mut b = a.clone();
        b.cpu_quota_cores = Some(3.0);
        let cs = container_stats(None, &b, 0.0, 8, 8 << 30);
        assert_eq!(cs.cpu_limit_cores, 2.0);
        // A cpuset of 0 CPUs (unparsed) or more than the node has is no limit.
        b.cpuset_cpus = Some(0);
        b.cpu_quota_cores = None;
        b.memory_max = None;
        assert!(!effective(&container_stats(None, &b, 0.0, 8, 8 << 30)));
        b.cpuset_cpus = Some(16);
        let cs = container_stats(None, &b, 0.0, 8, 8 << 30);
        assert_eq!((cs.cpu_limit_cores, cs.cpuset_cpus), (8.0, None));
    }

    #[test]
    fn throttled_share_edges() {
        assert_eq!(throttled_share(10, 5, 30, 15), 50.0);
        assert_eq!(throttled_share(10, 5, 10, 5), 0.0, "no period passed");
        assert_eq!(throttled_share(10, 5, 5, 1), 0.0, "counters reset");
        assert_eq!(throttled_share(0, 0, 10, 99), 100.0, "capped");
    }
}
