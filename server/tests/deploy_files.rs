//! The deployment files, checked where Render and a registry cannot be reached:
//! `render.yaml` against the Blueprint's documented keys and values
//! (render.com/docs/blueprint-spec), `docker-compose.yml` for a named data volume, `init`,
//! a restart policy and a health check, and both against the `Dockerfile` (volume, port,
//! health check). The environment they set is then given to the real `lookout` binary,
//! which must accept every variable, bootstrap the admin, and answer `healthCheckPath`
//! with 200 to an anonymous client, as Render's health checker is.

mod support;
use support::KillOnDrop;

use serde_norway::{Mapping, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

fn read(name: &str) -> String {
    std::fs::read_to_string(repo().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn yaml(name: &str) -> Value {
    serde_norway::from_str(&read(name)).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
}

fn map<'a>(v: &'a Value, what: &str) -> &'a Mapping {
    v.as_mapping()
        .unwrap_or_else(|| panic!("{what} must be a mapping"))
}

fn keys(m: &Mapping) -> BTreeSet<String> {
    m.keys()
        .map(|k| k.as_str().expect("string keys").to_string())
        .collect()
}

fn str_at<'a>(m: &'a Mapping, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Value::as_str)
}

/// The `Dockerfile` instructions (continuation lines joined), as (INSTRUCTION, args).
fn dockerfile() -> Vec<(String, String)> {
    let text = read("Dockerfile");
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && cur.is_empty()) {
            continue;
        }
        if let Some(head) = t.strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
            continue;
        }
        cur.push_str(t);
        let (ins, args) = cur.split_once(' ').unwrap_or((&cur, ""));
        out.push((ins.to_uppercase(), args.trim().to_string()));
        cur.clear();
    }
    out
}

/// Instructions of the final (runtime) stage.
fn runtime_stage() -> Vec<(String, String)> {
    let all = dockerfile();
    let last_from = all.iter().rposition(|(i, _)| i == "FROM").unwrap();
    all[last_from..].to_vec()
}

/// `KEY=VALUE` pairs of the runtime stage's ENV lines.
fn runtime_env() -> Vec<(String, String)> {
    runtime_stage()
        .iter()
        .filter(|(i, _)| i == "ENV")
        .flat_map(|(_, a)| {
            a.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn dockerfile_volume() -> String {
    let stage = runtime_stage();
    let vols: Vec<&String> = stage
        .iter()
        .filter(|(i, _)| i == "VOLUME")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(vols.len(), 1, "one VOLUME in the runtime stage: {vols:?}");
    vols[0]
        .trim_matches(|c| c == '[' || c == ']' || c == '"')
        .to_string()
}

// Documented Blueprint vocabulary (render.com/docs/blueprint-spec and its JSON schema).
const ROOT_KEYS: &[&str] = &[
    "services",
    "databases",
    "envVarGroups",
    "projects",
    "ungrouped",
    "previews",
];
const SERVICE_KEYS: &[&str] = &[
    "type",
    "name",
    "runtime",
    "plan",
    "region",
    "repo",
    "branch",
    "rootDir",
    "buildCommand",
    "startCommand",
    "preDeployCommand",
    "dockerfilePath",
    "dockerContext",
    "dockerCommand",
    "registryCredential",
    "image",
    "healthCheckPath",
    "numInstances",
    "scaling",
    "autoDeploy",
    "autoDeployTrigger",
    "buildFilter",
    "envVars",
    "disk",
    "domains",
    "previews",
    "maxShutdownDelaySeconds",
    "ipAllowList",
    "buildPlan",
];
const SERVICE_TYPES: &[&str] = &["web", "pserv", "worker", "cron", "keyvalue", "redis"];
const RUNTIMES: &[&str] = &[
    "docker", "elixir", "go", "node", "python", "ruby", "rust", "image",
];
const PLANS: &[&str] = &[
    "free",
    "starter",
    "standard",
    "pro",
    "pro plus",
    "pro max",
    "pro ultra",
];
const REGIONS: &[&str] = &["oregon", "ohio", "virginia", "frankfurt", "singapore"];
const AUTO_DEPLOY_TRIGGERS: &[&str] = &["off", "commit", "checksPass"];
const DISK_KEYS: &[&str] = &["name", "mountPath", "sizeGB"];
const ENV_VAR_KEYS: &[&str] = &[
    "key",
    "value",
    "sync",
    "generateValue",
    "fromService",
    "fromGroup",
    "fromDatabase",
];
/// Secrets the deployment must ask for and never carry in the file.
const SECRETS: &[&str] = &[
    "LOOKOUT_ADMIN_USER",
    "LOOKOUT_ADMIN_PASSWORD",
    "EMAIL_USER",
    "EMAIL_PASS",
];

fn is_secret(key: &str) -> bool {
    SECRETS.contains(&key)
        || ["PASS", "SECRET", "TOKEN", "KEY"]
            .iter()
            .any(|w| key.to_uppercase().contains(w))
}

fn render_service() -> Mapping {
    let doc = yaml("render.yaml");
    let root = map(&doc, "render.yaml");
    let unknown: Vec<String> = keys(root)
        .into_iter()
        .filter(|k| !ROOT_KEYS.contains(&k.as_str()))
        .collect();
    assert!(unknown.is_empty(), "undocumented root keys: {unknown:?}");
    let services = root
        .get("services")
        .and_then(Value::as_sequence)
        .expect("`services` list");
    let webs: Vec<&Value> = services
        .iter()
        .filter(|s| s.get("type").and_then(Value::as_str) == Some("web"))
        .collect();
    assert_eq!(webs.len(), 1, "one web service");
    map(webs[0], "service").clone()
}

#[test]
fn render_blueprint_uses_documented_keys_and_values() {
    let svc = render_service();
    let unknown: Vec<String> = keys(&svc)
        .into_iter()
        .filter(|k| !SERVICE_KEYS.contains(&k.as_str()))
        .collect();
    assert!(unknown.is_empty(), "undocumented service keys: {unknown:?}");
    for key in ["type", "name", "runtime"] {
        assert!(str_at(&svc, key).is_some(), "service needs `{key}`");
    }
    assert!(SERVICE_TYPES.contains(&str_at(&svc, "type").unwrap()));
    // `env` is the deprecated spelling of `runtime`; a Docker service builds the image,
    // so build/start commands do not apply.
    assert_eq!(str_at(&svc, "runtime"), Some("docker"));
    assert!(RUNTIMES.contains(&"docker"));
    for k in ["env", "buildCommand", "startCommand"] {
        assert!(
            !svc.contains_key(k),
            "`{k}` does not belong to a docker service"
        );
    }
    let dockerfile = str_at(&svc, "dockerfilePath").expect("dockerfilePath");
    assert!(repo().join(dockerfile).is_file(), "{dockerfile} missing");
    if let Some(ctx) = str_at(&svc, "dockerContext") {
        assert!(repo().join(ctx).is_dir());
    }

    let plan = str_at(&svc, "plan").expect("plan");
    assert!(PLANS.contains(&plan), "plan {plan:?} not one of {PLANS:?}");
    if let Some(region) = str_at(&svc, "region") {
        assert!(REGIONS.contains(&region), "region {region:?}");
    }
    if let Some(n) = svc.get("numInstances") {
        assert!(n.as_u64().is_some_and(|n| n >= 1));
    }

    // Auto-deploy from main: `autoDeployTrigger` (the deprecated boolean `autoDeploy`
    // must not be combined with it).
    assert_eq!(str_at(&svc, "branch"), Some("main"));
    let trigger = str_at(&svc, "autoDeployTrigger").expect("autoDeployTrigger");
    assert!(AUTO_DEPLOY_TRIGGERS.contains(&trigger), "{trigger:?}");
    assert_ne!(trigger, "off", "auto-deploy must be on");
    assert!(!svc.contains_key("autoDeploy"));

    // Persistent disk: documented keys, on a paid plan, mounted where the image keeps data.
    let disk = map(svc.get("disk").expect("disk"), "disk");
    let unknown: Vec<String> = keys(disk)
        .into_iter()
        .filter(|k| !DISK_KEYS.contains(&k.as_str()))
        .collect();
    assert!(unknown.is_empty(), "undocumented disk keys: {unknown:?}");
    assert!(str_at(disk, "name").is_some_and(|n| !n.is_empty()));
    assert!(disk
        .get("sizeGB")
        .and_then(Value::as_u64)
        .is_some_and(|g| g >= 1));
    assert_ne!(plan, "free", "persistent disks need a paid instance type");
    assert_eq!(
        str_at(disk, "mountPath"),
        Some(dockerfile_volume().as_str())
    );

    let path = str_at(&svc, "healthCheckPath").expect("healthCheckPath");
    assert!(path.starts_with('/'));
}

#[test]
fn render_secrets_are_sync_false_and_never_in_the_file() {
    let svc = render_service();
    let vars = svc
        .get("envVars")
        .and_then(Value::as_sequence)
        .expect("envVars");
    let mut seen = BTreeSet::new();
    for v in vars {
        let m = map(v, "envVars entry");
        let unknown: Vec<String> = keys(m)
            .into_iter()
            .filter(|k| !ENV_VAR_KEYS.contains(&k.as_str()))
            .collect();
        assert!(unknown.is_empty(), "undocumented envVars keys: {unknown:?}");
        let key = str_at(m, "key").expect("every env var has a key");
        assert!(seen.insert(key.to_string()), "{key} listed twice");
        // Exactly one source of the value.
        let sources = [
            "value",
            "sync",
            "generateValue",
            "fromService",
            "fromGroup",
            "fromDatabase",
        ]
        .iter()
        .filter(|s| m.contains_key(**s))
        .count();
        assert_eq!(
            sources, 1,
            "{key}: exactly one of value/sync/generateValue/from*"
        );
        if is_secret(key) {
            assert_eq!(
                m.get("sync").and_then(Value::as_bool),
                Some(false),
                "{key} is a secret: `sync: false`, no value in the file"
            );
        }
        if let Some(sync) = m.get("sync") {
            assert_eq!(sync.as_bool(), Some(false), "{key}: sync may only be false");
        }
        // PORT is Render's to set.
        assert_ne!(key, "PORT");
    }
    for s in SECRETS {
        assert!(seen.contains(*s), "render.yaml must ask for {s}");
    }
}

/// Render's proxy is declared (the login limit keys on the real client, HSTS follows
/// X-Forwarded-Proto) and session cookies are always Secure there.
#[test]
fn render_trusts_its_proxy_and_marks_cookies_secure() {
    let svc = render_service();
    let vars = svc.get("envVars").and_then(Value::as_sequence).unwrap();
    let value = |key: &str| {
        vars.iter()
            .map(|v| map(v, "env"))
            .find(|m| str_at(m, "key") == Some(key))
            .and_then(|m| str_at(m, "value"))
            .map(str::to_string)
    };
    let proxies = value("LOOKOUT_SERVER_TRUSTED_PROXIES").expect("trusted proxies");
    assert!(
        proxies.split(',').any(|p| p.trim() == "10.0.0.0/8"),
        "{proxies}"
    );
    for p in proxies.split(',') {
        lookout_server::edge::Cidr::parse(p).unwrap();
    }
    assert_eq!(value("LOOKOUT_AUTH_COOKIE_SECURE").as_deref(), Some("on"));
}

fn compose_service() -> (Mapping, Mapping) {
    let doc = yaml("docker-compose.yml");
    let root = map(&doc, "docker-compose.yml");
    let services = map(root.get("services").expect("services"), "services");
    let svc = map(
        services.get("lookout").expect("service `lookout`"),
        "lookout",
    )
    .clone();
    let volumes = root
        .get("volumes")
        .map(|v| map(v, "volumes").clone())
        .unwrap_or_default();
    (svc, volumes)
}

fn compose_env(svc: &Mapping) -> Vec<(String, String)> {
    match svc.get("environment").expect("environment") {
        Value::Mapping(m) => m
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => serde_norway::to_string(other).unwrap().trim().to_string(),
                };
                (k.as_str().unwrap().to_string(), v)
            })
            .collect(),
        Value::Sequence(s) => s
            .iter()
            .map(|e| {
                let (k, v) = e.as_str().unwrap().split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect(),
        _ => panic!("environment must be a mapping or a list"),
    }
}

#[test]
fn compose_keeps_data_in_a_named_volume_with_init_restart_and_healthcheck() {
    let (svc, volumes) = compose_service();
    assert_eq!(svc.get("init").and_then(Value::as_bool), Some(true));
    let restart = str_at(&svc, "restart").expect("restart policy");
    assert!(
        ["always", "unless-stopped", "on-failure"].contains(&restart),
        "{restart}"
    );

    // The image's data folder is a *named* volume declared at the top level.
    let data = dockerfile_volume();
    let mounts: Vec<&str> = svc
        .get("volumes")
        .and_then(Value::as_sequence)
        .expect("volumes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let named = mounts
        .iter()
        .filter_map(|m| {
            let mut parts = m.split(':');
            let (src, dst) = (parts.next()?, parts.next()?);
            (dst == data).then_some(src)
        })
        .next()
        .unwrap_or_else(|| panic!("no volume mounted at {data}: {mounts:?}"));
    assert!(
        !named.contains('/') && !named.starts_with('.') && !named.starts_with('~'),
        "{named} is a host path, not a named volume"
    );
    assert!(
        volumes.contains_key(named),
        "volume {named} is not declared"
    );

    let hc = map(svc.get("healthcheck").expect("healthcheck"), "healthcheck");
    let test: Vec<&str> = hc
        .get("test")
        .and_then(Value::as_sequence)
        .expect("healthcheck.test list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(test.first(), Some(&"CMD"));
    assert_eq!(test.last(), Some(&"healthcheck"));

    // The admin bootstrap and SMTP credentials come from the environment, and the
    // container port the mapping publishes is the one PORT makes the server bind.
    let env = compose_env(&svc);
    let names: BTreeSet<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    for s in SECRETS {
        assert!(names.contains(s), "compose must pass {s}");
    }
    for (k, v) in &env {
        if is_secret(k) {
            assert!(
                v.is_empty() || v.starts_with("${"),
                "{k} must come from the caller's environment, not the file"
            );
        }
    }
    let port = env
        .iter()
        .find(|(k, _)| k == "PORT")
        .map(|(_, v)| v.clone())
        .expect("PORT");
    let published: Vec<String> = svc
        .get("ports")
        .and_then(Value::as_sequence)
        .expect("ports")
        .iter()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    assert!(
        published.iter().any(|p| p.ends_with(&format!(":{port}"))),
        "{published:?} does not publish container port {port}"
    );
}

#[test]
fn dockerfile_runtime_is_non_root_with_volume_port_and_healthcheck() {
    let stage = runtime_stage();
    let last = |ins: &str| {
        stage
            .iter()
            .rev()
            .find(|(i, _)| i == ins)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| panic!("runtime stage has no {ins}"))
    };
    let user = last("USER");
    assert!(user != "root" && user != "0", "runs as {user}");
    assert!(last("HEALTHCHECK").contains("\"healthcheck\""));
    let env = runtime_env();
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let port = get("PORT").expect("ENV PORT");
    assert_eq!(last("EXPOSE"), port);
    let data = dockerfile_volume();
    for k in ["LOOKOUT_STORE_PATH", "LOOKOUT_DETECTOR_MODELS_DIR"] {
        let v = get(k).unwrap_or_else(|| panic!("ENV {k}"));
        assert!(
            v.starts_with(&format!("{data}/")),
            "{k}={v} is not under {data}"
        );
    }
    // Multi-stage: the build stage exists and installs its toolchain with the setup script.
    let all = dockerfile();
    assert!(all.iter().filter(|(i, _)| i == "FROM").count() >= 2);
    assert!(all
        .iter()
        .any(|(i, a)| i == "RUN" && a.contains("scripts/setup.sh --toolchain-only")));
}

/// The environment the image, Render and Compose give the binary, run for real: every
/// variable is accepted, the admin is bootstrapped (a non-loopback bind refuses to start
/// without a user), PORT is honoured, and `healthCheckPath` answers 200 anonymously.
#[test]
fn the_deploy_environment_starts_the_server_and_the_health_check_path_answers() {
    let svc = render_service();
    let health_path = str_at(&svc, "healthCheckPath").unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let data = dir.path().join("data");
    let mut env: Vec<(String, String)> = runtime_env()
        .into_iter()
        .filter(|(k, _)| k != "PORT")
        .map(|(k, v)| (k, v.replacen("/data", data.to_str().unwrap(), 1)))
        .collect();
    // render.yaml's variables: plain values as written, secrets as an operator fills them.
    for v in svc.get("envVars").and_then(Value::as_sequence).unwrap() {
        let key = str_at(map(v, "env"), "key").unwrap().to_string();
        let value = match str_at(map(v, "env"), "value") {
            Some(val) => val.to_string(),
            None if key == "LOOKOUT_ADMIN_USER" => "admin".into(),
            None => "render-secret-1".into(),
        };
        env.push((key, value));
    }
    // ... and Compose's (PORT among them: both set it, Render at run time).
    let (compose, _) = compose_service();
    for (k, v) in compose_env(&compose) {
        if !env.iter().any(|(e, _)| *e == k) && !v.starts_with("${") {
            env.push((k, v));
        }
    }
    env.retain(|(k, _)| k != "PORT");
    env.push(("PORT".into(), port.to_string()));

    let mut server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_lookout"))
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}{health_path}");
    let client = reqwest::blocking_client();
    let start = Instant::now();
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            server
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("lookout exited ({status}) with the deploy environment {env:?}:\n{err}");
        }
        if let Some(code) = client(&url) {
            assert_eq!(code, 200, "{url}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{url} never answered"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        data.join("lookout.db").exists(),
        "store not under the data folder"
    );
}

mod reqwest {
    /// A status-only GET through the async client, on a small runtime.
    pub fn blocking_client() -> impl Fn(&str) -> Option<u16> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = ::reqwest::Client::new();
        move |url: &str| {
            rt.block_on(async { client.get(url).send().await.ok() })
                .map(|r| r.status().as_u16())
        }
    }
}

/// scripts/docker-test.sh finds the Debian mirror for debootstrap in apt's sources:
/// the `URIs:` field of a stock Debian 12 `debian.sources` (tests/data/apt, copied from
/// this machine), not the snapshot.debian.org address commented above it, and the
/// address of a one-line `deb [options] URL` entry, not a commented one.
#[test]
fn docker_test_reads_the_apt_mirror_from_uris_not_comments() {
    let mirror = |files: &[&str]| {
        let out = Command::new("bash")
            .arg(repo().join("scripts/docker-test.sh"))
            .arg("--print-mirror")
            .args(files.iter().map(|f| repo().join("tests/data/apt").join(f)))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let sources = read("tests/data/apt/debian.sources");
    assert!(sources.contains("# http://snapshot.debian.org/archive/debian/"));
    assert_eq!(mirror(&["debian.sources"]), "http://deb.debian.org/debian");
    assert_eq!(
        mirror(&["one-line.list"]),
        "http://mirror.example.org/debian"
    );
    // Order of the files decides; a missing file is skipped.
    assert_eq!(
        mirror(&["missing.list", "one-line.list", "debian.sources"]),
        "http://mirror.example.org/debian"
    );
    assert_eq!(mirror(&["missing.sources"]), "");
}
