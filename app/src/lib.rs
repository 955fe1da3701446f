//! Lookout's web layer: the HTML shell, the dashboard and its server functions. The same
//! crate is built for the server (`ssr`) and for the browser (`hydrate`).

// Builds without `--cfg erase_components` (the tests') type the dashboard's whole view
// as one nested type, deeper than the compiler's default query limit of 128.
#![recursion_limit = "256"]

pub mod anomaly;
pub mod api;
pub mod auth;
pub mod chart_spec;
pub mod components;
pub mod controls;
pub mod forecast_view;
pub mod format;
pub mod json;
pub mod page;
pub mod state;
pub mod timeline;

#[cfg(feature = "hydrate")]
pub mod actions;
#[cfg(feature = "hydrate")]
pub mod browser;
#[cfg(feature = "hydrate")]
pub mod chart;
#[cfg(feature = "hydrate")]
pub mod echarts;
#[cfg(feature = "hydrate")]
pub mod http;

use leptos::prelude::*;

use crate::components::admin::AdminPage;
use crate::components::analysis::AnalysisPage;
use crate::components::dashboard::Dashboard;
use crate::components::login::LoginPage;
use crate::page::Page;

/// The URLs of the shell's static files: their content-hashed names when the server
/// found them (`server/src/assets.rs`), so browsers may keep them for a year. The
/// server provides them as context; without it the plain names are used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellAssets {
    pub stylesheet: String,
    pub chart: String,
}

impl Default for ShellAssets {
    fn default() -> Self {
        Self {
            stylesheet: "/pkg/lookout.css".into(),
            chart: "/vendor/chart.umd.js".into(),
        }
    }
}

/// The HTML document around the app. Chart.js is a plain script loaded before the
/// hydration scripts, so the `Chart` global exists when the wasm starts drawing.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let assets = use_context::<ShellAssets>().unwrap_or_default();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                // No favicon request (a 404 would be a console error).
                <link rel="icon" href="data:,"/>
                <link rel="stylesheet" href=assets.stylesheet/>
                <script src=assets.chart></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                // As markup, not a text child: a text child is followed by a
                // hydration marker (`<!>`), which inside <title> is shown as text.
                <title inner_html=page_title()></title>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The document's title, HTML-escaped (the server's; the browser never changes it:
/// each page's title is fixed for its life). In the shell rather than in the pages: a
/// title component would put leptos_meta's code in the wasm for nothing.
#[cfg(feature = "ssr")]
fn page_title() -> String {
    let title: String = match Page::current() {
        Page::Dashboard => components::dashboard::title(),
        Page::Analysis => components::analysis::title(),
        Page::Login => "Sign in · Lookout".into(),
        Page::Admin => "Admin · Lookout".into(),
        Page::NotFound => "Not found · Lookout".into(),
    };
    lookout::alert::render::escape_html(&title)
}

/// The shell is rendered by the server only.
#[cfg(not(feature = "ssr"))]
fn page_title() -> String {
    String::new()
}

/// The page the URL names ([`page`]). The dashboard is in the main wasm module; the
/// other pages' code (the analysis page's chart options, the admin forms, the sign-in
/// form) is in wasm chunks of their own (`#[lazy]`, `cargo leptos build --split`), so
/// the dashboard's first load does not carry it. The browser loads the page's chunk
/// before it hydrates (`frontend/src/lib.rs`, [`load_page_chunk`]); the server has
/// every page's code, and puts a preload link for the chunk in the page.
#[component]
pub fn App() -> impl IntoView {
    match Page::current() {
        Page::Dashboard => view! { <Dashboard/> }.into_any(),
        Page::Analysis => loaded(analysis_page()),
        Page::Login => loaded(login_page()),
        Page::Admin => loaded(admin_page()),
        Page::NotFound => view! { <NotFound/> }.into_any(),
    }
}

/// A lazy page's view, whose code is at hand: on the server always, in the browser once
/// [`load_page_chunk`] has loaded it.
fn loaded(page: impl std::future::Future<Output = AnyView>) -> AnyView {
    futures::FutureExt::now_or_never(page)
        .expect("the page's wasm chunk is loaded before it renders")
}

#[leptos::lazy]
fn analysis_page() -> AnyView {
    view! { <AnalysisPage/> }.into_any()
}

#[leptos::lazy]
fn login_page() -> AnyView {
    view! { <LoginPage/> }.into_any()
}

#[leptos::lazy]
fn admin_page() -> AnyView {
    view! { <AdminPage/> }.into_any()
}

/// Loads the wasm chunk of the page being shown, when it has one, so that it hydrates
/// at once (`frontend/src/lib.rs`).
#[cfg(feature = "hydrate")]
pub async fn load_page_chunk() {
    match Page::current() {
        Page::Analysis => __preload_analysis_page().await,
        Page::Login => __preload_login_page().await,
        Page::Admin => __preload_admin_page().await,
        Page::Dashboard | Page::NotFound => {}
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="dashboard">
            <h1>"Not found"</h1>
            <p><a href="/">"Back to the dashboard"</a></p>
        </main>
    }
}
