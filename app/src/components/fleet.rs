//! The fleet overview and the host picker. The overview is one tile per host the
//! server knows (itself and, on a hub, every agent host) from `GET /api/fleet`,
//! worst first, filtered by name as you type; each tile links to the dashboard of
//! its host (`/?host=NAME`). The picker in the header lists the same hosts and opens
//! the chosen one's dashboard: the URL carries the host, so a link opens the same
//! view, and every panel reads that host's data.

use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use lookout::model::FleetOverview;
use lookout::model::{name_matches, HostTile};

use crate::components::dashboard::{with_host, DashboardState};
use crate::format;

/// The hosts the picker offers, by name (the server's own among them), read before the
/// dashboard renders (`dashboard::read_start`).
#[cfg(feature = "ssr")]
pub async fn host_names() -> Result<Vec<String>, ServerFnError> {
    let store = crate::api::app_state()?.store;
    let hosts = tokio::task::spawn_blocking(move || store.hosts())
        .await
        .map_err(|e| ServerFnError::new(format!("store task failed: {e}")))?
        .map_err(|e| ServerFnError::new(format!("store: {e}")))?;
    Ok(hosts.into_iter().map(|(name, _)| name).collect())
}

/// The dashboard URL of `host` (the server's own: the plain one).
fn dashboard_url(host: &str, own: &str) -> String {
    with_host("/", (host != own).then_some(host))
}

/// The header's host picker: a form, so it works without JavaScript too (a GET of
/// `/?host=NAME`); with it, choosing a host opens it at once.
#[component]
pub fn HostPicker(own: String, current: String, hosts: Vec<String>) -> impl IntoView {
    let mut hosts = hosts;
    if !hosts.contains(&current) && !current.is_empty() {
        hosts.push(current.clone());
    }
    hosts.sort();
    let single = hosts.len() <= 1;
    let options = hosts
        .into_iter()
        .map(|h| {
            let selected = h == current;
            // The server's own host is the plain dashboard (no `host=`).
            let value = if h == own { String::new() } else { h.clone() };
            view! { <option value=value selected=selected>{h}</option> }
        })
        .collect_view();
    #[cfg(feature = "hydrate")]
    let on_change = move |ev: leptos::ev::Event| {
        let name = event_target_value(&ev);
        let url = with_host("/", (!name.is_empty()).then_some(name.as_str()));
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_href(&url);
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let on_change = |_: leptos::ev::Event| {};
    view! {
        <form class="host-picker" method="get" action="/" id="host-form">
            <label class="host" for="host-picker">
                <span class="visually-hidden">"Host"</span>
                <select id="host-picker" name="host" on:change=on_change disabled=single>
                    {options}
                </select>
            </label>
            <noscript><button type="submit">"Open"</button></noscript>
        </form>
    }
}

/// The fleet overview: a tile per host, worst first, with a name filter.
#[component]
pub fn FleetPanel(live: DashboardState) -> impl IntoView {
    let tiles = RwSignal::new(None::<Result<Vec<HostTile>, String>>);
    let filter = RwSignal::new(String::new());
    #[cfg(feature = "hydrate")]
    {
        let load = move || {
            leptos::task::spawn_local(async move {
                let answer = crate::http::get_json::<FleetOverview>("/api/fleet").await;
                let answer = answer.map(|o| o.hosts);
                if tiles.with_untracked(|t| t.as_ref() != Some(&answer)) {
                    tiles.set(Some(answer));
                }
            })
        };
        Effect::new(move |_| load());
        live.poll(std::time::Duration::from_secs(5), load);
    }
    let current = move || live.host.get();
    let shown = move || {
        let f = filter.get();
        tiles.with(|t| match t {
            Some(Ok(list)) => Some(Ok(list
                .iter()
                .filter(|t| name_matches(&t.host, &f))
                .cloned()
                .collect::<Vec<_>>())),
            Some(Err(e)) => Some(Err(e.clone())),
            None => None,
        })
    };
    let count = move || {
        tiles.with(|t| match t {
            Some(Ok(list)) => {
                let f = filter.get();
                let n = list.iter().filter(|t| name_matches(&t.host, &f)).count();
                if n == list.len() {
                    format!("{n} host{}", if n == 1 { "" } else { "s" })
                } else {
                    format!("{n} of {}", list.len())
                }
            }
            _ => String::new(),
        })
    };
    view! {
        <section class="panel fleet" id="fleet" aria-label="Fleet">
            <div class="fleet-head">
                <h2>"Fleet"</h2>
                <span class="fleet-count" id="fleet-count">{count}</span>
                <input
                    type="search"
                    id="fleet-filter"
                    placeholder="Filter hosts by name"
                    aria-label="Filter hosts by name"
                    prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))
                />
            </div>
            {move || match shown() {
                // Not `.note`: that is the page's one "needs JavaScript" notice.
                None => view! {
                    <p class="pending">"Hosts load in the browser (or from "
                        <a href="/api/fleet">"/api/fleet"</a> ")"</p>
                }.into_any(),
                Some(Err(e)) => view! { <p class="error">"Fleet unavailable: " {e}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="empty">"No host matches the filter."</p>
                }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="tiles" id="fleet-tiles">
                        {list.into_iter().map(|t| tile(t, current())).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}

fn tile(t: HostTile, current: Option<String>) -> impl IntoView {
    let status = t.status.as_str();
    // The server's own host is the one a page with no `host=` shows.
    let picked = match &current {
        Some(h) => *h == t.host,
        None => t.this_host,
    };
    let href = if t.this_host {
        "/".to_string()
    } else {
        dashboard_url(&t.host, "")
    };
    let pct = |v: Option<f64>| v.map_or_else(|| format::MISSING.to_string(), format::percent);
    let has_events = t.open_events > 0;
    let events = match t.open_events {
        0 => "no open event".to_string(),
        1 => "1 open event".to_string(),
        n => format!("{n} open events"),
    };
    view! {
        <li class=format!("tile status-{status}{}", if picked { " picked" } else { "" }) data-host=t.host.clone()
            data-status=status id=format!("tile-{}", t.host)>
            <a href=href class="tile-link">
                <span class="tile-host">{t.host.clone()}</span>
                <span class="tile-status">{status}</span>
            </a>
            <dl class="tile-facts">
                <dt>"CPU"</dt><dd class="tile-cpu">{pct(t.cpu_usage)}</dd>
                <dt>"Memory"</dt><dd class="tile-memory">{pct(t.memory_usage)}</dd>
                <dt>"Load"</dt>
                <dd class="tile-load">{t.load_average.map_or_else(|| format::MISSING.to_string(), format::load)}</dd>
                <dt>"Score"</dt><dd class="tile-score">{format::score(t.anomaly_score)}</dd>
            </dl>
            <p class="tile-events" class:alert=has_events>{events}</p>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_host_is_the_plain_dashboard() {
        assert_eq!(dashboard_url("hub", "hub"), "/");
        assert_eq!(dashboard_url("web-2", "hub"), "/?host=web-2");
        assert_eq!(
            with_host("/api/anomalies?from=1", Some("a b")),
            "/api/anomalies?from=1&host=a%20b"
        );
        assert_eq!(with_host("/api/model", None), "/api/model");
    }
}
