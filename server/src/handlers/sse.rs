//! The live stream of samples (server-sent events), for the dashboard and for a hub's
//! agent hosts.

use super::unavailable;
use crate::auth::Principal;
use crate::runtime::Services;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::stream::{self, StreamExt};
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::wrappers::BroadcastStream;

/// How often a live stream checks that its caller's token or session is still valid.
const STREAM_RECHECK: Duration = Duration::from_secs(1);

/// How often a stream of an agent host looks for its newest sample (agents send
/// batches, so a host's stream moves a batch at a time).
const AGENT_STREAM_POLL: Duration = Duration::from_secs(1);

/// `GET /api/stream?host=..`: Server-Sent Events, one `snapshot` event per sample,
/// starting with the latest one so a new page has data at once. For an agent host of a
/// hub, its newest sample each time a batch of it has arrived.
pub async fn stream(
    State(services): State<Services>,
    Query(params): Query<Vec<(String, String)>>,
    caller: Option<Extension<crate::auth::middleware::Caller>>,
    revalidate: Option<Extension<crate::auth::middleware::Revalidate>>,
) -> Response {
    let store = match crate::hosts::store_for_params(&services, &params).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let agent_host = (store.options().host != services.store.options().host)
        .then(|| store.options().host.clone());
    // One place per stream, per caller and in all (streams.rs); freed when it ends.
    let who = match caller.map(|c| c.0) {
        Some(c) if !matches!(c.principal, Principal::Anonymous) => c.principal.actor(),
        Some(c) => format!(
            "anonymous@{}",
            c.ip.map(|ip| ip.to_string()).unwrap_or_default()
        ),
        None => "anonymous".to_string(),
    };
    let slot = match services.streams.acquire(who) {
        Ok(slot) => slot,
        Err(refused) => {
            let which = match refused {
                crate::streams::Refused::Total => "`server.max_streams`",
                crate::streams::Refused::PerCaller => "`server.max_streams_per_caller`",
            };
            return unavailable(format!("too many open streams ({which}); try again later"));
        }
    };
    let live: futures::stream::BoxStream<'static, std::sync::Arc<lookout::model::Snapshot>> =
        match agent_host {
            None => {
                let first = services.latest.borrow().clone();
                let rx = services.live.subscribe();
                let first = stream::iter(first.map(std::sync::Arc::new));
                // A slow client that lags behind the broadcast buffer skips to the newest
                // samples.
                let live = BroadcastStream::new(rx).filter_map(|r| async move { r.ok() });
                first.chain(live).boxed()
            }
            Some(host) => agent_stream(&services, store, host).await,
        };
    let mut stopping = services.stopping.clone();
    // The stream ends when the server stops, or within a second of its token being
    // revoked (or its session ending).
    let revoked = async move {
        match revalidate {
            None => std::future::pending::<()>().await,
            Some(Extension(r)) => loop {
                tokio::time::sleep(STREAM_RECHECK).await;
                if !r.still_valid().await {
                    break;
                }
            },
        }
    };
    let stop = async move {
        tokio::select! {
            _ = stopping.wait_for(|s| *s) => {}
            _ = revoked => {}
        }
    };
    let events = live.take_until(stop).map(move |snap| {
        // The stream holds its place until it is dropped.
        let _held = &slot;
        let data = serde_json::to_string(&*snap).unwrap_or_else(|_| "{}".into());
        Ok::<_, Infallible>(Event::default().event("snapshot").data(data))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// An agent host's samples for a stream: its newest stored one, then each newer one
/// the hub's ingest has kept in memory (`Services::fleet`), looked at every second.
async fn agent_stream(
    services: &Services,
    store: std::sync::Arc<lookout::store::Store>,
    host: String,
) -> futures::stream::BoxStream<'static, std::sync::Arc<lookout::model::Snapshot>> {
    let stored = tokio::task::spawn_blocking(move || store.latest().ok().flatten())
        .await
        .ok()
        .flatten()
        .map(|mut s| {
            s.host.clone_from(&host);
            s
        });
    let fleet = services.fleet.clone();
    let last = stored.as_ref().map_or(i64::MIN, |s| s.timestamp);
    let newer = stream::unfold((fleet, host, last), |(fleet, host, last)| async move {
        loop {
            tokio::time::sleep(AGENT_STREAM_POLL).await;
            let newest = fleet
                .lock()
                .ok()
                .and_then(|f| f.get(&host).cloned())
                .filter(|s| s.timestamp > last);
            if let Some(s) = newest {
                let at = s.timestamp;
                return Some((std::sync::Arc::new(s), (fleet, host, at)));
            }
        }
    });
    stream::iter(stored.map(std::sync::Arc::new))
        .chain(newer)
        .boxed()
}
