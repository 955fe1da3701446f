//! Live event logic: thresholds from a sensitivity, N-of-M opening, hysteresis closing,
//! peak tracking with the explanation at the peak, and "expected" matching.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::model::{AnomalyEvent, Explanation, TimestampMs};

/// Sensitivity setting: a level or an explicit threshold on the combined score.
///
/// The combined score is a surprise, -log10 of the Bonferroni-corrected tail
/// probability under the training distribution, so a threshold t means "a sample
/// this unusual happens once in 10^t samples on normal data". Levels: low 4, medium
/// 3, high 2. With the 3-of-5 rule on top, medium needs three samples within five
/// that are each a one-in-a-thousand on their own: at 1 s sampling 86 single
/// exceedances a day on stationary data, but three within five seconds is rare
/// unless something really changed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    Low,
    #[default]
    Medium,
    High,
    /// A surprise threshold (see [`Sensitivity::parse`] for the accepted forms).
    Threshold(f64),
}

impl Sensitivity {
    pub fn threshold(&self) -> f64 {
        match self {
            Sensitivity::Low => 4.0,
            Sensitivity::Medium => 3.0,
            Sensitivity::High => 2.0,
            Sensitivity::Threshold(t) => t.max(0.0),
        }
    }

    /// "low" | "medium" | "high" | a surprise threshold >= 1 | a number in [0, 1)
    /// in the older "1 - p" form (0.999 is surprise 3).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Self::Low),
            "medium" | "med" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            other => match other.parse::<f64>() {
                Ok(t) if (0.0..=MAX_THRESHOLD).contains(&t) && t != 1.0 => Ok(Self::Threshold(
                    super::ensemble::surprise_from_setting(t),
                )),
                _ => Err(format!(
                    "sensitivity must be low, medium, high, a surprise threshold from 1 to {MAX_THRESHOLD} \
                     (-log10 of the false-alarm probability per sample, e.g. 3), or a number in [0, 1) \
                     such as 0.999; got {s:?}"
                )),
            },
        }
    }

    /// The name for settings and the API: "low", "medium", "high" or the threshold.
    pub fn name(&self) -> String {
        match self {
            Sensitivity::Low => "low".into(),
            Sensitivity::Medium => "medium".into(),
            Sensitivity::High => "high".into(),
            Sensitivity::Threshold(t) => format!("{t}"),
        }
    }
}

/// Largest explicit threshold (a probability of 1e-300 per sample).
pub const MAX_THRESHOLD: f64 = 300.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventParams {
    /// Open when at least `n` of the last `m` samples are over the threshold.
    pub n: usize,
    pub m: usize,
    /// Close after this many consecutive quiet samples: under the lower threshold,
    /// or with the event's top metrics back inside their normal band (or within a
    /// tenth of their distance from it at the peak: `live::RECOVERED_SHARE`).
    pub close_after: usize,
    /// Lower threshold: tail probability `close_factor` times the opening one
    /// (medium: open over surprise 3, stay open while over 3 - log10 4 = 2.4).
    pub close_factor: f64,
}

impl Default for EventParams {
    fn default() -> Self {
        // 3 of 5: an event needs three samples of evidence (a single sampling glitch
        // never opens one) and opens within five; 6 quiet samples close it (6 s at
        // 1 s sampling, 30 s at 5 s).
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
    /// False after an event closed while the score was still over the lower
    /// threshold (its metrics were back in band first): a new event needs the score
    /// to come down once, so one incident does not open a string of events.
    armed: bool,
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
            armed: true,
        }
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }
    pub fn lower_threshold(&self) -> f64 {
        (self.threshold - self.params.close_factor.log10()).max(0.0)
    }
    pub fn set_threshold(&mut self, t: f64) {
        self.threshold = t;
    }
    pub fn open_event(&self) -> Option<&AnomalyEvent> {
        self.open.as_ref()
    }

    /// Feeds one score. `explain` is called only for an over-threshold sample that
    /// is a new peak, so explanations cost nothing on normal samples. `in_band`: the
    /// open event's top metrics are back inside their normal band (asked only while
    /// an event is open).
    pub fn step(
        &mut self,
        ts: TimestampMs,
        score: f64,
        in_band: impl FnOnce(&AnomalyEvent) -> bool,
        explain: impl FnOnce() -> Explanation,
    ) -> Transitions {
        let mut out = Transitions::default();
        let lower = self.lower_threshold();
        if score < lower {
            self.armed = true;
        }
        let over = score > self.threshold && self.armed;
        if self.recent.len() == self.params.m {
            self.recent.pop_front();
        }
        self.recent.push_back((ts, over));

        if let Some(ev) = self.open.as_mut() {
            if score > self.threshold && score > ev.peak_score {
                ev.peak_score = score;
                ev.peak_at = ts;
                ev.explanation = explain();
                out.updated = Some(ev.clone());
            }
            let quiet = score < lower || in_band(ev);
            if !quiet {
                self.below = 0;
                self.last_active = ts;
            } else {
                self.below += 1;
                if self.below >= self.params.close_after {
                    out.closed = self.close();
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

impl EventTracker {
    /// Closes the open event now (its end is the last active sample), e.g. when the
    /// change was accepted as the new normal.
    pub fn close(&mut self) -> Option<AnomalyEvent> {
        let mut ev = self.open.take()?;
        ev.end = Some(self.last_active);
        self.recent.clear();
        self.below = 0;
        self.armed = false;
        Some(ev)
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
            3.0,
            EventParams {
                n: 3,
                m: 5,
                close_after: 2,
                close_factor: 10.0,
            },
        );
        assert!((t.lower_threshold() - 2.0).abs() < 1e-12);
        let scores = [
            0.5, 3.5, 1.0, 3.6, 0.5, 0.5, 0.5, 4.0, 3.5, 3.6, 2.5, 2.2, 1.0, 0.5, 0.1,
        ];
        let mut opened = vec![];
        let mut closed = vec![];
        for (i, s) in scores.iter().enumerate() {
            let tr = t.step(i as i64 * 1000, *s, |_| false, Explanation::default);
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
            "2.5 and 2.2 are over the lower threshold"
        );
        assert_eq!(ev.peak_score, 4.0);
    }

    #[test]
    fn back_in_band_closes_and_the_score_must_come_down_before_the_next_event() {
        let params = EventParams {
            n: 3,
            m: 5,
            close_after: 2,
            close_factor: 10.0,
        };
        let mut t = EventTracker::new("h", 3.0, params);
        // A spike whose metrics return to band at row 5 while lagging features keep
        // the score over the threshold until row 12.
        let mut events = vec![];
        for i in 0..20i64 {
            let score = if i < 12 { 5.0 } else { 0.5 };
            let in_band = i >= 5;
            let tr = t.step(i * 1000, score, |_| in_band, Explanation::default);
            if let Some(e) = tr.opened {
                events.push(("open", i, e.start));
            }
            if let Some(e) = tr.closed {
                events.push(("close", i, e.end.unwrap()));
            }
        }
        assert_eq!(
            events,
            vec![("open", 2, 0), ("close", 6, 4000)],
            "closed 2 samples after the metrics came back; no second event from the lagging score"
        );
        // Once the score came down, a new excursion opens a new event.
        let mut reopened = false;
        for i in 20..25i64 {
            reopened |= t
                .step(i * 1000, 5.0, |_| false, Explanation::default)
                .opened
                .is_some();
        }
        assert!(reopened);
    }

    #[test]
    fn sensitivity_parsing() {
        assert_eq!(Sensitivity::parse("HIGH").unwrap(), Sensitivity::High);
        assert!((Sensitivity::parse("0.999").unwrap().threshold() - 3.0).abs() < 1e-9);
        assert_eq!(Sensitivity::parse("5").unwrap().threshold(), 5.0);
        assert!(Sensitivity::parse("1").is_err());
        assert!(Sensitivity::parse("-1").is_err());
        assert!(Sensitivity::parse("400").is_err());
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
