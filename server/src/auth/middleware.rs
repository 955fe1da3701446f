//! The access check in front of every route: identify the caller, apply the route's
//! [`AccessRule`](super::policy::AccessRule), check CSRF for session requests, and record admin
//! actions in the audit log once they succeed.

use super::policy::{self, Access, AccessRule};
use super::{client_of, csrf, Auth, Principal, SESSION_COOKIE};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lookout::store::auth::Scope;
use std::net::IpAddr;

/// Largest body the audit log or the CSRF form check reads (the edge limits bodies
/// well below this).
const BODY_READ_LIMIT: usize = 4 * 1024 * 1024;
/// The request body is kept in the audit entry up to this many characters.
const AUDIT_DETAIL_MAX: usize = 2000;

/// The caller, for handlers (`Extension<Caller>`).
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// False when auth is off (no users on loopback, or `auth.enabled = off`).
    pub enforced: bool,
    pub ip: Option<IpAddr>,
    pub https: bool,
}

impl Caller {
    pub fn actor(&self) -> String {
        self.principal.actor()
    }
}

/// The credentials a request was let in with, for long-lived responses (the SSE
/// stream) to check again while they run: a revoked token or an ended session ends
/// them. Present on requests of an identified caller when auth is enforced.
#[derive(Clone)]
pub struct Revalidate {
    auth: Auth,
    bearer: Option<String>,
    session: Option<String>,
}

impl Revalidate {
    /// Whether the credentials still identify someone (a live token or session).
    pub async fn still_valid(&self) -> bool {
        let (a, bearer, session) = (self.auth.clone(), self.bearer.clone(), self.session.clone());
        tokio::task::spawn_blocking(move || {
            a.identify_blocking(bearer.as_deref(), session.as_deref())
                .role()
                .is_some()
        })
        .await
        .unwrap_or(false)
    }
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

use crate::error::api_error as json_error;

/// The answer to a caller who may not pass. Carries nothing but the reason.
fn deny(rule: &AccessRule, principal: &Principal, had_token: bool, req: &Request) -> Response {
    if let Principal::Token {
        scope: Scope::Ingest,
        ..
    } = principal
    {
        return json_error(
            StatusCode::FORBIDDEN,
            "forbidden: an ingest token may only send samples (POST /api/ingest)",
        );
    }
    if rule.access == Access::Ingest {
        let msg = if principal.role().is_some() {
            "forbidden: this needs an ingest token (lookout token create --scope ingest)"
        } else if had_token {
            "authentication required: the ingest token is unknown or revoked"
        } else {
            "authentication required: send an ingest token (Authorization: Bearer ...)"
        };
        let status = if principal.role().is_some() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        return json_error(status, msg);
    }
    if principal.role().is_none() {
        if rule.page {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let location = format!("/login?next={}", encode(target));
            return (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, location),
                    (header::CACHE_CONTROL, "no-store".into()),
                ],
            )
                .into_response();
        }
        let msg = if had_token {
            "authentication required: the API token is unknown or revoked"
        } else {
            "authentication required: sign in at /login or send an API token (Authorization: Bearer ...)"
        };
        let mut resp = json_error(StatusCode::UNAUTHORIZED, msg);
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"lookout\""),
        );
        return resp;
    }
    let needed = match rule.access {
        Access::Admin => "admin",
        Access::Developer => "developer (or admin)",
        _ => "viewer",
    };
    let msg = format!("forbidden: this needs the {needed} role");
    if rule.page {
        let html = format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Forbidden · Lookout</title>\
             <link rel=\"stylesheet\" href=\"/pkg/lookout.css\"></head><body><main class=\"login\">\
             <h1>Forbidden</h1><p>{msg}.</p><p><a href=\"/\">Back to the dashboard</a></p></main></body></html>"
        );
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
    }
    json_error(StatusCode::FORBIDDEN, &msg)
}

/// Percent-encodes a `next=` value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `axum::middleware::from_fn_with_state` function.
pub async fn enforce(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    let rule = policy::rule(req.method(), req.uri().path());
    let token = bearer(req.headers());
    let session = cookie(req.headers(), SESSION_COOKIE);
    let had_token = token.is_some();
    let credentials = (token.clone(), session.clone());
    let a = auth.clone();
    let ingest = rule.access == Access::Ingest;
    let resolved = tokio::task::spawn_blocking(move || {
        let enforced = a.enforced_blocking();
        // Ingest always needs its token, auth on or off: the token names the host.
        let principal = if enforced || ingest {
            a.identify_blocking(token.as_deref(), session.as_deref())
        } else {
            Principal::Anonymous
        };
        (enforced, principal)
    })
    .await;
    let Ok((enforced, principal)) = resolved else {
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
    };
    let (ip, https) = client_of(req.extensions());
    if ingest {
        let is_ingest_token = matches!(
            principal,
            Principal::Token {
                scope: Scope::Ingest,
                ..
            }
        );
        if !is_ingest_token {
            return deny(&rule, &principal, had_token, &req);
        }
        let mut req = req;
        req.extensions_mut().insert(Caller {
            principal,
            enforced,
            ip,
            https,
        });
        return next.run(req).await;
    }
    if !enforced && auth.loopback_bind() {
        let untrusted = req
            .extensions()
            .get::<crate::edge::UntrustedForwarding>()
            .is_some();
        if let Some(refusal) =
            super::open_mode::check(req.method(), req.uri(), req.headers(), ip, untrusted)
        {
            return refusal;
        }
    }
    let caller = Caller {
        principal,
        enforced,
        ip,
        https,
    };

    let mut req = req;
    if enforced {
        if !rule.access.allows(caller.principal.role()) {
            return deny(&rule, &caller.principal, had_token, &req);
        }
        if let Principal::User { csrf_token, .. } = &caller.principal {
            if csrf::is_state_changing(req.method()) && !is_login(req.uri().path()) {
                match check_csrf(csrf_token, req).await {
                    Ok(r) => req = r,
                    Err(resp) => return resp,
                }
            }
        }
    }

    let me = app::auth::Me {
        username: match &caller.principal {
            Principal::User { name, .. } | Principal::Token { name, .. } => Some(name.clone()),
            Principal::Anonymous => None,
        },
        role: if enforced {
            caller
                .principal
                .role()
                .map(|r| r.as_str().to_string())
                .unwrap_or_default()
        } else {
            "admin".into()
        },
        csrf_token: match &caller.principal {
            Principal::User { csrf_token, .. } => Some(csrf_token.clone()),
            _ => None,
        },
        auth_enabled: enforced,
    };
    req.extensions_mut().insert(me);
    req.extensions_mut().insert(caller.clone());
    if enforced && caller.principal.role().is_some() {
        req.extensions_mut().insert(Revalidate {
            auth: auth.clone(),
            bearer: credentials.0,
            session: credentials.1,
        });
    }

    match rule.audit {
        Some(action) if csrf::is_state_changing(req.method()) => {
            run_audited(&auth, &caller, action, req, next).await
        }
        _ => next.run(req).await,
    }
}

fn is_login(path: &str) -> bool {
    path == "/api/auth/login"
}

async fn read_body(req: Request) -> Result<(axum::http::request::Parts, Bytes), Response> {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, BODY_READ_LIMIT).await {
        Ok(b) => Ok((parts, b)),
        Err(_) => Err(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
        )),
    }
}

/// Passes the request on if it carries the session's CSRF token (header, or form
/// field for an HTML form); else 403.
async fn check_csrf(expected: &str, req: Request) -> Result<Request, Response> {
    let refuse = || {
        json_error(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token: send the X-CSRF-Token header (or a csrf_token form field)",
        )
    };
    if let Some(given) = csrf::header_token(req.headers()) {
        return if csrf::tokens_match(expected, given) {
            Ok(req)
        } else {
            Err(refuse())
        };
    }
    if !csrf::is_form(req.headers()) {
        return Err(refuse());
    }
    let (parts, body) = read_body(req).await?;
    match lookout::form::field(&body, super::CSRF_FIELD) {
        Some(given) if csrf::tokens_match(expected, &given) => {
            Ok(Request::from_parts(parts, Body::from(body)))
        }
        _ => Err(refuse()),
    }
}

/// Runs an admin action and, when it succeeds, records who did what to which.
async fn run_audited(
    auth: &Auth,
    caller: &Caller,
    action: &'static str,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let (parts, body) = match read_body(req).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let mut detail: String = String::from_utf8_lossy(&body).into_owned();
    if detail.chars().count() > AUDIT_DETAIL_MAX {
        detail = detail.chars().take(AUDIT_DETAIL_MAX).collect::<String>() + "…";
    }
    let resp = next.run(Request::from_parts(parts, Body::from(body))).await;
    if resp.status().is_success() {
        let target = audit_target(&path);
        let actor = caller.actor();
        let a = auth.clone();
        let now = auth.now();
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(e) = a.store().audit(&actor, action, &target, &detail, now) {
                tracing::error!(error = %e, action, "cannot write the audit log");
            }
        })
        .await;
    }
    resp
}

/// The path parameters of the endpoint a path matched (a rule name, an id), else
/// the path.
fn audit_target(path: &str) -> String {
    let m = crate::endpoints::ENDPOINTS
        .iter()
        .find(|e| e.path != path && policy::matches(e.path, path));
    match m {
        Some(e) => e
            .path
            .split('/')
            .zip(path.split('/'))
            .filter(|(p, _)| p.starts_with('{'))
            .map(|(_, v)| lookout::form::decode(v))
            .collect::<Vec<_>>()
            .join("/"),
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_bearer_and_targets() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; lookout_session=abc; b=2"),
        );
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer lk_123"),
        );
        assert_eq!(cookie(&h, "lookout_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "lookout"), None);
        assert_eq!(bearer(&h).as_deref(), Some("lk_123"));
        assert_eq!(audit_target("/api/alerts/rules/cpu%20high"), "cpu high");
        assert_eq!(audit_target("/api/anomalies/7/expected"), "7");
        assert_eq!(audit_target("/api/model/train"), "/api/model/train");
        assert_eq!(encode("/x?a=1&b"), "/x%3Fa%3D1%26b");
    }
}
