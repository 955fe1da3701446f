//! The audit log panel: who did what, newest first.

use leptos::prelude::*;
use lookout::model::AuditEntry;

use super::when;

#[component]
pub fn AuditPanel(audit: RwSignal<Vec<AuditEntry>>) -> impl IntoView {
    view! {
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
    }
}
