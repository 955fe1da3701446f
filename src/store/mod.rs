//! Embedded time-series store (SQLite, WAL).
