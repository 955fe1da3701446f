//! The data behind the charts: one shared time axis and one value column per charted
//! metric. Filled from a history answer, then (in the live range) appended to from live
//! snapshots and trimmed to the window. Pure data, so it is unit tested on the host.

use std::collections::{HashMap, VecDeque};

use lookout::model::{History, Snapshot};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    metrics: Vec<&'static str>,
    times: VecDeque<i64>,
    /// `values[i]` is the column of `metrics[i]`; NaN where a series had no point.
    values: Vec<VecDeque<f64>>,
}

impl Timeline {
    pub fn new(metrics: &[&'static str]) -> Self {
        Timeline {
            metrics: metrics.to_vec(),
            times: VecDeque::new(),
            values: vec![VecDeque::new(); metrics.len()],
        }
    }

    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    pub fn times(&self) -> impl ExactSizeIterator<Item = i64> + '_ {
        self.times.iter().copied()
    }

    pub fn last_time(&self) -> Option<i64> {
        self.times.back().copied()
    }

    /// The column of a metric, or None if it is not charted.
    pub fn column(&self, metric: &str) -> Option<&VecDeque<f64>> {
        let i = self.metrics.iter().position(|m| *m == metric)?;
        Some(&self.values[i])
    }

    /// Replaces the content with a history answer. Series are aligned on their time
    /// stamps (the store gives all series of one query the same buckets, but a metric
    /// with no data must not shift the others). Live points already held that are newer
    /// than the history are kept: they arrived while the query was in flight.
    pub fn load_history(&mut self, history: &History) {
        let (times, columns) = align(history);
        let mut values = vec![vec![f64::NAN; times.len()]; self.metrics.len()];
        for (series, column) in history.series.iter().zip(columns) {
            if let Some(col) = self.metrics.iter().position(|m| *m == series.metric) {
                values[col] = column.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            }
        }
        let newest = times.last().copied();
        let keep: Vec<(i64, Vec<f64>)> = self
            .times
            .iter()
            .enumerate()
            .filter(|(_, t)| newest.is_none_or(|n| **t > n))
            .map(|(i, t)| (*t, self.values.iter().map(|c| c[i]).collect()))
            .collect();
        self.times = times.into();
        self.values = values.into_iter().map(VecDeque::from).collect();
        for (t, row) in keep {
            self.push_row(t, &row);
        }
    }

    /// Appends a live snapshot, unless it is not newer than the last point.
    pub fn push_snapshot(&mut self, snapshot: &Snapshot) -> bool {
        if self
            .last_time()
            .is_some_and(|last| snapshot.timestamp <= last)
        {
            return false;
        }
        let row: Vec<f64> = self
            .metrics
            .iter()
            .map(|m| match *m {
                crate::api::SCORE_METRIC => snapshot.anomaly_score,
                m => snapshot.metric(m),
            })
            .map(|v| v.unwrap_or(f64::NAN))
            .collect();
        self.push_row(snapshot.timestamp, &row);
        true
    }

    fn push_row(&mut self, t: i64, row: &[f64]) {
        self.times.push_back(t);
        for (col, v) in self.values.iter_mut().zip(row) {
            col.push_back(*v);
        }
    }

    /// Drops the points older than `from`.
    pub fn trim_before(&mut self, from: i64) {
        while self.times.front().is_some_and(|t| *t < from) {
            self.times.pop_front();
            for col in &mut self.values {
                col.pop_front();
            }
        }
    }
}

/// A history's series aligned on their time stamps: the sorted union of every
/// series' times, and for each series (in the history's order) its value at each of
/// them, None where it has no point. The store gives all series of one query the
/// same buckets, but a metric with no data must not shift the others.
pub fn align(history: &History) -> (Vec<i64>, Vec<Vec<Option<f64>>>) {
    let mut times: Vec<i64> = history
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.t))
        .collect();
    times.sort_unstable();
    times.dedup();
    let index: HashMap<i64, usize> = times.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let columns = history
        .series
        .iter()
        .map(|s| {
            let mut column = vec![None; times.len()];
            for p in &s.points {
                column[index[&p.t]] = Some(p.v);
            }
            column
        })
        .collect();
    (times, columns)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use lookout::model::{Point, Series, Unit};

    /// A percent series with the points (t, v), for the tests of what reads histories.
    pub(crate) fn series(metric: &str, pts: &[(i64, f64)]) -> Series {
        Series {
            metric: metric.into(),
            unit: Unit::Percent,
            resolution_secs: 1.0,
            points: pts
                .iter()
                .map(|&(t, v)| Point {
                    t,
                    v,
                    min: v,
                    max: v,
                })
                .collect(),
        }
    }

    fn snap(t: i64, cpu: f64) -> Snapshot {
        let mut s = Snapshot {
            timestamp: t,
            ..Default::default()
        };
        s.cpu.total = cpu;
        s.memory.usage_percent = 50.0;
        s
    }

    #[test]
    fn history_aligns_series_on_time() {
        let mut tl = Timeline::new(&["cpu_usage", "memory_usage"]);
        let h = History {
            from: 0,
            to: 10,
            series: vec![
                series("cpu_usage", &[(1, 10.0), (2, 20.0), (3, 30.0)]),
                series("memory_usage", &[(2, 5.0), (3, 6.0)]),
                series("not_charted", &[(4, 1.0)]),
            ],
        };
        tl.load_history(&h);
        assert_eq!(tl.times().collect::<Vec<_>>(), vec![1, 2, 3, 4]);
        let mem: Vec<f64> = tl.column("memory_usage").unwrap().iter().copied().collect();
        assert!(mem[0].is_nan());
        assert_eq!(&mem[1..3], &[5.0, 6.0]);
        assert_eq!(tl.column("cpu_usage").unwrap()[2], 30.0);
        assert!(tl.column("load_1").is_none());
    }

    #[test]
    fn live_points_append_trim_and_survive_a_reload() {
        let mut tl = Timeline::new(&["cpu_usage", "memory_usage"]);
        assert!(tl.push_snapshot(&snap(1_000, 1.0)));
        assert!(tl.push_snapshot(&snap(2_000, 2.0)));
        assert!(
            !tl.push_snapshot(&snap(2_000, 9.0)),
            "duplicates are dropped"
        );
        assert!(tl.push_snapshot(&snap(3_000, 3.0)));
        assert_eq!(tl.len(), 3);
        // A history answer that ends at 2 000 keeps the live point at 3 000.
        tl.load_history(&History {
            from: 0,
            to: 2_000,
            series: vec![series("cpu_usage", &[(500, 0.5), (2_000, 2.0)])],
        });
        assert_eq!(tl.times().collect::<Vec<_>>(), vec![500, 2_000, 3_000]);
        assert_eq!(tl.column("cpu_usage").unwrap()[2], 3.0);
        assert_eq!(tl.column("memory_usage").unwrap()[2], 50.0);
        tl.trim_before(2_000);
        assert_eq!(tl.times().collect::<Vec<_>>(), vec![2_000, 3_000]);
        assert_eq!(tl.column("cpu_usage").unwrap().len(), 2);
        assert_eq!(tl.last_time(), Some(3_000));
    }
}
