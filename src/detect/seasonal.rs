//! The seasonal member: a time-of-day profile that explains away what the host does
//! at this time every day (a nightly backup, an hourly cron job).
//!
//! **What it keeps.** Per metric, per 5-minute slot of the (UTC) day and per day, the
//! lowest and highest value seen (f32) and the mean (the last 8 days), and today's
//! band of every slot. Where the samples are stored anyway (the server), those days
//! are not kept: the owner reads them from the store's rollups at each new day and
//! hourly ([`ProfileHistory::Loaded`]) and the profile keeps only today's bands (f32,
//! 55 KiB at 24 metrics) instead of 0.53 MiB, and a restart keeps what was learnt.
//! **When it is on.** Once a daily
//! rhythm is detected: for some metric, the autocorrelation of the 5-minute slot means
//! at a lag of one day is at least 0.3 and clearly above the one at 12.5 h (a trend or a
//! slow drift correlates at every lag, a daily rhythm at the day only; 12.5 h is no
//! multiple of an hour, so an hourly job does not correlate there either), computed
//! over at least a full day of pairs, i.e. from the third day of history on; each slot
//! mean is first replaced by the largest over the slots the bands look at, so a short
//! job that drifts by a few slots from day to day still lines up with itself. **What it
//! does.** For the current slot and its neighbours (+-15 min: a job drifts), each
//! earlier day gives a range [lowest, highest]; the band is the second-highest of the
//! days' highs and the second-lowest of their lows (so the state must have been seen on
//! **two** earlier days: a one-off incident yesterday does not make today's repeat
//! normal), widened by 10 % of its width and the metric's unit floor. A sample with
//! every metric inside its band is "seen at this time of day before": the ensemble's
//! surprise is capped under every alarm threshold. A sample with any metric outside
//! (the same backup's spike at 14:00) is left as the other members score it.
//!
//! **Why a profile and not MSTL.** `examples/seasonal-compare` measures both on
//! synthetic hosts at 60 s (noise, a nightly backup, an hourly cron job, a daily
//! cycle; 10 seeds), three days learnt and day 4 judged with the usual jobs plus
//! bursts at unusual hours. Both rank every burst above every usual minute on all
//! seeds; at a fixed rule the profile raised no false alarm and MSTL (augurs-mstl's
//! stlrs, periods 1 h and 1 day, remainder over 6 robust sd) 885 false minutes over
//! the 10 days judged: it fits a smooth seasonal *mean* and a short job leaves much of
//! itself in the remainder, so its threshold would have to be tuned per host. MSTL
//! also needs a refit of tens of ms per metric on three days, where the profile keeps the
//! *range* seen at that time (what "seen before at this hour" means), updates in O(1)
//! per sample and needs no refit. Figures and the command are in docs/detection.md.
//!
//! Plain `std` only, so the comparison crate includes this very file by path.

use super::narrow::{ceil32, floor32};
use std::collections::VecDeque;

pub const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq)]
pub struct SeasonalParams {
    /// Slot length (ms): the profile's time resolution.
    pub slot_ms: i64,
    /// Days of profile kept (the current one included).
    pub days_kept: usize,
    /// Earlier days a state must have been seen on, at this time of day.
    pub min_days: usize,
    /// Slots either side looked at (timing jitter of jobs): 3, i.e. +-15 min at the
    /// 5-minute slot, the tolerance the event logic's daily rhythm uses too. A
    /// nightly job's start and run time vary by more than one slot (NAB's
    /// ec2_cpu_24ae8d peaks between 03:05 and 03:40 every night); with +-5 min it was
    /// seen on two earlier days too rarely to be explained.
    pub neighbours: i64,
    /// Daily autocorrelation needed, and its lead over the 12.5 h lag.
    pub acf_min: f64,
    pub acf_lead: f64,
    /// Band widening, as a share of its width.
    pub margin: f64,
}

impl Default for SeasonalParams {
    fn default() -> Self {
        Self {
            slot_ms: 300_000,
            days_kept: 8,
            min_days: 2,
            neighbours: 3,
            acf_min: 0.3,
            acf_lead: 0.2,
            margin: 0.1,
        }
    }
}

/// One day of the profile: per slot and metric (index slot * n + m) the lowest and
/// highest value as f32, and the mean as its place between them in 65,535ths (issue
/// 13: a hub keeps 8 days of these for every host; 10 bytes a cell instead of 28).
/// The low is rounded down and the high up, so a band is never narrower than the f64
/// values made it (wider by at most one f32 step, 6e-8 of the value); the means only
/// feed the rhythm test, to within 1/131,070 of the slot's range. A cell never seen
/// has lo > hi (+inf, -inf).
#[derive(Debug, Clone)]
struct Day {
    day: i64,
    lo: Vec<f32>,
    hi: Vec<f32>,
    mean_q: Vec<u16>,
}

impl Day {
    /// The mean of cell i (seen: lo <= hi).
    fn mean(&self, i: usize) -> f64 {
        let (lo, hi) = (self.lo[i] as f64, self.hi[i] as f64);
        let span = hi - lo;
        if span > 0.0 && span.is_finite() {
            lo + span * (self.mean_q[i] as f64 / 65_535.0)
        } else {
            lo
        }
    }

    /// Stores `mean` (within the cell's range) for cell i.
    fn set_mean(&mut self, i: usize, mean: f64) {
        let (lo, hi) = (self.lo[i] as f64, self.hi[i] as f64);
        let span = hi - lo;
        self.mean_q[i] = if span > 0.0 && span.is_finite() {
            ((mean - lo) / span * 65_535.0).round().clamp(0.0, 65_535.0) as u16
        } else {
            0
        };
    }
}

/// Where a profile's earlier days live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileHistory {
    /// Learnt from the samples and kept in memory (`lookout detect`, `lookout eval`).
    Kept,
    /// Read by the owner from where the samples are stored (the server: the store's
    /// rollups) and handed over with [`SeasonalProfile::load`] at each new day and
    /// hourly. Between loads the profile holds only today's bands: a hub keeps one
    /// profile per host, and 8 days of cells were 0.53 MiB of each (issue 13).
    Loaded,
}

/// What a [`ProfileHistory::Loaded`] profile asks its owner to read: per `slot_ms`
/// slot of `from..=to` (slots aligned to multiples of `slot_ms` since the epoch, so
/// to the UTC day), every metric's lowest, highest and mean value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRequest {
    pub from: i64,
    pub to: i64,
    pub slot_ms: i64,
}

/// One slot of history as the owner read it (see [`HistoryRequest`]): per metric the
/// lowest, highest and mean value, NaN where the metric had none.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotSummary {
    pub start: i64,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
    pub mean: Vec<f64>,
}

/// The bands of every slot of one day (index slot * n + m); NaN where the state was
/// not seen on enough earlier days at that time. They read only the days before
/// `day`, so they are computed once, at the day's first sample (kept) or at a load.
/// f32 rounded outward (55 KiB at 24 metrics, 110 as f64: a hub holds a day's bands
/// per host): a band may take in a value one f32 step (a 17-millionth) past what it
/// was computed as, far inside the margin it is widened by.
#[derive(Debug, Clone)]
struct DayBands {
    day: i64,
    lo: Vec<f32>,
    hi: Vec<f32>,
}

/// Time-of-day profile of every metric (see the module docs).
#[derive(Debug, Clone)]
pub struct SeasonalProfile {
    params: SeasonalParams,
    n: usize,
    slots: i64,
    floors: Vec<f64>,
    history: ProfileHistory,
    /// Kept: the last `days_kept` days seen. Loaded: empty between loads.
    days: VecDeque<Day>,
    /// Global slot index (day * slots + slot) of the last sample.
    cached_slot: Option<i64>,
    bands: Option<DayBands>,
    /// Per metric: the daily rhythm was detected (kept: tested hourly; loaded: at
    /// each load).
    daily: Vec<bool>,
    /// Per metric autocorrelations at one day and at 12.5 h (for tests and the panel).
    acf: Vec<(f64, f64)>,
    /// Per metric: band widths outside its band at the last judged sample.
    excess: Vec<f64>,
    /// The rhythm test ran at least once.
    tested: bool,
    /// Loaded: the stream time of the last load.
    loaded_at: Option<i64>,
    /// The (day, slot) being learnt, with per metric the f64 sum and count of its
    /// values: the stored mean is their quotient, rounded once.
    cur: Option<(i64, i64)>,
    cur_sum: Vec<f64>,
    cur_count: Vec<u32>,
}

/// The seasonal member's verdict on one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeasonalVerdict {
    /// Every metric is inside its time-of-day band.
    pub explained: bool,
    /// Largest distance outside a band, in band widths (0 inside every band).
    pub excess: f64,
}

/// A loaded profile reloads this often within a day (the rhythm test's pace when kept).
const RELOAD_MS: i64 = 3_600_000;

impl SeasonalProfile {
    /// A profile that learns from the samples and keeps its days ([`ProfileHistory::Kept`]).
    pub fn new(n_metrics: usize, params: SeasonalParams) -> Self {
        let slots = (DAY_MS / params.slot_ms.max(60_000)).max(2);
        Self {
            params,
            n: n_metrics,
            slots,
            floors: vec![0.0; n_metrics],
            history: ProfileHistory::Kept,
            days: VecDeque::new(),
            cached_slot: None,
            bands: None,
            daily: vec![false; n_metrics],
            acf: vec![(0.0, 0.0); n_metrics],
            excess: vec![0.0; n_metrics],
            tested: false,
            loaded_at: None,
            cur: None,
            cur_sum: vec![0.0; n_metrics],
            cur_count: vec![0; n_metrics],
        }
    }

    /// Switches where the earlier days come from; what was learnt or loaded is
    /// dropped (the owner sets this once, before the first sample).
    pub fn set_history(&mut self, history: ProfileHistory) {
        self.history = history;
        self.days = VecDeque::new();
        self.bands = None;
        self.cached_slot = None;
        self.loaded_at = None;
        self.cur = None;
    }

    /// Per-metric smallest band half-width (the baseline's unit floors).
    pub fn set_floors(&mut self, floors: Vec<f64>) {
        if floors.len() == self.n {
            self.floors = floors;
            // The bands are widened by the floors: computed again (kept: at the next
            // sample; loaded: at the next load, due at once).
            self.bands = None;
            self.cached_slot = None;
            self.loaded_at = None;
        }
    }

    /// A daily pattern has been learnt: the rhythm is detected on some metric.
    pub fn learnt(&self) -> bool {
        self.daily.iter().any(|d| *d)
    }

    /// Autocorrelations (one day, 12.5 h) of metric `m`'s slot means.
    pub fn acf(&self, m: usize) -> (f64, f64) {
        self.acf[m]
    }

    fn slot_len(&self) -> i64 {
        self.params.slot_ms.max(60_000)
    }

    fn slot_of(&self, ts: i64) -> (i64, i64) {
        let day = ts.div_euclid(DAY_MS);
        let slot = ts.rem_euclid(DAY_MS) / self.slot_len();
        (day, slot.min(self.slots - 1))
    }

    /// Judges `row` (imputed values, metric order) against the bands of its time of
    /// day, then learns it (kept). None while no daily rhythm is detected.
    pub fn observe(&mut self, ts: i64, row: &[f64]) -> Option<SeasonalVerdict> {
        let (day, slot) = self.slot_of(ts);
        let g = day * self.slots + slot;
        let kept = self.history == ProfileHistory::Kept;
        if self.cached_slot != Some(g) {
            self.cached_slot = Some(g);
            if kept {
                self.refresh(day, slot);
            }
        }
        // Loaded, past midnight and before the next load: the bands of the day
        // before stand in (the same time of day, one day less recent).
        let verdict = if self.learnt() && self.bands.is_some() {
            Some(self.judge(slot, row))
        } else {
            None
        };
        if kept {
            self.learn(day, slot, row);
        }
        verdict
    }

    /// Loaded: what to read for a load at stream time `now`, when one is due (never
    /// loaded, a new day since the last load, or an hour since it). None when kept.
    pub fn load_due(&self, now: i64) -> Option<HistoryRequest> {
        if self.history != ProfileHistory::Loaded {
            return None;
        }
        let due = match self.loaded_at {
            None => true,
            Some(at) => now.div_euclid(DAY_MS) > at.div_euclid(DAY_MS) || now - at >= RELOAD_MS,
        };
        due.then(|| HistoryRequest {
            from: (now.div_euclid(DAY_MS) - self.days_read() + 1) * DAY_MS,
            to: now,
            slot_ms: self.slot_len(),
        })
    }

    /// Days a profile reads: today and the days before it whose bands today uses.
    fn days_read(&self) -> i64 {
        self.params.days_kept.max(2) as i64
    }

    /// Replaces the profile's history with `slots` (as read for [`Self::load_due`]'s
    /// request at `now`), tests the rhythm on it and computes today's bands; a loaded
    /// profile then drops the days again. Slots outside the request are ignored; a
    /// slot given twice is merged (lowest low, highest high, mean of the means).
    pub fn load<'a>(&mut self, now: i64, slots: impl IntoIterator<Item = &'a SlotSummary>) {
        let today = now.div_euclid(DAY_MS);
        let first = today - self.days_read() + 1;
        let cells = self.slots as usize * self.n;
        let mut days: VecDeque<Day> = VecDeque::new();
        for s in slots {
            let (day, slot) = self.slot_of(s.start);
            if day < first || day > today {
                continue;
            }
            if days.back().is_none_or(|d| d.day < day) {
                days.push_back(Day {
                    day,
                    lo: vec![f32::INFINITY; cells],
                    hi: vec![f32::NEG_INFINITY; cells],
                    mean_q: vec![0; cells],
                });
            }
            let Some(d) = days.iter_mut().find(|d| d.day == day) else {
                continue; // out of order: the owner reads in time order
            };
            let base = slot as usize * self.n;
            for m in 0..self.n {
                let at = |v: &[f64]| v.get(m).copied().unwrap_or(f64::NAN);
                let (lo, hi, mean) = (at(&s.lo), at(&s.hi), at(&s.mean));
                if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                    continue;
                }
                let i = base + m;
                let mean = if mean.is_finite() {
                    mean
                } else {
                    (lo + hi) / 2.0
                };
                let mean = if d.lo[i] <= d.hi[i] {
                    (d.mean(i) + mean) / 2.0
                } else {
                    mean
                };
                d.lo[i] = d.lo[i].min(floor32(lo));
                d.hi[i] = d.hi[i].max(ceil32(hi));
                d.set_mean(i, mean.clamp(d.lo[i] as f64, d.hi[i] as f64));
            }
        }
        self.days = days;
        self.test_rhythm();
        self.bands = Some(self.day_bands(today));
        self.cached_slot = None;
        self.cur = None;
        if self.history == ProfileHistory::Loaded {
            self.days = VecDeque::new();
            self.loaded_at = Some(now);
        }
    }

    /// Per-metric excess of the last judged sample (the member's attribution).
    pub fn last_excess(&self) -> &[f64] {
        &self.excess
    }

    fn judge(&mut self, slot: i64, row: &[f64]) -> SeasonalVerdict {
        let mut explained = true;
        let mut excess: f64 = 0.0;
        self.excess.iter_mut().for_each(|e| *e = 0.0);
        let Some(bands) = &self.bands else {
            return SeasonalVerdict {
                explained: false,
                excess,
            };
        };
        let base = slot as usize * self.n;
        for (m, &x) in row.iter().enumerate().take(self.n) {
            let (lo, hi) = (f64::from(bands.lo[base + m]), f64::from(bands.hi[base + m]));
            if lo.is_nan() || hi.is_nan() {
                // Not seen on enough days at this time: nothing to explain it with.
                explained = false;
                continue;
            }
            if !x.is_finite() {
                continue;
            }
            let out = (x - hi).max(lo - x);
            if out > 0.0 {
                explained = false;
                // A band of one value (a metric that sat at exactly one value at this
                // time on the earlier days, no unit floor): its width is taken as a
                // millionth of the level, so a move scores very high, not infinite.
                let width = (hi - lo).max(1e-6 * hi.abs().max(lo.abs())).max(1e-12);
                self.excess[m] = out / width;
                excess = excess.max(out / width);
            }
        }
        SeasonalVerdict { explained, excess }
    }

    fn learn(&mut self, day: i64, slot: i64, row: &[f64]) {
        if self.days.back().is_none_or(|d| d.day < day) {
            let cells = self.slots as usize * self.n;
            self.days.push_back(Day {
                day,
                lo: vec![f32::INFINITY; cells],
                hi: vec![f32::NEG_INFINITY; cells],
                mean_q: vec![0; cells],
            });
            while self.days.len() > self.params.days_kept.max(2) {
                self.days.pop_front();
            }
        }
        let Some(d) = self.days.back_mut() else {
            return;
        };
        if d.day != day {
            return; // a row from an earlier day (the stream is ordered; never learnt)
        }
        let base = slot as usize * self.n;
        if self.cur != Some((day, slot)) {
            self.cur = Some((day, slot));
            // A slot learnt before (rows out of order, which the detector does not
            // pass) goes on from its stored mean counted once.
            for m in 0..self.n {
                let i = base + m;
                let seen = d.lo[i] <= d.hi[i];
                self.cur_sum[m] = if seen { d.mean(i) } else { 0.0 };
                self.cur_count[m] = seen as u32;
            }
        }
        for (m, &x) in row.iter().enumerate().take(self.n) {
            if x.is_finite() {
                let i = base + m;
                d.lo[i] = d.lo[i].min(floor32(x));
                d.hi[i] = d.hi[i].max(ceil32(x));
                self.cur_sum[m] += x;
                self.cur_count[m] += 1;
                d.set_mean(i, self.cur_sum[m] / self.cur_count[m] as f64);
            }
        }
    }

    /// Kept, at each new slot: the rhythm test hourly, and the bands at a new day.
    fn refresh(&mut self, day: i64, slot: i64) {
        // The rhythm test reads every kept day: once an hour is enough (it changes by
        // days), and keeps the amortised cost per sample small.
        let hourly = (RELOAD_MS / self.slot_len()).max(1);
        if slot % hourly == 0 || !self.tested {
            self.test_rhythm();
        }
        if self.bands.as_ref().is_none_or(|b| b.day != day) {
            self.bands = Some(self.day_bands(day));
        }
    }

    /// The rhythm test of every metric on the days held now.
    fn test_rhythm(&mut self) {
        self.tested = true;
        for m in 0..self.n {
            self.acf[m] = self.autocorrelations(m);
            let (a_day, a_half) = self.acf[m];
            self.daily[m] = a_day >= self.params.acf_min && a_day - a_half >= self.params.acf_lead;
        }
    }

    /// The bands of every slot of `day` from the `days_kept - 1` most recent days held
    /// before it (see the module docs).
    fn day_bands(&self, day: i64) -> DayBands {
        let n = self.n;
        let cells = self.slots as usize * n;
        let mut out = DayBands {
            day,
            lo: vec![f32::NAN; cells],
            hi: vec![f32::NAN; cells],
        };
        let earlier: Vec<&Day> = self
            .days
            .iter()
            .rev()
            .filter(|d| d.day < day)
            .take(self.params.days_kept.max(2) - 1)
            .collect();
        // Neighbouring slots across midnight belong to the adjacent day, when that day
        // is one of those read.
        let find = |dd: i64| earlier.iter().find(|x| x.day == dd);
        let k = self.params.min_days.max(1);
        let nb = self.params.neighbours;
        let mut highs = Vec::with_capacity(earlier.len());
        let mut lows = Vec::with_capacity(earlier.len());
        for slot in 0..self.slots {
            for m in 0..n {
                highs.clear();
                lows.clear();
                for d in &earlier {
                    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
                    for ds in -nb..=nb {
                        let gs = slot + ds;
                        let (dd, s) =
                            (d.day + gs.div_euclid(self.slots), gs.rem_euclid(self.slots));
                        let Some(cell) = find(dd) else {
                            continue;
                        };
                        let i = s as usize * n + m;
                        if cell.lo[i] <= cell.hi[i] {
                            lo = lo.min(cell.lo[i] as f64);
                            hi = hi.max(cell.hi[i] as f64);
                        }
                    }
                    if hi >= lo {
                        highs.push(hi);
                        lows.push(lo);
                    }
                }
                if highs.len() < k {
                    continue;
                }
                highs.sort_by(|a, b| b.total_cmp(a));
                lows.sort_by(f64::total_cmp);
                let (lo, hi) = (lows[k - 1], highs[k - 1]);
                // When the days' ranges do not overlap (one value a day at 5-minute
                // sampling: 3 one day, 5 the next), the k-th highest high is under the
                // k-th lowest low: no value was seen on k days. The band is then the
                // gap between the closest days (a value between what two earlier days
                // had at this time is no news); left inverted, every value was outside
                // it by a width of 0, and an ordinary sample scored an infinite surprise.
                let (lo, hi) = (lo.min(hi), lo.max(hi));
                let widen = self.params.margin * (hi - lo).max(0.0) + self.floors[m];
                let i = slot as usize * n + m;
                out.lo[i] = floor32(lo - widen);
                out.hi[i] = ceil32(hi + widen);
            }
        }
        out
    }

    /// Autocorrelation of metric `m`'s slot means at one day and at 12.5 h; (0, 0)
    /// with less than one full day of pairs at the daily lag.
    fn autocorrelations(&self, m: usize) -> (f64, f64) {
        let Some(first) = self.days.front().map(|d| d.day) else {
            return (0.0, 0.0);
        };
        let last = self.days.back().map_or(first, |d| d.day);
        let len = ((last - first + 1) * self.slots) as usize;
        let mut series = vec![f64::NAN; len];
        for d in &self.days {
            for s in 0..self.slots as usize {
                let i = s * self.n + m;
                if d.lo[i] <= d.hi[i] {
                    series[(d.day - first) as usize * self.slots as usize + s] = d.mean(i);
                }
            }
        }
        // Each slot mean is replaced by the largest over its neighbourhood (the slots
        // the bands look at): a job that starts a few slots earlier or later each day
        // then still lines up with itself one day on, where the plain means of a
        // short job that drifts by 15 minutes never meet.
        let nb = self.params.neighbours.max(0) as usize;
        if nb > 0 {
            let raw = series.clone();
            for (i, out) in series.iter_mut().enumerate() {
                let lo = i.saturating_sub(nb);
                let hi = (i + nb + 1).min(raw.len());
                *out = raw[lo..hi]
                    .iter()
                    .copied()
                    .filter(|v| v.is_finite())
                    .fold(f64::NAN, f64::max);
            }
        }
        let present: Vec<f64> = series.iter().copied().filter(|v| v.is_finite()).collect();
        if present.len() < 3 {
            return (0.0, 0.0);
        }
        let mean = present.iter().sum::<f64>() / present.len() as f64;
        let var = present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / present.len() as f64;
        if var <= 0.0 || !var.is_finite() {
            return (0.0, 0.0);
        }
        let at = |lag: usize| -> Option<f64> {
            let (mut acc, mut pairs) = (0.0, 0usize);
            for i in 0..series.len().saturating_sub(lag) {
                let (a, b) = (series[i], series[i + lag]);
                if a.is_finite() && b.is_finite() {
                    acc += (a - mean) * (b - mean);
                    pairs += 1;
                }
            }
            // A full day of pairs at least (the third day of history at the daily lag).
            (pairs >= self.slots as usize).then(|| acc / pairs as f64 / var)
        };
        let day_lag = self.slots as usize;
        let half_lag = (day_lag * 25).div_ceil(48);
        match at(day_lag) {
            Some(a) => (a, at(half_lag).unwrap_or(0.0)),
            None => (0.0, 0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise in [-1, 1).
    fn noise(i: i64, m: i64) -> f64 {
        let mut x = (i as u64).wrapping_mul(6364136223846793005) ^ ((m as u64 + 1) * 0x9E37);
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51afd7ed558ccd);
        x ^= x >> 33;
        (x % 2_000_000) as f64 / 1_000_000.0 - 1.0
    }

    /// One metric at 60 s: noise around 10, a backup to 90 from 02:00 to 02:20 UTC.
    fn backup_host(minute: i64) -> f64 {
        let tod = minute.rem_euclid(1440);
        let base = 10.0 + noise(minute, 0);
        if (120..140).contains(&tod) {
            base + 80.0
        } else {
            base
        }
    }

    #[test]
    fn rhythm_is_detected_from_the_third_day_and_explains_the_backup() {
        let mut p = SeasonalProfile::new(1, SeasonalParams::default());
        let mut first_learnt = None;
        for minute in 0..4 * 1440 {
            let v = p.observe(minute * 60_000, &[backup_host(minute)]);
            if v.is_some() && first_learnt.is_none() {
                first_learnt = Some(minute);
            }
        }
        let day = first_learnt.expect("learnt") / 1440;
        assert_eq!(day, 2, "two days of overlap are needed");
        let (a_day, a_half) = p.acf(0);
        assert!(a_day > 0.8 && a_half < 0.2, "{a_day} {a_half}");
        // Day 5: the backup is explained, the same level at 14:00 is not.
        let t = 4 * 1440 + 130;
        assert!(p.observe(t * 60_000, &[90.0]).unwrap().explained);
        let t = 4 * 1440 + 840;
        let v = p.observe(t * 60_000, &[90.0]).unwrap();
        assert!(!v.explained && v.excess > 1.0, "{v:?}");
    }

    #[test]
    fn noise_and_trends_are_no_rhythm() {
        let mut p = SeasonalProfile::new(2, SeasonalParams::default());
        for minute in 0..5 * 1440 {
            // Noise, and a slow ramp.
            let row = [
                noise(minute, 1) * 5.0,
                minute as f64 * 0.01 + noise(minute, 2),
            ];
            assert!(
                p.observe(minute * 60_000, &row).is_none(),
                "minute {minute}"
            );
        }
        assert!(!p.learnt());
    }

    #[test]
    fn one_sample_a_slot_on_days_that_do_not_overlap_scores_finite() {
        // 5-minute samples (one per slot): a daily wave, 1.0 higher on the second
        // day, so on the third day (two earlier days, the first with a band) the
        // earlier days' ranges at each time of day do not overlap. That was an
        // inverted band of width 0: every sample outside it, by an infinite excess.
        let mut p = SeasonalProfile::new(1, SeasonalParams::default());
        let (mut judged, mut worst) = (0, 0.0f64);
        for k in 0..3 * 288 {
            let (day, tod) = (k / 288, (k % 288) as f64 / 288.0);
            // The third day sits between the two levels of the days before.
            let shift = [0.0, 1.0, 0.5][day as usize];
            let x = 10.0 + 5.0 * (std::f64::consts::TAU * tod).sin() + shift;
            if let Some(v) = p.observe(k * 300_000, &[x]) {
                judged += 1;
                worst = worst.max(v.excess);
            }
        }
        assert!(
            judged > 200,
            "the wave is a daily rhythm by the third day: {judged}"
        );
        // Inside the gap between the earlier days but at midnight, where a neighbour
        // slot belongs to the day before: a few band widths at most (it was 83,333).
        assert!(worst < 5.0, "excess {worst}");
    }

    #[test]
    fn a_one_off_incident_is_not_learnt_as_the_time_of_day_normal() {
        let mut p = SeasonalProfile::new(1, SeasonalParams::default());
        for minute in 0..4 * 1440 {
            let mut v = backup_host(minute);
            // Day 3, 14:00: a one-off spike.
            if minute == 3 * 1440 + 840 {
                v = 90.0;
            }
            p.observe(minute * 60_000, &[v]);
        }
        let v = p.observe((4 * 1440 + 840) * 60_000, &[90.0]).unwrap();
        assert!(!v.explained);
    }

    /// The f32 cells round lows down and highs up: a value seen on earlier days is
    /// inside its band even where f32 cannot hold it (2^24 + 1 rounds to 2^24 to
    /// nearest, which would put the very value seen every day outside a band of width 0).
    #[test]
    fn f32_cells_keep_every_value_seen_inside_its_band() {
        // The rounding itself is tested in `narrow`; here, the profile uses it.
        let odd = 16_777_217.0;
        let mut p = SeasonalProfile::new(2, SeasonalParams::default());
        for minute in 0..4 * 1440 {
            p.observe(minute * 60_000, &[backup_host(minute), odd]);
        }
        let v = p.observe((4 * 1440 + 130) * 60_000, &[90.0, odd]).unwrap();
        assert!(v.explained, "{v:?}");
        // Past the cells' step and the band's own outward step (both f32), a value is
        // outside: cells [2^24, 2^24 + 2], band widened to 2^24 + 2.2, stored as 2^24 + 4.
        let v = p
            .observe((4 * 1440 + 131) * 60_000, &[90.0, odd + 4.0])
            .unwrap();
        assert!(!v.explained, "{v:?}");
    }

    /// Per 5-minute slot of `rows` (ts, values) before `until`: lowest, highest, mean,
    /// as the store's rollups give them.
    fn summaries(rows: &[(i64, Vec<f64>)], until: i64) -> Vec<SlotSummary> {
        let mut out: Vec<SlotSummary> = Vec::new();
        let mut counts: Vec<f64> = Vec::new();
        for (t, r) in rows.iter().filter(|(t, _)| *t < until) {
            let start = t - t.rem_euclid(300_000);
            if out.last().is_none_or(|s| s.start != start) {
                out.push(SlotSummary {
                    start,
                    lo: r.clone(),
                    hi: r.clone(),
                    mean: vec![0.0; r.len()],
                });
                counts.push(0.0);
            }
            let (s, c) = (out.last_mut().unwrap(), counts.last_mut().unwrap());
            *c += 1.0;
            for (m, &x) in r.iter().enumerate() {
                s.lo[m] = s.lo[m].min(x);
                s.hi[m] = s.hi[m].max(x);
                s.mean[m] += x; // the sum until the division below
            }
        }
        for (s, c) in out.iter_mut().zip(counts) {
            s.mean.iter_mut().for_each(|v| *v /= c);
        }
        out
    }

    /// The server's profile reads its days from the store (loaded at each new day and
    /// hourly) and keeps only today's bands; fed the same history it judges every
    /// sample exactly as the profile that keeps its days, and holds no day between
    /// loads.
    #[test]
    fn a_loaded_profile_judges_as_the_kept_one_and_holds_only_its_bands() {
        let rows: Vec<(i64, Vec<f64>)> = (0..5 * 1440)
            .map(|minute| {
                let t = minute * 60_000;
                (t, vec![backup_host(minute), 3.0 + noise(minute, 7)])
            })
            .collect();
        let mut kept = SeasonalProfile::new(2, SeasonalParams::default());
        let mut loaded = SeasonalProfile::new(2, SeasonalParams::default());
        loaded.set_history(ProfileHistory::Loaded);
        assert!(kept.load_due(0).is_none());
        let (mut loads, mut judged) = (0, 0);
        for (t, r) in &rows {
            if let Some(req) = loaded.load_due(*t) {
                assert_eq!(req.slot_ms, 300_000);
                assert_eq!(req.to, *t);
                assert_eq!(req.from, (t / DAY_MS - 7) * DAY_MS);
                let history = summaries(&rows, *t);
                loaded.load(req.to, history.iter().filter(|s| s.start >= req.from));
                loads += 1;
                assert!(loaded.days.is_empty(), "a loaded profile drops its days");
            }
            let (a, b) = (kept.observe(*t, r), loaded.observe(*t, r));
            assert_eq!(a, b, "minute {}", t / 60_000);
            judged += a.is_some() as usize;
        }
        assert_eq!(loads, 5 * 24, "one load an hour, the new day's among them");
        assert!(
            judged > 2 * 1440,
            "the rhythm is learnt by the third day: {judged}"
        );
        assert!(loaded.learnt());
        // Between loads a loaded profile holds today's bands and nothing per day.
        let bands = loaded.bands.as_ref().unwrap();
        assert_eq!(bands.lo.len(), 288 * 2);
        assert!(kept.days.len() == 5 && loaded.days.is_empty());
    }

    /// Past midnight and before the next load, the day before's bands stand in.
    #[test]
    fn a_loaded_profile_past_midnight_judges_with_the_day_befores_bands_until_reloaded() {
        let rows: Vec<(i64, Vec<f64>)> = (0..4 * 1440)
            .map(|minute| (minute * 60_000, vec![backup_host(minute)]))
            .collect();
        let mut p = SeasonalProfile::new(1, SeasonalParams::default());
        p.set_history(ProfileHistory::Loaded);
        let end = 4 * DAY_MS - 60_000;
        p.load(end, summaries(&rows, end).iter());
        assert!(p.learnt());
        // Day 5, 02:10, not reloaded yet: the backup is explained, 14:00's is not.
        let t = 4 * DAY_MS + 130 * 60_000;
        assert!(p.load_due(t).is_some(), "a new day wants a load");
        assert!(p.observe(t, &[90.0]).unwrap().explained);
        assert!(!p.observe(t + 720 * 60_000, &[90.0]).unwrap().explained);
    }
}
