//! Access control: roles, users, API tokens, the audit log, sign-in
//! (`/api/auth/*`, `/api/users*`, `/api/tokens*`, `/api/audit`). `lookout::store::auth`
//! re-exports the stored types and adds the behaviour.

use super::{ApiBody, TimestampMs};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a user may do. Ordered: each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only dashboards, history, anomalies, alerts, model state.
    Viewer,
    /// Viewer plus the raw API and the logs view.
    Developer,
    /// Everything: settings, rules, silences, training, users, tokens, audit.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Developer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> std::result::Result<Role, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "developer" => Ok(Role::Developer),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}; allowed: admin, developer, viewer"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API token may do: `Read` is a viewer's GETs, `Admin` is everything,
/// `Ingest` is an agent's: only `POST /api/ingest`, for the one host it is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Admin,
    Ingest,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Admin => "admin",
            Scope::Ingest => "ingest",
        }
    }

    pub fn parse(s: &str) -> std::result::Result<Scope, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            "ingest" => Ok(Scope::Ingest),
            other => Err(format!(
                "unknown token scope {other:?}; allowed: read, admin, ingest"
            )),
        }
    }

    /// The role a request with this token acts as; None for an ingest token, which
    /// reads nothing and may only send samples (`POST /api/ingest`).
    pub fn role(self) -> Option<Role> {
        match self {
            Scope::Read => Some(Role::Viewer),
            Scope::Admin => Some(Role::Admin),
            Scope::Ingest => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: TimestampMs,
}

/// An API token's metadata (the secret itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    /// The first characters of the token, to recognise it in a list.
    pub prefix: String,
    pub created_by: String,
    pub created_at: TimestampMs,
    pub last_used_at: Option<TimestampMs>,
    pub revoked_at: Option<TimestampMs>,
    /// An ingest token's host, set by its first batch (absent until then, and for
    /// other scopes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: TimestampMs,
    /// Who: `user:NAME`, `token:NAME`, `cli`, `bootstrap`, or `anonymous` with auth off.
    pub actor: String,
    /// What, e.g. `rule.put`, `silence.add`, `user.remove`, `token.create`.
    pub action: String,
    /// Which: a rule name, silence id, user name, token name...
    pub target: String,
    /// The request (never a password or a token).
    pub detail: String,
}

// ---------------------------------------------------------------- API bodies

/// `POST /api/auth/login` as JSON (a form post has the same fields plus `next`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The answer of a JSON login (the session itself travels in cookies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    pub username: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_at: TimestampMs,
}

/// The signed-in caller (`GET /api/auth/me`). With auth off (no users, loopback)
/// everyone is an admin and `auth_enabled` is false.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Me {
    pub username: Option<String>,
    /// "admin", "developer" or "viewer".
    pub role: String,
    /// The token state-changing requests must echo in `X-CSRF-Token` (sessions only).
    pub csrf_token: Option<String>,
    pub auth_enabled: bool,
}

impl Me {
    fn rank(role: &str) -> u8 {
        match role {
            "admin" => 3,
            "developer" => 2,
            "viewer" => 1,
            _ => 0,
        }
    }

    /// Whether the caller has `role` or a higher one.
    pub fn at_least(&self, role: &str) -> bool {
        Self::rank(&self.role) >= Self::rank(role) && Self::rank(role) > 0
    }

    pub fn is_admin(&self) -> bool {
        self.at_least("admin")
    }
}

/// `GET /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UserList {
    pub users: Vec<User>,
}

/// `POST /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NewUser {
    pub name: String,
    /// "admin", "developer" or "viewer" (checked by the server, which names the
    /// allowed values).
    pub role: String,
    pub password: String,
}

/// `GET /api/tokens`: metadata only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TokenList {
    pub tokens: Vec<ApiToken>,
}

/// `POST /api/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NewToken {
    pub name: String,
    /// "read", "admin" or "ingest".
    pub scope: String,
}

/// The answer of `POST /api/tokens`: the metadata and the token itself, the only
/// time it is ever shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub meta: ApiToken,
    pub token: String,
}

/// `GET /api/audit`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
}

impl ApiBody for LoginRequest {
    fn example() -> Self {
        LoginRequest {
            username: "admin".into(),
            password: "correct horse battery staple".into(),
        }
    }
}

impl ApiBody for LoginResponse {
    fn example() -> Self {
        LoginResponse {
            username: "admin".into(),
            role: Role::Admin,
            csrf_token: "3b9f0c...".into(),
            expires_at: 1_764_128_200_000,
        }
    }
}

impl ApiBody for Me {
    fn example() -> Self {
        Me {
            username: Some("admin".into()),
            role: "admin".into(),
            csrf_token: Some("3b9f0c...".into()),
            auth_enabled: true,
        }
    }
}

impl ApiBody for User {
    fn example() -> Self {
        User {
            id: 2,
            name: "eve".into(),
            role: Role::Developer,
            created_at: 1_764_085_000_000,
        }
    }
}

impl ApiBody for UserList {
    fn example() -> Self {
        UserList {
            users: vec![User::example()],
        }
    }
}

impl ApiBody for NewUser {
    fn example() -> Self {
        NewUser {
            name: "eve".into(),
            role: "developer".into(),
            password: "long enough pw".into(),
        }
    }
}

impl ApiBody for ApiToken {
    fn example() -> Self {
        ApiToken {
            id: 5,
            name: "scraper".into(),
            scope: Scope::Read,
            prefix: "lk_9f2c".into(),
            created_by: "user:admin".into(),
            created_at: 1_764_085_000_000,
            last_used_at: Some(1_764_085_060_000),
            revoked_at: Some(1_764_171_400_000),
            host: None,
        }
    }
}

impl ApiBody for TokenList {
    fn example() -> Self {
        TokenList {
            tokens: vec![ApiToken::example()],
        }
    }
}

impl ApiBody for NewToken {
    fn example() -> Self {
        NewToken {
            name: "scraper".into(),
            scope: "read".into(),
        }
    }
}

impl ApiBody for CreatedToken {
    fn example() -> Self {
        CreatedToken {
            meta: ApiToken {
                last_used_at: None,
                revoked_at: None,
                ..ApiToken::example()
            },
            token: "lk_9f2c4e...".into(),
        }
    }
}

impl ApiBody for AuditLog {
    fn example() -> Self {
        AuditLog {
            entries: vec![AuditEntry {
                id: 31,
                at: 1_764_085_000_000,
                actor: "user:admin".into(),
                action: "rule.put".into(),
                target: "cpu-high".into(),
                detail: "{\"condition\":\"cpu_usage > 90 for 5m\"}".into(),
            }],
        }
    }
}
