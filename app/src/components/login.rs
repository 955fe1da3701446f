//! The sign-in page (a plain HTML form: it works with JavaScript off) and the user
//! menu in the dashboard's header (who is signed in, the admin page, sign out).

use leptos::prelude::*;

use crate::auth::Me;

/// `/login`. The form posts to `/api/auth/login`, which answers with a redirect: to
/// `next` on success, back here with `?error=` otherwise.
#[component]
pub fn LoginPage() -> impl IntoView {
    // Read once: a new query is a new page load.
    let query = crate::page::Query::current();
    let error = query.get("error").map(|e| match e.as_str() {
        "limited" => "Too many failed sign-ins from this address. Wait a minute and try again.",
        _ => "Wrong user name or password.",
    });
    let next = query.get("next").unwrap_or_else(|| "/".into());
    view! {
        <main class="login">
            <form class="login-form" id="login-form" method="post" action="/api/auth/login">
                <h1>"Lookout"</h1>
                <p class="login-sub">"Sign in to see this host's dashboard."</p>
                {error.map(|e| view! { <p class="error" id="login-error" role="alert">{e}</p> })}
                <label for="username">"User name"</label>
                <input id="username" name="username" type="text" autocomplete="username"
                    autocapitalize="none" spellcheck="false" required=true autofocus=true/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password"
                    autocomplete="current-password" required=true/>
                <input type="hidden" name="next" value=next/>
                <button type="submit" id="sign-in">"Sign in"</button>
            </form>
        </main>
    }
}

/// Who is signed in, a link to the admin page for admins, and a sign-out button (a
/// form carrying the CSRF token, so it works without JavaScript). Nothing when auth
/// is off.
#[component]
pub fn UserMenu(me: Me) -> impl IntoView {
    if !me.auth_enabled {
        return None;
    }
    let is_admin = me.is_admin();
    let name = me.username.clone().unwrap_or_default();
    let role = me.role.clone();
    let csrf = me.csrf_token.clone().unwrap_or_default();
    // Token callers have no session to end.
    let session = me.csrf_token.is_some();
    Some(view! {
        <div class="user-menu" id="user-menu">
            <span class="user-name" id="user-name">{name}</span>
            <span class="badge role" id="user-role">{role}</span>
            {is_admin.then(|| view! { <a class="admin-link" id="admin-link" href="/admin">"Admin"</a> })}
            {session.then(|| view! {
                <form class="logout" method="post" action="/api/auth/logout">
                    <input type="hidden" name="csrf_token" value=csrf/>
                    <button type="submit" id="logout">"Sign out"</button>
                </form>
            })}
        </div>
    })
}
