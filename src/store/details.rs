//! How a snapshot's details are kept in `sample_details.json`.
//!
//! The column held the snapshot's JSON as TEXT (about 3.8 KB with its process lists,
//! more than a WITHOUT ROWID row keeps in its page, so most of it went to an overflow
//! page of its own: 4.6 KB on disk a sample). It is now written as a BLOB: one format
//! byte ([`DEFLATE_V1`]), then the same JSON as raw deflate primed with a fixed
//! dictionary of snapshot JSON (field names, common process, interface, device and
//! mount names: `details_dict_v1.txt`), about 565 bytes for a 3.8 KB snapshot. The
//! dictionary matters: a row is compressed alone, and most of what it repeats is the
//! field names every row shares (deflate alone: about 940 bytes). A stored sample
//! went from 4.9 KB to 880 bytes (`cargo run --release -p lookout --example
//! store_size`).
//!
//! Reading detects the type per row: TEXT rows (written before this format) read as
//! they are, so no migration rewrites old rows; a BLOB with another format byte, or
//! one that does not inflate, is an error naming the sample, never a panic. SQL reads
//! of the JSON (the per-core rollups' `json_each`) go through the
//! `lookout_detail(json)` function registered on every connection ([`register`]).

use crate::model::Snapshot;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;
use std::borrow::Cow;
use std::sync::Mutex;

/// The format byte of raw deflate primed with [`DICTIONARY`]. Never reuse it for
/// another dictionary: a new dictionary is a new format byte, and the old one stays
/// readable.
pub(super) const DEFLATE_V1: u8 = 1;

/// Frozen: rows written with it must inflate with the same bytes forever (a test
/// checks its hash). 4.5 KB: names (processes, devices, interfaces, mounts), a
/// container's and its node's figures, then a whole host snapshot, nearest last. Its
/// size is a cost per row (the compressor hashes it for every row): a 12 KB one with
/// each name in a whole JSON object did no better on real snapshots (879 B a sample
/// against 876) and took 5-6 µs more a sample.
const DICTIONARY: &[u8] = include_bytes!("details_dict_v1.txt");

/// Level 3 (zlib-rs): in wall time as fast as storing TEXT was. Per stored sample, file as
/// written, with the ingest's wall and CPU time in batches of 10 (examples/store_size,
/// 300 real snapshots, quiet machine; TEXT: 4,902 B, 30.2 µs, 24.4 µs on a CPU):
/// level 1 1,457 B, 25.9 / 23.1 µs (zlib-rs's quick mode, static Huffman codes);
/// level 3 876 B, 30.5 / 28.8 µs; level 6 806 B, 32.5 / 31.0 µs.
const LEVEL: u32 = 3;

/// A detail inflating past this is refused (a damaged or hostile row, not a snapshot).
const MAX_JSON: usize = 16 << 20;

/// Compressor states are about 300 KB each, so a few are kept for reuse (ingest runs
/// on many blocking threads) rather than one per thread.
static ENCODERS: Mutex<Vec<Compress>> = Mutex::new(Vec::new());
static DECODERS: Mutex<Vec<Decompress>> = Mutex::new(Vec::new());
const KEEP: usize = 4;

fn take<T>(pool: &Mutex<Vec<T>>) -> Option<T> {
    pool.lock().unwrap_or_else(|e| e.into_inner()).pop()
}

fn give<T>(pool: &Mutex<Vec<T>>, item: T) {
    let mut p = pool.lock().unwrap_or_else(|e| e.into_inner());
    if p.len() < KEEP {
        p.push(item);
    }
}

/// The stored form of a snapshot's JSON, or None if deflate failed (the caller then
/// stores the JSON as TEXT, which reads the same).
pub(super) fn encode(json: &str) -> Option<Vec<u8>> {
    let mut c = take(&ENCODERS).unwrap_or_else(|| Compress::new(Compression::new(LEVEL), false));
    c.reset();
    let out = deflate(&mut c, json.as_bytes());
    if out.is_some() {
        give(&ENCODERS, c);
    }
    out
}

fn deflate(c: &mut Compress, input: &[u8]) -> Option<Vec<u8>> {
    c.set_dictionary(DICTIONARY).ok()?;
    let mut out = Vec::with_capacity(input.len() / 4 + 64);
    out.push(DEFLATE_V1);
    // Each round has room to write into; a stream that never ends is a bug, not a loop.
    for _ in 0..64 {
        let at = usize::try_from(c.total_in()).ok()?;
        match c.compress_vec(input.get(at..)?, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => return Some(out),
            Ok(_) => out.reserve(out.capacity().max(256)),
            Err(_) => return None,
        }
    }
    None
}

/// What `sample_details.json` holds for a snapshot: the BLOB of [`encode`], or the
/// JSON as TEXT should deflate fail.
pub(super) fn column(s: &Snapshot) -> serde_json::Result<Value> {
    let json = serde_json::to_string(s)?;
    Ok(match encode(&json) {
        Some(blob) => Value::Blob(blob),
        None => Value::Text(json),
    })
}

/// The JSON text of a BLOB written by [`encode`]; Err says why it cannot be read.
pub(super) fn decode(blob: &[u8]) -> Result<String, String> {
    match blob.split_first() {
        Some((&DEFLATE_V1, body)) => {
            let mut d = take(&DECODERS).unwrap_or_else(|| Decompress::new(false));
            d.reset(false);
            let json = inflate(&mut d, body);
            if json.is_ok() {
                give(&DECODERS, d);
            }
            String::from_utf8(json?).map_err(|_| "it inflates to text that is not UTF-8".into())
        }
        Some((tag, _)) => Err(format!("unknown details format {tag}")),
        None => Err("the blob is empty".into()),
    }
}

fn inflate(d: &mut Decompress, body: &[u8]) -> Result<Vec<u8>, String> {
    d.set_dictionary(DICTIONARY).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(body.len() * 8 + 256);
    loop {
        let (was_in, was_out) = (d.total_in(), d.total_out());
        let at = usize::try_from(was_in).map_err(|e| e.to_string())?;
        let rest = body.get(at..).unwrap_or_default();
        let room = out.len() < out.capacity();
        match d.decompress_vec(rest, &mut out, FlushDecompress::Finish) {
            Ok(Status::StreamEnd) if usize::try_from(d.total_in()) == Ok(body.len()) => {
                return Ok(out)
            }
            Ok(Status::StreamEnd) => return Err("bytes follow the end of the data".into()),
            Ok(_) if room && (d.total_in(), d.total_out()) == (was_in, was_out) => {
                return Err("the data is truncated".into())
            }
            Ok(_) if out.len() >= MAX_JSON => return Err("it inflates past 16 MiB".into()),
            Ok(_) => out.reserve(out.capacity().max(4096)),
            Err(e) => return Err(format!("the data does not inflate ({e})")),
        }
    }
}

/// The JSON of a stored detail, TEXT (older rows) or BLOB.
pub(super) fn json_of(v: ValueRef<'_>) -> Result<Cow<'_, str>, String> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(Cow::Borrowed)
            .map_err(|_| "the text is not UTF-8".into()),
        ValueRef::Blob(b) => decode(b).map(Cow::Owned),
        other => Err(format!("a {:?} value is no snapshot", other.data_type())),
    }
}

/// Registers `lookout_detail(json)`: the JSON text of a stored detail, for SQLite's
/// JSON functions. A detail that cannot be read is NULL there (logged), so one
/// damaged row drops out of a rollup or a filesystem series instead of failing
/// maintenance, which would then never prune it.
pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "lookout_detail",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok(match json_of(ctx.get_raw(0)) {
                Ok(json) => Some(json.into_owned()),
                Err(reason) => {
                    tracing::warn!("skipping a sample's stored details: {reason}");
                    None
                }
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_frozen() {
        use sha2::{Digest, Sha256};
        // Rows written with DEFLATE_V1 inflate only with these exact bytes: a new
        // dictionary needs a new format byte.
        let hash = format!("{:x}", Sha256::digest(DICTIONARY));
        assert_eq!(
            hash,
            "4ecef8d92ca72f0a7f756893b0a91c89a71f98c367ecca7237eab888a2686dda"
        );
    }

    #[test]
    fn text_round_trips_and_shrinks() {
        let json =
            serde_json::to_string(&<crate::model::Snapshot as crate::model::ApiBody>::example())
                .unwrap();
        let blob = encode(&json).unwrap();
        assert_eq!(blob[0], DEFLATE_V1);
        assert!(
            blob.len() * 3 < json.len(),
            "{} of {}",
            blob.len(),
            json.len()
        );
        assert_eq!(decode(&blob).unwrap(), json);
        assert_eq!(decode(&encode("").unwrap()).unwrap(), "");
    }

    #[test]
    fn damaged_blobs_are_errors() {
        let blob = encode(r#"{"cpu":{"per_core":[1.0,2.0]}}"#).unwrap();
        let mut other = blob.clone();
        other[0] = 9;
        assert_eq!(decode(&other).unwrap_err(), "unknown details format 9");
        assert_eq!(decode(&[]).unwrap_err(), "the blob is empty");
        assert!(decode(&blob[..blob.len() - 2]).is_err());
        let mut tail = blob.clone();
        tail.push(0);
        assert!(decode(&tail).is_err());
        assert!(decode(&[DEFLATE_V1, 0xff, 0xff, 0xff]).is_err());
        // The pool's decoder is still sound after the failures.
        assert_eq!(decode(&blob).unwrap(), r#"{"cpu":{"per_core":[1.0,2.0]}}"#);
    }
}
