//! The remote_write sink (a sink in Vector's sense): samples go into a bounded
//! in-memory queue and one thread sends them in batches, in order, as Prometheus
//! remote-write requests. A failed request (unreachable, 5xx, 429) is retried with
//! exponential backoff and jitter while new samples keep queueing; the queue is only
//! trimmed once the receiver acknowledged a batch, so an outage shorter than the
//! queue bound loses nothing. Past the bound the oldest samples are dropped and
//! counted. A 4xx other than 429 means the receiver will never take that batch
//! (bad labels, out-of-order samples): it is dropped, counted as rejected, and
//! sending goes on.

mod config;
pub mod proto;

pub use config::{RemoteAuth, RemoteWriteConfig, RemoteWriteOptions};

use super::prometheus_names::Series;
use proto::{Label, Sample, TimeSeries, WriteRequest};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One queued sample: its labels (sorted, `__name__` first by sort order) and value.
#[derive(Debug, Clone)]
struct Queued {
    seq: u64,
    labels: Arc<[Label]>,
    value: f64,
    timestamp: i64,
}

#[derive(Default)]
struct Queue {
    samples: VecDeque<Queued>,
    next_seq: u64,
    stop: bool,
    /// One shared copy of each label set, so a queued sample costs a pointer, not
    /// its strings (376 bytes a sample without it, measured by the bench).
    interned: HashMap<Vec<Label>, Arc<[Label]>>,
}

/// Past this many label sets the cache starts over (a host's set is ~70 and stable).
const MAX_INTERNED: usize = 100_000;

/// Counters on the sink's health (the server shows them as `lookout_remote_write_*`).
#[derive(Debug, Default)]
pub struct SinkStats {
    pub sent_samples: AtomicU64,
    pub dropped_samples: AtomicU64,
    pub rejected_samples: AtomicU64,
    pub failed_requests: AtomicU64,
    pub queued_samples: AtomicU64,
    /// 1 while the last request failed.
    pub failing: AtomicBool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    stats: SinkStats,
    last_error: Mutex<Option<String>>,
}

/// The sink. Dropping it (or [`RemoteWriteSink::shutdown`]) stops the thread after a
/// last bounded attempt to send what is queued.
pub struct RemoteWriteSink {
    shared: Arc<Shared>,
    options: RemoteWriteOptions,
    thread: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Labels of a series as remote-write wants them: `__name__` added, sorted by name.
pub fn series_labels(s: &Series) -> Vec<Label> {
    let mut labels: Vec<Label> = s
        .labels
        .iter()
        .map(|(k, v)| Label {
            name: (*k).to_string(),
            value: v.clone(),
        })
        .collect();
    labels.push(Label {
        name: "__name__".into(),
        value: s.name.to_string(),
    });
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    labels
}

/// Groups consecutive samples into one request, one time series per label set.
fn build_request(batch: &[Queued]) -> WriteRequest {
    let mut by_series: BTreeMap<&[Label], Vec<Sample>> = BTreeMap::new();
    for q in batch {
        by_series.entry(&q.labels[..]).or_default().push(Sample {
            value: q.value,
            timestamp: q.timestamp,
        });
    }
    WriteRequest {
        timeseries: by_series
            .into_iter()
            .map(|(labels, samples)| TimeSeries {
                labels: labels.to_vec(),
                samples,
            })
            .collect(),
    }
}

/// The delay before retry number `failures` (>= 1): doubling from `min`, capped at
/// `max`, then scaled by a random factor in [0.5, 1.0] so many hosts that lost the
/// same receiver do not come back in step.
pub fn backoff(failures: u32, min: Duration, max: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let d = min.saturating_mul(1 << exp).min(max);
    d.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

enum Outcome {
    Sent,
    Retry(String),
    Rejected(String),
}

impl RemoteWriteSink {
    pub fn start(options: RemoteWriteOptions) -> RemoteWriteSink {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            stats: SinkStats::default(),
            last_error: Mutex::new(None),
        });
        let thread = {
            let shared = shared.clone();
            let options = options.clone();
            std::thread::Builder::new()
                .name("remote-write".into())
                .spawn(move || run(shared, options))
                .expect("spawn the remote_write thread")
        };
        RemoteWriteSink {
            shared,
            options,
            thread: Some(thread),
        }
    }

    /// Queues samples at `timestamp` (ms). Never blocks on the network.
    pub fn push(&self, series: &[Series], timestamp: i64) {
        let mut q = lock(&self.shared.queue);
        for s in series {
            let seq = q.next_seq;
            q.next_seq += 1;
            let key = series_labels(s);
            let labels = match q.interned.get(&key) {
                Some(l) => l.clone(),
                None => {
                    if q.interned.len() >= MAX_INTERNED {
                        q.interned.clear();
                    }
                    let l: Arc<[Label]> = key.clone().into();
                    q.interned.insert(key, l.clone());
                    l
                }
            };
            q.samples.push_back(Queued {
                seq,
                labels,
                value: s.value,
                timestamp,
            });
        }
        let mut dropped = 0;
        while q.samples.len() > self.options.queue_max_samples {
            q.samples.pop_front();
            dropped += 1;
        }
        if dropped > 0 {
            self.shared
                .stats
                .dropped_samples
                .fetch_add(dropped, Ordering::Relaxed);
            tracing::warn!(
                dropped,
                bound = self.options.queue_max_samples,
                "remote_write queue full: oldest samples dropped"
            );
        }
        self.shared
            .stats
            .queued_samples
            .store(q.samples.len() as u64, Ordering::Relaxed);
        drop(q);
        self.shared.wake.notify_one();
    }

    pub fn stats(&self) -> &SinkStats {
        &self.shared.stats
    }

    /// The last delivery error, if the last request failed.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared.last_error).clone()
    }

    /// The sink's health as series with a `host` label, for the exposition.
    pub fn health_series(&self, host: &str) -> Vec<Series> {
        let st = &self.shared.stats;
        let one = |name, help, v: u64| Series {
            name,
            help,
            labels: vec![("host", host.to_string())],
            value: v as f64,
        };
        vec![
            one(
                "lookout_remote_write_queued_samples",
                "samples waiting for the remote_write receiver",
                st.queued_samples.load(Ordering::Relaxed),
            ),
            one(
                "lookout_remote_write_sent_samples",
                "samples the receiver acknowledged since start",
                st.sent_samples.load(Ordering::Relaxed),
            ),
            one(
                "lookout_remote_write_dropped_samples",
                "samples dropped because the queue was full, since start",
                st.dropped_samples.load(Ordering::Relaxed),
            ),
            one(
                "lookout_remote_write_rejected_samples",
                "samples the receiver refused (4xx), since start",
                st.rejected_samples.load(Ordering::Relaxed),
            ),
            one(
                "lookout_remote_write_failed_requests",
                "requests that failed and were retried, since start",
                st.failed_requests.load(Ordering::Relaxed),
            ),
        ]
    }

    /// Stops the thread; what is still queued gets one more try of at most `grace`.
    pub fn shutdown(mut self, grace: Duration) {
        self.stop(grace);
    }

    fn stop(&mut self, grace: Duration) {
        lock(&self.shared.queue).stop = true;
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let deadline = Instant::now() + grace;
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

impl Drop for RemoteWriteSink {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

fn agent(options: &RemoteWriteOptions) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(options.timeout))
        .http_status_as_error(false)
        .build()
        .into()
}

fn send(agent: &ureq::Agent, options: &RemoteWriteOptions, body: &[u8]) -> Outcome {
    let mut req = agent
        .post(&options.url)
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .header("User-Agent", "lookout-remote-write");
    match &options.auth {
        RemoteAuth::None => {}
        RemoteAuth::Basic { username, password } => {
            use base64::Engine;
            let pair = format!("{username}:{}", password.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            req = req.header("Authorization", format!("Basic {encoded}"));
        }
        RemoteAuth::Bearer(t) => {
            req = req.header("Authorization", format!("Bearer {}", t.expose()));
        }
    }
    match req.send(body) {
        Err(e) => Outcome::Retry(e.to_string()),
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Outcome::Sent;
            }
            let text: String = resp
                .body_mut()
                .read_to_string()
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            let msg = format!("HTTP {status}: {}", text.trim());
            if status == 429 || status >= 500 {
                Outcome::Retry(msg)
            } else {
                Outcome::Rejected(msg)
            }
        }
    }
}

fn run(shared: Arc<Shared>, options: RemoteWriteOptions) {
    let agent = agent(&options);
    let mut failures = 0u32;
    let mut stop_deadline: Option<Instant> = None;
    loop {
        let batch: Vec<Queued> = {
            let mut q = lock(&shared.queue);
            while q.samples.is_empty() && !q.stop {
                q = shared.wake.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            if q.stop {
                let deadline =
                    *stop_deadline.get_or_insert_with(|| Instant::now() + Duration::from_secs(2));
                if q.samples.is_empty() || Instant::now() >= deadline {
                    return;
                }
            }
            q.samples.iter().take(options.batch_size).cloned().collect()
        };
        let body = proto::encode(&build_request(&batch));
        let last_seq = batch.last().map_or(0, |s| s.seq);
        let outcome = send(&agent, &options, &body);
        let acknowledged = |shared: &Shared| {
            let mut q = lock(&shared.queue);
            while q.samples.front().is_some_and(|s| s.seq <= last_seq) {
                q.samples.pop_front();
            }
            shared
                .stats
                .queued_samples
                .store(q.samples.len() as u64, Ordering::Relaxed);
        };
        match outcome {
            Outcome::Sent => {
                acknowledged(&shared);
                shared
                    .stats
                    .sent_samples
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                if failures > 0 {
                    tracing::info!(
                        after_failures = failures,
                        "remote_write: the receiver is back"
                    );
                }
                failures = 0;
                shared.stats.failing.store(false, Ordering::Relaxed);
                *lock(&shared.last_error) = None;
            }
            Outcome::Rejected(e) => {
                acknowledged(&shared);
                shared
                    .stats
                    .rejected_samples
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                tracing::warn!(samples = batch.len(), error = %e, "remote_write: the receiver refused a batch; dropped");
                *lock(&shared.last_error) = Some(e);
            }
            Outcome::Retry(e) => {
                failures += 1;
                shared.stats.failed_requests.fetch_add(1, Ordering::Relaxed);
                shared.stats.failing.store(true, Ordering::Relaxed);
                let wait = backoff(failures, options.min_backoff, options.max_backoff);
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(failures, retry_in_ms = wait.as_millis() as u64, error = %e, "remote_write: request failed; samples stay queued");
                }
                *lock(&shared.last_error) = Some(e);
                // Sleep, but wake at once on stop.
                let q = lock(&shared.queue);
                if q.stop && stop_deadline.is_some_and(|d| Instant::now() >= d) {
                    return;
                }
                let _ = shared.wake.wait_timeout_while(q, wait, |q| !q.stop);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_down_only() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(1));
        for _ in 0..50 {
            let b1 = backoff(1, min, max);
            assert!(b1 >= min / 2 && b1 <= min, "{b1:?}");
            let b3 = backoff(3, min, max);
            assert!(b3 >= min * 2 && b3 <= min * 4, "{b3:?}");
            assert!(backoff(30, min, max) <= max);
        }
    }

    #[test]
    fn a_batch_groups_samples_by_series_in_order() {
        let s = |v| Series {
            name: "lookout_x_bytes",
            help: "",
            labels: vec![("host", "h".into())],
            value: v,
        };
        let labels: Arc<[Label]> = series_labels(&s(0.0)).into();
        assert_eq!(labels[0].name, "__name__");
        let q = |seq, v, ts| Queued {
            seq,
            labels: labels.clone(),
            value: v,
            timestamp: ts,
        };
        let req = build_request(&[q(0, 1.0, 1000), q(1, 2.0, 2000)]);
        assert_eq!(req.timeseries.len(), 1);
        let ts: Vec<i64> = req.timeseries[0]
            .samples
            .iter()
            .map(|s| s.timestamp)
            .collect();
        assert_eq!(ts, [1000, 2000]);
    }

    /// Accepts one request on a loopback port, answers 204, returns (head, body).
    fn one_request() -> (String, std::thread::JoinHandle<(String, Vec<u8>)>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .unwrap();
            (head, body)
        });
        (url, handle)
    }

    #[test]
    fn requests_carry_the_auth_header_and_a_snappy_protobuf_body() {
        for (auth, expected) in [
            (
                RemoteAuth::Bearer(crate::alert::notify::Secret::new("t0k")),
                "authorization: bearer t0k",
            ),
            (
                RemoteAuth::Basic {
                    username: "u".into(),
                    password: crate::alert::notify::Secret::new("p"),
                },
                // base64("u:p") = "dTpw", lower-cased with the head
                "authorization: basic dtpw",
            ),
        ] {
            let (url, server) = one_request();
            let mut o = RemoteWriteOptions::new(url);
            o.auth = auth;
            let sink = RemoteWriteSink::start(o);
            let one = [Series {
                name: "lookout_x_bytes",
                help: "",
                labels: vec![("host", "h".into())],
                value: 42.0,
            }];
            sink.push(&one, 1_000);
            let (head, body) = server.join().unwrap();
            assert!(head.contains(expected), "{head}");
            assert!(head.contains("content-encoding: snappy"), "{head}");
            assert!(
                head.contains("x-prometheus-remote-write-version: 0.1.0"),
                "{head}"
            );
            let req = proto::decode(&body).unwrap();
            assert_eq!(req.timeseries[0].samples[0].value, 42.0);
            assert_eq!(req.timeseries[0].labels[0].value, "lookout_x_bytes");
            sink.shutdown(Duration::from_secs(2));
        }
    }

    #[test]
    fn past_the_bound_the_oldest_samples_are_dropped_and_counted() {
        // Port 9 on loopback: nothing listens, every request fails and is retried.
        let mut o = RemoteWriteOptions::new("http://127.0.0.1:9/api/v1/write");
        o.batch_size = 5;
        o.queue_max_samples = 10;
        o.min_backoff = Duration::from_secs(5);
        let sink = RemoteWriteSink::start(o);
        let one = [Series {
            name: "lookout_x",
            help: "",
            labels: vec![("host", "h".into())],
            value: 1.0,
        }];
        for t in 0..25 {
            sink.push(&one, t);
        }
        assert_eq!(sink.stats().queued_samples.load(Ordering::Relaxed), 10);
        assert_eq!(sink.stats().dropped_samples.load(Ordering::Relaxed), 15);
        sink.shutdown(Duration::from_secs(3));
    }
}
