//! The rules in force, one row each: condition, severity, source, an enabled switch and
//! (for an admin) edit and delete/revert buttons.

use leptos::prelude::*;
use lookout::model::RuleView;

/// What a row's controls do (the admin component owns the requests).
#[derive(Clone, Copy)]
pub struct RowActions {
    pub edit: Callback<String>,
    pub toggle: Callback<(String, bool)>,
    pub remove: Callback<String>,
}

#[component]
pub fn RulesTable(
    rules: RwSignal<Option<Vec<RuleView>>>,
    is_admin: bool,
    actions: RowActions,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="alerts rules" id="rules-table">
                <thead><tr>
                    <th scope="col">"Rule"</th><th scope="col">"Condition"</th>
                    <th scope="col">"Severity"</th><th scope="col">"Source"</th>
                    <th scope="col">"Enabled"</th><th scope="col"></th>
                </tr></thead>
                <tbody>
                    {move || rules.get().unwrap_or_default().into_iter().map(|r| {
                        view! { <RuleRow rule=r is_admin actions/> }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn RuleRow(rule: RuleView, is_admin: bool, actions: RowActions) -> impl IntoView {
    let name = rule.rule.name.clone();
    let source = rule.source.clone();
    let enabled = rule.rule.enabled;
    let sev = rule.rule.severity.as_str();
    let (n1, n2, n3) = (name.clone(), name.clone(), name.clone());
    let source_label = match source.as_str() {
        "file+api" => "file, edited".to_string(),
        s => s.to_string(),
    };
    let delete_label = if source == "file+api" {
        "Revert"
    } else {
        "Delete"
    };
    let deletable = source != "file";
    view! {
        <tr data-rule=name.clone() data-enabled=enabled.to_string()>
            <td class="rule-name">{name.clone()}</td>
            <td class="rule-describe">{rule.describe.clone()}</td>
            <td><span class=format!("badge {sev}")>{sev}</span></td>
            <td class="rule-source">{source_label}</td>
            <td>
                <input type="checkbox" class="rule-enabled"
                    aria-label=format!("{name} enabled")
                    prop:checked=enabled
                    disabled=!is_admin
                    on:change=move |ev| actions.toggle.run((n1.clone(), event_target_checked(&ev)))/>
            </td>
            <td class="rule-actions">{is_admin.then(|| view! {
                <button type="button" class="rule-edit" on:click=move |_| actions.edit.run(n2.clone())>"Edit"</button>
                {deletable.then(|| view! {
                    <button type="button" class="rule-delete" on:click=move |_| actions.remove.run(n3.clone())>{delete_label}</button>
                })}
            })}</td>
        </tr>
    }
}
