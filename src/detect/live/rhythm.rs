//! Rhythms: events that recur at the same time of day, week or hour are expected
//! (see the module docs of [`super`]), and so are events like one an admin marked.

use super::LiveDetector;
use crate::detect::ensemble::ExpectedInterval;
use crate::detect::events::similar;
use crate::model::AnomalyEvent;

/// (name, period, tolerance, periods looked back, matches needed).
const RHYTHMS: [(&str, i64, i64, i64, usize); 3] = [
    ("daily", 86_400_000, 900_000, 7, 2),
    ("weekly", 604_800_000, 1_800_000, 2, 2),
    ("hourly", 3_600_000, 120_000, 6, 3),
];
/// The model panel's line once the seasonal member is on.
pub const DAILY_PATTERN_LEARNT: &str = "daily pattern learnt (time-of-day profile)";
const MARKS_KEPT_MS: i64 = 15 * 86_400_000;

impl LiveDetector {
    /// Records an event's start and top metrics for rhythm recognition (the server
    /// also calls it with stored events at start-up).
    pub fn remember(&mut self, e: &AnomalyEvent) {
        let metrics = top_three(e);
        if metrics.is_empty() {
            return;
        }
        let newest = self.marks.back().map_or(e.start, |m| m.0.max(e.start));
        self.marks.push_back((e.start, metrics));
        self.marks.make_contiguous().sort_by_key(|m| m.0);
        while self
            .marks
            .front()
            .is_some_and(|m| newest - m.0 > MARKS_KEPT_MS)
        {
            self.marks.pop_front();
        }
    }

    /// The rhythm an event that starts now recurs on, if any (see the module docs).
    pub(super) fn rhythm_of(&self, e: &AnomalyEvent) -> Option<(String, String)> {
        let metrics = top_three(e);
        if metrics.is_empty() {
            return None;
        }
        for (name, period, tol, back, needed) in RHYTHMS {
            let hits = (1..=back)
                .filter(|k| {
                    let at = e.start - k * period;
                    self.marks
                        .iter()
                        .any(|(t, m)| (t - at).abs() <= tol && similar(&metrics, m))
                })
                .count();
            if hits >= needed {
                let when = crate::alert::render::format_time(e.start);
                let clock = when.get(11..16).unwrap_or("");
                let unit = match name {
                    "daily" => "days",
                    "weekly" => "weeks",
                    _ => "hours",
                };
                let at = if name == "hourly" {
                    format!("at minute {}", clock.get(3..).unwrap_or(""))
                } else {
                    format!("at {clock} UTC")
                };
                return Some((
                    format!(
                        "{name} pattern: {} also rose at this time on {hits} of the {back} {unit} before",
                        metrics[0]
                    ),
                    format!("{name} pattern learnt: {} {at}", metrics[0]),
                ));
            }
        }
        None
    }

    pub(super) fn end_rhythm(&mut self, e: &AnomalyEvent) {
        let Some((_, label)) = self.open_rhythm.take() else {
            return;
        };
        self.rhythmic.push(ExpectedInterval {
            start: e.start,
            end: e.end.unwrap_or(e.peak_at),
            metrics: Vec::new(),
        });
        self.rhythms.retain(|x| *x != label);
        self.rhythms.push(label);
        if self.rhythms.len() > 10 {
            self.rhythms.remove(0);
        }
    }

    pub(super) fn flag_expected(&self, mut e: AnomalyEvent) -> AnomalyEvent {
        let names: Vec<String> = e
            .explanation
            .metrics
            .iter()
            .map(|m| m.metric.clone())
            .collect();
        let model_expected = self
            .scorer
            .model()
            .map(|m| m.expected.as_slice())
            .unwrap_or(&[]);
        e.expected = self
            .expected
            .iter()
            .chain(model_expected)
            .any(|x| similar(&names, &x.metrics));
        if let Some((why, _)) = &self.open_rhythm {
            e.expected = true;
            e.explanation.rhythm = Some(why.clone());
        }
        e
    }

    /// Feedback: the admin marked this event expected. Similar events are flagged
    /// `expected` from now on, and [`Self::expected_intervals`] hands the interval to
    /// the next training, which treats it as normal.
    pub fn mark_expected(&mut self, event: &AnomalyEvent) {
        self.expected.push(ExpectedInterval {
            start: event.start,
            end: event.end.unwrap_or(event.peak_at),
            metrics: event
                .explanation
                .metrics
                .iter()
                .map(|m| m.metric.clone())
                .collect(),
        });
    }

    pub fn expected_intervals(&self) -> Vec<ExpectedInterval> {
        self.expected.clone()
    }
}

/// The names of an event's top three metrics.
pub(super) fn top_three(e: &AnomalyEvent) -> Vec<String> {
    e.explanation
        .metrics
        .iter()
        .take(3)
        .map(|m| m.metric.clone())
        .collect()
}
