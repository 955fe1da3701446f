//! Who is signed in, as the pages see it. The server's auth middleware puts a [`Me`]
//! on every request; `get_me` (`GET /api/auth/me`) hands it to the browser, and the
//! dashboard provides it as context so admin-only controls are not rendered for others
//! ([`use_role`]). Hiding is only courtesy: the server refuses regardless.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
/// The signed-in caller (`GET /api/auth/me`): a model type, so the JSON contract
/// covers it.
pub use lookout::model::Me;

/// The caller, as `GET /api/auth/me`.
#[server(endpoint = "auth/me", input = GetUrl, output = Json)]
pub async fn get_me() -> Result<Me, ServerFnError> {
    Ok(current())
}

/// The caller, wherever the page runs: the server function on the server, a plain read
/// of the same `GET /api/auth/me` in the browser (see `api::browser_get`).
pub async fn me() -> Result<Me, ServerFnError> {
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        crate::api::browser_get("/api/auth/me".to_string()).await
    }
    #[cfg(not(all(feature = "hydrate", not(feature = "ssr"))))]
    {
        get_me().await
    }
}

/// The caller of the request being served (server only): what the middleware left
/// on it, or nobody.
#[cfg(feature = "ssr")]
pub fn current() -> Me {
    use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<Me>().cloned())
        .unwrap_or_default()
}

/// The caller's role as a signal, for components that show admin-only controls.
/// Provided by the dashboard ([`provide_me`]); before that (or outside it), nobody.
pub fn use_role() -> Signal<String> {
    let me = use_context::<RwSignal<Me>>();
    Signal::derive(move || me.map(|m| m.with(|m| m.role.clone())).unwrap_or_default())
}

/// Whether the caller is an admin (see [`use_role`]).
pub fn use_is_admin() -> Signal<bool> {
    let role = use_role();
    Signal::derive(move || role.with(|r| r == "admin"))
}

/// Makes `me` the context [`use_role`] reads.
pub fn provide_me(me: Me) -> RwSignal<Me> {
    let signal = RwSignal::new(me);
    provide_context(signal);
    signal
}

#[cfg(test)]
mod tests {
    use super::Me;

    #[test]
    fn roles_rank_admin_over_developer_over_viewer() {
        let me = |role: &str| Me {
            role: role.into(),
            ..Me::default()
        };
        assert!(me("admin").is_admin() && me("admin").at_least("viewer"));
        assert!(me("developer").at_least("developer") && !me("developer").is_admin());
        assert!(me("viewer").at_least("viewer") && !me("viewer").at_least("developer"));
        // Nobody (no context, no session) has no role at all.
        assert!(!me("").at_least("viewer") && !me("root").at_least("viewer"));
        assert!(!me("admin").at_least("bogus"));
    }
}
