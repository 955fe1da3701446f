//! `POST /api/ingest`: the hub's door for agents (`lookout agent`).
//!
//! A batch is one host's samples as JSON, gzip-compressed. The caller is an ingest
//! token (checked by the auth middleware, [`crate::auth::policy::Access::Ingest`]);
//! its first batch binds it to the batch's host, and a batch of any other host under
//! it is refused (403). A malformed or oversized batch is refused whole (400/413)
//! before anything is written; a batch that passes is stored in one transaction
//! before the reply is sent, so an acknowledged sample survives the hub being killed.
//! Samples stamped too far in the future or older than the raw retention are refused
//! one by one and counted in the reply.

use crate::auth::middleware::Caller;
use crate::auth::Principal;
use crate::config::IngestSettings;
use crate::error::api_error;
use crate::runtime::{now_ms, Services};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lookout::model::{IngestBatch, IngestReply, Snapshot, TimestampMs};
use lookout::store::Binding;
use std::io::Read;

/// Host names an agent may send: what a DNS name or a `host.name` setting holds.
pub fn check_host_name(host: &str) -> Result<(), String> {
    // A leading letter or digit: the name is also a folder (a host's model files).
    let ok = host.starts_with(|c: char| c.is_ascii_alphanumeric())
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "host {host:?} is not allowed: use 1 to 253 letters, digits, '.', '-', '_', ':', starting with a letter or digit"
        ))
    }
}

/// The batch's JSON, decompressed (gzip) within `max` bytes; else the status and
/// the message to answer with.
fn decode_body(
    headers: &HeaderMap,
    body: &[u8],
    max: usize,
) -> Result<Vec<u8>, (StatusCode, String)> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the batch is larger than {max} bytes once decompressed (`ingest.max_batch`): send smaller batches"),
        )
    };
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        Some("gzip") => {
            let mut out = Vec::new();
            // One byte over the limit tells "too large" from "exactly the limit".
            let read = flate2::read::GzDecoder::new(body)
                .take(max as u64 + 1)
                .read_to_end(&mut out);
            match read {
                Err(e) => Err((
                    StatusCode::BAD_REQUEST,
                    format!("the body is not valid gzip: {e}"),
                )),
                Ok(n) if n > max => Err(too_large()),
                Ok(_) => Ok(out),
            }
        }
        None | Some("identity") => {
            if body.len() > max {
                Err(too_large())
            } else {
                Ok(body.to_vec())
            }
        }
        Some(other) => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding {other:?} is not supported; send gzip (or no encoding)"),
        )),
    }
}

/// Checks the batch as a whole: a bad host, or a sample of another host, refuses it.
fn check_batch(batch: &IngestBatch) -> Result<(), String> {
    check_host_name(&batch.host)?;
    if let Some((i, s)) = batch
        .samples
        .iter()
        .enumerate()
        .find(|(_, s)| !s.host.is_empty() && s.host != batch.host)
    {
        return Err(format!(
            "sample {i} is of host {:?} but the batch is of {:?}: one host per batch",
            s.host, batch.host
        ));
    }
    Ok(())
}

/// Splits the samples into those to store and the refused count with the first
/// refusal's reason.
fn screen(
    samples: Vec<Snapshot>,
    limits: &IngestSettings,
    now: TimestampMs,
) -> (Vec<Snapshot>, u64, Option<String>) {
    let future_ms = limits.max_future.as_millis() as i64;
    let age_ms = i64::try_from(limits.max_age.as_millis()).unwrap_or(i64::MAX);
    let (mut kept, mut refused, mut reason) = (Vec::with_capacity(samples.len()), 0, None);
    for s in samples {
        let why = if s.timestamp > now.saturating_add(future_ms) {
            Some(format!(
                "sample at {} is {} s in the future (limit {} s, `ingest.max_future`)",
                s.timestamp,
                (s.timestamp - now) / 1000,
                future_ms / 1000
            ))
        } else if s.timestamp < now.saturating_sub(age_ms) {
            Some(format!(
                "sample at {} is older than the raw retention ({} s, `store.raw_retention`)",
                s.timestamp,
                age_ms / 1000
            ))
        } else {
            None
        };
        match why {
            Some(w) => {
                refused += 1;
                reason.get_or_insert(w);
            }
            None => kept.push(s),
        }
    }
    (kept, refused, reason)
}

/// `POST /api/ingest` (see the module docs).
pub async fn ingest(
    State(services): State<Services>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Principal::Token { id: token_id, .. } = caller.principal else {
        return api_error(StatusCode::UNAUTHORIZED, "an ingest token is required");
    };
    let limits = services.ingest;
    let json = match decode_body(&headers, &body, limits.max_batch) {
        Ok(j) => j,
        Err((status, msg)) => {
            let mut r = api_error(status, msg);
            // Our own limit, not `server.max_body`: the edge layer keeps the words.
            r.extensions_mut().insert(crate::edge::limits::OwnLimit);
            return r;
        }
    };
    let batch: IngestBatch = match serde_json::from_slice(&json) {
        Ok(b) => b,
        Err(e) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                format!("the batch is not a valid IngestBatch: {e}"),
            )
        }
    };
    if let Err(e) = check_batch(&batch) {
        return api_error(StatusCode::BAD_REQUEST, e);
    }
    let store = services.store.clone();
    if batch.host == store.options().host {
        return api_error(
            StatusCode::FORBIDDEN,
            format!(
                "host {:?} is this hub's own host: an agent must use another name (`host.name`)",
                batch.host
            ),
        );
    }
    let IngestBatch { host, samples } = batch;
    let (mut kept, refused, refused_reason) = screen(samples, &limits, now_ms());
    let alerting = services.alerting.clone();
    let detectors = services.hub.clone();
    let fleet = services.fleet.clone();
    let stored = tokio::task::spawn_blocking(move || {
        match store.bind_token_host(token_id, &host)? {
            Binding::Bound => {}
            other => return Ok((host, Err(other))),
        }
        // The host's own detector scores the new samples before they are stored, so
        // the stored rows carry their scores (hub.rs).
        kept.sort_by_key(|s| s.timestamp);
        let events = detectors
            .as_ref()
            .map(|d| d.score_batch(&host, &mut kept))
            .unwrap_or_default();
        let counts = store.ingest(&host, &kept)?;
        // Stored first: then the host's alert rules (its stale alert among them).
        alerting.on_batch(&host, &kept, &events);
        if let Some(newest) = kept.last() {
            let mut fleet = fleet.lock().unwrap_or_else(|p| p.into_inner());
            let entry = fleet.entry(host.clone()).or_insert_with(|| newest.clone());
            if newest.timestamp >= entry.timestamp {
                *entry = newest.clone();
                entry.host = host.clone();
            }
        }
        Ok::<_, lookout::store::StoreError>((host, Ok(counts)))
    })
    .await;
    match stored {
        Ok(Ok((host, Ok(counts)))) => {
            if refused > 0 {
                tracing::warn!(%host, refused, reason = ?refused_reason, "ingest: samples refused");
            }
            Json(IngestReply {
                host,
                accepted: counts.accepted,
                duplicate: counts.duplicate,
                refused,
                refused_reason,
            })
            .into_response()
        }
        Ok(Ok((host, Err(Binding::Other(bound))))) => api_error(
            StatusCode::FORBIDDEN,
            format!(
                "this ingest token is bound to host {bound:?}: it cannot send samples of {host:?}"
            ),
        ),
        Ok(Ok((_, Err(_)))) => api_error(
            StatusCode::UNAUTHORIZED,
            "authentication required: the ingest token is unknown or revoked",
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "ingest: cannot store a batch");
            api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot store the batch now; send it again later",
            )
        }
        Err(_) => api_error(StatusCode::INTERNAL_SERVER_ERROR, "ingest failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn host_names_and_mixed_batches_are_checked() {
        assert!(check_host_name("web-2.example.com").is_ok());
        assert!(check_host_name("").is_err());
        assert!(check_host_name("a b").is_err());
        assert!(check_host_name("..").is_err() && check_host_name(".x").is_err());
        assert!(check_host_name("a/b").is_err());
        assert!(check_host_name(&"a".repeat(254)).is_err());
        let mut b = IngestBatch {
            host: "web-2".into(),
            samples: vec![Snapshot::default()],
        };
        assert!(check_batch(&b).is_ok());
        b.samples[0].host = "web-3".into();
        assert!(check_batch(&b).unwrap_err().contains("one host per batch"));
    }

    #[test]
    fn samples_out_of_the_window_are_refused_one_by_one() {
        let limits = IngestSettings {
            max_batch: 1 << 20,
            max_future: Duration::from_secs(300),
            max_age: Duration::from_secs(3600),
        };
        let now = 10_000_000;
        let at = |timestamp| Snapshot {
            timestamp,
            ..Snapshot::default()
        };
        let (kept, refused, reason) = screen(
            vec![
                at(now),
                at(now + 300_000),
                at(now + 300_001),
                at(now - 3_600_000),
                at(now - 3_600_001),
            ],
            &limits,
            now,
        );
        assert_eq!(kept.len(), 3);
        assert_eq!(refused, 2);
        assert!(reason.unwrap().contains("in the future"));
    }
}
