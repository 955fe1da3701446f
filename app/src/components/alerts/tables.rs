//! The alerts panel's lists: active alerts, channels (with "Send test"), the recent
//! notifications with their delivery, and the silences (with "End").

use leptos::prelude::*;

use super::{deliveries_line, history_kind, AlertsData};
use crate::components::dashboard::DashboardState;
use crate::format::TimeStyle;

type Data = RwSignal<Option<AlertsData>>;

fn loaded(data: Data) -> bool {
    data.with(Option::is_some)
}

fn count(data: Data, f: fn(&AlertsData) -> usize) -> usize {
    data.with(|d| d.as_ref().map_or(0, f))
}

#[component]
pub fn ActiveAlerts(data: Data, live: DashboardState) -> impl IntoView {
    let clock = move |t: i64| live.clock(t, TimeStyle::DayMinutes);
    let active = move || data.with(|d| d.as_ref().map(|d| d.active.clone()).unwrap_or_default());
    view! {
        <div class="table-wrap">
            <table class="alerts" id="alerts-active">
                <caption>"Active"</caption>
                <thead><tr><th scope="col">"Rule"</th><th scope="col">"Host"</th><th scope="col">"Severity"</th><th scope="col">"State"</th><th scope="col">"Since"</th></tr></thead>
                <tbody>
                    {move || active().into_iter().map(|a| {
                        let sev = a.severity.as_str();
                        let state = a.state.clone();
                        let silenced = a.silenced;
                        let inhibited = a.inhibited_by.as_ref().map(|by| format!(" (inhibited by {by})"));
                        view! {
                            <tr>
                                <td>{a.rule.clone()}</td>
                                <td>{a.host.clone()}</td>
                                <td><span class=format!("badge {sev}")>{sev}</span></td>
                                <td><span class=format!("badge {state}")>{state.clone()}</span>{silenced.then_some(" (silenced)")}{inhibited}</td>
                                <td>{clock(a.since)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {move || (loaded(data) && count(data, |d| d.active.len()) == 0).then(|| view! { <p class="empty" id="alerts-none">"No active alerts."</p> })}
    }
}

#[component]
pub fn Channels(data: Data, is_admin: bool, send_test: Callback<String>) -> impl IntoView {
    view! {
        <h3>"Channels"</h3>
        <ul class="channels" id="alert-channels">
            {move || data.with(|d| d.as_ref().map(|d| d.channels.clone()).unwrap_or_default()).into_iter().map(|c| {
                let name = c.clone();
                view! {
                    <li>
                        <span>{c.clone()}</span>
                        " "
                        {is_admin.then(|| view! {
                            <button class="send-test" on:click=move |_| send_test.run(name.clone())>"Send test"</button>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
        {move || (loaded(data) && data.with(|d| d.as_ref().is_some_and(|d| d.channels.is_empty()))).then(|| view! { <p class="empty">"No notification channels configured."</p> })}
    }
}

#[component]
pub fn AlertHistoryTable(data: Data, live: DashboardState) -> impl IntoView {
    let clock = move |t: i64| live.clock(t, TimeStyle::DayMinutes);
    let history = move || data.with(|d| d.as_ref().map(|d| d.history.clone()).unwrap_or_default());
    view! {
        <div class="table-wrap">
            <table class="alerts" id="alerts-history">
                <caption>"Recent notifications (7 days)"</caption>
                <thead><tr><th scope="col">"When"</th><th scope="col">"Kind"</th><th scope="col">"Rule"</th><th scope="col">"Severity"</th><th scope="col">"Delivery"</th></tr></thead>
                <tbody>
                    {move || history().into_iter().map(|e| {
                        let n = &e.notification;
                        view! {
                            <tr>
                                <td>{clock(e.created_at)}</td>
                                <td>{history_kind(n)}</td>
                                <td>{n.rule.clone()}</td>
                                <td>{n.severity.as_str()}</td>
                                <td class="delivery">{deliveries_line(&e)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {move || (loaded(data) && count(data, |d| d.history.len()) == 0).then(|| view! { <p class="empty" id="alerts-history-none">"No notifications in the last 7 days."</p> })}
    }
}

#[component]
pub fn Silences(
    data: Data,
    live: DashboardState,
    is_admin: bool,
    end_silence: Callback<i64>,
) -> impl IntoView {
    let clock = move |t: i64| live.clock(t, TimeStyle::DayMinutes);
    let silences =
        move || data.with(|d| d.as_ref().map(|d| d.silences.clone()).unwrap_or_default());
    view! {
        <div class="table-wrap">
            <table class="alerts" id="silences">
                <caption>"Silences"</caption>
                <thead><tr><th scope="col">"Rule"</th><th scope="col">"Host"</th><th scope="col">"Until"</th><th scope="col">"Comment"</th><th scope="col"></th></tr></thead>
                <tbody>
                    {move || silences().into_iter().map(|s| {
                        let id = s.id;
                        let any = |v: &Option<String>| v.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| "any".to_string());
                        view! {
                            <tr data-id=id>
                                <td>{any(&s.rule)}</td>
                                <td>{any(&s.host)}</td>
                                <td>{clock(s.ends_at)}</td>
                                <td>{s.comment.clone()}</td>
                                <td>{is_admin.then(|| view! {
                                    <button class="end-silence" on:click=move |_| end_silence.run(id)>"End"</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
