//! The cgroup this process runs in: where its files are (v2 unified hierarchy, or
//! v1 controllers, hybrid hosts included), what its limits are, and its counters.
//!
//! Everything takes a filesystem `root` ("/" in production, a fixture tree in
//! tests) and reads plain files; no file is ever required to exist. Finding the
//! directory follows the kernel's two tables:
//! - `/proc/self/cgroup`: `0::/path` (v2) or `id:cpu,cpuacct:/path` (v1);
//! - `/proc/self/mountinfo`: where each hierarchy is mounted and which of its
//!   directories the mount shows (`root`, 4th field): Docker on v1 mounts
//!   `/docker/<id>` at `/sys/fs/cgroup/memory`, so the process's path is taken
//!   relative to that root.

use crate::model::PressureStats;
use std::path::{Path, PathBuf};

use super::psi;

/// Where the cgroup's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// The unified hierarchy with the cpu and/or memory controller.
    V2 { dir: PathBuf },
    /// Legacy per-controller hierarchies; a controller may be missing. `psi` is a
    /// cgroup v2 directory beside them (hybrid hosts) with `*.pressure` files.
    V1 {
        cpu: Option<PathBuf>,
        cpuacct: Option<PathBuf>,
        memory: Option<PathBuf>,
        blkio: Option<PathBuf>,
        cpuset: Option<PathBuf>,
        psi: Option<PathBuf>,
    },
}

impl Layout {
    pub fn version(&self) -> &'static str {
        match self {
            Layout::V2 { .. } => "v2",
            Layout::V1 { .. } => "v1",
        }
    }

    /// The directory to show (cpu controller's, else memory's, on v1).
    pub fn path(&self) -> String {
        let p = match self {
            Layout::V2 { dir } => Some(dir),
            Layout::V1 {
                cpu,
                memory,
                cpuacct,
                ..
            } => cpu.as_ref().or(memory.as_ref()).or(cpuacct.as_ref()),
        };
        p.map(|p| p.display().to_string()).unwrap_or_default()
    }
}

/// One reading of the cgroup's limits and cumulative counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CgroupCounters {
    pub version: &'static str,
    pub path: String,
    /// Quota / period in CPUs, the tightest over the group and its ancestors inside
    /// the mount; None without a quota (or a bogus one).
    pub cpu_quota_cores: Option<f64>,
    /// CPUs the group may run on (`cpuset.cpus.effective`, v1 `cpuset.effective_cpus`);
    /// None when the file is absent or unreadable.
    pub cpuset_cpus: Option<usize>,
    pub cpu_usage_us: u64,
    pub nr_periods: u64,
    pub nr_throttled: u64,
    pub throttled_us: u64,
    /// The memory controller's usage file was read (false: a v1 host without the
    /// memory hierarchy, a v2 group without the controller; memory stays the node's).
    pub memory_read: bool,
    pub memory_current: u64,
    pub inactive_file: u64,
    pub file: u64,
    /// The tightest limit over the group and its ancestors inside the mount; None
    /// when unlimited ("max", v1's huge page-rounded i64::MAX) or 0.
    pub memory_max: Option<u64>,
    pub swap_current: u64,
    pub swap_max: Option<u64>,
    pub oom_kill: u64,
    pub high_events: u64,
    pub max_events: u64,
    pub io_read_bytes: u64,
    pub io_write_bytes: u64,
    pub pressure: Option<PressureStats>,
}

impl CgroupCounters {
    /// A limit is set: the figures should be the container's.
    pub fn limited(&self) -> bool {
        self.cpu_quota_cores.is_some() || self.memory_max.is_some()
    }
}

/// One line of `/proc/self/cgroup`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Membership {
    /// Empty for v2; v1 controller names (`name=systemd` included).
    controllers: Vec<String>,
    path: String,
}

fn parse_self_cgroup(text: &str) -> Vec<Membership> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let ctrl = parts.next()?;
            let path = parts.next()?;
            Some(Membership {
                controllers: ctrl
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                path: path.to_string(),
            })
        })
        .collect()
}

/// One cgroup mount from `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CgroupMount {
    /// The hierarchy's directory shown at the mount point.
    root: String,
    mount_point: String,
    v2: bool,
    /// v1 controllers from the super options (`rw,cpu,cpuacct`).
    controllers: Vec<String>,
}

fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split_whitespace().collect();
            let r: Vec<&str> = right.split_whitespace().collect();
            let (root, mount_point) = (*f.get(3)?, *f.get(4)?);
            let fstype = *r.first()?;
            let v2 = match fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let controllers = r
                .get(2)
                .map(|o| o.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            Some(CgroupMount {
                root: unescape(root),
                mount_point: unescape(mount_point),
                v2,
                controllers,
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let oct = std::str::from_utf8(&b[i + 1..i + 4]).ok();
            if let Some(v) = oct.and_then(|o| u8::from_str_radix(o, 8).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The directory of `path` in the hierarchy mounted by `m`, under `root`.
fn resolve(root: &Path, m: &CgroupMount, path: &str) -> PathBuf {
    let mount = root.join(m.mount_point.trim_start_matches('/'));
    let rel = if m.root == "/" {
        Some(path)
    } else {
        path.strip_prefix(m.root.as_str())
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    match rel {
        Some(rel) => {
            let dir = mount.join(rel.trim_start_matches('/'));
            if dir.is_dir() {
                dir
            } else {
                mount
            }
        }
        // Not under the mount's root (a cgroup namespace shows "/.." paths): the
        // mount itself is the closest view of our group.
        None => mount,
    }
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn read_u64(path: &Path) -> Option<u64> {
    read(path)?.trim().parse().ok()
}

/// `key value` lines (cpu.stat, memory.stat, memory.events, oom_control).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some(key)).then(|| w.next()?.parse().ok())?
    })
}

/// `dir` and its ancestors inside the same cgroup mount, the group itself first. A
/// directory belongs to the mount while it has `cgroup.procs`; the mount point's
/// parent (`/sys/fs/cgroup`'s tmpfs on v1 and hybrid hosts, `/sys/fs` on v2) has none.
/// A parent's limit binds its children: Docker's or systemd's slice may hold the
/// limit while the process sits in a child group without one.
fn groups_up(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut cur = dir;
    while let Some(parent) = cur.parent() {
        if !parent.join("cgroup.procs").is_file() {
            break;
        }
        out.push(parent.to_path_buf());
        cur = parent;
    }
    out
}

/// The smallest of the values some of `dirs` give (None when none gives one).
fn tightest<T: PartialOrd>(dirs: &[PathBuf], f: impl Fn(&Path) -> Option<T>) -> Option<T> {
    tightest_at(dirs, f).map(|(v, _)| v)
}

/// [`tightest`] and the directory that gives it (the nearer one on a tie).
fn tightest_at<T: PartialOrd>(
    dirs: &[PathBuf],
    f: impl Fn(&Path) -> Option<T>,
) -> Option<(T, &Path)> {
    dirs.iter()
        .filter_map(|d| Some((f(d)?, d.as_path())))
        .fold(None, |acc, (v, d)| match acc {
            Some((a, ad)) if a <= v => Some((a, ad)),
            _ => Some((v, d)),
        })
}

/// Counts the CPUs of a cpuset list ("0-3,8,10-11"). None for an empty or odd
/// list (a reversed range, a word, more than 65,536 CPUs).
pub fn parse_cpu_list(text: &str) -> Option<usize> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut n = 0usize;
    for part in text.split(',') {
        let part = part.trim();
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
            None => {
                let a = part.parse::<usize>().ok()?;
                (a, a)
            }
        };
        if b < a || b >= 65_536 {
            return None;
        }
        n += b - a + 1;
    }
    (n > 0).then_some(n)
}

/// The nearest of `names` in `dirs` (own group first) that parses as a CPU list:
/// on v2 a group without the cpuset controller has no file, its parent's applies.
fn cpuset_of(dirs: &[PathBuf], names: &[&str]) -> Option<usize> {
    dirs.iter().find_map(|d| {
        names
            .iter()
            .find_map(|n| read(&d.join(n)).and_then(|t| parse_cpu_list(&t)))
    })
}

/// Finds the cgroup of this process under `root`. Err says why none is usable.
pub fn detect(root: &Path) -> Result<Layout, String> {
    let self_cgroup = read(&root.join("proc/self/cgroup"))
        .ok_or_else(|| "no /proc/self/cgroup (not Linux, or no cgroup support)".to_string())?;
    let mountinfo = read(&root.join("proc/self/mountinfo"))
        .ok_or_else(|| "no /proc/self/mountinfo".to_string())?;
    let members = parse_self_cgroup(&self_cgroup);
    let mounts = parse_mountinfo(&mountinfo);

    let v2_dir = members
        .iter()
        .find(|m| m.controllers.is_empty())
        .and_then(|m| {
            let mount = mounts.iter().find(|x| x.v2)?;
            Some(resolve(root, mount, &m.path))
        });
    let mut why = Vec::new();
    if let Some(dir) = &v2_dir {
        let ctrl = read(&dir.join("cgroup.controllers")).unwrap_or_default();
        let has = |c: &str| ctrl.split_whitespace().any(|x| x == c);
        if has("cpu") || has("memory") {
            return Ok(Layout::V2 { dir: dir.clone() });
        }
        why.push(format!(
            "cgroup v2 at {} has no cpu or memory controller",
            dir.display()
        ));
    }

    let v1 = |name: &str| -> Option<PathBuf> {
        let m = members
            .iter()
            .find(|m| m.controllers.iter().any(|c| c == name))?;
        let mount = mounts
            .iter()
            .find(|x| !x.v2 && x.controllers.iter().any(|c| c == name))?;
        Some(resolve(root, mount, &m.path))
    };
    let (cpu, cpuacct, memory, blkio) = (v1("cpu"), v1("cpuacct"), v1("memory"), v1("blkio"));
    let cpuset = v1("cpuset");
    if cpu.is_some() || memory.is_some() {
        // Hybrid hosts keep a v2 hierarchy beside v1; its group has PSI files. The
        // v2 root's are the host's, which /proc/pressure gives anyway.
        let in_v2_child = members
            .iter()
            .any(|m| m.controllers.is_empty() && m.path != "/");
        let psi = v2_dir.filter(|d| in_v2_child && d.join("cpu.pressure").is_file());
        return Ok(Layout::V1 {
            cpu,
            cpuacct,
            memory,
            blkio,
            cpuset,
            psi,
        });
    }
    why.push("no cgroup v1 cpu or memory hierarchy".to_string());
    Err(why.join("; "))
}

/// Parses `cpu.max` ("50000 100000" or "max 100000") into CPUs. None for no
/// quota or a bogus one (zero or negative quota or period).
pub fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut w = text.split_whitespace();
    let quota = w.next()?.parse::<f64>().ok()?;
    let period = w
        .next()
        .map_or(Some(100_000.0), |p| p.parse::<f64>().ok())?;
    quota_cores(quota, period)
}

fn quota_cores(quota: f64, period: f64) -> Option<f64> {
    (quota > 0.0 && period > 0.0 && quota.is_finite() && period.is_finite())
        .then_some(quota / period)
}

/// A memory limit, None for "max", 0, or v1's "unlimited" (page-rounded i64::MAX).
pub fn parse_limit(text: &str) -> Option<u64> {
    limit_value(text.trim().parse::<u64>().ok()?)
}

fn limit_value(v: u64) -> Option<u64> {
    (v > 0 && v < (1u64 << 62)).then_some(v)
}

/// Sums `rbytes=` and `wbytes=` over the devices of a v2 `io.stat`.
pub fn parse_io_stat(text: &str) -> (u64, u64) {
    let mut r = 0u64;
    let mut w = 0u64;
    for word in text.split_whitespace() {
        if let Some(v) = word.strip_prefix("rbytes=") {
            r = r.saturating_add(v.parse().unwrap_or(0));
        } else if let Some(v) = word.strip_prefix("wbytes=") {
            w = w.saturating_add(v.parse().unwrap_or(0));
        }
    }
    (r, w)
}

/// Sums `Read` and `Write` over the devices of v1 `blkio.throttle.io_service_bytes`
/// (the trailing `Total` line has no device and is skipped).
pub fn parse_blkio(text: &str) -> (u64, u64) {
    let mut r = 0u64;
    let mut w = 0u64;
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if let [_dev, op, v] = f[..] {
            let v = v.parse::<u64>().unwrap_or(0);
            match op {
                "Read" => r = r.saturating_add(v),
                "Write" => w = w.saturating_add(v),
                _ => {}
            }
        }
    }
    (r, w)
}

/// Reads the limits and counters. Err names the file that could not be read when
/// the CPU usage is missing; without the memory files `memory_read` is false.
pub fn read_counters(layout: &Layout) -> Result<CgroupCounters, String> {
    let mut c = CgroupCounters {
        version: layout.version(),
        path: layout.path(),
        ..Default::default()
    };
    let need = |p: PathBuf| -> Result<String, String> {
        read(&p).ok_or_else(|| format!("cannot read {}", p.display()))
    };
    match layout {
        Layout::V2 { dir } => {
            let up = groups_up(dir);
            let quota = tightest_at(&up, |d| {
                read(&d.join("cpu.max")).and_then(|t| parse_cpu_max(&t))
            });
            c.cpu_quota_cores = quota.map(|(q, _)| q);
            c.cpuset_cpus = cpuset_of(&up, &["cpuset.cpus.effective"]);
            let stat = need(dir.join("cpu.stat"))?;
            c.cpu_usage_us = keyed(&stat, "usage_usec")
                .ok_or_else(|| format!("no usage_usec in {}", dir.join("cpu.stat").display()))?;
            // Throttling is counted where the quota is: an ancestor's quota throttles
            // its whole subtree, and only its own cpu.stat says so.
            let throttle = match quota {
                Some((_, at)) if at != dir.as_path() => read(&at.join("cpu.stat")),
                _ => None,
            }
            .unwrap_or(stat);
            c.nr_periods = keyed(&throttle, "nr_periods").unwrap_or(0);
            c.nr_throttled = keyed(&throttle, "nr_throttled").unwrap_or(0);
            c.throttled_us = keyed(&throttle, "throttled_usec").unwrap_or(0);
            c.memory_max = tightest(&up, |d| {
                read(&d.join("memory.max")).and_then(|t| parse_limit(&t))
            });
            if let Some(current) = read_u64(&dir.join("memory.current")) {
                c.memory_current = current;
                c.memory_read = true;
            }
            if let Some(s) = read(&dir.join("memory.stat")) {
                c.inactive_file = keyed(&s, "inactive_file").unwrap_or(0);
                c.file = keyed(&s, "file").unwrap_or(0);
            }
            c.swap_current = read_u64(&dir.join("memory.swap.current")).unwrap_or(0);
            // memory.swap.max of 0 means "no swap allowed", a real limit.
            c.swap_max = tightest(&up, |d| {
                read(&d.join("memory.swap.max"))
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .filter(|&v| v < (1u64 << 62))
            });
            if let Some(e) = read(&dir.join("memory.events")) {
                c.oom_kill = keyed(&e, "oom_kill").unwrap_or(0);
                c.high_events = keyed(&e, "high").unwrap_or(0);
                c.max_events = keyed(&e, "max").unwrap_or(0);
            }
            if let Some(io) = read(&dir.join("io.stat")) {
                (c.io_read_bytes, c.io_write_bytes) = parse_io_stat(&io);
            }
            c.pressure = psi::read_cgroup_pressure(dir);
        }
        Layout::V1 {
            cpu,
            cpuacct,
            memory,
            blkio,
            cpuset,
            psi: psi_dir,
        } => {
            let cpu = cpu.as_ref().ok_or("no v1 cpu controller")?;
            let up = groups_up(cpu);
            let quota = tightest_at(&up, |d| {
                let quota = read(&d.join("cpu.cfs_quota_us")).and_then(|t| t.trim().parse().ok());
                let period = read(&d.join("cpu.cfs_period_us")).and_then(|t| t.trim().parse().ok());
                quota_cores(quota?, period?)
            });
            c.cpu_quota_cores = quota.map(|(q, _)| q);
            // Throttling is counted in the cpu.stat of the group holding the quota.
            let throttle_dir = quota.map_or(cpu.as_path(), |(_, at)| at);
            // v1 cpusets are absolute (a child's is a subset of its parent's).
            c.cpuset_cpus = cpuset.as_ref().and_then(|d| {
                cpuset_of(
                    std::slice::from_ref(d),
                    &["cpuset.effective_cpus", "cpuset.cpus"],
                )
            });
            if let Some(stat) = read(&throttle_dir.join("cpu.stat")) {
                c.nr_periods = keyed(&stat, "nr_periods").unwrap_or(0);
                c.nr_throttled = keyed(&stat, "nr_throttled").unwrap_or(0);
                c.throttled_us = keyed(&stat, "throttled_time").unwrap_or(0) / 1000;
            }
            let acct = cpuacct.as_ref().unwrap_or(cpu);
            let ns = need(acct.join("cpuacct.usage"))?;
            c.cpu_usage_us =
                ns.trim().parse::<u64>().map_err(|_| {
                    format!("bad number in {}", acct.join("cpuacct.usage").display())
                })? / 1000;
            if let Some(mem) = memory {
                read_v1_memory(mem, &mut c);
            }
            if let Some(b) = blkio
                .as_ref()
                .and_then(|b| read(&b.join("blkio.throttle.io_service_bytes")))
            {
                (c.io_read_bytes, c.io_write_bytes) = parse_blkio(&b);
            }
            c.pressure = psi_dir.as_ref().and_then(|d| psi::read_cgroup_pressure(d));
        }
    }
    Ok(c)
}

/// The v1 memory hierarchy's figures; leaves `memory_read` false when its usage
/// file cannot be read (memory stays the node's).
fn read_v1_memory(mem: &Path, c: &mut CgroupCounters) {
    let Some(current) = read_u64(&mem.join("memory.usage_in_bytes")) else {
        return;
    };
    c.memory_current = current;
    c.memory_read = true;
    c.memory_max = tightest(&groups_up(mem), |d| {
        read(&d.join("memory.limit_in_bytes")).and_then(|t| parse_limit(&t))
    });
    if let Some(s) = read(&mem.join("memory.stat")) {
        // The kernel's own min over the ancestors (it sees above a Docker mount root).
        if let Some(h) = keyed(&s, "hierarchical_memory_limit").and_then(limit_value) {
            c.memory_max = Some(c.memory_max.map_or(h, |m| m.min(h)));
        }
        c.inactive_file = keyed(&s, "total_inactive_file")
            .or_else(|| keyed(&s, "inactive_file"))
            .unwrap_or(0);
        c.file = keyed(&s, "total_cache")
            .or_else(|| keyed(&s, "cache"))
            .unwrap_or(0);
    }
    // memsw counts memory + swap; absent without swap accounting.
    let memsw = read_u64(&mem.join("memory.memsw.usage_in_bytes"));
    c.swap_current = memsw.map_or(0, |m| m.saturating_sub(c.memory_current));
    let memsw_max = tightest(&groups_up(mem), |d| {
        read(&d.join("memory.memsw.limit_in_bytes")).and_then(|t| parse_limit(&t))
    });
    c.swap_max = match (memsw_max, c.memory_max) {
        (Some(sw), Some(m)) => Some(sw.saturating_sub(m)),
        _ => None,
    };
    if let Some(o) = read(&mem.join("memory.oom_control")) {
        c.oom_kill = keyed(&o, "oom_kill").unwrap_or(0);
    }
    // failcnt: how often usage hit the limit, v1's nearest to "max" events.
    c.max_events = read_u64(&mem.join("memory.failcnt")).unwrap_or(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cgroup")
            .join(name)
    }

    #[test]
    fn v2_container_with_private_namespace() {
        let root = fixture("v2-container");
        let layout = detect(&root).unwrap();
        assert_eq!(
            layout,
            Layout::V2 {
                dir: root.join("sys/fs/cgroup")
            }
        );
        let c = read_counters(&layout).unwrap();
        assert_eq!(c.version, "v2");
        assert_eq!(c.cpu_quota_cores, Some(0.5));
        assert_eq!(c.cpu_usage_us, 8_000_000);
        assert_eq!((c.nr_periods, c.nr_throttled), (1000, 380));
        assert_eq!(c.throttled_us, 19_000_000);
        assert_eq!(c.memory_max, Some(512 << 20));
        assert!(c.memory_read);
        assert_eq!(c.memory_current, 384 << 20);
        assert_eq!(c.inactive_file, 96 << 20);
        assert_eq!(c.file, 120 << 20);
        assert_eq!((c.swap_current, c.swap_max), (0, Some(0)));
        assert_eq!((c.oom_kill, c.high_events, c.max_events), (2, 0, 42));
        assert_eq!((c.io_read_bytes, c.io_write_bytes), (1 << 20, 4 << 20));
        let p = c.pressure.clone().unwrap();
        assert_eq!(p.source, "cgroup");
        assert_eq!(p.cpu.unwrap().some_avg10, 31.5);
        assert!(c.limited());
    }

    #[test]
    fn v2_max_values_mean_no_limit() {
        let c = read_counters(&detect(&fixture("v2-unlimited")).unwrap()).unwrap();
        assert_eq!(c.cpu_quota_cores, None);
        assert_eq!(c.memory_max, None);
        assert_eq!(c.swap_max, None);
        assert!(!c.limited());
    }

    #[test]
    fn v2_bogus_limits_are_no_limits() {
        let c = read_counters(&detect(&fixture("v2-bogus")).unwrap()).unwrap();
        assert_eq!(c.cpu_quota_cores, None, "zero period");
        assert_eq!(c.memory_max, None, "zero memory.max");
    }

    #[test]
    fn v2_missing_files_say_which() {
        let layout = detect(&fixture("v2-missing")).unwrap();
        let err = read_counters(&layout).unwrap_err();
        assert!(err.contains("cpu.stat"), "{err}");
    }

    #[test]
    fn v1_on_a_hybrid_host_captured_from_a_real_group() {
        // Captured on a hybrid host: cgroup2 at /sys/fs/cgroup/unified holds no cpu
        // or memory controller, the v1 hierarchies do.
        let root = fixture("v1-limited");
        let layout = detect(&root).unwrap();
        let Layout::V1 {
            cpu, memory, psi, ..
        } = &layout
        else {
            panic!("expected v1, got {layout:?}");
        };
        assert_eq!(
            cpu.as_deref(),
            Some(root.join("sys/fs/cgroup/cpu/lookout-fixture").as_path())
        );
        assert_eq!(
            memory.as_deref(),
            Some(root.join("sys/fs/cgroup/memory/lookout-fixture").as_path())
        );
        assert_eq!(psi, &None, "the v2 group is the root: host pressure");
        let c = read_counters(&layout).unwrap();
        assert_eq!(c.version, "v1");
        assert_eq!(c.cpu_quota_cores, Some(0.5));
        assert_eq!((c.nr_periods, c.nr_throttled), (63, 60));
        assert_eq!(c.throttled_us, 5_218_870);
        assert_eq!(c.cpu_usage_us, 3_022_697);
        assert_eq!(c.memory_max, Some(256 << 20));
        assert!(c.memory_read);
        assert_eq!(c.memory_current, 26_693_632);
        assert_eq!(c.inactive_file, 21_753_856);
        assert_eq!(c.swap_max, None, "memsw unlimited");
        assert_eq!(c.oom_kill, 0);
    }

    #[test]
    fn v1_docker_mount_root_and_unlimited_memory() {
        let root = fixture("v1-docker");
        let layout = detect(&root).unwrap();
        let Layout::V1 { cpu, cpuacct, .. } = &layout else {
            panic!("expected v1");
        };
        // The mount shows /docker/<id> at its root: the group is the mount point.
        let dir = root.join("sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(cpu.as_deref(), Some(dir.as_path()));
        assert_eq!(cpuacct.as_deref(), Some(dir.as_path()));
        let c = read_counters(&layout).unwrap();
        assert_eq!(c.cpu_quota_cores, Some(1.5));
        assert_eq!(c.cpu_usage_us, 12_000_000);
        assert_eq!(c.throttled_us, 2_500_000);
        assert_eq!(c.memory_max, None, "9223372036854771712 is v1's unlimited");
        assert_eq!(c.inactive_file, 30 << 20);
        assert_eq!((c.oom_kill, c.max_events), (1, 7));
        assert_eq!((c.io_read_bytes, c.io_write_bytes), (3 << 20, 8 << 20));
    }

    #[test]
    fn no_cgroup_files_is_an_error_not_a_panic() {
        let err = detect(&fixture("no-psi")).unwrap_err();
        assert!(err.contains("/proc/self/cgroup"), "{err}");
        let err = detect(&fixture("host-psi")).unwrap_err();
        assert!(!err.is_empty());
    }

    #[test]
    fn v2_limits_of_a_parent_group_bind_the_child() {
        // systemd's slice holds CPUQuota=150%, MemoryMax=256M, AllowedCPUs=2-3; the
        // process's scope has "max" everywhere and no cpuset controller.
        let root = fixture("v2-nested");
        let layout = detect(&root).unwrap();
        let scope = root.join("sys/fs/cgroup/lookout.slice/lookout-app.scope");
        assert_eq!(layout, Layout::V2 { dir: scope });
        let c = read_counters(&layout).unwrap();
        assert_eq!(c.cpu_quota_cores, Some(1.5), "the slice's cpu.max");
        assert_eq!(c.memory_max, Some(256 << 20), "the slice's memory.max");
        assert_eq!(c.swap_max, Some(0), "the slice's memory.swap.max");
        assert_eq!(c.cpuset_cpus, Some(2), "the slice's cpuset.cpus.effective");
        assert_eq!(c.cpu_usage_us, 8_500_000, "usage stays the scope's own");
        assert_eq!(
            (c.nr_periods, c.nr_throttled, c.throttled_us),
            (400, 120, 6_000_000),
            "throttling is counted where the quota is"
        );
        assert_eq!(c.memory_current, 100 << 20);
    }

    #[test]
    fn v2_cpuset_without_a_quota() {
        let c = read_counters(&detect(&fixture("v2-cpuset")).unwrap()).unwrap();
        assert_eq!(c.cpu_quota_cores, None);
        assert_eq!(c.memory_max, None);
        assert_eq!(c.cpuset_cpus, Some(2), "0,2");
    }

    #[test]
    fn v1_limits_of_a_parent_group_captured_from_real_groups() {
        // Captured on this host: lookout-s7-parent with cfs_quota_us 50000, 256 MiB and
        // cpuset 1; the process in its child, which sets none of them.
        let root = fixture("v1-nested");
        let layout = detect(&root).unwrap();
        let Layout::V1 { cpu, cpuset, .. } = &layout else {
            panic!("expected v1, got {layout:?}");
        };
        let child = |ctrl: &str| {
            root.join("sys/fs/cgroup")
                .join(ctrl)
                .join("lookout-s7-parent/child")
        };
        assert_eq!(cpu.as_deref(), Some(child("cpu").as_path()));
        assert_eq!(cpuset.as_deref(), Some(child("cpuset").as_path()));
        let c = read_counters(&layout).unwrap();
        assert_eq!(c.cpu_quota_cores, Some(0.5), "the parent's quota");
        assert_eq!(
            c.nr_periods, 35,
            "the parent's cpu.stat (the child's says 0)"
        );
        assert_eq!(c.memory_max, Some(256 << 20), "the parent's limit");
        assert_eq!(c.swap_max, None, "memsw unlimited");
        assert_eq!(c.cpuset_cpus, Some(1));
        assert_eq!(c.cpu_usage_us, 729_508);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,8,10-11\n"), Some(7));
        assert_eq!(parse_cpu_list("5"), Some(1));
        assert_eq!(parse_cpu_list(""), None, "an empty cpuset");
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("0-x"), None);
        assert_eq!(parse_cpu_list("0-99999999"), None);
    }

    #[test]
    fn cpu_max_forms() {
        assert_eq!(parse_cpu_max("50000 100000\n"), Some(0.5));
        assert_eq!(parse_cpu_max("200000 100000"), Some(2.0));
        assert_eq!(parse_cpu_max("max 100000"), None);
        assert_eq!(parse_cpu_max("-1 100000"), None);
        assert_eq!(parse_cpu_max(""), None);
        assert_eq!(parse_cpu_max("50000 0"), None);
    }

    #[test]
    fn mountinfo_escapes_and_foreign_lines() {
        let m = parse_mountinfo(
            "41 31 0:38 / /sys/fs/cgroup/un\\040ified rw - cgroup2 cgroup2 rw\n\
             1 2 3:4 / / rw - ext4 /dev/sda rw\nbroken line\n",
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].mount_point, "/sys/fs/cgroup/un ified");
        assert!(m[0].v2);
    }
}
