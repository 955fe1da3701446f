//! CSRF protection for requests that ride on the session cookie. Every state-changing
//! request (POST, PUT, PATCH, DELETE: server functions too) of a signed-in session
//! must echo the session's token, in the `X-CSRF-Token` header (scripts read it from
//! the `lookout_csrf` cookie or `/api/auth/me`) or, for a plain HTML form, in a
//! `csrf_token` field. Another site can make the browser send the cookie, but cannot
//! read the token. Bearer-token requests carry no ambient credentials and are exempt.

use axum::http::{HeaderMap, Method};

pub fn is_state_changing(m: &Method) -> bool {
    !matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

pub fn header_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(super::CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
}

/// Whether the body is an HTML form (the only kind that carries the field).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Compares in time independent of where the strings differ.
pub fn tokens_match(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && !expected.is_empty()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison_and_methods() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
        assert!(!tokens_match("", ""));
        assert!(is_state_changing(&Method::POST) && is_state_changing(&Method::DELETE));
        assert!(!is_state_changing(&Method::GET));
    }
}
