//! Drawing `charming` charts with the vendored ECharts (`/vendor/echarts.min.js`, loaded
//! only by the analysis page). Browser only.
//!
//! charming's own `WasmRenderer` converts options with serde-wasm-bindgen, a second
//! serialiser next to serde_json in the wasm; here the options go through serde_json
//! (already there) and `JSON.parse`, with the handful of ECharts calls bound below.

use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// An ECharts instance.
    pub type Instance;

    #[wasm_bindgen(js_namespace = echarts, js_name = init)]
    fn init(el: &web_sys::Element) -> Instance;

    #[wasm_bindgen(js_namespace = echarts, js_name = getInstanceByDom)]
    fn instance_of(el: &web_sys::Element) -> Option<Instance>;

    #[wasm_bindgen(js_namespace = echarts, js_name = dispose)]
    fn dispose_el(el: &web_sys::Element);

    #[wasm_bindgen(method, js_name = setOption)]
    fn set_option(this: &Instance, option: &JsValue, not_merge: bool);

    #[wasm_bindgen(method)]
    fn on(this: &Instance, event: &str, handler: &js_sys::Function);

    #[wasm_bindgen(method)]
    fn off(this: &Instance, event: &str);

    #[wasm_bindgen(method)]
    fn resize(this: &Instance);
}

/// What a click on a chart item reports: the item's index in its series and its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Click {
    pub series: usize,
    pub index: usize,
}

type Handler = std::rc::Rc<dyn Fn(Click)>;
/// A click listener as ECharts holds it.
type Listener = Closure<dyn FnMut(JsValue)>;

thread_local! {
    /// The click closure of each chart (by element id), kept alive while it is bound.
    static CLICKS: RefCell<HashMap<String, Listener>> = RefCell::new(HashMap::new());
}

/// Tries for about 10 s: the ECharts script loads asynchronously when the page was
/// reached by in-app navigation, and the chart's element may not be in the DOM yet.
const TRIES: u32 = 200;
const RETRY_MS: i32 = 50;

fn echarts_loaded() -> bool {
    web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w, &JsValue::from_str("echarts")).ok())
        .is_some_and(|e| !e.is_undefined())
}

/// Draws `option` (a charming `Chart` as JSON) into the element `id`, replacing what
/// it showed; `on_click` is called with the clicked item.
pub fn draw(id: &str, option: String, on_click: Option<Handler>) {
    draw_try(id.to_string(), option, on_click, TRIES);
}

fn draw_try(id: String, option: String, on_click: Option<Handler>, tries: u32) {
    let el = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&id));
    // A hidden element (before hydration shows it) has no size: ECharts would draw at 0 x 0.
    let el = el.filter(|el| el.client_width() > 0);
    let (Some(el), true) = (el, echarts_loaded()) else {
        if tries > 0 {
            let again = Closure::once_into_js(move || draw_try(id, option, on_click, tries - 1));
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    again.unchecked_ref(),
                    RETRY_MS,
                );
            }
        } else {
            leptos::logging::warn!("chart {id}: ECharts or the element never appeared");
        }
        return;
    };
    let Ok(parsed) = js_sys::JSON::parse(&option) else {
        leptos::logging::warn!("chart {id}: options are not JSON");
        return;
    };
    let chart = instance_of(&el).unwrap_or_else(|| init(&el));
    chart.set_option(&parsed, true);
    chart.off("click");
    if let Some(handler) = on_click {
        let closure = Listener::new(move |p: JsValue| {
            let num = |k: &str| {
                js_sys::Reflect::get(&p, &JsValue::from_str(k))
                    .ok()
                    .and_then(|v| v.as_f64())
                    .map_or(0, |v| v as usize)
            };
            handler(Click {
                series: num("seriesIndex"),
                index: num("dataIndex"),
            });
        });
        chart.on("click", closure.as_ref().unchecked_ref());
        CLICKS.with(|c| c.borrow_mut().insert(id, closure));
    }
}

/// Resizes every chart of the given ids to its element (after a window resize).
pub fn resize(ids: &[&str]) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if !echarts_loaded() {
        return;
    }
    for id in ids {
        if let Some(chart) = doc.get_element_by_id(id).and_then(|el| instance_of(&el)) {
            chart.resize();
        }
    }
}

/// Frees the charts of the given ids (when the page unmounts).
pub fn dispose(ids: &[&str]) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    for id in ids {
        CLICKS.with(|c| c.borrow_mut().remove(*id));
        if echarts_loaded() {
            if let Some(el) = doc.get_element_by_id(id) {
                dispose_el(&el);
            }
        }
    }
}
