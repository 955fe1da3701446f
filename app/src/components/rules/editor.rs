//! The form that adds or edits one rule: the fields a rule's kind uses, Test, Save and
//! Cancel.

use super::form::RuleForm;
use leptos::prelude::*;

#[component]
pub fn RuleEditor(
    form: RwSignal<RuleForm>,
    /// The rule being edited; None while adding one.
    editing: RwSignal<Option<String>>,
    on_save: Callback<()>,
    on_test: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let field = move |f: fn(&mut RuleForm) -> &mut String| {
        (
            move || {
                let mut v = form.get();
                f(&mut v).clone()
            },
            move |ev: leptos::ev::Event| {
                let value = event_target_value(&ev);
                form.update(|v| *f(v) = value);
            },
        )
    };
    let (name_v, name_in) = field(|f| &mut f.name);
    let (kind_v, kind_in) = field(|f| &mut f.kind);
    let (sev_v, sev_in) = field(|f| &mut f.severity);
    let (cond_v, cond_in) = field(|f| &mut f.condition);
    let (res_v, res_in) = field(|f| &mut f.resolve);
    let (min_v, min_in) = field(|f| &mut f.min_score);
    let (for_v, for_in) = field(|f| &mut f.for_);
    let (int_v, int_in) = field(|f| &mut f.intervals);
    let kind_is = move |k: &'static str| move || form.with(|f| f.kind != k);
    // The condition is a threshold's or a forecast's (`disk_free_percent < 5 within 24h`).
    let has_condition = move || form.with(|f| f.kind != "threshold" && f.kind != "forecast");
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_save.run(());
    };

    view! {
        <form class="rule-form" id="rule-form" on:submit=on_submit>
            <fieldset>
                <legend>{move || match editing.get() {
                    Some(n) => format!("Edit rule {n}"),
                    None => "Add a rule".to_string(),
                }}</legend>
                <label>"Name "
                    <input name="name" prop:value=name_v on:input=name_in
                        readonly=move || editing.with(Option::is_some) size="14" autocomplete="off"/>
                </label>
                <label>"Kind "
                    <select name="kind" prop:value=kind_v on:change=kind_in>
                        <option value="threshold">"threshold"</option>
                        <option value="forecast">"forecast"</option>
                        <option value="anomaly">"anomaly"</option>
                        <option value="stale">"stale"</option>
                    </select>
                </label>
                <label>"Severity "
                    <select name="severity" prop:value=sev_v on:change=sev_in>
                        <option value="info">"info"</option>
                        <option value="warning">"warning"</option>
                        <option value="critical">"critical"</option>
                    </select>
                </label>
                <label class="wide" hidden=has_condition>"Condition "
                    <input name="condition" prop:value=cond_v on:input=cond_in
                        placeholder="cpu_usage > 90 for 5m" autocomplete="off"/>
                </label>
                <label hidden=kind_is("threshold")>"Resolve at "
                    <input name="resolve" prop:value=res_v on:input=res_in size="6" placeholder="optional"/>
                </label>
                <label hidden=kind_is("anomaly")>"Min score "
                    <input name="min_score" prop:value=min_v on:input=min_in size="6" placeholder="detector's"/>
                </label>
                <label hidden=kind_is("anomaly")>"For "
                    <input name="for" prop:value=for_v on:input=for_in size="5" placeholder="1m"/>
                </label>
                <label hidden=kind_is("stale")>"Intervals "
                    <input name="intervals" prop:value=int_v on:input=int_in size="4" placeholder="3"/>
                </label>
                <label>
                    <input type="checkbox" name="enabled"
                        prop:checked=move || form.with(|f| f.enabled)
                        on:change=move |ev| form.update(|f| f.enabled = event_target_checked(&ev))/>
                    " enabled"
                </label>
                <div class="rule-buttons">
                    <button type="button" id="rule-test" on:click=move |_| on_test.run(())>"Test"</button>
                    <button type="submit" id="rule-save">{move || if editing.with(Option::is_some) { "Save" } else { "Add rule" }}</button>
                    {move || (editing.with(Option::is_some)).then(|| view! { <button type="button" id="rule-cancel" on:click=move |_| on_cancel.run(())>"Cancel"</button> })}
                </div>
            </fieldset>
        </form>
    }
}
