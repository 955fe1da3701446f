//! Per-core CPU use as horizontal bars: readable at any core count and on a phone.

use leptos::prelude::*;

use crate::components::dashboard::DashboardState;
use crate::format::percent;

#[component]
pub fn Cores(live: DashboardState) -> impl IntoView {
    let latest = live.latest;
    let count = Memo::new(move |_| latest.with(|s| s.as_ref().map_or(0, |s| s.cpu.per_core.len())));
    let row = move |i: usize| {
        let value = move || {
            latest.with(|s| {
                s.as_ref()
                    .and_then(|s| s.cpu.per_core.get(i).copied())
                    .unwrap_or(0.0)
            })
        };
        view! {
            <li class="core">
                <span class="core-name">{format!("cpu{i}")}</span>
                <span class="core-bar">
                    <span
                        class="core-fill"
                        style:width=move || format!("{:.1}%", value().clamp(0.0, 100.0))
                    ></span>
                </span>
                <span class="core-value">{move || percent(value())}</span>
            </li>
        }
    };
    view! {
        <section class="panel cores" id="cores" aria-label="CPU per core">
            <h2>"CPU per core"</h2>
            <ol class="core-list">
                // One row a core, made again only when the count changes: a row stays
                // and only its value changes.
                {move || (0..count.get()).map(row).collect_view()}
            </ol>
        </section>
    }
}
