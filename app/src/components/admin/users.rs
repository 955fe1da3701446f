//! The users panel: who may sign in, with their role; add and remove.

use leptos::prelude::*;
use lookout::model::User;

use super::when;
use crate::components::typed;

#[component]
pub fn UsersPanel(
    users: RwSignal<Vec<User>>,
    user_name: RwSignal<String>,
    user_role: RwSignal<String>,
    user_password: RwSignal<String>,
    on_add: Callback<()>,
    on_remove: Callback<String>,
) -> impl IntoView {
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_add.run(());
    };
    view! {
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
                                        <td><button class="remove-user" on:click=move |_| on_remove.run(n.clone())>"Remove"</button></td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </div>
            <form class="admin-form" id="user-form" on:submit=submit>
                <label>"Name " <input name="name" prop:value=user_name on:input=typed(user_name) required=true size="12" autocomplete="off"/></label>
                <label>"Role "
                    <select name="role" prop:value=user_role on:change=typed(user_role)>
                        <option value="viewer">"viewer"</option>
                        <option value="developer">"developer"</option>
                        <option value="admin">"admin"</option>
                    </select>
                </label>
                <label>"Password " <input name="password" type="password" prop:value=user_password on:input=typed(user_password) required=true minlength="8" size="12" autocomplete="new-password"/></label>
                <button type="submit">"Add user"</button>
            </form>
        </section>
    }
}
