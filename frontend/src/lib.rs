//! The hydrate entry point: the browser takes over the server-rendered page.
//!
//! No panic hook: the release wasm is built with `-Cpanic=immediate-abort`
//! (.cargo/config.toml), so a panic is a trap ("unreachable executed" in the console) and
//! carries no message to print; that drops the panic formatting machinery from the wasm.
//!
//! `hydrate_lazy`: a page behind a lazy route (app/src/lib.rs) hydrates once its wasm
//! chunk has loaded.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_lazy(app::App);
}
