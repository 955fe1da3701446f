//! Where the figures come from (issue 12): the header's scope badge ("container:
//! 0.5 CPU, 512 MiB" or "host"), and the cards for throttling, OOM kills and
//! pressure stall. Text is built by pure functions, unit tested on the host.

use leptos::prelude::*;
use lookout::model::{
    describe_limits, ContainerStats, Pressure, PressureStats, RunScope, Snapshot,
};

use crate::components::dashboard::DashboardState;
use crate::format::{count, percent, MISSING};

/// The header's badge: the container's limits, or "host".
pub fn scope_text(s: &Snapshot) -> String {
    match (s.scope, &s.container) {
        (RunScope::Container, Some(c)) => describe_limits(c),
        _ => "host".into(),
    }
}

/// The badge's tooltip: the node's own figures in a container.
pub fn node_text(s: &Snapshot) -> String {
    match &s.node {
        Some(n) => format!(
            "node: CPU {} of {} cores, memory {}, load {:.2}",
            percent(n.cpu_usage),
            n.cores,
            percent(n.memory_usage),
            n.load_average
        ),
        None => "figures are the whole node's".into(),
    }
}

/// "throttled 38 % of periods in the last minute".
pub fn throttle_text(c: &ContainerStats) -> String {
    if !c.cpu_quota_set {
        return "no CPU quota: never throttled".into();
    }
    format!(
        "throttled {:.0} % of periods in the last minute",
        c.throttled_percent_last_minute
    )
}

/// "CPU 12.0 % · memory 0.0 % · I/O 3.4 %" (some, avg10), "—" for a missing file.
pub fn pressure_text(p: &PressureStats) -> String {
    let one =
        |x: &Option<Pressure>| x.map_or_else(|| MISSING.to_string(), |x| percent(x.some_avg10));
    format!(
        "CPU {} · memory {} · I/O {}",
        one(&p.cpu),
        one(&p.memory),
        one(&p.io)
    )
}

/// The scope badge for the header.
#[component]
pub fn ScopeBadge(live: DashboardState) -> impl IntoView {
    let latest = live.latest;
    let text = move || latest.with(|s| s.as_ref().map(scope_text).unwrap_or_default());
    let title = move || latest.with(|s| s.as_ref().map(node_text).unwrap_or_default());
    view! { <span class="scope" id="scope" title=title>{text}</span> }
}

#[component]
fn ScopeCard(
    id: &'static str,
    title: &'static str,
    value: Signal<String>,
    sub: Signal<String>,
    alert: Signal<bool>,
) -> impl IntoView {
    view! {
        <div class="card" id=format!("card-{id}") class:alert=move || alert.get()>
            <span class="card-title">{title}</span>
            <span class="card-value">{value}</span>
            <span class="card-sub">{sub}</span>
        </div>
    }
}

/// Throttling and OOM kills (containers only) and pressure stall (where the kernel
/// has PSI). Nothing at all on a host without PSI.
#[component]
pub fn ScopeCards(live: DashboardState) -> impl IntoView {
    let latest = live.latest;
    let container = move || latest.with(|s| s.as_ref().and_then(|s| s.container.clone()));
    let pressure = move || latest.with(|s| s.as_ref().and_then(|s| s.pressure.clone()));
    view! {
        <section class="cards scope-cards" aria-label="Limits and pressure">
            {move || container().map(|_| {
                let c = move || container().unwrap_or_default();
                view! {
                    <ScopeCard
                        id="throttling"
                        title="CPU throttling"
                        value=Signal::derive(move || percent(c().throttled_percent_last_minute))
                        sub=Signal::derive(move || throttle_text(&c()))
                        alert=Signal::derive(move || c().throttled_percent_last_minute >= 25.0)
                    />
                    <ScopeCard
                        id="oom"
                        title="OOM kills"
                        value=Signal::derive(move || count(c().oom_kills))
                        sub=Signal::derive(move || {
                            format!("memory.max hit {} times", count(c().memory_max_events))
                        })
                        alert=Signal::derive(move || c().oom_kills_in_interval > 0)
                    />
                }
            })}
            {move || pressure().map(|_| {
                let p = move || pressure().unwrap_or_default();
                view! {
                    <ScopeCard
                        id="pressure"
                        title="Pressure stall"
                        value=Signal::derive(move || {
                            let p = p();
                            let worst = [p.cpu, p.memory, p.io]
                                .iter()
                                .flatten()
                                .map(|x| x.some_avg10)
                                .fold(0.0, f64::max);
                            percent(worst)
                        })
                        sub=Signal::derive(move || pressure_text(&p()))
                        alert=Signal::derive(move || {
                            p().memory.is_some_and(|m| m.full_avg10 >= 10.0)
                        })
                    />
                }
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_the_containers_limits() {
        let mut s = Snapshot::default();
        assert_eq!(scope_text(&s), "host");
        s.scope = RunScope::Container;
        s.container = Some(ContainerStats {
            cpu_limit_cores: 0.5,
            cpu_quota_set: true,
            memory_max_bytes: Some(512 << 20),
            throttled_percent_last_minute: 38.2,
            ..Default::default()
        });
        assert_eq!(scope_text(&s), "container: 0.5 CPU, 512 MiB");
        assert_eq!(
            throttle_text(s.container.as_ref().unwrap()),
            "throttled 38 % of periods in the last minute"
        );
        assert_eq!(node_text(&s), "figures are the whole node's");
    }

    #[test]
    fn pressure_text_marks_missing_files() {
        let p = PressureStats {
            source: "host".into(),
            cpu: Some(Pressure {
                some_avg10: 12.0,
                ..Default::default()
            }),
            memory: None,
            io: Some(Pressure::default()),
        };
        assert_eq!(pressure_text(&p), "CPU 12.0 % · memory — · I/O 0.0 %");
    }
}
