//! The dashboard's two controls as plain values: how often live samples are applied
//! (`Refresh`) and which time span the charts show (`Range`). Pure, so the rules (the
//! throttle, snapping the server default, parsing what localStorage holds) are unit tested.

use crate::format::TimeStyle;

/// How often the page applies live samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    Every(u32),
    Paused,
}

impl Refresh {
    /// The choices offered, in menu order.
    pub const CHOICES: [Refresh; 5] = [
        Refresh::Every(1),
        Refresh::Every(5),
        Refresh::Every(10),
        Refresh::Every(30),
        Refresh::Paused,
    ];

    /// The value used in the `<select>` and in localStorage.
    pub fn key(self) -> String {
        match self {
            Refresh::Every(s) => s.to_string(),
            Refresh::Paused => "paused".into(),
        }
    }

    pub fn label(self) -> String {
        match self {
            Refresh::Every(s) => format!("{s} s"),
            Refresh::Paused => "paused".into(),
        }
    }

    /// Parses a key; only the offered choices are accepted, so a stale or edited
    /// localStorage value falls back to the server default.
    pub fn parse(key: &str) -> Option<Refresh> {
        Self::CHOICES.into_iter().find(|c| c.key() == key.trim())
    }

    /// The server's configured default (seconds, 0 = paused), snapped to the nearest
    /// offered choice: the menu cannot show arbitrary values.
    pub fn from_default_secs(secs: u32) -> Refresh {
        if secs == 0 {
            return Refresh::Paused;
        }
        Self::CHOICES
            .into_iter()
            .filter_map(|c| match c {
                Refresh::Every(s) => Some(s),
                Refresh::Paused => None,
            })
            .min_by_key(|s| s.abs_diff(secs))
            .map_or(Refresh::Every(5), Refresh::Every)
    }

    pub fn is_paused(self) -> bool {
        self == Refresh::Paused
    }
}

/// Whether a live sample stamped `ts` is applied, given the last applied one. The server
/// pushes every sample; the page skips those that come sooner than the chosen interval.
/// Half a sampling interval of slack absorbs jitter, so "every 5 s" at 1 s sampling does
/// not drift to every 6 s.
pub fn should_apply(last_applied: Option<i64>, ts: i64, refresh: Refresh, sample_ms: i64) -> bool {
    match (refresh, last_applied) {
        (Refresh::Paused, _) => false,
        (_, None) => true,
        (Refresh::Every(s), Some(last)) => {
            ts > last && ts - last >= i64::from(s) * 1000 - sample_ms / 2
        }
    }
}

/// The span the charts show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// The last 15 minutes, then live samples are appended.
    Live,
    Hour,
    Day,
    Week,
}

/// Points asked from the store per series: about one per two pixels of a wide chart.
pub const POINT_BUDGET: u32 = 300;

impl Range {
    pub const CHOICES: [Range; 4] = [Range::Live, Range::Hour, Range::Day, Range::Week];

    pub fn key(self) -> &'static str {
        match self {
            Range::Live => "live",
            Range::Hour => "1h",
            Range::Day => "24h",
            Range::Week => "7d",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::Live => "live (15 min)",
            Range::Hour => "1 hour",
            Range::Day => "24 hours",
            Range::Week => "7 days",
        }
    }

    pub fn parse(key: &str) -> Option<Range> {
        Self::CHOICES.into_iter().find(|c| c.key() == key.trim())
    }

    pub fn span_ms(self) -> i64 {
        const MIN: i64 = 60_000;
        match self {
            Range::Live => 15 * MIN,
            Range::Hour => 60 * MIN,
            Range::Day => 24 * 60 * MIN,
            Range::Week => 7 * 24 * 60 * MIN,
        }
    }

    /// Live samples are appended to the charts only in the live range.
    pub fn is_live(self) -> bool {
        self == Range::Live
    }

    /// How the x-axis labels read for this span.
    pub fn time_style(self) -> TimeStyle {
        match self {
            Range::Live => TimeStyle::Seconds,
            Range::Hour | Range::Day => TimeStyle::Minutes,
            Range::Week => TimeStyle::DayMinutes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_keys_round_trip() {
        for c in Refresh::CHOICES {
            assert_eq!(Refresh::parse(&c.key()), Some(c));
        }
        assert_eq!(Refresh::parse("7"), None);
        assert_eq!(Refresh::parse(""), None);
    }

    #[test]
    fn server_default_snaps_to_a_choice() {
        assert_eq!(Refresh::from_default_secs(0), Refresh::Paused);
        assert_eq!(Refresh::from_default_secs(1), Refresh::Every(1));
        assert_eq!(Refresh::from_default_secs(2), Refresh::Every(1));
        assert_eq!(Refresh::from_default_secs(5), Refresh::Every(5));
        assert_eq!(Refresh::from_default_secs(20), Refresh::Every(10));
        assert_eq!(Refresh::from_default_secs(3600), Refresh::Every(30));
    }

    #[test]
    fn throttle() {
        let every5 = Refresh::Every(5);
        assert!(should_apply(None, 1_000, every5, 1_000));
        assert!(!should_apply(Some(1_000), 2_000, every5, 1_000));
        assert!(!should_apply(Some(1_000), 5_000, every5, 1_000));
        // 4.6 s later at 1 s sampling: within half a sample of 5 s.
        assert!(should_apply(Some(1_000), 5_600, every5, 1_000));
        assert!(should_apply(Some(1_000), 6_000, every5, 1_000));
        // Every sample at 1 s, even with jitter.
        assert!(should_apply(Some(1_000), 1_900, Refresh::Every(1), 1_000));
        // Never an older or repeated sample.
        assert!(!should_apply(Some(1_000), 1_000, Refresh::Every(1), 1_000));
        assert!(!should_apply(None, 1_000, Refresh::Paused, 1_000));
    }

    #[test]
    fn ranges() {
        for r in Range::CHOICES {
            assert_eq!(Range::parse(r.key()), Some(r));
        }
        assert_eq!(Range::Live.span_ms(), 900_000);
        assert_eq!(Range::Week.span_ms(), 604_800_000);
        assert!(Range::Live.is_live() && !Range::Hour.is_live());
    }
}
