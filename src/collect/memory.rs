//! Memory and swap gauges. sysinfo gives the portable totals; the page cache and
//! kernel buffers only exist as such on Linux, read from `/proc/meminfo`.

use super::rate::percent;
use crate::model::MemoryStats;
use sysinfo::System;

/// Page cache and buffers in bytes, as `/proc/meminfo` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheAndBuffers {
    pub cached_bytes: u64,
    pub buffers_bytes: u64,
}

/// Parses the `Cached:` and `Buffers:` lines of `/proc/meminfo` (values in KiB).
/// Missing or malformed lines read as 0: a partial answer beats no sample at all.
pub fn parse_meminfo(text: &str) -> CacheAndBuffers {
    let mut out = CacheAndBuffers::default();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kib = || {
            rest.split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        match key.trim() {
            "Cached" => out.cached_bytes = kib().saturating_mul(1024),
            "Buffers" => out.buffers_bytes = kib().saturating_mul(1024),
            _ => {}
        }
    }
    out
}

fn read_cache_and_buffers() -> CacheAndBuffers {
    if cfg!(target_os = "linux") {
        std::fs::read_to_string("/proc/meminfo")
            .map(|t| parse_meminfo(&t))
            .unwrap_or_default()
    } else {
        CacheAndBuffers::default()
    }
}

/// Refreshes memory only. "Used" is `total - available` (what `free` calls used
/// minus reclaimable cache), which is what matters for memory pressure.
pub fn read(sys: &mut System) -> MemoryStats {
    sys.refresh_memory();
    let total = sys.total_memory();
    let available = sys.available_memory().min(total);
    let used = total - available;
    let swap_total = sys.total_swap();
    let swap_used = sys.used_swap().min(swap_total);
    let cb = read_cache_and_buffers();
    MemoryStats {
        total_bytes: total,
        used_bytes: used,
        available_bytes: available,
        free_bytes: sys.free_memory().min(total),
        cached_bytes: cb.cached_bytes,
        buffers_bytes: cb.buffers_bytes,
        usage_percent: percent(used, total),
        swap_total_bytes: swap_total,
        swap_used_bytes: swap_used,
        swap_usage_percent: percent(swap_used, swap_total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cached_and_buffers() {
        let text = "MemTotal:       24684096 kB\nMemFree:        20508900 kB\n\
                    Buffers:           94732 kB\nCached:          2578056 kB\n\
                    SwapCached:            0 kB\n";
        let cb = parse_meminfo(text);
        assert_eq!(cb.buffers_bytes, 94732 * 1024);
        // SwapCached must not be mistaken for Cached.
        assert_eq!(cb.cached_bytes, 2578056 * 1024);
    }

    #[test]
    fn malformed_meminfo_reads_as_zero() {
        assert_eq!(parse_meminfo(""), CacheAndBuffers::default());
        assert_eq!(
            parse_meminfo("Cached: lots kB\nnonsense"),
            CacheAndBuffers::default()
        );
    }
}
