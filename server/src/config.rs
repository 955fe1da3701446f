//! Configuration: defaults <- TOML file <- `LOOKOUT_*` environment <- CLI flags.
//!
//! Every layer is merged into one TOML table first and checked against the table of
//! defaults, so an unknown key or a value of the wrong type is reported with its full
//! name (`sampler.interval`), where it came from, and what is allowed, before anything
//! starts. Semantic checks (ranges, writable paths) follow in [`Config::validate`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address to listen on. Loopback by default: nothing is exposed unless asked.
    pub bind: String,
    /// Folder with the built site (pkg/, vendor/); empty = find it next to the binary
    /// or under ./target/site.
    pub site_root: String,
    /// Peers (IPs or CIDR blocks) whose X-Forwarded-For / X-Forwarded-Proto are
    /// believed, e.g. ["127.0.0.1", "10.0.0.0/8"]. From anyone else they are ignored.
    pub trusted_proxies: Vec<String>,
    /// Largest request body accepted: "1MiB", "512KiB", bytes. Larger gets 413.
    pub max_body: String,
}

/// Native TLS. Both `cert` and `key` set = the server speaks https only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// Certificate chain, PEM (server certificate first).
    pub cert: String,
    /// Private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: String,
    /// Also listen for plain HTTP here and redirect it to https, e.g. "0.0.0.0:80";
    /// empty = no redirect listener.
    pub redirect_http: String,
    /// Send Strict-Transport-Security on https responses (TLS here, or a trusted
    /// proxy's X-Forwarded-Proto: https).
    pub hsts: bool,
}

impl Default for TlsSection {
    fn default() -> Self {
        Self {
            cert: String::new(),
            key: String::new(),
            redirect_http: String::new(),
            hsts: true,
        }
    }
}

impl TlsSection {
    fn validate(&self, server: &ServerSection) -> Result<crate::edge::EdgeSettings, ConfigError> {
        let mut trusted_proxies = Vec::new();
        for p in &server.trusted_proxies {
            trusted_proxies.push(
                crate::edge::Cidr::parse(p)
                    .or_else(|e| err(format!("`server.trusted_proxies`: {e}")))?,
            );
        }
        let max_body = match crate::edge::limits::parse_size(&server.max_body) {
            Some(n) if (1024..=1 << 30).contains(&n) => n,
            _ => {
                return err(format!(
                    "`server.max_body` is {:?}; write a size from 1KiB to 1GiB, e.g. \"1MiB\", \"512KiB\"",
                    server.max_body
                ))
            }
        };
        let (cert, key) = (self.cert.trim(), self.key.trim());
        let tls = match (cert.is_empty(), key.is_empty()) {
            (true, true) => {
                if !self.redirect_http.trim().is_empty() {
                    return err("`tls.redirect_http` is set but TLS is off: set `tls.cert` and `tls.key` too");
                }
                None
            }
            (false, true) => {
                return err("`tls.cert` is set but `tls.key` is not: give both PEM files")
            }
            (true, false) => {
                return err("`tls.key` is set but `tls.cert` is not: give both PEM files")
            }
            (false, false) => {
                let config = crate::edge::tls::load_server_config(Path::new(cert), Path::new(key))
                    .map_err(ConfigError)?;
                let redirect_http = match self.redirect_http.trim() {
                    "" => None,
                    a => Some(a.parse().or_else(|_| {
                        err(format!(
                            "`tls.redirect_http` is {a:?}: not an address; write IP:PORT, e.g. \"0.0.0.0:80\""
                        ))
                    })?),
                };
                Some(crate::edge::tls::TlsSettings {
                    config,
                    redirect_http,
                    hsts: self.hsts,
                })
            }
        };
        Ok(crate::edge::EdgeSettings {
            tls,
            hsts: self.hsts,
            trusted_proxies,
            max_body,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplerSection {
    /// Sampling interval, 1s to 1h.
    pub interval: String,
    /// How often the process table (top-10 view) is refreshed; the costliest read.
    pub process_refresh: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// SQLite database file; its folder is created if missing.
    pub path: String,
    /// Raw samples are kept this long.
    pub raw_retention: String,
    /// 1-minute rollups are kept this long.
    pub rollup_retention: String,
    /// Samples are written in batches at most this far apart: a crash loses at most
    /// this much.
    pub flush_interval: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DashboardSection {
    /// Default live refresh in the browser: 1s, 5s, 10s, 30s or "paused".
    pub default_refresh: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// "text" (human-readable) or "json".
    pub format: String,
    /// A tracing filter: "info", "debug", "lookout=debug,info", ...
    pub level: String,
    /// Folder for rotating log files; empty = no log files.
    pub dir: String,
    /// Rotate a log file when it reaches this many MiB.
    pub max_size_mib: i64,
    /// Keep this many files (the live one included).
    pub max_files: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostSection {
    /// Name this host is stored under; empty = the system's host name.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorSection {
    /// Score every sample and record anomaly events.
    pub enabled: bool,
    /// "low", "medium", "high", or a decision threshold in [0, 1].
    pub sensitivity: String,
    /// Ensemble members, comma-separated: baseline, forest, pca.
    pub members: String,
    /// History needed before the forest and PCA are first trained.
    pub min_history: String,
    /// Stored samples each training reads (the most recent).
    pub training_window: String,
    /// Retraining schedule.
    pub retrain_every: String,
    /// A change that persists this long, holding steady, becomes the new normal (a
    /// change still moving, such as a leak, never does).
    pub adapt_after: String,
    /// Folder of versioned model files.
    pub models_dir: String,
    /// Model versions kept.
    pub keep_models: i64,
}

/// `[auth]`: who may use the dashboard and the API (server/src/auth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    /// "auto" (on when users exist or the bind address is not loopback), "on", "off".
    pub enabled: String,
    /// How long a login lasts.
    pub session_ttl: String,
    /// Failed logins allowed per client IP, e.g. "10/min", "5/10m".
    pub login_rate_limit: String,
    /// Secure flag on cookies: "auto" (when the request is HTTPS), "on", "off".
    pub cookie_secure: String,
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            enabled: "auto".into(),
            session_ttl: "12h".into(),
            login_rate_limit: "10/min".into(),
            cookie_secure: "auto".into(),
        }
    }
}

impl Default for DetectorSection {
    fn default() -> Self {
        Self {
            enabled: true,
            sensitivity: "medium".into(),
            members: "baseline,forest,pca".into(),
            min_history: "60m".into(),
            training_window: "24h".into(),
            retrain_every: "1h".into(),
            adapt_after: "30m".into(),
            models_dir: "./models".into(),
            keep_models: 5,
        }
    }
}

/// The detector's settings after checking.
#[derive(Debug, Clone)]
pub struct DetectorSettings {
    pub enabled: bool,
    pub sensitivity: lookout::detect::Sensitivity,
    pub members: lookout::detect::Members,
    pub min_history: Duration,
    pub training_window: Duration,
    pub retrain_every: Duration,
    pub adapt_after: Duration,
    pub models_dir: PathBuf,
    pub keep_models: usize,
}

impl DetectorSection {
    fn validate(&self) -> Result<DetectorSettings, ConfigError> {
        let sensitivity = lookout::detect::Sensitivity::parse(&self.sensitivity)
            .or_else(|e| err(format!("`detector.sensitivity`: {e}")))?;
        let mut members = lookout::detect::Members {
            baseline: false,
            forest: false,
            pca: false,
        };
        for m in self
            .members
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            match m {
                "baseline" => members.baseline = true,
                "forest" => members.forest = true,
                "pca" => members.pca = true,
                other => {
                    return err(format!(
                        "`detector.members` has {other:?}; allowed: baseline, forest, pca (comma-separated)"
                    ))
                }
            }
        }
        if !(members.baseline || members.forest || members.pca) {
            return err(
                "`detector.members` is empty; allowed: baseline, forest, pca (comma-separated)",
            );
        }
        let min_history = duration_in(
            "detector.min_history",
            &self.min_history,
            Duration::from_secs(60),
            Duration::from_secs(30 * 86400),
            "1m to 30d",
        )?;
        let training_window = duration_in(
            "detector.training_window",
            &self.training_window,
            Duration::from_secs(60),
            Duration::from_secs(90 * 86400),
            "1m to 90d",
        )?;
        let retrain_every = duration_in(
            "detector.retrain_every",
            &self.retrain_every,
            Duration::from_secs(60),
            Duration::from_secs(30 * 86400),
            "1m to 30d",
        )?;
        let adapt_after = duration_in(
            "detector.adapt_after",
            &self.adapt_after,
            Duration::from_secs(60),
            Duration::from_secs(7 * 86400),
            "1m to 7d",
        )?;
        if !(1..=1000).contains(&self.keep_models) {
            return err(format!(
                "`detector.keep_models` is {}; allowed: 1 to 1000",
                self.keep_models
            ));
        }
        if self.models_dir.trim().is_empty() {
            return err("`detector.models_dir` is empty; give a folder such as \"./models\"");
        }
        let models_dir = PathBuf::from(&self.models_dir);
        if self.enabled {
            check_writable_dir(&models_dir.join("probe"), "detector.models_dir")?;
        }
        Ok(DetectorSettings {
            enabled: self.enabled,
            sensitivity,
            members,
            min_history,
            training_window,
            retrain_every,
            adapt_after,
            models_dir,
            keep_models: self.keep_models as usize,
        })
    }
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:3000".into(),
            site_root: String::new(),
            trusted_proxies: Vec::new(),
            max_body: "1MiB".into(),
        }
    }
}
impl Default for SamplerSection {
    fn default() -> Self {
        Self {
            interval: "5s".into(),
            process_refresh: "5s".into(),
        }
    }
}
impl Default for StoreSection {
    fn default() -> Self {
        Self {
            path: "./data/lookout.db".into(),
            raw_retention: "7d".into(),
            rollup_retention: "90d".into(),
            flush_interval: "5s".into(),
        }
    }
}
impl Default for DashboardSection {
    fn default() -> Self {
        Self {
            default_refresh: "5s".into(),
        }
    }
}
impl Default for LogSection {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
            dir: String::new(),
            max_size_mib: 5,
            max_files: 5,
        }
    }
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

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
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
}

/// Layers the configuration. `file` is read if given (missing file = error);
/// `env` is the process environment (passed in so tests can drive it); `flags` are
/// `(key, value, flag name)` triples from the command line, applied last.
pub fn load(
    file: Option<&Path>,
    env: &[(String, String)],
    flags: &[(String, String, String)],
) -> Result<Settings, ConfigError> {
    let defaults = toml::Table::try_from(Config::default()).expect("defaults serialise");
    let mut merged = defaults.clone();
    let mut alerts = lookout::alert::AlertConfig::default();
    // `PORT` (Render, Docker) applies only when nothing set `server.bind`.
    let mut bind_explicit = env.iter().any(|(k, _)| k == "LOOKOUT_SERVER_BIND")
        || flags.iter().any(|(k, _, _)| k == "server.bind");

    if let Some(path) = file {
        let text = std::fs::read_to_string(path).or_else(|e| {
            err(format!(
                "cannot read config file {}: {e} (set with --config or LOOKOUT_CONFIG)",
                path.display()
            ))
        })?;
        let mut table: toml::Table = text.parse().or_else(|e: toml::de::Error| {
            err(format!(
                "{} is not valid TOML: {}",
                path.display(),
                e.message()
            ))
        })?;
        if let Some(section) = table.remove("alerts") {
            alerts = section.try_into().or_else(|e: toml::de::Error| {
                err(format!("[alerts] in {}: {}", path.display(), e.message()))
            })?;
        }
        bind_explicit |= table.get("server").and_then(|s| s.get("bind")).is_some();
        merge_file(&defaults, &mut merged, &table, &Origin::File(path.into()))?;
    }

    for (section, keys) in &defaults {
        let Some(keys) = keys.as_table() else {
            continue;
        };
        for (key, default) in keys {
            let var = format!("LOOKOUT_{}_{}", section, key).to_uppercase();
            if let Some((_, v)) = env.iter().find(|(k, _)| *k == var) {
                let value = parse_scalar(
                    default,
                    v,
                    &format!("{section}.{key}"),
                    &Origin::Env(var.clone()),
                )?;
                merged[section.as_str()][key.as_str()] = value;
            }
        }
    }
    // A misspelt variable would otherwise be ignored without a word.
    let known: Vec<String> = all_keys(&defaults)
        .iter()
        .map(|k| format!("LOOKOUT_{}", k.replace('.', "_")).to_uppercase())
        .collect();
    for (var, _) in env {
        if var.starts_with("LOOKOUT_")
            && var != "LOOKOUT_CONFIG"
            && !crate::auth::EXTRA_ENV.contains(&var.as_str())
            && !known.contains(var)
        {
            return err(format!(
                "unknown environment variable {var}; known: LOOKOUT_CONFIG, {}",
                known.join(", ")
            ));
        }
    }
    for (dotted, v, flag) in flags {
        let (section, key) = dotted.split_once('.').unwrap_or(("", dotted));
        let Some(default) = defaults.get(section).and_then(|s| s.get(key)) else {
            return err(format!(
                "unknown key `{dotted}` {}; known keys: {}",
                Origin::Flag(flag.clone()),
                all_keys(&defaults).join(", ")
            ));
        };
        let value = parse_scalar(default, v, dotted, &Origin::Flag(flag.clone()))?;
        merged[section][key] = value;
    }

    if let Some((_, port)) = env.iter().find(|(k, _)| k == "PORT") {
        if !bind_explicit {
            let port: u16 = match port.trim().parse() {
                Ok(p) if p > 0 => p,
                _ => {
                    return err(format!(
                        "environment variable PORT is {port:?}; expected a port number 1 to 65535"
                    ))
                }
            };
            merged["server"]["bind"] = toml::Value::String(format!("0.0.0.0:{port}"));
        }
    }

    let config: Config = toml::Value::Table(merged)
        .try_into()
        .or_else(|e: toml::de::Error| err(e.message().to_string()))?;
    let mut settings = config.validate()?;
    if alerts.sample_interval.is_none() {
        alerts.sample_interval = Some(settings.config.sampler.interval.clone());
    }
    if alerts.dashboard_url.is_none() {
        let scheme = if settings.edge.tls.is_some() {
            "https"
        } else {
            "http"
        };
        alerts.dashboard_url = Some(format!("{scheme}://{}", settings.bind));
    }
    // Rules and channels are checked now, so a bad rule stops start-up.
    alerts
        .rules()
        .map_err(|e| ConfigError(format!("[alerts] {e}")))?;
    alerts
        .settings(&settings.host)
        .map_err(|e| ConfigError(format!("[alerts] {e}")))?;
    settings.alerts = alerts;
    Ok(settings)
}

fn all_keys(defaults: &toml::Table) -> Vec<String> {
    defaults
        .iter()
        .flat_map(|(s, t)| {
            t.as_table()
                .into_iter()
                .flat_map(move |t| t.keys().map(move |k| format!("{s}.{k}")))
        })
        .collect()
}

/// Merges a file's table into `merged`, refusing unknown sections, unknown keys and
/// values whose type differs from the default's.
fn merge_file(
    defaults: &toml::Table,
    merged: &mut toml::Table,
    file: &toml::Table,
    origin: &Origin,
) -> Result<(), ConfigError> {
    for (section, value) in file {
        let Some(default_section) = defaults.get(section).and_then(|v| v.as_table()) else {
            let mut sections: Vec<_> = defaults.keys().map(|k| format!("[{k}]")).collect();
            sections.push("[alerts]".into());
            return err(format!(
                "unknown section or key `{section}` {origin}; allowed sections: {}",
                sections.join(", ")
            ));
        };
        let Some(table) = value.as_table() else {
            return err(format!(
                "`{section}` {origin} must be a table ([{section}])"
            ));
        };
        for (key, v) in table {
            let Some(default) = default_section.get(key) else {
                let keys: Vec<_> = default_section.keys().cloned().collect();
                return err(format!(
                    "unknown key `{section}.{key}` {origin}; allowed keys in [{section}]: {}",
                    keys.join(", ")
                ));
            };
            if default.type_str() != v.type_str() {
                return err(format!(
                    "`{section}.{key}` {origin} must be a {}, got a {} ({v})",
                    default.type_str(),
                    v.type_str()
                ));
            }
            merged[section.as_str()][key.as_str()] = v.clone();
        }
    }
    Ok(())
}

/// Parses an environment or flag string as the type of the key's default.
fn parse_scalar(
    default: &toml::Value,
    raw: &str,
    key: &str,
    origin: &Origin,
) -> Result<toml::Value, ConfigError> {
    match default {
        toml::Value::Integer(_) => raw
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .or_else(|_| err(format!("`{key}` {origin} must be an integer, got {raw:?}"))),
        // Lists (`server.trusted_proxies`): comma-separated.
        toml::Value::Array(_) => Ok(toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        )),
        toml::Value::Boolean(_) => match raw.trim() {
            "true" | "1" | "yes" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" => Ok(toml::Value::Boolean(false)),
            _ => err(format!(
                "`{key}` {origin} must be true or false, got {raw:?}"
            )),
        },
        _ => Ok(toml::Value::String(raw.to_string())),
    }
}

fn duration_in(
    key: &str,
    raw: &str,
    min: Duration,
    max: Duration,
    allowed: &str,
) -> Result<Duration, ConfigError> {
    match lookout::time::parse_duration(raw) {
        Ok(d) if d >= min && d <= max => Ok(d),
        Ok(_) => err(format!(
            "`{key}` is {raw:?}: out of range; allowed: {allowed}"
        )),
        Err(e) => err(format!("`{key}`: {e} (allowed: {allowed})")),
    }
}

impl Config {
    /// Checks ranges and paths, and resolves the settings the server runs with.
    pub fn validate(self) -> Result<Settings, ConfigError> {
        let bind = self.server.bind.parse().or_else(|_| {
            err(format!(
                "`server.bind` is {:?}: not an address; write IP:PORT, e.g. \"127.0.0.1:3000\"",
                self.server.bind
            ))
        })?;
        let interval = duration_in(
            "sampler.interval",
            &self.sampler.interval,
            Duration::from_secs(1),
            Duration::from_secs(3600),
            "1s to 1h",
        )?;
        let process_refresh = duration_in(
            "sampler.process_refresh",
            &self.sampler.process_refresh,
            Duration::from_secs(1),
            Duration::from_secs(3600),
            "1s to 1h",
        )?;
        let raw_retention = duration_in(
            "store.raw_retention",
            &self.store.raw_retention,
            Duration::from_secs(3600),
            Duration::from_secs(366 * 86400),
            "1h to 366d",
        )?;
        let rollup_retention = duration_in(
            "store.rollup_retention",
            &self.store.rollup_retention,
            Duration::from_secs(86400),
            Duration::from_secs(10 * 366 * 86400),
            "1d to 3660d",
        )?;
        if rollup_retention < raw_retention {
            return err(format!(
                "`store.rollup_retention` ({}) must be at least `store.raw_retention` ({})",
                self.store.rollup_retention, self.store.raw_retention
            ));
        }
        let flush_interval = duration_in(
            "store.flush_interval",
            &self.store.flush_interval,
            Duration::ZERO,
            Duration::from_secs(60),
            "0s (write every sample) to 60s",
        )?;
        let default_refresh_secs = match self.dashboard.default_refresh.trim() {
            "paused" | "0" | "0s" => 0,
            "1s" | "1" => 1,
            "5s" | "5" => 5,
            "10s" | "10" => 10,
            "30s" | "30" => 30,
            other => {
                return err(format!(
                    "`dashboard.default_refresh` is {other:?}; allowed: \"1s\", \"5s\", \"10s\", \"30s\", \"paused\""
                ))
            }
        };
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return err(format!(
                "`log.format` is {:?}; allowed: \"text\", \"json\"",
                self.log.format
            ));
        }
        if !(1..=10_000).contains(&self.log.max_size_mib) {
            return err(format!(
                "`log.max_size_mib` is {}; allowed: 1 to 10000",
                self.log.max_size_mib
            ));
        }
        if !(1..=1000).contains(&self.log.max_files) {
            return err(format!(
                "`log.max_files` is {}; allowed: 1 to 1000",
                self.log.max_files
            ));
        }
        if self.store.path.trim().is_empty() {
            return err("`store.path` is empty; give a file path such as \"./data/lookout.db\"");
        }
        let store_path = PathBuf::from(&self.store.path);
        check_writable_dir(&store_path, "store.path")?;
        if !self.log.dir.is_empty() {
            check_writable_dir(&Path::new(&self.log.dir).join("probe"), "log.dir")?;
        }
        let detector = self.detector.validate()?;
        let edge = self.tls.validate(&self.server)?;
        let auth = crate::auth::AuthSettings::from_section(&self.auth).map_err(ConfigError)?;
        let host = if self.host.name.trim().is_empty() {
            sysinfo_host_name()
        } else {
            self.host.name.trim().to_string()
        };
        Ok(Settings {
            bind,
            interval,
            process_refresh,
            raw_retention,
            rollup_retention,
            flush_interval,
            default_refresh_secs,
            store_path,
            host,
            detector,
            alerts: lookout::alert::AlertConfig::default(),
            auth,
            insecure_no_auth: false,
            edge,
            config: self,
        })
    }
}

fn sysinfo_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Creates the folder that will hold `file` and proves it is writable, so that a bad
/// path stops start-up with its key named instead of failing later in the store.
fn check_writable_dir(file: &Path, key: &str) -> Result<(), ConfigError> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).or_else(|e| {
        err(format!(
            "`{key}`: cannot create folder {}: {e}; choose a writable location",
            dir.display()
        ))
    })?;
    let probe = dir.join(format!(".lookout-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"ok").or_else(|e| {
        err(format!(
            "`{key}`: folder {} is not writable: {e}; choose a writable location",
            dir.display()
        ))
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn with_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lookout.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn tmp_store(dir: &tempfile::TempDir) -> Vec<(String, String)> {
        env(&[(
            "LOOKOUT_STORE_PATH",
            dir.path().join("db/l.db").to_str().unwrap(),
        )])
    }

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let dir = tempfile::tempdir().unwrap();
        let s = load(None, &tmp_store(&dir), &[]).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(s.interval, Duration::from_secs(5));
        assert_eq!(s.raw_retention, Duration::from_secs(7 * 86400));
        assert_eq!(s.rollup_retention, Duration::from_secs(90 * 86400));
        assert_eq!(s.default_refresh_secs, 5);
    }

    #[test]
    fn layers_apply_in_order_file_env_flag() {
        let (dir, path) =
            with_file("[sampler]\ninterval = \"10s\"\n[server]\nbind = \"127.0.0.1:4000\"\n");
        let mut e = tmp_store(&dir);
        e.extend(env(&[("LOOKOUT_SAMPLER_INTERVAL", "2s")]));
        let s = load(Some(&path), &e, &[]).unwrap();
        assert_eq!(s.interval, Duration::from_secs(2), "env beats file");
        assert_eq!(s.bind.port(), 4000, "file beats default");
        let flags = vec![("sampler.interval".into(), "1s".into(), "--interval".into())];
        let s = load(Some(&path), &e, &flags).unwrap();
        assert_eq!(s.interval, Duration::from_secs(1), "flag beats env");
    }

    #[test]
    fn unknown_key_names_the_key_and_the_allowed_ones() {
        let (dir, path) = with_file("[sampler]\nintervl = \"5s\"\n");
        let e = load(Some(&path), &tmp_store(&dir), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("sampler.intervl"), "{e}");
        assert!(e.contains("interval, process_refresh"), "{e}");
        let (dir, path) = with_file("[nope]\nx = 1\n");
        let e = load(Some(&path), &tmp_store(&dir), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`nope`") && e.contains("[sampler]"), "{e}");
    }

    #[test]
    fn wrong_type_names_key_and_expected_type() {
        let (dir, path) = with_file("[sampler]\ninterval = 5\n");
        let e = load(Some(&path), &tmp_store(&dir), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sampler.interval") && e.contains("must be a string"),
            "{e}"
        );
        let e = load(None, &env(&[("LOOKOUT_LOG_MAX_FILES", "many")]), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("log.max_files")
                && e.contains("LOOKOUT_LOG_MAX_FILES")
                && e.contains("integer"),
            "{e}"
        );
    }

    #[test]
    fn interval_out_of_range_says_allowed_values() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["500ms", "2h", "fast"] {
            let mut e = tmp_store(&dir);
            e.push(("LOOKOUT_SAMPLER_INTERVAL".into(), bad.into()));
            let msg = load(None, &e, &[]).unwrap_err().to_string();
            assert!(
                msg.contains("sampler.interval") && msg.contains("1s to 1h"),
                "{bad}: {msg}"
            );
        }
    }

    #[test]
    fn unwritable_data_dir_is_refused_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "x").unwrap();
        // A folder under a regular file can never be created, even as root.
        let bad = file.join("sub/lookout.db");
        let e = load(
            None,
            &env(&[("LOOKOUT_STORE_PATH", bad.to_str().unwrap())]),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("store.path") && e.contains("cannot create folder"),
            "{e}"
        );
    }

    #[test]
    fn malformed_toml_is_reported_with_the_file() {
        let (dir, path) = with_file("[sampler\ninterval = \"5s\"\n");
        let e = load(Some(&path), &tmp_store(&dir), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not valid TOML") && e.contains("lookout.toml"),
            "{e}"
        );
    }

    #[test]
    fn detector_settings_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = tmp_store(&dir);
        e.push(("LOOKOUT_DETECTOR_SENSITIVITY".into(), "extreme".into()));
        let msg = load(None, &e, &[]).unwrap_err().to_string();
        assert!(
            msg.contains("detector.sensitivity") && msg.contains("low, medium, high"),
            "{msg}"
        );
        let mut e = tmp_store(&dir);
        e.push(("LOOKOUT_DETECTOR_MEMBERS".into(), "forest,lstm".into()));
        let msg = load(None, &e, &[]).unwrap_err().to_string();
        assert!(
            msg.contains("detector.members") && msg.contains("\"lstm\""),
            "{msg}"
        );
        let mut e = tmp_store(&dir);
        e.push(("LOOKOUT_DETECTOR_MEMBERS".into(), "baseline, pca".into()));
        let s = load(None, &e, &[]).unwrap();
        assert!(
            s.detector.members.baseline && s.detector.members.pca && !s.detector.members.forest
        );
    }

    #[test]
    fn alert_rules_are_read_and_a_bad_rule_is_named() {
        let (dir, path) = with_file(
            "[[alerts.rules]]\nname = \"cpu-high\"\ncondition = \"cpu_usage > 90 for 5m\"\n",
        );
        let s = load(Some(&path), &tmp_store(&dir), &[]).unwrap();
        assert_eq!(s.alerts.rules().unwrap().len(), 1);
        assert_eq!(s.alerts.sample_interval.as_deref(), Some("5s"));
        let (dir, path) = with_file(
            "[[alerts.rules]]\nname = \"cpu-high\"\ncondition = \"cpu_usag > 90 for 5m\"\n",
        );
        let e = load(Some(&path), &tmp_store(&dir), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cpu-high") && e.contains("condition") && e.contains("cpu_usage"),
            "{e}"
        );
    }

    #[test]
    fn misspelt_environment_variable_is_refused() {
        let e = load(None, &env(&[("LOOKOUT_SAMPLER_INTERVL", "1s")]), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("LOOKOUT_SAMPLER_INTERVL") && e.contains("LOOKOUT_SAMPLER_INTERVAL"),
            "{e}"
        );
    }

    #[test]
    fn durations_parse() {
        let d = |raw: &str| {
            duration_in(
                "sampler.interval",
                raw,
                Duration::from_millis(1),
                Duration::from_secs(30 * 86400),
                "1ms to 30d",
            )
        };
        assert_eq!(d("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(d("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(d("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert_eq!(d("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(d("1h30m").unwrap(), Duration::from_secs(5400));
        // One grammar for every key (lookout::time): a bare number has no unit.
        let e = d("3").unwrap_err().to_string();
        assert!(
            e.contains("sampler.interval") && e.contains("\"3s\""),
            "{e}"
        );
        assert!(d("3 parsecs").is_err() && d("").is_err());
        assert!(d("31d").unwrap_err().to_string().contains("out of range"));
    }
}
