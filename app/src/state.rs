//! What the server gives the web layer. `UiSettings` travels to the browser; `AppState`
//! exists only on the server, where `leptos_routes_with_context` provides it to every
//! page render and every server function.

/// Settings the dashboard needs from the server's configuration (`GET /api/settings`):
/// a model type, so the JSON contract covers it.
pub use lookout::model::UiSettings;

#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct AppState {
    pub store: std::sync::Arc<lookout::store::Store>,
    /// The sampler's latest snapshot, published after every sample.
    pub latest: tokio::sync::watch::Receiver<Option<lookout::model::Snapshot>>,
    pub settings: UiSettings,
}
