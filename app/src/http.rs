//! Plain `fetch` calls to the server's JSON API (same origin). Browser only.

use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(&e, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Sends a request and returns the JSON answer (Null for an empty body). A non-2xx answer
/// is an error carrying the server's `error` text, else the status.
pub async fn request(method: &str, url: &str, body: Option<&Value>) -> Result<Value, String> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(b) = body {
        init.set_body(&JsValue::from_str(&b.to_string()));
        let headers = Headers::new().map_err(js_err)?;
        headers
            .set("content-type", "application/json")
            .map_err(js_err)?;
        init.set_headers(&headers);
    }
    let window = web_sys::window().ok_or("no window")?;
    let resp: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(js_err)?
        .dyn_into()
        .map_err(js_err)?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(js_err)?)
        .await
        .map_err(js_err)?
        .as_string()
        .unwrap_or_default();
    let value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if resp.ok() {
        Ok(value)
    } else {
        Err(value["error"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("HTTP {status}")))
    }
}

pub async fn get(url: &str) -> Result<Value, String> {
    request("GET", url, None).await
}

pub async fn post(url: &str, body: &Value) -> Result<Value, String> {
    request("POST", url, Some(body)).await
}
