//! Layering: defaults <- TOML file <- `LOOKOUT_*` environment <- CLI flags, merged into
//! one TOML table and checked key by key against the defaults.

use std::path::Path;

use super::{err, Config, ConfigError, Origin, Settings};

/// The command line's `(key, value, flag name)` triples for [`load`]: the named flags
/// that were given (`(key, value, "--flag")`), then every `--set KEY=VALUE`. One
/// grammar for `lookout` and `lookout-agent`.
pub fn flag_triples(
    named: &[(&str, &Option<String>, &str)],
    set: &[String],
) -> Result<Vec<(String, String, String)>, String> {
    let mut flags = Vec::new();
    for (key, value, flag) in named {
        if let Some(v) = value {
            flags.push((key.to_string(), v.clone(), flag.to_string()));
        }
    }
    for s in set {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            format!("invalid configuration: --set {s:?}: write KEY=VALUE, e.g. --set sampler.interval=2s")
        })?;
        flags.push((k.trim().to_string(), v.to_string(), format!("--set {k}")));
    }
    Ok(flags)
}

/// [`load`] as the binaries call it: `file`, or ./lookout.toml when it exists; this
/// process's `LOOKOUT_*` (and `PORT`) environment; then the command line's `flags`.
pub fn load_for_process(
    file: Option<&Path>,
    flags: &[(String, String, String)],
) -> Result<Settings, String> {
    let default = Path::new("lookout.toml");
    let file = file.or_else(|| default.exists().then_some(default));
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("LOOKOUT_") || k == "PORT")
        .collect();
    load(file, &env, flags).map_err(|e| e.to_string())
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
    let mut export = ExportSection::default();
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
        if let Some(section) = table.remove("export") {
            export = section.try_into().or_else(|e: toml::de::Error| {
                err(format!("[export] in {}: {}", path.display(), e.message()))
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
    if let Some(rw) = &export.remote_write {
        settings.remote_write = Some(
            rw.validate()
                .map_err(|e| ConfigError(format!("[export.remote_write] {e}")))?,
        );
    }
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

/// `[export]`: sections pushed to other engines, parsed whole like `[alerts]` (they are
/// tables, and their secrets come from the environment by name, not `LOOKOUT_*`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportSection {
    remote_write: Option<lookout::export::remote_write::RemoteWriteConfig>,
}
