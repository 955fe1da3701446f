//! Store errors, worded for the operator who reads them in a log line.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {} has schema version {found}, newer than the {supported} this build \
         understands: upgrade Lookout or point it at another file",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("cannot migrate database {} to schema version {version}: {source}", path.display())]
    Migration {
        path: PathBuf,
        version: i64,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {path} is damaged or is not a SQLite database ({source}); Lookout left it \
         as it is. To recover: stop Lookout, move it aside (mv {path} {path}.corrupt) and \
         start again with an empty store; `sqlite3 {path}.corrupt .recover | sqlite3 {path}` \
         may save its history first",
        path = path.display()
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot encode or decode a stored snapshot: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored sample's details that do not decode (a damaged row): the other
    /// samples still read.
    #[error("the stored details of the sample at {ts} cannot be read: {reason}")]
    Detail { ts: i64, reason: String },
    #[error("unknown metric {0:?}")]
    UnknownMetric(String),
    #[error("anomaly event {0} does not exist")]
    EventNotFound(i64),
    /// A request the store refuses (bad name, duplicate, last admin...), worded for
    /// the person who made it.
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// The same error, as [`StoreError::Corrupt`] when SQLite found `path` damaged or
    /// not a database at all (so the operator reads the way out, not an error code).
    pub(crate) fn naming_corruption(self, path: &std::path::Path) -> StoreError {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        let damaged = |e: &rusqlite::Error| {
            matches!(e.sqlite_error_code(), Some(DatabaseCorrupt | NotADatabase))
        };
        match self {
            StoreError::Open { source, .. }
            | StoreError::Migration { source, .. }
            | StoreError::Sqlite(source)
                if damaged(&source) =>
            {
                StoreError::Corrupt {
                    path: path.to_path_buf(),
                    source,
                }
            }
            other => other,
        }
    }
}
