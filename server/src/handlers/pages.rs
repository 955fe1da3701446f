//! The pages' own step before Leptos renders them.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use app::page::Page;
use app::state::AppState;

/// Middleware: for a GET of the dashboard, reads what it starts from
/// (`app::components::dashboard::read_start`) and puts it on the request, where the
/// render finds it; the page answers with the status a read set (400 for an unknown
/// `?host=`). Runs inside the access check, so the caller is known. Every request
/// passes here: the state is shared (`Arc`), and copied only for the dashboard's.
pub async fn dashboard_start(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::GET || Page::at(req.uri().path()) != Page::Dashboard {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let (start, status) =
        app::components::dashboard::read_start(AppState::clone(&state), parts.clone()).await;
    parts.extensions.insert(start);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    response
}
