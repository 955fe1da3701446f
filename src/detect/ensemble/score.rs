//! The streaming scorer: one sample at a time through every member.

use super::*;

/// The scores of one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct StepScores {
    /// Surprise, -log10 of the combined p-value.
    pub combined: f64,
    /// Member surprises.
    pub members: Vec<MemberScore>,
    /// Surprise that at least two members vouch for, this sample or the one before
    /// ([`corroborate_lagged`]).
    pub corroborated: f64,
}

/// Online calibration of the baseline before a model exists (cold start): the
/// calibrator is refitted on the baseline's own recent scores.
#[derive(Debug, Clone)]
struct OnlineCalibration {
    /// Recent raw scores as f32 (issue 13: the seasonal member's holds a day of them
    /// for every host of a hub), saturated at f32::MAX: a seasonal excess can reach
    /// 1e300 band widths, which must not become infinite.
    history: VecDeque<f32>,
    cap: usize,
    cal: Option<Calibrator>,
    since: usize,
    /// Refit every this share of the history (0: every 12 samples, the cold start's
    /// pace); bounds the sorting cost of a long-lived calibration.
    every_share: f64,
}

impl OnlineCalibration {
    /// Frees the history once a trained calibrator replaces this one (the fitted
    /// calibrator stays as the fallback); a later model without one refits from the
    /// scores after it.
    fn release_history(&mut self) {
        self.history = VecDeque::new();
        self.since = 0;
    }

    fn new(cap: usize, every_share: f64) -> Self {
        Self {
            history: VecDeque::new(),
            cap,
            cal: None,
            since: 0,
            every_share,
        }
    }

    fn push(&mut self, s: f64) {
        if self.history.len() == self.cap {
            self.history.pop_front();
        }
        let len = self.history.len();
        if len == self.history.capacity() {
            // Grow by doubling but never past the cap: plain doubling took a full
            // history of 17,280 scores to a capacity of 32,768 (issue 13: 256 KiB a
            // host where 135 KiB were used, as f64).
            self.history
                .reserve_exact(len.max(16).min(self.cap.saturating_sub(len).max(1)));
        }
        self.history
            .push_back((s as f32).clamp(-f32::MAX, f32::MAX));
        self.since += 1;
        // Refit at every sample while the history is short (cheap, and the cold
        // start needs it), then once a minute at 5 s sampling.
        if self.history.len() < 60 {
            // 60 scores (5 more minutes at 5 s) before the baseline's tail is trusted.
            return;
        }
        let every = (self.every_share * self.history.len() as f64).max(12.0) as usize;
        if self.history.len() <= 200 || self.since >= every {
            let v: Vec<f64> = self.history.iter().map(|&x| f64::from(x)).collect();
            self.cal = Calibrator::fit(&v);
            self.since = 0;
        }
    }
}

/// Streaming scorer: feature state, rolling baseline and the installed model.
#[derive(Debug, Clone)]
pub struct EnsembleScorer {
    members: Members,
    feats: FeatureState,
    baseline: RollingBaseline,
    online: OnlineCalibration,
    model: Option<Arc<TrainedModel>>,
    imputed: Vec<f64>,
    fraw: Vec<f64>,
    z: Vec<f64>,
    base_z: Vec<f64>,
    t_buf: Vec<f64>,
    /// Training medians, to impute metrics never observed yet.
    fallback: Option<Vec<f64>>,
    last: Option<StepScores>,
    /// The time-of-day profile; learns every sample, events or not (it needs two
    /// earlier days alike before it explains anything, so an incident is not learnt).
    seasonal: SeasonalProfile,
    /// The seasonal member's excess (band widths outside the time-of-day bands) against
    /// its own history since the rhythm was detected.
    seasonal_cal: OnlineCalibration,
}

/// Kinds of ensemble member: baseline, forest, PCA, seasonal.
const MEMBER_KINDS: usize = 4;

/// The surprise of a sample the seasonal member explains: under every alarm threshold
/// and under the onset shaper's "ordinary" (1).
pub const SEASONAL_EXPLAINED_MAX: f64 = 0.5;

impl EnsembleScorer {
    pub fn new(n_metrics: usize, members: Members, baseline: BaselineParams) -> Self {
        let nf = n_metrics * features::KINDS.len();
        Self {
            members,
            feats: FeatureState::new(n_metrics),
            baseline: RollingBaseline::new(n_metrics, baseline),
            online: OnlineCalibration::new(17_280, 0.0),
            seasonal_cal: OnlineCalibration::new(17_280, 0.05),
            model: None,
            imputed: vec![0.0; n_metrics],
            fraw: vec![0.0; nf],
            z: vec![0.0; nf],
            base_z: vec![0.0; n_metrics],
            t_buf: Vec::new(),
            fallback: None,
            last: None,
            seasonal: SeasonalProfile::new(n_metrics, SeasonalParams::default()),
        }
    }

    /// A daily pattern is learnt and the seasonal member is on.
    pub fn daily_pattern(&self) -> bool {
        self.members.seasonal && self.seasonal.learnt()
    }

    /// The seasonal member's time-of-day profile.
    pub fn seasonal(&self) -> &SeasonalProfile {
        &self.seasonal
    }

    /// The profile, to set where its history comes from and to load it.
    pub fn seasonal_mut(&mut self) -> &mut SeasonalProfile {
        &mut self.seasonal
    }

    /// Per-metric smallest scale for the rolling baseline (`features::unit_floor`).
    pub fn set_floors(&mut self, floors: Vec<f64>) {
        self.seasonal.set_floors(floors.clone());
        self.baseline.set_floors(floors);
    }

    pub fn n_metrics(&self) -> usize {
        self.imputed.len()
    }
    pub fn model(&self) -> Option<&Arc<TrainedModel>> {
        self.model.as_ref()
    }
    pub fn baseline_ready(&self) -> bool {
        self.baseline.ready()
    }
    pub fn set_members(&mut self, m: Members) {
        self.members = m;
    }
    pub fn members(&self) -> Members {
        self.members
    }

    /// Hot swap; the feature state and rolling baseline carry on.
    pub fn install_model(&mut self, model: Arc<TrainedModel>) -> Result<(), DetectError> {
        model.validate()?;
        if model.metrics.len() != self.n_metrics() {
            return Err(DetectError::Shape {
                expected: self.n_metrics(),
                got: model.metrics.len(),
            });
        }
        self.t_buf = vec![0.0; model.pca.as_ref().map_or(0, |p| p.k)];
        self.fallback = Some(model.bands.iter().map(|b| b.median).collect());
        self.baseline
            .set_surprise(&model.calibration.baseline_surprise);
        self.baseline.set_tail(&model.calibration.baseline_tail);
        if model.calibration.baseline.is_some() {
            // The trained calibrator scores the baseline from now on (`step` stops
            // feeding the online one): up to a day of scores need not be held.
            self.online.release_history();
        }
        self.model = Some(model);
        Ok(())
    }

    /// Scores one raw row (NaN = missing) at stream time `ts`. None until some member
    /// can score. `learn`: the row joins the rolling baseline's window (false while an
    /// event is open and not accepted as the new normal: see [`RollingBaseline::observe`]).
    pub fn step(&mut self, ts: TimestampMs, raw: &[f64], learn: bool) -> Option<StepScores> {
        self.feats.push(
            raw,
            self.fallback.as_deref(),
            &mut self.imputed,
            &mut self.fraw,
        );
        let base_raw = self
            .baseline
            .observe(ts, &self.imputed, &mut self.base_z, learn);
        let seasonal = self.seasonal.observe(ts, &self.imputed);
        let mut members = Vec::with_capacity(3);
        if self.members.baseline {
            if let Some(s) = base_raw {
                let model_cal = self
                    .model
                    .as_ref()
                    .and_then(|m| m.calibration.baseline.as_ref());
                let c = model_cal
                    .or(self.online.cal.as_ref())
                    .map(|c| c.surprise(s));
                if model_cal.is_none() && learn {
                    // Only needed until a model brings a trained calibrator (refits
                    // sort the history: keep them off the trained hot path).
                    self.online.push(s);
                }
                if let Some(c) = c {
                    members.push(MemberScore {
                        member: "baseline".into(),
                        score: c,
                    });
                }
            }
        }
        if let Some(m) = self.model.clone() {
            m.normalizer.apply(&self.fraw, &mut self.z);
            if self.members.forest {
                if let (Some(f), Some(c)) = (&m.forest, &m.calibration.forest) {
                    members.push(MemberScore {
                        member: "forest".into(),
                        score: c.surprise(f.score_row(&self.z)),
                    });
                }
            }
            if self.members.pca {
                if let (Some(p), Some(c)) = (&m.pca, &m.calibration.pca) {
                    let s = p.score(&self.z, &mut self.t_buf, None, None);
                    members.push(MemberScore {
                        member: "pca".into(),
                        score: c.surprise(s),
                    });
                }
            }
        }
        if members.is_empty() {
            self.last = None;
            return None;
        }
        // The seasonal member, once a daily rhythm is detected: a sample outside the
        // bands of its time of day is surprising by how far (calibrated on its own
        // history of excesses, like the other members); a sample inside every band
        // was seen at this time on two earlier days, so its surprise is capped under
        // every alarm threshold whatever the other members, which know no time of
        // day, make of it.
        let mut explained = false;
        if let Some(v) = seasonal.filter(|_| self.members.seasonal) {
            explained = v.explained;
            if let Some(c) = &self.seasonal_cal.cal {
                members.push(MemberScore {
                    member: "seasonal".into(),
                    score: c.surprise(v.excess),
                });
            }
            if learn {
                self.seasonal_cal.push(v.excess);
            }
        }
        // Each member's surprise, and the same member's at the previous sample
        // (members can change between samples: a model installed, the seasonal member
        // switched on). On the stack: there are four kinds of member.
        let mut cal = [0.0; MEMBER_KINDS];
        let mut prev = [None; MEMBER_KINDS];
        let k = members.len().min(MEMBER_KINDS);
        for (i, m) in members.iter().take(k).enumerate() {
            cal[i] = m.score;
            prev[i] = self.last.as_ref().and_then(|l| {
                l.members
                    .iter()
                    .find(|p| p.member == m.member)
                    .map(|p| p.score)
            });
        }
        let mut combined = combine(&cal[..k]);
        let mut corroborated = corroborate_lagged(&cal[..k], &prev[..k]);
        if explained {
            combined = combined.min(SEASONAL_EXPLAINED_MAX);
            corroborated = corroborated.min(SEASONAL_EXPLAINED_MAX);
        }
        let out = StepScores {
            combined,
            members,
            corroborated,
        };
        self.last = Some(out.clone());
        Some(out)
    }

    /// Restarts the rolling baseline from `rows` (see [`RollingBaseline::rebase`]).
    pub fn rebase<'a>(&mut self, rows: impl IntoIterator<Item = (TimestampMs, &'a [f64])>) {
        self.baseline.rebase(rows);
    }

    /// The current normal band of metric `m`: the model's (1st..99th percentile of
    /// training), else the rolling baseline's.
    pub fn band(&self, m: usize) -> (f64, f64) {
        match &self.model {
            Some(model) => (model.bands[m].low, model.bands[m].high),
            None => self.baseline.band(m),
        }
    }

    /// The band metric `m` is judged back to when an event ends: where the rolling
    /// baseline's band (median +- 3 robust sigma of the hour before the event: it
    /// stops learning while one is open) and the model's band (1st..99th percentile of
    /// a day of training) overlap, so back means normal to both views. The model's
    /// band alone was too wide on a host that swung gigabytes of memory during builds:
    /// a memory ramp still 2 GB over the last hour's level sat inside it, and its
    /// event closed mid-ramp at twice the threshold. The baseline's alone was too
    /// wide on a quiet one: its scale has a floor (0.5 points for a percentage), and a
    /// slow leak whose event opened 0.6 points up was "back" at once. Bands that do
    /// not overlap (the host moved since training): the baseline's, the recent one.
    pub fn recovery_band(&self, m: usize) -> (f64, f64) {
        if !self.baseline.ready() {
            return self.band(m);
        }
        let (bl, bh) = self.baseline.band(m);
        match &self.model {
            Some(model) => {
                let (lo, hi) = (bl.max(model.bands[m].low), bh.min(model.bands[m].high));
                if lo <= hi {
                    (lo, hi)
                } else {
                    (bl, bh)
                }
            }
            None => (bl, bh),
        }
    }

    /// The imputed raw values of the last step.
    pub fn last_values(&self) -> &[f64] {
        &self.imputed
    }

    /// Per-metric attribution of the last step, top `k` by share, with values and
    /// normal bands. Each member's per-metric attribution is normalised to sum 1 and
    /// weighted by its surprise -ln(p) (a member that is sure counts more).
    pub fn explain(&self, k: usize, names: &[String]) -> Vec<MetricContribution> {
        let Some(last) = &self.last else {
            return vec![];
        };
        let nm = self.n_metrics();
        let mut total = vec![0.0; nm];
        let mut add = |per_metric: &[f64], surprise: f64| {
            let sum: f64 = per_metric.iter().sum();
            if sum > 0.0 && sum.is_finite() {
                let w = surprise.max(0.0);
                for (t, v) in total.iter_mut().zip(per_metric) {
                    *t += w * v / sum;
                }
            }
        };
        let by_metric = |per_feature: &[f64]| {
            let mut v = vec![0.0; nm];
            for (j, x) in per_feature.iter().enumerate() {
                v[features::metric_of(j)] += x;
            }
            v
        };
        for ms in &last.members {
            match ms.member.as_str() {
                "baseline" => add(&self.base_z, ms.score),
                "seasonal" => add(self.seasonal.last_excess(), ms.score),
                "forest" => {
                    if let Some(f) = self.model.as_ref().and_then(|m| m.forest.as_ref()) {
                        let mut a = vec![0.0; self.z.len()];
                        f.attribution(&self.z, &mut a);
                        add(&by_metric(&a), ms.score);
                    }
                }
                "pca" => {
                    if let Some(p) = self.model.as_ref().and_then(|m| m.pca.as_ref()) {
                        let mut t = vec![0.0; p.k];
                        let mut c = vec![0.0; self.z.len()];
                        p.score(&self.z, &mut t, Some(&mut c), None);
                        add(&by_metric(&c), ms.score);
                    }
                }
                _ => {}
            }
        }
        let sum: f64 = total.iter().sum();
        let mut order: Vec<usize> = (0..nm).collect();
        order.sort_by(|&a, &b| total[b].total_cmp(&total[a]));
        order
            .into_iter()
            .take(k)
            .filter(|&m| total[m] > 0.0)
            .map(|m| {
                let (lo, hi) = self.band(m);
                MetricContribution {
                    metric: names.get(m).cloned().unwrap_or_else(|| format!("m{m}")),
                    value: self.imputed[m],
                    normal_low: lo,
                    normal_high: hi,
                    contribution: if sum > 0.0 { total[m] / sum } else { 0.0 },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cold-start calibration's history grows to its cap and no further (doubling took
    /// a day of scores, 17,280, to a capacity of 32,768), and it is freed once a model's
    /// trained calibrator takes over, while the scores stay calibrated.
    #[test]
    fn the_online_calibration_history_is_capped_and_freed_by_a_trained_model() {
        let mut c = OnlineCalibration::new(17_280, 0.05);
        for i in 0..20_000 {
            c.push((i % 97) as f64);
        }
        assert_eq!(c.history.len(), 17_280);
        assert!(c.history.capacity() < 18_000, "{}", c.history.capacity());
        // A score beyond f32 is kept as the largest f32, and the calibration stays
        // finite (refitted at every 5 % of the history: 864 pushes).
        c.push(1e300);
        assert_eq!(c.history.back(), Some(&f32::MAX));
        for _ in 0..2000 {
            c.push(5.0);
        }
        let cal = c.cal.as_ref().unwrap();
        assert!(cal.surprise(200.0).is_finite() && cal.surprise(200.0) > cal.surprise(5.0));

        // Three metrics of deterministic noise at 1 s.
        let rows: Vec<(TimestampMs, Vec<f64>)> = (0..1000u64)
            .map(|i| {
                let n = |k: u64| ((i * 7919 + k * 104_729) % 1000) as f64 / 1000.0 - 0.5;
                (
                    i as TimestampMs * 1000,
                    vec![10.0 + n(1), 5.0 + n(2), 20.0 + n(3)],
                )
            })
            .collect();
        let mut s = EnsembleScorer::new(3, Members::default(), BaselineParams::default());
        for (t, r) in &rows[..600] {
            s.step(*t, r, true);
        }
        assert!(s.online.history.len() > 500);
        let model = train(&rows, &[], &TrainParams::default()).unwrap();
        assert!(model.calibration.baseline.is_some());
        s.install_model(Arc::new(model)).unwrap();
        assert_eq!(s.online.history.capacity(), 0);
        let out = s.step(700_000, &[40.0, 5.0, 20.0], true).unwrap();
        assert!(out.members.iter().any(|m| m.member == "baseline"));
        assert_eq!(
            s.online.history.len(),
            0,
            "not fed while the model calibrates"
        );
    }
}
