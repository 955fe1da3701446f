//! Every plain (non-Leptos) route, with who may call it. The router is built from this
//! table alone, and the auth middleware reads its rules from it, so a route cannot
//! exist without an access rule. `server/tests/access.rs` lists each of them again
//! with the status every kind of caller must get: add a row there too.

use crate::auth::handlers as auth;
use crate::auth::policy::Access;
use crate::handlers;
use crate::ServerState;
use axum::routing::{delete, get, post, put, MethodRouter};

/// One method on one path.
pub struct Endpoint {
    pub method: &'static str,
    /// An axum path pattern (`{id}` is one segment).
    pub path: &'static str,
    pub access: Access,
    /// Audit action recorded when the call succeeds (handlers that audit themselves,
    /// such as users and tokens, leave this None).
    pub audit: Option<&'static str>,
    pub handler: fn() -> MethodRouter<ServerState>,
}

const fn ep(
    method: &'static str,
    path: &'static str,
    access: Access,
    audit: Option<&'static str>,
    handler: fn() -> MethodRouter<ServerState>,
) -> Endpoint {
    Endpoint {
        method,
        path,
        access,
        audit,
        handler,
    }
}

use Access::{Admin, Developer, Ingest, Public, Viewer};

pub const ENDPOINTS: &[Endpoint] = &[
    // Probes: load balancers call them without credentials.
    ep("GET", "/healthz", Public, None, || get(handlers::healthz)),
    ep("GET", "/readyz", Public, None, || get(handlers::readyz)),
    // The raw history API is a developer's; the dashboard uses /api/series.
    ep("GET", "/api/history", Developer, None, || {
        get(handlers::history)
    }),
    // Forecasts (time until full, leaks) for scripts and the dashboard's cards.
    ep("GET", "/api/forecast", Viewer, None, || {
        get(handlers::forecast)
    }),
    // The Prometheus text exposition, for a Prometheus (or compatible) scraper.
    ep("GET", "/metrics/prometheus", Viewer, None, || {
        get(crate::interop::prometheus_metrics)
    }),
    // The dashboard's live feed.
    ep("GET", "/api/stream", Viewer, None, || get(handlers::stream)),
    ep("GET", "/api/anomalies", Viewer, None, || {
        get(handlers::anomalies)
    }),
    ep(
        "POST",
        "/api/anomalies/{id}/expected",
        Admin,
        Some("event.expected"),
        || post(handlers::mark_expected),
    ),
    ep("GET", "/api/model", Viewer, None, || get(handlers::model)),
    // One tile per host (this one and, on a hub, every agent host), worst first.
    ep("GET", "/api/fleet", Viewer, None, || {
        get(crate::hosts::fleet)
    }),
    // The analysis page's data (server/src/analysis.rs).
    ep("GET", "/api/analysis/cores", Viewer, None, || {
        get(crate::analysis::cores)
    }),
    ep("GET", "/api/analysis/rhythm", Viewer, None, || {
        get(crate::analysis::rhythm)
    }),
    ep("GET", "/api/analysis/correlation", Viewer, None, || {
        get(crate::analysis::correlation)
    }),
    ep("GET", "/api/analysis/overlay", Viewer, None, || {
        get(crate::analysis::overlay)
    }),
    ep(
        "POST",
        "/api/model/train",
        Admin,
        Some("model.train"),
        || post(handlers::train),
    ),
    ep(
        "POST",
        "/api/model/sensitivity",
        Admin,
        Some("sensitivity.set"),
        || post(handlers::sensitivity),
    ),
    ep("GET", "/api/alerts", Viewer, None, || get(handlers::alerts)),
    ep("GET", "/api/alerts/history", Viewer, None, || {
        get(handlers::alert_history)
    }),
    ep(
        "POST",
        "/api/alerts/test",
        Admin,
        Some("alert.test"),
        || post(handlers::alert_test),
    ),
    // A dry run of a rule being edited: changes nothing, but rule editing is an admin's.
    ep("POST", "/api/alerts/rules/test", Admin, None, || {
        post(handlers::test_rule)
    }),
    ep(
        "PUT",
        "/api/alerts/rules/{name}",
        Admin,
        Some("rule.put"),
        || put(handlers::put_rule),
    ),
    ep(
        "DELETE",
        "/api/alerts/rules/{name}",
        Admin,
        Some("rule.delete"),
        || delete(handlers::delete_rule),
    ),
    ep("GET", "/api/silences", Viewer, None, || {
        get(handlers::silences)
    }),
    ep("POST", "/api/silences", Admin, Some("silence.add"), || {
        post(handlers::add_silence)
    }),
    ep(
        "DELETE",
        "/api/silences/{id}",
        Admin,
        Some("silence.expire"),
        || delete(handlers::expire_silence),
    ),
    // Sessions. Login is open (and rate-limited); logout ends whatever session it has.
    ep("POST", "/api/auth/login", Public, None, || {
        post(auth::login)
    }),
    ep("POST", "/api/auth/logout", Public, None, || {
        post(auth::logout)
    }),
    // Administration (these handlers write their own audit entries).
    ep("GET", "/api/users", Admin, None, || get(auth::list_users)),
    ep("POST", "/api/users", Admin, None, || post(auth::add_user)),
    ep("DELETE", "/api/users/{name}", Admin, None, || {
        delete(auth::remove_user)
    }),
    ep("GET", "/api/tokens", Admin, None, || get(auth::list_tokens)),
    ep("POST", "/api/tokens", Admin, None, || {
        post(auth::create_token)
    }),
    ep("DELETE", "/api/tokens/{id}", Admin, None, || {
        delete(auth::revoke_token)
    }),
    ep("GET", "/api/audit", Admin, None, || get(auth::audit_log)),
    // Agents' batches (ingest.rs): an ingest token only, bound to its host.
    ep("POST", "/api/ingest", Ingest, None, || {
        post(crate::ingest::ingest)
    }),
    // The developer logs view: recent log lines from memory (logging.rs).
    ep("GET", "/api/logs", Developer, None, || {
        get(crate::logging::logs_api)
    }),
];
