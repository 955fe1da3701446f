//! The fleet overview (`GET /api/fleet`): one tile per host the server knows (itself
//! and, on a hub, every agent host), worst first. The ordering and the name filter
//! live here so the server and the dashboard apply the same ones.

use super::{ApiBody, TimestampMs};
use serde::{Deserialize, Serialize};

/// How a host is doing, from worst to best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    /// No sample for longer than [`stale_after_ms`] (an agent stopped sending).
    Stale,
    /// An anomaly event is open (or the newest sample was flagged anomalous).
    Anomalous,
    #[default]
    Ok,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Stale => "stale",
            HostStatus::Anomalous => "anomalous",
            HostStatus::Ok => "ok",
        }
    }
}

/// One host's tile: its newest sample's headline numbers and its open events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HostTile {
    pub host: String,
    pub status: HostStatus,
    /// The server's own host (the others are agents of this hub).
    pub this_host: bool,
    /// The newest sample's time; None for a host with no sample stored.
    pub last_seen: Option<TimestampMs>,
    /// Percent of all cores busy (newest sample).
    pub cpu_usage: Option<f64>,
    /// Percent of memory used.
    pub memory_usage: Option<f64>,
    /// The 1-minute load average.
    pub load_average: Option<f64>,
    /// The newest sample's anomaly score (0..1); None when unscored.
    pub anomaly_score: Option<f64>,
    /// Anomaly events open now.
    pub open_events: u32,
    /// Alerts firing now for this host.
    pub firing_alerts: u32,
}

/// `GET /api/fleet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FleetOverview {
    /// When the tiles were made (their staleness is judged at this time).
    pub at: TimestampMs,
    /// The `filter` the tiles were chosen by ("" = every host).
    pub filter: String,
    /// Hosts known in all, before the filter.
    pub total: usize,
    /// Worst first (see [`worst_first`]).
    pub hosts: Vec<HostTile>,
}

/// A host is stale when its newest sample is older than three sampling intervals,
/// and never sooner than a minute (an agent sends a batch every `agent.batch`,
/// 10 s by default, so its newest sample is that old between batches).
pub fn stale_after_ms(interval_secs: f64) -> i64 {
    ((interval_secs.max(0.0) * 3_000.0) as i64).max(60_000)
}

/// Orders tiles worst first: stale, then anomalous, then ok; within a status the
/// highest anomaly score, then the busiest CPU, then by name.
pub fn worst_first(tiles: &mut [HostTile]) {
    let key = |v: Option<f64>| v.filter(|x| x.is_finite()).unwrap_or(-1.0);
    tiles.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then(key(b.anomaly_score).total_cmp(&key(a.anomaly_score)))
            .then(key(b.cpu_usage).total_cmp(&key(a.cpu_usage)))
            .then_with(|| a.host.cmp(&b.host))
    });
}

/// Whether `host` matches a name filter: every space-separated word of it appears in
/// the name, case ignored ("" matches every host).
pub fn name_matches(host: &str, filter: &str) -> bool {
    let host = host.to_lowercase();
    filter
        .split_whitespace()
        .all(|w| host.contains(&w.to_lowercase()))
}

impl ApiBody for FleetOverview {
    fn example() -> Self {
        FleetOverview {
            at: 1_764_085_000_000,
            filter: String::new(),
            total: 2,
            hosts: vec![
                HostTile {
                    host: "web-2".into(),
                    status: HostStatus::Anomalous,
                    this_host: false,
                    last_seen: Some(1_764_084_999_000),
                    cpu_usage: Some(97.5),
                    memory_usage: Some(61.0),
                    load_average: Some(3.9),
                    anomaly_score: Some(0.93),
                    open_events: 1,
                    firing_alerts: 1,
                },
                HostTile {
                    host: "web-1".into(),
                    status: HostStatus::Ok,
                    this_host: true,
                    last_seen: Some(1_764_085_000_000),
                    cpu_usage: Some(12.5),
                    memory_usage: Some(41.2),
                    load_average: Some(0.42),
                    anomaly_score: None,
                    open_events: 0,
                    firing_alerts: 0,
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(host: &str, status: HostStatus, score: Option<f64>, cpu: f64) -> HostTile {
        HostTile {
            host: host.into(),
            status,
            anomaly_score: score,
            cpu_usage: Some(cpu),
            ..HostTile::default()
        }
    }

    #[test]
    fn tiles_are_worst_first_then_by_score_cpu_and_name() {
        let mut t = vec![
            tile("a-ok", HostStatus::Ok, Some(0.1), 5.0),
            tile("b-ok", HostStatus::Ok, Some(0.1), 50.0),
            tile("c-anom", HostStatus::Anomalous, Some(0.5), 1.0),
            tile("d-anom", HostStatus::Anomalous, Some(0.9), 1.0),
            tile("e-stale", HostStatus::Stale, None, 0.0),
            tile("f-ok", HostStatus::Ok, None, 99.0),
            tile("g-ok", HostStatus::Ok, Some(f64::NAN), 1.0),
        ];
        worst_first(&mut t);
        let names: Vec<&str> = t.iter().map(|t| t.host.as_str()).collect();
        assert_eq!(
            names,
            ["e-stale", "d-anom", "c-anom", "b-ok", "a-ok", "f-ok", "g-ok"]
        );
    }

    #[test]
    fn the_name_filter_takes_every_word_case_ignored() {
        assert!(name_matches("web-2.example.com", ""));
        assert!(name_matches("web-2.example.com", "WEB example"));
        assert!(!name_matches("web-2.example.com", "web db"));
        assert!(!name_matches("db-1", "web"));
    }

    #[test]
    fn staleness_waits_three_intervals_and_at_least_a_minute() {
        assert_eq!(stale_after_ms(1.0), 60_000);
        assert_eq!(stale_after_ms(60.0), 180_000);
        assert_eq!(stale_after_ms(f64::NAN), 60_000);
        assert_eq!(HostStatus::Stale.as_str(), "stale");
    }
}
