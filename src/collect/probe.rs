//! The impure half of the sampler: reads the real system into a [`RawReading`].

use super::cgroup::{self, CgroupCounters, Layout};
use super::derive::{container_stats, effective};
use super::raw::RawReading;
use super::{
    cpu, disk::DiskProbe, load, memory, network::NetProbe, processes, psi, SamplerOptions,
};
use crate::model::{describe_limits, ProcessStats, TimestampMs};
use std::path::{Path, PathBuf};
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
    cgroup: CgroupWatch,
}

/// The cgroup found at start, and whether its last read worked (a change is logged
/// once, not every tick).
pub struct CgroupWatch {
    root: PathBuf,
    layout: Option<Layout>,
    failing: bool,
}

impl CgroupWatch {
    /// Finds this process's cgroup under `root` and logs one line saying which
    /// scope the figures are in and why. Returns the watch and that line.
    pub fn detect(root: &Path, node_cores: usize, node_memory: u64) -> (CgroupWatch, String) {
        let host_psi = match psi::read_host_pressure(root) {
            Some(_) => "pressure: /proc/pressure",
            None => "pressure: none (kernel without PSI)",
        };
        let (layout, line, failing) = match cgroup::detect(root) {
            Err(why) => (
                None,
                format!("scope: host ({why}); node figures; {host_psi}"),
                false,
            ),
            Ok(layout) => {
                let where_ = format!("cgroup {} at {}", layout.version(), layout.path());
                let (line, failing) = match cgroup::read_counters(&layout) {
                    Err(e) => (
                        format!("scope: host ({where_} unreadable: {e}); node figures; {host_psi}"),
                        true,
                    ),
                    Ok(c) => {
                        let cs = container_stats(None, &c, 0.0, node_cores, node_memory);
                        let line = if effective(&cs) {
                            let psi = if c.pressure.is_some() {
                                "pressure: the cgroup's *.pressure"
                            } else {
                                host_psi
                            };
                            let memory = if c.memory_read {
                                ""
                            } else {
                                ", memory: node figures (no memory usage file)"
                            };
                            format!("scope: {} ({where_}{memory}); {psi}", describe_limits(&cs))
                        } else {
                            format!(
                                "scope: host ({where_} sets no CPU quota or memory limit \
                                 below the node's); node figures; {host_psi}"
                            )
                        };
                        (line, false)
                    }
                };
                (Some(layout), line, failing)
            }
        };
        (
            CgroupWatch {
                root: root.to_path_buf(),
                layout,
                failing,
            },
            line,
        )
    }

    /// This tick's counters, None without a cgroup or when its files fail to read.
    pub fn read(&mut self) -> Option<CgroupCounters> {
        let layout = self.layout.as_ref()?;
        match cgroup::read_counters(layout) {
            Ok(c) => {
                if std::mem::take(&mut self.failing) {
                    tracing::info!("cgroup {} readable again; container figures", layout.path());
                }
                Some(c)
            }
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    tracing::warn!(
                        "cgroup files unreadable ({e}); node figures until they read again"
                    );
                }
                None
            }
        }
    }

    pub fn host_pressure(&self) -> Option<crate::model::PressureStats> {
        psi::read_host_pressure(&self.root)
    }
}

impl SystemProbe {
    /// Creates the probe and primes CPU and per-process CPU baselines, so the first
    /// real reading already has usage figures.
    pub fn new(opts: SamplerOptions) -> SystemProbe {
        let mut sys = System::new();
        sys.refresh_cpu_usage();
        processes::read(&mut sys, 0);
        sys.refresh_memory();
        let (cgroup, line) =
            CgroupWatch::detect(Path::new("/"), sys.cpus().len(), sys.total_memory());
        tracing::info!("{line}");
        SystemProbe {
            sys,
            disks: DiskProbe::new(),
            net: NetProbe::new(),
            opts,
            last_processes: None,
            cgroup,
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
            cgroup: self.cgroup.read(),
            host_pressure: self.cgroup.host_pressure(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let dest = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy_tree(&e.path(), &dest);
            } else {
                std::fs::copy(e.path(), dest).unwrap();
            }
        }
    }

    /// A cgroup file that stops reading mid-run gives node figures (None) until it
    /// reads again, and the watch notes the change once rather than every tick.
    #[test]
    fn unreadable_cgroup_files_fall_back_and_recover() {
        let dir = tempfile::tempdir().unwrap();
        let fixture =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/cgroup/v2-container");
        copy_tree(&fixture, dir.path());
        let (mut watch, line) = CgroupWatch::detect(dir.path(), 2, 8 << 30);
        assert!(
            line.starts_with("scope: container: 0.5 CPU, 512 MiB"),
            "{line}"
        );
        assert!(watch.read().is_some_and(|c| c.memory_current == 384 << 20));
        // Without cpu.stat there is no CPU figure: node figures this tick.
        let stat = dir.path().join("sys/fs/cgroup/cpu.stat");
        let text = std::fs::read_to_string(&stat).unwrap();
        std::fs::remove_file(&stat).unwrap();
        assert!(watch.read().is_none());
        assert!(watch.failing);
        assert!(watch.read().is_none());
        std::fs::write(
            &stat,
            text.replace("usage_usec 8000000", "usage_usec 9000000"),
        )
        .unwrap();
        assert!(watch.read().is_some_and(|c| c.cpu_usage_us == 9_000_000));
        assert!(!watch.failing);
        // Without memory.current only the memory figures are the node's.
        std::fs::remove_file(dir.path().join("sys/fs/cgroup/memory.current")).unwrap();
        let c = watch.read().unwrap();
        assert!(!c.memory_read && c.cpu_quota_cores == Some(0.5));
        let line = CgroupWatch::detect(dir.path(), 2, 8 << 30).1;
        assert!(line.contains("memory: node figures"), "{line}");
        assert!(
            line.starts_with("scope: container: 0.5 CPU, no memory limit"),
            "{line}"
        );
        // A kernel without PSI: no host pressure, no panic.
        assert_eq!(watch.host_pressure(), None);
    }
}
