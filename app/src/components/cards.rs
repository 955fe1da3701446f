//! The current-value cards.

use leptos::prelude::*;
use lookout::model::Snapshot;

use crate::components::dashboard::DashboardState;
use crate::format::{bytes, count, load, percent, rate, score, MISSING};

#[component]
fn Card(
    id: &'static str,
    title: &'static str,
    value: Signal<String>,
    #[prop(optional)] sub: Option<Signal<String>>,
    #[prop(optional)] alert: Option<Signal<bool>>,
) -> impl IntoView {
    view! {
        <div class="card" id=format!("card-{id}") class:alert=move || alert.is_some_and(|a| a.get())>
            <span class="card-title">{title}</span>
            <span class="card-value">{value}</span>
            <span class="card-sub">{move || sub.map(|s| s.get()).unwrap_or_default()}</span>
        </div>
    }
}

#[component]
pub fn Cards(live: DashboardState) -> impl IntoView {
    let latest = live.latest;
    // A card's text from the latest snapshot, or "—" before the first one.
    let text = move |f: fn(&Snapshot) -> String| {
        Signal::derive(move || latest.with(|s| s.as_ref().map_or_else(|| MISSING.to_string(), f)))
    };
    let anomalous = Signal::derive(move || latest.with(|s| s.as_ref().is_some_and(|s| s.anomaly)));
    view! {
        <section class="cards" aria-label="Current values">
            <Card
                id="cpu"
                title="CPU"
                value=text(|s| percent(s.cpu.total))
                sub=text(|s| format!("{} cores", s.cpu.per_core.len()))
            />
            <Card
                id="memory"
                title="Memory"
                value=text(|s| percent(s.memory.usage_percent))
                sub=text(|s| {
                    format!(
                        "{} of {}",
                        bytes(s.memory.used_bytes as f64),
                        bytes(s.memory.total_bytes as f64),
                    )
                })
            />
            <Card
                id="swap"
                title="Swap"
                value=text(|s| {
                    if s.memory.swap_total_bytes == 0 {
                        "none".into()
                    } else {
                        percent(s.memory.swap_usage_percent)
                    }
                })
                sub=text(|s| {
                    format!(
                        "{} of {}",
                        bytes(s.memory.swap_used_bytes as f64),
                        bytes(s.memory.swap_total_bytes as f64),
                    )
                })
            />
            <Card
                id="load"
                title="Load (1 min)"
                value=text(|s| load(s.load.one))
                sub=text(|s| format!("5m {} · 15m {}", load(s.load.five), load(s.load.fifteen)))
            />
            <Card
                id="disk-read"
                title="Disk read"
                value=text(|s| rate(s.disk.read_bytes_per_sec))
                sub=text(|s| format!("{:.0} ops/s", s.disk.read_ops_per_sec))
            />
            <Card
                id="disk-write"
                title="Disk write"
                value=text(|s| rate(s.disk.write_bytes_per_sec))
                sub=text(|s| format!("{:.0} ops/s", s.disk.write_ops_per_sec))
            />
            <Card
                id="net-rx"
                title="Network in"
                value=text(|s| rate(s.network.rx_bytes_per_sec))
                sub=text(|s| format!("{:.0} packets/s", s.network.rx_packets_per_sec))
            />
            <Card
                id="net-tx"
                title="Network out"
                value=text(|s| rate(s.network.tx_bytes_per_sec))
                sub=text(|s| format!("{:.0} packets/s", s.network.tx_packets_per_sec))
            />
            <Card
                id="processes"
                title="Processes"
                value=text(|s| count(s.processes.count))
            />
            <Card
                id="anomaly"
                title="Anomaly score"
                value=text(|s| score(s.anomaly_score))
                sub=text(|s| {
                    match (s.anomaly_score, s.anomaly) {
                        (None, _) => "not scored yet".into(),
                        (Some(_), true) => "anomalous".into(),
                        (Some(_), false) => "normal".into(),
                    }
                })
                alert=anomalous
            />
        </section>
    }
}
