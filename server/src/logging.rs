//! Logs through `tracing`: human-readable text or JSON on stdout, plus optional
//! size-rotated files (`lookout.log`, `lookout.log.1`, ...). tracing-appender only
//! rotates by time, and a monitor on a small disk needs a hard size cap, so the
//! rotation is done here.
//!
//! The last [`RING_LINES`] lines are also kept in memory ([`ring`]) for the developer
//! logs view, `GET /api/logs?level=&limit=`, with secrets redacted once more on the way in.

use crate::config::LogSection;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// A log file that moves itself aside when it reaches `max_bytes`, keeping
/// `max_files` files in all.
/// Opens a log file for appending (emptied if `truncate`), creating it owner-only
/// (0600 on unix).
fn open_private(path: &Path, truncate: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    o.create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

pub struct SizeRotatingFile {
    path: PathBuf,
    max_bytes: u64,
    max_files: usize,
    file: File,
    written: u64,
}

impl SizeRotatingFile {
    pub fn open(dir: &Path, max_bytes: u64, max_files: usize) -> io::Result<Self> {
        lookout::store::private_dir_all(dir)?;
        let path = dir.join("lookout.log");
        let file = open_private(&path, false)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path,
            max_bytes,
            max_files: max_files.max(1),
            file,
            written,
        })
    }

    fn numbered(&self, n: usize) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        p.into()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        // lookout.log.(k-1) -> lookout.log.k, oldest falls off the end.
        let last = self.max_files - 1;
        if last == 0 {
            self.file = open_private(&self.path, true)?;
            self.written = 0;
            return Ok(());
        }
        let _ = std::fs::remove_file(self.numbered(last));
        for n in (1..last).rev() {
            let _ = std::fs::rename(self.numbered(n), self.numbered(n + 1));
        }
        std::fs::rename(&self.path, self.numbered(1))?;
        self.file = open_private(&self.path, false)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for SizeRotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Shares one rotating file between tracing's writers.
#[derive(Clone)]
pub struct SharedFile(Arc<Mutex<SizeRotatingFile>>);

pub struct SharedFileGuard<'a>(std::sync::MutexGuard<'a, SizeRotatingFile>);

impl Write for SharedFileGuard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for SharedFile {
    type Writer = SharedFileGuard<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        SharedFileGuard(self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Installs the global subscriber. Returns an error message for a bad filter or an
/// unopenable log folder.
pub fn init(cfg: &LogSection) -> Result<(), crate::error::ServerError> {
    init_inner(cfg).map_err(crate::error::ServerError::Logging)
}

fn init_inner(cfg: &LogSection) -> Result<(), String> {
    let filter = EnvFilter::try_new(&cfg.level)
        .map_err(|e| format!("invalid configuration: `log.level` is {:?}: {e}", cfg.level))?;
    let json = cfg.format == "json";
    let file = if cfg.dir.is_empty() {
        None
    } else {
        let f = SizeRotatingFile::open(
            Path::new(&cfg.dir),
            cfg.max_size_mib as u64 * 1024 * 1024,
            cfg.max_files as usize,
        )
        .map_err(|e| format!("invalid configuration: `log.dir` {:?}: {e}", cfg.dir))?;
        Some(SharedFile(Arc::new(Mutex::new(f))))
    };
    type Boxed = Box<dyn Layer<Registry> + Send + Sync>;
    let mut layers: Vec<Boxed> = Vec::new();
    layers.push(if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(io::stdout)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(io::stdout)
            .boxed()
    });
    layers.push(RingLayer::new(ring().clone()).boxed());
    // Files are always JSON: they are for machines to read back.
    if let Some(f) = file {
        layers.push(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(f)
                .boxed(),
        );
    }
    let result = tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init();
    result.map_err(|e| format!("cannot install the logger: {e}"))
}

/// Lines the in-memory ring keeps.
pub const RING_LINES: usize = 1000;

/// One log line as the logs view shows it (the API type).
pub use lookout::model::LogLine;

/// The most recent log lines, oldest dropped first.
pub struct LogRing {
    lines: Mutex<std::collections::VecDeque<(tracing::Level, LogLine)>>,
    capacity: usize,
}

impl LogRing {
    pub fn new(capacity: usize) -> Self {
        Self {
            lines: Mutex::new(std::collections::VecDeque::with_capacity(capacity)),
            capacity: capacity.max(1),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn push(&self, level: tracing::Level, line: LogLine) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == self.capacity {
            lines.pop_front();
        }
        lines.push_back((level, line));
    }

    /// The last `limit` lines at `min` severity or worse, oldest first.
    pub fn recent(&self, min: tracing::Level, limit: usize) -> Vec<LogLine> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        // tracing orders levels by verbosity: ERROR < WARN < ... < TRACE.
        let mut out: Vec<LogLine> = lines
            .iter()
            .rev()
            .filter(|(l, _)| *l <= min)
            .take(limit)
            .map(|(_, line)| line.clone())
            .collect();
        out.reverse();
        out
    }
}

/// The process-wide ring that [`init`] feeds.
pub fn ring() -> &'static Arc<LogRing> {
    static RING: std::sync::OnceLock<Arc<LogRing>> = std::sync::OnceLock::new();
    RING.get_or_init(|| Arc::new(LogRing::new(RING_LINES)))
}

/// A tracing layer that copies every event it sees into a [`LogRing`].
pub struct RingLayer {
    ring: Arc<LogRing>,
}

impl RingLayer {
    pub fn new(ring: Arc<LogRing>) -> Self {
        Self { ring }
    }
}

/// Field names whose values are never shown.
const SECRET_FIELDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "credentials",
    "session",
    "csrf_token",
];

fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_FIELDS.iter().any(|s| name.contains(s))
}

/// Masks credentials that may sit inside a message: `Bearer <x>`, API tokens
/// (`lk_...`), and `password=`/`token=`-style pairs.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut hide_next = false;
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if hide_next && !word.is_empty() {
            out.push_str("[redacted]");
            hide_next = false;
            continue;
        }
        if word.eq_ignore_ascii_case("bearer") || word.eq_ignore_ascii_case("basic") {
            hide_next = true;
            out.push_str(word);
        } else if let Some(pos) = word.find("lk_") {
            out.push_str(&word[..pos]);
            out.push_str("lk_[redacted]");
        } else if let Some((k, _)) = word.split_once(['=', ':']).filter(|(k, v)| {
            !v.is_empty()
                && is_secret_field(k.trim_matches(|c: char| !c.is_alphanumeric() && c != '_'))
        }) {
            out.push_str(k);
            out.push_str(&word[k.len()..k.len() + 1]);
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
    }
    out
}

struct LineVisitor {
    message: String,
    fields: String,
}

impl tracing::field::Visit for LineVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
            return;
        }
        let shown = if is_secret_field(field.name()) {
            "[redacted]".to_string()
        } else {
            format!("{value:?}")
        };
        self.fields.push_str(&format!(" {}={shown}", field.name()));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else if is_secret_field(field.name()) {
            self.fields
                .push_str(&format!(" {}=[redacted]", field.name()));
        } else {
            self.fields
                .push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for RingLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let meta = event.metadata();
        let mut v = LineVisitor {
            message: String::new(),
            fields: String::new(),
        };
        event.record(&mut v);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        self.ring.push(
            *meta.level(),
            LogLine {
                t,
                level: meta.level().to_string(),
                target: meta.target().to_string(),
                message: redact(&format!("{}{}", v.message, v.fields)),
            },
        );
    }
}

#[derive(serde::Deserialize)]
pub struct LogsQuery {
    level: Option<String>,
    limit: Option<String>,
}

/// `GET /api/logs?level=warn&limit=200`: the most recent lines at that level or worse
/// (default: all levels the logger records), oldest first; `limit` 1 to 1000, default 200.
pub async fn logs_api(
    axum::extract::Query(q): axum::extract::Query<LogsQuery>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let bad = |param: &str, message: String| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(lookout::model::ApiError::param(param, message)),
        )
            .into_response()
    };
    let min = match q.level.as_deref().map(str::trim).unwrap_or("") {
        "" => tracing::Level::TRACE,
        l => match l.parse::<tracing::Level>() {
            Ok(l) => l,
            Err(_) => {
                return bad(
                    "level",
                    format!("{l:?} is not a level; allowed: error, warn, info, debug, trace"),
                )
            }
        },
    };
    let ring = ring();
    let limit = match q.limit.as_deref().map(str::trim).unwrap_or("") {
        "" => 200,
        l => match l.parse::<usize>() {
            Ok(n) if (1..=ring.capacity()).contains(&n) => n,
            _ => {
                return bad(
                    "limit",
                    format!("{l:?} is not allowed; give 1 to {}", ring.capacity()),
                )
            }
        },
    };
    axum::Json(lookout::model::LogsResponse {
        capacity: ring.capacity(),
        lines: ring.recent(min, limit),
    })
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(f: impl FnOnce()) -> Arc<LogRing> {
        let ring = Arc::new(LogRing::new(5));
        let sub = tracing_subscriber::registry().with(RingLayer::new(ring.clone()));
        tracing::subscriber::with_default(sub, f);
        ring
    }

    #[test]
    fn ring_keeps_the_last_lines_and_filters_by_level() {
        let ring = captured(|| {
            for i in 0..8 {
                tracing::info!(n = i, "line {i}");
            }
            tracing::warn!("careful");
            tracing::debug!("detail");
        });
        let all = ring.recent(tracing::Level::TRACE, 100);
        let msgs: Vec<_> = all.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "line 5 n=5",
                "line 6 n=6",
                "line 7 n=7",
                "careful",
                "detail"
            ]
        );
        let warn = ring.recent(tracing::Level::WARN, 100);
        assert_eq!(warn.len(), 1);
        assert_eq!(
            (warn[0].level.as_str(), warn[0].message.as_str()),
            ("WARN", "careful")
        );
        let last2 = ring.recent(tracing::Level::TRACE, 2);
        assert_eq!(
            last2[0].message, "careful",
            "limit keeps the newest, oldest first"
        );
    }

    #[test]
    fn secrets_never_reach_the_ring() {
        let ring = captured(|| {
            tracing::info!(user = "ann", password = "hunter2", "login");
            tracing::warn!("rejected Authorization: Bearer lk_abcdef123456 from 10.0.0.1");
            tracing::info!("smtp password=hunter2 token:xyz host=mail");
        });
        let text: Vec<_> = ring
            .recent(tracing::Level::TRACE, 10)
            .into_iter()
            .map(|l| l.message)
            .collect();
        let joined = text.join("\n");
        assert!(
            !joined.contains("hunter2")
                && !joined.contains("abcdef123456")
                && !joined.contains("xyz"),
            "{joined}"
        );
        assert!(
            joined.contains("user=\"ann\"") && joined.contains("host=mail"),
            "{joined}"
        );
        assert!(joined.contains("password=[redacted]"), "{joined}");
    }

    #[test]
    fn rotates_by_size_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = SizeRotatingFile::open(dir.path(), 100, 3).unwrap();
        for i in 0..20 {
            writeln!(f, "line {i:02} ............................").unwrap();
        }
        f.flush().unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["lookout.log", "lookout.log.1", "lookout.log.2"]);
        for n in &names {
            let len = std::fs::metadata(dir.path().join(n)).unwrap().len();
            assert!(len <= 100, "{n} is {len} bytes");
        }
        let newest = std::fs::read_to_string(dir.path().join("lookout.log")).unwrap();
        assert!(newest.contains("line 19"));
    }
}
