//! The analysis page (`/analysis`, issue 14): per-core CPU heatmap, weekly rhythm
//! heatmaps, correlation matrix and anomaly timeline for the chosen range.
//!
//! Server-rendered complete (each chart's data as a plain table, so it reads without
//! JavaScript), then hydrated: the browser draws each chart with ECharts from options
//! built in Rust (`charming`), and reloads the data when the range or the rhythm's
//! metric changes. ECharts is loaded by this page's own `<script>`, not the shell, so
//! the dashboard never downloads it. One file per chart, its options and its table.

pub mod cores;
pub mod correlation;
pub mod data;
pub mod options;
pub mod rhythm;
pub mod timeline;

use leptos::prelude::*;

use crate::api::{CHART_METRICS, SCORE_METRIC};
use crate::auth::{provide_me, Me};
use crate::components::login::UserMenu;
use crate::controls::Range;
use crate::format::{time_label, TimeStyle};
use crate::state::UiSettings;

/// The plain URL of the vendored ECharts (the server links its hashed name).
pub const ECHARTS_URL: &str = "/vendor/echarts.min.js";

/// The URLs of the analysis page's own static files, provided by the server as context
/// (content-hashed names, like [`crate::ShellAssets`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalysisAssets {
    pub echarts: String,
}

impl Default for AnalysisAssets {
    fn default() -> Self {
        Self {
            echarts: ECHARTS_URL.into(),
        }
    }
}

/// The element ids of the page's charts (for resizing and freeing them).
pub const CHART_IDS: &[&str] = &[
    cores::CHART_ID,
    rhythm::METRIC_CHART_ID,
    rhythm::SCORE_CHART_ID,
    correlation::CHART_ID,
    correlation::OVERLAY_CHART_ID,
    timeline::CHART_ID,
];

/// The page's shared signals, handed to each chart.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisState {
    pub range: RwSignal<Range>,
    /// The rhythm heatmap's metric.
    pub metric: RwSignal<String>,
    /// The browser's zone offset east of UTC in minutes; None while server-rendered
    /// (times in UTC).
    pub tz_offset: RwSignal<Option<i32>>,
    /// True once hydrated: charts are drawn and the tables fold away.
    pub hydrated: RwSignal<bool>,
    /// The metrics the correlation matrix compares (`?compare=`).
    pub compare: RwSignal<Vec<String>>,
    /// The host shown (`?host=`, set by the header's host picker); None: this one.
    pub host: Signal<Option<String>>,
    /// The correlation cell whose series are tabled under the matrix (`?pair=a,b`,
    /// the table cells' links, so it works without JavaScript).
    pub pair: Signal<Option<(String, String)>>,
}

impl AnalysisState {
    /// This view's URL (see [`data::page_url`]).
    pub fn url(&self, pair: Option<(&str, &str)>) -> String {
        data::page_url(
            self.range.get_untracked(),
            &self.metric.get_untracked(),
            &self.compare.get_untracked(),
            &self.host.get_untracked(),
            pair,
        )
    }

    /// The page's view from the URL: `?range=..&metric=..&compare=..&pair=..&host=..`
    /// (the dashboard's link carries its range; without JavaScript the forms set them).
    /// In the browser the view is kept in the address bar as it changes.
    fn from_query() -> AnalysisState {
        // Read once: a link to another query loads a new page (crate::page).
        let query = crate::page::Query::current();
        let range = query
            .get("range")
            .and_then(|r| Range::parse(&r))
            .unwrap_or(Range::Hour);
        let metric = query
            .get("metric")
            .filter(|m| rhythm_metrics().any(|x| x == m))
            .unwrap_or_else(|| "cpu_usage".to_string());
        let compare = compare_from(&query.get_all("compare"));
        let host = query.get("host").filter(|h| !h.trim().is_empty());
        let pair = pair_from(query.get("pair").as_deref());
        let st = AnalysisState {
            range: RwSignal::new(range),
            metric: RwSignal::new(metric),
            tz_offset: RwSignal::new(None),
            hydrated: RwSignal::new(false),
            compare: RwSignal::new(compare),
            host: Signal::stored(host),
            pair: Signal::stored(pair),
        };
        #[cfg(feature = "hydrate")]
        {
            Effect::new(move |_| {
                st.tz_offset.set(Some(
                    crate::browser::tz_offset_min(crate::browser::now_ms()),
                ));
                st.hydrated.set(true);
            });
            // The view is kept in the address bar (to share or reload it), without a
            // navigation: the charts reload from the signals.
            Effect::new(move |prev: Option<()>| {
                st.range.track();
                st.metric.track();
                st.compare.track();
                if prev.is_some() {
                    let pair = st.pair.get_untracked();
                    let pair = pair.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
                    replace_url(&st.url(pair));
                }
            });
            let resize = window_event_listener(leptos::ev::resize, |_| {
                crate::echarts::resize(CHART_IDS);
            });
            on_cleanup(move || {
                resize.remove();
                crate::echarts::dispose(CHART_IDS);
            });
        }
        st
    }

    /// A wall-clock label in the viewer's zone (UTC on the server).
    pub fn clock(&self, t_ms: i64, style: TimeStyle) -> String {
        match self.tz_offset.get() {
            Some(off) => time_label(t_ms, off, style),
            None => format!("{} UTC", time_label(t_ms, 0, style)),
        }
    }

    /// The same, for chart labels (no zone suffix).
    pub fn axis_label(&self, t_ms: i64, style: TimeStyle) -> String {
        time_label(t_ms, self.tz_offset.get().unwrap_or(0), style)
    }
}

/// The metrics of `?compare=` (comma separated and/or repeated, as the picker's
/// checkboxes send them), duplicates dropped; the default set when there are none.
/// Unknown names are kept: the query refuses them with the API's words.
pub fn compare_from(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
        if !m.is_empty() && !out.iter().any(|x| x == m) {
            out.push(m.to_string());
        }
    }
    if out.is_empty() {
        out = data::CORRELATION_METRICS
            .iter()
            .map(|m| m.to_string())
            .collect();
    }
    out
}

/// `?pair=a,b`: the two metrics of a correlation cell.
pub fn pair_from(value: Option<&str>) -> Option<(String, String)> {
    let (a, b) = value?.split_once(',')?;
    let (a, b) = (a.trim(), b.trim());
    (!a.is_empty() && !b.is_empty()).then(|| (a.to_string(), b.to_string()))
}

/// Puts `url` in the address bar without loading it (history.replaceState).
#[cfg(feature = "hydrate")]
fn replace_url(url: &str) {
    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

/// Metrics the rhythm heatmap offers.
pub fn rhythm_metrics() -> impl Iterator<Item = &'static str> {
    CHART_METRICS.iter().copied().filter(|m| *m != SCORE_METRIC)
}

/// The page. The panels' data (their resources) are made here, once, outside any
/// `<Suspense>`: a resource made inside a Suspense's reactive child is made again each
/// time the Suspense re-checks its children, and now and then a server render waited
/// for ever (leptos #4866; seen here as 1 in 20 renders of `/analysis` never ending
/// in server/tests/access.rs). Only the header waits for who is signed in.
#[component]
pub fn AnalysisPage() -> impl IntoView {
    // One resource for both reads (each resource type is its own copy of the resource
    // machinery in the wasm); a read that fails is the default, as the header shows it.
    let head = crate::api::resource(
        || (),
        |_| async {
            let (settings, me) = futures::join!(crate::api::settings(), crate::auth::me());
            (settings.unwrap_or_default(), me.unwrap_or_default())
        },
    );
    let st = AnalysisState::from_query();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (settings, me) = head.await;
                view! { <AnalysisHeader settings me st/> }
            })}
        </Suspense>
        <main class="analysis" id="analysis">
            <cores::CoresPanel st/>
            <rhythm::RhythmPanel st/>
            <correlation::CorrelationPanel st/>
            <correlation::OverlayPanel st/>
            <timeline::TimelinePanel st/>
        </main>
    }
}

/// The page's title, for the shell's `<title>`: the host the URL names, else this one
/// (the store's).
#[cfg(feature = "ssr")]
pub fn title() -> String {
    let host = crate::page::Query::current()
        .get("host")
        .filter(|h| !h.trim().is_empty())
        .or_else(|| use_context::<crate::state::AppState>().map(|s| s.settings.host))
        .unwrap_or_default();
    if host.is_empty() {
        "Analysis · Lookout".to_string()
    } else {
        format!("Analysis · {host} · Lookout")
    }
}

/// ECharts' script, the host, the navigation, the controls and the user.
#[component]
fn AnalysisHeader(settings: UiSettings, me: Me, st: AnalysisState) -> impl IntoView {
    provide_me(me.clone());
    let assets = use_context::<AnalysisAssets>().unwrap_or_default();
    // The host the URL names, else this one (the store's).
    let host = st
        .host
        .get_untracked()
        .unwrap_or_else(|| settings.host.clone());
    view! {
        // ECharts for this page only (the shell does not load it).
        <script src=assets.echarts></script>
        <header class="topbar">
            <div class="brand">
                <h1>"Lookout"</h1>
                <span class="host" id="host">{host}</span>
                <nav class="page-nav">
                    <a href="/" id="nav-dashboard">"Dashboard"</a>
                    <a href="/analysis" id="nav-analysis" aria-current="page">"Analysis"</a>
                </nav>
            </div>
            <AnalysisControls st/>
            <UserMenu me/>
        </header>
    }
}

/// The range and the rhythm's metric: applied at once with JavaScript, by the form's
/// button without.
#[component]
fn AnalysisControls(st: AnalysisState) -> impl IntoView {
    let on_range = move |ev: leptos::ev::Event| {
        if let Some(r) = Range::parse(&event_target_value(&ev)) {
            st.range.set(r);
        }
    };
    let on_metric = move |ev: leptos::ev::Event| {
        let m = event_target_value(&ev);
        if rhythm_metrics().any(|x| x == m) {
            st.metric.set(m);
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| ev.prevent_default();
    view! {
        <form class="controls" method="get" action="/analysis" on:submit=on_submit>
            <label>
                <span>"Range"</span>
                <select id="range" name="range" on:change=on_range prop:value=move || st.range.get().key()>
                    {Range::CHOICES
                        .into_iter()
                        .map(|r| {
                            view! {
                                <option value=r.key() selected=move || st.range.get() == r>
                                    {r.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                <span>"Rhythm of"</span>
                <select id="rhythm-metric" name="metric" on:change=on_metric prop:value=move || st.metric.get()>
                    {rhythm_metrics()
                        .map(|m| {
                            view! {
                                <option value=m selected=move || st.metric.with(|x| x == m)>{m}</option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            // Kept through the form: the compared metrics and the host.
            <input type="hidden" name="compare" value=move || st.compare.with(|c| c.join(","))/>
            {move || st.host.get().map(|h| view! { <input type="hidden" name="host" value=h/> })}
            <button type="submit" class="apply" hidden=move || st.hydrated.get()>"Show"</button>
        </form>
    }
}

/// A chart's frame: its title, the chart (drawn once hydrated) and its data as a table
/// (open without JavaScript, folded away once the chart is drawn).
#[component]
pub fn ChartPanel(
    st: AnalysisState,
    id: &'static str,
    title: &'static str,
    chart_id: &'static str,
    /// What the chart shows, for screen readers.
    label: &'static str,
    /// Controls of this chart only, under its title.
    #[prop(optional)]
    controls: Option<Children>,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="panel analysis-panel" id=id aria-label=title>
            <h2>{title}</h2>
            {controls.map(|c| c())}
            <div class="echart" id=chart_id role="img" aria-label=label hidden=move || !st.hydrated.get()></div>
            <details class="table-fallback" open=move || !st.hydrated.get()>
                <summary>"Data as a table"</summary>
                <div class="table-scroll">{children()}</div>
            </details>
        </section>
    }
}

/// The loading / error line under a chart.
pub fn status_line(err: Option<String>) -> impl IntoView {
    err.map(|e| view! { <p class="error">"Unavailable: " {e}</p> })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_picks_the_compared_metrics_and_the_pair() {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            compare_from(&v(&["cpu_usage,load_1", "load_1", " memory_usage "])),
            v(&["cpu_usage", "load_1", "memory_usage"])
        );
        assert_eq!(compare_from(&[]).len(), data::CORRELATION_METRICS.len());
        assert_eq!(
            compare_from(&v(&[""])).len(),
            data::CORRELATION_METRICS.len()
        );
        assert_eq!(
            pair_from(Some("cpu_usage, load_1")),
            Some(("cpu_usage".into(), "load_1".into()))
        );
        assert_eq!(pair_from(Some("cpu_usage")), None);
        assert_eq!(pair_from(Some(",load_1")), None);
        assert_eq!(pair_from(None), None);
    }
}
