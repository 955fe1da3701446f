//! Caps on open `/api/stream` connections, in total and per caller, so a flood of
//! streams (or one client opening hundreds) cannot take every file descriptor and
//! every broadcast receiver. Past a cap the request gets 503 with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The caps and the streams open now.
#[derive(Debug)]
pub struct StreamLimits {
    total: usize,
    per_caller: usize,
    open: Mutex<(usize, HashMap<String, usize>)>,
}

/// One open stream: dropping it (the stream ended or the client left) frees its place.
#[derive(Debug)]
pub struct StreamSlot {
    limits: Arc<StreamLimits>,
    key: String,
}

/// Which cap refused a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Total,
    PerCaller,
}

impl StreamLimits {
    pub fn new(total: usize, per_caller: usize) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_caller,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// A place for one more stream of `caller` (`user:NAME`, `token:NAME`, or the
    /// client address when anonymous), or which cap is full.
    pub fn acquire(self: &Arc<Self>, caller: String) -> Result<StreamSlot, Refused> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= self.total {
            return Err(Refused::Total);
        }
        let mine = open.1.get(&caller).copied().unwrap_or(0);
        if mine >= self.per_caller {
            return Err(Refused::PerCaller);
        }
        open.0 += 1;
        open.1.insert(caller.clone(), mine + 1);
        Ok(StreamSlot {
            limits: self.clone(),
            key: caller,
        })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_and_places_come_back() {
        let l = StreamLimits::new(3, 2);
        let a1 = l.acquire("a".into()).unwrap();
        let _a2 = l.acquire("a".into()).unwrap();
        assert_eq!(l.acquire("a".into()).unwrap_err(), Refused::PerCaller);
        let _b1 = l.acquire("b".into()).unwrap();
        assert_eq!(l.acquire("c".into()).unwrap_err(), Refused::Total);
        drop(a1);
        assert_eq!(l.open(), 2);
        let _c1 = l.acquire("c".into()).unwrap();
        assert_eq!(l.acquire("a".into()).unwrap_err(), Refused::Total);
    }
}
