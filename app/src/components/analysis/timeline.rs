//! The anomaly timeline: every event of the range as a bar from its start to its end,
//! coloured by its top metric, its explanation on hover, a click opening the event;
//! and the same as a table with links.

use charming::component::{Axis, Grid};
use charming::datatype::{DataPoint, DataPointItem};
use charming::element::{AxisType, ItemStyle, Tooltip, Trigger};
use charming::series::Bar;
use leptos::prelude::*;
use lookout::model::{AnomalyEvent, AnomalyList};

use super::options::{Options, Series};
use super::{data, AnalysisState, ChartPanel};
use crate::anomaly::explain_line;
use crate::format::TimeStyle;

pub const CHART_ID: &str = "chart-timeline";

/// Colours of the top metrics, in order of first appearance.
const PALETTE: [&str; 8] = [
    "#dc2626", "#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563",
];

/// The metric that contributed most to the event ("unexplained" without one).
pub fn top_metric(e: &AnomalyEvent) -> String {
    e.explanation
        .metrics
        .iter()
        .max_by(|a, b| a.contribution.total_cmp(&b.contribution))
        .map_or_else(|| "unexplained".to_string(), |m| m.metric.clone())
}

/// Each top metric with its colour, in order of first appearance.
pub fn legend(events: &[AnomalyEvent]) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for e in events {
        let m = top_metric(e);
        if !out.iter().any(|(x, _)| *x == m) {
            let colour = PALETTE[out.len() % PALETTE.len()];
            out.push((m, colour));
        }
    }
    out
}

/// What hovering an event shows: its peak and its explanation lines.
pub fn explanation(e: &AnomalyEvent) -> String {
    let mut parts = vec![format!("#{} peak {:.2}", e.id, e.peak_score)];
    parts.extend(e.explanation.metrics.iter().take(3).map(explain_line));
    if let Some(r) = &e.explanation.rhythm {
        parts.push(r.clone());
    }
    parts.extend(e.explanation.causes.iter().cloned());
    parts.join("; ")
}

/// Where an event's link goes: the event in the API, with its full explanation.
pub fn event_url(e: &AnomalyEvent, now: i64, host: &Option<String>) -> String {
    let end = e.end.unwrap_or(now).max(e.start + 1);
    format!(
        "/api/anomalies?from={}&to={end}{}",
        e.start,
        data::host_arg(host)
    )
}

/// One row per event (oldest on top), a bar from start to end on a time axis: an
/// invisible bar up to the start with the event's bar stacked on it.
pub fn options(list: &AnomalyList) -> Options {
    let colours = legend(&list.events);
    let colour = |m: &str| {
        colours
            .iter()
            .find(|(x, _)| x == m)
            .map_or(PALETTE[0], |(_, c)| *c)
    };
    let rows: Vec<String> = list
        .events
        .iter()
        .map(|e| format!("#{} {}", e.id, top_metric(e)))
        .collect();
    let base: Vec<DataPoint> = list
        .events
        .iter()
        .map(|e| DataPointItem::new(e.start).name(explanation(e)).into())
        .collect();
    let bars: Vec<DataPoint> = list
        .events
        .iter()
        .map(|e| {
            let end = e.end.unwrap_or(list.to).max(e.start);
            // At least a thin visible bar for a one-sample event.
            let len = (end - e.start).max((list.to - list.from) / 400).max(1);
            DataPointItem::new(len)
                .name(explanation(e))
                .item_style(ItemStyle::new().color(colour(&top_metric(e))))
                .into()
        })
        .collect();
    let label = Tooltip::new().formatter("{b}");
    Options::new(
        Tooltip::new().trigger(Trigger::Item),
        Grid::new().left(150).right(24).top(8).bottom(32),
        Axis::new()
            .type_(AxisType::Time)
            .min(list.from as f64)
            .max(list.to as f64),
        Axis::new()
            .type_(AxisType::Category)
            .inverse(true)
            .data(rows),
    )
    .series(Series::Bar(
        Bar::new()
            .name("before")
            .stack("event")
            .item_style(ItemStyle::new().color("transparent"))
            .tooltip(label.clone())
            .data(base),
    ))
    .series(Series::Bar(
        Bar::new()
            .name("event")
            .stack("event")
            .tooltip(label)
            .data(bars),
    ))
}

#[component]
pub fn TimelinePanel(st: AnalysisState) -> impl IntoView {
    let list = crate::api::resource(
        move || (st.range.get(), st.host.get()),
        |(range, host)| data::events(range, host),
    );
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let (Some(Ok(l)), true) = (list.get(), st.hydrated.get()) {
            let json = options(&l).to_json();
            let on_click = std::rc::Rc::new(move |click: crate::echarts::Click| {
                if let Some(e) = l.events.get(click.index) {
                    let url = event_url(e, l.to, &st.host.get_untracked());
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().set_href(&url);
                    }
                }
            });
            crate::echarts::draw(CHART_ID, json, Some(on_click));
        }
    });
    view! {
        <ChartPanel st id="timeline" title="Anomaly timeline" chart_id=CHART_ID
            label="Every anomaly event of the range as a bar, coloured by its top metric">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(l) => view! { <TimelineTable st l/> }.into_any(),
                        Err(e) => super::status_line(Some(e)).into_any(),
                    }
                })}
            </Transition>
        </ChartPanel>
    }
}

#[component]
fn TimelineTable(st: AnalysisState, l: AnomalyList) -> impl IntoView {
    if l.events.is_empty() {
        return view! { <p class="empty" id="timeline-empty">"No anomalies in this range."</p> }
            .into_any();
    }
    let colours = legend(&l.events);
    let swatches = colours
        .iter()
        .map(|(m, c)| {
            view! { <li><span class="swatch" style:background-color=*c></span>{m.clone()}</li> }
        })
        .collect_view();
    let rows = l
        .events
        .iter()
        .map(|e| {
            let (start, end) = (e.start, e.end);
            let url = event_url(e, l.to, &st.host.get_untracked());
            view! {
                <tr>
                    <td><a href=url>{format!("#{}", e.id)}</a></td>
                    <td>{move || st.clock(start, TimeStyle::DayMinutes)}</td>
                    <td>{move || end.map_or_else(|| "open".to_string(), |t| st.clock(t, TimeStyle::DayMinutes))}</td>
                    <td>{top_metric(e)}</td>
                    <td>{explanation(e)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <ul class="legend" id="timeline-legend">{swatches}</ul>
        <table class="data-table" id="timeline-table">
            <thead>
                <tr>
                    <th scope="col">"event"</th>
                    <th scope="col">"start"</th>
                    <th scope="col">"end"</th>
                    <th scope="col">"top metric"</th>
                    <th scope="col">"explanation"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout::model::{Explanation, MetricContribution};

    fn event(id: i64, start: i64, end: Option<i64>, metric: &str) -> AnomalyEvent {
        AnomalyEvent {
            id,
            start,
            end,
            peak_score: 0.9,
            explanation: Explanation {
                metrics: vec![MetricContribution {
                    metric: metric.into(),
                    value: 97.0,
                    normal_low: 8.0,
                    normal_high: 22.0,
                    contribution: 0.8,
                }],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn bars_span_the_events_coloured_by_top_metric() {
        let list = AnomalyList {
            from: 0,
            to: 400_000,
            events: vec![
                event(1, 10_000, Some(70_000), "cpu_usage"),
                event(2, 100_000, None, "memory_usage"),
                event(3, 200_000, Some(200_000), "cpu_usage"),
            ],
        };
        assert_eq!(legend(&list.events).len(), 2);
        let json = serde_json::to_value(options(&list)).unwrap();
        let base = &json["series"][0]["data"];
        let bars = &json["series"][1]["data"];
        assert_eq!(base[0]["value"], 10_000);
        assert_eq!(bars[0]["value"], 60_000);
        // Open: runs to the end of the range.
        assert_eq!(bars[1]["value"], 300_000);
        // One sample long: still 1/400 of the range wide.
        assert_eq!(bars[2]["value"], 1_000);
        assert_eq!(bars[0]["itemStyle"]["color"], bars[2]["itemStyle"]["color"]);
        assert_ne!(bars[0]["itemStyle"]["color"], bars[1]["itemStyle"]["color"]);
        assert!(bars[0]["name"]
            .as_str()
            .unwrap()
            .contains("cpu_usage 97.0 %"));
        assert_eq!(json["yAxis"][0]["data"][1], "#2 memory_usage");
        assert_eq!(
            event_url(&list.events[1], 400_000, &None),
            "/api/anomalies?from=100000&to=400000"
        );
        assert_eq!(
            event_url(&list.events[1], 400_000, &Some("db-1".into())),
            "/api/anomalies?from=100000&to=400000&host=db-1"
        );
    }
}
