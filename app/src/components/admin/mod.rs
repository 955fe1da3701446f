//! `/admin`: users, API tokens (a new token is shown once) and the audit log. The
//! lists load in the browser from the admin API; the server refuses every call of a
//! non-admin whatever this page shows.
//!
//! [`AdminPage`] loads who is signed in; `AdminBody` owns the lists and the requests;
//! `users`, `tokens` and `audit` draw one panel each.

mod audit;
mod tokens;
mod users;

use audit::AuditPanel;
use tokens::TokensPanel;
use users::UsersPanel;

use leptos::prelude::*;
use leptos_meta::Title;
use lookout::model::{ApiToken, AuditEntry, User};

use crate::auth::{get_me, provide_me, Me};
use crate::components::login::UserMenu;
use crate::format::{time_label, TimeStyle};

#[component]
pub fn AdminPage() -> impl IntoView {
    let me = Resource::new(|| (), |_| get_me());
    view! {
        <Title text="Admin · Lookout"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = me.await.unwrap_or_default();
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
    let users = RwSignal::new(Vec::<User>::new());
    let tokens = RwSignal::new(Vec::<ApiToken>::new());
    let audit = RwSignal::new(Vec::<AuditEntry>::new());
    let error = RwSignal::new(None::<String>);
    let new_token = RwSignal::new(None::<String>);
    let user_name = RwSignal::new(String::new());
    let user_role = RwSignal::new("viewer".to_string());
    let user_password = RwSignal::new(String::new());
    let token_name = RwSignal::new(String::new());
    let token_scope = RwSignal::new("read".to_string());

    let reload = move || {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            use lookout::model::{AuditLog, TokenList, UserList};
            let result = async {
                let u: UserList = crate::http::get("/api/users").await?;
                let t: TokenList = crate::http::get("/api/tokens").await?;
                let a: AuditLog = crate::http::get("/api/audit?limit=100").await?;
                Ok::<_, String>((u, t, a))
            }
            .await;
            match result {
                Ok((u, t, a)) => {
                    users.set(u.users);
                    tokens.set(t.tokens);
                    audit.set(a.entries);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| reload());

    // Runs one admin call; on success clears the error and reloads the lists.
    #[cfg(feature = "hydrate")]
    let act =
        move |job: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>| {
            leptos::task::spawn_local(async move {
                match job.await {
                    Ok(()) => {
                        error.set(None);
                        reload();
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        };

    let add_user = move |()| {
        #[cfg(feature = "hydrate")]
        {
            let body = lookout::model::NewUser {
                name: user_name.get_untracked(),
                role: user_role.get_untracked(),
                password: user_password.get_untracked(),
            };
            act(Box::pin(async move {
                let _: User = crate::http::post("/api/users", &body).await?;
                user_name.set(String::new());
                user_password.set(String::new());
                Ok(())
            }));
        }
    };
    let create_token = move |()| {
        #[cfg(feature = "hydrate")]
        {
            let body = lookout::model::NewToken {
                name: token_name.get_untracked(),
                scope: token_scope.get_untracked(),
            };
            act(Box::pin(async move {
                let created: lookout::model::CreatedToken =
                    crate::http::post("/api/tokens", &body).await?;
                token_name.set(String::new());
                new_token.set(Some(created.token));
                Ok(())
            }));
        }
    };
    let remove_user = move |name: String| {
        #[cfg(feature = "hydrate")]
        act(Box::pin(async move {
            let url = format!("/api/users/{name}");
            let _: lookout::model::NameStatus = crate::http::delete(&url).await?;
            Ok(())
        }));
        #[cfg(not(feature = "hydrate"))]
        let _ = name;
    };
    let revoke_token = move |id: String| {
        #[cfg(feature = "hydrate")]
        act(Box::pin(async move {
            // `id:` so a token named like a number is never the one revoked by mistake.
            let url = format!("/api/tokens/id:{id}");
            let _: ApiToken = crate::http::delete(&url).await?;
            Ok(())
        }));
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    };

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
                on_add=Callback::new(add_user) on_remove=Callback::new(remove_user)/>
            <TokensPanel tokens new_token token_name token_scope
                on_create=Callback::new(create_token) on_revoke=Callback::new(revoke_token)/>
            <AuditPanel audit/>
        </main>
    }
}
