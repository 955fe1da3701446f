//! The hydrate entry point: the browser takes over the server-rendered page.
//!
//! No panic hook: the release wasm is built with `-Cpanic=immediate-abort`
//! (.cargo/config.toml), so a panic is a trap ("unreachable executed" in the console) and
//! carries no message to print; that drops the panic formatting machinery from the wasm.
//!
//! Synchronous hydration (`hydrate_body`), after the wasm chunk of a lazy route
//! (app/src/lib.rs) has loaded when the page is one. Leptos's `hydrate_lazy` would
//! hydrate the tree above the router asynchronously instead, and the async hydration
//! of every erased view type it links costs the wasm more than this wait for the chunk,
//! which `hydrate_lazy` waits for too (vendor/tachys/PATCH.md).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Leptos's executor is set up by `hydrate_body`; the chunk's load needs none.
    wasm_bindgen_futures::spawn_local(async {
        app::load_route_chunk(
            &leptos::prelude::window()
                .location()
                .pathname()
                .unwrap_or_default(),
        )
        .await;
        leptos::mount::hydrate_body(app::App);
    });
}
