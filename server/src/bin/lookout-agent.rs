//! `lookout-agent`: the agent alone, for hosts that only ship samples to a hub.
//!
//! `lookout agent` does the same, but it is the whole server binary (42 MB with the
//! dashboard, the store and the detector), and the agent's RSS is mostly that
//! binary's code pages: the few functions an agent runs are spread over the whole
//! text, and every page fault maps a 64 KiB window around it. This binary links only
//! what the agent reaches (the sampler, the config loader, the shipper), so the same
//! work touches far fewer pages (figures in the README's agent row).

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "lookout-agent",
    version,
    about = "Sample this host and ship the samples to a Lookout hub (the same as `lookout agent`)"
)]
struct Cli {
    /// TOML config file (default: ./lookout.toml when it exists); its [agent],
    /// [sampler], [host] and [log] sections apply.
    #[arg(long, short = 'c', env = "LOOKOUT_CONFIG")]
    config: Option<PathBuf>,
    /// The hub's URL, e.g. https://hub.example.com:3000 (agent.hub).
    #[arg(long)]
    hub: Option<String>,
    /// Sampling interval, 1s to 1h (sampler.interval).
    #[arg(long)]
    interval: Option<String>,
    /// Log format: text or json (log.format).
    #[arg(long)]
    log_format: Option<String>,
    /// Any key, e.g. --set agent.buffer_max=64MiB (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

fn main() -> ExitCode {
    lookout_server::memory::tune_allocator();
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let named = [
        ("agent.hub", &cli.hub, "--hub"),
        ("sampler.interval", &cli.interval, "--interval"),
        ("log.format", &cli.log_format, "--log-format"),
    ];
    let flags = match lookout_server::config::flag_triples(&named, &cli.set) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("lookout-agent: {e}");
            return ExitCode::from(2);
        }
    };
    match lookout_server::agent::load_settings(cli.config, flags) {
        Ok(settings) => ExitCode::from(lookout_server::agent::run(&settings)),
        Err(e) => {
            eprintln!("lookout-agent: {e}");
            ExitCode::from(2)
        }
    }
}
