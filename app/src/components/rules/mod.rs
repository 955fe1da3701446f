//! Rule administration inside the alerts panel: the rules in force (from the config
//! file and the API, with their source), a form to add or edit one, enable/disable,
//! delete (API rules; for an overridden file rule "revert" drops the override), and
//! "Test" (does it parse, would it fire on the latest sample). Everything goes through
//! the existing API: `GET /api/alerts` (rules), `PUT`/`DELETE /api/alerts/rules/{name}`,
//! `POST /api/alerts/rules/test`.
//!
//! [`RuleAdmin`] puts the parts together: `actions` holds the state and the requests,
//! `table::RulesTable` and `editor::RuleEditor` draw them, `form` holds the form's data
//! and its conversions.

mod actions;
mod editor;
mod form;
mod table;
#[cfg(test)]
mod tests;

pub use form::{verdict_line, RuleForm, SparseRule};

pub(crate) use actions::RuleState;
use editor::RuleEditor;
use leptos::prelude::*;
use table::{RowActions, RulesTable};

#[component]
pub fn RuleAdmin(
    /// The dashboard's state (the tester judges the newest sample of the host shown).
    live: crate::components::dashboard::DashboardState,
) -> impl IntoView {
    // Others see the rules read-only: no actions, no form (the server refuses them anyway).
    let is_admin = crate::auth::use_is_admin().get_untracked();
    let state = RuleState::new(live);
    // Effects run in the browser only: the server renders the empty frame.
    Effect::new(move |_| state.reload());
    let RuleState {
        rules,
        form,
        editing,
        result,
        ..
    } = state;
    let loaded = move || rules.with(Option::is_some);
    let actions = RowActions {
        edit: Callback::new(move |name| state.edit(name)),
        toggle: Callback::new(move |(name, enabled)| state.toggle(name, enabled)),
        remove: Callback::new(move |name| state.remove(name)),
    };

    view! {
        <div class="rule-admin" id="alert-rules" data-loaded=move || loaded().to_string()>
            <h3>"Rules"</h3>
            <RulesTable rules is_admin actions/>
            {move || (loaded() && rules.with(|r| r.as_ref().is_some_and(Vec::is_empty))).then(|| view! { <p class="empty" id="rules-none">"No alert rules."</p> })}
            {is_admin.then(|| view! {
                <RuleEditor form editing
                    on_save=Callback::new(move |()| state.submit())
                    on_test=Callback::new(move |()| state.test())
                    on_cancel=Callback::new(move |()| state.cancel())/>
            })}
            {move || result.get().map(|(ok, msg)| view! {
                <p id="rule-result" class=if ok { "notice" } else { "error" } role="status">{msg}</p>
            })}
        </div>
    }
}
