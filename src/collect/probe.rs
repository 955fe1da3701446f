//! The impure half of the sampler: reads the real system into a [`RawReading`].

use super::raw::RawReading;
use super::{cpu, disk::DiskProbe, load, memory, network::NetProbe, processes, SamplerOptions};
use crate::model::{ProcessStats, TimestampMs};
use sysinfo::System;

/// A source of raw readings. The real one is [`SystemProbe`]; tests substitute
/// scripted readings so the sampler's bookkeeping runs without a real host.
pub trait Probe: Send {
    /// Reads every counter and gauge; `now` is stamped on the reading.
    fn read(&mut self, now: TimestampMs) -> RawReading;
}

/// Reads the host through one long-lived sysinfo `System`, `Networks` and `Disks`
/// (re-creating them each tick would re-scan everything and lose CPU baselines).
pub struct SystemProbe {
    sys: System,
    disks: DiskProbe,
    net: NetProbe,
    opts: SamplerOptions,
    /// When the process table was last scanned, and what it showed: a scan costs
    /// far more than all the other metrics together, so it runs only every
    /// `process_refresh_every` and the last result is reused in between.
    last_processes: Option<(TimestampMs, ProcessStats)>,
}

impl SystemProbe {
    /// Creates the probe and primes CPU and per-process CPU baselines, so the first
    /// real reading already has usage figures.
    pub fn new(opts: SamplerOptions) -> SystemProbe {
        let mut sys = System::new();
        sys.refresh_cpu_usage();
        processes::read(&mut sys, 0);
        SystemProbe {
            sys,
            disks: DiskProbe::new(),
            net: NetProbe::new(),
            opts,
            last_processes: None,
        }
    }

    fn processes(&mut self, now: TimestampMs) -> ProcessStats {
        let every = i64::try_from(self.opts.process_refresh_every.as_millis()).unwrap_or(i64::MAX);
        match &self.last_processes {
            // A clock step backwards (now < then) also forces a fresh scan.
            Some((then, stats)) if now >= *then && now - then < every => stats.clone(),
            _ => {
                let stats = processes::read(&mut self.sys, self.opts.top_n);
                self.last_processes = Some((now, stats.clone()));
                stats
            }
        }
    }
}

impl Probe for SystemProbe {
    fn read(&mut self, now: TimestampMs) -> RawReading {
        let (cpu_total, cpu_per_core) = cpu::read(&mut self.sys);
        let memory = memory::read(&mut self.sys);
        let filesystems = self.disks.filesystems();
        RawReading {
            taken_at: now,
            cpu_total,
            cpu_per_core,
            memory,
            load: load::read(),
            disks: self.disks.counters(),
            filesystems,
            interfaces: self.net.counters(),
            processes: self.processes(now),
        }
    }
}
