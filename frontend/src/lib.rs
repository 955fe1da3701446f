//! The hydrate entry point: the browser takes over the server-rendered page.
//!
//! No panic hook: the release wasm is built with `-Cpanic=immediate-abort`
//! (.cargo/config.toml), so a panic is a trap ("unreachable executed" in the console) and
//! carries no message to print; that drops the panic formatting machinery from the wasm.
//!
//! Synchronous hydration (`hydrate_body`), after the page's wasm chunk has loaded when
//! it has one (app/src/lib.rs, `App`). Nothing hydrates asynchronously, so the async
//! hydration of every erased view type is left out of the wasm (vendor/tachys/PATCH.md).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Leptos's executor is set up by `hydrate_body`; the chunk's load needs none.
    wasm_bindgen_futures::spawn_local(async {
        app::load_page_chunk().await;
        leptos::mount::hydrate_body(app::App);
    });
}
