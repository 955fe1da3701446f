//! This machine: clocks, a process's CPU ticks and memory from /proc, free ports.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ has a parent")
        .to_path_buf()
}

pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// Clock ticks (user + system) of a process, from /proc/PID/stat.
pub fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// /proc's clock ticks per second.
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a configuration value; no memory is passed.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// A field of /proc/PID/status in MiB (VmHWM, VmRSS).
pub fn status_mib(pid: u32, key: &str) -> u64 {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    st.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("/dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Records `pid`'s RSS (MiB) every `every` into `out` as (seconds in, MiB), until aborted.
pub async fn watch_rss(pid: u32, every: Duration, out: Arc<Mutex<Vec<(f64, u64)>>>) {
    let start = Instant::now();
    loop {
        let mib = status_mib(pid, "VmRSS");
        out.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((start.elapsed().as_secs_f64(), mib));
        tokio::time::sleep(every).await;
    }
}

/// The least-squares slope of (seconds, MiB) points, in MiB an hour (0 with fewer than
/// two points or no time between them).
pub fn rss_slope_per_hour(points: &[(f64, u64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_m = points.iter().map(|p| p.1 as f64).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for &(t, m) in points {
        num += (t - mean_t) * (m as f64 - mean_m);
        den += (t - mean_t) * (t - mean_t);
    }
    if den > 0.0 {
        num / den * 3600.0
    } else {
        0.0
    }
}
