//! Logs through `tracing`: human-readable text or JSON on stdout, plus optional
//! size-rotated files (`lookout.log`, `lookout.log.1`, ...). tracing-appender only
//! rotates by time, and a monitor on a small disk needs a hard size cap, so the
//! rotation is done here.

use crate::config::LogSection;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// A log file that moves itself aside when it reaches `max_bytes`, keeping
/// `max_files` files in all.
pub struct SizeRotatingFile {
    path: PathBuf,
    max_bytes: u64,
    max_files: usize,
    file: File,
    written: u64,
}

impl SizeRotatingFile {
    pub fn open(dir: &Path, max_bytes: u64, max_files: usize) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("lookout.log");
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path,
            max_bytes,
            max_files: max_files.max(1),
            file,
            written,
        })
    }

    fn numbered(&self, n: usize) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        p.into()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        // lookout.log.(k-1) -> lookout.log.k, oldest falls off the end.
        let last = self.max_files - 1;
        if last == 0 {
            self.file = File::create(&self.path)?;
            self.written = 0;
            return Ok(());
        }
        let _ = std::fs::remove_file(self.numbered(last));
        for n in (1..last).rev() {
            let _ = std::fs::rename(self.numbered(n), self.numbered(n + 1));
        }
        std::fs::rename(&self.path, self.numbered(1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

impl Write for SizeRotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Shares one rotating file between tracing's writers.
#[derive(Clone)]
pub struct SharedFile(Arc<Mutex<SizeRotatingFile>>);

pub struct SharedFileGuard<'a>(std::sync::MutexGuard<'a, SizeRotatingFile>);

impl Write for SharedFileGuard<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for SharedFile {
    type Writer = SharedFileGuard<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        SharedFileGuard(self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Installs the global subscriber. Returns an error message for a bad filter or an
/// unopenable log folder.
pub fn init(cfg: &LogSection) -> Result<(), String> {
    let filter = EnvFilter::try_new(&cfg.level)
        .map_err(|e| format!("invalid configuration: `log.level` is {:?}: {e}", cfg.level))?;
    let json = cfg.format == "json";
    let file = if cfg.dir.is_empty() {
        None
    } else {
        let f = SizeRotatingFile::open(
            Path::new(&cfg.dir),
            cfg.max_size_mib as u64 * 1024 * 1024,
            cfg.max_files as usize,
        )
        .map_err(|e| format!("invalid configuration: `log.dir` {:?}: {e}", cfg.dir))?;
        Some(SharedFile(Arc::new(Mutex::new(f))))
    };
    type Boxed = Box<dyn Layer<Registry> + Send + Sync>;
    let mut layers: Vec<Boxed> = Vec::new();
    layers.push(if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(io::stdout)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(io::stdout)
            .boxed()
    });
    // Files are always JSON: they are for machines to read back.
    if let Some(f) = file {
        layers.push(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(f)
                .boxed(),
        );
    }
    let result = tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init();
    result.map_err(|e| format!("cannot install the logger: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = SizeRotatingFile::open(dir.path(), 100, 3).unwrap();
        for i in 0..20 {
            writeln!(f, "line {i:02} ............................").unwrap();
        }
        f.flush().unwrap();
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["lookout.log", "lookout.log.1", "lookout.log.2"]);
        for n in &names {
            let len = std::fs::metadata(dir.path().join(n)).unwrap().len();
            assert!(len <= 100, "{n} is {len} bytes");
        }
        let newest = std::fs::read_to_string(dir.path().join("lookout.log")).unwrap();
        assert!(newest.contains("line 19"));
    }
}
