//! Rule administration inside the alerts panel: the rules in force (from the config
//! file and the API, with their source), a form to add or edit one, enable/disable,
//! delete (API rules; for an overridden file rule "revert" drops the override), and
//! "Test" (does it parse, would it fire on the latest sample). Everything goes through
//! the existing API: `GET /api/alerts` (rules), `PUT`/`DELETE /api/alerts/rules/{name}`,
//! `POST /api/alerts/rules/test`.
//!
//! [`RuleAdmin`] owns the state and the requests; [`table::RulesTable`] and
//! [`editor::RuleEditor`] draw them; `form` holds the form's data and its conversions.

mod editor;
mod form;
mod table;
#[cfg(test)]
mod tests;

pub use form::{verdict_line, RuleForm, SparseRule};

use editor::RuleEditor;
use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use lookout::model::RuleTestResult;
use lookout::model::{RuleConfig, RuleView};
use table::{RowActions, RulesTable};

#[cfg(feature = "hydrate")]
fn url_part(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

#[component]
pub fn RuleAdmin() -> impl IntoView {
    // Others see the rules read-only: no actions, no form (the server refuses them anyway).
    let is_admin = crate::auth::use_is_admin().get_untracked();
    let rules = RwSignal::new(None::<Vec<RuleView>>);
    let form = RwSignal::new(RuleForm::empty());
    // The name of the rule being edited (None: adding a new one).
    let editing = RwSignal::new(None::<String>);
    let result = RwSignal::new(None::<(bool, String)>);

    #[cfg(feature = "hydrate")]
    let reload = move || {
        leptos::task::spawn_local(async move {
            let answer: Result<lookout::model::AlertsOverview, _> =
                crate::http::get("/api/alerts").await;
            match answer {
                Ok(a) => rules.set(Some(a.rules)),
                Err(e) => result.set(Some((false, format!("cannot list rules: {e}")))),
            }
        });
    };
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| reload());

    let config_of = move |name: &str| -> RuleConfig {
        rules.with_untracked(|rs| {
            rs.iter()
                .flatten()
                .find(|r| r.rule.name == name)
                .map(|r| r.config.clone())
                .unwrap_or_default()
        })
    };

    // `done` names the action in the notice; `from_form` resets the form after it.
    let save = move |f: RuleForm, base: RuleConfig, done: &'static str, from_form: bool| {
        let body = match f.body(&base) {
            Ok(b) => b,
            Err(e) => {
                result.set(Some((false, e)));
                return;
            }
        };
        if f.name.trim().is_empty() {
            result.set(Some((
                false,
                "alert rule \"new rule\", field `name`: every rule needs a non-empty name".into(),
            )));
            return;
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (body, done, from_form);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let name = f.name.trim().to_string();
            let url = format!("/api/alerts/rules/{}", url_part(&name));
            let answer: Result<lookout::model::RuleSaved, _> =
                crate::http::put(&url, &SparseRule(&body)).await;
            match answer {
                Ok(r) => {
                    result.set(Some((true, format!("{done} {name}: {}", r.describe))));
                    if from_form {
                        editing.set(None);
                        form.set(RuleForm::empty());
                    }
                }
                Err(e) => result.set(Some((false, e))),
            }
            reload();
        });
    };

    let on_save = move |()| {
        let f = form.get_untracked();
        let base = editing
            .get_untracked()
            .map(|n| config_of(&n))
            .unwrap_or_default();
        let done = if editing.get_untracked().is_some() {
            "saved"
        } else {
            "added"
        };
        save(f, base, done, true);
    };

    let on_test = move |()| {
        let f = form.get_untracked();
        let base = editing
            .get_untracked()
            .map(|n| config_of(&n))
            .unwrap_or_default();
        let mut body = match f.body(&base) {
            Ok(b) => b,
            Err(e) => {
                result.set(Some((false, e)));
                return;
            }
        };
        if f.name.trim().is_empty() {
            body.name = Some("new rule".into());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let answer: Result<RuleTestResult, _> =
                crate::http::post("/api/alerts/rules/test", &SparseRule(&body)).await;
            result.set(Some(match answer {
                Ok(t) => (true, verdict_line(&t)),
                Err(e) => (false, e),
            }));
        });
    };

    let edit = move |name: String| {
        form.set(RuleForm::from_config(&name, &config_of(&name)));
        editing.set(Some(name));
        result.set(None);
    };
    let cancel = move |()| {
        editing.set(None);
        form.set(RuleForm::empty());
        result.set(None);
    };
    let toggle = move |name: String, enabled: bool| {
        let base = config_of(&name);
        let mut f = RuleForm::from_config(&name, &base);
        f.enabled = enabled;
        save(f, base, if enabled { "enabled" } else { "disabled" }, false);
    };
    let remove = move |name: String| {
        #[cfg(not(feature = "hydrate"))]
        let _ = name;
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("/api/alerts/rules/{}", url_part(&name));
            let answer: Result<lookout::model::NameStatus, _> = crate::http::delete(&url).await;
            result.set(Some(match answer {
                Ok(_) => (true, format!("deleted {name}")),
                Err(e) => (false, e),
            }));
            if editing.get_untracked().as_deref() == Some(name.as_str()) {
                editing.set(None);
                form.set(RuleForm::empty());
            }
            reload();
        });
    };

    let loaded = move || rules.with(Option::is_some);
    let actions = RowActions {
        edit: Callback::new(edit),
        toggle: Callback::new(move |(name, enabled)| toggle(name, enabled)),
        remove: Callback::new(remove),
    };

    view! {
        <div class="rule-admin" id="alert-rules" data-loaded=move || loaded().to_string()>
            <h3>"Rules"</h3>
            <RulesTable rules is_admin actions/>
            <Show when=move || loaded() && rules.with(|r| r.as_ref().is_some_and(Vec::is_empty))>
                <p class="empty" id="rules-none">"No alert rules."</p>
            </Show>
            {is_admin.then(|| view! {
                <RuleEditor form editing
                    on_save=Callback::new(on_save)
                    on_test=Callback::new(on_test)
                    on_cancel=Callback::new(cancel)/>
            })}
            {move || result.get().map(|(ok, msg)| view! {
                <p id="rule-result" class=if ok { "notice" } else { "error" } role="status">{msg}</p>
            })}
        </div>
    }
}
