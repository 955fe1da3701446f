//! CPU per core over time: a heatmap of cores x time buckets, and its table.

use charming::component::{Axis, Grid, VisualMap};
use charming::datatype::DataPoint;
use charming::element::{AxisType, Orient, Tooltip, Trigger};
use charming::series::Heatmap;
use leptos::prelude::*;
use lookout::model::CoreHeatmap;

use super::options::{Options, Series};
use super::{data, AnalysisState, ChartPanel};
use crate::controls::Range;
use crate::format::{percent, TimeStyle};

pub const CHART_ID: &str = "chart-cores";

/// Colours from idle to busy (ECharts interpolates between them).
pub const HEAT: [&str; 3] = ["#f0f4ff", "#f59e0b", "#b91c1c"];

/// The heatmap's options: x = the bucket's time label, y = `cpuN`, colour = use (0-100 %).
pub fn options(h: &CoreHeatmap, label: impl Fn(i64) -> String) -> Options {
    let x: Vec<String> = h.times.iter().map(|t| label(*t)).collect();
    let y: Vec<String> = (0..h.cores.len()).map(|i| format!("cpu{i}")).collect();
    let cells: Vec<Vec<DataPoint>> = h
        .cores
        .iter()
        .enumerate()
        .flat_map(|(core, row)| {
            row.iter().enumerate().filter_map(move |(j, v)| {
                v.map(|v| vec![(j as i64).into(), (core as i64).into(), round1(v).into()])
            })
        })
        .collect();
    Options::new(
        Tooltip::new().trigger(Trigger::Item),
        Grid::new().left(56).right(16).top(8).bottom(72),
        Axis::new().type_(AxisType::Category).data(x),
        Axis::new().type_(AxisType::Category).data(y),
    )
    .visual_map(
        VisualMap::new()
            .min(0.0)
            .max(100.0)
            .calculable(true)
            .orient(Orient::Horizontal)
            .left("center")
            .bottom(0)
            .in_range(charming::component::VisualMapChannel::new().color(HEAT.to_vec())),
    )
    .series(Series::Heatmap(Heatmap::new().name("CPU %").data(cells)))
}

pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The heatmap's style of time label for a range.
pub fn style(range: Range) -> TimeStyle {
    match range {
        // 15-second buckets: minutes alone would repeat.
        Range::Live => TimeStyle::Seconds,
        Range::Hour | Range::Day => TimeStyle::Minutes,
        Range::Week => TimeStyle::DayMinutes,
    }
}

#[component]
pub fn CoresPanel(st: AnalysisState) -> impl IntoView {
    let heat = crate::api::resource(
        move || (st.range.get(), st.host.get()),
        |(range, host)| data::cores(range, host),
    );
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let tz = st.tz_offset.get();
        if let (Some(Ok(h)), Some(_)) = (heat.get(), tz) {
            let s = style(st.range.get_untracked());
            let json = options(&h, |t| st.axis_label(t, s)).to_json();
            crate::echarts::draw(CHART_ID, json, None);
        }
    });
    view! {
        <ChartPanel st id="cores-heatmap" title="CPU per core" chart_id=CHART_ID
            label="Heatmap of CPU use per core over time">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match heat.await {
                        Ok(h) => view! { <CoresTable st h/> }.into_any(),
                        Err(e) => super::status_line(Some(e)).into_any(),
                    }
                })}
            </Transition>
        </ChartPanel>
    }
}

/// One row per time bucket, one column per core.
#[component]
fn CoresTable(st: AnalysisState, h: CoreHeatmap) -> impl IntoView {
    if h.cores.is_empty() {
        return view! { <p class="empty">"No per-core samples in this range."</p> }.into_any();
    }
    let s = style(st.range.get_untracked());
    let heads = (0..h.cores.len())
        .map(|i| view! { <th scope="col">{format!("cpu{i}")}</th> })
        .collect_view();
    let rows = h
        .times
        .iter()
        .enumerate()
        .map(|(j, t)| {
            let t = *t;
            let cells = h
                .cores
                .iter()
                .map(|row| {
                    let v = row.get(j).copied().flatten();
                    view! { <td>{v.map_or_else(|| "—".to_string(), percent)}</td> }
                })
                .collect_view();
            view! { <tr><th scope="row">{move || st.clock(t, s)}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <table class="data-table" id="cores-table">
            <thead><tr><th scope="col">"time"</th>{heads}</tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_x_y_value_and_gaps_are_left_out() {
        let h = CoreHeatmap {
            from: 0,
            to: 120_000,
            bucket_secs: 60.0,
            times: vec![0, 60_000],
            cores: vec![vec![Some(12.345), None], vec![Some(3.0), Some(99.96)]],
        };
        let json = serde_json::to_value(options(&h, |t| format!("t{}", t / 1000))).unwrap();
        assert_eq!(json["xAxis"][0]["data"], serde_json::json!(["t0", "t60"]));
        assert_eq!(
            json["yAxis"][0]["data"],
            serde_json::json!(["cpu0", "cpu1"])
        );
        assert_eq!(json["series"][0]["type"], "heatmap");
        assert_eq!(
            json["series"][0]["data"],
            serde_json::json!([[0, 0, 12.3], [0, 1, 3.0], [1, 1, 100.0]])
        );
        assert_eq!(json["visualMap"][0]["max"], 100.0);
    }
}
