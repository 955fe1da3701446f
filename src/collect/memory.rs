//! Memory and swap gauges. On Linux all of them come from one read of
//! `/proc/meminfo` (sysinfo's refresh read the same file a second time for the totals,
//! once a second on an agent at 1 s sampling); elsewhere sysinfo gives the portable
//! totals, and the page cache and kernel buffers read as 0.

use super::rate::percent;
use crate::model::MemoryStats;
use sysinfo::System;

/// The `/proc/meminfo` lines the sampler uses, in bytes (the file says kB, meaning
/// KiB). Missing or malformed lines read as 0: a partial answer beats no sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Meminfo {
    pub total: u64,
    pub free: u64,
    /// `MemAvailable`; estimated as the kernel did before 3.14 when the line is absent.
    pub available: u64,
    pub cached: u64,
    pub buffers: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

/// Parses `/proc/meminfo` (see [`Meminfo`]).
pub fn parse_meminfo(text: &str) -> Meminfo {
    let mut out = Meminfo::default();
    let (mut available, mut shmem, mut reclaimable) = (None, 0, 0);
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let bytes = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            .saturating_mul(1024);
        match key.trim() {
            "MemTotal" => out.total = bytes,
            "MemFree" => out.free = bytes,
            "MemAvailable" => available = Some(bytes),
            "Cached" => out.cached = bytes,
            "Buffers" => out.buffers = bytes,
            "SwapTotal" => out.swap_total = bytes,
            "SwapFree" => out.swap_free = bytes,
            "Shmem" => shmem = bytes,
            "SReclaimable" => reclaimable = bytes,
            _ => {}
        }
    }
    // Linux before 3.14 has no MemAvailable: free + buffers + cache + reclaimable
    // slab - shared memory, the estimate sysinfo and `free` used.
    out.available = available.unwrap_or_else(|| {
        out.free
            .saturating_add(out.buffers)
            .saturating_add(out.cached)
            .saturating_add(reclaimable)
            .saturating_sub(shmem)
    });
    out
}

/// The gauges as the kernel (or sysinfo) reports them.
fn read_meminfo(sys: &mut System) -> Meminfo {
    if cfg!(target_os = "linux") {
        if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
            return parse_meminfo(&text);
        }
    }
    sys.refresh_memory();
    Meminfo {
        total: sys.total_memory(),
        free: sys.free_memory(),
        available: sys.available_memory(),
        swap_total: sys.total_swap(),
        swap_free: sys.free_swap(),
        ..Meminfo::default()
    }
}

/// Memory and swap now. "Used" is `total - available` (what `free` calls used minus
/// reclaimable cache), which is what matters for memory pressure.
pub fn read(sys: &mut System) -> MemoryStats {
    stats(read_meminfo(sys))
}

fn stats(m: Meminfo) -> MemoryStats {
    let total = m.total;
    let available = m.available.min(total);
    let used = total - available;
    let swap_total = m.swap_total;
    let swap_used = swap_total - m.swap_free.min(swap_total);
    MemoryStats {
        total_bytes: total,
        used_bytes: used,
        available_bytes: available,
        free_bytes: m.free.min(total),
        cached_bytes: m.cached,
        buffers_bytes: m.buffers,
        usage_percent: percent(used, total),
        swap_total_bytes: swap_total,
        swap_used_bytes: swap_used,
        swap_usage_percent: percent(swap_used, swap_total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       24684096 kB\nMemFree:        20508900 kB\n\
                           MemAvailable:   22000000 kB\n\
                           Buffers:           94732 kB\nCached:          2578056 kB\n\
                           SwapCached:            0 kB\nSwapTotal:       1048576 kB\n\
                           SwapFree:         786432 kB\nShmem:             1000 kB\n\
                           SReclaimable:     200000 kB\n";

    #[test]
    fn parses_every_gauge_from_one_read() {
        let m = parse_meminfo(MEMINFO);
        assert_eq!(m.total, 24684096 * 1024);
        assert_eq!(m.free, 20508900 * 1024);
        assert_eq!(m.available, 22000000 * 1024);
        assert_eq!(m.buffers, 94732 * 1024);
        // SwapCached must not be mistaken for Cached.
        assert_eq!(m.cached, 2578056 * 1024);
        let s = stats(m);
        assert_eq!(s.used_bytes, (24684096 - 22000000) * 1024);
        assert_eq!(s.swap_used_bytes, (1048576 - 786432) * 1024);
        assert!((s.swap_usage_percent - 25.0).abs() < 1e-9);
    }

    #[test]
    fn without_mem_available_it_is_estimated_as_older_kernels_did() {
        let old = MEMINFO.replace("MemAvailable:   22000000 kB\n", "");
        let m = parse_meminfo(&old);
        assert_eq!(
            m.available,
            (20508900 + 94732 + 2578056 + 200000 - 1000) * 1024
        );
    }

    #[test]
    fn malformed_meminfo_reads_as_zero() {
        assert_eq!(parse_meminfo(""), Meminfo::default());
        let m = parse_meminfo("Cached: lots kB\nnonsense");
        assert_eq!(m, Meminfo::default());
        // Nothing known: every figure 0, no division by zero.
        let s = stats(m);
        assert_eq!((s.used_bytes, s.usage_percent), (0, 0.0));
    }

    /// On this (Linux) machine the one read agrees with sysinfo's totals.
    #[test]
    #[cfg(target_os = "linux")]
    fn the_read_agrees_with_sysinfo() {
        let mut sys = System::new();
        let ours = read(&mut sys);
        sys.refresh_memory();
        assert_eq!(ours.total_bytes, sys.total_memory());
        assert_eq!(ours.swap_total_bytes, sys.total_swap());
    }
}
