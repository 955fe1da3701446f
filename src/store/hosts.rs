//! Reading another host's data: a hub stores every agent's samples, and the analysis
//! page and the forecasts follow the page's `?host=NAME`. The reads that take a
//! [`HostId`] (`*_of`) are the same queries as this host's (`history`, `latest`, ...),
//! which call them with [`Store::own_host`].

use super::error::Result;
use super::query::QueryError;
use super::Store;
use rusqlite::OptionalExtension;

/// A host's row id in the store (from [`Store::own_host`] or [`Store::host_param`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostId(pub(crate) i64);

impl Store {
    /// The host this instance samples (the store's `host` option).
    pub fn own_host(&self) -> HostId {
        HostId(self.host_id)
    }

    /// The stored host called `name`, if any.
    pub fn host_id_of(&self, name: &str) -> Result<Option<HostId>> {
        let conn = self.reader();
        let id = conn
            .prepare_cached("SELECT id FROM hosts WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?;
        Ok(id.map(HostId))
    }

    /// The host a request's `?host=NAME` names: this host when absent or empty, an
    /// error naming `host` (with the known names) when the store has no such host.
    /// The outer error is the store's (a 500), the inner the caller's (a 400).
    pub fn host_param(
        &self,
        params: &[(String, String)],
    ) -> Result<std::result::Result<HostId, QueryError>> {
        let name = params
            .iter()
            .rev()
            .find(|(k, _)| k == "host")
            .map(|(_, v)| v.trim())
            .unwrap_or("");
        if name.is_empty() {
            return Ok(Ok(self.own_host()));
        }
        if let Some(id) = self.host_id_of(name)? {
            return Ok(Ok(id));
        }
        let known: Vec<String> = self.hosts()?.into_iter().map(|(h, _)| h).collect();
        Ok(Err(QueryError {
            param: "host".into(),
            message: format!("unknown host {name:?}; known: {}", known.join(", ")),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Snapshot;
    use crate::store::{HistoryQuery, StoreOptions};

    #[test]
    fn a_named_host_reads_its_own_samples_and_an_unknown_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions {
            host: "hub".into(),
            ..StoreOptions::default()
        };
        let s = Store::open(&dir.path().join("h.db"), opts).unwrap();
        let snap = |ts: i64, cpu: f64| {
            let mut s = Snapshot {
                timestamp: ts,
                cpu_usage: cpu,
                ..Snapshot::default()
            };
            s.cpu.total = cpu;
            s
        };
        s.ingest("web-2", &[snap(1_000, 42.0), snap(2_000, 44.0)])
            .unwrap();
        s.ingest("hub", &[snap(1_000, 7.0)]).unwrap();
        let pairs = |v: &str| vec![("host".to_string(), v.to_string())];
        let web = s.host_param(&pairs("web-2")).unwrap().unwrap();
        assert_ne!(web, s.own_host());
        assert_eq!(s.host_param(&[]).unwrap().unwrap(), s.own_host());
        assert_eq!(s.host_param(&pairs(" ")).unwrap().unwrap(), s.own_host());
        let e = s.host_param(&pairs("nope")).unwrap().unwrap_err();
        assert_eq!(e.param, "host");
        assert!(e.message.contains("hub, web-2"), "{e}");
        let q = HistoryQuery {
            metrics: vec!["cpu_usage".into()],
            from: 0,
            to: 3_000,
            points: 10,
        };
        let theirs = s.history_of(web, &q).unwrap();
        assert_eq!(theirs.series[0].points.len(), 2);
        assert_eq!(theirs.series[0].points[0].v, 42.0);
        assert_eq!(s.history(&q).unwrap().series[0].points[0].v, 7.0);
        assert_eq!(s.latest_of(web).unwrap().unwrap().timestamp, 2_000);
        assert_eq!(s.latest().unwrap().unwrap().timestamp, 1_000);
    }
}
