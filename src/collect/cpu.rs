//! CPU busy share, total and per logical core, from sysinfo.

use sysinfo::System;

/// Refreshes only CPU usage and returns `(total, per_core)` in 0-100.
///
/// sysinfo computes usage from the difference with its previous refresh, so the
/// sampler primes it once at construction; values are clamped because the kernel's
/// tick accounting can overshoot by a hair.
pub fn read(sys: &mut System) -> (f64, Vec<f64>) {
    sys.refresh_cpu_usage();
    let clamp = |v: f32| f64::from(v).clamp(0.0, 100.0);
    let total = clamp(sys.global_cpu_usage());
    let per_core = sys.cpus().iter().map(|c| clamp(c.cpu_usage())).collect();
    (total, per_core)
}
