//! Request size limits and what clients see when something goes wrong: a JSON 413 for
//! an oversized body, a plain JSON 500 for a panic (the message goes to the log, not to
//! the client), and error bodies scrubbed of file paths and source locations.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use futures::StreamExt;
use std::any::Any;
use std::future::Future;
use std::sync::OnceLock;

/// Parses a size: "1MiB", "512KiB", "2MB", "64kB", "1048576" (bytes).
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num.parse().ok()?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1024,
        "m" | "mb" => 1000 * 1000,
        "mib" => 1024 * 1024,
        "g" | "gb" => 1000 * 1000 * 1000,
        "gib" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn json_error(status: StatusCode, msg: &str) -> Response {
    crate::error::api_error(status, msg)
}

fn too_large(max_body: usize) -> Response {
    json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("request body too large: the limit is {max_body} bytes (`server.max_body`)"),
    )
}

/// How much of a refused body is read and thrown away, and for how long, before the
/// 413 goes out. Closing the connection with the client's bytes still unread makes the
/// kernel reset it, and a client still sending then sees "broken pipe" instead of the
/// answer (nginx's lingering close, for the same reason). Bounded, so a refused upload
/// costs at most this much.
const DRAIN_LIMIT: usize = 32 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads and discards the rest of `body` (`seen` bytes of it already read), within
/// [`DRAIN_LIMIT`] and [`DRAIN_TIME`].
async fn drain(mut stream: axum::body::BodyDataStream, mut seen: usize) {
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while seen < DRAIN_LIMIT {
            match stream.next().await {
                Some(Ok(chunk)) => seen += chunk.len(),
                _ => break,
            }
        }
    })
    .await;
}

/// The whole body if it is at most `max` bytes; otherwise `None`, after draining it.
async fn read_within(body: Body, max: usize) -> Option<Vec<u8>> {
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        if buf.len() + chunk.len() > max {
            drain(stream, buf.len() + chunk.len()).await;
            return None;
        }
        buf.extend_from_slice(&chunk);
    }
    Some(buf)
}

/// The panic handler for tower-http's `CatchPanicLayer`.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = %msg, "a request handler panicked");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// Error bodies larger than this are passed through untouched (they are not ours).
const SCRUB_LIMIT: usize = 64 * 1024;

/// Marks a 413 a handler gave for a limit of its own (such as the decompressed size
/// of an ingest batch), so [`error_bodies`] does not call it `server.max_body`.
#[derive(Debug, Clone, Copy)]
pub struct OwnLimit;

/// Middleware over every response with status >= 400: a 413 becomes a JSON error
/// naming the limit; a JSON or text body has file
/// paths and source locations replaced by `[redacted]`.
pub async fn error_bodies(max_body: usize, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let req = if declared.is_some_and(|n| n > max_body as u64) {
        // Refused on its declared length; the body is drained first (see `drain`),
        // unless the client waits for "100 Continue" before sending it (curl does for
        // large uploads): reading would ask for the very body being refused.
        let waits = req
            .headers()
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        if !waits {
            drain(req.into_body().into_data_stream(), 0).await;
        }
        return too_large(max_body);
    } else if req.headers().contains_key(header::TRANSFER_ENCODING) {
        // A chunked body has no length to refuse up front: read it here, up to the
        // limit, so the answer is the same 413 whichever handler it was meant for.
        let (parts, body) = req.into_parts();
        match read_within(body, max_body).await {
            Some(bytes) => Request::from_parts(parts, Body::from(bytes)),
            None => return too_large(max_body),
        }
    } else {
        req
    };
    let res = next.run(req).await;
    let status = res.status();
    if status.as_u16() < 400 {
        return res;
    }
    // Whoever noticed it (the limit layer, an extractor, a layer reading the body),
    // a 413 here is `server.max_body` at work: say so, the same way each time. A
    // handler's own limit (marked [`OwnLimit`], e.g. `ingest.max_batch`) keeps its words.
    if status == StatusCode::PAYLOAD_TOO_LARGE && res.extensions().get::<OwnLimit>().is_none() {
        return too_large(max_body);
    }
    let textual = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/plain"));
    if !textual {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, SCRUB_LIMIT).await {
        Ok(b) => b,
        Err(_) => return json_error(status, "internal error"),
    };
    let text = String::from_utf8_lossy(&bytes);
    let clean = scrub(&text);
    if clean != text {
        tracing::debug!(body = %text, "error body scrubbed of paths");
        parts.headers.remove(header::CONTENT_LENGTH);
        if let Ok(len) = HeaderValue::from_str(&clean.len().to_string()) {
            parts.headers.insert(header::CONTENT_LENGTH, len);
        }
        return Response::from_parts(parts, Body::from(clean));
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The names in the file system's root folder (`home`, `tmp`, `var`, ...): an
/// absolute path starts with one of them, a URL path such as `/api/...` does not.
fn root_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<String> = std::fs::read_dir("/")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        for common in [
            "home", "root", "tmp", "var", "usr", "etc", "opt", "data", "srv",
        ] {
            if !names.iter().any(|n| n == common) {
                names.push(common.to_string());
            }
        }
        names
    })
}

fn is_path(word: &str) -> bool {
    if word.starts_with("./") || word.starts_with("../") || word.starts_with("~/") {
        return true;
    }
    // A Rust source location: "src/main.rs:12:5", "server/src/lib.rs".
    if let Some(i) = word.find(".rs") {
        let after = &word[i + 3..];
        if after.is_empty() || after.starts_with(':') {
            return word.contains('/') || after.starts_with(':');
        }
    }
    if let Some(rest) = word.strip_prefix('/') {
        let first = rest.split('/').next().unwrap_or("");
        return rest.contains('/') && root_names().iter().any(|n| n == first);
    }
    false
}

/// Replaces every path-like word with `[redacted]`. Words are split on whitespace
/// and on the quotes and brackets that surround paths in messages.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let is_sep = |c: char| c.is_whitespace() || "\"'`()[]{},;=".contains(c);
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            // Trailing punctuation stays outside the redaction ("…lookout.db: error").
            let trimmed = word.trim_end_matches([':', '.']);
            if is_path(trimmed) || is_path(word) {
                out.push_str("[redacted]");
                out.push_str(&word[trimmed.len()..]);
            } else {
                out.push_str(word);
            }
            word.clear();
        }
    };
    for c in text.chars() {
        if is_sep(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The request body must arrive whole within this of the request head (`server.body_timeout`):
/// a client that trickles a body holds a connection and, for a chunked body, the
/// buffer this module reads it into. Past it the answer is a JSON 408, whatever the
/// handler made of the cut-off body.
pub async fn body_deadline(deadline: std::time::Duration, req: Request, next: Next) -> Response {
    let expired = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = expired.clone();
    let req = req.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(deadline)),
            expired: flag,
        })
    });
    let res = next.run(req).await;
    if expired.load(std::sync::atomic::Ordering::Relaxed) {
        return json_error(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "request body not received within {} s (`server.body_timeout`)",
                deadline.as_secs()
            ),
        );
    }
    res
}

/// A body that fails once its deadline passes.
struct DeadlineBody {
    inner: Body,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    expired: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        if let Poll::Ready(frame) = std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.expired
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Poll::Ready(Some(Err(axum::Error::new("request body deadline passed"))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1MiB"), Some(1 << 20));
        assert_eq!(parse_size("512 KiB"), Some(512 * 1024));
        assert_eq!(parse_size("2MB"), Some(2_000_000));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("1 parsec"), None);
    }

    #[test]
    fn paths_and_source_locations_are_redacted_urls_are_not() {
        let s =
            scrub(r#"{"error":"training failed: cannot write /tmp/x/models/m-3.json: denied"}"#);
        assert_eq!(
            s,
            r#"{"error":"training failed: cannot write [redacted]: denied"}"#
        );
        let s = scrub("panicked at server/src/routes.rs:42:9: boom");
        assert_eq!(s, "panicked at [redacted]: boom");
        let s = scrub("store: cannot open ./data/lookout.db.");
        assert_eq!(s, "store: cannot open [redacted].");
        let keep = r#"{"error":"no route /api/anomalies/5/expected","param":"from"}"#;
        assert_eq!(scrub(keep), keep);
        assert_eq!(scrub("5 of 10 rules"), "5 of 10 rules");
    }
}
