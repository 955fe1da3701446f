//! `/admin`: users, API tokens (a new token is shown once) and the audit log. The
//! lists load in the browser from the admin API; the server refuses every call of a
//! non-admin whatever this page shows.

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

fn when(t: Option<i64>) -> String {
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

    let add_user = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
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
    let create_token = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
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
            let url = format!("/api/tokens/{id}");
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
            <section class="panel" id="users" aria-label="Users">
                <h2>"Users"</h2>
                <div class="table-wrap">
                    <table class="admin-table" id="users-table">
                        <thead><tr><th scope="col">"Name"</th><th scope="col">"Role"</th><th scope="col">"Created"</th><th></th></tr></thead>
                        <tbody>
                            <For each=move || users.get() key=|u| u.name.clone() let:u>
                                {
                                    let name = u.name.clone();
                                    let n = name.clone();
                                    let label = name.clone();
                                    view! {
                                        <tr data-user=name>
                                            <td>{label}</td>
                                            <td>{u.role.as_str()}</td>
                                            <td>{when(Some(u.created_at))}</td>
                                            <td><button class="remove-user" on:click=move |_| remove_user(n.clone())>"Remove"</button></td>
                                        </tr>
                                    }
                                }
                            </For>
                        </tbody>
                    </table>
                </div>
                <form class="admin-form" id="user-form" on:submit=add_user>
                    <label>"Name " <input name="name" bind:value=user_name required=true size="12" autocomplete="off"/></label>
                    <label>"Role "
                        <select name="role" bind:value=user_role>
                            <option value="viewer">"viewer"</option>
                            <option value="developer">"developer"</option>
                            <option value="admin">"admin"</option>
                        </select>
                    </label>
                    <label>"Password " <input name="password" type="password" bind:value=user_password required=true minlength="8" size="12" autocomplete="new-password"/></label>
                    <button type="submit">"Add user"</button>
                </form>
            </section>
            <section class="panel" id="tokens" aria-label="API tokens">
                <h2>"API tokens"</h2>
                {move || new_token.get().map(|t| view! {
                    <div class="new-token" role="status">
                        <p>"New token — copy it now, it is not shown again:"</p>
                        <code id="new-token">{t}</code>
                    </div>
                })}
                <div class="table-wrap">
                    <table class="admin-table" id="tokens-table">
                        <thead><tr><th scope="col">"Id"</th><th scope="col">"Name"</th><th scope="col">"Scope"</th><th scope="col">"Token"</th><th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col">"Status"</th><th></th></tr></thead>
                        <tbody>
                            <For each=move || tokens.get() key=|t| (t.id, t.revoked_at) let:t>
                                {
                                    let id = t.id.to_string();
                                    let live = t.revoked_at.is_none();
                                    let i = id.clone();
                                    view! {
                                        <tr data-token=t.name.clone()>
                                            <td class="num">{id}</td>
                                            <td>{t.name.clone()}</td>
                                            <td>{t.scope.as_str()}</td>
                                            <td><code>{format!("{}…", t.prefix)}</code></td>
                                            <td>{when(Some(t.created_at))}</td>
                                            <td>{when(t.last_used_at)}</td>
                                            <td>{if live { "live".to_string() } else { format!("revoked {}", when(t.revoked_at)) }}</td>
                                            <td>{live.then(|| view! { <button class="revoke-token" on:click=move |_| revoke_token(i.clone())>"Revoke"</button> })}</td>
                                        </tr>
                                    }
                                }
                            </For>
                        </tbody>
                    </table>
                </div>
                <form class="admin-form" id="token-form" on:submit=create_token>
                    <label>"Name " <input name="name" bind:value=token_name required=true size="14" autocomplete="off"/></label>
                    <label>"Scope "
                        <select name="scope" bind:value=token_scope>
                            <option value="read">"read"</option>
                            <option value="admin">"admin"</option>
                        </select>
                    </label>
                    <button type="submit">"Create token"</button>
                </form>
            </section>
            <section class="panel" id="audit" aria-label="Audit log">
                <h2>"Audit log"</h2>
                <div class="table-wrap">
                    <table class="admin-table" id="audit-table">
                        <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Action"</th><th scope="col">"Target"</th><th scope="col">"Detail"</th></tr></thead>
                        <tbody>
                            <For each=move || audit.get() key=|a| a.id let:a>
                                <tr>
                                    <td>{when(Some(a.at))}</td>
                                    <td>{a.actor.clone()}</td>
                                    <td>{a.action.clone()}</td>
                                    <td>{a.target.clone()}</td>
                                    <td class="detail">{a.detail.clone()}</td>
                                </tr>
                            </For>
                        </tbody>
                    </table>
                </div>
            </section>
        </main>
    }
}
