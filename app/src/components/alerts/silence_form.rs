//! The form that adds a silence: a rule (or any), how long, a comment.

use leptos::prelude::*;

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
    view! {
        <form class="silence-form" id="silence-form" on:submit=submit>
            <label>"Rule " <input name="rule" placeholder="any" bind:value=rule size="12"/></label>
            <label>"For " <input name="duration" bind:value=duration size="5" required=true/></label>
            <label>"Comment " <input name="comment" bind:value=comment size="16"/></label>
            <button type="submit">"Add silence"</button>
        </form>
    }
}
