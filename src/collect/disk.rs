//! Block-device I/O counters and filesystem usage.
//!
//! On Linux the counters come from `/proc/diskstats` (ops and bytes, per device);
//! elsewhere from sysinfo's per-disk usage (bytes only, no op counts).

use super::raw::DiskCounters;
use crate::model::FilesystemUsage;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use sysinfo::{DiskRefreshKind, Disks};

/// `/proc/diskstats` counts sectors of 512 bytes whatever the device's real sector size.
const SECTOR_BYTES: u64 = 512;

/// Devices that are not storage (loop images, RAM disks, compressed swap in RAM):
/// skipped entirely.
fn is_virtual(name: &str) -> bool {
    ["loop", "ram", "zram", "fd"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Stacked devices (LVM/device-mapper, md RAID): listed but left out of the totals
/// because their I/O also shows on the physical disks beneath them.
fn is_stacked(name: &str) -> bool {
    name.starts_with("dm-") || name.starts_with("md")
}

/// A partition is a name that extends another listed device's name with digits,
/// optionally after a `p` (`sda1` of `sda`, `nvme0n1p2` of `nvme0n1`, `mmcblk0p1`).
/// Pure, so it works on fixed test text and inside containers without /sys.
fn is_partition(name: &str, all: &HashSet<&str>) -> bool {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() == name.len() || stem.is_empty() {
        return false;
    }
    all.contains(stem) || stem.strip_suffix('p').is_some_and(|s| all.contains(s))
}

/// Parses `/proc/diskstats` into per-device counters: whole disks and stacked
/// devices, without partitions (they would double count their disk) or virtual
/// devices. Malformed lines are skipped.
pub fn parse_diskstats(text: &str) -> Vec<DiskCounters> {
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() >= 10)
        .collect();
    let names: HashSet<&str> = rows.iter().map(|f| f[2]).collect();
    let num = |s: &str| s.parse::<u64>().ok();
    rows.iter()
        .filter(|f| !is_virtual(f[2]) && !is_partition(f[2], &names))
        .filter_map(|f| {
            // Fields after the name: reads, reads merged, sectors read, ms reading,
            // writes, writes merged, sectors written, ...
            Some(DiskCounters {
                name: f[2].to_string(),
                read_ops: num(f[3])?,
                read_bytes: num(f[5])?.saturating_mul(SECTOR_BYTES),
                write_ops: num(f[7])?,
                write_bytes: num(f[9])?.saturating_mul(SECTOR_BYTES),
                in_total: !is_stacked(f[2]),
            })
        })
        .collect()
}

/// Filesystem types that are not storage the operator can fill: kernel and memory
/// filesystems, and read-only images (squashfs snaps always show 100 % used).
fn is_pseudo_fs(fs_type: &str) -> bool {
    matches!(
        fs_type,
        "proc"
            | "sysfs"
            | "devtmpfs"
            | "devpts"
            | "tmpfs"
            | "ramfs"
            | "cgroup"
            | "cgroup2"
            | "securityfs"
            | "debugfs"
            | "tracefs"
            | "pstore"
            | "bpf"
            | "mqueue"
            | "hugetlbfs"
            | "configfs"
            | "fusectl"
            | "autofs"
            | "binfmt_misc"
            | "squashfs"
            | "iso9660"
            | "nsfs"
            | "efivarfs"
    )
}

/// Owns the sysinfo disk list. The space figures are refreshed each sample (one
/// `statvfs` per filesystem); the list itself, which sysinfo builds from
/// `/proc/mounts` and a listing of `/dev/disk/by-id`, only every [`RELIST_EVERY`]:
/// mounts change rarely, and an agent at 1 s sampling has a budget of 0.1 % of a core
/// (issue 13) that re-reading them every second spent for nothing.
pub struct DiskProbe {
    disks: Disks,
    listed_at: Instant,
}

/// How often the mount list is read again (a new mount shows within this).
pub const RELIST_EVERY: Duration = Duration::from_secs(60);

impl DiskProbe {
    pub fn new() -> Self {
        DiskProbe {
            disks: Disks::new_with_refreshed_list_specifics(Self::kind()),
            listed_at: Instant::now(),
        }
    }

    fn kind() -> DiskRefreshKind {
        let k = DiskRefreshKind::nothing().with_storage();
        if cfg!(target_os = "linux") {
            k
        } else {
            k.with_io_usage()
        }
    }

    /// Refreshes the space figures (and the mount list when due); returns real
    /// filesystems, one per mount point.
    pub fn filesystems(&mut self) -> Vec<FilesystemUsage> {
        if self.listed_at.elapsed() >= RELIST_EVERY || self.disks.list().is_empty() {
            self.disks.refresh_specifics(true, Self::kind());
            self.listed_at = Instant::now();
        } else {
            for d in self.disks.list_mut() {
                d.refresh_specifics(Self::kind());
            }
        }
        let mut seen = HashSet::new();
        self.disks
            .list()
            .iter()
            .filter(|d| !is_pseudo_fs(&d.file_system().to_string_lossy()))
            .filter(|d| d.total_space() > 0)
            .filter(|d| seen.insert(d.mount_point().to_path_buf()))
            .map(|d| FilesystemUsage {
                mount_point: d.mount_point().to_string_lossy().into_owned(),
                total_bytes: d.total_space(),
                available_bytes: d.available_space().min(d.total_space()),
            })
            .collect()
    }

    /// Cumulative per-device I/O counters. Call after [`Self::filesystems`] (which
    /// refreshes sysinfo's figures used by the non-Linux fallback).
    pub fn counters(&self) -> Vec<DiskCounters> {
        if cfg!(target_os = "linux") {
            std::fs::read_to_string("/proc/diskstats")
                .map(|t| parse_diskstats(&t))
                .unwrap_or_default()
        } else {
            let mut seen = HashSet::new();
            self.disks
                .list()
                .iter()
                .filter(|d| seen.insert(d.name().to_os_string()))
                .map(|d| {
                    let u = d.usage();
                    DiskCounters {
                        name: d.name().to_string_lossy().into_owned(),
                        read_bytes: u.total_read_bytes,
                        write_bytes: u.total_written_bytes,
                        read_ops: 0,
                        write_ops: 0,
                        in_total: true,
                    }
                })
                .collect()
        }
    }
}

/// Free share (0-100) of the fullest filesystem: the one that runs out first.
/// 100 when there is no real filesystem to watch.
pub fn fullest_free_percent(fs: &[FilesystemUsage]) -> f64 {
    fs.iter()
        .filter(|f| f.total_bytes > 0)
        .map(|f| super::rate::percent(f.available_bytes, f.total_bytes))
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.min(v)))
        })
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Between relists a sample only refreshes the space of the filesystems listed;
    /// the list is read again once it is [`RELIST_EVERY`] old, with the same result on
    /// a machine whose mounts did not change.
    #[test]
    fn the_mount_list_is_read_again_only_when_due() {
        let mut probe = DiskProbe::new();
        let first = probe.filesystems();
        let listed = probe.listed_at;
        let again = probe.filesystems();
        assert_eq!(probe.listed_at, listed, "not relisted within a minute");
        let names =
            |v: &[FilesystemUsage]| v.iter().map(|f| f.mount_point.clone()).collect::<Vec<_>>();
        assert_eq!(names(&first), names(&again));
        assert!(again.iter().all(|f| f.total_bytes > 0));
        probe.listed_at = Instant::now() - RELIST_EVERY;
        let relisted = probe.filesystems();
        assert!(probe.listed_at > listed, "relisted once due");
        assert_eq!(names(&first), names(&relisted));
    }

    const DISKSTATS: &str = "\
   7       0 loop0 10 0 20 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   1       0 ram0 5 0 5 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   8       0 sda 100 2 2000 50 40 1 800 30 0 60 80 0 0 0 0 0 0
   8       1 sda1 90 2 1800 45 40 1 800 30 0 55 75 0 0 0 0 0 0
 259       0 nvme0n1 7 0 16 1 3 0 8 0 0 1 1
 259       1 nvme0n1p1 7 0 16 1 3 0 8 0 0 1 1
 179       0 mmcblk0 1 0 8 0 0 0 0 0 0 0 0
 179       1 mmcblk0p1 1 0 8 0 0 0 0 0 0 0 0
 253       0 dm-0 60 0 1000 20 30 0 600 20 0 40 40 0 0 0 0 0 0
 254       0 vda 30791 6521 2393546 9598 62924 58095 8022176 38591 0 11096 49191
 broken line
";

    #[test]
    fn diskstats_keeps_whole_disks_and_converts_sectors() {
        let d = parse_diskstats(DISKSTATS);
        let names: Vec<_> = d.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sda", "nvme0n1", "mmcblk0", "dm-0", "vda"]);
        let sda = &d[0];
        assert_eq!(sda.read_ops, 100);
        assert_eq!(sda.read_bytes, 2000 * 512);
        assert_eq!(sda.write_ops, 40);
        assert_eq!(sda.write_bytes, 800 * 512);
        assert!(sda.in_total);
        assert!(!d[3].in_total, "dm-0 is stacked on a disk");
        assert_eq!(d[4].write_bytes, 8022176 * 512);
    }

    #[test]
    fn partition_detection() {
        let all: HashSet<&str> = ["sda", "sda1", "nvme0n1", "nvme0n1p3", "sdb"].into();
        assert!(is_partition("sda1", &all));
        assert!(is_partition("nvme0n1p3", &all));
        assert!(!is_partition("nvme0n1", &all));
        assert!(!is_partition("sdb", &all));
    }

    #[test]
    fn fullest_filesystem_wins() {
        let fs = |a, t| FilesystemUsage {
            mount_point: "/".into(),
            total_bytes: t,
            available_bytes: a,
        };
        assert_eq!(fullest_free_percent(&[fs(50, 100), fs(10, 100)]), 10.0);
        assert_eq!(fullest_free_percent(&[]), 100.0);
    }
}
