//! The TOML tables of the configuration file, with their defaults.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::validate::{check_writable_dir, duration_in};
use super::{err, ConfigError};
use std::path::{Path, PathBuf};

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
    /// A request head must arrive whole within this, counted from when the connection
    /// is ready for one (so it is also the keep-alive idle timeout); 1s to 5m.
    pub header_timeout: String,
    /// Open connections at most; past it the oldest that has not sent a request makes
    /// room, or the newcomer gets 503. 16 to 100000.
    pub max_connections: usize,
    /// A request body must arrive whole within this of its head, else 408; 1s to 1h.
    pub body_timeout: String,
    /// Open `/api/stream` connections at most, in all; past it 503 with Retry-After.
    pub max_streams: u32,
    /// Open `/api/stream` connections at most per caller (user, token or address).
    pub max_streams_per_caller: u32,
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
    pub(super) fn validate(
        &self,
        server: &ServerSection,
    ) -> Result<crate::edge::EdgeSettings, ConfigError> {
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
        let header_timeout = duration_in(
            "server.header_timeout",
            &server.header_timeout,
            Duration::from_secs(1),
            Duration::from_secs(300),
            "1s to 5m",
        )?;
        if !(16..=100_000).contains(&server.max_connections) {
            return err(format!(
                "`server.max_connections` is {}: out of range; allowed: 16 to 100000",
                server.max_connections
            ));
        }
        if server.max_streams == 0 || server.max_streams_per_caller == 0 {
            return err(
                "`server.max_streams` and `server.max_streams_per_caller` must be 1 or more",
            );
        }
        Ok(crate::edge::EdgeSettings {
            tls,
            hsts: self.hsts,
            trusted_proxies,
            max_body,
            conn: crate::edge::conn::ConnLimits {
                header_timeout,
                max_connections: server.max_connections,
                body_timeout: duration_in(
                    "server.body_timeout",
                    &server.body_timeout,
                    Duration::from_secs(1),
                    Duration::from_secs(3600),
                    "1s to 1h",
                )?,
            },
            max_streams: server.max_streams as usize,
            max_streams_per_caller: server.max_streams_per_caller as usize,
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
            members: "baseline,forest,pca,seasonal".into(),
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
    pub(super) fn validate(&self) -> Result<DetectorSettings, ConfigError> {
        let sensitivity = lookout::detect::Sensitivity::parse(&self.sensitivity)
            .or_else(|e| err(format!("`detector.sensitivity`: {e}")))?;
        let mut members = lookout::detect::Members {
            baseline: false,
            forest: false,
            pca: false,
            seasonal: false,
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
                "seasonal" => members.seasonal = true,
                other => {
                    return err(format!(
                        "`detector.members` has {other:?}; allowed: baseline, forest, pca, seasonal (comma-separated)"
                    ))
                }
            }
        }
        if !(members.baseline || members.forest || members.pca) {
            return err(
                "`detector.members` is empty; allowed: baseline, forest, pca, seasonal (comma-separated)",
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
            header_timeout: "10s".into(),
            max_connections: 1024,
            body_timeout: "30s".into(),
            max_streams: 512,
            max_streams_per_caller: 16,
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
