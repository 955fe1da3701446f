//! Anomaly detection on the dashboard: the events list (newest first, with explanations
//! and the mark-as-expected action) and the model panel (state, versions, training,
//! sensitivity). Both are filled in the browser from the JSON API; the server renders
//! their frames only.

use leptos::prelude::*;
use lookout::model::{AnomalyEvent, ProcessInfo};

use crate::anomaly::{explain_line, ModelView};
use crate::components::dashboard::DashboardState;
use crate::format::{self, TimeStyle};

fn procs_line(label: &str, procs: &[ProcessInfo], cpu: bool) -> Option<String> {
    if procs.is_empty() {
        return None;
    }
    let list: Vec<String> = procs
        .iter()
        .take(3)
        .map(|p| {
            let v = if cpu {
                format::percent(p.cpu_percent)
            } else {
                format::bytes(p.rss_bytes as f64)
            };
            format!("{} ({}) {v}", p.name, p.pid)
        })
        .collect();
    Some(format!("{label}: {}", list.join(", ")))
}

#[component]
fn EventRow(event: AnomalyEvent, live: DashboardState) -> impl IntoView {
    // Marking is an admin's; others do not see the button (the server refuses anyway).
    let is_admin = crate::auth::use_is_admin().get_untracked();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let id = event.id;
    let span = format!(
        "{} – {}",
        live.clock(event.start, TimeStyle::DayMinutes),
        event.end.map_or_else(
            || "ongoing".to_string(),
            |e| live.clock(e, TimeStyle::Seconds)
        )
    );
    let mark = move |_| {
        busy.set(true);
        #[cfg(feature = "hydrate")]
        crate::actions::dispatch(crate::actions::Action::MarkExpected {
            live,
            id,
            busy,
            error,
        });
    };
    let lines: Vec<String> = event
        .explanation
        .metrics
        .iter()
        .take(3)
        .map(explain_line)
        .collect();
    let procs: Vec<String> = [
        procs_line("top CPU", &event.explanation.top_cpu, true),
        procs_line("top memory", &event.explanation.top_memory, false),
    ]
    .into_iter()
    .flatten()
    .collect();
    view! {
        <li class="event" data-id=id class:expected=event.expected>
            <div class="event-head">
                <span class="event-span">{span}</span>
                <span class="event-peak">"peak " {format::score(Some(event.peak_score))}</span>
                {event.expected.then(|| view! { <span class="badge expected">"expected"</span> })}
                {(!event.expected && is_admin).then(|| view! {
                    <button class="mark-expected" on:click=mark disabled=move || busy.get()>
                        "Mark as expected"
                    </button>
                })}
            </div>
            {event.explanation.rhythm.clone().map(|r| view! { <p class="event-rhythm">{r}</p> })}
            {event.explanation.causes.iter().map(|c| view! { <p class="event-cause">{c.clone()}</p> }).collect_view()}
            <ul class="explain">
                {lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
            </ul>
            {procs.into_iter().map(|l| view! { <p class="event-procs">{l}</p> }).collect_view()}
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </li>
    }
}

#[component]
pub fn Events(live: DashboardState) -> impl IntoView {
    let empty = move || live.events_loaded.get() && live.events.with(Vec::is_empty);
    view! {
        <section class="panel anomalies" id="anomalies" aria-label="Anomalies">
            <h2>"Anomalies"</h2>
            {move || (empty()).then(|| view! { <p class="empty" id="events-empty">"No anomalies in this range."</p> })}
            {move || live.events_error.get().map(|e| view! { <p class="error">"Anomalies unavailable: " {e}</p> })}
            <ol class="events" id="events">
                <For
                    each=move || live.events.get()
                    key=|e| (e.id, e.end, e.expected, e.peak_score.to_bits())
                    children=move |e| view! { <EventRow event=e live/> }
                />
            </ol>
        </section>
    }
}

const SENSITIVITIES: [&str; 3] = ["low", "medium", "high"];

#[component]
pub fn ModelPanel(live: DashboardState) -> impl IntoView {
    // Training and sensitivity act on the server's own detector: not offered while the
    // page shows an agent host.
    let is_admin =
        crate::auth::use_is_admin().get_untracked() && live.host.get_untracked().is_none();
    let model = live.model;
    let get = move |f: fn(&ModelView) -> String| {
        move || model.with(|m| m.as_ref().map(f).unwrap_or_default())
    };
    let state = move || {
        model.with(|m| {
            m.as_ref().map_or_else(
                || "loading…".to_string(),
                |m| m.state_line(|t| live.clock(t, TimeStyle::DayMinutes)),
            )
        })
    };
    let next = move || {
        model
            .with(|m| m.as_ref().and_then(|m| m.next_training_at))
            .map(|t| live.clock(t, TimeStyle::DayMinutes))
            .unwrap_or_else(|| format::MISSING.into())
    };
    let sens_error = RwSignal::new(None::<String>);
    view! {
        <section class="panel model" id="model" aria-label="Anomaly model">
            <h2>"Model"</h2>
            <p class="model-state" id="model-state" data-phase=get(|m| m.phase.clone())>{state}</p>
            <dl class="model-facts">
                <dt>"Members"</dt>
                <dd id="model-members">{move || {
                    let m = get(|m| m.active_members.join(", "))();
                    if m.is_empty() { format::MISSING.to_string() } else { m }
                }}</dd>
                <dt>"Threshold"</dt>
                <dd id="model-threshold">{move || {
                    model
                        .with(|m| m.as_ref().and_then(|m| m.threshold))
                        .map_or_else(|| format::MISSING.to_string(), |t| format!("{t:.3}"))
                }}</dd>
                <dt>"Adapts"</dt>
                <dd id="model-adapt">{move || model.with(|m| m.as_ref().map(|m| {
                    let after = m.adapt_after_secs.map(|s| format!("a steady change is normal after {} min", s / 60)).unwrap_or_default();
                    match m.adaptations {
                        0 => after,
                        n => format!("{after}; {n} learnt since start"),
                    }
                }).unwrap_or_default())}</dd>
                <dt>"Rhythms"</dt>
                <dd id="model-rhythms">{move || {
                    let r = model.with(|m| m.as_ref().map(|m| m.rhythms.clone()).unwrap_or_default());
                    if r.is_empty() { "none seen yet".to_string() } else { r.join("; ") }
                }}</dd>
                <dt>"Next retraining"</dt>
                <dd id="model-next">{next}</dd>
                <SensitivitySelect live is_admin error=sens_error/>
            </dl>
            {is_admin.then(|| view! { <TrainButton live/> })}
            {move || sens_error.get().map(|e| view! { <p class="error">{e}</p> })}
            <ModelVersions live/>
        </section>
    }
}

/// The sensitivity choice (an admin's): low, medium, high, or the configured number.
#[component]
fn SensitivitySelect(
    live: DashboardState,
    is_admin: bool,
    /// Where a refused choice is said (below the panel's train button).
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let model = live.model;
    let on_sensitivity = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        #[cfg(not(feature = "hydrate"))]
        let _ = (value, error);
        #[cfg(feature = "hydrate")]
        crate::actions::dispatch(crate::actions::Action::Sensitivity { live, value, error });
    };
    let sensitivity = move || {
        model.with(|m| {
            m.as_ref()
                .map(|m| m.sensitivity.clone())
                .unwrap_or_default()
        })
    };
    let custom = move || {
        let s = sensitivity();
        (!s.is_empty() && !SENSITIVITIES.contains(&s.as_str())).then_some(s)
    };
    view! {
        <dt><label for="sensitivity">"Sensitivity"</label></dt>
        <dd>
            <select id="sensitivity" on:change=on_sensitivity prop:value=sensitivity disabled=!is_admin>
                {SENSITIVITIES.iter().map(|s| view! {
                    <option value=*s selected=move || sensitivity() == *s>{*s}</option>
                }).collect_view()}
                {move || custom().map(|s| view! { <option value=s.clone() selected=true>{s.clone()}</option> })}
            </select>
        </dd>
    }
}

/// "Train now" and what the last training said.
#[component]
fn TrainButton(live: DashboardState) -> impl IntoView {
    let model = live.model;
    let training = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<String, String>>);
    let train = move |_| {
        training.set(true);
        result.set(None);
        #[cfg(feature = "hydrate")]
        crate::actions::dispatch(crate::actions::Action::Train {
            live,
            training,
            result,
        });
    };
    view! {
        <div class="train">
            <button id="train" on:click=train disabled=move || training.get() || model.with(|m| m.as_ref().is_none_or(|m| !m.enabled || m.training))>
                {move || if training.get() { "Training…" } else { "Train now" }}
            </button>
            <span id="train-result" class:error=move || matches!(result.get(), Some(Err(_)))>
                {move || match result.get() {
                    Some(Ok(s)) | Some(Err(s)) => s,
                    None => model.with(|m| m.as_ref().and_then(|m| m.last_error.clone()).map(|e| format!("last training failed: {e}")).unwrap_or_default()),
                }}
            </span>
        </div>
    }
}

// The actions' requests, run from the actions chunk (`crate::actions`).

/// "Mark as expected": `POST /api/anomalies/{id}/expected`, the answer replaces the event.
#[cfg(feature = "hydrate")]
pub(crate) async fn mark_expected(
    live: DashboardState,
    id: i64,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
) {
    let url = format!("/api/anomalies/{id}/expected");
    let body = lookout::model::ExpectedRequest { expected: true };
    let answer: Result<AnomalyEvent, _> = crate::http::post_json(&url, &body).await;
    busy.set(false);
    match answer {
        Ok(updated) => live.events.update(|evs| {
            if let Some(e) = evs.iter_mut().find(|e| e.id == id) {
                *e = updated;
            }
        }),
        Err(e) => error.set(Some(e)),
    }
}

/// The sensitivity choice, sent for the host the panel shows (a hub's agent host: its
/// own detector).
#[cfg(feature = "hydrate")]
pub(crate) async fn set_sensitivity(
    live: DashboardState,
    value: String,
    error: RwSignal<Option<String>>,
) {
    let body = lookout::model::SensitivityRequest {
        sensitivity: lookout::model::SensitivityValue::Text(value),
    };
    let answer: Result<lookout::model::SensitivityResponse, _> =
        crate::http::post_json(&live.url("/api/model/sensitivity"), &body).await;
    error.set(answer.err());
    crate::components::dashboard::reload_model(live);
}

/// "Train now": `POST /api/model/train`, then what it said.
#[cfg(feature = "hydrate")]
pub(crate) async fn train(
    live: DashboardState,
    training: RwSignal<bool>,
    result: RwSignal<Option<Result<String, String>>>,
) {
    let url = live.url("/api/model/train");
    let answer: Result<lookout::model::ModelVersion, _> =
        crate::http::post_json(&url, &lookout::model::TrainRequest {}).await;
    training.set(false);
    result.set(Some(answer.map(|v| {
        format!(
            "trained v{} on {} samples",
            v.version,
            format::count(v.samples)
        )
    })));
    crate::components::dashboard::reload_model(live);
}

/// The saved model versions, newest first, and the training's warnings.
#[component]
fn ModelVersions(live: DashboardState) -> impl IntoView {
    let model = live.model;
    view! {
        <table class="versions" id="model-versions">
            <caption>"Versions"</caption>
            <thead><tr><th scope="col">"Version"</th><th scope="col">"Trained"</th><th scope="col" class="num">"Samples"</th><th scope="col">"Members"</th></tr></thead>
            <tbody>
                {move || model.with(|m| m.as_ref().map(|m| m.versions.clone()).unwrap_or_default())
                    .into_iter()
                    .map(|(v, at, n, members)| view! {
                        <tr>
                            <td>{format!("v{v}")}</td>
                            <td>{at.map(|t| live.clock(t, TimeStyle::DayMinutes)).unwrap_or_else(|| format::MISSING.into())}</td>
                            <td class="num">{n.map(format::count).unwrap_or_else(|| format::MISSING.into())}</td>
                            <td>{members.join(", ")}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
        {move || model.with(|m| m.as_ref().map(|m| m.warnings.clone()).unwrap_or_default())
            .into_iter().map(|w| view! { <p class="warning">{w}</p> }).collect_view()}
    }
}
