//! Plain `fetch` calls to the server's JSON API (same origin). Browser only.

use lookout::model::ApiError;
use serde::de::DeserializeOwned;
use serde::Serialize;
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

/// The session's CSRF token from the `lookout_csrf` cookie (set at sign-in), which
/// every state-changing request echoes in `X-CSRF-Token`.
fn csrf_token() -> Option<String> {
    let document = web_sys::window()?.document()?;
    let cookies = js_sys::Reflect::get(&document, &JsValue::from_str("cookie"))
        .ok()?
        .as_string()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == "lookout_csrf")
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Sends a request with an optional JSON body and reads the answer as `T` (use
/// `serde::de::IgnoredAny` when the answer does not matter). A non-2xx answer is an
/// error carrying the server's `error` text ([`ApiError`]), else the status.
pub async fn request<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<T, String> {
    let value = fetch_json(method, url, body).await?;
    serde_wasm_bindgen::from_value(value).map_err(|e| unexpected(url, e.to_string()))
}

/// The part of [`request`] that does not depend on the answer's type: the fetch, the
/// error answer, `JSON.parse`. Not generic, so the wasm holds it once rather than once
/// per wire type (only `from_value::<T>` is).
async fn fetch_json(method: &str, url: &str, body: Option<String>) -> Result<JsValue, String> {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().map_err(js_err)?;
    if let Some(b) = body {
        init.set_body(&JsValue::from_str(&b));
        headers
            .set("content-type", "application/json")
            .map_err(js_err)?;
    }
    if method != "GET" {
        if let Some(token) = csrf_token() {
            headers.set("x-csrf-token", &token).map_err(js_err)?;
        }
    }
    init.set_headers(&headers);
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
    if !resp.ok() {
        return Err(decode::<ApiError>(&text)
            .map(|e| e.error)
            .unwrap_or_else(|_| format!("HTTP {status}")));
    }
    let text = if text.trim().is_empty() {
        "null"
    } else {
        &text
    };
    js_sys::JSON::parse(text).map_err(|e| unexpected(url, js_err(e)))
}

/// [`request`]'s POST read with [`crate::json`].
pub async fn post_json<T: crate::json::FromJson>(
    url: &str,
    body: &impl Serialize,
) -> Result<T, String> {
    let value = fetch_json("POST", url, Some(json(body)?)).await?;
    crate::json::read(crate::json::Json::from_js(&value)).map_err(|e| unexpected(url, e))
}

/// [`request`]'s DELETE read with [`crate::json`].
pub async fn delete_json<T: crate::json::FromJson>(url: &str) -> Result<T, String> {
    let value = fetch_json("DELETE", url, None).await?;
    crate::json::read(crate::json::Json::from_js(&value)).map_err(|e| unexpected(url, e))
}

/// [`request`]'s GET read with [`crate::json`]: no serde visitor per wire type in the wasm (docs/wasm-size.md).
pub async fn get_json<T: crate::json::FromJson>(url: &str) -> Result<T, String> {
    let value = fetch_json("GET", url, None).await?;
    crate::json::read(crate::json::Json::from_js(&value)).map_err(|e| unexpected(url, e))
}

fn unexpected(url: &str, e: String) -> String {
    format!("unexpected answer from {url}: {e}")
}

/// Reads JSON text as `T` with serde, the way the reads not yet moved to
/// [`crate::json`] do (the /analysis and /admin pages, the actions' answers): the browser's
/// `JSON.parse`, then serde-wasm-bindgen takes each field off the parsed object. Same
/// JSON as serde_json reads (the server writes with serde_json), but no JSON parser in
/// the wasm inlined into every wire type's deserialiser: that was the largest part of
/// the dashboard's wasm (README, "dashboard wasm").
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_wasm_bindgen::from_value(parse(text)?).map_err(|e| e.to_string())
}

/// `JSON.parse`, apart from [`decode`] so it is not copied per type.
fn parse(text: &str) -> Result<JsValue, String> {
    js_sys::JSON::parse(text).map_err(js_err)
}

fn json(body: &impl Serialize) -> Result<String, String> {
    serde_json::to_string(body).map_err(|e| e.to_string())
}

pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    request("GET", url, None).await
}

pub async fn post<T: DeserializeOwned>(url: &str, body: &impl Serialize) -> Result<T, String> {
    request("POST", url, Some(json(body)?)).await
}

pub async fn put<T: DeserializeOwned>(url: &str, body: &impl Serialize) -> Result<T, String> {
    request("PUT", url, Some(json(body)?)).await
}

pub async fn delete<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    request("DELETE", url, None).await
}
