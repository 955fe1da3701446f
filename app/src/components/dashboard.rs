//! The dashboard page: server-rendered from the latest snapshot (so it reads without
//! JavaScript), then hydrated; in the browser it follows the server's live samples and
//! loads chart history for the chosen range.

use leptos::prelude::*;
use lookout::model::{AnomalyEvent, Snapshot};

use crate::anomaly::ModelView;
use crate::components::alerts::AlertsPanel;
use crate::components::anomalies::{Events, ModelPanel};
use crate::components::fleet::{FleetPanel, HostPicker};
use crate::components::forecasts::ForecastCards;
use crate::components::logs::LogsPanel;
use crate::components::scope::{ScopeBadge, ScopeCards};

use crate::auth::{provide_me, Me};
use crate::components::login::UserMenu;
use crate::components::{cards::Cards, charts::Charts, controls::Controls, processes::Processes};
use crate::controls::{Range, Refresh};
use crate::format::{time_label, TimeStyle};
use crate::state::UiSettings;
use crate::timeline::Timeline;

/// State of the live link, shown as a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Server-rendered: no script runs yet (or ever, with JavaScript off).
    Static,
    Connecting,
    Open,
    Reconnecting,
    Paused,
}

/// What the charts show: the timeline and the range it was loaded for (the labels'
/// format follows the loaded range, not the one just picked and still loading).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartData {
    pub range: Option<Range>,
    pub timeline: Timeline,
}

/// The dashboard's shared signals. All `Copy`, handed to each component.
#[derive(Debug, Clone, Copy)]
pub struct DashboardState {
    pub latest: RwSignal<Option<Snapshot>>,
    pub refresh: RwSignal<Refresh>,
    pub range: RwSignal<Range>,
    pub charts: RwSignal<ChartData>,
    pub link: RwSignal<Link>,
    /// The browser's offset east of UTC in minutes; None while server-rendered, when
    /// times are shown in UTC.
    pub tz_offset: RwSignal<Option<i32>>,
    pub history_error: RwSignal<Option<String>>,
    /// Anomaly events of the chosen range, newest first (from `/api/anomalies`).
    pub events: RwSignal<Vec<AnomalyEvent>>,
    pub events_loaded: RwSignal<bool>,
    pub events_error: RwSignal<Option<String>>,
    /// The detector's state (from `/api/model`); None until loaded.
    pub model: RwSignal<Option<ModelView>>,
    /// Forecasts (from `/api/forecast`, see `forecasts`): the cards and the charts'
    /// dashed lines. None until loaded.
    pub forecasts: RwSignal<Option<Result<Vec<lookout::model::Forecast>, String>>>,
    /// The agent host the page shows (`?host=NAME` on a hub); None for the server's
    /// own host. Fixed for the page's life: the picker opens a new URL.
    pub host: RwSignal<Option<String>>,
}

impl DashboardState {
    /// Calls `reload` every `every` while the page's refresh is not paused, until the
    /// calling component is removed. For panels fetched by polling rather than fed by
    /// the live stream (alerts, logs): pausing the dashboard holds them too.
    #[cfg(feature = "hydrate")]
    pub fn poll(&self, every: std::time::Duration, reload: impl Fn() + 'static) {
        let refresh = self.refresh;
        let tick = move || {
            if !refresh.get_untracked().is_paused() {
                reload();
            }
        };
        if let Ok(handle) = set_interval_with_handle(tick, every) {
            on_cleanup(move || handle.clear());
        }
    }

    /// `path` for the page's host: `host=NAME` added when it shows an agent host.
    pub fn url(&self, path: &str) -> String {
        with_host(path, self.host.get_untracked().as_deref())
    }

    /// A wall-clock label for `t_ms` in the viewer's zone (UTC on the server).
    pub fn clock(&self, t_ms: i64, style: TimeStyle) -> String {
        match self.tz_offset.get() {
            Some(off) => time_label(t_ms, off, style),
            None => format!("{} UTC", time_label(t_ms, 0, style)),
        }
    }
}

/// `path` with `host=NAME` added (None: unchanged).
pub fn with_host(path: &str, host: Option<&str>) -> String {
    match host {
        None => path.to_string(),
        Some(h) => {
            let sep = if path.contains('?') { '&' } else { '?' };
            format!("{path}{sep}host={}", crate::format::url_part(h))
        }
    }
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let host = asked_host(&crate::page::Query::current());
    let start = PageStart::current();
    let carrier = start_carrier(&start);
    let PageStart {
        snapshot: initial,
        settings,
        me,
        hosts,
    } = start;
    view! {
        {carrier}
        <DashboardBody initial settings me host hosts/>
    }
}

/// The element that carries the page's starting data, for the browser to read before
/// it hydrates. Not run as a script; the nonce keeps every inline script of the page
/// under the CSP's.
#[cfg(feature = "ssr")]
fn start_carrier(start: &PageStart) -> impl IntoView {
    let json = start.page_json();
    view! { <script type="application/json" id=START_ID nonce=use_nonce() inner_html=json></script> }
}

/// In the browser the same element, hydrated without its content or nonce: hydration
/// takes the element as the server wrote it, and the wasm need not carry either.
#[cfg(not(feature = "ssr"))]
fn start_carrier(_start: &PageStart) -> impl IntoView {
    view! { <script type="application/json" id=START_ID></script> }
}

/// What the dashboard starts from: the latest snapshot, the settings, the caller and
/// the hosts. The server reads it before it renders the page (`read_start`), so the
/// values are in the HTML (it must read with JavaScript off), and writes it into the
/// page as JSON, which the browser reads before it hydrates. Not a resource: the
/// resource and `Suspense` machinery they would link into the main wasm module is
/// about 23 KB of it (gzip; docs/wasm-size.md, session 15). A read that fails is shown
/// as missing (no snapshot yet, default settings, nobody signed in, no other hosts).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PageStart {
    snapshot: Option<Snapshot>,
    settings: UiSettings,
    me: Me,
    hosts: Vec<String>,
}

crate::json::wire_struct! {
    PageStart { snapshot, settings, me, hosts }
}

/// The id of the `<script type="application/json">` that carries [`PageStart`].
const START_ID: &str = "page-start";

impl PageStart {
    /// The JSON the page carries: `<` escaped (`\u003c`, the same string to a JSON
    /// reader), so no text in the data (a process name) can close the script element.
    #[cfg(any(feature = "ssr", test))]
    fn page_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_default()
            .replace('<', "\\u003c")
    }

    /// This page's start. On the server: what `read_start` left on the request
    /// (nothing read: the defaults). In the browser: the JSON the server wrote, read
    /// back.
    fn current() -> PageStart {
        #[cfg(feature = "ssr")]
        {
            use_context::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<PageStart>().cloned())
                .unwrap_or_default()
        }
        #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
        {
            document()
                .get_element_by_id(START_ID)
                .and_then(|e| e.text_content())
                .and_then(|json| crate::json::decode(&json).ok())
                .unwrap_or_default()
        }
        #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
        {
            PageStart::default()
        }
    }
}

/// Reads what the dashboard at `parts` starts from, before the page renders: the
/// server (`pages::dashboard_start`) puts the result on the request, where
/// [`PageStart::current`] finds it. The reads are the server functions' own, run under
/// an owner with the contexts a render gives them. Also returns the status a read set
/// (400 for an unknown `?host=`), which the page answers with.
#[cfg(feature = "ssr")]
pub async fn read_start(
    state: crate::state::AppState,
    parts: http::request::Parts,
) -> (PageStart, Option<http::StatusCode>) {
    let host = asked_host(&crate::page::Query::parse(
        parts.uri.query().unwrap_or_default(),
    ));
    let response = leptos_axum::ResponseOptions::default();
    let owner = Owner::new();
    owner.with(|| {
        provide_context(state);
        provide_context(parts);
        provide_context(response.clone());
    });
    let start = owner
        .with(|| leptos::reactive::computed::ScopedFuture::new(page_start(host)))
        .await;
    let status = response.0.read().ok().and_then(|r| r.status);
    (start, status)
}

#[cfg(feature = "ssr")]
async fn page_start(host: Option<String>) -> PageStart {
    use crate::api::initial_snapshot;
    use crate::components::fleet::host_names;
    let (snapshot, settings, me, hosts) = futures::join!(
        initial_snapshot(host),
        crate::api::settings(),
        crate::auth::me(),
        host_names()
    );
    PageStart {
        snapshot: snapshot.ok(),
        settings: settings.unwrap_or_default(),
        me: me.unwrap_or_default(),
        hosts: hosts.unwrap_or_default(),
    }
}

/// `?host=NAME` (a hub's agent host), which picks whose data every panel shows.
fn asked_host(query: &crate::page::Query) -> Option<String> {
    query.get("host").filter(|h| !h.is_empty())
}

/// The host the dashboard shows: the one the URL asks for (an agent host of a hub;
/// the server's own name is the same as none), else the server's own, else (a server
/// with no name set) the snapshot's.
fn shown_host(asked: Option<&str>, settings: &UiSettings, snapshot: Option<&Snapshot>) -> String {
    match asked.filter(|h| *h != settings.host) {
        Some(h) => h.to_string(),
        None if settings.host.is_empty() => snapshot.map(|s| s.host.clone()).unwrap_or_default(),
        None => settings.host.clone(),
    }
}

/// The dashboard's title, for the shell's `<title>` (the server writes it; the browser
/// never changes it: the host is fixed for the page's life).
#[cfg(feature = "ssr")]
pub fn title() -> String {
    let start = PageStart::current();
    let asked = asked_host(&crate::page::Query::current());
    let host = shown_host(asked.as_deref(), &start.settings, start.snapshot.as_ref());
    if host.is_empty() {
        "Lookout".to_string()
    } else {
        format!("{host} · Lookout")
    }
}

#[component]
fn DashboardBody(
    initial: Option<Snapshot>,
    settings: UiSettings,
    me: Me,
    host: Option<String>,
    hosts: Vec<String>,
) -> impl IntoView {
    let can_read_logs = me.at_least("developer");
    provide_me(me.clone());
    // The server's own name in the URL is the same as none.
    let host = host.filter(|h| *h != settings.host);
    let live = DashboardState {
        latest: RwSignal::new(initial),
        refresh: RwSignal::new(Refresh::from_default_secs(settings.default_refresh_secs)),
        range: RwSignal::new(Range::Live),
        charts: RwSignal::new(ChartData {
            range: None,
            timeline: Timeline::new(crate::api::CHART_METRICS),
        }),
        link: RwSignal::new(Link::Static),
        tz_offset: RwSignal::new(None),
        history_error: RwSignal::new(None),
        events: RwSignal::new(Vec::new()),
        events_loaded: RwSignal::new(false),
        events_error: RwSignal::new(None),
        model: RwSignal::new(None),
        forecasts: RwSignal::new(None),
        host: RwSignal::new(host.clone()),
    };
    #[cfg(feature = "hydrate")]
    wire::start(live, (settings.sample_interval_secs * 1000.0) as i64);

    let own = settings.host.clone();
    let host = live
        .latest
        .with_untracked(|s| shown_host(host.as_deref(), &settings, s.as_ref()));
    let as_of = move || {
        live.latest
            .with(|s| s.as_ref().map(|s| s.timestamp))
            .map(|t| format!("as of {}", live.clock(t, TimeStyle::Seconds)))
            .unwrap_or_else(|| "waiting for the first sample…".into())
    };
    view! {
        <header class="topbar">
            <div class="brand">
                <h1>"Lookout"</h1>
                <HostPicker own=own current=host.clone() hosts/>
                <span class="as-of" id="as-of">{as_of}</span>
                <ScopeBadge live/>
                <nav class="page-nav">
                    // The analysis page opens on the range and the host chosen here.
                    <a href=move || live.url(&format!("/analysis?range={}", live.range.get().key())) id="nav-analysis">
                        "Analysis"
                    </a>
                </nav>
            </div>
            <Controls live/>
            <UserMenu me/>
        </header>
        <main class="dashboard">
            <FleetPanel live/>
            <Cards live/>
            <ForecastCards live/>
            <ScopeCards live/>
            <Charts live/>
            <div class="detect">
                <Events live/>
                <ModelPanel live/>
            </div>
            <AlertsPanel live/>
            <Processes live/>
            // The logs view is a developer's (the server refuses it to viewers).
            {can_read_logs.then(|| view! { <LogsPanel live/> })}
        </main>
    }
}

/// Reloads the model panel (after training or a sensitivity change).
#[cfg(feature = "hydrate")]
pub fn reload_model(live: DashboardState) {
    leptos::task::spawn_local(async move {
        if let Ok(report) =
            crate::http::get_json::<lookout::model::ModelReport>(&live.url("/api/model")).await
        {
            live.model.set(Some(ModelView::from_report(&report)));
        }
    });
}

/// Reloads the anomaly events of the chosen range.
#[cfg(feature = "hydrate")]
pub fn reload_events(live: DashboardState) {
    leptos::task::spawn_local(async move {
        let to = crate::browser::now_ms();
        let from = to - live.range.get_untracked().span_ms();
        let url = live.url(&format!("/api/anomalies?from={from}&to={to}"));
        match crate::http::get_json::<lookout::model::AnomalyList>(&url).await {
            Ok(list) => {
                let mut events = list.events;
                events.sort_by_key(|e| std::cmp::Reverse(e.start));
                live.events_error.set(None);
                if live.events.with_untracked(|e| *e != events) {
                    live.events.set(events);
                }
                live.events_loaded.set(true);
            }
            Err(e) => live.events_error.set(Some(e)),
        }
    });
}

/// Browser-only wiring: live samples, the saved refresh choice, history loading.
#[cfg(feature = "hydrate")]
mod wire {
    use super::{DashboardState, Link};
    use crate::api::{history, CHART_METRICS};
    use crate::browser::{self, LinkEvent, Stream};
    use crate::controls::{should_apply, Range, Refresh, POINT_BUDGET};
    use crate::timeline::Timeline;
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use lookout::model::Snapshot;

    pub fn start(live: DashboardState, sample_ms: i64) {
        // After hydration (effects never run on the server), so the first browser render
        // matched the server's: then switch to the saved choice and the local time zone.
        Effect::new(move |_| {
            if let Some(r) = browser::load_refresh().and_then(|k| Refresh::parse(&k)) {
                live.refresh.set(r);
            }
            live.tz_offset
                .set(Some(browser::tz_offset_min(browser::now_ms())));
        });

        // The stream is open unless paused. The StoredValue drops it (closing the
        // connection) when the dashboard unmounts.
        let stream = StoredValue::new_local(None::<Stream>);
        let last_applied = StoredValue::new(None::<i64>);
        let paused = Memo::new(move |_| live.refresh.get().is_paused());
        Effect::new(move |_| {
            if paused.get() {
                stream.set_value(None);
                live.link.set(Link::Paused);
                return;
            }
            if stream.with_value(Option::is_some) {
                return;
            }
            live.link.set(Link::Connecting);
            let on_snapshot = move |s: Snapshot| {
                let refresh = live.refresh.get_untracked();
                if !should_apply(last_applied.get_value(), s.timestamp, refresh, sample_ms) {
                    return;
                }
                last_applied.set_value(Some(s.timestamp));
                if live.range.get_untracked().is_live() {
                    live.charts.update(|d| {
                        if d.timeline.push_snapshot(&s) {
                            d.timeline.trim_before(s.timestamp - Range::Live.span_ms());
                        }
                    });
                }
                live.latest.set(Some(s));
            };
            let on_link = move |e: LinkEvent| {
                live.link.set(match e {
                    LinkEvent::Open => Link::Open,
                    LinkEvent::Error => Link::Reconnecting,
                })
            };
            match Stream::connect(&live.url(browser::STREAM_URL), on_snapshot, on_link) {
                Ok(s) => stream.set_value(Some(s)),
                Err(e) => {
                    leptos::logging::warn!("live stream: {e:?}");
                    live.link.set(Link::Reconnecting);
                }
            }
        });

        // Anomaly events follow the range; they and the model state are polled while
        // live (an event opens or closes, training finishes).
        Effect::new(move |_| {
            live.range.track();
            super::reload_events(live);
        });
        super::reload_model(live);
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !live.refresh.get_untracked().is_paused() {
                    super::reload_events(live);
                    super::reload_model(live);
                }
            },
            std::time::Duration::from_secs(10),
        ) {
            on_cleanup(move || handle.clear());
        }

        // History follows the range, and is reloaded on resume to fill the paused gap.
        // Only the newest request may write: a slow 7-day answer must not overwrite a
        // later pick.
        let generation = StoredValue::new(0_u64);
        Effect::new(move |_| {
            let range = live.range.get();
            paused.track();
            let gen = generation.get_value() + 1;
            generation.set_value(gen);
            spawn_local(async move {
                let to = browser::now_ms();
                let from = to - range.span_ms();
                let host = live.host.get_untracked();
                let answer = history(CHART_METRICS, from, to, POINT_BUDGET, host).await;
                if generation.try_get_value() != Some(gen) {
                    return;
                }
                match answer {
                    Ok(history) => {
                        live.history_error.set(None);
                        live.charts.update(|d| {
                            // Live points that arrived meanwhile are kept only in the
                            // live range; the others are a fixed window.
                            if !range.is_live() || d.range.is_some_and(|r| !r.is_live()) {
                                d.timeline = Timeline::new(CHART_METRICS);
                            }
                            d.timeline.load_history(&history);
                            d.range = Some(range);
                        });
                    }
                    Err(e) => live.history_error.set(Some(e.to_string())),
                }
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{read, Json};
    use lookout::model::ApiBody;

    /// A process named to close the script and open another stays data: the page's
    /// JSON has no `<` at all, and reads back with the name as it was.
    #[test]
    fn the_page_json_cannot_close_its_script() {
        let mut snapshot = Snapshot::example();
        let name = "</script><script>alert(1)</script>";
        snapshot.processes.top_cpu[0].name = name.into();
        let start = PageStart {
            snapshot: Some(snapshot),
            ..PageStart::default()
        };
        let json = start.page_json();
        assert!(!json.contains('<'), "{json}");
        let back: PageStart = read(Json::from_value(serde_json::from_str(&json).unwrap())).unwrap();
        assert_eq!(back.snapshot.unwrap().processes.top_cpu[0].name, name);
    }

    /// The start-up resource as the server hands it to the page (serde_json), read back
    /// by the browser's reader: the same JSON again, with and without a snapshot.
    #[test]
    fn the_page_start_reads_back_as_written() {
        for snapshot in [Some(Snapshot::example()), None] {
            let start = PageStart {
                snapshot,
                settings: UiSettings::example(),
                me: Me::example(),
                hosts: vec!["web-1".into(), "db-1".into()],
            };
            let written = serde_json::to_value(&start).unwrap();
            let back: PageStart = read(Json::from_value(written.clone())).unwrap();
            assert_eq!(serde_json::to_value(&back).unwrap(), written);
        }
    }
}
