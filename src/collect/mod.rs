//! Sampler: reads the host and turns raw counters into snapshots.
//!
//! Split in two so it can be tested without a real host or clock:
//! - [`probe`] reads the system ([`SystemProbe`], sysinfo + procfs) into a
//!   [`RawReading`] of cumulative counters and gauges;
//! - [`derive`] is a pure function from (previous reading, current reading) to a
//!   [`Snapshot`], with rates over the time actually elapsed between the readings.
//!
//! One file per metric family: `cpu`, `memory`, `load`, `disk`, `network`,
//! `processes`, `cgroup` (container limits and counters), `psi` (pressure stall),
//! plus `rate` for counter maths.

pub mod cgroup;
mod cpu;
pub mod derive;
mod disk;
mod load;
mod memory;
mod network;
pub mod probe;
mod processes;
pub mod psi;
pub mod rate;
pub mod raw;

pub use disk::parse_diskstats;
pub use memory::{parse_meminfo, Meminfo};
pub use probe::{Probe, SystemProbe};
pub use raw::{DiskCounters, NetCounters, RawReading};

use crate::model::{Snapshot, TimestampMs};
use std::collections::VecDeque;
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
    /// (time, CFS periods, throttled periods) of the last minute's readings, for
    /// "throttled 38 % of periods in the last minute".
    throttle: VecDeque<(TimestampMs, u64, u64)>,
}

/// The span of [`crate::model::ContainerStats::throttled_percent_last_minute`].
pub const THROTTLE_WINDOW_MS: TimestampMs = 60_000;

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
            throttle: VecDeque::new(),
        }
    }

    /// Reads the system and returns the snapshot stamped `now`. Rates cover the
    /// time since the previous call's `now`, whatever the configured interval.
    pub fn sample(&mut self, now: TimestampMs) -> Snapshot {
        let cur = self.probe.read(now);
        let mut snap = derive::derive(&self.host, self.prev.as_ref(), &cur);
        self.prev = Some(cur);
        match snap.container.as_mut() {
            Some(c) => {
                let (periods, throttled) = (c.cpu_periods, c.cpu_throttled_periods);
                // A counter going backwards (group re-created) restarts the window.
                if self
                    .throttle
                    .back()
                    .is_some_and(|&(t, p, th)| now < t || periods < p || throttled < th)
                {
                    self.throttle.clear();
                }
                self.throttle.push_back((now, periods, throttled));
                while self
                    .throttle
                    .front()
                    .is_some_and(|&(t, _, _)| now - t > THROTTLE_WINDOW_MS)
                {
                    self.throttle.pop_front();
                }
                if let Some(&(_, p0, t0)) = self.throttle.front() {
                    c.throttled_percent_last_minute =
                        derive::throttled_share(p0, t0, periods, throttled);
                }
            }
            None => self.throttle.clear(),
        }
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

    #[test]
    fn throttling_over_the_last_minute() {
        use crate::collect::cgroup::CgroupCounters;
        // 0.5 CPU quota; readings every 20 s: periods +200 each, throttled +0, +200,
        // +200, +0 (in that order).
        let steps = [(0u64, 0u64), (200, 0), (400, 200), (600, 400), (800, 400)];
        let script = steps
            .iter()
            .map(|&(p, t)| RawReading {
                cpu_per_core: vec![0.0, 0.0],
                memory: crate::model::MemoryStats {
                    total_bytes: 8 << 30,
                    ..Default::default()
                },
                cgroup: Some(CgroupCounters {
                    cpu_quota_cores: Some(0.5),
                    nr_periods: p,
                    nr_throttled: t,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        let mut s = Sampler::with_probe("h".into(), Box::new(Script(script)));
        let minute: Vec<f64> = (0..5)
            .map(|i| {
                let c = s.sample(i * 20_000).container.unwrap();
                c.throttled_percent_last_minute
            })
            .collect();
        // At 60 s: 400 throttled of 600 periods since 0 s; at 80 s the 0 s reading
        // is out of the window: 400 of 600 since 20 s.
        assert_eq!(minute[0], 0.0);
        assert_eq!(minute[1], 0.0);
        assert_eq!(minute[2], 50.0);
        assert!((minute[3] - 400.0 / 6.0).abs() < 1e-9, "{}", minute[3]);
        assert!((minute[4] - 400.0 / 6.0).abs() < 1e-9, "{}", minute[4]);
    }

    #[test]
    fn detection_logs_which_scope_and_why() {
        use crate::collect::probe::CgroupWatch;
        let fx = |n: &str| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/cgroup")
                .join(n)
        };
        let line = |n: &str| CgroupWatch::detect(&fx(n), 2, 8 << 30).1;
        let l = line("v2-container");
        assert!(
            l.starts_with("scope: container: 0.5 CPU, 512 MiB (cgroup v2 at "),
            "{l}"
        );
        assert!(l.ends_with("pressure: the cgroup's *.pressure"), "{l}");
        let l = line("v2-unlimited");
        assert!(
            l.starts_with("scope: host (cgroup v2 at ") && l.contains("no CPU quota"),
            "{l}"
        );
        let l = line("v2-missing");
        assert!(l.contains("unreadable") && l.contains("cpu.stat"), "{l}");
        let l = line("v1-limited");
        assert!(
            l.starts_with("scope: container: 0.5 CPU, 256 MiB (cgroup v1 at "),
            "{l}"
        );
        let l = line("no-psi");
        assert!(l.starts_with("scope: host (no /proc/self/cgroup"), "{l}");
        assert!(l.ends_with("pressure: none (kernel without PSI)"), "{l}");
        assert_eq!(l.lines().count(), 1);
    }
}
