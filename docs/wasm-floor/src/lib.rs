//! The floor: a hydrated Leptos 0.8 app with the router, one route, one signal.
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

#[component]
fn Home() -> impl IntoView {
    let n = RwSignal::new(0);
    view! {
        <header><h1>"Lookout"</h1><button on:click=move |_| n.update(|n| *n += 1)>{n}</button></header>
    }
}

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| "not found">
                <Route path=path!("/") view=Home/>
            </Routes>
        </Router>
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_body(App);
}
