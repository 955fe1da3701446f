//! Native TLS with rustls: the certificate chain and key from PEM files
//! (`tls.cert`, `tls.key`), a listener for `axum::serve` that completes handshakes
//! off the accept loop (a slow client cannot hold up others), and the plain-HTTP
//! listener that redirects to https (`tls.redirect_http`).

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The checked TLS settings: a ready rustls configuration.
#[derive(Clone)]
pub struct TlsSettings {
    pub config: Arc<ServerConfig>,
    /// Where plain HTTP is redirected from, if anywhere.
    pub redirect_http: Option<SocketAddr>,
    pub hsts: bool,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field("redirect_http", &self.redirect_http)
            .field("hsts", &self.hsts)
            .finish_non_exhaustive()
    }
}

/// Reads and checks the certificate chain and private key. Every error names the
/// config key and the file, and says what was expected.
pub fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let cert_pem = std::fs::read(cert)
        .map_err(|e| format!("`tls.cert`: cannot read {}: {e}", cert.display()))?;
    let key_pem =
        std::fs::read(key).map_err(|e| format!("`tls.key`: cannot read {}: {e}", key.display()))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "`tls.cert`: {} is not a valid PEM file: {e}",
                cert.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "`tls.cert`: {} holds no certificate (expected PEM \"-----BEGIN CERTIFICATE-----\" blocks, the server's first)",
            cert.display()
        ));
    }
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        format!(
            "`tls.key`: {} holds no usable private key (expected a PEM PKCS#8, PKCS#1 or SEC1 key): {e}",
            key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| {
            format!(
                "`tls.cert` / `tls.key`: {} and {} do not make a usable pair: {e}",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Handshakes in progress at most. Past it, the oldest unfinished one is dropped to
/// make room (see [`Handshakes`]).
pub const MAX_HANDSHAKES: usize = 256;

/// The handshakes in progress, oldest first by id. A new connection past
/// [`MAX_HANDSHAKES`] closes the oldest one rather than waiting for a place: a client
/// that trickles its ClientHello a byte at a time would otherwise, 256 sockets at a
/// time, keep every other client (`/healthz` included) queued in the kernel for up to
/// the handshake timeout. A real client finishes in milliseconds, so only slow ones are
/// old enough to be dropped; an attacker holding handshakes open pushes out its own.
#[derive(Default)]
struct Handshakes {
    open: std::sync::Mutex<std::collections::BTreeMap<u64, Arc<tokio::sync::Notify>>>,
    next: std::sync::atomic::AtomicU64,
}

impl Handshakes {
    /// Registers a new handshake (closing the oldest if `cap` are open); its id and the
    /// signal that tells it to give up.
    fn add(&self, cap: usize) -> (u64, Arc<tokio::sync::Notify>) {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let close = Arc::new(tokio::sync::Notify::new());
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while open.len() >= cap.max(1) {
            if let Some((_, oldest)) = open.pop_first() {
                // notify_one keeps the permit if the task is not waiting yet.
                oldest.notify_one();
            }
        }
        open.insert(id, close.clone());
        (id, close)
    }

    fn remove(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A TLS listener for `axum::serve`. A background task accepts TCP connections and
/// runs each handshake in its own task; finished connections are handed over through
/// a channel. A handshake must finish within `handshake_timeout` in all (not per read,
/// so a ClientHello trickled a byte a second cannot hold a socket), and at most
/// [`MAX_HANDSHAKES`] run at once, the oldest making room for a newcomer.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    pub fn new(
        tcp: TcpListener,
        config: Arc<ServerConfig>,
        handshake_timeout: Duration,
    ) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, ready) = mpsc::channel(64);
        let handshakes = Arc::new(Handshakes::default());
        let task = tokio::spawn(async move {
            loop {
                let (stream, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, as axum does.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let (id, close) = handshakes.add(MAX_HANDSHAKES);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                let handshakes = handshakes.clone();
                tokio::spawn(async move {
                    let done = tokio::time::timeout(handshake_timeout, acceptor.accept(stream));
                    tokio::select! {
                        r = done => {
                            handshakes.remove(id);
                            match r {
                                Ok(Ok(tls)) => {
                                    let _ = tx.send((tls, peer)).await;
                                }
                                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                            }
                        }
                        () = close.notified() => {
                            tracing::debug!(%peer, "TLS handshake dropped for a newer one (too many at once)");
                        }
                    }
                });
            }
        });
        Ok(TlsListener { ready, local, task })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(c) => c,
            // The accept task ended (only on shutdown): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The plain-HTTP app behind `tls.redirect_http`: every request is sent to the same
/// host and path over https (301 for GET/HEAD, 308 otherwise so the method is kept).
pub fn redirect_router(https_port: u16) -> axum::Router {
    axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: axum::http::HeaderMap| async move {
            redirect(https_port, &method, &uri, &headers)
        },
    )
}

fn redirect(
    https_port: u16,
    method: &Method,
    uri: &Uri,
    headers: &axum::http::HeaderMap,
) -> Response {
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
    else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({ "error": "use https (no Host header to redirect to)" })),
        )
            .into_response();
    };
    let name = host.host();
    let authority = if https_port == 443 {
        name.to_string()
    } else {
        format!("{name}:{https_port}")
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let status = if method == Method::GET || method == Method::HEAD {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::PERMANENT_REDIRECT
    };
    match HeaderValue::from_str(&format!("https://{authority}{path}")) {
        Ok(location) => (status, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_keeps_host_and_path_and_uses_the_https_port() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::HOST, "mon.example.org:8080".parse().unwrap());
        let uri: Uri = "/api/history?metric=cpu".parse().unwrap();
        let r = redirect(8443, &Method::GET, &uri, &h);
        assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://mon.example.org:8443/api/history?metric=cpu"
        );
        let r = redirect(443, &Method::POST, &uri, &h);
        assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            r.headers()[header::LOCATION],
            "https://mon.example.org/api/history?metric=cpu"
        );
        let r = redirect(443, &Method::GET, &uri, &axum::http::HeaderMap::new());
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn past_the_cap_the_oldest_handshake_makes_room() {
        let h = Handshakes::default();
        let (first, first_close) = h.add(2);
        let (_second, _) = h.add(2);
        assert_eq!(h.len(), 2);
        let (third, _) = h.add(2);
        assert_eq!(h.len(), 2, "the cap holds");
        // The oldest was told to give up (the permit waits for it)...
        futures::executor::block_on(first_close.notified());
        // ...and is no longer counted; removing it again is harmless.
        h.remove(first);
        assert_eq!(h.len(), 2);
        h.remove(third);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn unreadable_and_invalid_files_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let e = load_server_config(&missing, &junk).unwrap_err();
        assert!(e.contains("`tls.cert`") && e.contains("nope.pem"), "{e}");
        let e = load_server_config(&junk, &missing).unwrap_err();
        assert!(e.contains("`tls.key`") && e.contains("nope.pem"), "{e}");
        let e = load_server_config(&junk, &junk).unwrap_err();
        assert!(
            e.contains("`tls.cert`") && e.contains("no certificate"),
            "{e}"
        );
    }
}
