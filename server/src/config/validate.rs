//! The checks that turn a [`Config`] into [`Settings`]: ranges, durations, paths.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{err, Config, ConfigError, Settings};

pub(super) fn duration_in(
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
        let ingest = self.ingest.validate(raw_retention)?;
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
            remote_write: None,
            ingest,
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
pub(super) fn check_writable_dir(file: &Path, key: &str) -> Result<(), ConfigError> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // Owner-only (0700 on unix) where the folder is made here.
    lookout::store::private_dir_all(&dir).or_else(|e| {
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
