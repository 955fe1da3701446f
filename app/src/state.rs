//! What the server gives the web layer. `UiSettings` travels to the browser; `AppState`
//! exists only on the server, where `leptos_routes_with_context` provides it to every
//! page render and every server function.

use serde::{Deserialize, Serialize};

/// Settings the dashboard needs from the server's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UiSettings {
    /// The monitored host's name, shown in the header.
    pub host: String,
    /// The sampler's interval: live samples arrive this often.
    pub sample_interval_secs: f64,
    /// The refresh interval used until the user picks one; 0 = paused.
    pub default_refresh_secs: u32,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            host: String::new(),
            sample_interval_secs: 5.0,
            default_refresh_secs: 5,
        }
    }
}

#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct AppState {
    pub store: std::sync::Arc<lookout::store::Store>,
    /// The sampler's latest snapshot, published after every sample.
    pub latest: tokio::sync::watch::Receiver<Option<lookout::model::Snapshot>>,
    pub settings: UiSettings,
}
