//! Resource causes an anomaly explanation names beside its metrics: a container held
//! back by its CPU quota, a container near its memory limit or killing processes, and
//! pressure stall (PSI) showing tasks waiting for CPU, memory or I/O. These signals
//! are not detector inputs (no measurement yet shows they improve the score), so the
//! explanation reads them from the sample the event opened on.

use crate::model::{describe_limits, RunScope, Snapshot};

/// Share of CFS periods throttled over the last minute from which throttling is named.
pub const THROTTLED_PERCENT: f64 = 25.0;
/// Working set as a share of the container's memory limit from which it is named.
pub const MEMORY_LIMIT_PERCENT: f64 = 90.0;
/// PSI `some` avg10 (share of wall time with a task stalled) from which it is named.
pub const PRESSURE_PERCENT: f64 = 10.0;

/// The causes `s` shows, most specific first; empty when none passes its threshold.
pub fn resource_causes(s: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    if let (RunScope::Container, Some(c)) = (s.scope, &s.container) {
        let limits = describe_limits(c);
        if c.cpu_quota_set && c.throttled_percent_last_minute >= THROTTLED_PERCENT {
            out.push(format!(
                "CPU throttled {:.0} % of periods in the last minute ({limits})",
                c.throttled_percent_last_minute
            ));
        }
        if c.oom_kills_in_interval > 0 {
            out.push(format!(
                "{} process(es) killed for memory (OOM) in the last interval ({limits})",
                c.oom_kills_in_interval
            ));
        }
        if c.memory_max_bytes.is_some() && c.memory_usage_percent >= MEMORY_LIMIT_PERCENT {
            out.push(format!(
                "memory at {:.0} % of the container's limit ({limits})",
                c.memory_usage_percent
            ));
        }
    }
    if let Some(p) = &s.pressure {
        for (what, stall) in [("memory", p.memory), ("I/O", p.io), ("CPU", p.cpu)] {
            if let Some(v) = stall
                .map(|x| x.some_avg10)
                .filter(|v| *v >= PRESSURE_PERCENT)
            {
                out.push(format!(
                    "{what} pressure: tasks stalled {v:.0} % of the last 10 s"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ApiBody, ContainerStats, Pressure, PressureStats};

    #[test]
    fn a_throttled_container_under_memory_pressure_is_named() {
        // The documented example: 0.5 CPU, throttled 38 % over the last minute, CPU
        // pressure 31.5 %.
        let s = Snapshot::example();
        let causes = resource_causes(&s);
        assert_eq!(
            causes,
            [
                "CPU throttled 38 % of periods in the last minute (container: 0.5 CPU, 512 MiB)",
                "CPU pressure: tasks stalled 32 % of the last 10 s",
            ]
        );
    }

    #[test]
    fn quiet_hosts_and_unlimited_containers_name_nothing() {
        assert!(resource_causes(&Snapshot::default()).is_empty());
        let mut s = Snapshot::example();
        s.container = Some(ContainerStats {
            memory_usage_percent: 99.0,
            throttled_percent_last_minute: 99.0,
            // No quota and no limit: neither can be the cause.
            cpu_quota_set: false,
            memory_max_bytes: None,
            ..ContainerStats::default()
        });
        s.pressure = Some(PressureStats {
            memory: Some(Pressure {
                some_avg10: 9.9,
                ..Pressure::default()
            }),
            ..PressureStats::default()
        });
        assert!(resource_causes(&s).is_empty(), "{:?}", resource_causes(&s));
    }

    #[test]
    fn oom_kills_and_a_full_memory_limit_are_named() {
        let mut s = Snapshot::example();
        let c = s.container.as_mut().unwrap();
        c.throttled_percent_last_minute = 0.0;
        c.oom_kills_in_interval = 1;
        c.memory_usage_percent = 97.0;
        s.pressure = None;
        let causes = resource_causes(&s);
        assert_eq!(causes.len(), 2, "{causes:?}");
        assert!(causes[0].contains("killed for memory (OOM)"));
        assert!(causes[1].starts_with("memory at 97 % of the container's limit"));
    }
}
