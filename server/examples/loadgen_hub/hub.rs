//! The hub under test: a `lookout serve` started on loopback, stopped as in service.

use crate::host::free_port;
use crate::Args;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Hub {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

pub fn start_hub(a: &Args, bin: &Path) -> Hub {
    let dir = tempfile::Builder::new()
        .prefix("lookout-loadgen-")
        .tempdir()
        .expect("a temporary folder");
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("hub.log")).expect("hub.log");
    let child = Command::new(bin)
        .arg("serve")
        .env("LOOKOUT_SERVER_BIND", format!("127.0.0.1:{port}"))
        .env("LOOKOUT_STORE_PATH", dir.path().join("hub.db"))
        .env("LOOKOUT_HOST_NAME", "loadgen-hub")
        .env("LOOKOUT_DETECTOR_MODELS_DIR", dir.path().join("models"))
        .env("LOOKOUT_DETECTOR_MIN_HISTORY", &a.min_history)
        .env("LOOKOUT_LOG_LEVEL", "warn")
        .env("LOOKOUT_SERVER_MAX_BODY", "4MiB")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("hub.log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    Hub { child, dir, port }
}

pub fn stop_hub(mut hub: Hub, keep: bool) {
    // SIGTERM so the hub shuts down as in service (flushes, writes models).
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(hub.child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = hub.child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Ok(None) = hub.child.try_wait() {
        let _ = hub.child.kill();
        let _ = hub.child.wait();
    }
    if keep {
        println!("hub log and store: {}", hub.dir.keep().display());
    }
}
