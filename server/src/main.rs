//! `lookout`: run the monitor, or check its configuration.

use clap::{Parser, Subcommand};
use lookout_server::auth::cli as auth_cli;
use lookout_server::{commands, config, logging};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "lookout",
    version,
    about = "Host performance monitor with anomaly detection"
)]
struct Cli {
    /// TOML config file (default: ./lookout.toml when it exists).
    #[arg(long, short = 'c', env = "LOOKOUT_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:3000 (server.bind).
    #[arg(long, global = true)]
    bind: Option<String>,
    /// Sampling interval, 1s to 1h (sampler.interval).
    #[arg(long, global = true)]
    interval: Option<String>,
    /// SQLite database file (store.path).
    #[arg(long, global = true)]
    db: Option<String>,
    /// Log format: text or json (log.format).
    #[arg(long, global = true)]
    log_format: Option<String>,
    /// Any key, e.g. --set store.raw_retention=14d (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", global = true)]
    set: Vec<String>,
    /// Serve a non-loopback address with no login at all (anyone who can reach it
    /// can read and change everything). Without it, start-up refuses.
    #[arg(long, global = true)]
    insecure_no_auth: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the sampler, the store and the web server (the default).
    Serve,
    /// Check the configuration and print the effective settings.
    Config,
    /// Sample this host and ship the samples to a hub (`lookout serve` elsewhere):
    /// no dashboard, no store, only an on-disk buffer while the hub is unreachable.
    /// The ingest token comes from LOOKOUT_AGENT_TOKEN or `agent.token_file`.
    Agent {
        /// The hub's URL, e.g. https://hub.example.com:3000 (agent.hub).
        #[arg(long)]
        hub: Option<String>,
    },
    /// Score a CSV offline with the server's pipeline: `lookout detect [--train TRAIN.csv]
    /// [--events] < TEST.csv > SCORES.csv`. First column `timestamp`, every other column
    /// numeric; output `timestamp,score` (score = surprise, -log10 of a probability).
    Detect {
        /// Rows that come before the input: scored silently, then a model is trained on
        /// them; without it, the detector learns online from the stream.
        #[arg(long)]
        train: Option<PathBuf>,
        /// Add the `event` column: 1 while an anomaly event is open.
        #[arg(long)]
        events: bool,
        /// Sensitivity: low, medium, high, or a surprise threshold (see detector.sensitivity).
        #[arg(long, default_value = "medium")]
        sensitivity: String,
        /// A steady change becomes the new normal after this long (detector.adapt_after).
        #[arg(long, default_value = "30m")]
        adapt_after: String,
    },
    /// Evaluate the detector on labelled series (NAB layout) and print the figures.
    Eval {
        /// Folder holding the series named in the labels file.
        #[arg(long)]
        data: PathBuf,
        /// JSON: {"dir/file.csv": [[start, end], ...]}.
        #[arg(long)]
        labels: PathBuf,
        /// Score with a plain Isolation Forest over raw values (for comparison).
        #[arg(long)]
        plain_forest: bool,
        /// online (each series streamed whole) or nab (NAB's protocol: the probationary
        /// rows as --train, one dense rank over all series, NAB's threshold sweep).
        #[arg(long, default_value = "online")]
        protocol: String,
    },
    /// GET /healthz on the running server; exit 0 when it answers 200 (Docker HEALTHCHECK).
    Healthcheck,
    /// Detector models: list, show, rollback, train.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
    /// Users of the dashboard and API: add, list, remove, passwd.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// API tokens (`Authorization: Bearer ...`): create, list, revoke.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Stored samples: export them as CSV.
    History {
        #[command(subcommand)]
        action: HistoryAction,
    },
}

#[derive(Subcommand, Debug)]
enum HistoryAction {
    /// Write stored samples as CSV in the format `lookout detect` reads.
    ///
    /// Raw samples of this host, oldest first: `timestamp,<metric>,...`, an empty field
    /// for a missing value. Exit 2 on a bad option, 1 when there is no store.
    #[command(
        next_help_heading = "Export options",
        after_help = "Times: epoch seconds or ms, ISO in UTC (2026-12-04T15:30:00Z, \"2026-12-04 15:30\"), \
                      `now`, or relative to now (-30m, -2h, -7d).\n\
                      Example: lookout history export --from -2h --metrics cpu_usage,memory_usage | lookout detect"
    )]
    Export {
        /// Start, inclusive [default: the oldest stored sample].
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        from: Option<String>,
        /// End, inclusive [default: now].
        #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
        to: Option<String>,
        /// Comma-separated metric names [default: all, in storage order].
        #[arg(long, value_name = "A,B,...")]
        metrics: Option<String>,
        /// Write to FILE instead of stdout.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
        /// How the `timestamp` column is written.
        #[arg(long, value_enum, default_value = "iso")]
        timestamps: lookout_server::export::TimestampFormat,
    },
}

#[derive(Subcommand, Debug)]
enum UserAction {
    /// Add a user. The password comes from --password-stdin, LOOKOUT_PASSWORD, or a prompt.
    Add {
        name: String,
        /// admin, developer or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users.
    List,
    /// Remove a user (never the last admin); their sessions end.
    Remove { name: String },
    /// Change a user's password; their sessions end.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
enum TokenAction {
    /// Create a token and print it (only it, on one line). It is not shown again.
    Create {
        #[arg(long)]
        name: String,
        /// read (viewer GETs, e.g. /metrics), admin (everything) or ingest (an agent:
        /// only POST /api/ingest, for the one host its first batch names).
        #[arg(long)]
        scope: String,
    },
    /// List the tokens (never the secrets).
    List,
    /// Revoke a token by id or name; it stops working at once.
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
enum ModelAction {
    /// List the saved versions.
    List,
    /// Show one version's metadata as JSON.
    Show { version: u64 },
    /// Make an older version the newest (a running server switches within 30 s).
    Rollback { version: u64 },
    /// Train now on the stored history and save a new version.
    Train,
}

impl Cli {
    fn flags(&self) -> Result<Vec<(String, String, String)>, String> {
        let mut flags = Vec::new();
        let named = [
            ("server.bind", &self.bind, "--bind"),
            ("sampler.interval", &self.interval, "--interval"),
            ("store.path", &self.db, "--db"),
            ("log.format", &self.log_format, "--log-format"),
        ];
        let hub = match &self.command {
            Some(Command::Agent { hub }) => hub.clone(),
            _ => None,
        };
        if let Some(h) = hub {
            flags.push(("agent.hub".to_string(), h, "--hub".to_string()));
        }
        if matches!(self.command, Some(Command::Agent { .. })) {
            flags.push(lookout_server::agent::no_detector());
        }
        flags.extend(config::flag_triples(&named, &self.set)?);
        Ok(flags)
    }
}

fn main() -> ExitCode {
    // Before any thread: large blocks (Argon2's) go back to the system when freed.
    lookout_server::memory::tune_allocator();
    // .env is honoured but never required; real environment variables win.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    // The offline commands need no configuration.
    match &cli.command {
        Some(Command::Detect {
            train,
            events,
            sensitivity,
            adapt_after,
        }) => {
            return ExitCode::from(commands::detect(
                train.as_deref(),
                *events,
                sensitivity,
                adapt_after,
            ))
        }
        Some(Command::Eval {
            data,
            labels,
            plain_forest,
            protocol,
        }) => return ExitCode::from(commands::eval(data, labels, *plain_forest, protocol)),
        _ => {}
    }
    let settings = match load_settings(&cli) {
        Ok(mut s) => {
            s.insecure_no_auth = cli.insecure_no_auth;
            s
        }
        Err(e) => {
            eprintln!("lookout: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Detect { .. } | Command::Eval { .. } => unreachable!("handled above"),
        Command::Healthcheck => ExitCode::from(commands::healthcheck(&settings)),
        Command::Agent { .. } => ExitCode::from(lookout_server::agent::run(&settings)),
        Command::Model { action } => ExitCode::from(match action {
            ModelAction::List => commands::model_list(&settings),
            ModelAction::Show { version } => commands::model_show(&settings, version),
            ModelAction::Rollback { version } => commands::model_rollback(&settings, version),
            ModelAction::Train => commands::model_train(&settings),
        }),
        Command::Config => {
            match toml::to_string_pretty(&settings.config) {
                Ok(text) => print!("{text}"),
                Err(e) => {
                    eprintln!("lookout: {e}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Command::User { action } => ExitCode::from(match action {
            UserAction::Add {
                name,
                role,
                password_stdin,
            } => auth_cli::user_add(&settings, &name, &role, password_stdin),
            UserAction::List => auth_cli::user_list(&settings),
            UserAction::Remove { name } => auth_cli::user_remove(&settings, &name),
            UserAction::Passwd {
                name,
                password_stdin,
            } => auth_cli::user_passwd(&settings, &name, password_stdin),
        }),
        Command::Token { action } => ExitCode::from(match action {
            TokenAction::Create { name, scope } => auth_cli::token_create(&settings, &name, &scope),
            TokenAction::List => auth_cli::token_list(&settings),
            TokenAction::Revoke { id } => auth_cli::token_revoke(&settings, &id),
        }),
        Command::History { action } => ExitCode::from(match action {
            HistoryAction::Export {
                from,
                to,
                metrics,
                output,
                timestamps,
            } => lookout_server::export::history_export(
                &settings,
                &lookout_server::export::ExportOptions {
                    from,
                    to,
                    metrics,
                    output,
                    timestamps,
                },
            ),
        }),
        Command::Serve => {
            if let Err(e) = logging::init(&settings.config.log) {
                eprintln!("lookout: {e}");
                return ExitCode::from(2);
            }
            // The first admin from the environment, then the bind policy: exit 2.
            if let Err(e) = lookout_server::auth::startup::run(&settings) {
                tracing::error!("{e}");
                eprintln!("lookout: {e}");
                return ExitCode::from(2);
            }
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                // Two workers are plenty for a host agent; blocking work (SQLite,
                // sampling, training) goes to the blocking pool.
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("lookout: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(lookout_server::serve(settings)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("lookout: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn load_settings(cli: &Cli) -> Result<config::Settings, String> {
    config::load_for_process(cli.config.as_deref(), &cli.flags()?)
}
