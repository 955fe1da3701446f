//! The weekly rhythm: hour of day x day of week, the mean of a metric and of the anomaly
//! score over the last 28 days (nightly jobs show as a bright column), and their tables.

use charming::component::{Axis, Grid, VisualMap, VisualMapChannel};
use charming::datatype::DataPoint;
use charming::element::{AxisType, Orient, Tooltip, Trigger};
use charming::series::Heatmap;
use leptos::prelude::*;
use lookout::model::{metric_def, RhythmGrid, Unit};

use super::cores::{round1, HEAT};
use super::options::{Options, Series};
use super::{data, AnalysisState};
use crate::format::by_unit;

pub const METRIC_CHART_ID: &str = "chart-rhythm-metric";
pub const SCORE_CHART_ID: &str = "chart-rhythm-score";

/// Row labels, Monday first (the API's day 0).
pub const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn unit_of(metric: &str) -> Unit {
    metric_def(metric).map_or(Unit::Load, |d| d.unit)
}

/// The grid's heatmap: x = hour, y = day (Monday on top), colour from 0 to the largest
/// mean (1 for the score, 100 for percentages).
pub fn options(g: &RhythmGrid) -> Options {
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let mut top = 0.0_f64;
    let cells: Vec<Vec<DataPoint>> = g
        .means
        .iter()
        .enumerate()
        .flat_map(|(d, row)| {
            row.iter()
                .enumerate()
                .filter_map(move |(h, v)| v.map(|v| (d, h, v)))
        })
        .map(|(d, h, v)| {
            top = top.max(v);
            let v = if v.abs() >= 10.0 {
                v.round()
            } else {
                round1(v * 100.0) / 100.0
            };
            vec![(h as i64).into(), (d as i64).into(), v.into()]
        })
        .collect();
    let max = match unit_of(&g.metric) {
        Unit::Percent => 100.0,
        _ if g.metric == crate::api::SCORE_METRIC => 1.0,
        _ => top.max(f64::MIN_POSITIVE),
    };
    Options::new(
        Tooltip::new().trigger(Trigger::Item),
        Grid::new().left(48).right(16).top(8).bottom(72),
        Axis::new().type_(AxisType::Category).data(hours),
        Axis::new()
            .type_(AxisType::Category)
            .inverse(true)
            .data(DAYS.iter().map(|d| d.to_string()).collect()),
    )
    .visual_map(
        VisualMap::new()
            .min(0.0)
            .max(max)
            .calculable(true)
            .orient(Orient::Horizontal)
            .left("center")
            .bottom(0)
            .in_range(VisualMapChannel::new().color(HEAT.to_vec())),
    )
    .series(Series::Heatmap(
        Heatmap::new().name(g.metric.clone()).data(cells),
    ))
}

#[component]
pub fn RhythmPanel(st: AnalysisState) -> impl IntoView {
    // The zone is the browser's once hydrated (UTC on the server): hours are local.
    // The range is part of the source so the range control reloads it too (a source
    // that only tracks it would compare equal and not reload).
    let grids = crate::api::resource(
        move || {
            (
                st.range.get(),
                st.metric.get(),
                st.tz_offset.get().unwrap_or(0),
                st.host.get(),
            )
        },
        |(_, metric, tz, host)| data::rhythm(metric, tz, host),
    );
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let (Some(Ok(r)), true) = (grids.get(), st.hydrated.get()) {
            for (id, g) in [(METRIC_CHART_ID, &r.metric), (SCORE_CHART_ID, &r.score)] {
                let json = options(g).to_json();
                crate::echarts::draw(id, json, None);
            }
        }
    });
    let zone = move || match st.tz_offset.get() {
        Some(off) => format!("hours in your time zone (UTC{:+})", f64::from(off) / 60.0),
        None => "hours in UTC".to_string(),
    };
    let grid_table = move |g: RhythmGrid| {
        let unit = unit_of(&g.metric);
        let is_score = g.metric == crate::api::SCORE_METRIC;
        let heads = (0..24)
            .map(|h| view! { <th scope="col">{format!("{h:02}")}</th> })
            .collect_view();
        let rows = g
            .means
            .iter()
            .enumerate()
            .map(|(d, row)| {
                let cells = row
                    .iter()
                    .map(|v| {
                        let text = match v {
                            None => "—".to_string(),
                            Some(v) if is_score => format!("{v:.2}"),
                            Some(v) => by_unit(unit, *v),
                        };
                        view! { <td>{text}</td> }
                    })
                    .collect_view();
                view! { <tr><th scope="row">{DAYS[d % 7]}</th>{cells}</tr> }
            })
            .collect_view();
        view! {
            <table class="data-table rhythm-table" data-metric=g.metric.clone()>
                <caption>{g.metric.clone()}</caption>
                <thead><tr><th scope="col">"day"</th>{heads}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
    };
    view! {
        <section class="panel analysis-panel" id="rhythm" aria-label="Weekly rhythm">
            <h2>"Weekly rhythm, last 28 days"</h2>
            <p class="note">{zone} ". Mean per hour of the week."</p>
            <div class="rhythm-pair">
                <figure>
                    <figcaption>{move || st.metric.get()}</figcaption>
                    <div class="echart" id=METRIC_CHART_ID role="img"
                        aria-label="Heatmap of the metric by hour of day and day of week"
                        hidden=move || !st.hydrated.get()></div>
                </figure>
                <figure>
                    <figcaption>"anomaly score"</figcaption>
                    <div class="echart" id=SCORE_CHART_ID role="img"
                        aria-label="Heatmap of the anomaly score by hour of day and day of week"
                        hidden=move || !st.hydrated.get()></div>
                </figure>
            </div>
            <details class="table-fallback" open=move || !st.hydrated.get()>
                <summary>"Data as tables"</summary>
                <div class="table-scroll">
                    <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match grids.await {
                                Ok(r) => view! { {grid_table(r.metric)} {grid_table(r.score)} }.into_any(),
                                Err(e) => super::status_line(Some(e)).into_any(),
                            }
                        })}
                    </Transition>
                </div>
            </details>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_hour_day_mean() {
        let mut means = vec![vec![None; 24]; 7];
        means[0][2] = Some(92.46);
        means[6][23] = Some(5.0);
        let g = RhythmGrid {
            metric: "cpu_usage".into(),
            means,
            counts: vec![vec![0; 24]; 7],
        };
        let json = serde_json::to_value(options(&g)).unwrap();
        assert_eq!(
            json["series"][0]["data"],
            serde_json::json!([[2, 0, 92.0], [23, 6, 5.0]])
        );
        assert_eq!(json["yAxis"][0]["data"][0], "Mon");
        assert_eq!(json["xAxis"][0]["data"][23], "23");
        assert_eq!(json["visualMap"][0]["max"], 100.0);
        let score = RhythmGrid {
            metric: "anomaly_score".into(),
            ..g
        };
        assert_eq!(
            serde_json::to_value(options(&score)).unwrap()["visualMap"][0]["max"],
            1.0
        );
    }
}
