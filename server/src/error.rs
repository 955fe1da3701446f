//! The server's errors: what stops `lookout serve` (or a command) from starting or
//! running, each phrased for the person who has to fix it, naming the setting at fault.
//! Handlers answer their callers with `lookout::model::ApiError` instead.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot open the store (`store.path` = {}): {source}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: lookout::store::StoreError,
    },
    #[error("cannot listen on {addr} (`{key}`): {source}")]
    Listen {
        addr: SocketAddr,
        key: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
    #[error("server error: {0}")]
    Serve(#[source] std::io::Error),
    /// Logging could not be set up (`[log]`).
    #[error("{0}")]
    Logging(String),
    /// Access control refused to start (`[auth]`, the bind policy, the first admin).
    #[error("{0}")]
    Access(String),
    /// The detector could not start or train (`[detector]`).
    #[error("detector: {0}")]
    Detector(String),
    /// The alert engine could not start (`[alerts]`, saved rules, silences).
    #[error("alerting: {0}")]
    Alerting(String),
}

pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// An error answer: `status` with `{"error": msg}` (`lookout::model::ApiError`), the
/// one shape every handler, middleware and edge layer answers with.
pub fn api_error(
    status: axum::http::StatusCode,
    msg: impl Into<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, axum::Json(lookout::model::ApiError::new(msg))).into_response()
}

/// A command's failure: the message on stderr, prefixed `lookout:`; returns the exit
/// code to pass on (1 for a failure, 2 for bad usage).
pub fn exit_with(code: u8, msg: impl std::fmt::Display) -> u8 {
    eprintln!("lookout: {msg}");
    code
}
