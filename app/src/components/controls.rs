//! The range and refresh selectors, and the live-link badge.

use leptos::prelude::*;

use crate::components::dashboard::{DashboardState, Link};
use crate::controls::{Range, Refresh};

#[component]
pub fn Controls(live: DashboardState) -> impl IntoView {
    let on_range = move |ev: leptos::ev::Event| {
        if let Some(r) = Range::parse(&event_target_value(&ev)) {
            live.range.set(r);
        }
    };
    let on_refresh = move |ev: leptos::ev::Event| {
        if let Some(r) = Refresh::parse(&event_target_value(&ev)) {
            #[cfg(feature = "hydrate")]
            crate::browser::save_refresh(&r.key());
            live.refresh.set(r);
        }
    };
    let badge = move || match live.link.get() {
        Link::Static => "snapshot",
        Link::Connecting => "connecting…",
        Link::Open => "live",
        Link::Reconnecting => "reconnecting…",
        Link::Paused => "paused",
    };
    let badge_state = move || match live.link.get() {
        Link::Static => "static",
        Link::Connecting => "connecting",
        Link::Open => "open",
        Link::Reconnecting => "reconnecting",
        Link::Paused => "paused",
    };
    view! {
        <div class="controls">
            <label>
                <span>"Range"</span>
                <select id="range" on:change=on_range prop:value=move || live.range.get().key()>
                    {Range::CHOICES
                        .into_iter()
                        .map(|r| {
                            view! {
                                <option value=r.key() selected=move || live.range.get() == r>
                                    {r.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                <span>"Refresh"</span>
                <select id="refresh" on:change=on_refresh prop:value=move || live.refresh.get().key()>
                    {Refresh::CHOICES
                        .into_iter()
                        .map(|r| {
                            view! {
                                <option value=r.key() selected=move || live.refresh.get() == r>
                                    {r.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <span class="link" id="link" data-state=badge_state aria-live="polite">
                {badge}
            </span>
        </div>
    }
}
