//! Security headers on every response, and the per-response CSP nonce.
//!
//! The page's only inline scripts are Leptos' hydration bootstrap (a `type="module"`
//! script that imports /pkg/lookout.js and starts the wasm) and the resolved-resource
//! chunks of server rendering. Leptos marks each with the nonce found in its context;
//! [`security_headers`] draws a fresh nonce for each request, hands it to the renderer
//! (a request extension that [`provide_request_nonce`] moves into the Leptos context),
//! and names the same nonce in the `Content-Security-Policy` header. Everything else is
//! a file from this origin (/pkg, /vendor/chart.umd.js), so `'self'` covers it.

use super::proxy::ClientInfo;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use leptos::nonce::Nonce;
use sha2::Digest as _;
use std::sync::Arc;

/// What the headers depend on.
#[derive(Debug, Clone)]
pub struct HeaderPolicy {
    /// `Strict-Transport-Security` on https responses (`tls.hsts`).
    pub hsts: bool,
    /// `'sha256-…'` of the one inline `<style>` (the charts' `<noscript>` rule, which
    /// only applies with scripts off).
    noscript_style_hash: String,
}

impl HeaderPolicy {
    pub fn new(hsts: bool) -> Self {
        Self {
            hsts,
            noscript_style_hash: style_hash(app::components::charts::NOSCRIPT),
        }
    }

    /// The policy for one response.
    pub fn csp(&self, nonce: &str) -> String {
        format!(
            "default-src 'self'; \
             script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' '{style}'; \
             style-src-attr 'unsafe-inline'; \
             img-src 'self' data:; \
             connect-src 'self'; \
             font-src 'self'; \
             object-src 'none'; \
             frame-ancestors 'none'; \
             base-uri 'self'; \
             form-action 'self'",
            style = self.noscript_style_hash
        )
    }
}

/// The CSP source for the contents of the first `<style>` element in `html`.
fn style_hash(html: &str) -> String {
    let body = html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(css, _)| css)
        .unwrap_or_default();
    let digest = sha2::Sha256::digest(body.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// HSTS max-age: one year, without `includeSubDomains` (other hosts of the domain may
/// not have certificates).
pub const HSTS: &str = "max-age=31536000";

/// Middleware: a nonce for the renderer, then the headers on the way out. Headers a
/// handler set itself are kept.
pub async fn security_headers(
    State(policy): State<Arc<HeaderPolicy>>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let https = req
        .extensions()
        .get::<ClientInfo>()
        .is_some_and(|c| c.https);
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // Pages are rendered for the caller (their user, their data): no cache keeps them.
    // Static files and API answers set their own lifetimes.
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let mut set = |name: header::HeaderName, value: HeaderValue| {
        if !h.contains_key(&name) {
            h.insert(name, value);
        }
    };
    if html {
        set(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Ok(v) = HeaderValue::from_str(&policy.csp(&nonce)) {
        set(header::CONTENT_SECURITY_POLICY, v);
    }
    set(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    set(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if https && policy.hsts {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    res
}

/// Call inside the Leptos context closure: makes this request's nonce the one the
/// renderer puts on its inline scripts (Leptos otherwise draws its own, which the
/// header would not name).
pub fn provide_request_nonce() {
    if let Some(nonce) = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<Nonce>().cloned())
    {
        leptos::prelude::provide_context(nonce);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_names_the_nonce_and_the_noscript_style() {
        let p = HeaderPolicy::new(true);
        let csp = p.csp("abc123");
        assert!(csp.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        let script_src = csp
            .split(';')
            .find(|d| d.trim().starts_with("script-src "))
            .unwrap();
        assert!(!script_src.contains("unsafe-inline"), "{script_src}");
        // The hash is of the CSS text between the tags, as browsers compute it.
        let h = style_hash("<p>x</p><style>.chart { display: none; }</style>");
        assert_eq!(h, "sha256-YJOfGCu3MtgtvTzPQT/63pkMxQ5ceKRNr6E7feMMcHE=");
        assert!(csp.contains(&format!("style-src 'self' '{}'", p.noscript_style_hash)));
    }
}
