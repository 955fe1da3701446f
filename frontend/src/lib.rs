//! The hydrate entry point: the browser takes over the server-rendered page.
//!
//! No panic hook: the release wasm is built with `-Cpanic=immediate-abort` (Cargo.toml,
//! `lib-cargo-args`), so a panic is a trap ("unreachable executed" in the console) and
//! carries no message to print; that drops the panic formatting machinery from the wasm.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_body(app::App);
}
