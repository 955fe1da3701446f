//! What a request's headers carry for access control: the session cookie, a bearer
//! token, a CSRF form field, the token and user name rules. Any bytes give a value
//! or none, never a panic; a cookie found is never empty.
#![no_main]
use axum::http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(data) {
        headers.insert(header::COOKIE, v.clone());
        headers.insert(header::AUTHORIZATION, v);
    }
    if let Some(c) = lookout_server::auth::middleware::cookie(&headers, "lookout_session") {
        assert!(!c.is_empty());
    }
    let _ = lookout_server::edge::form::field(data, "csrf_token");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = lookout::access::check_token_name(text);
        let _ = lookout::access::check_user_name(text);
        let _ = lookout::access::secret_hash(text);
    }
});
