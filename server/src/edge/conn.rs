//! Connections: the accept loop behind [`super::serve`], with the limits that keep slow
//! or idle clients from holding the server.
//!
//! - **Header timeout** (`server.header_timeout`): a request head must arrive whole
//!   within it, counted from when the connection is ready for one, so a client that
//!   trickles a header byte by byte, or leaves a keep-alive connection idle, is closed.
//! - **Connection cap** (`server.max_connections`): past it, the oldest connection that
//!   has been read from but has not yet sent a whole request makes room. Those are
//!   slowloris sockets: a real client sends its head right after connecting, and is
//!   safe from then on. A connection not read yet is never chosen: on a busy machine a
//!   burst of connects can be accepted before their tasks run, and closing one would
//!   drop a real client's request unanswered. While such unread connections are what
//!   fills the cap, a newcomer is let in over it, up to a quarter more (its request
//!   may be waiting too); the oldest read-but-silent ones make room again as soon as
//!   they are read. When every connection has sent a request, or the quarter is used,
//!   the newcomer gets a 503 with `Retry-After`. Either way the process never runs out
//!   of file descriptors, and an attacker holding sockets open only pushes out its
//!   own. The accept loop yields after each connection so it is read at once.
//! - **Graceful stop**: accepting stops, every connection finishes the request it is on
//!   and closes; the caller bounds the wait ([`crate::SHUTDOWN_GRACE`]).

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// The connection limits (part of [`super::EdgeSettings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// `server.header_timeout`.
    pub header_timeout: Duration,
    /// `server.max_connections`.
    pub max_connections: usize,
    /// `server.body_timeout` (applied per request, by [`super::limits::body_deadline`]).
    pub body_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Where connections come from: plain TCP or the TLS listener (handshakes done).
pub trait Accept: Send + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept(&mut self) -> impl std::future::Future<Output = (Self::Io, SocketAddr)> + Send;
}

impl Accept for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;
    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            match tokio::net::TcpListener::accept(self).await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    return (stream, peer);
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, as axum does.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

impl Accept for super::tls::TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        axum::serve::Listener::accept(self).await
    }
}

/// One open connection, as the cap sees it.
struct Open {
    since: Instant,
    /// Set when the connection's task first runs (the server has tried to read it).
    read: Arc<AtomicBool>,
    /// Set once a whole request head has arrived.
    spoke: Arc<AtomicBool>,
    close: Arc<Notify>,
}

/// The open connections, shared by the accept loop and the connection tasks.
#[derive(Default)]
struct Registry {
    open: Mutex<HashMap<u64, Open>>,
    next: AtomicU64,
    /// Signalled when the last connection ends (for the graceful stop).
    empty: Notify,
}

impl Registry {
    fn len(&self) -> usize {
        self.open.lock().expect("registry lock").len()
    }

    /// Connections nothing is known of yet: not read from, no request seen. (A
    /// request can be answered before `read` is set, at the end of the same poll.)
    fn unread(&self) -> usize {
        let open = self.open.lock().expect("registry lock");
        open.values()
            .filter(|c| !c.read.load(Ordering::Relaxed) && !c.spoke.load(Ordering::Relaxed))
            .count()
    }

    /// Makes room for one more under `max` by closing read-but-silent connections;
    /// when they are not enough, lets the newcomer in over `max` (up to a quarter more)
    /// while unread connections are part of the crowd. False: refuse it.
    fn admit(&self, max: usize) -> bool {
        while self.len() >= max {
            if !self.evict_slowest() {
                return self.len() < max + max.div_ceil(4) && self.unread() > 0;
            }
        }
        true
    }

    fn add(&self, read: Arc<AtomicBool>, spoke: Arc<AtomicBool>, close: Arc<Notify>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let open = Open {
            since: Instant::now(),
            read,
            spoke,
            close,
        };
        self.open.lock().expect("registry lock").insert(id, open);
        id
    }

    fn remove(&self, id: u64) {
        let mut open = self.open.lock().expect("registry lock");
        open.remove(&id);
        if open.is_empty() {
            self.empty.notify_waiters();
        }
    }

    /// Closes the oldest connection that has been read from but has not sent a whole
    /// request yet; false when there is none.
    fn evict_slowest(&self) -> bool {
        let mut open = self.open.lock().expect("registry lock");
        let victim = open
            .iter()
            .filter(|(_, c)| c.read.load(Ordering::Relaxed) && !c.spoke.load(Ordering::Relaxed))
            .min_by_key(|(_, c)| c.since)
            .map(|(id, _)| *id);
        match victim.and_then(|id| open.remove(&id)) {
            Some(c) => {
                // notify_one stores the permit, so the task sees it even if it is not
                // waiting at this instant.
                c.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// The answer past the cap, written by hand: the connection never reaches the router.
fn busy() -> Vec<u8> {
    let body =
        r#"{"error":"too many open connections: try again in 5 s (server.max_connections)"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 5\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `app` on every connection `listener` yields until `stop` turns true, then
/// lets open connections finish and returns when the last has closed.
pub async fn serve<L: Accept>(
    mut listener: L,
    app: Router,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let registry = Arc::new(Registry::default());
    // HTTP/1.1 only, as before (axum::serve without its http2 feature): browsers
    // speak it to us directly or through a proxy that does its own HTTP/2.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let (io, peer) = tokio::select! {
            c = listener.accept() => c,
            _ = stop.wait_for(|s| *s) => break,
        };
        if !registry.admit(limits.max_connections) {
            tracing::warn!(%peer, max = limits.max_connections, "connection cap reached: 503");
            tokio::spawn(refuse(io));
            continue;
        }
        let read = Arc::new(AtomicBool::new(false));
        let spoke = Arc::new(AtomicBool::new(false));
        let close = Arc::new(Notify::new());
        let id = registry.add(read.clone(), spoke.clone(), close.clone());
        let app = app.clone();
        let builder = builder.clone();
        let registry = registry.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(
                move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                    spoke.store(true, Ordering::Relaxed);
                    req.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(req.map(axum::body::Body::new))
                },
            );
            let conn = builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            tokio::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    // `read` is set after the connection is polled: from then on the
                    // server has taken whatever the client had already sent.
                    _ = std::future::poll_fn(|cx| {
                        let polled = std::future::Future::poll(conn.as_mut(), cx);
                        read.store(true, Ordering::Relaxed);
                        polled
                    }) => break,
                    () = close.notified() => break,
                    _ = stop.wait_for(|s| *s), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            registry.remove(id);
        });
        // Let the new connection's task read its head before the next accept: a burst
        // of connects must not fill the cap with connections nobody has read yet.
        tokio::task::yield_now().await;
    }
    // Stopped: wait for the open connections (each is finishing its request).
    loop {
        let empty = registry.empty.notified();
        if registry.len() == 0 {
            return;
        }
        empty.await;
    }
}

/// Writes the 503 and closes, within a second (a peer that does not read cannot hold it).
async fn refuse<Io: AsyncWrite + Unpin>(mut io: Io) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = io.write_all(&busy()).await;
        let _ = io.shutdown().await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_is_well_formed() {
        let bytes = busy();
        let text = std::str::from_utf8(&bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(head.contains("\r\nretry-after: 5\r\n"), "{head}");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(v["error"].as_str().unwrap().contains("max_connections"));
    }

    fn flag(v: bool) -> Arc<AtomicBool> {
        Arc::new(AtomicBool::new(v))
    }

    #[test]
    fn only_connections_read_from_that_never_spoke_are_evicted_oldest_first() {
        let r = Registry::default();
        let (old, new) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let talker = r.add(flag(true), flag(false), Arc::new(Notify::new()));
        let quiet_old = r.add(flag(true), flag(false), old.clone());
        let quiet_new = r.add(flag(true), flag(false), new.clone());
        // The oldest of all, but its task has not run yet: its head may be waiting.
        let unread = r.add(flag(false), flag(false), Arc::new(Notify::new()));
        {
            let mut open = r.open.lock().unwrap();
            // The talker is older than the quiet ones, but it has sent a request.
            open.get_mut(&talker).unwrap().since -= Duration::from_secs(3);
            open.get_mut(&talker)
                .unwrap()
                .spoke
                .store(true, Ordering::Relaxed);
            open.get_mut(&quiet_old).unwrap().since -= Duration::from_secs(2);
            open.get_mut(&unread).unwrap().since -= Duration::from_secs(4);
        }
        assert!(r.evict_slowest());
        let left: Vec<u64> = r.open.lock().unwrap().keys().copied().collect();
        assert!(left.contains(&talker) && left.contains(&quiet_new) && !left.contains(&quiet_old));
        assert!(
            left.contains(&unread),
            "an unread connection is never chosen"
        );
        // The evicted connection's task is told (the permit waits for it).
        futures::executor::block_on(old.notified());
        assert!(r.evict_slowest());
        futures::executor::block_on(new.notified());
        assert!(
            !r.evict_slowest(),
            "the one that spoke and the unread one stay"
        );
        assert_eq!(r.len(), 2);
        r.remove(talker);
        r.remove(unread);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn past_the_cap_a_newcomer_displaces_a_silent_reader_or_waits_on_unread_ones_or_is_refused() {
        let open = |r: &Registry, read: bool, spoke: bool| {
            r.add(flag(read), flag(spoke), Arc::new(Notify::new()))
        };
        // Every connection has sent a request (one answered before its `read` was
        // set, at the end of the same poll): refused.
        let r = Registry::default();
        for i in 0..4 {
            open(&r, i != 0, true);
        }
        assert!(!r.admit(4));
        assert_eq!(r.len(), 4);

        // One read but silent: it makes room.
        let r = Registry::default();
        for _ in 0..3 {
            open(&r, true, true);
        }
        let silent = open(&r, true, false);
        assert!(r.admit(4));
        assert!(!r.open.lock().unwrap().contains_key(&silent));
        assert_eq!(r.len(), 3);

        // Unread ones fill the cap: newcomers are let in over it, a quarter more at
        // most (cap 8: 2), then refused.
        let r = Registry::default();
        for _ in 0..6 {
            open(&r, true, true);
        }
        let unread = [open(&r, false, false), open(&r, false, false)];
        for _ in 0..2 {
            assert!(r.admit(8));
            open(&r, false, false);
        }
        assert!(!r.admit(8), "cap 8 + 2 reached");
        assert_eq!(r.len(), 10);
        // Once read and still silent, the oldest make room again, down under the cap.
        for id in unread {
            r.open.lock().unwrap()[&id]
                .read
                .store(true, Ordering::Relaxed);
        }
        assert!(r.admit(8));
        assert_eq!(r.len(), 8, "both read-but-silent ones closed");
    }
}
