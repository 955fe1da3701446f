//! A real disk filled at a fixed rate: an ext4 image on a loop device (tmpfs would
//! do, but the collector leaves memory filesystems out as not fillable), written at
//! 256 KiB/s by a thread with fsync, sampled 4 times a second by the real collector
//! (`Sampler`), stored in a real store, forecast through the API's own path
//! (`forecast::source::report`). Then the writer goes on until the disk is really
//! full, and the forecast is compared with that moment.
//!
//! Time is compressed: one real second stands for one minute (the samples are
//! stamped 60x apart), so 62 s of filling is the 1 h of trend a forecast needs and
//! the whole test takes about 85 s. A straight line is unchanged by the scaling;
//! only the noise is 60x thinner than an hour of real samples would be.
//!
//! Needs root (mount); without it the test says so and passes without checking.
//! `cargo test -p lookout --test forecast_real_disk -- --nocapture` prints the figures.

use lookout::collect::{Sampler, SamplerOptions};
use lookout::forecast::source::{report, ForecastQuery};
use lookout::model::ForecastStatus;
use lookout::store::{Store, StoreOptions};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;
const RATE: u64 = 256 * 1024; // bytes per real second
const SCALE: i64 = 60; // simulated ms per real ms

fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Unmounts on drop, so a failed assertion leaves no mount behind.
struct Mounted<'a>(&'a Path);

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        run("umount", &[&self.0.to_string_lossy()]);
    }
}

#[test]
fn a_disk_filled_at_a_fixed_rate_is_forecast_within_10_percent() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("disk.img");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    std::fs::File::create(&image)
        .unwrap()
        .set_len(64 * MIB)
        .unwrap();
    let (img, mnt_s) = (image.to_string_lossy(), mnt.to_string_lossy());
    // -m 0: no blocks reserved for root, so "available" is what a writer can use.
    if !run("mkfs.ext4", &["-q", "-F", "-m", "0", &img])
        || !run("mount", &["-o", "loop", &img, &mnt_s])
    {
        eprintln!(
            "SKIPPED: cannot make and loop-mount an ext4 image here (needs root and mkfs.ext4)"
        );
        return;
    }
    let _mounted = Mounted(&mnt);
    let mut sampler = Sampler::new("real-disk".into(), SamplerOptions::default());
    let free_now = |sampler: &mut Sampler| {
        sampler
            .sample(0)
            .disk
            .filesystems
            .into_iter()
            .find(|f| f.mount_point == mnt_s)
            .expect("the collector lists the loop-mounted filesystem")
            .available_bytes
    };
    // Leave about 84 s of writing: 62 s sampled, ~22 s more until full.
    let avail = free_now(&mut sampler);
    let ballast = avail.saturating_sub(84 * RATE);
    {
        let mut f = std::fs::File::create(mnt.join("ballast")).unwrap();
        let block = vec![7u8; MIB as usize];
        let mut left = ballast;
        while left > 0 {
            let n = left.min(MIB);
            f.write_all(&block[..n as usize]).unwrap();
            left -= n;
        }
        f.sync_all().unwrap();
    }

    let store = Store::open(
        &dir.path().join("lookout.db"),
        StoreOptions {
            host: "real-disk".into(),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let full_at: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let writer = {
        let (path, full_at, stop) = (mnt.join("log"), full_at.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::File::create(path).unwrap();
            let chunk = vec![1u8; (RATE / 4) as usize];
            let mut k = 0u32;
            while !stop.load(Ordering::SeqCst) {
                k += 1;
                let due = start + Duration::from_millis(250 * u64::from(k));
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                if f.write_all(&chunk).and_then(|_| f.sync_data()).is_err() {
                    *full_at.lock().unwrap() = Some(Instant::now());
                    return;
                }
            }
        })
    };
    // Sample 4 times a second for 62 s, stamped as 15 s apart (60x).
    let t0: i64 = 1_764_000_000_000;
    let mut batch = Vec::new();
    let sample_for = Duration::from_secs(62);
    let mut k = 0u32;
    while start.elapsed() < sample_for {
        k += 1;
        let due = start + Duration::from_millis(250 * u64::from(k)) + Duration::from_millis(125);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let real_ms = start.elapsed().as_millis() as i64;
        let mut s = sampler.sample(t0 + real_ms * SCALE);
        s.host = "real-disk".into();
        batch.push(s);
    }
    store.insert(&batch).unwrap();
    let now_real = start.elapsed();
    let now = t0 + now_real.as_millis() as i64 * SCALE;
    let q = ForecastQuery {
        metric: format!("filesystem:{mnt_s}"),
        horizon_ms: 3_600_000,
    };
    let r = report(&store, &q, now).unwrap();
    let f = &r.forecasts[0];
    assert_eq!(f.status, ForecastStatus::Reaches, "{f:?}");
    let predicted_real_secs = f.time_to_bound_secs.unwrap() / SCALE as f64;
    let lo = f.time_to_bound_low_secs.unwrap() / SCALE as f64;
    let hi = f.time_to_bound_high_secs.unwrap_or(f64::INFINITY) / SCALE as f64;

    // Let the writer fill the disk for real (bounded: 60 s).
    let deadline = Instant::now() + Duration::from_secs(60);
    while full_at.lock().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    let full = full_at
        .lock()
        .unwrap()
        .expect("the disk filled within 60 s of the forecast");
    let actual = (full - (start + now_real)).as_secs_f64();
    let error = (predicted_real_secs - actual).abs() / actual;
    println!(
        "FORECAST-REAL-DISK: {} samples over 62 s (as 62 min); {}; predicted full in {:.1} s \
         (interval {:.1}..{:.1} s), really full after {:.1} s: error {:.1} %; slope {:.0} B/s \
         (written {} B/s)",
        batch.len(),
        f.message,
        predicted_real_secs,
        lo,
        hi,
        actual,
        error * 100.0,
        f.slope_per_hour.unwrap() / 3600.0 * SCALE as f64,
        RATE
    );
    assert!(
        error < 0.10,
        "predicted {predicted_real_secs:.1} s, full after {actual:.1} s"
    );
}
