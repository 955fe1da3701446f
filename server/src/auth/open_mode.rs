//! Open mode: auth is off (no users yet, or `auth.enabled = off`) and the server
//! listens on loopback only. Nobody signs in, so the only thing between a web page in
//! the owner's browser and the API is where the request says it is going and coming
//! from:
//!
//! - `Host` must be a loopback name or address (`localhost`, `127.0.0.0/8`, `[::1]`,
//!   with or without a port), else 421: a page on another name that resolves to
//!   127.0.0.1 (DNS rebinding) is refused.
//! - A state-changing request (not GET/HEAD/OPTIONS) with an `Origin` that is not a
//!   loopback origin (or is `null`) gets 403: another site cannot post to the API.
//! - `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host` or `Forwarded` get 400:
//!   open mode has no trusted proxy (a trusted proxy requires a user at start-up), so
//!   such a request came through something the owner did not declare.
//! - `POST /api/users` (which creates the first admin and so turns auth on) passes
//!   only from a loopback address, with a loopback `Host` and no `Origin` or a loopback
//!   one: the rules above, plus the peer address checked again.

use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use std::net::{IpAddr, Ipv6Addr};

use crate::error::api_error as json_error;

/// Whether `host` (a `Host` header value or a URL's authority) names this machine's
/// loopback: `localhost`, `127.x.y.z`, `[::1]`, each with an optional port.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    if host == "::1" {
        return true;
    }
    let name = if let Some(rest) = host.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return false;
        };
        if !(after.is_empty() || port_ok(after.strip_prefix(':'))) {
            return false;
        }
        return inner
            .parse::<Ipv6Addr>()
            .is_ok_and(|ip| IpAddr::V6(ip).is_loopback());
    } else {
        match host.split_once(':') {
            Some((name, port)) => {
                if !port_ok(Some(port)) {
                    return false;
                }
                name
            }
            None => host,
        }
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

fn port_ok(port: Option<&str>) -> bool {
    port.is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether an `Origin` value is `http(s)://` a loopback host.
pub fn is_loopback_origin(origin: &str) -> bool {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match rest {
        Some(authority) if !authority.contains('/') && !authority.contains('@') => {
            is_loopback_host(authority)
        }
        _ => false,
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The refusal for a request in open mode, if any. `untrusted_forwarding`: the edge
/// removed forwarding headers sent by a peer that is not a trusted proxy.
pub fn check(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    untrusted_forwarding: bool,
) -> Option<Response> {
    let host = headers
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .or_else(|| uri.authority().map(|a| a.as_str()));
    if let Some(host) = host {
        if !is_loopback_host(host) {
            return Some(json_error(
                StatusCode::MISDIRECTED_REQUEST,
                "this server has no users yet and answers only to a loopback Host \
                 (localhost, 127.0.0.1, [::1]); add a user to serve other names",
            ));
        }
    }
    let forwarded = [
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "forwarded",
    ];
    if untrusted_forwarding || forwarded.iter().any(|h| headers.contains_key(*h)) {
        return Some(json_error(
            StatusCode::BAD_REQUEST,
            "forwarding headers (X-Forwarded-*, Forwarded) are refused: no trusted proxy \
             is configured and this server has no users yet",
        ));
    }
    if !is_safe(method) {
        if let Some(origin) = headers.get(header::ORIGIN) {
            if !origin.to_str().is_ok_and(is_loopback_origin) {
                return Some(json_error(
                    StatusCode::FORBIDDEN,
                    "cross-origin request refused: with no users yet, only pages served \
                     from a loopback origin may change anything",
                ));
            }
        }
        if uri.path() == "/api/users" && !peer.is_some_and(|ip| ip.is_loopback()) {
            return Some(json_error(
                StatusCode::FORBIDDEN,
                "the first user can be created over the API only from this machine's loopback",
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_and_origins() {
        for h in [
            "localhost",
            "LOCALHOST:3000",
            "localhost.",
            "127.0.0.1",
            "127.1.2.3:8080",
            "[::1]",
            "[::1]:3000",
            "::1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "10.0.0.1",
            "[::2]:80",
            "[::1]x",
            "localhost:",
            "localhost:abc",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
        assert!(is_loopback_origin("http://localhost:3000"));
        assert!(is_loopback_origin("https://127.0.0.1"));
        assert!(!is_loopback_origin("null"));
        assert!(!is_loopback_origin("http://evil.example"));
        assert!(!is_loopback_origin("http://localhost@evil.example"));
        assert!(!is_loopback_origin("file://localhost"));
    }
}
