//! Embedded time-series store (SQLite, WAL).
//!
//! One file holds raw samples (one REAL column per metric for fast range scans,
//! plus the full snapshot for drill-down, its JSON deflated: see `details`),
//! 1-minute rollups for long ranges, and anomaly events. Everything is keyed by host
//! from day one so a central instance can later hold several hosts.
//!
//! Concurrency: one writer connection and a small pool of [`READERS`] read-only
//! connections, each behind its own mutex, so `Store` is `Send + Sync`; thanks to WAL,
//! reads go on while a batch is being written, and one slow read (a long range, a big
//! export) holds one reader, not every request behind it. Every method blocks: call
//! them from `spawn_blocking`.
//!
//! Durability: WAL with `synchronous=NORMAL`. A killed process loses nothing that
//! was committed; a power cut may lose the last few commits but never corrupts the
//! file. Batches are one transaction, so a crash drops a whole batch or none of it.

mod alerts;
pub mod auth;
mod cores;
mod details;
mod error;
mod events;
mod filesystems;
mod history;
pub mod ingest;
mod query;
mod resolution;
mod rollup;
mod samples;
mod schema;
#[cfg(test)]
pub(crate) mod tests;

pub use error::{Result, StoreError};
pub use history::Aggregate;
pub use ingest::{Binding, IngestCounts};
#[cfg(test)]
pub(crate) use query::tests::pairs as query_pairs;
pub use query::{int_param, metric_params, param, parse_range, HistoryQuery, QueryError};
pub use resolution::{choose as choose_resolution, Resolution};
pub use rollup::MaintenanceReport;
pub use schema::{queryable_names, LATEST_VERSION, SCORE_COLUMN};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Store settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// This host's name: reads (`latest`, `history`, ...) are for this host, and
    /// snapshots with an empty `host` are filed under it.
    pub host: String,
    /// How long raw samples and snapshot details are kept. Default 7 days.
    pub raw_retention: Duration,
    /// How long 1-minute rollups (and closed anomaly events) are kept. Default 90 days.
    pub rollup_retention: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            host: sysinfo::System::host_name().unwrap_or_else(|| "localhost".to_string()),
            raw_retention: Duration::from_secs(7 * 86_400),
            rollup_retention: Duration::from_secs(90 * 86_400),
        }
    }
}

/// The time-series store. See the module docs for the threading model.
pub struct Store {
    /// The database's connections, shared by every view of it ([`Store::as_host`]).
    pool: std::sync::Arc<Pool>,
    opts: StoreOptions,
    /// Row id of `opts.host` in `hosts`.
    host_id: i64,
}

/// One database's connections: whichever host a [`Store`] is for, it reads and
/// writes through these, so a hub's per-host views open no file of their own.
struct Pool {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    /// Where the next read starts looking for a free reader (spreads the waits).
    next_reader: std::sync::atomic::AtomicUsize,
    /// The last write check (when, and its answer), for [`Store::check_writable_cached`].
    write_checked: Mutex<Option<(std::time::Instant, std::result::Result<(), String>)>>,
}

/// Read-only connections in the pool. Reads are short except for long ranges and
/// exports; four let three of those run while the dashboard still gets its answers,
/// at about 2 MiB of page cache each at most.
pub const READERS: usize = 4;
const _: () = assert!(READERS >= 2, "a pool of one is a single reader again");

/// How long a connection waits for the other's lock before failing with BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // journal_mode answers with a row, so it is read rather than executed.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    details::register(conn)?;
    Ok(())
}

/// Creates `dir` and its missing parents; on unix the folders made here are 0700.
pub fn private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Creates an empty file at `path` if none is there (0600 on unix); true if it did.
fn create_private_file(path: &Path) -> bool {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).is_ok()
}

/// Makes an existing file owner-only (unix; elsewhere nothing).
fn set_private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if path.exists() {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

impl Store {
    /// Opens (creating if needed, with its parent directory) and migrates the
    /// database at `path`. What it creates is owner-only on unix: folders 0700, the
    /// database and its WAL and SHM files 0600. Fails on a database written by a newer
    /// Lookout, and on a damaged file ([`StoreError::Corrupt`], which it leaves as it is).
    pub fn open(path: &Path, opts: StoreOptions) -> Result<Store> {
        Self::open_checked(path, opts).map_err(|e| e.naming_corruption(path))
    }

    fn open_checked(path: &Path, opts: StoreOptions) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: PathBuf::from(path),
            source,
        };
        // A new database is made owner-only (0600) before SQLite opens it; SQLite gives
        // its -wal and -shm files the database file's permissions.
        let created = create_private_file(path);
        let mut writer = Connection::open(path).map_err(open_err)?;
        configure(&writer).map_err(open_err)?;
        if created {
            for suffix in ["-wal", "-shm"] {
                let mut side = path.as_os_str().to_owned();
                side.push(suffix);
                set_private(Path::new(&side));
            }
        }
        schema::migrate(&mut writer, path)?;
        writer
            .execute(
                "INSERT INTO hosts (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
                [&opts.host],
            )
            .map_err(open_err)?;
        let host_id = writer
            .query_row("SELECT id FROM hosts WHERE name = ?1", [&opts.host], |r| {
                r.get(0)
            })
            .map_err(open_err)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(open_err)?;
            configure(&reader).map_err(open_err)?;
            // A reader must never write, even by mistake.
            reader
                .pragma_update(None, "query_only", true)
                .map_err(open_err)?;
            readers.push(Mutex::new(reader));
        }
        Ok(Store {
            pool: std::sync::Arc::new(Pool {
                writer: Mutex::new(writer),
                readers,
                next_reader: std::sync::atomic::AtomicUsize::new(0),
                write_checked: Mutex::new(None),
            }),
            opts,
            host_id,
        })
    }

    /// The same database seen as `host` (a hub's agent host): its reads (`latest`,
    /// `history`, `events`, ...) and writes are that host's. It shares this store's
    /// connections, so it costs no file descriptor; the host row is made if missing.
    pub fn as_host(&self, host: &str) -> Result<Store> {
        let host_id = samples::host_id(&self.writer(), host)?;
        Ok(self.view(host, host_id))
    }

    /// Like [`as_host`](Self::as_host), but None for a host the database has never
    /// heard of (nothing is written).
    pub fn existing_host(&self, host: &str) -> Result<Option<Store>> {
        let id: Option<i64> = self
            .reader()
            .query_row("SELECT id FROM hosts WHERE name = ?1", [host], |r| r.get(0))
            .optional()?;
        Ok(id.map(|id| self.view(host, id)))
    }

    fn view(&self, host: &str, host_id: i64) -> Store {
        Store {
            pool: self.pool.clone(),
            opts: StoreOptions {
                host: host.to_string(),
                ..self.opts.clone()
            },
            host_id,
        }
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.opts
    }

    /// A panic while holding a connection leaves it usable: an open transaction
    /// is rolled back when its guard drops. So poisoning is ignored.
    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.pool
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A free reader if there is one; else waits for one (taken in turn, so waits are
    /// spread over the pool rather than all on the first).
    fn reader(&self) -> MutexGuard<'_, Connection> {
        use std::sync::atomic::Ordering;
        use std::sync::TryLockError;
        let start = self.pool.next_reader.fetch_add(1, Ordering::Relaxed);
        let readers = &self.pool.readers;
        for i in 0..readers.len() {
            match readers[(start + i) % readers.len()].try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => continue,
            }
        }
        readers[start % readers.len()]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Proves the database accepts writes (for `/readyz`): a real write of a `meta`
    /// row inside a transaction, which fails on a full disk, a read-only file or a
    /// lock held too long.
    pub fn check_writable(&self) -> Result<()> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        // `write_check` counts the checks (the readiness probe's writes).
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('write_check', '1')
             ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// [`check_writable`](Self::check_writable)'s answer, written at most once per
    /// `max_age`: callers in between (any number, from any thread) get the last
    /// answer. A probe hammered by anyone costs one write per `max_age`.
    pub fn check_writable_cached(&self, max_age: Duration) -> std::result::Result<(), String> {
        let mut cached = self
            .pool
            .write_checked
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((at, answer)) = cached.as_ref() {
            if at.elapsed() < max_age {
                return answer.clone();
            }
        }
        let answer = self.check_writable().map_err(|e| e.to_string());
        *cached = Some((std::time::Instant::now(), answer.clone()));
        answer
    }

    /// How many write checks the database has recorded.
    pub fn write_checks(&self) -> Result<i64> {
        Ok(self
            .reader()
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'write_check'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .reader()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}
