//! Process count and the busiest processes, by CPU and by resident memory.

use crate::model::{ProcessInfo, ProcessStats};
use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

/// Refreshes the process table (CPU and memory only, no threads, no command lines:
/// the expensive parts of a process scan) and returns the count and top `n` lists.
///
/// sysinfo's per-process CPU % is the share of one core since the previous refresh
/// of that process, so the first call after start reports 0 for all; the sampler
/// primes it once at construction.
pub fn read(sys: &mut System, n: usize) -> ProcessStats {
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .without_tasks(),
    );
    let all: Vec<ProcessInfo> = sys
        .processes()
        .values()
        // Threads show up as processes on Linux when tasks are listed: skip them.
        .filter(|p| p.thread_kind().is_none())
        .map(|p| ProcessInfo {
            pid: p.pid().as_u32(),
            name: p.name().to_string_lossy().into_owned(),
            cpu_percent: f64::from(p.cpu_usage()).max(0.0),
            rss_bytes: p.memory(),
        })
        .collect();
    top(all, n)
}

/// Count plus the top `n` by CPU and by RSS, highest first (pid breaks ties so the
/// order is deterministic).
pub fn top(all: Vec<ProcessInfo>, n: usize) -> ProcessStats {
    let mut by_cpu = all.clone();
    by_cpu.sort_by(|a, b| {
        b.cpu_percent
            .total_cmp(&a.cpu_percent)
            .then(a.pid.cmp(&b.pid))
    });
    by_cpu.truncate(n);
    let count = all.len() as u64;
    let mut by_mem = all;
    by_mem.sort_by(|a, b| b.rss_bytes.cmp(&a.rss_bytes).then(a.pid.cmp(&b.pid)));
    by_mem.truncate(n);
    ProcessStats {
        count,
        top_cpu: by_cpu,
        top_memory: by_mem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_sorts_and_truncates() {
        let p = |pid, cpu, rss| ProcessInfo {
            pid,
            name: format!("p{pid}"),
            cpu_percent: cpu,
            rss_bytes: rss,
        };
        let s = top(vec![p(1, 5.0, 10), p(2, 50.0, 1), p(3, 1.0, 99)], 2);
        assert_eq!(s.count, 3);
        assert_eq!(s.top_cpu.iter().map(|p| p.pid).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(
            s.top_memory.iter().map(|p| p.pid).collect::<Vec<_>>(),
            [3, 1]
        );
    }
}
