//! The `lookout` server: configuration, logging, background tasks and the HTTP
//! router (Leptos pages and server functions, plus plain JSON/SSE endpoints).
//! The router lives here rather than in main.rs so integration tests can build it.

pub mod agent;
pub mod alerting;
pub mod analysis;
pub mod assets;
pub mod auth;
pub mod commands;
pub mod config;
pub mod detector;
pub mod edge;
pub mod endpoints;
pub mod error;
pub mod export;
pub mod handlers;
pub mod hosts;
pub mod hub;
pub mod ingest;
pub mod interop;
pub mod logging;
pub mod memory;
pub mod runtime;
pub mod streams;
pub mod training;

use axum::extract::{FromRef, Request, State};
use axum::http::Uri;
use axum::Router;
use config::Settings;
use error::ServerError;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::LeptosRoutes;
use lookout::store::{Store, StoreOptions};
use runtime::Services;
use std::path::PathBuf;
use std::sync::Arc;

/// Router state: Leptos' options for the pages, the services for our endpoints.
#[derive(Clone)]
pub struct ServerState {
    pub leptos: LeptosOptions,
    pub services: Services,
    pub auth: auth::Auth,
    /// The built site's static files (assets.rs).
    pub assets: Arc<assets::Assets>,
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(s: &ServerState) -> Self {
        s.leptos.clone()
    }
}
impl FromRef<ServerState> for Services {
    fn from_ref(s: &ServerState) -> Self {
        s.services.clone()
    }
}
impl FromRef<ServerState> for auth::Auth {
    fn from_ref(s: &ServerState) -> Self {
        s.auth.clone()
    }
}

/// Finds the built site (pkg/, vendor/): the configured folder, `LEPTOS_SITE_ROOT`,
/// `site/` next to the binary (the Docker layout), or `target/site` (a source tree).
pub fn site_root(settings: &Settings) -> PathBuf {
    if !settings.config.server.site_root.is_empty() {
        return settings.config.server.site_root.clone().into();
    }
    if let Ok(root) = std::env::var("LEPTOS_SITE_ROOT") {
        return root.into();
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("site")))
    {
        if dir.join("pkg").is_dir() {
            return dir;
        }
    }
    "target/site".into()
}

pub fn leptos_options(settings: &Settings) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("lookout")
        .site_root(site_root(settings).to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(settings.bind)
        // Leptos reads the file names from `hash.txt` next to the binary.
        .hash_files(leptos_hashes().is_some())
        .build()
}

/// cargo-leptos' `hash.txt` (the hashed names of the wasm, its glue and the stylesheet),
/// which the release build writes next to the binary; None for a build without it.
pub fn leptos_hashes() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    std::fs::read_to_string(exe.parent()?.join("hash.txt")).ok()
}

/// The static files of the built site, under hashed names (assets.rs).
pub fn site_assets(settings: &Settings) -> assets::Assets {
    let root = site_root(settings);
    let assets = assets::Assets::scan(&root, leptos_hashes().as_deref());
    if assets.is_empty() {
        tracing::warn!(
            site = %root.display(),
            "no built site found (pkg/, vendor/): the dashboard will load without scripts; run `cargo leptos build --release`"
        );
    }
    assets
}

pub fn open_store(settings: &Settings) -> Result<Store, ServerError> {
    Store::open(
        &settings.store_path,
        StoreOptions {
            host: settings.host.clone(),
            raw_retention: settings.raw_retention,
            rollup_retention: settings.rollup_retention,
        },
    )
    .map_err(|source| ServerError::Store {
        path: settings.store_path.clone(),
        source,
    })
}

/// The app's pages (`app::page::PATHS`) as Leptos's axum integration registers them:
/// each a GET, rendered by `app::App`, which picks the page from the request's path.
///
/// `SsrMode::Async`: the server waits for a page's resources before it sends the page,
/// so the values are in the HTML itself (out-of-order streaming would need a script to
/// show them, and the pages must read, and the sign-in form work, with JavaScript off).
///
/// Listed, not generated: there is no client-side router to walk (`app::page`), and
/// generating a list rendered the app with resource loads held by one process-wide flag,
/// which hung a page rendered meanwhile on another thread (leptos #4773).
pub fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    app::page::PATHS
        .iter()
        .map(|(path, _)| {
            leptos_axum::AxumRouteListing::new(
                path.to_string(),
                leptos_router::SsrMode::Async,
                [leptos_router::Method::Get],
                vec![],
            )
        })
        .collect()
}

/// Builds the HTTP router over the running services.
pub fn router(settings: &Settings, services: Services) -> Router {
    let auth = auth::Auth::new(services.store.clone(), settings.auth.clone());
    auth.set_loopback_bind(settings.bind.ip().is_loopback());
    router_with_auth(settings, services, auth)
}

/// [`router`] with a given access-control state (tests pass their own clock).
pub fn router_with_auth(settings: &Settings, services: Services, auth: auth::Auth) -> Router {
    let leptos = leptos_options(settings);
    let app_state = app::state::AppState {
        store: services.store.clone(),
        latest: services.latest.clone(),
        settings: app::state::UiSettings {
            host: settings.host.clone(),
            sample_interval_secs: settings.interval.as_secs_f64(),
            default_refresh_secs: settings.default_refresh_secs,
        },
    };
    let routes = route_list();
    let assets = Arc::new(site_assets(settings));
    let shell_assets = app::ShellAssets {
        stylesheet: assets.url("/pkg/lookout.css"),
        chart: assets.url("/vendor/chart.umd.js"),
    };
    // ECharts is the analysis page's own script (not in the shell).
    let analysis_assets = app::components::analysis::AnalysisAssets {
        echarts: assets.url(app::components::analysis::ECHARTS_URL),
    };
    let start_state = Arc::new(app_state.clone());
    let context = move || {
        provide_context(app_state.clone());
        provide_context(shell_assets.clone());
        provide_context(analysis_assets.clone());
        // The inline scripts carry the nonce the CSP header names (edge/headers.rs).
        edge::headers::provide_request_nonce();
    };
    let state = ServerState {
        leptos: leptos.clone(),
        services,
        auth: auth.clone(),
        assets,
    };
    // Every plain route comes from the table, with its access rule (endpoints.rs).
    let mut router = Router::new();
    for e in endpoints::ENDPOINTS {
        router = router.route(e.path, (e.handler)());
    }
    // Static files (public: auth::policy::PUBLIC_PREFIXES) are answered in the fallback,
    // before Leptos' own file handler: hashed names, cache lifetimes, precompressed bodies.
    let leptos_fallback = leptos_axum::file_and_error_handler_with_context::<ServerState, _>(
        context.clone(),
        app::shell,
    );
    let fallback = move |uri: Uri, State(state): State<ServerState>, req: Request| {
        let leptos_fallback = leptos_fallback.clone();
        async move {
            if assets::is_static(uri.path()) {
                assets::serve(State(state.assets.clone()), req).await
            } else {
                leptos_fallback(uri, State(state), req).await
            }
        }
    };
    let router = router
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let leptos = leptos.clone();
            move || app::shell(leptos.clone())
        })
        .fallback(fallback)
        // The dashboard's starting data, read before it renders (after the access check).
        .layer(axum::middleware::from_fn_with_state(
            start_state,
            handlers::dashboard_start,
        ))
        // `/api/series` parameters checked before the server function parses them.
        .layer(axum::middleware::from_fn(handlers::series_guard))
        // Who may call what (auth/policy.rs), inside the edge layers.
        .layer(axum::middleware::from_fn_with_state(
            auth,
            auth::middleware::enforce,
        ))
        .with_state(state);
    // Last, so the edge layers (client info, security headers, limits) run first.
    edge::apply(router, &settings.edge)
}

/// How long open connections may finish after a stop is requested; then they are
/// closed and the store is flushed (Docker's default stop timeout is 10 s).
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs the server until Ctrl-C or SIGTERM, then flushes the store.
pub async fn serve(settings: Settings) -> Result<(), ServerError> {
    let store = Arc::new(open_store(&settings)?);
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .map_err(|source| ServerError::Listen {
            addr: settings.bind,
            key: "server.bind",
            source,
        })?;
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    let tasks = runtime::start(&settings, store)?;
    let app = router(&settings, tasks.services.clone());
    tracing::info!(
        %addr,
        host = %settings.host,
        interval_secs = settings.interval.as_secs_f64(),
        store = %settings.store_path.display(),
        "Lookout listening on {}://{addr}",
        if settings.edge.tls.is_some() { "https" } else { "http" }
    );
    let mut stopping = tasks.services.stopping.clone();
    let stop_tx = tasks.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("stop requested");
        let _ = stop_tx.send(true);
    });
    let mut stopped = stopping.clone();
    let served = edge::serve(listener, app, &settings.edge, async move {
        let _ = stopping.wait_for(|s| *s).await;
    });
    // Graceful, but bounded: a client that holds its connection (a half-sent header, a
    // stream) must not keep the process alive until a container stop ends in SIGKILL
    // before the store is flushed.
    let grace = async move {
        let _ = stopped.wait_for(|s| *s).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let served = tokio::select! {
        r = served => r,
        () = grace => {
            tracing::warn!(
                grace_secs = SHUTDOWN_GRACE.as_secs(),
                "connections still open after the stop: closing them"
            );
            Ok(())
        }
    };
    tracing::info!("shutting down: flushing samples");
    tasks.shutdown().await;
    served
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
