//! The login rate limit: at most N login attempts that did not succeed per key (a
//! client IP, or an account name) in a sliding window. An attempt is *reserved*
//! before its password is hashed, so a burst of parallel guesses cannot run more
//! hashes than the limit allows; a successful login gives its reservation back.
//! Once a key is over the limit every attempt is refused (even a right password)
//! until its oldest attempt leaves the window, so guessing costs time, not luck.
//!
//! Memory is bounded: at most [`MAX_KEYS`] keys are tracked. When the table is full,
//! keys whose attempts have all left the window are dropped; if it is still full, a
//! *new* key is refused (answered "try later") rather than forgetting a counter an
//! attacker has run up.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

/// Keys tracked at most.
pub const MAX_KEYS: usize = 10_000;

pub struct RateLimiter<K> {
    limit: usize,
    window_ms: i64,
    max_keys: usize,
    attempts: Mutex<HashMap<K, VecDeque<i64>>>,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    pub fn new(limit: u32, window: Duration) -> RateLimiter<K> {
        RateLimiter::with_capacity(limit, window, MAX_KEYS)
    }

    pub fn with_capacity(limit: u32, window: Duration, max_keys: usize) -> RateLimiter<K> {
        RateLimiter {
            limit: (limit as usize).max(1),
            window_ms: window.as_millis() as i64,
            max_keys: max_keys.max(1),
            attempts: Mutex::new(HashMap::new()),
        }
    }

    fn expire(&self, q: &mut VecDeque<i64>, now: i64) {
        while q.front().is_some_and(|&t| t <= now - self.window_ms) {
            q.pop_front();
        }
    }

    /// None if `key` may try at `now`, else how long until it may (ms). Reserves
    /// nothing.
    pub fn check(&self, key: &K, now: i64) -> Option<i64> {
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let q = map.get_mut(key)?;
        self.expire(q, now);
        (q.len() >= self.limit).then(|| q.front().map_or(1, |&t| (t + self.window_ms - now).max(1)))
    }

    /// Counts an attempt by `key` at `now` if it is allowed (Ok), else how long until
    /// one is (Err, ms). Give the attempt back with [`release`](Self::release) when it
    /// succeeds.
    pub fn reserve(&self, key: &K, now: i64) -> Result<(), i64> {
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(key) && map.len() >= self.max_keys {
            let cutoff = now - self.window_ms;
            map.retain(|_, q| q.back().is_some_and(|&t| t > cutoff));
            if map.len() >= self.max_keys {
                // Never forget a live counter: the newcomer waits instead.
                let oldest = map.values().filter_map(|q| q.back()).min().copied();
                return Err(oldest.map_or(1, |t| (t + self.window_ms - now).max(1)));
            }
        }
        let q = map.entry(key.clone()).or_default();
        self.expire(q, now);
        if q.len() >= self.limit {
            return Err(q.front().map_or(1, |&t| (t + self.window_ms - now).max(1)));
        }
        q.push_back(now);
        Ok(())
    }

    /// Gives back an attempt reserved at `at` (a successful login).
    pub fn release(&self, key: &K, at: i64) {
        let mut map = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(q) = map.get_mut(key) {
            if let Some(i) = q.iter().rposition(|&t| t == at) {
                q.remove(i);
            }
            if q.is_empty() {
                map.remove(key);
            }
        }
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn limits_attempts_per_key_within_the_window() {
        let rl = RateLimiter::new(3, Duration::from_secs(60));
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        for t in [0, 1_000, 2_000] {
            assert_eq!(rl.reserve(&a, t), Ok(()));
        }
        // The fourth try within the minute is refused until the first ages out.
        assert_eq!(rl.reserve(&a, 3_000), Err(57_000));
        assert_eq!(rl.check(&a, 3_000), Some(57_000));
        assert_eq!(rl.reserve(&b, 3_000), Ok(()), "other keys are unaffected");
        assert_eq!(rl.check(&a, 59_999), Some(1));
        assert_eq!(rl.reserve(&a, 60_000), Ok(()));
        assert!(rl.reserve(&a, 60_001).is_err());
    }

    #[test]
    fn a_success_gives_its_reservation_back() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        let a = ip("10.0.0.1");
        assert_eq!(rl.reserve(&a, 0), Ok(()));
        assert_eq!(rl.reserve(&a, 1), Ok(()));
        assert!(rl.reserve(&a, 2).is_err());
        rl.release(&a, 1);
        assert_eq!(rl.reserve(&a, 3), Ok(()));
    }

    #[test]
    fn a_counter_survives_ten_thousand_other_addresses() {
        let rl = RateLimiter::new(10, Duration::from_secs(60));
        let attacker = ip("203.0.113.7");
        for t in 0..10 {
            rl.reserve(&attacker, t).unwrap();
        }
        assert!(rl.reserve(&attacker, 10).is_err());
        // A spray of other addresses within the window fills the table...
        let mut refused = 0;
        for i in 0..(MAX_KEYS as u32 + 10) {
            let other = Some(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
            if rl.reserve(&other, 100).is_err() {
                refused += 1;
            }
        }
        assert!(rl.len() <= MAX_KEYS);
        assert!(refused >= 10, "new keys are refused once the table is full");
        // ...and the attacker is still limited.
        assert!(rl.reserve(&attacker, 200).is_err());
        // Once the window has passed, expired keys make room again.
        assert_eq!(rl.reserve(&ip("192.0.2.1"), 61_000), Ok(()));
        assert_eq!(rl.reserve(&attacker, 61_000), Ok(()));
    }
}
