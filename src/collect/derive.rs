//! The pure half of the sampler: (previous reading, current reading) -> Snapshot.
//!
//! No clock, no system calls: elapsed time comes from the readings' own timestamps,
//! so tests can drive resets, device churn and irregular intervals with plain data.

use super::disk::fullest_free_percent;
use super::network::counts_in_total;
use super::rate::rate;
use super::raw::{DiskCounters, NetCounters, RawReading};
use crate::model::{CpuStats, DeviceIo, DiskStats, InterfaceIo, NetworkStats, Snapshot};

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
    Snapshot {
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
    }
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
}
