//! The dashboard's pieces. `dashboard` loads the data and wires live updates; the others
//! only render from the shared `DashboardState` signals.

pub mod admin;
pub mod alerts;
pub mod analysis;
pub mod anomalies;
pub mod cards;
pub mod charts;
pub mod controls;
pub mod cores;
pub mod dashboard;
pub mod fleet;
pub mod forecasts;
pub mod login;
pub mod logs;
pub mod processes;
pub mod rules;
pub mod scope;

use leptos::prelude::{event_target_value, RwSignal, Set};

/// What typing into a form field (or choosing in a select) does: the field's text into
/// its signal. With `prop:value=signal` it is the two-way binding `bind:value` makes,
/// without `bind:value`'s own generic code; one function for every such field, so the
/// wasm holds one handler type, not one per field (docs/wasm-size.md, session 14).
pub fn typed(into: RwSignal<String>) -> impl Fn(leptos::ev::Event) + Copy + 'static {
    move |ev| into.set(event_target_value(&ev))
}
