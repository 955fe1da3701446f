//! Lookout's web layer: the HTML shell, the dashboard and its server functions. The same
//! crate is built for the server (`ssr`) and for the browser (`hydrate`).

pub mod anomaly;
pub mod api;
pub mod auth;
pub mod chart_spec;
pub mod components;
pub mod controls;
pub mod forecast_view;
pub mod format;
pub mod json;
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
use leptos_meta::{provide_meta_context, MetaTags};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{lazy_route, path, Lazy, LazyRoute, SsrMode};

use crate::components::admin::AdminPage;
use crate::components::analysis::AnalysisPage;
use crate::components::dashboard::Dashboard;
use crate::components::login::LoginPage;

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
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // SsrMode::Async: the server waits for the snapshot before sending the page, so the
    // values are in the HTML itself (out-of-order streaming would need a script to
    // show them, and the page must read with JavaScript off).
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/") view=Dashboard ssr=SsrMode::Async/>
                <Route path=path!("/dashboard") view=Dashboard ssr=SsrMode::Async/>
                <Route path=path!("/analysis") view={Lazy::<AnalysisRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

// Lazy routes: the code of these pages (the analysis page's chart options, the admin
// forms, the sign-in form) is in wasm chunks of its own (`cargo leptos build --split`), fetched when the
// route is opened, so the dashboard's first load does not carry it. Their data loads in
// the page's own resources, as before; `data` has nothing to start early.

/// Loads the wasm chunk of the lazy route at `path`, when it is one, so that the page
/// hydrates synchronously (`frontend/src/lib.rs`): once loaded, the router finds the
/// route's view ready. Other paths: nothing to wait for.
#[cfg(feature = "hydrate")]
pub async fn load_route_chunk(path: &str) {
    match path.trim_end_matches('/') {
        "/analysis" => AnalysisRoute::preload().await,
        "/login" => LoginRoute::preload().await,
        "/admin" => AdminRoute::preload().await,
        _ => {}
    }
}

/// `/analysis`, lazily loaded.
pub struct AnalysisRoute;

#[lazy_route]
impl LazyRoute for AnalysisRoute {
    fn data() -> Self {
        AnalysisRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <AnalysisPage/> }.into_any()
    }
}

/// `/login`, lazily loaded. SsrMode::Async like the others: a lazy view is awaited,
/// and out-of-order streaming would need a script to show it (the form must work with
/// JavaScript off).
pub struct LoginRoute;

#[lazy_route]
impl LazyRoute for LoginRoute {
    fn data() -> Self {
        LoginRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <LoginPage/> }.into_any()
    }
}

/// `/admin`, lazily loaded.
pub struct AdminRoute;

#[lazy_route]
impl LazyRoute for AdminRoute {
    fn data() -> Self {
        AdminRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <AdminPage/> }.into_any()
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
