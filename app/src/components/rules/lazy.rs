//! The rule form in the browser, loaded on first use: its view code (`RuleEditor`) is a
//! wasm chunk of its own (`#[lazy]`), fetched when the form is first focused, pressed or
//! typed in, or a rule's Edit is clicked. A visit that only looks never downloads it.
//!
//! Hydrating the server's page, the main module takes the server-rendered form over as
//! an inert element (no code per field) and the chunk hydrates `RuleEditor` onto that
//! same element when it arrives: the markup never changes. Until then, text typed is in
//! the fields (the form's state is seeded from them), and a click on one of its buttons
//! or a submit is held and replayed once the form is live, so nothing is lost and the
//! form is never sent natively. Built in the browser instead (a client-side navigation
//! to `/`), there is no server form: the chunk is fetched at once and the form appears
//! when it arrives.
//!
//! The chunk's code runs after an await, when no component's owner is current: it runs
//! under the rule panel's owner, handed in, and reads no context.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use leptos::tachys::html::InertElement;
use leptos::tachys::hydration::Cursor;
use leptos::tachys::view::{Position, PositionState, RenderHtml};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

use super::editor::RuleEditor;
use super::form::RuleForm;
use super::RuleState;

/// Where the chunk puts the form.
enum Target {
    /// The server's form, to hydrate.
    Hydrate(web_sys::Element),
    /// A slot the dashboard built in the browser renders.
    Build(RwSignal<Option<AnyView>, LocalStorage>),
}

/// The rule form's place in the rule panel.
pub fn editor(state: RuleState) -> AnyView {
    let owner = Owner::current().expect("the rule panel renders under an owner");
    // Hydrating, the server's form is already in the document; a page the router
    // builds in the browser has none yet.
    match document().get_element_by_id("rule-form") {
        Some(el) => {
            take_over_on_use(state, owner, el);
            InertElement::new("").into_any()
        }
        None => {
            let slot = RwSignal::new_local(None::<AnyView>);
            leptos::task::spawn_local(load(state, owner, Target::Build(slot)));
            (move || {
                slot.track();
                slot.try_update_untracked(Option::take).flatten()
            })
            .into_any()
        }
    }
}

/// A click or submit that came before the form was live.
enum Held {
    Click(web_sys::HtmlElement),
    Submit,
}

fn take_over_on_use(state: RuleState, owner: Owner, el: web_sys::Element) {
    // The fields' values are properties, which the server's markup does not carry (the
    // severity select would show its first choice, the enabled box unchecked): set them
    // from the state now, as hydrating `prop:value` would have.
    state.form.with_untracked(|f| show(&el, f));
    let started = Rc::new(Cell::new(false));
    let live = Rc::new(Cell::new(false));
    let held = Rc::new(RefCell::new(None::<Held>));
    let start = {
        let (started, live, held, el) = (started.clone(), live.clone(), held.clone(), el.clone());
        Rc::new(move || {
            if started.replace(true) {
                return;
            }
            let (live, held, el, owner) = (live.clone(), held.clone(), el.clone(), owner.clone());
            leptos::task::spawn_local(async move {
                load(state, owner, Target::Hydrate(el.clone())).await;
                live.set(true);
                match held.borrow_mut().take() {
                    Some(Held::Click(button)) => button.click(),
                    Some(Held::Submit) => request_submit(&el),
                    None => {}
                }
            });
        })
    };
    let on_event = {
        let start = start.clone();
        Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
            if live.get() {
                return;
            }
            start();
            let ty = ev.type_();
            let button = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|t| t.closest("button").ok().flatten())
                .and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok());
            let hold = match (ty.as_str(), button) {
                ("click", Some(b)) => Some(Held::Click(b)),
                ("submit", _) => Some(Held::Submit),
                _ => None,
            };
            if let Some(h) = hold {
                ev.prevent_default();
                ev.stop_propagation();
                *held.borrow_mut() = Some(h);
            }
        })
    };
    for ty in ["focusin", "pointerdown", "input", "click", "submit"] {
        // Capture: seen before anything inside the form.
        let _ = el.add_event_listener_with_callback_and_bool(
            ty,
            on_event.as_ref().unchecked_ref(),
            true,
        );
    }
    // Lives as long as the page's form (the listeners do nothing once it is live).
    on_event.forget();
    // A rule's Edit fills the form's state: the form must be live to show it.
    let editing = state.editing;
    Effect::new(move |_| {
        if editing.with(Option::is_some) {
            start();
        }
    });
}

fn request_submit(form: &web_sys::Element) {
    let f = js_sys::Reflect::get(form, &JsValue::from_str("requestSubmit"));
    if let Ok(f) = f.and_then(|f| f.dyn_into::<js_sys::Function>()) {
        let _ = f.call0(form);
    }
}

/// The name of each field and where `RuleForm` keeps it.
const FIELDS: [(&str, fn(&RuleForm) -> &String); 8] = [
    ("name", |f| &f.name),
    ("kind", |f| &f.kind),
    ("severity", |f| &f.severity),
    ("condition", |f| &f.condition),
    ("resolve", |f| &f.resolve),
    ("min_score", |f| &f.min_score),
    ("for", |f| &f.for_),
    ("intervals", |f| &f.intervals),
];

fn field(form: &web_sys::Element, name: &str) -> Option<web_sys::Element> {
    form.query_selector(&format!("[name=\"{name}\"]"))
        .ok()
        .flatten()
}

fn show(form: &web_sys::Element, f: &RuleForm) {
    let set = |name: &str, prop: &str, v: JsValue| {
        if let Some(el) = field(form, name) {
            let _ = js_sys::Reflect::set(&el, &JsValue::from_str(prop), &v);
        }
    };
    for (name, get) in FIELDS {
        set(name, "value", JsValue::from_str(get(f)));
    }
    set("enabled", "checked", JsValue::from_bool(f.enabled));
}

/// The fields as typed before the form was live.
fn typed_form(el: &web_sys::Element) -> RuleForm {
    let get = |name: &str, prop: &str| {
        field(el, name)
            .and_then(|f| js_sys::Reflect::get(&f, &JsValue::from_str(prop)).ok())
            .unwrap_or(JsValue::UNDEFINED)
    };
    let text = |name: &str| get(name, "value").as_string().unwrap_or_default();
    RuleForm {
        name: text("name"),
        kind: text("kind"),
        severity: text("severity"),
        condition: text("condition"),
        resolve: text("resolve"),
        min_score: text("min_score"),
        for_: text("for"),
        intervals: text("intervals"),
        enabled: get("enabled", "checked").as_bool().unwrap_or(true),
    }
}

#[leptos::lazy]
async fn load(state: RuleState, owner: Owner, target: Target) {
    owner.with(|| {
        let view = move || {
            view! {
                <RuleEditor form=state.form editing=state.editing
                    on_save=Callback::new(move |()| state.submit())
                    on_test=Callback::new(move |()| state.test())
                    on_cancel=Callback::new(move |()| state.cancel())/>
            }
            .into_any()
        };
        match target {
            Target::Hydrate(el) => {
                // What was typed is in the fields; `prop:value` would overwrite it with
                // the state's, unless a rule's Edit has filled the state since.
                if state.editing.with_untracked(Option::is_none) {
                    state.form.set(typed_form(&el));
                }
                let cursor = Cursor::new(el);
                let position = PositionState::new(Position::Current);
                let hydrated = view().hydrate::<true>(&cursor, &position);
                // Kept (listeners, reactive bindings) as long as the rule panel.
                StoredValue::new_local(hydrated);
            }
            Target::Build(slot) => slot.set(Some(view())),
        }
    })
}
