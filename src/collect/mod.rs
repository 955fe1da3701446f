//! Sampler: reads the host and turns raw counters into snapshots.
//!
//! Split in two so it can be tested without a real host or clock:
//! - [`probe`] reads the system ([`SystemProbe`], sysinfo + procfs) into a
//!   [`RawReading`] of cumulative counters and gauges;
//! - [`derive`] is a pure function from (previous reading, current reading) to a
//!   [`Snapshot`], with rates over the time actually elapsed between the readings.
//!
//! One file per metric family: `cpu`, `memory`, `load`, `disk`, `network`,
//! `processes`, plus `rate` for counter maths.

mod cpu;
pub mod derive;
mod disk;
mod load;
mod memory;
mod network;
pub mod probe;
mod processes;
pub mod rate;
pub mod raw;

pub use disk::parse_diskstats;
pub use memory::{parse_meminfo, CacheAndBuffers};
pub use probe::{Probe, SystemProbe};
pub use raw::{DiskCounters, NetCounters, RawReading};

use crate::model::{Snapshot, TimestampMs};
use std::time::Duration;

/// Sampler tuning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplerOptions {
    /// How often to rescan the process table (the costly part). Default 5 s.
    pub process_refresh_every: Duration,
    /// How many processes to keep in each top list. Default 10.
    pub top_n: usize,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        SamplerOptions {
            process_refresh_every: Duration::from_secs(5),
            top_n: 10,
        }
    }
}

/// Produces one [`Snapshot`] per call, keeping the previous raw reading to compute
/// rates. Blocking but fast (no sleeps): meant for `spawn_blocking` once per tick.
pub struct Sampler {
    host: String,
    probe: Box<dyn Probe>,
    prev: Option<RawReading>,
}

impl Sampler {
    /// A sampler of this host. Primes CPU baselines now so the first `sample()`
    /// already reports CPU usage (rates are 0 on the first sample: no baseline).
    pub fn new(host: String, opts: SamplerOptions) -> Sampler {
        Sampler::with_probe(host, Box::new(SystemProbe::new(opts)))
    }

    /// A sampler over any probe (tests use scripted readings).
    pub fn with_probe(host: String, probe: Box<dyn Probe>) -> Sampler {
        Sampler {
            host,
            probe,
            prev: None,
        }
    }

    /// Reads the system and returns the snapshot stamped `now`. Rates cover the
    /// time since the previous call's `now`, whatever the configured interval.
    pub fn sample(&mut self, now: TimestampMs) -> Snapshot {
        let cur = self.probe.read(now);
        let snap = derive::derive(&self.host, self.prev.as_ref(), &cur);
        self.prev = Some(cur);
        snap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::now_ms;

    fn logical_cores() -> usize {
        std::fs::read_to_string("/proc/cpuinfo")
            .map(|t| t.lines().filter(|l| l.starts_with("processor")).count())
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    fn assert_sane(s: &Snapshot) {
        assert!((0.0..=100.0).contains(&s.cpu.total), "cpu {}", s.cpu.total);
        assert_eq!(s.cpu_usage, s.cpu.total);
        assert!(s.cpu.per_core.iter().all(|c| (0.0..=100.0).contains(c)));
        assert!(s.memory.total_bytes > 0);
        assert!(s.memory.used_bytes <= s.memory.total_bytes);
        assert_eq!(
            s.memory.used_bytes,
            s.memory.total_bytes - s.memory.available_bytes
        );
        assert!((0.0..=100.0).contains(&s.memory.usage_percent));
        assert_eq!(s.memory_usage, s.memory.usage_percent);
        assert!(s.memory.swap_used_bytes <= s.memory.swap_total_bytes);
        assert!(s.load.one >= 0.0 && s.load.five >= 0.0 && s.load.fifteen >= 0.0);
        assert_eq!(s.load_average, s.load.one);
        assert!((0.0..=100.0).contains(&s.disk.free_percent));
        for v in s.scalars() {
            assert!(v.is_finite() && v >= 0.0, "scalar {v} out of range");
        }
        assert!(s.processes.count > 0);
        assert!(s.processes.top_cpu.len() <= 10 && !s.processes.top_cpu.is_empty());
        assert!(s.processes.top_memory.len() <= 10);
        let rss: Vec<_> = s.processes.top_memory.iter().map(|p| p.rss_bytes).collect();
        assert!(rss.windows(2).all(|w| w[0] >= w[1]), "top memory sorted");
    }

    #[test]
    fn real_host_values_are_in_range() {
        let mut sampler = Sampler::new("test".into(), SamplerOptions::default());
        let t0 = now_ms();
        let first = sampler.sample(t0);
        assert_sane(&first);
        assert_eq!(first.cpu.per_core.len(), logical_cores());
        assert_eq!(first.network.rx_bytes_per_sec, 0.0, "no baseline yet");
        assert_eq!(first.interval_secs, 0.0);
        if cfg!(target_os = "linux") {
            assert!(
                first.memory.cached_bytes > 0,
                "page cache from /proc/meminfo"
            );
            assert!(!first.disk.filesystems.is_empty());
        }

        std::thread::sleep(Duration::from_millis(300));
        let second = sampler.sample(now_ms());
        assert_sane(&second);
        assert!(second.interval_secs > 0.2);
        assert_eq!(second.host, "test");
    }

    /// Scripted probe: proves `Sampler` keeps the previous reading and stamps `now`.
    struct Script(Vec<RawReading>);
    impl Probe for Script {
        fn read(&mut self, now: TimestampMs) -> RawReading {
            let mut r = self.0.remove(0);
            r.taken_at = now;
            r
        }
    }

    #[test]
    fn sampler_uses_previous_reading_and_given_clock() {
        let iface = |rx| RawReading {
            interfaces: vec![NetCounters {
                name: "eth0".into(),
                rx_bytes: rx,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut s = Sampler::with_probe("h".into(), Box::new(Script(vec![iface(0), iface(3000)])));
        assert_eq!(s.sample(1_000).network.rx_bytes_per_sec, 0.0);
        let snap = s.sample(4_000);
        assert_eq!(snap.timestamp, 4_000);
        assert_eq!(snap.interval_secs, 3.0);
        assert_eq!(snap.network.rx_bytes_per_sec, 1000.0);
    }
}
