//! The agent's on-disk buffer: one file per batch, exactly the body it will POST
//! (gzip JSON), named so the names sort oldest first. A batch is written to a
//! temporary name and renamed, so a killed agent leaves whole batches or none (a
//! leftover temporary file is removed at the next start). The files survive the agent
//! being killed and the hub being down; one is deleted only once the hub has
//! acknowledged it, or when the buffer is past its bound (oldest first, counted).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const SUFFIX: &str = ".batch.gz";
const TMP_SUFFIX: &str = ".tmp";
/// The file holding the total of samples dropped past the bound (survives restarts).
const DROPPED_FILE: &str = "dropped";

/// One buffered batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffered {
    pub path: PathBuf,
    /// Samples in it (from its name).
    pub samples: u64,
}

/// The buffer folder. Not thread-safe by itself: the agent keeps it behind a mutex.
#[derive(Debug)]
pub struct Buffer {
    dir: PathBuf,
    max_bytes: u64,
    dropped: u64,
    /// Names given in this process, so two batches in the same millisecond differ.
    seq: u64,
}

/// `{first sample ms, 20 digits}-{seq, 8 digits}-{samples}.batch.gz`: sorts by time.
fn name(first_ts: i64, seq: u64, samples: usize) -> String {
    format!(
        "{:020}-{:08}-{samples}{SUFFIX}",
        first_ts.max(0),
        seq % 100_000_000
    )
}

fn samples_of(file_name: &str) -> Option<u64> {
    file_name
        .strip_suffix(SUFFIX)?
        .rsplit('-')
        .next()?
        .parse()
        .ok()
}

impl Buffer {
    /// Opens (creating, owner-only) the folder, drops unfinished temporary files and
    /// reads the dropped-samples counter.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Buffer> {
        crate::store::private_dir_all(dir)?;
        for e in fs::read_dir(dir)? {
            let p = e?.path();
            if p.to_string_lossy().ends_with(TMP_SUFFIX) {
                let _ = fs::remove_file(&p);
            }
        }
        let dropped = fs::read_to_string(dir.join(DROPPED_FILE))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        Ok(Buffer {
            dir: dir.to_path_buf(),
            max_bytes,
            dropped,
            seq: 0,
        })
    }

    /// Samples dropped past the bound since the buffer was created.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The buffered batches, oldest first, with their sizes.
    fn entries(&self) -> io::Result<Vec<(Buffered, u64)>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let e = e?;
            let file_name = e.file_name().to_string_lossy().into_owned();
            let Some(samples) = samples_of(&file_name) else {
                continue;
            };
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            out.push((
                Buffered {
                    path: e.path(),
                    samples,
                },
                len,
            ));
        }
        out.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        Ok(out)
    }

    /// (batches, samples, bytes) buffered now.
    pub fn usage(&self) -> io::Result<(usize, u64, u64)> {
        let e = self.entries()?;
        Ok((
            e.len(),
            e.iter().map(|(b, _)| b.samples).sum(),
            e.iter().map(|(_, n)| n).sum(),
        ))
    }

    /// Writes one batch (`body`, `samples` samples, the first stamped `first_ts`), then
    /// drops the oldest batches while the buffer is past its bound. Returns how many
    /// samples were dropped now.
    pub fn push(&mut self, body: &[u8], first_ts: i64, samples: usize) -> io::Result<u64> {
        self.seq += 1;
        let final_path = self.dir.join(name(first_ts, self.seq, samples));
        let mut tmp = final_path.clone().into_os_string();
        tmp.push(TMP_SUFFIX);
        let tmp = PathBuf::from(tmp);
        fs::write(&tmp, body)?;
        fs::rename(&tmp, &final_path)?;
        self.enforce_bound()
    }

    /// Drops the oldest batches until the total size is within the bound (the newest
    /// batch always stays). Counts the samples dropped, also in the counter file.
    fn enforce_bound(&mut self) -> io::Result<u64> {
        let entries = self.entries()?;
        let mut total: u64 = entries.iter().map(|(_, n)| n).sum();
        let mut dropped_now = 0;
        let keep_last = entries.len().saturating_sub(1);
        for (b, len) in entries.into_iter().take(keep_last) {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&b.path).is_ok() {
                total -= len;
                dropped_now += b.samples;
            }
        }
        if dropped_now > 0 {
            self.dropped += dropped_now;
            fs::write(self.dir.join(DROPPED_FILE), self.dropped.to_string())?;
        }
        Ok(dropped_now)
    }

    /// The oldest batch and its bytes, if any.
    pub fn oldest(&self) -> io::Result<Option<(Buffered, Vec<u8>)>> {
        for (b, _) in self.entries()? {
            // Dropped past the bound between the listing and the read: take the next.
            match fs::read(&b.path) {
                Ok(bytes) => return Ok(Some((b, bytes))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Forgets a batch (acknowledged by the hub, or refused as malformed).
    pub fn remove(&self, b: &Buffered) -> io::Result<()> {
        match fs::remove_file(&b.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_come_back_oldest_first_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Buffer::open(dir.path(), 1 << 20).unwrap();
        b.push(b"second", 2_000, 2).unwrap();
        b.push(b"first", 1_000, 1).unwrap();
        b.push(b"third", 2_000, 3).unwrap();
        // A batch cut short by a kill: never read.
        fs::write(dir.path().join("x.batch.gz.tmp"), b"half").unwrap();
        let b = Buffer::open(dir.path(), 1 << 20).unwrap();
        assert!(!dir.path().join("x.batch.gz.tmp").exists());
        assert_eq!(b.usage().unwrap().0, 3);
        let (first, bytes) = b.oldest().unwrap().unwrap();
        assert_eq!((bytes.as_slice(), first.samples), (&b"first"[..], 1));
        b.remove(&first).unwrap();
        assert_eq!(b.oldest().unwrap().unwrap().1, b"second");
        assert_eq!(b.usage().unwrap().1, 5);
    }

    #[test]
    fn past_the_bound_the_oldest_are_dropped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Buffer::open(dir.path(), 250).unwrap();
        let body = [7u8; 100];
        assert_eq!(b.push(&body, 1_000, 10).unwrap(), 0);
        assert_eq!(b.push(&body, 2_000, 10).unwrap(), 0);
        assert_eq!(b.push(&body, 3_000, 10).unwrap(), 10, "300 bytes > 250");
        assert_eq!(b.usage().unwrap(), (2, 20, 200));
        assert_eq!(b.push(&body, 4_000, 10).unwrap(), 10);
        assert_eq!(b.dropped(), 20);
        // The oldest left is the third batch: what was dropped is the oldest.
        assert_eq!(
            b.oldest()
                .unwrap()
                .unwrap()
                .0
                .path
                .file_name()
                .unwrap()
                .to_string_lossy(),
            name(3_000, 3, 10)
        );
        // The counter survives a restart.
        assert_eq!(Buffer::open(dir.path(), 250).unwrap().dropped(), 20);
        // One batch larger than the bound is still kept (it is the newest).
        let mut small = Buffer::open(&dir.path().join("small"), 10).unwrap();
        assert_eq!(small.push(&body, 1, 5).unwrap(), 0);
        assert_eq!(small.usage().unwrap().0, 1);
    }
}
