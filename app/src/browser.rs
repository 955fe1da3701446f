//! Browser-side plumbing: the server-sent-event connection that delivers each sample,
//! and the localStorage slot that remembers the refresh choice. Compiled with `hydrate`.

use lookout::model::Snapshot;
use wasm_bindgen::prelude::*;
use web_sys::{EventSource, MessageEvent};

/// Where the server pushes samples (`event: snapshot`, data = Snapshot JSON).
pub const STREAM_URL: &str = "/api/stream";
const REFRESH_KEY: &str = "lookout.refresh";

/// Connection state, shown next to the controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEvent {
    Open,
    Error,
}

/// An open event-source connection. Dropping it closes the connection and frees the
/// callbacks, so pausing is simply dropping it.
pub struct Stream {
    source: EventSource,
    _on_snapshot: Closure<dyn FnMut(MessageEvent)>,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Stream {
    /// Opens `url` ([`STREAM_URL`], with `?host=` for an agent host of a hub).
    pub fn connect(
        url: &str,
        mut on_snapshot: impl FnMut(Snapshot) + 'static,
        on_link: impl Fn(LinkEvent) + Clone + 'static,
    ) -> Result<Stream, JsValue> {
        let source = EventSource::new(url)?;
        let on_snapshot = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(text) = e.data().as_string() else {
                return;
            };
            match crate::json::decode::<Snapshot>(&text) {
                Ok(s) => on_snapshot(s),
                // A schema mismatch is a deploy problem, not a reason to stop the page.
                Err(err) => leptos::logging::warn!("bad snapshot event: {err}"),
            }
        });
        source
            .add_event_listener_with_callback("snapshot", on_snapshot.as_ref().unchecked_ref())?;
        let link = on_link.clone();
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| link(LinkEvent::Open));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        // EventSource reconnects by itself after an error; we only report it.
        let on_error =
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_link(LinkEvent::Error));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Stream {
            source,
            _on_snapshot: on_snapshot,
            _on_open: on_open,
            _on_error: on_error,
        })
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.source.set_onopen(None);
        self.source.set_onerror(None);
        self.source.close();
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The refresh choice saved by an earlier visit, if any.
pub fn load_refresh() -> Option<String> {
    storage()?.get_item(REFRESH_KEY).ok().flatten()
}

pub fn save_refresh(key: &str) {
    // Private browsing may refuse storage; the choice then lasts for this page only.
    if let Some(s) = storage() {
        let _ = s.set_item(REFRESH_KEY, key);
    }
}

/// Milliseconds since the epoch, from the browser's clock.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// The browser's zone offset east of UTC, in minutes, at time `t_ms`.
pub fn tz_offset_min(t_ms: i64) -> i32 {
    -(js_sys::Date::new(&JsValue::from_f64(t_ms as f64)).get_timezone_offset() as i32)
}
