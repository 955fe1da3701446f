//! The line charts. The canvas is server-rendered empty; in the browser an effect
//! creates the Chart.js chart on it and redraws whenever the chart data changes.

use leptos::prelude::*;

use crate::chart_spec::{ChartSpec, CHARTS, SCORE_CHART};
use crate::components::cores::Cores;
use crate::components::dashboard::DashboardState;

#[component]
fn LineChart(spec: ChartSpec, live: DashboardState) -> impl IntoView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    // On the server the canvas stays empty: only the browser draws.
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
    #[cfg(feature = "hydrate")]
    {
        use crate::chart::{self, OwnedChart};
        let chart = StoredValue::new_local(None::<OwnedChart>);
        Effect::new(move |_| {
            let Some(el) = canvas.get() else { return };
            live.charts.with(|d| {
                let Some(range) = d.range else { return };
                let times: Vec<i64> = d.timeline.times().collect();
                let marks = chart::Marks {
                    bands: live
                        .events
                        .with(|ev| crate::anomaly::bands(&times, ev, crate::browser::now_ms())),
                    threshold: if spec.id == SCORE_CHART.id {
                        live.model.with(|m| m.as_ref().and_then(|m| m.threshold))
                    } else {
                        None
                    },
                    forecast: live.forecasts.with(|all| {
                        let f =
                            crate::chart_spec::forecast_for(&spec, all.as_ref()?.as_ref().ok()?)?;
                        let last = d
                            .timeline
                            .column(spec.lines[0].0)
                            .and_then(|c| c.back().copied())
                            .filter(|v| v.is_finite());
                        let to = crate::chart_spec::ToChart::of(&spec, f);
                        crate::chart_spec::forecast_series(&times, last, f, to)
                    }),
                };
                chart.update_value(|c| {
                    if c.is_none() {
                        match chart::create(&el, &spec) {
                            Ok(made) => *c = Some(OwnedChart(made)),
                            Err(e) => leptos::logging::error!("chart {}: {e:?}", spec.id),
                        }
                    }
                    if let Some(OwnedChart(made)) = c {
                        chart::show(made, &spec, &d.timeline, range.time_style(), &marks);
                    }
                });
            });
        });
    }
    view! {
        <figure class="panel chart" id=format!("panel-{}", spec.id)>
            <figcaption>{spec.title}</figcaption>
            <div class="chart-box">
                <canvas
                    id=format!("chart-{}", spec.id)
                    node_ref=canvas
                    role="img"
                    aria-label=format!("{} over time", spec.title)
                ></canvas>
            </div>
        </figure>
    }
}

pub const NOSCRIPT: &str =
    "<p class=\"note\">Charts need JavaScript; the values shown are current as of page load.</p>\
<style>.chart { display: none; }</style>";

#[component]
pub fn Charts(live: DashboardState) -> impl IntoView {
    let loaded = move || live.charts.with(|d| d.range.map(|r| r.key()).unwrap_or(""));
    let loading = move || live.charts.with(|d| d.range) != Some(live.range.get());
    view! {
        <section
            class="charts"
            id="charts"
            aria-label="History"
            data-loaded-range=loaded
            class:loading=loading
        >
            // With scripts on, browsers keep <noscript> content as raw text: set it as
            // inner HTML so hydration never walks into it. Without scripts, the empty
            // chart tiles are hidden and the note explains why.
            <noscript inner_html=NOSCRIPT></noscript>
            {move || live.history_error.get().map(|e| view! { <p class="error">"History unavailable: " {e}</p> })}
            {CHARTS.iter().map(|spec| view! { <LineChart spec=*spec live/> }).collect_view()}
            // Eighth tile of the grid: seven charts plus the cores fill 4x2 or 2x4 evenly.
            <Cores live/>
            <div class="score-row">
                <LineChart spec=SCORE_CHART live/>
            </div>
        </section>
    }
}
