//! Live event logic: thresholds from a sensitivity, N-of-M opening, hysteresis closing,
//! peak tracking with the explanation at the peak, and "expected" matching.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::model::{AnomalyEvent, Explanation, TimestampMs};

/// Sensitivity setting: a level or an explicit threshold on the combined score.
///
/// The combined score is 1 - (Bonferroni-corrected tail probability under the
/// training distribution), so a threshold t means "a sample this unusual happens with
/// probability 1 - t on normal data". Levels: low 0.999, medium 0.995, high 0.98. With
/// the 3-of-5 rule on top, medium expects well under one false event a day at 5 s
/// sampling on stationary data (17,280 samples/day x 0.005 = 86 single exceedances,
/// but three within five samples is rare unless something really changed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    Low,
    #[default]
    Medium,
    High,
    Threshold(f64),
}

impl Sensitivity {
    pub fn threshold(&self) -> f64 {
        match self {
            Sensitivity::Low => 0.999,
            Sensitivity::Medium => 0.995,
            Sensitivity::High => 0.98,
            Sensitivity::Threshold(t) => t.clamp(0.0, 1.0),
        }
    }

    /// "low" | "medium" | "high" | a number in [0, 1].
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Self::Low),
            "medium" | "med" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            other => match other.parse::<f64>() {
                Ok(t) if (0.0..=1.0).contains(&t) => Ok(Self::Threshold(t)),
                _ => Err(format!(
                    "sensitivity must be low, medium, high or a number in [0, 1], got {s:?}"
                )),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventParams {
    /// Open when at least `n` of the last `m` samples are over the threshold.
    pub n: usize,
    pub m: usize,
    /// Close after this many consecutive samples under the lower threshold.
    pub close_after: usize,
    /// Lower threshold: tail probability `close_factor` times the opening one
    /// (medium: open over 0.995, stay open while over 0.98).
    pub close_factor: f64,
}

impl Default for EventParams {
    fn default() -> Self {
        // 3 of 5 at 5 s: an event needs ~15 s of evidence (a single sampling glitch
        // never opens one) and opens within 25 s; 6 quiet samples (30 s) close it.
        Self {
            n: 3,
            m: 5,
            close_after: 6,
            close_factor: 4.0,
        }
    }
}

/// What one step changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transitions {
    pub opened: Option<AnomalyEvent>,
    /// The open event got a new peak.
    pub updated: Option<AnomalyEvent>,
    pub closed: Option<AnomalyEvent>,
}

#[derive(Debug, Clone)]
pub struct EventTracker {
    params: EventParams,
    threshold: f64,
    host: String,
    /// (timestamp, over threshold) of the last m samples.
    recent: VecDeque<(TimestampMs, bool)>,
    /// Best over-threshold sample in the recent window while no event is open.
    pending: Option<(TimestampMs, f64, Explanation)>,
    open: Option<AnomalyEvent>,
    below: usize,
    last_active: TimestampMs,
}

impl EventTracker {
    pub fn new(host: impl Into<String>, threshold: f64, params: EventParams) -> Self {
        let params = EventParams {
            n: params.n.max(1),
            m: params.m.max(params.n.max(1)),
            close_after: params.close_after.max(1),
            close_factor: params.close_factor.max(1.0),
        };
        Self {
            params,
            threshold,
            host: host.into(),
            recent: VecDeque::new(),
            pending: None,
            open: None,
            below: 0,
            last_active: 0,
        }
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }
    pub fn lower_threshold(&self) -> f64 {
        (1.0 - (1.0 - self.threshold) * self.params.close_factor).max(0.0)
    }
    pub fn set_threshold(&mut self, t: f64) {
        self.threshold = t;
    }
    pub fn open_event(&self) -> Option<&AnomalyEvent> {
        self.open.as_ref()
    }

    /// Feeds one score. `explain` is called only for an over-threshold sample that
    /// is a new peak, so explanations cost nothing on normal samples.
    pub fn step(
        &mut self,
        ts: TimestampMs,
        score: f64,
        explain: impl FnOnce() -> Explanation,
    ) -> Transitions {
        let mut out = Transitions::default();
        let over = score > self.threshold;
        if self.recent.len() == self.params.m {
            self.recent.pop_front();
        }
        self.recent.push_back((ts, over));

        if let Some(ev) = self.open.as_mut() {
            if over && score > ev.peak_score {
                ev.peak_score = score;
                ev.peak_at = ts;
                ev.explanation = explain();
                out.updated = Some(ev.clone());
            }
            if score >= self.lower_threshold() {
                self.below = 0;
                self.last_active = ts;
            } else {
                self.below += 1;
                if self.below >= self.params.close_after {
                    let mut ev = self.open.take().expect("open");
                    ev.end = Some(self.last_active);
                    out.closed = Some(ev);
                    self.recent.clear();
                    self.below = 0;
                }
            }
            return out;
        }

        if over && self.pending.as_ref().is_none_or(|p| score > p.1) {
            self.pending = Some((ts, score, explain()));
        }
        let first_over = self.recent.iter().find(|r| r.1).map(|r| r.0);
        match first_over {
            None => self.pending = None,
            Some(start) => {
                // The pending peak may have slid out of the window.
                if self.pending.as_ref().is_some_and(|p| p.0 < start) {
                    self.pending = None;
                }
            }
        }
        let n_over = self.recent.iter().filter(|r| r.1).count();
        if n_over >= self.params.n {
            let (peak_at, peak_score, explanation) =
                self.pending
                    .take()
                    .unwrap_or((ts, score, Explanation::default()));
            let ev = AnomalyEvent {
                id: 0,
                host: self.host.clone(),
                start: first_over.unwrap_or(ts),
                end: None,
                peak_score,
                peak_at,
                explanation,
                expected: false,
            };
            self.open = Some(ev.clone());
            self.below = 0;
            self.last_active = ts;
            out.opened = Some(ev);
        }
        out
    }
}

/// An event is "similar" to an expected one when their top-3 metrics share at least
/// half of their members and each one's top metric is among the other's top 3: the
/// same kind of activity (a nightly backup is disk write + CPU every night), whatever
/// its exact size and whichever of two correlated metrics (bytes vs packets) ranks
/// first this time.
pub fn similar(event_metrics: &[String], expected_metrics: &[String]) -> bool {
    let ea: Vec<&String> = event_metrics.iter().take(3).collect();
    let eb: Vec<&String> = expected_metrics.iter().take(3).collect();
    if ea.is_empty() || eb.is_empty() || !eb.contains(&ea[0]) || !ea.contains(&eb[0]) {
        return false;
    }
    let common = ea.iter().filter(|m| eb.contains(m)).count();
    2 * common >= ea.len().min(eb.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_of_m_opens_and_hysteresis_closes() {
        let mut t = EventTracker::new(
            "h",
            0.9,
            EventParams {
                n: 3,
                m: 5,
                close_after: 2,
                close_factor: 4.0,
            },
        );
        assert!((t.lower_threshold() - 0.6).abs() < 1e-12);
        let scores = [
            0.1, 0.95, 0.2, 0.97, 0.1, 0.1, 0.1, 0.99, 0.95, 0.96, 0.7, 0.65, 0.3, 0.2, 0.1,
        ];
        let mut opened = vec![];
        let mut closed = vec![];
        for (i, s) in scores.iter().enumerate() {
            let tr = t.step(i as i64 * 1000, *s, Explanation::default);
            if let Some(e) = tr.opened {
                opened.push((i, e));
            }
            if let Some(e) = tr.closed {
                closed.push((i, e));
            }
        }
        // Two isolated spikes (1, 3) are only 2 of 5: no event. 7, 8, 9 open one.
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].0, 9);
        assert_eq!(opened[0].1.start, 7000);
        assert_eq!(opened[0].1.peak_at, 7000);
        assert_eq!(closed.len(), 1);
        let ev = &closed[0].1;
        assert_eq!(
            ev.end,
            Some(11_000),
            "0.7 and 0.65 are over the lower threshold"
        );
        assert_eq!(ev.peak_score, 0.99);
    }

    #[test]
    fn sensitivity_parsing() {
        assert_eq!(Sensitivity::parse("HIGH").unwrap(), Sensitivity::High);
        assert_eq!(Sensitivity::parse("0.9").unwrap().threshold(), 0.9);
        assert!(Sensitivity::parse("2").is_err());
        assert!(Sensitivity::Low.threshold() > Sensitivity::High.threshold());
    }

    #[test]
    fn similarity() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(similar(
            &s(&["disk_write", "cpu", "load_1"]),
            &s(&["disk_write", "load_1", "x"])
        ));
        assert!(similar(
            &s(&["cpu", "disk_write"]),
            &s(&["disk_write", "cpu"])
        ));
        assert!(!similar(
            &s(&["cpu", "load_1", "x"]),
            &s(&["disk_write", "net", "cpu"])
        ));
    }
}
