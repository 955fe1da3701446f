//! Who may call what. Every route the server answers is listed exactly once: the
//! plain endpoints in [`crate::endpoints::ENDPOINTS`] (the router is built from that
//! table), the Leptos pages in [`PAGES`], the server functions in [`SERVER_FNS`].
//! `server/tests/access.rs` checks these lists against the router, the generated page
//! routes and the registered server functions, and calls every one of them as every
//! kind of caller.
//!
//! Anything not listed (a typo'd URL, a page added without a rule) needs a viewer for
//! GET and an admin for anything else: unlisted means closed, never open.

use axum::http::Method;
use lookout::store::auth::Role;

/// The least a caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Anyone, signed in or not (health probes, the login page, static files).
    Public,
    Viewer,
    Developer,
    Admin,
    /// Only an `ingest` token (an agent), whether auth is enforced or not: the
    /// token names the one host the caller may write. No role passes.
    Ingest,
}

impl Access {
    /// Whether a caller acting as `role` (None: anonymous) may pass.
    pub fn allows(self, role: Option<Role>) -> bool {
        let needed = match self {
            Access::Public => return true,
            Access::Ingest => return false,
            Access::Viewer => Role::Viewer,
            Access::Developer => Role::Developer,
            Access::Admin => Role::Admin,
        };
        role.is_some_and(|r| r >= needed)
    }
}

/// What the middleware applies to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRule {
    pub access: Access,
    /// An HTML page: an anonymous caller is sent to the login page (303) instead of
    /// getting a 401.
    pub page: bool,
    /// Recorded in the audit log under this action when it succeeds.
    pub audit: Option<&'static str>,
}

/// The Leptos pages (`app::page::PATHS`; a test checks the two lists agree).
pub const PAGES: &[(&str, Access)] = &[
    ("/", Access::Viewer),
    ("/dashboard", Access::Viewer),
    ("/analysis", Access::Viewer),
    ("/login", Access::Public),
    ("/admin", Access::Admin),
];

/// The Leptos server functions (method, path, access). GET ones only read.
pub const SERVER_FNS: &[(&str, &str, Access)] = &[
    ("GET", "/metrics", Access::Viewer),
    ("GET", "/api/series", Access::Viewer),
    ("GET", "/api/settings", Access::Viewer),
    ("GET", "/api/auth/me", Access::Viewer),
];

/// Static files of the built site: public, so the login page has its styles.
pub const PUBLIC_PREFIXES: &[&str] = &["/pkg/", "/vendor/"];

/// Whether an axum-style pattern (`/api/silences/{id}`) matches `path`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some(pp), Some(ss)) => {
                let param = pp.starts_with('{') && pp.ends_with('}');
                if !(param && !ss.is_empty() || pp == ss) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// The rule for a request.
pub fn rule(method: &Method, path: &str) -> AccessRule {
    // HEAD is answered like GET.
    let m = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    // Exact paths win over patterns (`/api/alerts/rules/test` vs `/rules/{name}`).
    let endpoints = crate::endpoints::ENDPOINTS;
    let exact = endpoints.iter().find(|e| e.method == m && e.path == path);
    if let Some(e) = exact.or_else(|| {
        endpoints
            .iter()
            .find(|e| e.method == m && matches(e.path, path))
    }) {
        return AccessRule {
            access: e.access,
            page: false,
            audit: e.audit,
        };
    }
    if let Some((_, _, access)) = SERVER_FNS.iter().find(|(fm, p, _)| *fm == m && *p == path) {
        return AccessRule {
            access: *access,
            page: false,
            audit: None,
        };
    }
    if m == "GET" {
        if let Some((_, access)) = PAGES.iter().find(|(p, _)| *p == path) {
            return AccessRule {
                access: *access,
                page: true,
                audit: None,
            };
        }
        if PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p)) {
            return AccessRule {
                access: Access::Public,
                page: false,
                audit: None,
            };
        }
    }
    // Not listed: closed.
    AccessRule {
        access: if m == "GET" {
            Access::Viewer
        } else {
            Access::Admin
        },
        page: m == "GET" && !path.starts_with("/api/"),
        audit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_one_segment_per_parameter() {
        assert!(matches("/api/silences/{id}", "/api/silences/7"));
        assert!(!matches("/api/silences/{id}", "/api/silences/"));
        assert!(!matches("/api/silences/{id}", "/api/silences/7/x"));
        assert!(matches("/healthz", "/healthz"));
        assert!(!matches("/healthz", "/healthz/"));
    }

    #[test]
    fn roles_include_the_lower_ones_and_unlisted_is_closed() {
        assert!(Access::Viewer.allows(Some(Role::Admin)));
        assert!(!Access::Developer.allows(Some(Role::Viewer)));
        assert!(!Access::Viewer.allows(None));
        assert!(Access::Public.allows(None));
        assert_eq!(rule(&Method::GET, "/nope").access, Access::Viewer);
        assert!(rule(&Method::GET, "/nope").page);
        assert_eq!(rule(&Method::POST, "/nope").access, Access::Admin);
        assert_eq!(rule(&Method::GET, "/pkg/lookout.js").access, Access::Public);
        assert_eq!(rule(&Method::POST, "/pkg/x").access, Access::Admin);
        assert_eq!(
            rule(&Method::POST, "/api/alerts/rules/test").audit,
            None,
            "the exact path wins over /rules/{{name}}"
        );
    }
}
