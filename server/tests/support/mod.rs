//! Helpers shared by the server's integration tests (each test file is its own crate,
//! so not every file uses every helper).
#![allow(dead_code)]

use std::net::TcpListener;

/// A port that was free a moment ago on 127.0.0.1 (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process (a `lookout serve`) killed and reaped when the test ends, pass or fail.
pub struct KillOnDrop(pub std::process::Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` with `stdin` written to its standard input; returns what it printed.
pub fn output_with_stdin(cmd: &mut std::process::Command, stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its arguments exits before reading its input; the write then
    // meets a closed pipe, which is that command's answer, not a test failure.
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    child.wait_with_output().unwrap()
}

/// `lookout` for a test server on 127.0.0.1:`port` with its own data folder: 1 s
/// sampling, every write flushed at once, logs at info, and nothing from the caller's
/// environment but PATH (so a developer's LOOKOUT_* settings cannot change a result).
pub fn lookout_command(data: &std::path::Path, port: u16) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lookout"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LOOKOUT_SERVER_BIND", format!("127.0.0.1:{port}"))
        .env("LOOKOUT_STORE_PATH", data.join("lookout.db"))
        .env("LOOKOUT_SAMPLER_INTERVAL", "1s")
        .env("LOOKOUT_STORE_FLUSH_INTERVAL", "0s")
        .env("LOOKOUT_LOG_LEVEL", "info")
        .current_dir(data);
    cmd
}

/// Waits up to 60 s for a just-spawned server to be `healthy`, polling every 100 ms;
/// fails at once if the process exits first (a start-up error, not a slow start).
pub fn wait_for_start(child: &mut std::process::Child, mut healthy: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if healthy() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("lookout exited early: {status}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lookout not healthy within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// [`wait_for_start`] for a server whose output goes to the file `log`: a start that
/// fails shows that log (the test's folder is gone afterwards).
pub fn wait_for_start_logged(
    child: &mut std::process::Child,
    log: &std::path::Path,
    healthy: impl FnMut() -> bool,
) {
    let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for_start(child, healthy)
    }));
    if let Err(why) = started {
        let why = why
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| why.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!(
            "{why}; its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
}

/// Polls `ok` every 100 ms until it holds; fails after 30 s.
pub fn wait_until(ok: impl FnMut() -> bool) {
    wait_until_within(std::time::Duration::from_secs(30), ok)
}

/// Polls `ok` every 100 ms until it holds; fails after `limit`.
pub fn wait_until_within(limit: std::time::Duration, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("condition not met within {limit:?}");
}

/// Writes `lookout.toml` in `dir` with a rule that fires on any host at once
/// (`always-busy`: `process_count > 0 for 1s`, no group wait) into the JSON webhook
/// `hook` at `url`; returns the file's path.
pub fn always_busy_config(dir: &std::path::Path, url: &str) -> std::path::PathBuf {
    let cfg = dir.join("lookout.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[alerts]
group_wait = "0s"

[[alerts.rules]]
name = "always-busy"
severity = "critical"
condition = "process_count > 0 for 1s"

[[alerts.channels]]
type = "webhook"
name = "hook"
format = "json"
url = "{url}"
"#
        ),
    )
    .unwrap();
    cfg
}
