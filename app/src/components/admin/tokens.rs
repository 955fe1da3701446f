//! The API tokens panel: the tokens (a new one shown once), create and revoke.

use leptos::prelude::*;
use lookout::model::ApiToken;

use super::when;
use crate::components::typed;

#[component]
pub fn TokensPanel(
    tokens: RwSignal<Vec<ApiToken>>,
    /// The token just created, shown until the page is left (never again after).
    new_token: RwSignal<Option<String>>,
    token_name: RwSignal<String>,
    token_scope: RwSignal<String>,
    on_create: Callback<()>,
    on_revoke: Callback<String>,
) -> impl IntoView {
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_create.run(());
    };
    view! {
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
                                        <td>{live.then(|| view! { <button class="revoke-token" on:click=move |_| on_revoke.run(i.clone())>"Revoke"</button> })}</td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </div>
            <form class="admin-form" id="token-form" on:submit=submit>
                <label>"Name " <input name="name" prop:value=token_name on:input=typed(token_name) required=true size="14" autocomplete="off"/></label>
                <label>"Scope "
                    <select name="scope" prop:value=token_scope on:change=typed(token_scope)>
                        <option value="read">"read"</option>
                        <option value="admin">"admin"</option>
                    </select>
                </label>
                <button type="submit">"Create token"</button>
            </form>
        </section>
    }
}
