//! The alerts panel: active alerts, recent alert history with delivery status, a "Send
//! test" button per channel, and silences (list, end, add). Filled in the browser from
//! `/api/alerts`, `/api/alerts/history` and `/api/silences`; the server renders the frame.
//! Rule editing is the separate [`RuleAdmin`] component (admin actions, one place).

use leptos::prelude::*;
use serde_json::Value;

use crate::components::dashboard::Live;
use crate::components::rules::RuleAdmin;
use crate::format::{self, TimeStyle};

/// What the panel shows, as the API sent it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertsData {
    pub active: Vec<Value>,
    pub channels: Vec<String>,
    pub history: Vec<Value>,
    pub silences: Vec<Value>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// "email: delivered · hook: pending (3 attempts: connection refused)".
pub fn deliveries_line(entry: &Value) -> String {
    let parts: Vec<String> = entry["deliveries"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| {
                    let mut s = format!("{}: {}", text(&d["channel"]), text(&d["status"]));
                    let attempts = d["attempts"].as_u64().unwrap_or(0);
                    let error = d["last_error"].as_str();
                    if text(&d["status"]) != "delivered" && (attempts > 0 || error.is_some()) {
                        s.push_str(&format!(" ({attempts} attempts"));
                        if let Some(e) = error {
                            s.push_str(&format!(": {e}"));
                        }
                        s.push(')');
                    }
                    s
                })
                .collect()
        })
        .unwrap_or_default();
    if parts.is_empty() {
        format::MISSING.into()
    } else {
        parts.join(" · ")
    }
}

/// The history's kind column: "inhibited (by stale on web1)" says why nothing was sent.
pub fn history_kind(n: &Value) -> String {
    match n["inhibited_by"].as_str() {
        Some(by) => format!("{} (by {by})", text(&n["kind"])),
        None => text(&n["kind"]),
    }
}

#[cfg(feature = "hydrate")]
async fn load() -> Result<AlertsData, String> {
    use crate::http::get;
    let alerts = get("/api/alerts").await?;
    let history = get("/api/alerts/history?from=-7d&limit=20").await?;
    let silences = get("/api/silences").await?;
    let now = crate::live::now_ms();
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    Ok(AlertsData {
        active: list(&alerts["active"]),
        channels: list(&alerts["channels"]).iter().map(text).collect(),
        history: list(&history["entries"]),
        silences: list(&silences["silences"])
            .into_iter()
            .filter(|s| s["ends_at"].as_i64().is_some_and(|e| e > now))
            .collect(),
    })
}

#[component]
pub fn AlertsPanel(live: Live) -> impl IntoView {
    // Admin-only controls are not rendered for others (the server refuses them anyway).
    let is_admin = crate::auth::use_is_admin().get_untracked();
    let data = RwSignal::new(None::<AlertsData>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    let reload = move || {
        leptos::task::spawn_local(async move {
            match load().await {
                Ok(d) => {
                    error.set(None);
                    if data.with_untracked(|old| old.as_ref() != Some(&d)) {
                        data.set(Some(d));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| reload());
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !live.refresh.get_untracked().is_paused() {
                    reload();
                }
            },
            std::time::Duration::from_secs(10),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    let clock = move |v: &Value| {
        v.as_i64()
            .map(|t| live.clock(t, TimeStyle::DayMinutes))
            .unwrap_or_else(|| format::MISSING.into())
    };
    let send_test = move |channel: String| {
        notice.set(Some(format!("sending a test to {channel}…")));
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({ "channel": channel });
            notice.set(Some(
                match crate::http::post("/api/alerts/test", &body).await {
                    Ok(_) => format!("test queued for {channel}"),
                    Err(e) => format!("test to {channel} failed: {e}"),
                },
            ));
            reload();
        });
    };
    let end_silence = move |id: i64| {
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let url = format!("/api/silences/{id}");
            if let Err(e) = crate::http::request("DELETE", &url, None).await {
                notice.set(Some(format!("cannot end the silence: {e}")));
            }
            reload();
        });
    };
    let rule = RwSignal::new(String::new());
    let duration = RwSignal::new("2h".to_string());
    let comment = RwSignal::new(String::new());
    let add_silence = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut body = serde_json::json!({
            "duration": duration.get_untracked().trim(),
            "comment": comment.get_untracked().trim(),
        });
        let r = rule.get_untracked().trim().to_string();
        if !r.is_empty() {
            body["rule"] = Value::String(r);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            match crate::http::post("/api/silences", &body).await {
                Ok(_) => {
                    notice.set(Some("silence added".into()));
                    comment.set(String::new());
                }
                Err(e) => notice.set(Some(format!("cannot add the silence: {e}"))),
            }
            reload();
        });
    };
    let with = move |f: fn(&AlertsData) -> Vec<Value>| {
        data.with(|d| d.as_ref().map(f).unwrap_or_default())
    };
    let loaded = move || data.with(Option::is_some);
    view! {
        <section class="panel alerts" id="alerts" aria-label="Alerts" data-loaded=move || loaded().to_string()>
            <h2>"Alerts"</h2>
            {move || error.get().map(|e| view! { <p class="error">"Alerts unavailable: " {e}</p> })}
            {move || notice.get().map(|n| view! { <p class="notice" id="alerts-notice">{n}</p> })}
            <div class="table-wrap">
                <table class="alerts" id="alerts-active">
                    <caption>"Active"</caption>
                    <thead><tr><th scope="col">"Rule"</th><th scope="col">"Host"</th><th scope="col">"Severity"</th><th scope="col">"State"</th><th scope="col">"Since"</th></tr></thead>
                    <tbody>
                        {move || with(|d| d.active.clone()).into_iter().map(|a| {
                            let sev = text(&a["severity"]);
                            let state = text(&a["state"]);
                            let silenced = a["silenced"].as_bool().unwrap_or(false);
                            let inhibited = a["inhibited_by"].as_str().map(|by| format!(" (inhibited by {by})"));
                            view! {
                                <tr>
                                    <td>{text(&a["rule"])}</td>
                                    <td>{text(&a["host"])}</td>
                                    <td><span class=format!("badge {sev}")>{sev.clone()}</span></td>
                                    <td><span class=format!("badge {state}")>{state.clone()}</span>{silenced.then_some(" (silenced)")}{inhibited}</td>
                                    <td>{clock(&a["since"])}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <Show when=move || loaded() && with(|d| d.active.clone()).is_empty()>
                <p class="empty" id="alerts-none">"No active alerts."</p>
            </Show>

            <h3>"Channels"</h3>
            <ul class="channels" id="alert-channels">
                {move || data.with(|d| d.as_ref().map(|d| d.channels.clone()).unwrap_or_default()).into_iter().map(|c| {
                    let name = c.clone();
                    view! {
                        <li>
                            <span>{c.clone()}</span>
                            " "
                            {is_admin.then(|| view! {
                                <button class="send-test" on:click=move |_| send_test(name.clone())>"Send test"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <Show when=move || loaded() && data.with(|d| d.as_ref().is_some_and(|d| d.channels.is_empty()))>
                <p class="empty">"No notification channels configured."</p>
            </Show>

            <div class="table-wrap">
                <table class="alerts" id="alerts-history">
                    <caption>"Recent notifications (7 days)"</caption>
                    <thead><tr><th scope="col">"When"</th><th scope="col">"Kind"</th><th scope="col">"Rule"</th><th scope="col">"Severity"</th><th scope="col">"Delivery"</th></tr></thead>
                    <tbody>
                        {move || with(|d| d.history.clone()).into_iter().map(|e| {
                            let n = &e["notification"];
                            view! {
                                <tr>
                                    <td>{clock(&e["created_at"])}</td>
                                    <td>{history_kind(n)}</td>
                                    <td>{text(&n["rule"])}</td>
                                    <td>{text(&n["severity"])}</td>
                                    <td class="delivery">{deliveries_line(&e)}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <Show when=move || loaded() && with(|d| d.history.clone()).is_empty()>
                <p class="empty" id="alerts-history-none">"No notifications in the last 7 days."</p>
            </Show>

            <div class="table-wrap">
                <table class="alerts" id="silences">
                    <caption>"Silences"</caption>
                    <thead><tr><th scope="col">"Rule"</th><th scope="col">"Host"</th><th scope="col">"Until"</th><th scope="col">"Comment"</th><th scope="col"></th></tr></thead>
                    <tbody>
                        {move || with(|d| d.silences.clone()).into_iter().map(|s| {
                            let id = s["id"].as_i64().unwrap_or(0);
                            let any = |v: &Value| { let t = text(v); if t.is_empty() { "any".to_string() } else { t } };
                            view! {
                                <tr data-id=id>
                                    <td>{any(&s["rule"])}</td>
                                    <td>{any(&s["host"])}</td>
                                    <td>{clock(&s["ends_at"])}</td>
                                    <td>{text(&s["comment"])}</td>
                                    <td>{is_admin.then(|| view! {
                                        <button class="end-silence" on:click=move |_| end_silence(id)>"End"</button>
                                    })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {is_admin.then(|| view! {
                <form class="silence-form" id="silence-form" on:submit=add_silence>
                    <label>"Rule " <input name="rule" placeholder="any" bind:value=rule size="12"/></label>
                    <label>"For " <input name="duration" bind:value=duration size="5" required=true/></label>
                    <label>"Comment " <input name="comment" bind:value=comment size="16"/></label>
                    <button type="submit">"Add silence"</button>
                </form>
            })}
            <RuleAdmin/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn delivery_status_reads() {
        let e = json!({"deliveries": [
            {"channel": "mail", "status": "delivered", "attempts": 1, "last_error": null},
            {"channel": "hook", "status": "pending", "attempts": 3, "last_error": "refused"},
        ]});
        assert_eq!(
            deliveries_line(&e),
            "mail: delivered · hook: pending (3 attempts: refused)"
        );
        assert_eq!(deliveries_line(&json!({})), format::MISSING);
    }

    #[test]
    fn inhibited_history_says_by_what() {
        let n = json!({"kind": "inhibited", "inhibited_by": "stalled on web1"});
        assert_eq!(history_kind(&n), "inhibited (by stalled on web1)");
        assert_eq!(history_kind(&json!({"kind": "firing"})), "firing");
    }
}
