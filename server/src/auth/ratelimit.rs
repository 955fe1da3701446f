//! The login rate limit: at most N failed logins per client IP in a sliding window.
//! Once a client is over the limit every attempt is refused (even a right password)
//! until its oldest failure leaves the window, so guessing costs time, not luck.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Clients tracked at most; beyond this, clients with no failure in the window are
/// forgotten first (memory stays bounded under a spray of addresses).
const MAX_CLIENTS: usize = 10_000;

pub struct RateLimiter {
    limit: usize,
    window_ms: i64,
    failures: Mutex<HashMap<Option<IpAddr>, VecDeque<i64>>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit: limit as usize,
            window_ms: window.as_millis() as i64,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// None if `client` may try to log in at `now`, else how long until it may (ms).
    pub fn check(&self, client: Option<IpAddr>, now: i64) -> Option<i64> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let q = map.get_mut(&client)?;
        while q.front().is_some_and(|&t| t <= now - self.window_ms) {
            q.pop_front();
        }
        if q.len() >= self.limit {
            q.front().map(|&t| (t + self.window_ms - now).max(1))
        } else {
            None
        }
    }

    /// Records a failed login.
    pub fn fail(&self, client: Option<IpAddr>, now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_CLIENTS && !map.contains_key(&client) {
            let cutoff = now - self.window_ms;
            map.retain(|_, q| q.back().is_some_and(|&t| t > cutoff));
            if map.len() >= MAX_CLIENTS {
                map.clear();
            }
        }
        let q = map.entry(client).or_default();
        q.push_back(now);
        // Only the newest `limit` failures matter.
        while q.len() > self.limit {
            q.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_failures_per_client_within_the_window() {
        let rl = RateLimiter::new(3, Duration::from_secs(60));
        let a = Some("10.0.0.1".parse().unwrap());
        let b = Some("10.0.0.2".parse().unwrap());
        for t in [0, 1_000, 2_000] {
            assert_eq!(rl.check(a, t), None);
            rl.fail(a, t);
        }
        // The fourth try within the minute is refused until the first failure ages out.
        assert_eq!(rl.check(a, 3_000), Some(57_000));
        assert_eq!(rl.check(b, 3_000), None, "other clients are unaffected");
        assert_eq!(rl.check(a, 59_999), Some(1));
        assert_eq!(rl.check(a, 60_000), None);
        rl.fail(a, 60_000);
        assert!(rl.check(a, 60_001).is_some());
    }
}
