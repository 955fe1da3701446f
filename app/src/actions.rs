//! What the dashboard's buttons and forms do once used: save, test or delete a rule, add
//! or end a silence, send a test alert, mark an anomaly expected, train the model, change
//! its sensitivity. Browser only.
//!
//! Their code (the requests, the bodies' serialisers, the answers' deserialisers, the
//! rule form's checks) lives in a wasm chunk of its own (`#[lazy]`, `cargo leptos build
//! --split`), fetched on the first such action, so a visit that only looks at the
//! dashboard never downloads it. The view that offers the action stays in the main
//! module (it is server-rendered and hydrated). Each [`Action`] carries everything its
//! code needs (signals, the caller's values): the chunk's code runs after an await,
//! when no component's context is current, so it reads none.

use leptos::prelude::*;
use lookout::model::{RuleConfig, SilenceRequest};

use crate::components::dashboard::DashboardState;
use crate::components::rules::{RuleForm, RuleState};

/// One user action and what it acts on.
pub enum Action {
    /// An anomaly event's "Mark as expected".
    MarkExpected {
        live: DashboardState,
        id: i64,
        busy: RwSignal<bool>,
        error: RwSignal<Option<String>>,
    },
    /// The model panel's sensitivity choice.
    Sensitivity {
        live: DashboardState,
        value: String,
        error: RwSignal<Option<String>>,
    },
    /// "Train now".
    Train {
        live: DashboardState,
        training: RwSignal<bool>,
        result: RwSignal<Option<Result<String, String>>>,
    },
    /// A channel's "Send test".
    SendTest {
        channel: String,
        notice: RwSignal<Option<String>>,
        reload: Callback<()>,
    },
    /// A silence's "End".
    EndSilence {
        id: i64,
        notice: RwSignal<Option<String>>,
        reload: Callback<()>,
    },
    /// The silence form's "Add silence".
    AddSilence {
        body: SilenceRequest,
        notice: RwSignal<Option<String>>,
        comment: RwSignal<String>,
        reload: Callback<()>,
    },
    /// A rule saved from the form or a row's enabled switch.
    RuleSave {
        state: RuleState,
        form: RuleForm,
        base: RuleConfig,
        done: &'static str,
        from_form: bool,
    },
    /// The rule form's "Test".
    RuleTest {
        state: RuleState,
        form: RuleForm,
        base: RuleConfig,
    },
    /// A rule row's "Delete" / "Revert".
    RuleRemove { state: RuleState, name: String },
}

/// Runs `action` (fetching the actions chunk first, the first time).
pub fn dispatch(action: Action) {
    leptos::task::spawn_local(run(action));
}

#[leptos::lazy]
async fn run(action: Action) {
    use crate::components::{alerts, anomalies};
    match action {
        Action::MarkExpected {
            live,
            id,
            busy,
            error,
        } => anomalies::mark_expected(live, id, busy, error).await,
        Action::Sensitivity { live, value, error } => {
            anomalies::set_sensitivity(live, value, error).await
        }
        Action::Train {
            live,
            training,
            result,
        } => anomalies::train(live, training, result).await,
        Action::SendTest {
            channel,
            notice,
            reload,
        } => alerts::send_test(channel, notice, reload).await,
        Action::EndSilence { id, notice, reload } => alerts::end_silence(id, notice, reload).await,
        Action::AddSilence {
            body,
            notice,
            comment,
            reload,
        } => alerts::add_silence(body, notice, comment, reload).await,
        Action::RuleSave {
            state,
            form,
            base,
            done,
            from_form,
        } => state.save_now(form, base, done, from_form).await,
        Action::RuleTest { state, form, base } => state.test_now(form, base).await,
        Action::RuleRemove { state, name } => state.remove_now(name).await,
    }
}
