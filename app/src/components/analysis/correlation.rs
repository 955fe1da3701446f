//! The correlation matrix of the chosen metrics over the range (Pearson's r on their
//! bucketed history, with the number of points), the picker of those metrics, its
//! table, and the overlay of two series: drawn when a cell of the chart is clicked,
//! tabled (server-rendered, so it reads without JavaScript) when a cell of the table
//! is followed (`?pair=a,b`). Both read `/api/analysis/overlay`.

use charming::component::{Axis, Grid, Legend, VisualMap, VisualMapChannel};
use charming::datatype::{CompositeValue, DataPoint};
use charming::element::{AxisType, Label, Orient, Tooltip, Trigger};
use charming::series::{Heatmap, Line};
use leptos::prelude::*;
use lookout::model::{Correlation, History};

use crate::api::CHART_METRICS;
use crate::format::by_unit;

use super::options::{Options, Series};
use super::{data, AnalysisState, ChartPanel};

pub const CHART_ID: &str = "chart-correlation";
pub const OVERLAY_CHART_ID: &str = "chart-overlay";

/// The metrics the picker offers: the dashboard's charted ones (the anomaly score
/// included), in their order.
pub fn choices() -> impl Iterator<Item = &'static str> {
    CHART_METRICS.iter().copied()
}

/// `compare` with `m` added (in the picker's order) or taken out.
pub fn toggled(compare: &[String], m: &str, on: bool) -> Vec<String> {
    let mut out: Vec<String> = choices()
        .filter(|c| {
            if *c == m {
                on
            } else {
                compare.iter().any(|x| x == c)
            }
        })
        .map(str::to_string)
        .collect();
    // Names the picker does not offer (typed into the URL) stay, after its own.
    out.extend(
        compare
            .iter()
            .filter(|x| !choices().any(|c| c == *x))
            .cloned(),
    );
    out
}

/// The rows of the overlay table: every bucket start either series has, oldest first,
/// with each series' value there (None where it has none).
pub fn overlay_rows(h: &History) -> Vec<(i64, Option<f64>, Option<f64>)> {
    let (times, columns) = crate::timeline::align(h);
    let a = columns.first();
    let b = columns.get(1).or(a);
    let at = |c: Option<&Vec<Option<f64>>>, i: usize| c.and_then(|c| c[i]);
    times
        .into_iter()
        .enumerate()
        .map(|(i, t)| (t, at(a, i), at(b, i)))
        .collect()
}

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
    let matrix = crate::api::resource(
        move || (st.range.get(), st.compare.get(), st.host.get()),
        |(range, compare, host)| data::correlation(range, compare, host),
    );
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
            let (range, host) = (st.range.get_untracked(), st.host.get_untracked());
            let gen = generation.get_value() + 1;
            generation.set_value(gen);
            leptos::task::spawn_local(async move {
                let answer = data::overlay(range, (a, b), host).await;
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
        // A new range or set of metrics closes the overlay (its series were for the
        // old one).
        Effect::new(move |prev: Option<(crate::controls::Range, Vec<String>)>| {
            let now = (st.range.get(), st.compare.get());
            if prev.is_some_and(|p| p != now) {
                pair.set(None);
            }
            now
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
            label="Correlation matrix of the metrics; click a cell to overlay both series"
            controls=Box::new(move || view! { <MetricPicker st/> }.into_any())>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match matrix.await {
                        Ok(c) => view! { <CorrelationTable st c/> }.into_any(),
                        Err(e) => super::status_line(Some(e)).into_any(),
                    }
                })}
            </Transition>
        </ChartPanel>
        {overlay}
    }
}

/// Which metrics enter the matrix: a checkbox each, applied at once with JavaScript
/// (and written to the URL), by the "Compare" button without.
#[component]
pub fn MetricPicker(st: AnalysisState) -> impl IntoView {
    let on_submit = move |ev: leptos::ev::SubmitEvent| ev.prevent_default();
    let boxes = choices()
        .map(|m| {
            let on_change = move |ev: leptos::ev::Event| {
                let on = event_target_checked(&ev);
                st.compare.update(|c| *c = toggled(c, m, on));
            };
            view! {
                <label class="pick">
                    <input type="checkbox" name="compare" value=m
                        checked=move || st.compare.with(|c| c.iter().any(|x| x == m))
                        prop:checked=move || st.compare.with(|c| c.iter().any(|x| x == m))
                        on:change=on_change/>
                    {m}
                </label>
            }
        })
        .collect_view();
    view! {
        <form class="metric-picker" id="correlation-picker" method="get" action="/analysis" on:submit=on_submit>
            <fieldset>
                <legend>"Compare (2 to 12)"</legend>
                {boxes}
            </fieldset>
            <input type="hidden" name="range" value=move || st.range.get().key()/>
            <input type="hidden" name="metric" value=move || st.metric.get()/>
            {move || st.host.get().map(|h| view! { <input type="hidden" name="host" value=h/> })}
            <button type="submit" class="apply" hidden=move || st.hydrated.get()>"Compare"</button>
        </form>
    }
}

/// The two series of the cell the URL's `?pair=a,b` names, as a table (time and the
/// two values, on the correlation's buckets): the overlay without JavaScript.
// A component returns `impl IntoView`, not an `Option`: with `--cfg erase_components`
// (Cargo.toml) the macro turns the body into an `AnyView`.
#[component]
pub fn OverlayPanel(st: AnalysisState) -> impl IntoView {
    overlay_panel(st)
}

fn overlay_panel(st: AnalysisState) -> Option<impl IntoView> {
    // Only a page opened with `?pair=` has this panel (and its resource): the pair is
    // picked by a link of the table, which opens a new page.
    st.pair.get_untracked()?;
    let series = crate::api::resource(
        move || (st.range.get(), st.pair.get(), st.host.get()),
        |(range, pair, host)| async move {
            match pair {
                Some(p) => data::overlay(range, p, host).await.map(Some),
                None => Ok(None),
            }
        },
    );
    Some(view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let (a, b) = st.pair.get_untracked()?;
                let body = match series.await {
                    Ok(Some(h)) => view! { <OverlayTable st h/> }.into_any(),
                    Ok(None) => return None,
                    Err(e) => super::status_line(Some(e)).into_any(),
                };
                Some(view! {
                    <section class="panel analysis-panel" id="overlay" aria-label="Both series">
                        <h2>{format!("{a} and {b}")}</h2>
                        <p class="note">
                            "Both series on the correlation's buckets. "
                            <a href=st.url(None) id="overlay-back">"Back to the matrix"</a>
                        </p>
                        <div class="table-scroll">{body}</div>
                    </section>
                })
            })}
        </Transition>
    })
}

#[component]
fn OverlayTable(st: AnalysisState, h: History) -> impl IntoView {
    let rows = overlay_rows(&h);
    if rows.is_empty() {
        return view! { <p class="empty">"No samples in this range."</p> }.into_any();
    }
    let a = h.series.first().cloned();
    let b = h.series.get(1).cloned().or_else(|| a.clone());
    let head =
        |s: &Option<lookout::model::Series>| s.as_ref().map_or(String::new(), |s| s.metric.clone());
    let (ua, ub) = (a.as_ref().map(|s| s.unit), b.as_ref().map(|s| s.unit));
    let cell = |u: Option<lookout::model::Unit>, v: Option<f64>| match (u, v) {
        (Some(u), Some(v)) => by_unit(u, v),
        _ => "—".to_string(),
    };
    let style = st.range.get_untracked().time_style();
    let body = rows
        .into_iter()
        .map(|(t, va, vb)| {
            view! {
                <tr>
                    <th scope="row">{move || st.clock(t, style)}</th>
                    <td>{cell(ua, va)}</td>
                    <td>{cell(ub, vb)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="data-table" id="overlay-table">
            <thead>
                <tr><th scope="col">"time"</th><th scope="col">{head(&a)}</th><th scope="col">{head(&b)}</th></tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
    .into_any()
}

/// r and the number of shared points of every pair; each cell links to its two
/// series tabled ([`OverlayPanel`]).
#[component]
fn CorrelationTable(st: AnalysisState, c: Correlation) -> impl IntoView {
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
                .zip(&c.metrics)
                .map(|(cell, other)| {
                    let r = cell
                        .r
                        .map_or_else(|| "—".to_string(), |r| format!("{r:.2}"));
                    let href = st.url(Some((m, other)));
                    view! {
                        <td>
                            <a href=href title=format!("{m} and {other} overlaid")>{r}</a>
                            <span class="n">{format!(" (n={})", cell.n)}</span>
                        </td>
                    }
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
    fn the_picker_keeps_its_order_and_names_it_does_not_offer() {
        let c = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let now = toggled(
            &c(&["load_1", "cpu_usage", "typed_in"]),
            "memory_usage",
            true,
        );
        assert_eq!(now, c(&["cpu_usage", "memory_usage", "load_1", "typed_in"]));
        assert_eq!(
            toggled(&now, "cpu_usage", false),
            c(&["memory_usage", "load_1", "typed_in"])
        );
        assert!(choices().count() > data::CORRELATION_METRICS.len());
    }

    #[test]
    fn overlay_rows_pair_the_series_on_their_buckets() {
        let s = crate::timeline::tests::series;
        let h = History {
            from: 0,
            to: 3000,
            series: vec![
                s("a", &[(1000, 1.0), (2000, 2.0)]),
                s("b", &[(2000, 20.0), (3000, 30.0)]),
            ],
        };
        assert_eq!(
            overlay_rows(&h),
            [
                (1000, Some(1.0), None),
                (2000, Some(2.0), Some(20.0)),
                (3000, None, Some(30.0))
            ]
        );
        // A diagonal cell: one series, in both columns.
        let one = History {
            series: vec![s("a", &[(1000, 1.0)])],
            ..h
        };
        assert_eq!(overlay_rows(&one), [(1000, Some(1.0), Some(1.0))]);
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
