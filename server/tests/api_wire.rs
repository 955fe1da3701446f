//! Every JSON endpoint of a running `lookout` binary answers with the status and the
//! contract type (`lookout::model`) that docs/api.md documents for it: each answer must
//! read as that type and write back to the same JSON (no key the type lacks, none it
//! adds, the same nulls). So a handler that answers with anything else (a `json!` of its
//! own, the wrong type) fails here. That the model types carry every field of the
//! engine's own types is checked where they are converted (server/src/handlers.rs tests).

mod support;

use lookout::model::api_body_reread;
use serde_json::Value;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    base: String,
    /// Sent as `Authorization: Bearer` once set (after auth switches on).
    token: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

impl Server {
    fn start(data: &Path, config: &Path) -> Server {
        let port = support::free_port();
        let child = support::lookout_command(data, port)
            .env("LOOKOUT_CONFIG", config)
            .stdout(Stdio::null())
            .spawn()
            .expect("start lookout");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            token: None,
        };
        server.wait_until(|| server.call("GET", "/healthz", None).0 == 200);
        server
    }

    fn wait_until(&self, ok: impl FnMut() -> bool) {
        support::wait_until(ok)
    }

    /// (status, body text); connection errors are status 0.
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = reqwest::Client::new()
                .request(method, format!("{}{path}", self.base))
                .timeout(Duration::from_secs(60));
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.to_string());
            }
            if let Some(t) = &self.token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            match req.send().await {
                Ok(resp) => (resp.status().as_u16(), resp.text().await.unwrap()),
                Err(_) => (0, String::new()),
            }
        })
    }

    /// Calls a route and checks the answer is `status` and exactly the type `name`;
    /// returns it as JSON for the test to go on with.
    fn expect(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        status: u16,
        name: &str,
    ) -> Value {
        let (got, text) = self.call(method, path, body);
        assert_eq!(got, status, "{method} {path}: {text}");
        let wire: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
        let typed = api_body_reread(name, &text)
            .unwrap_or_else(|| panic!("no API body type {name}"))
            .unwrap_or_else(|e| panic!("{method} {path}: does not read as {name}: {e}\n{text}"));
        assert_eq!(
            typed, wire,
            "{method} {path}: {name} does not write back the same JSON"
        );
        wire
    }
}

#[test]
fn every_endpoint_answers_its_contract_type() {
    let dir = tempfile::tempdir().unwrap();
    // A webhook nobody listens on: deliveries fail and are retried, so the history
    // shows a pending delivery with its error.
    let dead_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg =
        support::always_busy_config(dir.path(), &format!("http://127.0.0.1:{dead_port}/alert"));
    let mut s = Server::start(dir.path(), &cfg);

    // Health, metrics, history.
    s.expect("GET", "/healthz", None, 200, "Status");
    s.wait_until(|| s.call("GET", "/readyz", None).0 == 200);
    s.expect("GET", "/readyz", None, 200, "Ready");
    s.wait_until(|| s.call("GET", "/metrics", None).0 == 200);
    s.expect("GET", "/metrics", None, 200, "Snapshot");
    s.expect("GET", "/api/settings", None, 200, "UiSettings");
    s.expect("GET", "/api/auth/me", None, 200, "Me");
    let to = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 1000;
    let from = to - 600_000;
    let series =
        format!("/api/series?metrics=cpu_usage,anomaly_score&from={from}&to={to}&points=50");
    s.expect("GET", &series, None, 200, "History");
    s.expect(
        "GET",
        "/api/history?metric=cpu_usage,load_1&from=-10m",
        None,
        200,
        "History",
    );
    s.expect("GET", "/api/history?metric=bogus", None, 400, "ApiError");

    // The analysis page's data: per-core CPU from the live samples, rhythm, correlation;
    // a bad parameter is a 400 naming it.
    s.wait_until(|| {
        let (_, text) = s.call("GET", "/api/analysis/cores?from=-10m&buckets=20", None);
        text.contains("\"cores\":[[")
    });
    let cores = s.expect(
        "GET",
        "/api/analysis/cores?from=-10m&buckets=20",
        None,
        200,
        "CoreHeatmap",
    );
    assert!(cores["times"].as_array().unwrap().len() <= 21, "{cores}");
    let rhythm = s.expect(
        "GET",
        "/api/analysis/rhythm?metric=load_1&days=7&tz_offset_min=-300",
        None,
        200,
        "Rhythm",
    );
    assert_eq!(rhythm["metric"]["means"].as_array().unwrap().len(), 7);
    let corr = s.expect(
        "GET",
        "/api/analysis/correlation?metric=cpu_usage,load_1,process_count&from=-10m",
        None,
        200,
        "Correlation",
    );
    assert_eq!(corr["cells"].as_array().unwrap().len(), 3);
    // A cell's two series, on the correlation's buckets.
    let pair = s.expect(
        "GET",
        "/api/analysis/overlay?metric=cpu_usage,load_1&from=-10m",
        None,
        200,
        "History",
    );
    assert_eq!(pair["series"].as_array().unwrap().len(), 2, "{pair}");
    for (path, param) in [
        (
            "/api/analysis/overlay?metric=cpu_usage,load_1,load_5",
            "metric",
        ),
        ("/api/analysis/overlay?metric=cpu_usage&points=3", "points"),
        // `host=` names a stored host; an unknown one is refused, naming `host`.
        ("/api/analysis/cores?host=no-such-host", "host"),
        ("/api/analysis/rhythm?host=no-such-host", "host"),
        (
            "/api/analysis/correlation?metric=cpu_usage,load_1&host=no-such-host",
            "host",
        ),
        (
            "/api/analysis/overlay?metric=cpu_usage&host=no-such-host",
            "host",
        ),
        ("/api/forecast?host=no-such-host", "host"),
        ("/api/anomalies?host=no-such-host", "host"),
        ("/api/analysis/cores?buckets=1", "buckets"),
        ("/api/analysis/cores?from=-1h&to=-2h", "from"),
        ("/api/analysis/rhythm?metric=bogus", "metric"),
        ("/api/analysis/rhythm?days=29", "days"),
        ("/api/analysis/rhythm?tz_offset_min=900", "tz_offset_min"),
        ("/api/analysis/correlation?metric=cpu_usage", "metric"),
        ("/api/analysis/correlation?metric=cpu_usage,nope", "metric"),
        (
            "/api/analysis/correlation?metric=cpu_usage,load_1&points=5",
            "points",
        ),
    ] {
        let e = s.expect("GET", path, None, 400, "ApiError");
        assert_eq!(e["param"], param, "{path}: {e}");
    }

    // Anomalies and the detector.
    s.expect("GET", "/api/anomalies?from=-1h", None, 200, "AnomalyList");
    let model = s.expect("GET", "/api/model", None, 200, "ModelReport");
    assert_eq!(
        model["enabled"], true,
        "the detector is on by default: {model}"
    );
    let body = Some(r#"{"sensitivity": "high"}"#);
    s.expect(
        "POST",
        "/api/model/sensitivity",
        body,
        200,
        "SensitivityResponse",
    );
    let body = Some(r#"{"sensitivity": "extreme"}"#);
    s.expect("POST", "/api/model/sensitivity", body, 400, "ApiError");
    // Too little history to train on: a conflict, with the reason.
    s.expect("POST", "/api/model/train", Some("{}"), 409, "ApiError");
    s.expect("POST", "/api/anomalies/999/expected", None, 404, "ApiError");
    s.expect("GET", "/api/model", None, 200, "ModelReport");

    // Alerts: the file rule fires, the dead webhook leaves a pending delivery.
    s.wait_until(|| {
        let (_, text) = s.call("GET", "/api/alerts/history?from=-1h", None);
        text.contains("\"last_error\":\"")
    });
    s.expect("GET", "/api/alerts", None, 200, "AlertsOverview");
    s.expect(
        "GET",
        "/api/alerts/history?from=-1h",
        None,
        200,
        "AlertHistory",
    );
    s.expect("GET", "/api/alerts/history?limit=0", None, 400, "ApiError");
    let channel = Some(r#"{"channel": "hook"}"#);
    s.expect("POST", "/api/alerts/test", channel, 202, "Status");
    let rule = Some(r#"{"condition": "disk_free_percent < 1 for 1m", "severity": "warning"}"#);
    s.expect("PUT", "/api/alerts/rules/disk-low", rule, 200, "RuleSaved");
    let probe = Some(r#"{"name": "probe", "condition": "process_count > 0"}"#);
    s.expect(
        "POST",
        "/api/alerts/rules/test",
        probe,
        200,
        "RuleTestResult",
    );
    let stale = Some(r#"{"name": "st", "kind": "stale", "intervals": 3}"#);
    s.expect(
        "POST",
        "/api/alerts/rules/test",
        stale,
        200,
        "RuleTestResult",
    );
    s.expect("GET", "/api/alerts", None, 200, "AlertsOverview");
    s.expect(
        "DELETE",
        "/api/alerts/rules/disk-low",
        None,
        200,
        "NameStatus",
    );
    s.expect(
        "DELETE",
        "/api/alerts/rules/always-busy",
        None,
        409,
        "ApiError",
    );
    let silence = Some(r#"{"rule": "always-busy", "duration": "1h", "comment": "wire"}"#);
    let created = s.expect("POST", "/api/silences", silence, 201, "Silence");
    s.expect("GET", "/api/silences", None, 200, "SilenceList");
    let path = format!("/api/silences/{}", created["id"]);
    s.expect("DELETE", &path, None, 200, "SilenceExpired");
    s.expect("DELETE", "/api/silences/99999", None, 404, "ApiError");
    s.expect(
        "GET",
        "/api/logs?level=info&limit=20",
        None,
        200,
        "LogsResponse",
    );
    s.expect("GET", "/api/logs?level=loud", None, 400, "ApiError");

    // Access: a token first (adding a user switches auth on), then users and the log.
    let token = Some(r#"{"name": "wire", "scope": "admin"}"#);
    let created = s.expect("POST", "/api/tokens", token, 201, "CreatedToken");
    s.token = Some(created["token"].as_str().unwrap().to_string());
    let user = Some(r#"{"name": "eve", "role": "viewer", "password": "long enough pw"}"#);
    s.expect("POST", "/api/users", user, 201, "User");
    s.expect("GET", "/api/users", None, 200, "UserList");
    s.expect("GET", "/api/tokens", None, 200, "TokenList");
    s.expect("GET", "/api/audit?limit=50", None, 200, "AuditLog");
    s.expect("GET", "/api/auth/me", None, 200, "Me");
    let login = Some(r#"{"username": "eve", "password": "long enough pw"}"#);
    s.expect("POST", "/api/auth/login", login, 200, "LoginResponse");
    let wrong = Some(r#"{"username": "eve", "password": "not the password"}"#);
    s.expect("POST", "/api/auth/login", wrong, 401, "ApiError");
    s.expect("DELETE", "/api/users/eve", None, 200, "NameStatus");
    s.expect("POST", "/api/auth/logout", Some("{}"), 200, "Status");
    let path = format!("/api/tokens/{}", created["id"]);
    s.expect("DELETE", &path, None, 200, "ApiToken");
    // The token is revoked now: refused, with an error body.
    s.expect("GET", "/api/users", None, 401, "ApiError");
}
