//! Configuration: defaults <- TOML file <- `LOOKOUT_*` environment <- CLI flags.
//!
//! Every layer is merged into one TOML table first and checked against the table of
//! defaults, so an unknown key or a value of the wrong type is reported with its full
//! name (`sampler.interval`), where it came from, and what is allowed, before anything
//! starts. Semantic checks (ranges, writable paths) follow in [`Config::validate`].
//!
//! Files: `sections` holds the TOML tables and their defaults, `load` the layering
//! (file, environment, flags), `validate` the checks that turn a [`Config`] into
//! [`Settings`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

mod fleet;
mod load;
mod sections;
#[cfg(test)]
mod tests;
mod validate;

pub use fleet::*;
pub use load::{flag_triples, load, load_for_process};
pub use sections::*;

/// The whole configuration. Field names are the TOML keys; `LOOKOUT_<SECTION>_<KEY>`
/// (upper case) overrides each one from the environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerSection,
    pub sampler: SamplerSection,
    pub store: StoreSection,
    pub dashboard: DashboardSection,
    pub log: LogSection,
    pub host: HostSection,
    pub detector: DetectorSection,
    pub auth: AuthSection,
    pub tls: TlsSection,
    pub ingest: IngestSection,
    pub agent: AgentSection,
}

/// A configuration problem, phrased for the person who has to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}
impl std::error::Error for ConfigError {}

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone)]
pub enum Origin {
    File(PathBuf),
    Env(String),
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "in {}", p.display()),
            Origin::Env(v) => write!(f, "from environment variable {v}"),
            Origin::Flag(v) => write!(f, "from command-line flag {v}"),
        }
    }
}

/// The settings after checking: durations parsed, paths resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    pub bind: std::net::SocketAddr,
    pub interval: Duration,
    pub process_refresh: Duration,
    pub raw_retention: Duration,
    pub rollup_retention: Duration,
    pub flush_interval: Duration,
    /// Browser refresh in seconds, 0 = paused.
    pub default_refresh_secs: u32,
    pub store_path: PathBuf,
    pub host: String,
    pub detector: DetectorSettings,
    /// The `[alerts]` section (rules and channels are tables, so it is parsed by the
    /// alert engine itself rather than layered key by key).
    pub alerts: lookout::alert::AlertConfig,
    /// The `[auth]` section, checked.
    pub auth: crate::auth::AuthSettings,
    /// `--insecure-no-auth`: a non-loopback bind may run without users (main sets it).
    pub insecure_no_auth: bool,
    /// TLS, trusted proxies, body limit (`[tls]`, `server.trusted_proxies`,
    /// `server.max_body`).
    pub edge: crate::edge::EdgeSettings,
    /// `[export.remote_write]`, checked; None when the section is absent.
    pub remote_write: Option<lookout::export::remote_write::RemoteWriteOptions>,
    /// `[ingest]`: the limits of `POST /api/ingest` (agents' batches).
    pub ingest: IngestSettings,
}
