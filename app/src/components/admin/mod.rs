//! `/admin`: users, API tokens (a new token is shown once) and the audit log. The
//! lists load in the browser from the admin API; the server refuses every call of a
//! non-admin whatever this page shows.
//!
//! [`AdminPage`] loads who is signed in; `AdminBody` lays out the panels over an [`AdminState`] (`actions`: the lists and
//! the requests);
//! `users`, `tokens` and `audit` draw one panel each.

mod actions;
mod audit;
mod tokens;
mod users;

use actions::AdminState;
use audit::AuditPanel;
use tokens::TokensPanel;
use users::UsersPanel;

use leptos::prelude::*;

use crate::auth::{provide_me, Me};
use crate::components::login::UserMenu;
use crate::format::{time_label, TimeStyle};

#[component]
pub fn AdminPage() -> impl IntoView {
    let me = crate::api::resource(
        || (),
        |_| async { crate::auth::me().await.unwrap_or_default() },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = me.await;
                view! { <AdminBody me/> }
            })}
        </Suspense>
    }
}

pub(crate) fn when(t: Option<i64>) -> String {
    t.map(|t| format!("{} UTC", time_label(t, 0, TimeStyle::DayMinutes)))
        .unwrap_or_else(|| "—".into())
}

#[component]
fn AdminBody(me: Me) -> impl IntoView {
    provide_me(me.clone());
    let st = AdminState::new();
    let AdminState {
        users,
        tokens,
        audit,
        error,
        new_token,
        user_name,
        user_role,
        user_password,
        token_name,
        token_scope,
    } = st;
    Effect::new(move |_| st.reload());

    view! {
        <header class="topbar">
            <div class="brand">
                <h1>"Lookout"</h1>
                <span class="host">"Admin"</span>
                <a href="/" class="back">"← Dashboard"</a>
            </div>
            <UserMenu me/>
        </header>
        <main class="dashboard admin">
            {move || error.get().map(|e| view! { <p class="error" id="admin-error" role="alert">{e}</p> })}
            <UsersPanel users user_name user_role user_password
                on_add=Callback::new(move |()| st.add_user())
                on_remove=Callback::new(move |name| st.remove_user(name))/>
            <TokensPanel tokens new_token token_name token_scope
                on_create=Callback::new(move |()| st.create_token())
                on_revoke=Callback::new(move |id| st.revoke_token(id))/>
            <AuditPanel audit/>
        </main>
    }
}
