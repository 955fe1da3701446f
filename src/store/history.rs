//! Answering history queries at a resolution that fits the point budget.

use super::error::{Result, StoreError};
use super::query::HistoryQuery;
use super::resolution::{choose, Resolution, ROLLUP_MS};
use super::rollup::{floor_minute, rolled_until};
use super::schema::{self, Column};
use super::Store;
use crate::model::{History, Point, Series, TimestampMs};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeMap;

/// Assumed sampling interval when there are too few samples to measure it.
const DEFAULT_INTERVAL_MS: i64 = 1000;

/// Running aggregate of one bucket, mergeable across rollups and raw rows.
#[derive(Debug, Clone, Copy)]
struct Acc {
    sum: f64,
    n: i64,
    min: f64,
    max: f64,
}

impl Acc {
    fn add(&mut self, sum: f64, n: i64, min: f64, max: f64) {
        self.sum += sum;
        self.n += n;
        self.min = self.min.min(min);
        self.max = self.max.max(max);
    }
}

type Buckets = Vec<BTreeMap<TimestampMs, Acc>>;

/// Median gap between the samples just before `at`: the sampling interval the
/// host actually ran at (it can be changed by configuration at any time).
fn typical_interval_ms(conn: &Connection, host: i64, at: TimestampMs) -> rusqlite::Result<i64> {
    let mut st = conn.prepare_cached(
        "SELECT ts FROM samples WHERE host_id = ?1 AND ts <= ?2 ORDER BY ts DESC LIMIT 11",
    )?;
    let ts: Vec<i64> = st
        .query_map(params![host, at], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut gaps: Vec<i64> = ts
        .windows(2)
        .map(|w| w[0] - w[1])
        .filter(|g| *g > 0)
        .collect();
    if gaps.is_empty() {
        return Ok(DEFAULT_INTERVAL_MS);
    }
    gaps.sort_unstable();
    Ok(to_two_digits(gaps[gaps.len() / 2]))
}

/// `ms` rounded to two significant digits: on a loaded host the sampler's timer wakes
/// 5-15 ms late (median gaps of 1.005 s were seen at load 20), and a 1 s cadence
/// should read as 1 s, not 1.01 s. Cadences people set (0.5, 1, 2.5, 5, 15, 60 s) keep
/// their value.
fn to_two_digits(ms: i64) -> i64 {
    let mut step = 1;
    while ms / step >= 100 {
        step *= 10;
    }
    ((ms + step / 2) / step).max(1) * step
}

/// Raw samples answer the whole range unless older raw data was pruned while its
/// rollups remain (then the range must come from rollups).
fn raw_covers(conn: &Connection, host: i64, from: TimestampMs) -> rusqlite::Result<bool> {
    let oldest: Option<i64> = conn
        .prepare_cached("SELECT MIN(ts) FROM samples WHERE host_id = ?1")?
        .query_row([host], |r| r.get(0))?;
    let upto = match oldest {
        Some(o) if o <= from => return Ok(true),
        Some(o) => floor_minute(o),
        None => i64::MAX,
    };
    let pruned: Option<i64> = conn
        .prepare_cached(
            "SELECT 1 FROM rollups_1m WHERE host_id = ?1 AND ts >= ?2 AND ts < ?3 LIMIT 1",
        )?
        .query_row(params![host, floor_minute(from), upto], |r| r.get(0))
        .optional()?;
    Ok(pruned.is_none())
}

fn raw_points(
    conn: &Connection,
    host: i64,
    cols: &[Column],
    from: TimestampMs,
    to: TimestampMs,
) -> rusqlite::Result<Vec<Vec<Point>>> {
    let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
    let sql = format!(
        "SELECT ts, {} FROM samples WHERE host_id = ?1 AND ts >= ?2 AND ts <= ?3 ORDER BY ts",
        names.join(", ")
    );
    let mut out = vec![Vec::new(); cols.len()];
    let mut st = conn.prepare_cached(&sql)?;
    let mut rows = st.query(params![host, from, to])?;
    while let Some(r) = rows.next()? {
        let t: i64 = r.get(0)?;
        for (i, series) in out.iter_mut().enumerate() {
            // Unscored samples have no anomaly_score: no point rather than a fake 0.
            if let Some(v) = r.get::<_, Option<f64>>(i + 1)? {
                series.push(Point {
                    t,
                    v,
                    min: v,
                    max: v,
                });
            }
        }
    }
    Ok(out)
}

/// Adds the rows of a bucketing query whose columns are, per metric:
/// sum, count, min, max (after the bucket start in column 0).
fn accumulate(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
    acc: &mut Buckets,
) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(sql)?;
    let mut rows = st.query(args)?;
    while let Some(r) = rows.next()? {
        let b: i64 = r.get(0)?;
        for (i, map) in acc.iter_mut().enumerate() {
            let base = 1 + 4 * i;
            let n: i64 = r.get::<_, Option<i64>>(base + 1)?.unwrap_or(0);
            let (Some(sum), Some(min), Some(max)) = (
                r.get::<_, Option<f64>>(base)?,
                r.get::<_, Option<f64>>(base + 2)?,
                r.get::<_, Option<f64>>(base + 3)?,
            ) else {
                continue;
            };
            if n == 0 {
                continue;
            }
            map.entry(b)
                .or_insert(Acc {
                    sum: 0.0,
                    n: 0,
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                })
                .add(sum, n, min, max);
        }
    }
    Ok(())
}

fn raw_bucket_sql(cols: &[Column]) -> String {
    let aggs: Vec<String> = cols
        .iter()
        .map(|c| format!("SUM({0}), COUNT({0}), MIN({0}), MAX({0})", c.name))
        .collect();
    format!(
        "SELECT (ts / ?4) * ?4 AS b, {} FROM samples
         WHERE host_id = ?1 AND ts >= ?2 AND ts <= ?3 GROUP BY b",
        aggs.join(", ")
    )
}

fn rollup_bucket_sql(cols: &[Column]) -> String {
    // Weighted by sample count so buckets mixing full and partial minutes average
    // correctly; minutes where the column was NULL throughout carry no weight.
    let aggs: Vec<String> = cols
        .iter()
        .map(|c| {
            format!(
                "SUM({0}_avg * n), SUM(CASE WHEN {0}_avg IS NULL THEN 0 ELSE n END), \
                 MIN({0}_min), MAX({0}_max)",
                c.name
            )
        })
        .collect();
    format!(
        "SELECT (ts / ?4) * ?4 AS b, {} FROM rollups_1m
         WHERE host_id = ?1 AND ts >= ?2 AND ts < ?3 GROUP BY b",
        aggs.join(", ")
    )
}

/// Per column, the aggregates of the `width_ms` buckets of `[from, to]`: from the
/// 1-minute rollups up to their high-water mark when buckets are a minute or wider,
/// and from raw samples after it (or throughout, for narrower buckets).
fn bucket_accs(
    tx: &Connection,
    host: i64,
    cols: &[Column],
    from: TimestampMs,
    to: TimestampMs,
    width_ms: i64,
) -> rusqlite::Result<Buckets> {
    let mut acc: Buckets = vec![BTreeMap::new(); cols.len()];
    let raw_from = if width_ms >= ROLLUP_MS {
        match rolled_until(tx)? {
            Some(until) => {
                accumulate(
                    tx,
                    &rollup_bucket_sql(cols),
                    params![host, floor_minute(from), until.min(to + 1), width_ms],
                    &mut acc,
                )?;
                from.max(until)
            }
            None => from,
        }
    } else {
        from
    };
    if raw_from <= to {
        accumulate(
            tx,
            &raw_bucket_sql(cols),
            params![host, raw_from, to, width_ms],
            &mut acc,
        )?;
    }
    Ok(acc)
}

/// The stored columns of `metrics`; an unknown name is an error naming it.
fn columns_of(metrics: &[String]) -> Result<Vec<Column>> {
    metrics
        .iter()
        .map(|m| schema::column(m).ok_or_else(|| StoreError::UnknownMetric(m.clone())))
        .collect()
}

/// One bucket of one metric (see [`Store::aggregates`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aggregate {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Samples with a value in the bucket.
    pub count: i64,
}

impl Store {
    /// Per metric of `metrics`, the aggregate of every bucket of `width_ms` (aligned
    /// to multiples of it since the epoch, so to the UTC day for widths that divide
    /// one) in `[from, to]` that holds a value, oldest first: what the seasonal
    /// profile reads (`detect::stored::seasonal_history`), whatever the point budget.
    pub fn aggregates(
        &self,
        metrics: &[String],
        from: TimestampMs,
        to: TimestampMs,
        width_ms: i64,
    ) -> Result<Vec<Vec<(TimestampMs, Aggregate)>>> {
        let cols = columns_of(metrics)?;
        let conn = self.reader();
        let tx = conn.unchecked_transaction()?;
        let acc = bucket_accs(
            &tx,
            self.host_id,
            &cols,
            from,
            to.max(from),
            width_ms.max(1),
        )?;
        tx.finish()?;
        Ok(acc
            .into_iter()
            .map(|m| {
                m.into_iter()
                    .map(|(t, a)| {
                        let agg = Aggregate {
                            mean: a.sum / a.n as f64,
                            min: a.min,
                            max: a.max,
                            count: a.n,
                        };
                        (t, agg)
                    })
                    .collect()
            })
            .collect())
    }

    /// One series per requested metric over `[q.from, q.to]`, at most about
    /// `q.points` points each, oldest first; empty series when there is no data.
    ///
    /// Resolution (see [`super::choose_resolution`]): raw samples if they fit the
    /// budget; buckets narrower than a minute aggregate raw samples; wider ones read
    /// the 1-minute rollups plus raw samples for the minutes not rolled up yet.
    /// `anomaly_score` is accepted as a pseudo-metric (0-1, unscored samples skipped).
    pub fn history(&self, q: &HistoryQuery) -> Result<History> {
        let cols = columns_of(&q.metrics)?;
        let (from, to) = (q.from, q.to.max(q.from));
        let host = self.host_id;
        let conn = self.reader();
        // One read transaction: raw and rollup parts see the same database state
        // even if maintenance commits in between.
        let tx = conn.unchecked_transaction()?;
        let interval_ms = typical_interval_ms(&tx, host, to)?;
        let covers = raw_covers(&tx, host, from)?;
        let (points, resolution_secs) = match choose(to - from, q.points, interval_ms, covers) {
            Resolution::Raw => (
                raw_points(&tx, host, &cols, from, to)?,
                interval_ms as f64 / 1000.0,
            ),
            Resolution::Buckets { width_ms } => {
                let acc = bucket_accs(&tx, host, &cols, from, to, width_ms)?;
                let points = acc
                    .into_iter()
                    .map(|m| {
                        m.into_iter()
                            .map(|(t, a)| Point {
                                t,
                                v: a.sum / a.n as f64,
                                min: a.min,
                                max: a.max,
                            })
                            .collect()
                    })
                    .collect();
                (points, width_ms as f64 / 1000.0)
            }
        };
        tx.finish()?;
        Ok(History {
            from,
            to,
            series: cols
                .iter()
                .zip(points)
                .map(|(c, points)| Series {
                    metric: c.name.to_string(),
                    unit: c.unit,
                    resolution_secs,
                    points,
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sampler_jitter_does_not_show_in_the_resolution() {
        use super::to_two_digits as r;
        assert_eq!(r(1001), 1000);
        assert_eq!(r(1004), 1000);
        assert_eq!(r(1014), 1000);
        assert_eq!(r(998), 1000);
        assert_eq!(r(2500), 2500);
        assert_eq!(r(500), 500);
        assert_eq!(r(4999), 5000);
        assert_eq!(r(1500), 1500);
        assert_eq!(r(60_012), 60_000);
        assert_eq!(r(1), 1);
    }
}
