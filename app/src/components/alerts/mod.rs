//! The alerts panel: active alerts, recent alert history with delivery status, a "Send
//! test" button per channel, and silences (list, end, add). Filled in the browser from
//! `/api/alerts`, `/api/alerts/history` and `/api/silences`; the server renders the frame.
//! Rule editing is the separate [`RuleAdmin`] component (admin actions, one place).
//!
//! [`AlertsPanel`] owns the data and the requests; `tables` draws the active alerts,
//! the channels, the history and the silences; `silence_form` the form that adds one.

mod silence_form;
mod tables;

use silence_form::SilenceForm;
use tables::{ActiveAlerts, AlertHistoryTable, Channels, Silences};

use leptos::prelude::*;
use lookout::model::{ActiveAlert, AlertHistoryEntry, Notification, Silence};

use crate::components::dashboard::DashboardState;
use crate::components::rules::RuleAdmin;
use crate::format;

/// What the panel shows, as the API sent it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertsData {
    pub active: Vec<ActiveAlert>,
    pub channels: Vec<String>,
    pub history: Vec<AlertHistoryEntry>,
    pub silences: Vec<Silence>,
}

/// "email: delivered · hook: pending (3 attempts: connection refused)".
pub fn deliveries_line(entry: &AlertHistoryEntry) -> String {
    let parts: Vec<String> = entry
        .deliveries
        .iter()
        .map(|d| {
            let mut s = format!("{}: {}", d.channel, d.status);
            let error = d.last_error.as_deref();
            if d.status != "delivered" && (d.attempts > 0 || error.is_some()) {
                s.push_str(&format!(" ({} attempts", d.attempts));
                if let Some(e) = error {
                    s.push_str(&format!(": {e}"));
                }
                s.push(')');
            }
            s
        })
        .collect();
    if parts.is_empty() {
        format::MISSING.into()
    } else {
        parts.join(" · ")
    }
}

/// The history's kind column: "inhibited (by stale on web1)" says why nothing was sent.
pub fn history_kind(n: &Notification) -> String {
    match &n.inhibited_by {
        Some(by) => format!("{} (by {by})", n.kind.as_str()),
        None => n.kind.as_str().to_string(),
    }
}

#[cfg(feature = "hydrate")]
async fn load(live: DashboardState) -> Result<AlertsData, String> {
    use crate::http::get_json as get;
    use lookout::model::{AlertHistory, AlertsOverview, SilenceList};
    // The page's host's alerts and history (all of them on a single host).
    let alerts: AlertsOverview = get(&live.url("/api/alerts")).await?;
    let history: AlertHistory = get(&live.url("/api/alerts/history?from=-7d&limit=20")).await?;
    let silences: SilenceList = get("/api/silences").await?;
    let now = crate::browser::now_ms();
    Ok(AlertsData {
        active: alerts.active,
        channels: alerts.channels,
        history: history.entries,
        silences: silences
            .silences
            .into_iter()
            .filter(|s| s.ends_at > now)
            .collect(),
    })
}

#[component]
pub fn AlertsPanel(live: DashboardState) -> impl IntoView {
    // Admin-only controls are not rendered for others (the server refuses them anyway).
    let is_admin = crate::auth::use_is_admin().get_untracked();
    let data = RwSignal::new(None::<AlertsData>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    #[cfg(feature = "hydrate")]
    let reload = move || {
        leptos::task::spawn_local(async move {
            match load(live).await {
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
    let reload = {
        Effect::new(move |_| reload());
        live.poll(std::time::Duration::from_secs(10), reload);
        Callback::new(move |()| reload())
    };
    let send_test = move |channel: String| {
        notice.set(Some(format!("sending a test to {channel}…")));
        #[cfg(feature = "hydrate")]
        crate::actions::dispatch(crate::actions::Action::SendTest {
            channel,
            notice,
            reload,
        });
    };
    let end_silence = move |id: i64| {
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
        #[cfg(feature = "hydrate")]
        crate::actions::dispatch(crate::actions::Action::EndSilence { id, notice, reload });
    };
    let rule = RwSignal::new(String::new());
    let duration = RwSignal::new("2h".to_string());
    let comment = RwSignal::new(String::new());
    let add_silence = move |()| {
        let r = rule.get_untracked().trim().to_string();
        let body = lookout::model::SilenceRequest {
            rule: (!r.is_empty()).then_some(r),
            duration: Some(duration.get_untracked().trim().to_string()),
            comment: comment.get_untracked().trim().to_string(),
            ..Default::default()
        };
        #[cfg(not(feature = "hydrate"))]
        let _ = body;
        #[cfg(feature = "hydrate")]
        crate::actions::dispatch(crate::actions::Action::AddSilence {
            body,
            notice,
            comment,
            reload,
        });
    };
    let loaded = move || data.with(Option::is_some);
    view! {
        <section class="panel alerts" id="alerts" aria-label="Alerts" data-loaded=move || loaded().to_string()>
            <h2>"Alerts"</h2>
            {move || error.get().map(|e| view! { <p class="error">"Alerts unavailable: " {e}</p> })}
            {move || notice.get().map(|n| view! { <p class="notice" id="alerts-notice">{n}</p> })}
            <ActiveAlerts data live/>
            <Channels data is_admin send_test=Callback::new(send_test)/>
            <AlertHistoryTable data live/>
            <Silences data live is_admin end_silence=Callback::new(end_silence)/>
            {is_admin.then(|| view! {
                <SilenceForm rule duration comment on_add=Callback::new(add_silence)/>
            })}
            <RuleAdmin live/>
        </section>
    }
}

// The actions' requests, run from the actions chunk (`crate::actions`); each reloads
// the panel after.

/// A channel's "Send test": `POST /api/alerts/test`.
#[cfg(feature = "hydrate")]
pub(crate) async fn send_test(
    channel: String,
    notice: RwSignal<Option<String>>,
    reload: Callback<()>,
) {
    let body = lookout::model::TestChannelRequest {
        channel: channel.clone(),
    };
    let answer: Result<lookout::model::Status, _> =
        crate::http::post_json("/api/alerts/test", &body).await;
    notice.set(Some(match answer {
        Ok(_) => format!("test queued for {channel}"),
        Err(e) => format!("test to {channel} failed: {e}"),
    }));
    reload.run(());
}

/// A silence's "End": `DELETE /api/silences/{id}`.
#[cfg(feature = "hydrate")]
pub(crate) async fn end_silence(id: i64, notice: RwSignal<Option<String>>, reload: Callback<()>) {
    let url = format!("/api/silences/{id}");
    let answer: Result<lookout::model::SilenceExpired, _> = crate::http::delete_json(&url).await;
    if let Err(e) = answer {
        notice.set(Some(format!("cannot end the silence: {e}")));
    }
    reload.run(());
}

/// "Add silence": `POST /api/silences`; the comment is cleared once it is added.
#[cfg(feature = "hydrate")]
pub(crate) async fn add_silence(
    body: lookout::model::SilenceRequest,
    notice: RwSignal<Option<String>>,
    comment: RwSignal<String>,
    reload: Callback<()>,
) {
    let answer: Result<Silence, _> = crate::http::post_json("/api/silences", &body).await;
    match answer {
        Ok(_) => {
            notice.set(Some("silence added".into()));
            comment.set(String::new());
        }
        Err(e) => notice.set(Some(format!("cannot add the silence: {e}"))),
    }
    reload.run(());
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout::model::{ApiBody, DeliveryStatus, NotificationKind};

    fn delivery(channel: &str, status: &str, attempts: u32, error: Option<&str>) -> DeliveryStatus {
        DeliveryStatus {
            channel: channel.into(),
            status: status.into(),
            attempts,
            next_attempt_at: None,
            last_error: error.map(String::from),
            delivered_at: None,
        }
    }

    #[test]
    fn delivery_status_reads() {
        let mut e = lookout::model::AlertHistory::example().entries.remove(0);
        e.deliveries = vec![
            delivery("mail", "delivered", 1, None),
            delivery("hook", "pending", 3, Some("refused")),
        ];
        assert_eq!(
            deliveries_line(&e),
            "mail: delivered · hook: pending (3 attempts: refused)"
        );
        e.deliveries.clear();
        assert_eq!(deliveries_line(&e), format::MISSING);
    }

    #[test]
    fn inhibited_history_says_by_what() {
        let mut n = lookout::model::AlertHistory::example()
            .entries
            .remove(0)
            .notification;
        n.kind = NotificationKind::Inhibited;
        n.inhibited_by = Some("stalled on web1".into());
        assert_eq!(history_kind(&n), "inhibited (by stalled on web1)");
        n.kind = NotificationKind::Firing;
        n.inhibited_by = None;
        assert_eq!(history_kind(&n), "firing");
    }
}
