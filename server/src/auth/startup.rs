//! Start-up rules: create the first admin from `LOOKOUT_ADMIN_USER` /
//! `LOOKOUT_ADMIN_PASSWORD` when no user exists, then refuse to serve a non-loopback
//! address without auth unless `--insecure-no-auth` was given.

use super::AuthMode;
use crate::config::Settings;
use lookout::store::auth::Role;
use lookout::store::Store;

/// What the start-up check decided, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub users: i64,
    pub bootstrapped: Option<String>,
    /// Whether requests will be checked from the start.
    pub enforced: bool,
}

/// Bootstraps the first admin (from `env`) and applies the bind policy. An `Err` is
/// the message for the operator; the caller exits with code 2.
pub fn check(
    settings: &Settings,
    store: &Store,
    env: &[(String, String)],
    now: i64,
) -> Result<Decision, String> {
    let var = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let mut users = store.user_count().map_err(|e| e.to_string())?;
    let mut bootstrapped = None;
    match (var("LOOKOUT_ADMIN_USER"), var("LOOKOUT_ADMIN_PASSWORD")) {
        (Some(name), Some(password)) if users == 0 => {
            store
                .add_user(&name, Role::Admin, &password, now)
                .map_err(|e| format!("cannot create the admin from LOOKOUT_ADMIN_USER: {e}"))?;
            let _ = store.audit(
                "bootstrap",
                "user.add",
                &name,
                "role=admin (LOOKOUT_ADMIN_USER)",
                now,
            );
            users = 1;
            bootstrapped = Some(name);
        }
        (Some(_), None) | (None, Some(_)) if users == 0 => {
            return Err(
                "set both LOOKOUT_ADMIN_USER and LOOKOUT_ADMIN_PASSWORD to create the first admin"
                    .into(),
            )
        }
        // Users exist: the variables only ever create the first one.
        _ => {}
    }
    let mode = settings.auth.mode;
    let loopback = settings.bind.ip().is_loopback();
    let fix = "create a user with `lookout user add NAME --role admin`, or set \
               LOOKOUT_ADMIN_USER and LOOKOUT_ADMIN_PASSWORD, or pass --insecure-no-auth \
               to serve without any login (not recommended)";
    if mode == AuthMode::On && users == 0 {
        return Err(format!(
            "`auth.enabled` is \"on\" but no user exists, so nobody could sign in: {fix}"
        ));
    }
    if !settings.edge.trusted_proxies.is_empty()
        && (users == 0 || mode == AuthMode::Off)
        && !settings.insecure_no_auth
    {
        return Err(format!(
            "`server.trusted_proxies` is set but {}: behind a proxy every request comes \
             from the proxy, so open mode's loopback rules cannot protect the API; {fix}",
            if users == 0 {
                "no user exists"
            } else {
                "`auth.enabled` is \"off\""
            }
        ));
    }
    if !loopback && !settings.insecure_no_auth {
        if mode == AuthMode::Off {
            return Err(format!(
                "refusing to serve {} without auth (`auth.enabled` = \"off\") on a non-loopback address: \
                 set `auth.enabled` to \"auto\" and {fix}",
                settings.bind
            ));
        }
        if users == 0 {
            return Err(format!(
                "refusing to serve {} without auth: no user exists and the address is not loopback; {fix}",
                settings.bind
            ));
        }
    }
    Ok(Decision {
        users,
        bootstrapped,
        enforced: match mode {
            AuthMode::On => true,
            AuthMode::Off => false,
            AuthMode::Auto => users > 0,
        },
    })
}

/// [`check`] on the configured store with the process environment, logged.
pub fn run(settings: &Settings) -> Result<Decision, crate::error::ServerError> {
    let store = crate::open_store(settings)?;
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| super::EXTRA_ENV.contains(&k.as_str()))
        .collect();
    let d = check(settings, &store, &env, crate::runtime::now_ms())
        .map_err(crate::error::ServerError::Access)?;
    if let Some(name) = &d.bootstrapped {
        tracing::info!(user = %name, "created the first admin from LOOKOUT_ADMIN_USER");
    }
    if d.enforced {
        tracing::info!(users = d.users, "auth on: sign in at /login");
    } else if settings.insecure_no_auth && !settings.bind.ip().is_loopback() {
        tracing::warn!(bind = %settings.bind, "--insecure-no-auth: serving without any login");
    } else {
        tracing::info!(
            "auth off: no users yet (add one with `lookout user add NAME --role admin`)"
        );
    }
    Ok(d)
}
