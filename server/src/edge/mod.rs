//! The server's edge: TLS, the HTTP -> HTTPS redirect, trusted proxies, security
//! headers, request size limits and error bodies. [`apply`] wraps the router (call it
//! last, so these layers run before any other); [`serve`] runs it on a plain or TLS
//! listener.
//!
//! For other layers: every request carries a [`ClientInfo`] extension (effective client
//! IP and whether the client used https) by the time it reaches them.

pub mod conn;
pub mod headers;
pub mod limits;
pub mod proxy;
pub mod tls;

pub use proxy::{Cidr, ClientInfo, UntrustedForwarding};

use crate::error::ServerError;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::limit::RequestBodyLimitLayer;

/// The edge's checked settings (part of [`crate::config::Settings`]).
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// Native TLS, when `tls.cert` and `tls.key` are set.
    pub tls: Option<tls::TlsSettings>,
    /// `tls.hsts`: also applies when a trusted proxy says the client used https.
    pub hsts: bool,
    pub trusted_proxies: Vec<Cidr>,
    /// `server.max_body` in bytes.
    pub max_body: usize,
    /// `server.header_timeout` and `server.max_connections`.
    pub conn: conn::ConnLimits,
    /// `server.max_streams`, `server.max_streams_per_caller` (open `/api/stream`s).
    pub max_streams: usize,
    pub max_streams_per_caller: usize,
}

impl Default for EdgeSettings {
    fn default() -> Self {
        Self {
            tls: None,
            hsts: true,
            trusted_proxies: Vec::new(),
            max_body: 1024 * 1024,
            conn: conn::ConnLimits::default(),
            max_streams: 512,
            max_streams_per_caller: 16,
        }
    }
}

/// Wraps the whole router (routes and fallback). From the outside in: client info
/// (trusted proxies), security headers, response compression, the body deadline (JSON
/// 408), error bodies (JSON 413, scrubbed paths), panic catcher, body size limit.
pub fn apply(router: Router, edge: &EdgeSettings) -> Router {
    let max_body = edge.max_body;
    let body_timeout = edge.conn.body_timeout;
    let policy = Arc::new(proxy::ProxyPolicy {
        trusted: edge.trusted_proxies.clone(),
        tls: edge.tls.is_some(),
    });
    let header_policy = Arc::new(headers::HeaderPolicy::new(edge.hsts));
    router
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(CatchPanicLayer::custom(limits::panic_response))
        .layer(axum::middleware::from_fn(move |req, next| {
            limits::error_bodies(max_body, req, next)
        }))
        .layer(axum::middleware::from_fn(move |req, next| {
            limits::body_deadline(body_timeout, req, next)
        }))
        .layer(compression())
        .layer(axum::middleware::from_fn_with_state(
            header_policy,
            headers::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            policy,
            proxy::client_info,
        ))
}

/// gzip or brotli for every response the client accepts it for, except server-sent
/// events (a stream must not wait for a compressor's buffer), images, bodies under 32
/// bytes and responses that are compressed already (the precompressed static files).
/// Level 4: brotli's default (11) costs tens of milliseconds per page; 4 keeps most of
/// the gain (the static files, the big ones, are compressed at 11 at build time).
fn compression() -> CompressionLayer {
    CompressionLayer::new().quality(CompressionLevel::Precise(4))
}

/// Serves `app` on `listener` (TLS when configured) until `shutdown` resolves, plus
/// the redirect listener when `tls.redirect_http` is set, with the connection limits of
/// [`conn`]. Peer addresses reach the router as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    edge: &EdgeSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let Some(tls) = &edge.tls else {
        conn::serve(listener, app, edge.conn, stop).await;
        return Ok(());
    };
    let https_port = listener.local_addr().map_err(ServerError::Serve)?.port();
    let redirect = match tls.redirect_http {
        Some(addr) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Listen {
                    addr,
                    key: "tls.redirect_http",
                    source,
                })?;
            tracing::info!(%addr, "redirecting http://{addr} to https");
            let (limits, stop) = (edge.conn, stop.clone());
            Some(tokio::spawn(async move {
                conn::serve(l, tls::redirect_router(https_port), limits, stop).await;
            }))
        }
        None => None,
    };
    let listener = tls::TlsListener::new(listener, tls.config.clone(), edge.conn.header_timeout)
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    conn::serve(listener, app, edge.conn, stop).await;
    if let Some(r) = redirect {
        r.abort();
    }
    Ok(())
}
