//! Login, logout, and the admin API for users, tokens and the audit log.

use super::middleware::{cookie, Caller};
use super::{csrf, Auth, Principal, CSRF_COOKIE, SESSION_COOKIE};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use lookout::model::{
    AuditLog, CreatedToken, LoginRequest, LoginResponse, NameStatus, NewToken, NewUser, Status,
    TokenList, UserList,
};
use lookout::store::auth::{Role, Scope};
use lookout::store::StoreError;

use crate::error::api_error as json_error;

fn internal() -> Response {
    json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// Runs store work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(StoreError::Invalid(msg))) => Err(json_error(StatusCode::BAD_REQUEST, msg)),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "auth store error");
            Err(internal())
        }
        Err(_) => Err(internal()),
    }
}

fn cookie_header(name: &str, value: &str, max_age: i64, http_only: bool, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={max_age}; SameSite=Strict{}{}",
        if http_only { "; HttpOnly" } else { "" },
        if secure { "; Secure" } else { "" }
    )
}

/// Where to go after login: a local path only (never `//host` or `https://...`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.starts_with("/login")
                && !n.chars().any(|c| c.is_control()) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// `POST /api/auth/login`: an HTML form (`username`, `password`, `next`; answered
/// with 303 redirects) or JSON `{"username", "password"}` (answered with JSON).
/// Every attempt is counted against the client's IP and the account name before the
/// password is checked (a success gives it back); over the limit, every attempt is
/// refused until the window has passed. At most [`super::HASH_PERMITS`] checks run
/// at once; more get 429 with `Retry-After` at once.
pub async fn login(
    State(auth): State<Auth>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = !is_json(&headers);
    let (username, password, next) = if form {
        (
            lookout::form::field(&body, "username").unwrap_or_default(),
            lookout::form::field(&body, "password").unwrap_or_default(),
            lookout::form::field(&body, "next"),
        )
    } else {
        match serde_json::from_slice::<LoginRequest>(&body) {
            Ok(b) => (b.username, b.password, None),
            Err(e) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    format!("expected {{\"username\", \"password\"}}: {e}"),
                )
            }
        }
    };
    let next = safe_next(next.as_deref());
    let back_to_login = |error: &str| {
        let location = format!(
            "/login?error={error}&next={}",
            super::middleware::encode(&next)
        );
        (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
    };
    let now = auth.now();
    let too_many = |wait_ms: i64, why: &str| {
        if form {
            return back_to_login("limited");
        }
        let secs = ((wait_ms + 999) / 1000).max(1);
        let mut resp = json_error(
            StatusCode::TOO_MANY_REQUESTS,
            format!("{why}; try again in {secs} s"),
        );
        if let Ok(v) = secs.to_string().parse() {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    };
    // At most HASH_PERMITS password checks at once: the rest are refused at once.
    let Some(permit) = auth.try_hash_permit() else {
        tracing::warn!(ip = ?caller.ip, "login refused: busy checking other logins");
        return too_many(1000, "too many logins at once");
    };
    // The attempt counts before its password is hashed (and is given back if it
    // succeeds), so parallel guesses cannot run more hashes than the limit.
    if let Err(wait_ms) = auth.limiter().reserve(&caller.ip, now) {
        tracing::warn!(ip = ?caller.ip, "login refused: rate limit");
        return too_many(wait_ms, "too many failed logins from this address");
    }
    let account: String = username.chars().take(128).collect();
    if let Err(wait_ms) = auth.account_limiter().reserve(&account, now) {
        auth.limiter().release(&caller.ip, now);
        tracing::warn!(ip = ?caller.ip, user = %account, "login refused: account back-off");
        return too_many(wait_ms, "too many failed logins for this account");
    }
    let a = auth.clone();
    let ttl_ms = auth.settings().session_ttl.as_millis() as i64;
    let result = blocking(move || {
        let _permit = permit;
        let Some(user) = a.store().check_login(&username, &password)? else {
            return Ok(None);
        };
        let session = a.store().create_session(user.id, ttl_ms, now)?;
        Ok(Some((user, session)))
    })
    .await;
    let (user, session) = match result {
        Ok(Some(x)) => x,
        Ok(None) => {
            tracing::warn!(ip = ?caller.ip, "failed login");
            return if form {
                back_to_login("invalid")
            } else {
                json_error(StatusCode::UNAUTHORIZED, "wrong user name or password")
            };
        }
        Err(resp) => {
            auth.limiter().release(&caller.ip, now);
            auth.account_limiter().release(&account, now);
            return resp;
        }
    };
    auth.limiter().release(&caller.ip, now);
    auth.account_limiter().release(&account, now);
    tracing::info!(user = %user.name, ip = ?caller.ip, "login");
    let secure = auth.secure_cookies(caller.https);
    let max_age = ttl_ms / 1000;
    let cookies = [
        cookie_header(SESSION_COOKIE, &session.secret, max_age, true, secure),
        cookie_header(CSRF_COOKIE, &session.csrf_token, max_age, false, secure),
    ];
    let mut resp = if form {
        (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response()
    } else {
        Json(LoginResponse {
            username: user.name,
            role: user.role,
            csrf_token: session.csrf_token,
            expires_at: session.expires_at,
        })
        .into_response()
    };
    for c in cookies {
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
    resp
}

/// `POST /api/auth/logout`: ends the session and clears the cookies. A form post is
/// sent to the login page; JSON gets `{"status": "logged out"}`.
pub async fn logout(
    State(auth): State<Auth>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let secret = match &caller.principal {
        Principal::User { secret, .. } => Some(secret.clone()),
        _ => cookie(&headers, SESSION_COOKIE),
    };
    if let Some(secret) = secret {
        let a = auth.clone();
        if let Err(resp) = blocking(move || a.store().delete_session(&secret)).await {
            return resp;
        }
    }
    let secure = auth.secure_cookies(caller.https);
    let mut resp = if csrf::is_form(&headers) {
        (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response()
    } else {
        Json(Status::new("logged out")).into_response()
    };
    for c in [
        cookie_header(SESSION_COOKIE, "", 0, true, secure),
        cookie_header(CSRF_COOKIE, "", 0, false, secure),
    ] {
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

fn audit_in_background(auth: &Auth, caller: &Caller, action: &str, target: &str, detail: &str) {
    let (a, actor, action, target, detail, now) = (
        auth.clone(),
        caller.actor(),
        action.to_string(),
        target.to_string(),
        detail.to_string(),
        auth.now(),
    );
    tokio::task::spawn_blocking(move || {
        if let Err(e) = a.store().audit(&actor, &action, &target, &detail, now) {
            tracing::error!(error = %e, "cannot write the audit log");
        }
    });
}

// ---------------------------------------------------------------- users

/// `GET /api/users`
pub async fn list_users(State(auth): State<Auth>) -> Response {
    let a = auth.clone();
    match blocking(move || a.store().users()).await {
        Ok(users) => Json(UserList { users }).into_response(),
        Err(r) => r,
    }
}

/// `POST /api/users` with `{"name", "role", "password"}`.
pub async fn add_user(
    State(auth): State<Auth>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<NewUser>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let role = match Role::parse(&b.role) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e),
    };
    let (a, now) = (auth.clone(), auth.now());
    match blocking(move || a.store().add_user(&b.name, role, &b.password, now)).await {
        Ok(user) => {
            auth.note_user_added();
            audit_in_background(
                &auth,
                &caller,
                "user.add",
                &user.name,
                &format!("role={role}"),
            );
            (StatusCode::CREATED, Json(user)).into_response()
        }
        Err(r) => r,
    }
}

/// `DELETE /api/users/{name}` (never the last admin).
pub async fn remove_user(
    State(auth): State<Auth>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> Response {
    let (a, n, now) = (auth.clone(), name.clone(), auth.now());
    // The user's tokens go with them (an admin token would keep administering).
    let removed = blocking(move || {
        let gone = a.store().remove_user(&n)?;
        let revoked = if gone {
            a.store().revoke_tokens_of_user(&n, now)?
        } else {
            0
        };
        Ok((gone, revoked))
    })
    .await;
    match removed {
        Ok((true, revoked)) => {
            let detail = format!("{revoked} token(s) revoked");
            audit_in_background(&auth, &caller, "user.remove", &name, &detail);
            Json(NameStatus {
                name,
                status: "removed".into(),
            })
            .into_response()
        }
        Ok((false, _)) => json_error(StatusCode::NOT_FOUND, format!("no user named {name:?}")),
        Err(r) if r.status() == StatusCode::BAD_REQUEST => {
            let (mut parts, body) = r.into_parts();
            parts.status = StatusCode::CONFLICT;
            Response::from_parts(parts, body)
        }
        Err(r) => r,
    }
}

// ---------------------------------------------------------------- tokens

/// `GET /api/tokens`: metadata only; a token is shown once, when created.
pub async fn list_tokens(State(auth): State<Auth>) -> Response {
    let a = auth.clone();
    match blocking(move || a.store().tokens()).await {
        Ok(tokens) => Json(TokenList { tokens }).into_response(),
        Err(r) => r,
    }
}

/// `POST /api/tokens` with `{"name", "scope": "read"|"admin"}`: answers with the
/// token in `token`, the only time it is ever shown.
pub async fn create_token(
    State(auth): State<Auth>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let scope = match Scope::parse(&b.scope) {
        Ok(s) => s,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e),
    };
    let (a, now, by) = (auth.clone(), auth.now(), caller.actor());
    match blocking(move || a.store().create_token(&b.name, scope, &by, now)).await {
        Ok((meta, token)) => {
            audit_in_background(
                &auth,
                &caller,
                "token.create",
                &meta.name,
                &format!("scope={}", scope.as_str()),
            );
            let body = CreatedToken { meta, token };
            let mut resp = (StatusCode::CREATED, Json(body)).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, "no-store".parse().expect("static"));
            resp
        }
        Err(r) => r,
    }
}

/// `DELETE /api/tokens/{id}` (an id or a name): revoked at once.
pub async fn revoke_token(
    State(auth): State<Auth>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let (a, now, key) = (auth.clone(), auth.now(), id.clone());
    match blocking(move || a.store().revoke_token(&key, now)).await {
        Ok(Some(t)) => {
            audit_in_background(
                &auth,
                &caller,
                "token.revoke",
                &t.name,
                &format!("id={}", t.id),
            );
            Json(t).into_response()
        }
        Ok(None) => json_error(StatusCode::NOT_FOUND, format!("no live token {id:?}")),
        Err(r) => r,
    }
}

// ---------------------------------------------------------------- audit

/// `GET /api/audit?limit=N` (default 200, at most 10000), newest first.
pub async fn audit_log(
    State(auth): State<Auth>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let limit = match params.iter().rev().find(|(k, _)| k == "limit") {
        None => 200,
        Some((_, v)) => match v.parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "limit: must be an integer from 1 to 10000",
                )
            }
        },
    };
    let a = auth.clone();
    match blocking(move || a.store().audit_log(limit)).await {
        Ok(entries) => Json(AuditLog { entries }).into_response(),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_local_path_only() {
        assert_eq!(safe_next(Some("/dashboard?x=1")), "/dashboard?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/login")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
