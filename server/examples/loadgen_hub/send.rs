//! Sending a batch as an agent does, and what the senders saw.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Stats {
    pub latencies: Vec<f64>,
    pub lateness: Vec<f64>,
    pub statuses: BTreeMap<String, u64>,
    pub sent: u64,
    pub accepted: u64,
    pub duplicate: u64,
    pub refused: u64,
    pub errors: u64,
    /// Attempts sent again after a failure (as an agent does; see `send_with_retries`).
    pub retries: u64,
    pub late: u64,
    pub build_secs: f64,
}

/// Attempts per batch at most: the first and this many minus one retries.
pub const ATTEMPTS: u32 = 5;

/// One batch sent as an agent sends it: a connection error, a timeout, a 429 or a
/// 5xx is tried again after 0.5, 1, 2 and 4 s (ingest is idempotent: a batch the hub
/// stored before failing to answer is counted duplicate the second time), so a
/// momentary refusal is not counted lost. Returns the status of the last attempt,
/// its reply if it was a success, the first attempt's latency (s) and the retries.
pub async fn send_with_retries(
    client: &reqwest::Client,
    url: &str,
    auth: &str,
    body: Vec<u8>,
) -> (String, Option<Vec<u8>>, f64, u32) {
    let mut first_latency = None;
    let mut attempt = 0;
    loop {
        let t = Instant::now();
        let res = client
            .post(url)
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .header("Authorization", auth)
            .body(body.clone())
            .send()
            .await;
        let (status, reply, transient) = match res {
            Ok(r) => {
                let code = r.status();
                let text = r.bytes().await.unwrap_or_default();
                let transient = code.is_server_error() || code.as_u16() == 429;
                (
                    code.as_u16().to_string(),
                    code.is_success().then(|| text.to_vec()),
                    transient,
                )
            }
            Err(e) => (
                if e.is_timeout() { "timeout" } else { "error" }.to_string(),
                None,
                true,
            ),
        };
        let latency = *first_latency.get_or_insert(t.elapsed().as_secs_f64());
        attempt += 1;
        if !transient || attempt >= ATTEMPTS {
            return (status, reply, latency, attempt - 1);
        }
        tokio::time::sleep(Duration::from_millis(500 << (attempt - 1))).await;
    }
}
