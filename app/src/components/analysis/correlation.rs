//! The correlation matrix of the chosen metrics over the range (Pearson's r on their
//! bucketed history, with the number of points), its table, and the overlay of two
//! series that a click on a cell opens.

use charming::component::{Axis, Grid, Legend, VisualMap, VisualMapChannel};
use charming::datatype::{CompositeValue, DataPoint};
use charming::element::{AxisType, Label, Orient, Tooltip, Trigger};
use charming::series::{Heatmap, Line};
use leptos::prelude::*;
use lookout::model::{Correlation, History};

use super::options::{Options, Series};
use super::{data, AnalysisState, ChartPanel};

pub const CHART_ID: &str = "chart-correlation";
pub const OVERLAY_CHART_ID: &str = "chart-overlay";

/// From -1 (blue) through 0 (white) to 1 (red).
const DIVERGING: [&str; 3] = ["#2563eb", "#f8fafc", "#dc2626"];

/// The matrix as a heatmap: x = `metrics[j]`, y = `metrics[i]`, value = r (2
/// decimals), labelled in the cell; cells without an r are left out.
pub fn options(c: &Correlation) -> Options {
    let cells: Vec<Vec<DataPoint>> = c
        .cells
        .iter()
        .enumerate()
        .flat_map(|(i, row)| {
            row.iter().enumerate().filter_map(move |(j, cell)| {
                cell.r.map(|r| {
                    vec![
                        (j as i64).into(),
                        (i as i64).into(),
                        ((r * 100.0).round() / 100.0).into(),
                    ]
                })
            })
        })
        .collect();
    Options::new(
        Tooltip::new().trigger(Trigger::Item),
        Grid::new().left(150).right(16).top(8).bottom(130),
        Axis::new()
            .type_(AxisType::Category)
            .axis_label(charming::element::AxisLabel::new().rotate(45))
            .data(c.metrics.clone()),
        Axis::new()
            .type_(AxisType::Category)
            .inverse(true)
            .data(c.metrics.clone()),
    )
    .visual_map(
        VisualMap::new()
            .min(-1.0)
            .max(1.0)
            .calculable(true)
            .orient(Orient::Horizontal)
            .left("center")
            .bottom(0)
            .in_range(VisualMapChannel::new().color(DIVERGING.to_vec())),
    )
    .series(Series::Heatmap(
        Heatmap::new()
            .name("Pearson r")
            .label(Label::new().show(true))
            .data(cells),
    ))
}

/// The metrics of the heatmap cell clicked (the `index`-th item of [`options`]' data).
pub fn pair_at(c: &Correlation, index: usize) -> Option<(String, String)> {
    c.cells
        .iter()
        .enumerate()
        .flat_map(|(i, row)| {
            row.iter()
                .enumerate()
                .filter(|(_, cell)| cell.r.is_some())
                .map(move |(j, _)| (i, j))
        })
        .nth(index)
        .map(|(i, j)| (c.metrics[i].clone(), c.metrics[j].clone()))
}

/// Both series on one time axis, each on its own y axis (their units differ).
pub fn overlay_options(h: &History) -> Options {
    let mut chart = Options::new(
        Tooltip::new().trigger(Trigger::Axis),
        Grid::new().left(64).right(64).top(32).bottom(32),
        Axis::new().type_(AxisType::Time),
        Axis::new(),
    );
    chart.legend = Some(Legend::new().top(0));
    chart.y_axis.clear();
    for (k, s) in h.series.iter().enumerate().take(2) {
        chart.y_axis.push(
            Axis::new()
                .type_(AxisType::Value)
                .name(s.metric.clone())
                .scale(true),
        );
        let points: Vec<DataPoint> = s
            .points
            .iter()
            .map(|p| {
                DataPoint::from(CompositeValue::from(vec![
                    CompositeValue::from(p.t),
                    CompositeValue::from(p.v),
                ]))
            })
            .collect();
        chart = chart.series(Series::Line(
            Line::new()
                .name(s.metric.clone())
                .show_symbol(false)
                .y_axis_index(k as f64)
                .data(points),
        ));
    }
    chart
}

#[component]
pub fn CorrelationPanel(st: AnalysisState) -> impl IntoView {
    let matrix = Resource::new(move || st.range.get(), data::correlation);
    let pair = RwSignal::new(None::<(String, String)>);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            if let (Some(Ok(c)), true) = (matrix.get(), st.hydrated.get()) {
                let json = options(&c).to_json();
                let on_click = std::rc::Rc::new(move |click: crate::echarts::Click| {
                    if let Some(p) = pair_at(&c, click.index) {
                        pair.set(Some(p));
                    }
                });
                crate::echarts::draw(CHART_ID, json, Some(on_click));
            }
        });
        // The overlay's series, loaded for the pair and the range.
        let generation = StoredValue::new(0_u64);
        Effect::new(move |_| {
            let Some((a, b)) = pair.get() else {
                return;
            };
            let range = st.range.get_untracked();
            let gen = generation.get_value() + 1;
            generation.set_value(gen);
            leptos::task::spawn_local(async move {
                let (from, to) = data::window(range);
                let metrics = if a == b { a } else { format!("{a},{b}") };
                let points = data::CORRELATION_POINTS as u32;
                let answer = crate::api::get_history(metrics, from, to, points, None).await;
                if generation.try_get_value() != Some(gen) {
                    return;
                }
                match answer {
                    Ok(h) => {
                        let json = overlay_options(&h).to_json();
                        crate::echarts::draw(OVERLAY_CHART_ID, json, None);
                    }
                    Err(e) => leptos::logging::warn!("overlay: {e}"),
                }
            });
        });
        // A new range closes the overlay (its series were for the old one).
        Effect::new(move |prev: Option<crate::controls::Range>| {
            let r = st.range.get();
            if prev.is_some_and(|p| p != r) {
                pair.set(None);
            }
            r
        });
    }
    let overlay = move || {
        pair.get().map(|(a, b)| {
            view! {
                <div class="overlay" id="correlation-overlay" role="dialog" aria-label="Both series overlaid">
                    <div class="overlay-head">
                        <h3>{format!("{a} and {b}")}</h3>
                        <button type="button" id="overlay-close" on:click=move |_| pair.set(None)>"Close"</button>
                    </div>
                    <div class="echart" id=OVERLAY_CHART_ID role="img" aria-label="Both series over the range"></div>
                </div>
            }
        })
    };
    view! {
        <ChartPanel st id="correlation" title="Correlation" chart_id=CHART_ID
            label="Correlation matrix of the metrics; click a cell to overlay both series">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match matrix.await {
                        Ok(c) => view! { <CorrelationTable c/> }.into_any(),
                        Err(e) => super::status_line(Some(e)).into_any(),
                    }
                })}
            </Transition>
        </ChartPanel>
        {overlay}
    }
}

/// r and the number of shared points of every pair.
#[component]
fn CorrelationTable(c: Correlation) -> impl IntoView {
    let heads = c
        .metrics
        .iter()
        .map(|m| view! { <th scope="col">{m.clone()}</th> })
        .collect_view();
    let rows = c
        .metrics
        .iter()
        .zip(&c.cells)
        .map(|(m, row)| {
            let cells = row
                .iter()
                .map(|cell| {
                    let r = cell
                        .r
                        .map_or_else(|| "—".to_string(), |r| format!("{r:.2}"));
                    view! { <td>{r} <span class="n">{format!(" (n={})", cell.n)}</span></td> }
                })
                .collect_view();
            view! { <tr><th scope="row">{m.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <p class="note">{format!("Pearson r on {} s buckets (n = points both series have).", c.resolution_secs)}</p>
        <table class="data-table" id="correlation-table">
            <thead><tr><th scope="col">""</th>{heads}</tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout::model::{CorrelationCell, Point, Series, Unit};

    fn cell(r: Option<f64>) -> CorrelationCell {
        CorrelationCell { r, n: 10 }
    }

    #[test]
    fn cells_with_an_r_are_drawn_and_a_click_finds_their_pair() {
        let c = Correlation {
            from: 0,
            to: 1,
            resolution_secs: 60.0,
            metrics: vec!["a".into(), "b".into()],
            cells: vec![
                vec![cell(Some(1.0)), cell(None)],
                vec![cell(None), cell(Some(-0.456))],
            ],
        };
        let json = serde_json::to_value(options(&c)).unwrap();
        assert_eq!(
            json["series"][0]["data"],
            serde_json::json!([[0, 0, 1.0], [1, 1, -0.46]])
        );
        assert_eq!(json["visualMap"][0]["min"], -1.0);
        assert_eq!(pair_at(&c, 0), Some(("a".into(), "a".into())));
        assert_eq!(pair_at(&c, 1), Some(("b".into(), "b".into())));
        assert_eq!(pair_at(&c, 2), None);
    }

    #[test]
    fn the_overlay_puts_each_series_on_its_own_axis() {
        let s = |m: &str, v: f64| Series {
            metric: m.into(),
            unit: Unit::Percent,
            resolution_secs: 1.0,
            points: vec![Point {
                t: 1000,
                v,
                min: v,
                max: v,
            }],
        };
        let h = History {
            from: 0,
            to: 2000,
            series: vec![s("cpu_usage", 5.0), s("load_1", 0.5)],
        };
        let json = serde_json::to_value(overlay_options(&h)).unwrap();
        assert_eq!(json["yAxis"].as_array().unwrap().len(), 2);
        assert_eq!(json["series"][1]["yAxisIndex"], 1.0);
        assert_eq!(json["series"][1]["data"], serde_json::json!([[1000, 0.5]]));
    }
}
