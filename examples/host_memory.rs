//! Where a hub's memory goes for each host (issue 13): one host's live detector,
//! configured as the server configures it (server/src/detector.rs), fed synthetic
//! samples with a daily rhythm at 1 s and at 5 s, with a model trained on its first
//! hour as the hub would. Heap bytes held are counted by a counting allocator at each
//! stage, so the figures are the detector's own, not the process's RSS (the hour of
//! rows the model is trained on is made before counting starts; until session 10 the
//! "after 1 h" figure included it, about 190 KiB at 5 s and 940 KiB at 1 s).
//!
//! The load generator (scripts/loadgen-hub.sh) runs minutes; a hub runs for weeks, and
//! some of the detector's state only fills over days. This prints that steady state.
//! The server's detector reads its daily profile's days from the store's rollups
//! (`LiveConfig::seasonal_loaded`); here a ring of 5-minute summaries made before the
//! count starts stands in for the store, and the detector is handed them when it asks.
//!
//!     cargo run --release -p lookout --example host_memory

use lookout::detect::{train, LiveConfig, LiveDetector, SlotSummary, TrainParams};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::sync::Arc;

struct Counting;
static HELD: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the counter only
// adds and subtracts the sizes of what it handed out and took back.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, passed on as the trait requires.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            HELD.fetch_add(l.size() as isize, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` came from `alloc`/`realloc` above with this layout.
        unsafe { System.dealloc(p, l) };
        HELD.fetch_sub(l.size() as isize, Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: `p` came from this allocator with layout `l`, as the trait requires.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            HELD.fetch_add(new as isize - l.size() as isize, Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn held() -> isize {
    HELD.load(Relaxed)
}

fn kib(b: isize) -> String {
    format!("{:>8.0} KiB", b as f64 / 1024.0)
}

/// A sample of every detector metric at `ts`: a daily rhythm plus noise, as an idle
/// host with a nightly job would give (deterministic: a small LCG).
fn row(ts: i64, n: usize, seed: &mut u64) -> Vec<f64> {
    let day = 86_400_000.0;
    let phase = (ts as f64 % day) / day * std::f64::consts::TAU;
    (0..n)
        .map(|m| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = (*seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let level = 10.0 * (m + 1) as f64;
            level * (1.0 + 0.3 * phase.sin()) + noise * level * 0.05
        })
        .collect()
}

/// The store's part, outside the count: per 5-minute slot of the last 8 days, every
/// metric's lowest, highest and running mean (allocated before counting, reused).
struct Rollups {
    ring: Vec<SlotSummary>,
    counts: Vec<f64>,
}

const SLOT_MS: i64 = 300_000;

impl Rollups {
    fn new(n: usize) -> Self {
        let len = 8 * 288;
        let empty = SlotSummary {
            start: i64::MIN,
            lo: vec![0.0; n],
            hi: vec![0.0; n],
            mean: vec![0.0; n],
        };
        Rollups {
            ring: vec![empty; len],
            counts: vec![0.0; len],
        }
    }

    fn add(&mut self, ts: i64, row: &[f64]) {
        let g = ts.div_euclid(SLOT_MS);
        let i = g.rem_euclid(self.ring.len() as i64) as usize;
        let (s, c) = (&mut self.ring[i], &mut self.counts[i]);
        if s.start != g * SLOT_MS {
            s.start = g * SLOT_MS;
            s.lo.copy_from_slice(row);
            s.hi.copy_from_slice(row);
            s.mean.iter_mut().for_each(|v| *v = 0.0);
            *c = 0.0;
        }
        *c += 1.0;
        for (m, &x) in row.iter().enumerate() {
            s.lo[m] = s.lo[m].min(x);
            s.hi[m] = s.hi[m].max(x);
            s.mean[m] += (x - s.mean[m]) / *c;
        }
    }
}

/// One sample through the detector as the server gives it: the daily profile's
/// history first when the detector asks for it, then the sample, then the store.
fn feed(det: &mut LiveDetector, rollups: &mut Rollups, ts: i64, row: &[f64]) {
    if let Some(req) = det.seasonal_load_due(ts) {
        let len = rollups.ring.len() as i64;
        let ring = &rollups.ring;
        let slots = (req.from.div_euclid(SLOT_MS)..=req.to.div_euclid(SLOT_MS)).filter_map(|g| {
            let s = &ring[g.rem_euclid(len) as usize];
            (s.start == g * SLOT_MS && s.start < req.to).then_some(s)
        });
        det.load_seasonal(&req, slots);
    }
    det.observe(ts, row, &[], &[]);
    rollups.add(ts, row);
}

fn main() {
    let metrics = lookout::model::detector_metric_names();
    let n = metrics.len();
    println!(
        "one host's detector, {n} metrics, configured as the server's (buffer: adapt_after 30 min)"
    );
    for interval_s in [5i64, 1] {
        let (mut ts, step, mut seed) = (1_700_000_000_000i64, interval_s * 1000, 7u64);
        // The first hour's rows (the training input) exist before the count starts,
        // so the figures after it are the detector's alone.
        let hour: Vec<(i64, Vec<f64>)> = (0..3600 / interval_s)
            .map(|k| {
                let t = ts + k * step;
                (t, row(t, n, &mut seed))
            })
            .collect();
        ts += 3600 * 1000;
        let mut rollups = Rollups::new(n);
        let start = held();
        let mut det = LiveDetector::new(LiveConfig {
            host: "h".into(),
            buffer_secs: 60,
            self_train: false,
            seasonal_loaded: true,
            metric_names: metrics.clone(),
            ..LiveConfig::default()
        });
        let fresh = held() - start;
        for (t, r) in &hour {
            feed(&mut det, &mut rollups, *t, r);
        }
        let after_hour = held() - start;
        let before_model = held();
        let model = Arc::new(train(&hour, &[], &TrainParams::default()).expect("train"));
        let model_bytes = held() - before_model;
        det.install_model(model.clone()).expect("install");
        drop(model);
        let with_model = held() - start;
        let mut marks = Vec::new();
        for day in 1..=8 {
            let until = ts + 86_400_000 - 3_600_000 * i64::from(day == 1);
            while ts < until {
                let r = row(ts, n, &mut seed);
                feed(&mut det, &mut rollups, ts, &r);
                ts += step;
            }
            if [1, 2, 8].contains(&day) {
                marks.push((day, held() - start));
            }
        }
        println!("\nat {interval_s} s sampling:");
        println!("  new detector                         {}", kib(fresh));
        println!("  after 1 h of samples (no model)      {}", kib(after_hour));
        println!(
            "  the model trained on that hour       {}",
            kib(model_bytes)
        );
        println!("  detector with the model installed    {}", kib(with_model));
        for (day, b) in marks {
            println!("  after {day} day(s)                       {}", kib(b));
        }
        drop(det);
        drop(hour);
    }
}
