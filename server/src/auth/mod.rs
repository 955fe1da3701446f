//! Access control: who is calling (session cookie, API token, or nobody), what each
//! route needs ([`policy`]), CSRF on state-changing requests ([`csrf`]), the login
//! rate limit ([`ratelimit`]), the login/logout/users/tokens/audit endpoints
//! ([`handlers`]) and the start-up rules for binding without auth ([`startup`]).
//!
//! The users, sessions, tokens and audit tables live in the engine's store
//! (`lookout::store::auth`); this module is the web side.

pub mod cli;
pub mod csrf;
pub mod handlers;
pub mod middleware;
pub mod open_mode;
pub mod policy;
pub mod ratelimit;
pub mod startup;

use crate::config::AuthSection;
use lookout::store::auth::{Role, Scope};
use lookout::store::Store;
use lookout::time::parse_duration;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Environment variables that are not configuration keys but are read by Lookout:
/// the agent's ingest token, the first admin at start-up, and the password for
/// `lookout user add`.
pub const EXTRA_ENV: &[&str] = &[
    crate::config::AGENT_TOKEN_ENV,
    "LOOKOUT_ADMIN_USER",
    "LOOKOUT_ADMIN_PASSWORD",
    "LOOKOUT_PASSWORD",
];

/// Login password checks (Argon2) that may run at once; more are answered 429.
pub const HASH_PERMITS: usize = 2;

/// The session cookie (HttpOnly).
pub const SESSION_COOKIE: &str = "lookout_session";
/// The CSRF token, readable by the page's scripts so they can echo it in a header.
pub const CSRF_COOKIE: &str = "lookout_csrf";
/// The header state-changing requests of a session must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field a plain HTML form uses instead of the header.
pub const CSRF_FIELD: &str = "csrf_token";

/// `auth.enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// On as soon as a user exists; a non-loopback bind needs a user (or
    /// `--insecure-no-auth`) to start.
    Auto,
    On,
    Off,
}

/// `auth.cookie_secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecure {
    /// Secure when the request came over https (TLS, or a trusted proxy says so).
    Auto,
    On,
    Off,
}

/// The `[auth]` section, checked.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub mode: AuthMode,
    pub session_ttl: Duration,
    /// Failed logins allowed per client IP within `login_window`.
    pub login_limit: u32,
    pub login_window: Duration,
    pub cookie_secure: CookieSecure,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings::from_section(&AuthSection::default()).expect("defaults are valid")
    }
}

impl AuthSettings {
    pub fn from_section(s: &AuthSection) -> Result<AuthSettings, String> {
        let mode = match s.enabled.trim() {
            "auto" => AuthMode::Auto,
            "on" | "true" => AuthMode::On,
            "off" | "false" => AuthMode::Off,
            other => {
                return Err(format!(
                    "`auth.enabled` is {other:?}; allowed: \"auto\", \"on\", \"off\""
                ))
            }
        };
        let session_ttl = match parse_duration(&s.session_ttl).ok() {
            Some(d) if d >= Duration::from_secs(60) && d <= Duration::from_secs(90 * 86400) => d,
            _ => {
                return Err(format!(
                    "`auth.session_ttl` is {:?}; allowed: a duration from 1m to 90d, e.g. \"12h\"",
                    s.session_ttl
                ))
            }
        };
        let (login_limit, login_window) = parse_rate(&s.login_rate_limit).ok_or_else(|| {
            format!(
                "`auth.login_rate_limit` is {:?}; write N/PERIOD, e.g. \"10/min\", \"5/10m\" (N from 1 to 10000)",
                s.login_rate_limit
            )
        })?;
        let cookie_secure = match s.cookie_secure.trim() {
            "auto" => CookieSecure::Auto,
            "on" | "true" => CookieSecure::On,
            "off" | "false" => CookieSecure::Off,
            other => {
                return Err(format!(
                    "`auth.cookie_secure` is {other:?}; allowed: \"auto\", \"on\", \"off\""
                ))
            }
        };
        Ok(AuthSettings {
            mode,
            session_ttl,
            login_limit,
            login_window,
            cookie_secure,
        })
    }
}

/// "10/min", "5/10m", "100/h", "3/30s".
fn parse_rate(s: &str) -> Option<(u32, Duration)> {
    let (n, per) = s.split_once('/')?;
    let n: u32 = n.trim().parse().ok().filter(|n| (1..=10_000).contains(n))?;
    let per = per.trim();
    let window = match per {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        "d" | "day" => Duration::from_secs(86400),
        other => parse_duration(other).ok().filter(|d| !d.is_zero())?,
    };
    Some((n, window))
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    User {
        name: String,
        role: Role,
        /// The session's cookie secret (to end it on logout).
        secret: String,
        csrf_token: String,
    },
    Token {
        /// The token's row id (an ingest token is bound to a host by it).
        id: i64,
        name: String,
        scope: Scope,
    },
}

impl Principal {
    /// The role the caller acts as; None for anonymous.
    pub fn role(&self) -> Option<Role> {
        match self {
            Principal::Anonymous => None,
            Principal::User { role, .. } => Some(*role),
            Principal::Token { scope, .. } => scope.role(),
        }
    }

    /// For the audit log: `user:NAME`, `token:NAME`, `anonymous`.
    pub fn actor(&self) -> String {
        match self {
            Principal::Anonymous => "anonymous".into(),
            Principal::User { name, .. } => format!("user:{name}"),
            Principal::Token { name, .. } => format!("token:{name}"),
        }
    }
}

/// The clock sessions and rate limits are measured by (ms since the epoch); tests
/// pass their own.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Shared access-control state, cloned into the middleware and the handlers.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    settings: AuthSettings,
    clock: Clock,
    /// Login attempts per client IP.
    limiter: ratelimit::RateLimiter<Option<IpAddr>>,
    /// Login attempts per account name (whatever address they come from).
    account_limiter: ratelimit::RateLimiter<String>,
    /// Password hashes running at once (each Argon2 check takes tens of MB).
    hashing: Arc<tokio::sync::Semaphore>,
    /// Latched true once a user is seen (auto mode): auth never turns itself off.
    users_exist: AtomicBool,
    /// When `users_exist` was last checked while false (ms).
    checked_at: AtomicI64,
    /// The server listens on a loopback address only: with auth off (open mode), the
    /// Host/Origin/forwarding rules of [`open_mode`] apply.
    loopback_bind: AtomicBool,
}

impl Auth {
    pub fn new(store: Arc<Store>, settings: AuthSettings) -> Auth {
        Auth::with_clock(store, settings, Arc::new(crate::runtime::now_ms))
    }

    pub fn with_clock(store: Arc<Store>, settings: AuthSettings, clock: Clock) -> Auth {
        let limiter = ratelimit::RateLimiter::new(settings.login_limit, settings.login_window);
        let account_limiter =
            ratelimit::RateLimiter::new(settings.login_limit, settings.login_window);
        Auth {
            inner: Arc::new(Inner {
                store,
                settings,
                clock,
                limiter,
                account_limiter,
                hashing: Arc::new(tokio::sync::Semaphore::new(HASH_PERMITS)),
                users_exist: AtomicBool::new(false),
                checked_at: AtomicI64::new(i64::MIN),
                loopback_bind: AtomicBool::new(false),
            }),
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.inner.settings
    }

    pub fn now(&self) -> i64 {
        (self.inner.clock)()
    }

    /// The per-IP login limiter.
    pub fn limiter(&self) -> &ratelimit::RateLimiter<Option<IpAddr>> {
        &self.inner.limiter
    }

    /// The per-account login limiter.
    pub fn account_limiter(&self) -> &ratelimit::RateLimiter<String> {
        &self.inner.account_limiter
    }

    /// A permit to hash a password now, if one is free (never waits).
    pub fn try_hash_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.hashing.clone().try_acquire_owned().ok()
    }

    /// Declares that the server listens on a loopback address (see [`open_mode`]).
    pub fn set_loopback_bind(&self, loopback: bool) {
        self.inner.loopback_bind.store(loopback, Ordering::Relaxed);
    }

    /// Whether open mode's rules apply to requests that are not checked.
    pub fn loopback_bind(&self) -> bool {
        self.inner.loopback_bind.load(Ordering::Relaxed)
    }

    /// Called when a user is added here, so auto mode turns on at once.
    pub fn note_user_added(&self) {
        self.inner.users_exist.store(true, Ordering::Relaxed);
    }

    /// Whether requests are checked. Blocking (may read the store): call from
    /// `spawn_blocking`. In auto mode a user added by the CLI while the server runs
    /// is noticed within a second.
    pub fn enforced_blocking(&self) -> bool {
        match self.inner.settings.mode {
            AuthMode::On => true,
            AuthMode::Off => false,
            AuthMode::Auto => {
                if self.inner.users_exist.load(Ordering::Relaxed) {
                    return true;
                }
                let now = self.now();
                let last = self.inner.checked_at.load(Ordering::Relaxed);
                if now.saturating_sub(last) < 1000 {
                    return false;
                }
                self.inner.checked_at.store(now, Ordering::Relaxed);
                // A store error reads as "users exist": fail closed.
                let exist = self.inner.store.user_count().map(|n| n > 0).unwrap_or(true);
                if exist {
                    self.inner.users_exist.store(true, Ordering::Relaxed);
                }
                exist
            }
        }
    }

    /// Who sent these credentials. Blocking. A bad or revoked token, an unknown or
    /// expired session: anonymous.
    pub fn identify_blocking(&self, bearer: Option<&str>, session: Option<&str>) -> Principal {
        let now = self.now();
        let store = &self.inner.store;
        if let Some(token) = bearer {
            return match store.find_token(token, now) {
                Ok(Some(t)) => Principal::Token {
                    id: t.id,
                    name: t.name,
                    scope: t.scope,
                },
                Ok(None) => Principal::Anonymous,
                Err(e) => {
                    tracing::error!(error = %e, "token lookup failed");
                    Principal::Anonymous
                }
            };
        }
        if let Some(secret) = session {
            match store.session(secret, now) {
                Ok(Some(s)) => {
                    return Principal::User {
                        name: s.user.name,
                        role: s.user.role,
                        secret: secret.to_string(),
                        csrf_token: s.csrf_token,
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "session lookup failed"),
            }
        }
        Principal::Anonymous
    }

    /// Whether the Secure flag goes on cookies for a request (`https`: it came over
    /// TLS or through a trusted proxy that says https).
    pub fn secure_cookies(&self, https: bool) -> bool {
        match self.inner.settings.cookie_secure {
            CookieSecure::On => true,
            CookieSecure::Off => false,
            CookieSecure::Auto => https,
        }
    }
}

/// Where a request came from: the client IP (for the login rate limit) and whether
/// it used https. The edge layer (trusted proxies, TLS) puts a `ClientInfo` on every
/// request; without it (in-process tests) the peer address, if known.
pub fn client_of(parts: &axum::http::Extensions) -> (Option<IpAddr>, bool) {
    if let Some(c) = parts.get::<crate::edge::ClientInfo>() {
        return (Some(c.ip), c.https);
    }
    if let Some(axum::extract::ConnectInfo(addr)) =
        parts.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return (Some(addr.ip()), false);
    }
    (None, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_reject_with_the_key_named() {
        let d = AuthSettings::default();
        assert_eq!(d.mode, AuthMode::Auto);
        assert_eq!(d.session_ttl, Duration::from_secs(12 * 3600));
        assert_eq!(
            (d.login_limit, d.login_window),
            (10, Duration::from_secs(60))
        );
        assert_eq!(parse_rate("5/10m"), Some((5, Duration::from_secs(600))));
        assert_eq!(parse_rate("3/30s"), Some((3, Duration::from_secs(30))));
        assert_eq!(parse_rate("0/min"), None);
        assert_eq!(parse_rate("ten/min"), None);
        let bad = |f: fn(&mut AuthSection)| {
            let mut s = AuthSection::default();
            f(&mut s);
            AuthSettings::from_section(&s).unwrap_err()
        };
        assert!(bad(|s| s.enabled = "maybe".into()).contains("auth.enabled"));
        assert!(bad(|s| s.session_ttl = "1s".into()).contains("auth.session_ttl"));
        assert!(bad(|s| s.login_rate_limit = "x".into()).contains("auth.login_rate_limit"));
        assert!(bad(|s| s.cookie_secure = "x".into()).contains("auth.cookie_secure"));
    }
}
