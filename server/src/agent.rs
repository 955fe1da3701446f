//! `lookout agent`: the command around `lookout::agent` (settings, logging, stop on
//! Ctrl-C / SIGTERM).

use crate::config::{Settings, AGENT_TOKEN_ENV};
use std::path::PathBuf;
use std::sync::mpsc;

/// The setting every agent runs with, as a command-line triple: an agent runs no
/// detector, so its models folder is neither checked nor made.
pub fn no_detector() -> (String, String, String) {
    ("detector.enabled".into(), "false".into(), "agent".into())
}

/// The settings of an agent: the config file (or ./lookout.toml when it exists), the
/// `LOOKOUT_*` environment, then the command line's flags (key, value, flag name).
pub fn load_settings(
    file: Option<PathBuf>,
    mut flags: Vec<(String, String, String)>,
) -> Result<Settings, String> {
    flags.insert(0, no_detector());
    crate::config::load_for_process(file.as_deref(), &flags)
}

/// Runs the agent until Ctrl-C or SIGTERM; returns the exit code (2: bad settings).
pub fn run(settings: &Settings) -> u8 {
    let opts = match settings.config.agent.validate(
        &settings.host,
        settings.interval,
        settings.process_refresh,
        std::env::var(AGENT_TOKEN_ENV).ok(),
    ) {
        Ok(o) => o,
        Err(e) => return crate::error::exit_with(2, e),
    };
    if let Err(e) = crate::logging::init(&settings.config.log) {
        return crate::error::exit_with(2, e);
    }
    let (stop_tx, stop_rx) = mpsc::channel();
    // The signal wait needs an event loop: a one-thread runtime on its own thread,
    // idle until a signal comes.
    let signals = std::thread::Builder::new()
        .name("lookout-signals".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(crate::shutdown_signal());
                tracing::info!("stop requested");
            }
            let _ = stop_tx.send(());
        });
    if let Err(e) = signals {
        return crate::error::exit_with(1, format!("cannot wait for signals: {e}"));
    }
    match lookout::agent::run(opts, stop_rx) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            crate::error::exit_with(1, e)
        }
    }
}
