//! `[export.remote_write]`: where and how samples are pushed, checked into
//! [`RemoteWriteOptions`] with errors that name the key to fix.

use crate::alert::notify::Secret;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The section as written. Credentials come from the environment or a file, never the
/// config itself: `password_env`/`password_file` with `username` for basic auth, or
/// `bearer_token_env`/`bearer_token_file`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    /// e.g. `http://prometheus:9090/api/v1/write` or VictoriaMetrics' `/api/v1/write`.
    pub url: String,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    pub bearer_token_env: Option<String>,
    pub bearer_token_file: Option<PathBuf>,
    /// Samples per request (default 500).
    pub batch_size: Option<usize>,
    /// Samples held while the receiver is away; past it the oldest are dropped and
    /// counted (default 100,000: about 25 min of a small host's ~70 series at 1 s).
    pub queue_max_samples: Option<usize>,
    /// First retry delay, doubled per failure up to `max_backoff` (defaults 500ms, 30s).
    pub min_backoff: Option<String>,
    pub max_backoff: Option<String>,
    /// Per request (default 10s).
    pub timeout: Option<String>,
}

#[derive(Clone, PartialEq)]
pub enum RemoteAuth {
    None,
    Basic { username: String, password: Secret },
    Bearer(Secret),
}

impl std::fmt::Debug for RemoteAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteAuth::None => f.write_str("None"),
            RemoteAuth::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            RemoteAuth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// The checked section.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteWriteOptions {
    pub url: String,
    pub auth: RemoteAuth,
    pub batch_size: usize,
    pub queue_max_samples: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub timeout: Duration,
}

impl RemoteWriteOptions {
    /// Defaults for `url` with no auth (tests, benches).
    pub fn new(url: impl Into<String>) -> Self {
        RemoteWriteOptions {
            url: url.into(),
            auth: RemoteAuth::None,
            batch_size: 500,
            queue_max_samples: 100_000,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

fn secret(
    env: &Option<String>,
    file: &Option<PathBuf>,
    key: &str,
) -> Result<Option<Secret>, String> {
    match (env, file) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(format!("set one of `{key}_env` and `{key}_file`, not both")),
        (Some(var), None) => std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| Some(Secret::new(v)))
            .ok_or_else(|| format!("`{key}_env`: environment variable {var} is not set")),
        (None, Some(path)) => crate::alert::notify::read_secret_file(path)
            .map(|v| Some(Secret::new(v)))
            .map_err(|e| format!("`{key}_file`: {e}")),
    }
}

fn duration(v: &Option<String>, key: &str, default: Duration) -> Result<Duration, String> {
    let Some(v) = v else { return Ok(default) };
    match crate::time::parse_duration(v) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(format!("`{key}` must be more than 0")),
        Err(e) => Err(format!("`{key}` is {v:?}: {e}")),
    }
}

impl RemoteWriteConfig {
    /// Checks the section; errors name the key (callers prefix the section).
    pub fn validate(&self) -> Result<RemoteWriteOptions, String> {
        let url = self.url.trim();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| format!("`url` is {url:?}: it must start with http:// or https://"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("`url` is {url:?}: it has no host"));
        }
        if rest.split('/').next().is_some_and(|a| a.contains('@')) {
            return Err("`url` must not carry credentials: use `username` with `password_env` or `password_file`".into());
        }
        let password = secret(&self.password_env, &self.password_file, "password")?;
        let bearer = secret(
            &self.bearer_token_env,
            &self.bearer_token_file,
            "bearer_token",
        )?;
        let auth = match (&self.username, password, bearer) {
            (Some(_), _, Some(_)) | (None, Some(_), Some(_)) => {
                return Err("set basic auth (`username` + `password_*`) or a bearer token (`bearer_token_*`), not both".into())
            }
            (Some(u), Some(p), None) => RemoteAuth::Basic { username: u.clone(), password: p },
            (Some(_), None, None) => return Err("`username` is set without `password_env` or `password_file`".into()),
            (None, Some(_), None) => return Err("a password is set without `username`".into()),
            (None, None, Some(t)) => RemoteAuth::Bearer(t),
            (None, None, None) => RemoteAuth::None,
        };
        let d = RemoteWriteOptions::new(url);
        let batch_size = self.batch_size.unwrap_or(d.batch_size);
        if !(1..=100_000).contains(&batch_size) {
            return Err(format!(
                "`batch_size` is {batch_size}: write 1 to 100000 samples"
            ));
        }
        let queue_max_samples = self.queue_max_samples.unwrap_or(d.queue_max_samples);
        if queue_max_samples < batch_size || queue_max_samples > 100_000_000 {
            return Err(format!(
                "`queue_max_samples` is {queue_max_samples}: write at least `batch_size` ({batch_size}) and at most 100000000"
            ));
        }
        let min_backoff = duration(&self.min_backoff, "min_backoff", d.min_backoff)?;
        let max_backoff = duration(&self.max_backoff, "max_backoff", d.max_backoff)?;
        if max_backoff < min_backoff {
            return Err("`max_backoff` must be at least `min_backoff`".into());
        }
        Ok(RemoteWriteOptions {
            url: url.to_string(),
            auth,
            batch_size,
            queue_max_samples,
            min_backoff,
            max_backoff,
            timeout: duration(&self.timeout, "timeout", d.timeout)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(extra: &str) -> Result<RemoteWriteOptions, String> {
        let c: RemoteWriteConfig = toml::from_str(&format!(
            "url = \"http://127.0.0.1:9/api/v1/write\"\n{extra}"
        ))
        .unwrap();
        c.validate()
    }

    #[test]
    fn bad_sections_are_refused_naming_the_key() {
        let bad_url: RemoteWriteConfig = toml::from_str("url = \"127.0.0.1:9090\"").unwrap();
        assert!(bad_url.validate().unwrap_err().contains("`url`"));
        assert!(check("batch_size = 0")
            .unwrap_err()
            .contains("`batch_size`"));
        assert!(check("batch_size = 10\nqueue_max_samples = 5")
            .unwrap_err()
            .contains("`queue_max_samples`"));
        assert!(check("min_backoff = \"soon\"")
            .unwrap_err()
            .contains("`min_backoff`"));
        std::env::set_var("LOOKOUT_TEST_RW_SECRET", "s3cret");
        let both = check(
            "username = \"u\"\npassword_env = \"LOOKOUT_TEST_RW_SECRET\"\nbearer_token_env = \"LOOKOUT_TEST_RW_SECRET\"",
        )
        .unwrap_err();
        assert!(both.contains("not both"), "{both}");
        assert!(check("bearer_token_env = \"LOOKOUT_TEST_RW_UNSET\"")
            .unwrap_err()
            .contains("LOOKOUT_TEST_RW_UNSET"));
        let ok = check("username = \"u\"\npassword_env = \"LOOKOUT_TEST_RW_SECRET\"").unwrap();
        assert!(!format!("{ok:?}").contains("s3cret"));
        assert!(toml::from_str::<RemoteWriteConfig>("url = \"http://x\"\nbatchsize = 1").is_err());
    }
}
