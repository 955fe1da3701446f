//! Who may call what: every route and server function of the router, called as every
//! kind of caller, against one table of expected statuses. The table must list every
//! route: the test fails if the router, the Leptos pages or the registered server
//! functions have one the table does not (or the other way round).
//!
//! Also: denied answers carry no data, CSRF, session expiry by a given clock, the
//! login rate limit, tokens shown once and revoked at once, the audit log, and the
//! open mode (no users on loopback) that keeps the old behaviour.
//!
//! In-process: the real router over a real engine (sampler, SQLite file in a temp
//! folder), called with `tower::ServiceExt::oneshot`.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use lookout::store::auth::{Role, Scope};
use lookout::store::Store;
use lookout_server::auth::policy::{PAGES, SERVER_FNS};
use lookout_server::auth::{Auth, AuthSettings};
use lookout_server::config::{self, Settings};
use lookout_server::endpoints::ENDPOINTS;
use lookout_server::runtime::{self, Tasks};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const PASSWORD: &str = "password-for-tests";

/// The callers, in the order of the table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Viewer,
    Developer,
    Admin,
    ReadToken,
    AdminToken,
}
use Who::*;
const WHO: [Who; 6] = [Anonymous, Viewer, Developer, Admin, ReadToken, AdminToken];

/// One row: a request and the status each caller gets, in `WHO` order. `{x}` in the
/// path or body is replaced per call by `setup`'s answer (a fresh resource to act on)
/// or a unique name.
struct Row {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    setup: Setup,
    expect: [u16; 6],
}

#[derive(Clone, Copy)]
enum Setup {
    None,
    /// A unique name for `{x}`.
    Unique,
    /// A silence to expire.
    Silence,
    /// An anomaly event to mark.
    Event,
    /// A saved alert rule to delete.
    Rule,
    /// A live token to revoke.
    Token,
    /// A viewer user to remove.
    User,
}

const fn row(
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    setup: Setup,
    expect: [u16; 6],
) -> Row {
    Row {
        method,
        path,
        body,
        setup,
        expect,
    }
}

const RULE: &str = r#"{"condition": "cpu_usage > 99 for 5m", "severity": "warning"}"#;
const NAMED_RULE: &str =
    r#"{"name": "probe", "condition": "cpu_usage > 99 for 5m", "severity": "warning"}"#;

//                         anon  view  dev  admin  read  admtok
const OPEN: [u16; 6] = [200, 200, 200, 200, 200, 200];
const VIEW: [u16; 6] = [401, 200, 200, 200, 200, 200];
const DEV: [u16; 6] = [401, 403, 200, 200, 403, 200];
const fn admin(ok: u16) -> [u16; 6] {
    [401, 403, 403, ok, 403, ok]
}
const PAGE: [u16; 6] = [303, 200, 200, 200, 200, 200];

fn table() -> Vec<Row> {
    use Setup as S;
    vec![
        // Probes.
        row("GET", "/healthz", None, S::None, OPEN),
        row("GET", "/readyz", None, S::None, OPEN),
        // Reads.
        row(
            "GET",
            "/api/history?metric=cpu_usage&from=-5m",
            None,
            S::None,
            DEV,
        ),
        row("GET", "/metrics/prometheus", None, S::None, VIEW),
        row("GET", "/api/stream", None, S::None, VIEW),
        row(
            "GET",
            "/api/forecast?metric=all&horizon=24h",
            None,
            S::None,
            VIEW,
        ),
        row("GET", "/api/anomalies", None, S::None, VIEW),
        row("GET", "/api/model", None, S::None, VIEW),
        row("GET", "/api/fleet", None, S::None, VIEW),
        row("GET", "/api/analysis/cores", None, S::None, VIEW),
        row("GET", "/api/analysis/rhythm", None, S::None, VIEW),
        row(
            "GET",
            "/api/analysis/correlation?metric=cpu_usage,load_1",
            None,
            S::None,
            VIEW,
        ),
        row(
            "GET",
            "/api/analysis/overlay?metric=cpu_usage,load_1",
            None,
            S::None,
            VIEW,
        ),
        row("GET", "/api/alerts", None, S::None, VIEW),
        row("GET", "/api/alerts/history", None, S::None, VIEW),
        row("GET", "/api/silences", None, S::None, VIEW),
        row("GET", "/api/logs", None, S::None, DEV),
        // Admin actions (the handler's own answer where allowed).
        row(
            "POST",
            "/api/anomalies/{x}/expected",
            Some(r#"{"expected": true}"#),
            S::Event,
            admin(200),
        ),
        // No samples to train on yet: the trainer says so.
        row("POST", "/api/model/train", None, S::None, admin(409)),
        row(
            "POST",
            "/api/model/sensitivity",
            Some(r#"{"sensitivity": "high"}"#),
            S::None,
            admin(200),
        ),
        // No channel of that name: the handler says so.
        row(
            "POST",
            "/api/alerts/test",
            Some(r#"{"channel": "none"}"#),
            S::None,
            admin(400),
        ),
        row(
            "POST",
            "/api/alerts/rules/test",
            Some(NAMED_RULE),
            S::None,
            admin(200),
        ),
        row(
            "PUT",
            "/api/alerts/rules/{x}",
            Some(RULE),
            S::Unique,
            admin(200),
        ),
        row("DELETE", "/api/alerts/rules/{x}", None, S::Rule, admin(200)),
        row(
            "POST",
            "/api/silences",
            Some(r#"{"host": "h", "duration": "1h", "comment": "t"}"#),
            S::None,
            admin(201),
        ),
        row("DELETE", "/api/silences/{x}", None, S::Silence, admin(200)),
        // Sessions: login is open to all (it answers for the credentials it is given).
        row(
            "POST",
            "/api/auth/login",
            Some(r#"{"username": "admin", "password": "password-for-tests"}"#),
            S::None,
            OPEN,
        ),
        row("POST", "/api/auth/logout", None, S::None, OPEN),
        // Administration.
        row("GET", "/api/users", None, S::None, admin(200)),
        row(
            "POST",
            "/api/users",
            Some(r#"{"name": "{x}", "role": "viewer", "password": "password-for-tests"}"#),
            S::Unique,
            admin(201),
        ),
        row("DELETE", "/api/users/{x}", None, S::User, admin(200)),
        row("GET", "/api/tokens", None, S::None, admin(200)),
        row(
            "POST",
            "/api/tokens",
            Some(r#"{"name": "{x}", "scope": "read"}"#),
            S::Unique,
            admin(201),
        ),
        row("DELETE", "/api/tokens/{x}", None, S::Token, admin(200)),
        row("GET", "/api/audit", None, S::None, admin(200)),
        // Agents' batches: an ingest token only, never a user or another token
        // (tests/ingest.rs sends real batches).
        row(
            "POST",
            "/api/ingest",
            Some("{}"),
            S::None,
            [401, 403, 403, 403, 403, 403],
        ),
        // Server functions.
        row("GET", "/metrics", None, S::None, VIEW),
        row(
            "GET",
            "/api/series?metrics=cpu_usage&from=0&to=2000000000000&points=10",
            None,
            S::None,
            VIEW,
        ),
        row("GET", "/api/settings", None, S::None, VIEW),
        row("GET", "/api/auth/me", None, S::None, VIEW),
        // Pages.
        row("GET", "/", None, S::None, PAGE),
        row("GET", "/dashboard", None, S::None, PAGE),
        row("GET", "/analysis", None, S::None, PAGE),
        row("GET", "/login", None, S::None, OPEN),
        row(
            "GET",
            "/admin",
            None,
            S::None,
            [303, 403, 403, 200, 403, 200],
        ),
        // Static files are public (the login page needs its styles).
        row("GET", "/pkg/lookout.css", None, S::None, OPEN),
        // Not listed anywhere: closed (a viewer for GET, an admin for the rest).
        row(
            "GET",
            "/no-such-page",
            None,
            S::None,
            [303, 404, 404, 404, 404, 404],
        ),
        row(
            "POST",
            "/api/no-such-route",
            Some("{}"),
            S::None,
            admin(404),
        ),
    ]
}

/// Rows that are not routes (they check the closed default).
const UNLISTED: &[&str] = &["/no-such-page", "/api/no-such-route"];

struct Fixture {
    _dir: tempfile::TempDir,
    tasks: Option<Tasks>,
    store: Arc<Store>,
    router: Router,
    read_token: String,
    admin_token: String,
    counter: AtomicI64,
    clock: Arc<AtomicI64>,
    settings: Settings,
}

fn settings(dir: &std::path::Path) -> Settings {
    let site = dir.join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/lookout.css"), "body{}").unwrap();
    let env: Vec<(String, String)> = [
        ("LOOKOUT_STORE_PATH", dir.join("lookout.db")),
        ("LOOKOUT_DETECTOR_MODELS_DIR", dir.join("models")),
        ("LOOKOUT_SERVER_SITE_ROOT", site),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string_lossy().to_string()))
    .chain([
        ("LOOKOUT_SAMPLER_INTERVAL".into(), "1s".into()),
        ("LOOKOUT_STORE_FLUSH_INTERVAL".into(), "0s".into()),
    ])
    .collect();
    config::load(None, &env, &[]).unwrap()
}

impl Fixture {
    /// A running engine with one user per role and one token per scope.
    async fn new() -> Fixture {
        Self::with(true, AuthSettings::default()).await
    }

    async fn with(users: bool, auth_settings: AuthSettings) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let store = Arc::new(lookout_server::open_store(&settings).unwrap());
        let (mut read_token, mut admin_token) = (String::new(), String::new());
        if users {
            for (name, role) in [
                ("viewer", Role::Viewer),
                ("developer", Role::Developer),
                ("admin", Role::Admin),
            ] {
                store.add_user(name, role, PASSWORD, 0).unwrap();
            }
            read_token = store
                .create_token("read", Scope::Read, "test", 0)
                .unwrap()
                .1;
            admin_token = store
                .create_token("adm", Scope::Admin, "test", 0)
                .unwrap()
                .1;
        }
        let tasks = runtime::start(&settings, store.clone()).unwrap();
        let clock = Arc::new(AtomicI64::new(runtime::now_ms()));
        let c = clock.clone();
        let auth = Auth::with_clock(
            store.clone(),
            auth_settings,
            Arc::new(move || c.load(Ordering::SeqCst)),
        );
        let router = lookout_server::router_with_auth(&settings, tasks.services.clone(), auth);
        // /metrics answers 503 until the first sample.
        let latest = tasks.services.latest.clone();
        for _ in 0..100 {
            if latest.borrow().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Fixture {
            _dir: dir,
            tasks: Some(tasks),
            store,
            router,
            read_token,
            admin_token,
            counter: AtomicI64::new(0),
            clock,
            settings,
        }
    }

    fn unique(&self) -> String {
        format!("t{}", self.counter.fetch_add(1, Ordering::SeqCst))
    }

    /// A fresh session for `who` (so a logout row does not end the others'): the
    /// cookie value and its CSRF token.
    fn session(&self, who: Who) -> Option<(String, String)> {
        let name = match who {
            Viewer => "viewer",
            Developer => "developer",
            Admin => "admin",
            _ => return None,
        };
        let user = self
            .store
            .users()
            .unwrap()
            .into_iter()
            .find(|u| u.name == name)
            .unwrap();
        let s = self
            .store
            .create_session(user.id, 3_600_000, self.clock.load(Ordering::SeqCst))
            .unwrap();
        Some((s.secret, s.csrf_token))
    }

    fn request(&self, who: Who, method: &str, path: &str, body: Option<&str>) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(path);
        match who {
            Anonymous => {}
            ReadToken => b = b.header(header::AUTHORIZATION, format!("Bearer {}", self.read_token)),
            AdminToken => {
                b = b.header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", self.admin_token),
                )
            }
            _ => {
                let (secret, csrf) = self.session(who).unwrap();
                b = b
                    .header(header::COOKIE, format!("lookout_session={secret}"))
                    .header("x-csrf-token", csrf);
            }
        }
        if body.is_some() {
            b = b.header(header::CONTENT_TYPE, "application/json");
        }
        b.body(Body::from(body.unwrap_or("").to_string())).unwrap()
    }

    async fn send(&self, req: Request<Body>) -> axum::response::Response {
        self.router.clone().oneshot(req).await.unwrap()
    }

    /// Sends and reads the body (not for streams).
    async fn call(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let resp = self.send(req).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20)
            .await
            .unwrap();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn admin_json(&self, method: &str, path: &str, body: Option<&str>) -> Value {
        let (status, _, text) = self
            .call(self.request(AdminToken, method, path, body))
            .await;
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// What `{x}` becomes for one call of a row.
    async fn prepare(&self, setup: Setup) -> String {
        let now = runtime::now_ms();
        match setup {
            Setup::None => String::new(),
            Setup::Unique => self.unique(),
            Setup::Silence => {
                let v = self
                    .admin_json(
                        "POST",
                        "/api/silences",
                        Some(r#"{"host": "h", "duration": "1h"}"#),
                    )
                    .await;
                v["id"].to_string()
            }
            Setup::Event => {
                let id = self
                    .store
                    .save_event(&lookout::model::AnomalyEvent {
                        host: self.settings.host.clone(),
                        start: now - 60_000,
                        end: Some(now - 30_000),
                        peak_score: 0.99,
                        peak_at: now - 45_000,
                        ..Default::default()
                    })
                    .unwrap();
                id.to_string()
            }
            Setup::Rule => {
                let name = self.unique();
                self.admin_json("PUT", &format!("/api/alerts/rules/{name}"), Some(RULE))
                    .await;
                name
            }
            Setup::Token => {
                let (meta, _) = self
                    .store
                    .create_token(&self.unique(), Scope::Read, "test", now)
                    .unwrap();
                meta.id.to_string()
            }
            Setup::User => {
                let name = self.unique();
                self.store
                    .add_user(&name, Role::Viewer, PASSWORD, now)
                    .unwrap();
                name
            }
        }
    }

    async fn stop(mut self) {
        if let Some(t) = self.tasks.take() {
            t.shutdown().await;
        }
    }
}

/// A denied answer says why and nothing else.
fn assert_no_data(label: &str, status: StatusCode, headers: &axum::http::HeaderMap, body: &str) {
    match status.as_u16() {
        303 => {
            let loc = headers[header::LOCATION].to_str().unwrap();
            assert!(
                loc.starts_with("/login?next="),
                "{label}: redirect to {loc}"
            );
            assert!(body.is_empty(), "{label}: a redirect with a body: {body}");
        }
        401 | 403 if body.trim_start().starts_with('{') => {
            let v: Value = serde_json::from_str(body).unwrap();
            let obj = v.as_object().unwrap();
            assert_eq!(obj.len(), 1, "{label}: more than an error: {body}");
            assert!(obj["error"].is_string(), "{label}: {body}");
        }
        403 => {
            // A page: a short HTML note, no app, no scripts.
            assert!(
                body.contains("Forbidden") && !body.contains("<script"),
                "{label}: {body}"
            );
            assert!(body.len() < 1000, "{label}: {} bytes", body.len());
        }
        other => panic!("{label}: {other} is not a denial"),
    }
}

/// `/api/silences/{id}` and `/api/silences/{x}` name the same route.
fn shape(path: &str) -> String {
    let path = path.split('?').next().unwrap();
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_caller_as_the_table_says() {
    let f = Fixture::new().await;
    let mut failures = Vec::new();
    for r in table() {
        for (i, who) in WHO.iter().enumerate() {
            let x = f.prepare(r.setup).await;
            let path = r.path.replace("{x}", &x);
            let body = r.body.map(|b| b.replace("{x}", &x));
            let label = format!("{} {} as {who:?}", r.method, r.path);
            let req = f.request(*who, r.method, &path, body.as_deref());
            let resp = f.send(req).await;
            let status = resp.status();
            if status.as_u16() != r.expect[i] {
                let text = if path == "/api/stream" {
                    String::new()
                } else {
                    let b = axum::body::to_bytes(resp.into_body(), 1 << 20)
                        .await
                        .unwrap();
                    String::from_utf8_lossy(&b).chars().take(200).collect()
                };
                failures.push(format!(
                    "{label}: got {status}, want {} ({text})",
                    r.expect[i]
                ));
                continue;
            }
            if matches!(status.as_u16(), 303 | 401 | 403) {
                let headers = resp.headers().clone();
                let b = axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap();
                assert_no_data(&label, status, &headers, &String::from_utf8_lossy(&b));
            }
        }
    }
    f.stop().await;
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_lists_every_route_page_and_server_function() {
    let listed: BTreeSet<(String, String)> = table()
        .iter()
        .filter(|r| !UNLISTED.iter().any(|u| r.path.starts_with(u)))
        .filter(|r| !r.path.starts_with("/pkg/"))
        .map(|r| (r.method.to_string(), shape(r.path)))
        .collect();
    let mut served: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|e| (e.method.to_string(), shape(e.path)))
        .collect();
    // The Leptos pages as the app declares them, and the access rules for pages.
    // Through the server's one list: generating another would hold resource loads in
    // every other test of this process meanwhile (see lookout_server::route_list).
    let pages: BTreeSet<String> = lookout_server::route_list()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    let ruled: BTreeSet<String> = PAGES.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(
        pages, ruled,
        "auth::policy::PAGES must list exactly the app's pages"
    );
    served.extend(pages.iter().map(|p| ("GET".to_string(), p.clone())));
    // Every registered server function, and the access rules for them.
    let fns: BTreeSet<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, m)| (m.to_string(), p.to_string()))
        .collect();
    let fn_rules: BTreeSet<(String, String)> = SERVER_FNS
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        fns, fn_rules,
        "auth::policy::SERVER_FNS must list exactly the server functions"
    );
    served.extend(fns);
    let missing: Vec<_> = served.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "routes the access table does not list: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "access table rows for routes that do not exist: {extra:?}"
    );

    // The router takes its plain routes from ENDPOINTS only: no route is added
    // around the table (where it would have no access rule).
    let lib = include_str!("../src/lib.rs");
    assert_eq!(
        lib.matches(".route(").count(),
        1,
        "lib.rs adds a route outside ENDPOINTS"
    );
    assert_eq!(
        lib.matches(".nest(").count() + lib.matches(".merge(").count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_is_required_of_sessions_and_not_of_tokens() {
    let f = Fixture::new().await;
    let (secret, csrf) = f.session(Admin).unwrap();
    let post = |token: Option<&str>| {
        let mut b = Request::builder()
            .method("POST")
            .uri("/api/model/sensitivity")
            .header(header::COOKIE, format!("lookout_session={secret}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header("x-csrf-token", t);
        }
        b.body(Body::from(r#"{"sensitivity": "low"}"#)).unwrap()
    };
    let (s, h, body) = f.call(post(None)).await;
    assert_eq!(s, 403, "missing header: {body}");
    assert!(body.contains("CSRF"), "{body}");
    assert_no_data("missing", s, &h, &body);
    let (s, _, body) = f.call(post(Some("0123456789abcdef0123456789abcdef"))).await;
    assert_eq!(s, 403, "wrong header: {body}");
    let (other_secret, other_csrf) = f.session(Admin).unwrap();
    assert_ne!(other_secret, secret);
    let (s, _, _) = f.call(post(Some(&other_csrf))).await;
    assert_eq!(s, 403, "another session's token");
    let (s, _, body) = f.call(post(Some(&csrf))).await;
    assert_eq!(s, 200, "right header: {body}");
    assert!(body.contains("low"));

    // A plain HTML form carries it as a field (the sign-out button).
    let form = |field: &str| {
        Request::builder()
            .method("POST")
            .uri("/api/auth/logout")
            .header(header::COOKIE, format!("lookout_session={secret}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf_token={field}")))
            .unwrap()
    };
    let (s, _, _) = f.call(form("nope")).await;
    assert_eq!(s, 403);
    let (s, h, _) = f.call(form(&csrf)).await;
    assert_eq!(s, 303);
    assert_eq!(h[header::LOCATION], "/login");
    assert!(
        f.store
            .session(&secret, runtime::now_ms())
            .unwrap()
            .is_none(),
        "logged out"
    );

    // Bearer tokens carry no ambient credentials: no CSRF token needed.
    let (s, _, _) = f
        .call(f.request(
            AdminToken,
            "POST",
            "/api/model/sensitivity",
            Some(r#"{"sensitivity": "high"}"#),
        ))
        .await;
    assert_eq!(s, 200);
    f.stop().await;
}

fn login_request(user: &str, password: &str) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/api/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({ "username": user, "password": password }).to_string(),
        ))
        .unwrap()
}

fn session_cookie(headers: &axum::http::HeaderMap) -> String {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("lookout_session="))
        .expect("a session cookie")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_httponly_strict_cookies_that_expire_by_the_clock() {
    let f = Fixture::new().await;
    let (s, h, body) = f.call(login_request("viewer", PASSWORD)).await;
    assert_eq!(s, 200, "{body}");
    let cookie = session_cookie(&h);
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        cookie.contains(&format!("Max-Age={}", 12 * 3600)),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http: no Secure flag: {cookie}"
    );
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["role"], "viewer");
    let value = cookie.split(';').next().unwrap().to_string();
    let get = || {
        Request::builder()
            .uri("/api/model")
            .header(header::COOKIE, value.clone())
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(f.call(get()).await.0, 200);
    // Just before the end of the 12 h, still in; at the end, out.
    f.clock.fetch_add(12 * 3_600_000 - 1, Ordering::SeqCst);
    assert_eq!(f.call(get()).await.0, 200);
    f.clock.fetch_add(1, Ordering::SeqCst);
    let (s, h, body) = f.call(get()).await;
    assert_eq!(s, 401, "{body}");
    assert_no_data("expired", s, &h, &body);
    // A page sends the expired session to the login page, keeping where it was.
    let (s, h, _) = f
        .call(
            Request::builder()
                .uri("/dashboard?range=1h")
                .header(header::COOKIE, value.clone())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, 303);
    assert_eq!(h[header::LOCATION], "/login?next=/dashboard%3Frange%3D1h");

    // Wrong passwords and unknown users: 401, no cookie.
    for (u, p) in [("viewer", "wrong password"), ("nobody", PASSWORD)] {
        let (s, h, _) = f.call(login_request(u, p)).await;
        assert_eq!(s, 401);
        assert!(h.get(header::SET_COOKIE).is_none());
    }
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_rate_limited_per_client() {
    let f = Fixture::new().await;
    for i in 0..10 {
        let (s, _, _) = f.call(login_request("admin", &format!("guess {i}"))).await;
        assert_eq!(s, 401, "attempt {i}");
    }
    // Over the limit even the right password is refused, with Retry-After.
    let (s, h, body) = f.call(login_request("admin", PASSWORD)).await;
    assert_eq!(s, 429, "{body}");
    assert_eq!(h[header::RETRY_AFTER], "60");
    // The form gets the login page with a message.
    let form = Request::builder()
        .method("POST")
        .uri("/api/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "username=admin&password={PASSWORD}&next=%2F"
        )))
        .unwrap();
    let (s, h, _) = f.call(form).await;
    assert_eq!(s, 303);
    assert!(h[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/login?error=limited"));
    // A minute later it works again.
    f.clock.fetch_add(60_000, Ordering::SeqCst);
    let (s, h, _) = f.call(login_request("admin", PASSWORD)).await;
    assert_eq!(s, 200);
    session_cookie(&h);
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_shown_once_stored_hashed_and_revoked_at_once() {
    let f = Fixture::new().await;
    let created = f
        .admin_json(
            "POST",
            "/api/tokens",
            Some(r#"{"name": "scraper", "scope": "read"}"#),
        )
        .await;
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("lk_"));
    // Never again: not in the list, not in the store.
    let list = f.admin_json("GET", "/api/tokens", None).await;
    assert!(!list.to_string().contains(&token));
    assert!(list.to_string().contains("scraper"));
    let dir = f.settings.store_path.parent().unwrap().to_path_buf();
    for file in std::fs::read_dir(dir).unwrap() {
        let path = file.unwrap().path();
        if path.to_string_lossy().contains("lookout.db") {
            let bytes = std::fs::read(&path).unwrap();
            let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
            assert!(!found, "the token in {}", path.display());
        }
    }

    let metrics = |t: &str| {
        Request::builder()
            .uri("/metrics")
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    let (s, _, body) = f.call(metrics(&token)).await;
    assert_eq!(s, 200, "GET /metrics takes a read token: {body}");
    assert!(body.contains("cpu_usage"));
    // Read scope: no admin actions.
    let (s, _, _) = f
        .call(
            Request::builder()
                .method("POST")
                .uri("/api/model/train")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, 403);
    let id = created["id"].as_i64().unwrap();
    f.admin_json("DELETE", &format!("/api/tokens/{id}"), None)
        .await;
    let (s, h, body) = f.call(metrics(&token)).await;
    assert_eq!(s, 401, "revoked: refused on the very next request");
    assert_no_data("revoked", s, &h, &body);
    assert!(body.contains("revoked"), "{body}");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_actions_are_audited_with_who_what_and_when() {
    let f = Fixture::new().await;
    // The audit clock is the fixture's (frozen) one.
    let at = f.clock.load(Ordering::SeqCst);
    f.admin_json("PUT", "/api/alerts/rules/disk-full", Some(RULE))
        .await;
    let (secret, csrf) = f.session(Admin).unwrap();
    let req = Request::builder()
        .method("POST")
        .uri("/api/silences")
        .header(header::COOKIE, format!("lookout_session={secret}"))
        .header("x-csrf-token", csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"rule": "disk-full", "duration": "2h", "comment": "maintenance"}"#,
        ))
        .unwrap();
    assert_eq!(f.call(req).await.0, 201);
    f.admin_json(
        "POST",
        "/api/users",
        Some(r#"{"name": "eve", "role": "developer", "password": "long enough pw"}"#),
    )
    .await;
    // A refused action leaves no entry.
    let (s, _, _) = f
        .call(f.request(
            Viewer,
            "POST",
            "/api/model/sensitivity",
            Some(r#"{"sensitivity": "low"}"#),
        ))
        .await;
    assert_eq!(s, 403);

    let log = f.admin_json("GET", "/api/audit", None).await;
    let entries = log["entries"].as_array().unwrap();
    let find = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} in {log}"))
    };
    let rule = find("rule.put");
    assert_eq!(rule["actor"], "token:adm");
    assert_eq!(rule["target"], "disk-full");
    assert!(rule["detail"].as_str().unwrap().contains("cpu_usage > 99"));
    assert_eq!(rule["at"].as_i64(), Some(at));
    let silence = find("silence.add");
    assert_eq!(silence["actor"], "user:admin");
    assert!(silence["detail"].as_str().unwrap().contains("maintenance"));
    let user = find("user.add");
    assert_eq!(user["target"], "eve");
    assert!(
        !log.to_string().contains("long enough pw"),
        "a password in the audit log"
    );
    assert!(!entries.iter().any(|e| e["action"] == "sensitivity.set"));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_users_on_loopback_everything_stays_open() {
    let f = Fixture::with(false, AuthSettings::default()).await;
    for (method, path, body) in [
        ("GET", "/", None),
        ("GET", "/api/history?metric=cpu_usage", None),
        (
            "POST",
            "/api/model/sensitivity",
            Some(r#"{"sensitivity": "high"}"#),
        ),
        ("GET", "/api/audit", None),
    ] {
        let (s, _, text) = f.call(f.request(Anonymous, method, path, body)).await;
        assert_eq!(s, 200, "{method} {path}: {text}");
    }
    let (_, _, me) = f
        .call(f.request(Anonymous, "GET", "/api/auth/me", None))
        .await;
    let me: Value = serde_json::from_str(&me).unwrap();
    assert_eq!(
        (me["role"].as_str(), me["auth_enabled"].as_bool()),
        (Some("admin"), Some(false))
    );
    // The first user turns auth on (noticed within a second).
    f.store.add_user("first", Role::Admin, PASSWORD, 0).unwrap();
    f.clock.fetch_add(1_001, Ordering::SeqCst);
    let (s, _, _) = f
        .call(f.request(Anonymous, "GET", "/api/history?metric=cpu_usage", None))
        .await;
    assert_eq!(s, 401);
    f.stop().await;
}

/// Pages keep rendering while other routers are built in the same process. Building a
/// router made Leptos' route list, which renders the app once with resource loads held
/// by one process-wide flag; a page's resource first polled meanwhile waited for ever
/// (leptos #4773): the rare hung /analysis of the table test above. With the list made
/// once per process, all 200 renders here finish; before, the first such run hung.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_other_routers_are_built() {
    let f = Fixture::with(false, AuthSettings::default()).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let builder = {
        let (stop, settings, services, store) = (
            stop.clone(),
            f.settings.clone(),
            f.tasks.as_ref().unwrap().services.clone(),
            f.store.clone(),
        );
        let runtime = tokio::runtime::Handle::current();
        std::thread::spawn(move || {
            let _runtime = runtime.enter();
            let mut built = 0;
            while !stop.load(Ordering::SeqCst) {
                let auth = Auth::new(store.clone(), AuthSettings::default());
                drop(lookout_server::router_with_auth(
                    &settings,
                    services.clone(),
                    auth,
                ));
                built += 1;
            }
            built
        })
    };
    for page in ["/analysis", "/", "/analysis?range=6h", "/admin"].repeat(50) {
        let render = f.call(f.request(Anonymous, "GET", page, None));
        let (status, _, body) = tokio::time::timeout(Duration::from_secs(20), render)
            .await
            .unwrap_or_else(|_| panic!("GET {page} did not finish in 20 s"));
        assert_eq!(status, 200, "GET {page}");
        assert!(body.contains("</html>"), "GET {page}: no page in {body}");
    }
    stop.store(true, Ordering::SeqCst);
    let built = builder.join().unwrap();
    eprintln!("routers built meanwhile: {built}");
    assert!(built > 0, "no router was built while the pages rendered");
    f.stop().await;
}
