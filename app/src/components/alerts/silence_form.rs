//! The form that adds a silence: a rule (or any), how long, a comment.

use leptos::prelude::*;

use crate::components::typed;

#[component]
pub fn SilenceForm(
    rule: RwSignal<String>,
    duration: RwSignal<String>,
    comment: RwSignal<String>,
    on_add: Callback<()>,
) -> impl IntoView {
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_add.run(());
    };
    // `prop:value` and `on:input` rather than `bind:value`: the same two-way binding
    // (the value property follows the signal, the input event writes it, nothing in the
    // server's markup) without `bind:value`'s generic code in the main module.
    view! {
        <form class="silence-form" id="silence-form" on:submit=submit>
            <label>"Rule " <input name="rule" placeholder="any" prop:value=rule on:input=typed(rule) size="12"/></label>
            <label>"For " <input name="duration" prop:value=duration on:input=typed(duration) size="5" required=true/></label>
            <label>"Comment " <input name="comment" prop:value=comment on:input=typed(comment) size="16"/></label>
            <button type="submit">"Add silence"</button>
        </form>
    }
}
