//! The wasm-bindgen binding to the vendored Chart.js (`/vendor/chart.umd.js`, loaded by
//! the shell before the wasm), and the glue that pushes a `Timeline` into a chart.
//! Browser only: compiled with the `hydrate` feature.

use js_sys::{Array, Reflect};
use lookout::model::Unit;
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

use crate::chart_spec::{config, ChartSpec, Palette, DARK, LIGHT};
use crate::format::{self, TimeStyle};
use crate::timeline::Timeline;

#[wasm_bindgen]
extern "C" {
    /// Chart.js' global `Chart` class (UMD build).
    pub type Chart;

    #[wasm_bindgen(catch, constructor, js_class = "Chart")]
    fn new(canvas: &HtmlCanvasElement, config: &JsValue) -> Result<Chart, JsValue>;

    #[wasm_bindgen(method, getter)]
    fn data(this: &Chart) -> JsValue;

    #[wasm_bindgen(method)]
    fn update(this: &Chart, mode: &str);

    #[wasm_bindgen(method)]
    pub fn destroy(this: &Chart);

    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    fn json_parse(text: &str) -> Result<JsValue, JsValue>;
}

/// The page follows the system theme; so do the charts' text and grid colours.
pub fn palette() -> &'static Palette {
    let dark = web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches());
    if dark {
        &DARK
    } else {
        &LIGHT
    }
}

/// Sets `obj.a.b.c = value`, the path existing already in the JSON config.
fn set_path(obj: &JsValue, path: &[&str], value: &JsValue) -> Result<(), JsValue> {
    let (last, parents) = path.split_last().expect("non-empty path");
    let mut target = obj.clone();
    for key in parents {
        target = Reflect::get(&target, &JsValue::from_str(key))?;
    }
    Reflect::set(&target, &JsValue::from_str(last), value).map(|_| ())
}

/// Creates the chart of `spec` on `canvas`, with unit-aware tick and tooltip labels.
pub fn create(canvas: &HtmlCanvasElement, spec: &ChartSpec) -> Result<Chart, JsValue> {
    let cfg = json_parse(&config(spec, palette()).to_string())?;
    let unit = spec.unit;
    // Formatters are Rust closures handed to JS for the page's lifetime (charts live as
    // long as the dashboard), so giving up ownership with `into_js_value` is intended.
    let tick = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |v: JsValue| {
        JsValue::from_str(&tick_label(unit, v.as_f64().unwrap_or(f64::NAN)))
    });
    set_path(
        &cfg,
        &["options", "scales", "y", "ticks", "callback"],
        &tick.into_js_value(),
    )?;
    let tooltip = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |ctx: JsValue| {
        let get = |o: &JsValue, k: &str| Reflect::get(o, &JsValue::from_str(k)).unwrap_or_default();
        let label = get(&get(&ctx, "dataset"), "label")
            .as_string()
            .unwrap_or_default();
        let y = get(&get(&ctx, "parsed"), "y").as_f64().unwrap_or(f64::NAN);
        JsValue::from_str(&format!("{label}: {}", format::by_unit(unit, y)))
    });
    let callbacks = js_sys::Object::new();
    Reflect::set(
        &callbacks,
        &JsValue::from_str("label"),
        &tooltip.into_js_value(),
    )?;
    set_path(
        &cfg,
        &["options", "plugins", "tooltip", "callbacks"],
        &callbacks,
    )?;
    // Inline plugin: shaded anomaly periods and the dashed threshold line, drawn under
    // the lines from what `show` leaves in `chart.$lookout`. A Rust closure, not JS text:
    // the Content-Security-Policy allows no string evaluation.
    let draw = Closure::<dyn Fn(JsValue)>::new(draw_marks).into_js_value();
    let plugin = js_sys::Object::new();
    Reflect::set(
        &plugin,
        &JsValue::from_str("id"),
        &JsValue::from_str("lookoutMarks"),
    )?;
    Reflect::set(&plugin, &JsValue::from_str("beforeDatasetsDraw"), &draw)?;
    Reflect::set(&cfg, &JsValue::from_str("plugins"), &Array::of1(&plugin))?;
    Chart::new(canvas, &cfg)
}

fn js_get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn js_set(o: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), value);
}

/// Calls `o[method](...args)`; undefined when it is not a function or throws.
fn js_call(o: &JsValue, method: &str, args: &[JsValue]) -> JsValue {
    let Ok(f) = js_get(o, method).dyn_into::<js_sys::Function>() else {
        return JsValue::UNDEFINED;
    };
    let list: Array = args.iter().collect();
    f.apply(o, &list).unwrap_or(JsValue::UNDEFINED)
}

fn js_num(o: &JsValue, key: &str) -> f64 {
    js_get(o, key).as_f64().unwrap_or(f64::NAN)
}

/// The marks plugin's `beforeDatasetsDraw(chart)`: anomaly bands as filled columns
/// over the plot area, then the threshold as a dashed line.
fn draw_marks(chart: JsValue) {
    let m = js_get(&chart, "$lookout");
    if !m.is_object() {
        return;
    }
    let ctx = js_get(&chart, "ctx");
    let area = js_get(&chart, "chartArea");
    let scales = js_get(&chart, "scales");
    let (x, y) = (js_get(&scales, "x"), js_get(&scales, "y"));
    if !(ctx.is_object() && area.is_object() && x.is_object() && y.is_object()) {
        return;
    }
    let (left, right) = (js_num(&area, "left"), js_num(&area, "right"));
    let (top, bottom) = (js_num(&area, "top"), js_num(&area, "bottom"));
    let px = |scale: &JsValue, v: JsValue| {
        js_call(scale, "getPixelForValue", &[v])
            .as_f64()
            .unwrap_or(f64::NAN)
    };
    js_call(&ctx, "save", &[]);
    js_set(&ctx, "fillStyle", &js_get(&m, "band"));
    if let Ok(bands) = js_get(&m, "bands").dyn_into::<Array>() {
        for band in bands.iter() {
            let band = Array::from(&band);
            let x0 = left.max(px(&x, band.get(0)) - 1.0);
            let x1 = right.min(px(&x, band.get(1)) + 1.0);
            js_call(
                &ctx,
                "fillRect",
                &[
                    x0.into(),
                    top.into(),
                    (x1 - x0).max(3.0).into(),
                    (bottom - top).into(),
                ],
            );
        }
    }
    if let Some(t) = js_get(&m, "threshold").as_f64() {
        let py = px(&y, t.into());
        js_set(&ctx, "strokeStyle", &js_get(&m, "line"));
        js_set(&ctx, "lineWidth", &1.0.into());
        let dash: Array = [6.0, 4.0].iter().map(|d| JsValue::from_f64(*d)).collect();
        js_call(&ctx, "setLineDash", &[dash.into()]);
        js_call(&ctx, "beginPath", &[]);
        js_call(&ctx, "moveTo", &[left.into(), py.into()]);
        js_call(&ctx, "lineTo", &[right.into(), py.into()]);
        js_call(&ctx, "stroke", &[]);
    }
    js_call(&ctx, "restore", &[]);
}

/// What the marks plugin draws over a chart's plot area.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marks {
    /// (first, last) axis index of each anomaly period.
    pub bands: Vec<(usize, usize)>,
    /// The score chart's decision threshold.
    pub threshold: Option<f64>,
    /// The dashed forecast line and its band past the newest point (charts with a
    /// `forecast` in their spec).
    pub forecast: Option<crate::chart_spec::ForecastSeries>,
}

fn set_marks(chart: &Chart, marks: &Marks) {
    let o = js_sys::Object::new();
    let bands: Array = marks
        .bands
        .iter()
        .map(|(a, b)| {
            JsValue::from(Array::of2(
                &JsValue::from_f64(*a as f64),
                &JsValue::from_f64(*b as f64),
            ))
        })
        .collect();
    let _ = Reflect::set(&o, &JsValue::from_str("bands"), &bands);
    let _ = Reflect::set(
        &o,
        &JsValue::from_str("threshold"),
        &marks.threshold.map_or(JsValue::NULL, JsValue::from_f64),
    );
    let p = palette();
    let _ = Reflect::set(&o, &JsValue::from_str("band"), &JsValue::from_str(p.band));
    let _ = Reflect::set(
        &o,
        &JsValue::from_str("line"),
        &JsValue::from_str(p.threshold),
    );
    let _ = Reflect::set(chart, &JsValue::from_str("$lookout"), &o);
}

/// Axis ticks are short: load keeps one decimal, percentages none.
fn tick_label(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Percent => format!("{v:.0} %"),
        Unit::Load => format!("{v:.1}"),
        other => format::by_unit(other, v),
    }
}

/// Replaces the chart's labels and line data with the timeline's, then redraws.
pub fn show(chart: &Chart, spec: &ChartSpec, timeline: &Timeline, style: TimeStyle, marks: &Marks) {
    set_marks(chart, marks);
    // The browser's offset for the newest point (JS counts minutes *west* of UTC).
    let offset_min = timeline.last_time().map_or(0, |t| {
        -(js_sys::Date::new(&JsValue::from_f64(t as f64)).get_timezone_offset() as i32)
    });
    let future = marks.forecast.as_ref().map_or(&[][..], |f| &f.future[..]);
    let labels: Array = timeline
        .times()
        .chain(future.iter().copied())
        .map(|t| JsValue::from_str(&format::time_label(t, offset_min, style)))
        .collect();
    let data = chart.data();
    let _ = Reflect::set(&data, &JsValue::from_str("labels"), &labels);
    let datasets =
        Array::from(&Reflect::get(&data, &JsValue::from_str("datasets")).unwrap_or_default());
    for (i, (metric, _)) in spec.lines.iter().enumerate() {
        let column: Array = timeline
            .column(metric)
            .into_iter()
            .flatten()
            // NaN (no point in that bucket) becomes null: a gap in the line.
            .map(|v| {
                if v.is_finite() {
                    JsValue::from_f64(*v)
                } else {
                    JsValue::NULL
                }
            })
            .collect();
        // Nothing drawn over the forecast's future part of the axis.
        for _ in future {
            column.push(&JsValue::NULL);
        }
        let _ = Reflect::set(&datasets.get(i as u32), &JsValue::from_str("data"), &column);
    }
    if spec.forecast.is_some() {
        let n = spec.lines.len() as u32;
        let f = marks.forecast.clone().unwrap_or_default();
        for (k, values) in [f.low, f.high, f.line].iter().enumerate() {
            let column: Array = values
                .iter()
                .map(|v| {
                    if v.is_finite() {
                        JsValue::from_f64(*v)
                    } else {
                        JsValue::NULL
                    }
                })
                .collect();
            let _ = Reflect::set(
                &datasets.get(n + k as u32),
                &JsValue::from_str("data"),
                &column,
            );
        }
    }
    chart.update("none");
}

/// A chart owned by a component: destroyed (canvas listeners and resize observer freed)
/// when the component's reactive owner drops it.
pub struct OwnedChart(pub Chart);

impl Drop for OwnedChart {
    fn drop(&mut self) {
        self.0.destroy();
    }
}
