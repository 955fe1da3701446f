//! Wire types shared by the engine, the server and the browser: every request and
//! response body of the JSON API, split by topic.
//!
//! Everything here is plain data with serde derives: no I/O, no system calls, so the
//! wasm front end compiles it as it is (without the `engine` feature). The server's
//! handlers answer with these types and the dashboard reads them, so renaming a field
//! breaks the build instead of the page. `docs/api.md` shows an example of each body
//! type listed in [`API_BODIES`]; `server/tests/api_docs.rs` checks the two agree.
//! Keep field names stable: they are the public API.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub mod access;
pub mod alerts;
pub mod analysis;
pub mod anomaly;
pub mod container;
pub mod detector;
pub mod fleet;
pub mod forecast;
pub mod history;
pub mod ingest;
pub mod logs;
pub mod metrics;

pub use access::*;
pub use alerts::*;
pub use analysis::*;
pub use anomaly::*;
pub use container::*;
pub use detector::*;
pub use fleet::*;
pub use forecast::*;
pub use history::*;
pub use ingest::*;
pub use logs::*;
pub use metrics::*;

/// Milliseconds since the Unix epoch, UTC.
pub type TimestampMs = i64;

// ---------------------------------------------------------------- common bodies

/// Every error answer: `{"error"}`, plus `param` and `message` when a request
/// parameter or field is at fault (`error` is then `"param: message"` for query
/// parameters, or the parser's text for a body field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ApiError {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ApiError {
    /// `{"error": text}`.
    pub fn new(error: impl Into<String>) -> ApiError {
        ApiError {
            error: error.into(),
            ..ApiError::default()
        }
    }

    /// `{"error": "param: message", "param", "message"}`.
    pub fn param(param: impl Into<String>, message: impl Into<String>) -> ApiError {
        let (param, message) = (param.into(), message.into());
        ApiError {
            error: format!("{param}: {message}"),
            param: Some(param),
            message: Some(message),
        }
    }

    /// The refusal of a `host` parameter naming a host the store has never heard of
    /// (a 400), in the one wording every endpoint and page uses.
    pub fn unknown_host(host: &str) -> ApiError {
        ApiError::param(
            "host",
            format!("unknown host {host:?}: see GET /api/fleet for the hosts this server knows"),
        )
    }
}

/// A one-word answer: `{"status": "ok"}` (`/healthz`), `"queued"` (a test
/// notification), `"logged out"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Status {
    pub status: String,
}

impl Status {
    pub fn new(status: impl Into<String>) -> Status {
        Status {
            status: status.into(),
        }
    }
}

/// Something named was removed: `{"name", "status": "deleted" | "removed"}` (an
/// alert rule, a user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NameStatus {
    pub name: String,
    pub status: String,
}

/// `GET /readyz` when ready (200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Ready {
    /// "ready".
    pub status: String,
    pub last_sample_at: TimestampMs,
}

/// `GET /readyz` when not ready (503).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NotReady {
    /// "not ready".
    pub status: String,
    pub problems: Vec<String>,
}

/// Settings the dashboard needs from the server's configuration (`GET /api/settings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UiSettings {
    /// The monitored host's name, shown in the header.
    pub host: String,
    /// The sampler's interval: live samples arrive this often.
    pub sample_interval_secs: f64,
    /// The refresh interval used until the user picks one; 0 = paused.
    pub default_refresh_secs: u32,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            host: String::new(),
            sample_interval_secs: 5.0,
            default_refresh_secs: 5,
        }
    }
}

// ---------------------------------------------------------------- the contract

/// A request or response body of the JSON API, with an example value: the one
/// `docs/api.md` shows (a test compares their shapes, so the docs cannot drift).
pub trait ApiBody: Serialize + DeserializeOwned {
    fn example() -> Self;
}

macro_rules! api_bodies {
    ($($t:ident),* $(,)?) => {
        /// The name of every body type of the JSON API (see [`ApiBody`]).
        pub const API_BODIES: &[&str] = &[$(stringify!($t)),*];

        /// The example of the named body type, as JSON; None for an unknown name.
        pub fn api_body_example(name: &str) -> Option<serde_json::Value> {
            match name {
                $(stringify!($t) => Some(
                    serde_json::to_value(<$t as ApiBody>::example()).expect("plain data serialises"),
                ),)*
                _ => None,
            }
        }

        /// The example of the named body type as pretty JSON, fields in declaration order.
        pub fn api_body_example_text(name: &str) -> Option<String> {
            match name {
                $(stringify!($t) => Some(
                    serde_json::to_string_pretty(&<$t as ApiBody>::example())
                        .expect("plain data serialises"),
                ),)*
                _ => None,
            }
        }

        /// Reads `json` as the named body type and writes it back; None for an unknown
        /// name, an error when it does not deserialise.
        pub fn api_body_reread(name: &str, json: &str) -> Option<Result<serde_json::Value, String>> {
            match name {
                $(stringify!($t) => Some(
                    serde_json::from_str::<$t>(json)
                        .map_err(|e| e.to_string())
                        .and_then(|v| serde_json::to_value(v).map_err(|e| e.to_string())),
                ),)*
                _ => None,
            }
        }
    };
}

api_bodies!(
    // common
    ApiError,
    Status,
    NameStatus,
    Ready,
    NotReady,
    UiSettings,
    // metrics and history
    Snapshot,
    History,
    // forecasts
    ForecastReport,
    // anomalies and the detector
    AnomalyList,
    ExpectedRequest,
    AnomalyEvent,
    ModelReport,
    TrainRequest,
    ModelVersion,
    SensitivityRequest,
    SensitivityResponse,
    // alerts
    AlertsOverview,
    AlertHistory,
    TestChannelRequest,
    RuleConfig,
    RuleSaved,
    RuleTestResult,
    SilenceList,
    SilenceRequest,
    Silence,
    SilenceExpired,
    // access
    LoginRequest,
    LoginResponse,
    Me,
    UserList,
    NewUser,
    User,
    TokenList,
    NewToken,
    CreatedToken,
    ApiToken,
    AuditLog,
    // logs
    LogsResponse,
    // agents and a hub
    IngestBatch,
    IngestReply,
    FleetOverview,
    // the analysis page
    CoreHeatmap,
    Rhythm,
    Correlation,
);

impl ApiBody for ApiError {
    fn example() -> Self {
        ApiError::param(
            "metric",
            "unknown metric(s) cpu; known: cpu_usage, memory_usage",
        )
    }
}

impl ApiBody for Status {
    fn example() -> Self {
        Status::new("ok")
    }
}

impl ApiBody for NameStatus {
    fn example() -> Self {
        NameStatus {
            name: "cpu-high".into(),
            status: "deleted".into(),
        }
    }
}

impl ApiBody for Ready {
    fn example() -> Self {
        Ready {
            status: "ready".into(),
            last_sample_at: 1_764_085_000_000,
        }
    }
}

impl ApiBody for NotReady {
    fn example() -> Self {
        NotReady {
            status: "not ready".into(),
            problems: vec!["sampler stalled: last sample 42 s ago".into()],
        }
    }
}

impl ApiBody for UiSettings {
    fn example() -> Self {
        UiSettings {
            host: "web-1".into(),
            sample_interval_secs: 5.0,
            default_refresh_secs: 5,
        }
    }
}
