//! The analysis page's computations (issue 14): per-core CPU over time, the weekly
//! rhythm of a metric and of the anomaly score, and correlations between metrics. Each
//! reads the store and returns a `model::analysis` body; the server only wires them to
//! `GET /api/analysis/*`, and the page's server render calls them directly.

mod correlation;
mod query;
mod rhythm;

pub use correlation::{correlate, pearson};
pub use query::{CoresQuery, CorrelationQuery, OverlayQuery, RhythmQuery};
pub use rhythm::{rhythm_grid, weekday_hour};

use crate::model::{CoreHeatmap, Correlation, History, Rhythm};
use crate::store::{HistoryQuery, Result, Store, SCORE_COLUMN as SCORE_METRIC};

/// CPU use per core in time buckets (`GET /api/analysis/cores`).
pub fn cores(store: &Store, q: &CoresQuery) -> Result<CoreHeatmap> {
    store.core_history(q.from, q.to, q.buckets)
}

/// Hour-of-day x day-of-week means of a metric and of the anomaly score
/// (`GET /api/analysis/rhythm`), from half-hour buckets of the history (so zones a
/// half hour off UTC still fall on whole hours).
pub fn rhythm(store: &Store, q: &RhythmQuery) -> Result<Rhythm> {
    let from = q.from();
    let mut metrics = vec![q.metric.clone()];
    if q.metric != SCORE_METRIC {
        metrics.push(SCORE_METRIC.to_string());
    }
    let history = store.history(&HistoryQuery {
        metrics,
        from,
        to: q.to,
        points: q.days as usize * 48,
    })?;
    let grid = |name: &str| {
        let points = history
            .series
            .iter()
            .find(|s| s.metric == name)
            .map(|s| s.points.as_slice())
            .unwrap_or_default();
        rhythm_grid(name, points, q.tz_offset_min)
    };
    Ok(Rhythm {
        from,
        to: q.to,
        tz_offset_min: q.tz_offset_min,
        metric: grid(&q.metric),
        score: grid(SCORE_METRIC),
    })
}

/// Pearson's r between every two of the chosen metrics on their bucketed history
/// (`GET /api/analysis/correlation`).
pub fn correlation(store: &Store, q: &CorrelationQuery) -> Result<Correlation> {
    let history = series(store, &q.metrics, q.from, q.to, q.points)?;
    Ok(Correlation {
        from: history.from,
        to: history.to,
        resolution_secs: history.series.first().map_or(0.0, |s| s.resolution_secs),
        metrics: history.series.iter().map(|s| s.metric.clone()).collect(),
        cells: correlate(&history.series),
    })
}

/// Both series of a correlation cell on the correlation's buckets
/// (`GET /api/analysis/overlay`): what its overlay draws, and the page's table of it.
pub fn overlay(store: &Store, q: &OverlayQuery) -> Result<History> {
    series(store, &q.metrics, q.from, q.to, q.points)
}

/// The history a correlation and its overlay read: the same buckets for both, so the
/// overlay draws the very points the r was computed on.
fn series(store: &Store, metrics: &[String], from: i64, to: i64, points: usize) -> Result<History> {
    store.history(&HistoryQuery {
        metrics: metrics.to_vec(),
        from,
        to,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CpuStats, Snapshot};

    /// 2023-11-13T00:00Z, a Monday.
    const MONDAY: i64 = 1_699_833_600_000;

    #[test]
    fn rhythm_and_correlation_read_a_real_store() {
        let (_dir, store) = crate::store::tests::temp_store("h");
        // Three hours at 10 s from Monday 01:00 UTC; CPU high in the 02:00 hour, memory
        // following it, load flat.
        let snaps: Vec<Snapshot> = (0..1080)
            .map(|i| {
                let t = MONDAY + 3_600_000 + i * 10_000;
                let cpu = if (3_600..7_200).contains(&(i * 10)) {
                    90.0
                } else {
                    5.0 + (i % 7) as f64
                };
                Snapshot {
                    host: "h".into(),
                    timestamp: t,
                    cpu_usage: cpu,
                    cpu: CpuStats {
                        total: cpu,
                        per_core: vec![cpu],
                    },
                    memory: crate::model::MemoryStats {
                        usage_percent: cpu / 2.0 + 10.0,
                        ..Default::default()
                    },
                    ..Snapshot::default()
                }
            })
            .collect();
        store.insert(&snaps).unwrap();
        let now = MONDAY + 4 * 3_600_000;
        let r = rhythm(
            &store,
            &RhythmQuery {
                metric: "cpu_usage".into(),
                to: now,
                days: 28,
                tz_offset_min: 0,
            },
        )
        .unwrap();
        assert_eq!(r.metric.means[0][2], Some(90.0));
        assert!(r.metric.means[0][1].unwrap() < 12.0);
        assert_eq!(r.metric.means[0][5], None);
        assert_eq!(r.metric.counts[0][2], 2); // two half-hour buckets
        assert_eq!(r.score.metric, "anomaly_score");
        // Nothing scored: no score anywhere.
        assert!(r.score.means.iter().flatten().all(Option::is_none));

        let c = correlation(
            &store,
            &CorrelationQuery {
                metrics: vec!["cpu_usage".into(), "memory_usage".into(), "load_1".into()],
                from: now - 3 * 3_600_000,
                to: now,
                points: 180,
            },
        )
        .unwrap();
        assert_eq!(c.metrics, ["cpu_usage", "memory_usage", "load_1"]);
        assert_eq!(c.resolution_secs, 60.0);
        assert!((c.cells[0][1].r.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(c.cells[0][1].n, 180);
        assert_eq!(c.cells[0][2].r, None); // load is flat
        let o = overlay(
            &store,
            &OverlayQuery {
                metrics: vec!["cpu_usage".into(), "memory_usage".into()],
                from: now - 3 * 3_600_000,
                to: now,
                points: 180,
            },
        )
        .unwrap();
        assert_eq!(o.series.len(), 2);
        assert_eq!(o.series[0].points.len(), c.cells[0][1].n as usize);
        let cores = cores(
            &store,
            &CoresQuery {
                from: now - 3 * 3_600_000,
                to: now,
                buckets: 60,
            },
        )
        .unwrap();
        assert_eq!(cores.bucket_secs, 300.0);
        assert_eq!(cores.cores.len(), 1);
    }
}
