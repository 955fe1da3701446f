//! Per-core CPU history for the analysis page's heatmap.
//!
//! The per-core values live in each raw snapshot's JSON (`cpu.per_core`), which is
//! pruned after the raw retention, and a column per core would not fit a schema shared
//! by hosts of any core count. So maintenance rolls them up by minute, with the other
//! rollups, into `core_rollups_1m`: one row per minute holding the cores' means as
//! little-endian f32s (4 bytes a core: 32 cores for a day is 184 KB). Ranges are then
//! answered like history: rollups up to the high-water mark, raw snapshots after it.

use super::error::Result;
use super::resolution::{choose, Resolution, ROLLUP_MS};
use super::rollup::{floor_minute, rolled_until};
use super::Store;
use crate::model::{CoreHeatmap, TimestampMs};
use rusqlite::{params, Connection};
use std::collections::BTreeMap;

/// The cores' values of each raw snapshot in `[?2, ?3]`, summed by bucket of `?4` ms.
const RAW_SQL: &str = "SELECT (d.ts / ?4) * ?4 AS b, CAST(c.key AS INTEGER) AS core,
        SUM(c.value), COUNT(c.value)
     FROM sample_details d, json_each(lookout_detail(d.json), '$.cpu.per_core') c
     WHERE d.host_id = ?1 AND d.ts >= ?2 AND d.ts <= ?3
     GROUP BY b, core";

/// Encodes per-core means as little-endian f32s (NaN for a core without a value).
pub fn encode(values: &[f64]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|v| (*v as f32).to_le_bytes())
        .collect()
}

/// The inverse of [`encode`] (a trailing partial value is ignored).
pub fn decode(blob: &[u8]) -> Vec<f64> {
    blob.chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect()
}

/// Per (host, minute): the most values a core had, and each core's mean (NaN where a
/// core had none).
pub(super) type CoreMinutes = BTreeMap<(i64, i64), (i64, Vec<f64>)>;

/// Rolls up the per-core values of the raw snapshots in `[start, end)` by minute.
/// Only reads: it parses every snapshot's JSON, so maintenance runs it on a reader
/// before it takes the writer, and [`write_rollups`] stores the result with the
/// other rollups. Inside the write transaction every ingest waited for that parse: a
/// minute of a hub at 3,000 samples a second is 180,000 snapshots, the suspected
/// cause of its 1-3 s ingest stalls there (not confirmed yet).
pub(super) fn read_rollups(
    conn: &Connection,
    start: TimestampMs,
    end: TimestampMs,
) -> rusqlite::Result<CoreMinutes> {
    let mut minutes: CoreMinutes = BTreeMap::new();
    let mut st = conn.prepare_cached(&format!(
        "SELECT d.host_id, (d.ts / {ROLLUP_MS}) * {ROLLUP_MS} AS minute,
                CAST(c.key AS INTEGER) AS core, AVG(c.value), COUNT(c.value)
         FROM sample_details d, json_each(lookout_detail(d.json), '$.cpu.per_core') c
         WHERE d.host_id IN (SELECT id FROM hosts) AND d.ts >= ?1 AND d.ts < ?2
         GROUP BY d.host_id, minute, core"
    ))?;
    let mut rows = st.query(params![start, end])?;
    while let Some(r) = rows.next()? {
        let (host, minute, core): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let (Some(avg), n) = (r.get::<_, Option<f64>>(3)?, r.get::<_, i64>(4)?) else {
            continue;
        };
        let Ok(core) = usize::try_from(core) else {
            continue;
        };
        let entry = minutes.entry((host, minute)).or_insert((0, Vec::new()));
        if entry.1.len() <= core {
            entry.1.resize(core + 1, f64::NAN);
        }
        entry.1[core] = avg;
        entry.0 = entry.0.max(n);
    }
    Ok(minutes)
}

/// Stores what [`read_rollups`] computed (called by maintenance in the transaction
/// that writes the other rollups).
pub(super) fn write_rollups(conn: &Connection, minutes: &CoreMinutes) -> rusqlite::Result<()> {
    let mut ins = conn.prepare_cached(
        "INSERT OR REPLACE INTO core_rollups_1m (host_id, ts, n, per_core) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for ((host, minute), (n, values)) in minutes {
        ins.execute(params![host, minute, n, encode(values)])?;
    }
    Ok(())
}

/// Sums and counts per (bucket, core).
#[derive(Default)]
struct Grid {
    cells: BTreeMap<(i64, usize), (f64, i64)>,
    cores: usize,
}

impl Grid {
    fn add(&mut self, bucket: i64, core: usize, sum: f64, n: i64) {
        if n <= 0 || !sum.is_finite() {
            return;
        }
        let cell = self.cells.entry((bucket, core)).or_insert((0.0, 0));
        cell.0 += sum;
        cell.1 += n;
        self.cores = self.cores.max(core + 1);
    }
}

impl Store {
    /// CPU use per core over `[from, to]` in at most about `buckets` time buckets of a
    /// readable width (see [`super::choose_resolution`]), every bucket listed.
    pub fn core_history(
        &self,
        from: TimestampMs,
        to: TimestampMs,
        buckets: usize,
    ) -> Result<CoreHeatmap> {
        let to = to.max(from);
        // An interval of 1 ms never fits the budget: always buckets, however short the span.
        let width = match choose(to - from, buckets.max(1), 1, true) {
            Resolution::Buckets { width_ms } => width_ms,
            Resolution::Raw => 1000,
        };
        let host = self.host_id;
        let conn = self.reader();
        let tx = conn.unchecked_transaction()?;
        let mut grid = Grid::default();
        let mut raw_from = from;
        if width >= ROLLUP_MS {
            if let Some(until) = rolled_until(&tx)? {
                let mut st = tx.prepare_cached(
                    "SELECT ts, n, per_core FROM core_rollups_1m
                     WHERE host_id = ?1 AND ts >= ?2 AND ts < ?3",
                )?;
                let mut rows = st.query(params![host, floor_minute(from), until.min(to + 1)])?;
                while let Some(r) = rows.next()? {
                    let (ts, n, blob): (i64, i64, Vec<u8>) = (r.get(0)?, r.get(1)?, r.get(2)?);
                    for (core, v) in decode(&blob).into_iter().enumerate() {
                        grid.add(ts.div_euclid(width) * width, core, v * n as f64, n);
                    }
                }
                raw_from = from.max(until);
            }
        }
        if raw_from <= to {
            let mut st = tx.prepare_cached(RAW_SQL)?;
            let mut rows = st.query(params![host, raw_from, to, width])?;
            while let Some(r) = rows.next()? {
                let (b, core): (i64, i64) = (r.get(0)?, r.get(1)?);
                let (Some(sum), n) = (r.get::<_, Option<f64>>(2)?, r.get::<_, i64>(3)?) else {
                    continue;
                };
                if let Ok(core) = usize::try_from(core) {
                    grid.add(b, core, sum, n);
                }
            }
        }
        tx.finish()?;
        let first = from.div_euclid(width) * width;
        let times: Vec<TimestampMs> = (0..)
            .map(|i| first + i * width)
            .take_while(|t| *t <= to)
            .collect();
        let cores = (0..grid.cores)
            .map(|core| {
                times
                    .iter()
                    .map(|t| grid.cells.get(&(*t, core)).map(|(sum, n)| sum / *n as f64))
                    .collect()
            })
            .collect();
        Ok(CoreHeatmap {
            from,
            to,
            bucket_secs: width as f64 / 1000.0,
            times,
            cores,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_core_values_round_trip_in_four_bytes_each() {
        let blob = encode(&[12.5, 100.0, f64::NAN]);
        assert_eq!(blob.len(), 12);
        let back = decode(&blob);
        assert_eq!(&back[..2], &[12.5, 100.0]);
        assert!(back[2].is_nan());
        assert!(decode(&blob[..5]).len() == 1);
    }
}
