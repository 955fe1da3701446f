//! `application/x-www-form-urlencoded` text: HTML form bodies and query strings. One
//! decoder for both, and for the server and the browser alike (the pages read their
//! URL's query with it: `app/src/page.rs`), so a parameter means the same wherever it
//! arrives.

/// `a=1&b=x%20y` as decoded pairs, in order (`+` is a space; a pair without `=` has an
/// empty value).
pub fn pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The first value of `name` in a form body (None when absent or not UTF-8).
pub fn field(body: &[u8], name: &str) -> Option<String> {
    pairs(std::str::from_utf8(body).ok()?)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Percent-decoding with `+` as space. A `%` not followed by two hex digits stays as it
/// is, and bytes that do not form UTF-8 become U+FFFD, so any input decodes.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms_and_queries_alike() {
        let body = b"username=a%40b&csrf_token=abc123&next=%2Fdashboard%3Fx%3D1+2";
        assert_eq!(field(body, "csrf_token").as_deref(), Some("abc123"));
        assert_eq!(field(body, "username").as_deref(), Some("a@b"));
        assert_eq!(field(body, "next").as_deref(), Some("/dashboard?x=1 2"));
        assert_eq!(field(body, "missing"), None);
        assert_eq!(field(b"\xff=1", "x"), None);
        assert_eq!(
            pairs("a=1&&flag&b=x%20y"),
            vec![
                ("a".into(), "1".into()),
                ("flag".into(), String::new()),
                ("b".into(), "x y".into())
            ]
        );
    }

    #[test]
    fn malformed_escapes_stay_as_written() {
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%zz1"), "%zz1");
        // A sign is not a hex digit (u8::from_str_radix would take "+1").
        assert_eq!(decode("%+1"), "% 1");
        // A multi-byte character right after % is kept whole.
        assert_eq!(decode("%é1"), "%é1");
        assert_eq!(decode("%41%42"), "AB");
        assert_eq!(decode("%ff"), "\u{fffd}");
    }
}
