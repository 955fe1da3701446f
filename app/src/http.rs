//! Plain `fetch` calls to the server's JSON API (same origin). Browser only.

use lookout::model::ApiError;
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

/// Sends a request with an optional JSON body and reads the answer as `T` with
/// [`crate::json`] (no serde visitor per wire type in the wasm: docs/wasm-size.md). A
/// non-2xx answer is an error carrying the server's `error` text ([`ApiError`]), else
/// the status.
async fn request<T: crate::json::FromJson>(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<T, String> {
    let value = fetch_json(method, url, body).await?;
    crate::json::read(crate::json::Json::from_js(&value)).map_err(|e| unexpected(url, e))
}

/// The part of [`request`] that does not depend on the answer's type: the fetch, the
/// error answer, `JSON.parse`. Not generic, so the wasm holds it once rather than once
/// per wire type (only the read of its result is).
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
        return Err(crate::json::decode::<ApiError>(&text)
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

pub async fn get_json<T: crate::json::FromJson>(url: &str) -> Result<T, String> {
    request("GET", url, None).await
}

pub async fn post_json<T: crate::json::FromJson>(
    url: &str,
    body: &impl Serialize,
) -> Result<T, String> {
    request("POST", url, Some(json(body)?)).await
}

pub async fn put_json<T: crate::json::FromJson>(
    url: &str,
    body: &impl Serialize,
) -> Result<T, String> {
    request("PUT", url, Some(json(body)?)).await
}

pub async fn delete_json<T: crate::json::FromJson>(url: &str) -> Result<T, String> {
    request("DELETE", url, None).await
}

fn unexpected(url: &str, e: String) -> String {
    format!("unexpected answer from {url}: {e}")
}

fn json(body: &impl Serialize) -> Result<String, String> {
    serde_json::to_string(body).map_err(|e| e.to_string())
}
