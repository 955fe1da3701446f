//! The alarm score: the surprise where it brings news, at the onset of a change.
//!
//! The combined surprise (-log10 p) says how unusual a sample is. While an incident
//! lasts, every one of its samples is unusual, so a score that stays high for the
//! whole incident ranks its 50th sample as high as its first, and anything that ranks
//! or thresholds the score (NAB's scorer, an alert on the score) counts one alarm per
//! sample. The alarm score keeps the surprise only where it exceeds every surprise of
//! the current *episode* (a new high: the change began, or it got worse) and is 0 on
//! the other samples. An episode ends once the surprise has been ordinary (under 1:
//! a sample that one in ten normal samples matches) for [`EPISODE_QUIET`] samples in a
//! row; after that the next rise is news again. A change that keeps growing (a leak)
//! keeps setting new highs, so it keeps alarming; a change that holds still alarms
//! once, and once it is learnt as the new normal its surprise comes down.
//!
//! The event logic ([`super::events`]) thresholds the surprise itself (an event stays
//! open while the change lasts); this shapes only the reported score. What it shapes
//! is the live detector's choice: outside events the surprise two members vouch for
//! ([`super::ensemble::corroborate`]), inside them the combined surprise.

/// Surprise under which a sample is ordinary (p > 0.1).
pub const ORDINARY: f64 = 1.0;
/// Ordinary samples in a row that end an episode: the same memory as the evaluation's
/// onset filter ([`super::eval::ONSET_GAP`], the order of the event logic's memory:
/// a minute at 5 s, an hour at 5 min), chosen before the shaping was measured.
pub const EPISODE_QUIET: usize = super::eval::ONSET_GAP;

/// Streaming onset shaping of the surprise (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct OnsetShaper {
    /// Highest surprise of the current episode (0: no episode).
    peak: f64,
    quiet: usize,
}

impl OnsetShaper {
    /// The alarm score of a sample of surprise `s`.
    pub fn push(&mut self, s: f64) -> f64 {
        let out = if s > self.peak { s } else { 0.0 };
        self.peak = self.peak.max(s);
        if s < ORDINARY {
            self.quiet += 1;
            if self.quiet >= EPISODE_QUIET {
                self.peak = 0.0;
            }
        } else {
            self.quiet = 0;
        }
        out
    }

    /// Forgets the episode (a change was accepted as the new normal: what follows is
    /// measured against it, so a later rise is news).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_change_alarms_once_a_growing_one_keeps_alarming_and_quiet_rearms() {
        let mut o = OnsetShaper::default();
        let held: Vec<f64> = [0.2, 0.5, 6.0, 5.5, 5.9, 6.0, 4.0]
            .iter()
            .map(|s| o.push(*s))
            .collect();
        assert_eq!(held, vec![0.2, 0.5, 6.0, 0.0, 0.0, 0.0, 0.0]);
        // Worse than the episode's peak: news.
        assert_eq!(o.push(7.5), 7.5);
        // Ordinary for fewer than EPISODE_QUIET samples: same episode.
        for _ in 0..EPISODE_QUIET - 1 {
            o.push(0.1);
        }
        assert_eq!(o.push(5.0), 0.0);
        for _ in 0..EPISODE_QUIET {
            o.push(0.1);
        }
        assert_eq!(o.push(5.0), 5.0, "a new episode");
        // A ramp: every sample a new high.
        let ramp: Vec<f64> = (0..5).map(|i| o.push(6.0 + i as f64)).collect();
        assert!(ramp.iter().all(|s| *s > 0.0), "{ramp:?}");
    }
}
