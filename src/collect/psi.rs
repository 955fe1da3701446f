//! Pressure stall information: `/proc/pressure/{cpu,memory,io}` on the host and
//! `{cpu,memory,io}.pressure` in a cgroup v2 directory, same format:
//!
//! ```text
//! some avg10=5.23 avg60=4.54 avg300=25.91 total=2656505518
//! full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//! ```

use crate::model::{Pressure, PressureStats};
use std::path::Path;

/// Parses one pressure file. None when there is no readable `some` line (a kernel
/// without PSI gives no file, or `EOPNOTSUPP` on read, or an empty text).
pub fn parse_pressure(text: &str) -> Option<Pressure> {
    let mut out = Pressure::default();
    let mut some = false;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let kind = words.next();
        let (mut a10, mut a60, mut total) = (None, None, None);
        for w in words {
            let Some((k, v)) = w.split_once('=') else {
                continue;
            };
            match k {
                "avg10" => a10 = v.parse::<f64>().ok().filter(|x| x.is_finite()),
                "avg60" => a60 = v.parse::<f64>().ok().filter(|x| x.is_finite()),
                "total" => total = v.parse::<u64>().ok(),
                _ => {}
            }
        }
        let (Some(a10), Some(a60), Some(total)) = (a10, a60, total) else {
            continue;
        };
        let clamp = |x: f64| x.clamp(0.0, 100.0);
        match kind {
            Some("some") => {
                some = true;
                out.some_avg10 = clamp(a10);
                out.some_avg60 = clamp(a60);
                out.some_total_us = total;
            }
            Some("full") => {
                out.full_avg10 = clamp(a10);
                out.full_avg60 = clamp(a60);
                out.full_total_us = total;
            }
            _ => {}
        }
    }
    some.then_some(out)
}

/// Reads `cpu`, `memory` and `io` pressure from `dir` with file names made by
/// `name` (`/proc/pressure/cpu` or `<cgroup>/cpu.pressure`). None when none of the
/// three can be read.
pub fn read_pressure(dir: &Path, name: fn(&str) -> String, source: &str) -> Option<PressureStats> {
    let read = |res: &str| {
        std::fs::read_to_string(dir.join(name(res)))
            .ok()
            .and_then(|t| parse_pressure(&t))
    };
    let stats = PressureStats {
        source: source.to_string(),
        cpu: read("cpu"),
        memory: read("memory"),
        io: read("io"),
    };
    (stats.cpu.is_some() || stats.memory.is_some() || stats.io.is_some()).then_some(stats)
}

/// The host's pressure, from `<root>/proc/pressure`.
pub fn read_host_pressure(root: &Path) -> Option<PressureStats> {
    read_pressure(&root.join("proc/pressure"), |r| r.to_string(), "host")
}

/// A cgroup v2 directory's pressure (`cpu.pressure`, ...).
pub fn read_cgroup_pressure(dir: &Path) -> Option<PressureStats> {
    read_pressure(dir, |r| format!("{r}.pressure"), "cgroup")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cgroup")
            .join(rel)
    }

    #[test]
    fn parses_a_real_host_cpu_pressure_file() {
        let text = std::fs::read_to_string(fixture("host-psi/proc/pressure/cpu")).unwrap();
        let p = parse_pressure(&text).unwrap();
        assert_eq!(p.some_avg10, 5.23);
        assert_eq!(p.some_avg60, 4.54);
        assert_eq!(p.some_total_us, 2_656_505_518);
        assert_eq!(p.full_total_us, 0);
    }

    #[test]
    fn reads_all_three_host_files() {
        let p = read_host_pressure(&fixture("host-psi")).unwrap();
        assert_eq!(p.source, "host");
        let io = p.io.unwrap();
        assert_eq!(io.full_avg10, 3.39);
        assert_eq!(io.full_total_us, 46_885_173);
        assert!(p.memory.is_some() && p.cpu.is_some());
    }

    #[test]
    fn old_kernel_cpu_file_without_full_line() {
        let p = parse_pressure("some avg10=1.50 avg60=0.20 avg300=0.00 total=1234\n").unwrap();
        assert_eq!(p.some_avg10, 1.5);
        assert_eq!((p.full_avg10, p.full_total_us), (0.0, 0));
    }

    #[test]
    fn no_psi_reads_as_none() {
        assert_eq!(parse_pressure(""), None);
        assert_eq!(
            parse_pressure("garbage\nsome avg10=x avg60=1 total=2"),
            None
        );
        // A kernel booted with psi=0 (or before 4.20) has no /proc/pressure.
        assert_eq!(read_host_pressure(&fixture("no-psi")), None);
    }

    #[test]
    fn bogus_averages_are_clamped() {
        let p = parse_pressure("some avg10=250.00 avg60=-3 avg300=0 total=1").unwrap();
        assert_eq!((p.some_avg10, p.some_avg60), (100.0, 0.0));
    }
}
