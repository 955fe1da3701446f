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

/// A field of an `application/x-www-form-urlencoded` body.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| decode(k) == name)
        .map(|(_, v)| decode(v))
}

/// Percent-decoding with `+` as space.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && s.is_char_boundary(i + 3) => {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    fn form_fields_and_comparison() {
        let body = b"username=a%40b&csrf_token=abc123&next=%2Fdashboard%3Fx%3D1+2";
        assert_eq!(form_field(body, "csrf_token").as_deref(), Some("abc123"));
        assert_eq!(form_field(body, "username").as_deref(), Some("a@b"));
        assert_eq!(
            form_field(body, "next").as_deref(),
            Some("/dashboard?x=1 2")
        );
        assert_eq!(form_field(body, "missing"), None);
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%4"), "%4");
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
        assert!(!tokens_match("", ""));
        assert!(is_state_changing(&Method::POST) && is_state_changing(&Method::DELETE));
        assert!(!is_state_changing(&Method::GET));
    }
}
