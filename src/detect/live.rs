//! [`LiveDetector`]: the object the server feeds with every stored sample.
//!
//! It scores each sample with whatever members can score (the rolling baseline after
//! a few minutes, forest and PCA once a trained model is installed), runs the event
//! logic and builds explanations. It never trains by itself: the server calls
//! [`train`] on a blocking thread (rows from the store, or [`LiveDetector::training_rows`])
//! and hands the result to [`LiveDetector::install_model`].

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::baseline::BaselineParams;
pub use super::ensemble::train;
use super::ensemble::{EnsembleScorer, ExpectedInterval, Members, TrainedModel};
use super::events::{similar, EventParams, EventTracker, Sensitivity};
use super::DetectError;
use crate::model::{AnomalyEvent, AnomalyScore, Explanation, ProcessInfo, TimestampMs, METRICS};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveConfig {
    pub host: String,
    pub members: Members,
    pub sensitivity: Sensitivity,
    pub events: EventParams,
    /// Rolling baseline (window, cold-start samples, refresh), in samples.
    pub baseline: BaselineParams,
    /// History needed before forest and PCA are trained (default 60 min).
    pub min_history_secs: i64,
    /// Rows kept in memory for [`LiveDetector::training_rows`] (default 24 h).
    pub buffer_secs: i64,
    /// Metric names in scalar order (default: `model::METRICS`).
    pub metric_names: Vec<String>,
    pub top_metrics: usize,
    pub top_processes: usize,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            members: Members::default(),
            sensitivity: Sensitivity::Medium,
            events: EventParams::default(),
            baseline: BaselineParams::default(),
            min_history_secs: 3600,
            buffer_secs: 86_400,
            metric_names: METRICS.iter().map(|d| d.name.to_string()).collect(),
            top_metrics: 5,
            top_processes: 5,
        }
    }
}

/// What one sample produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveOutcome {
    /// None during the first minutes (nothing can score yet).
    pub score: Option<AnomalyScore>,
    pub opened: Option<AnomalyEvent>,
    /// The open event has a new peak (store the new peak and explanation).
    pub updated: Option<AnomalyEvent>,
    pub closed: Option<AnomalyEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not even the baseline scores yet.
    Warmup,
    /// Baseline scores; forest and PCA wait for history or training.
    Learning,
    /// A trained model is installed.
    Trained,
}

/// For the UI and `/api/model`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorState {
    pub phase: Phase,
    pub baseline_ready: bool,
    pub history_secs: i64,
    pub required_secs: i64,
    pub model_version: Option<u64>,
    pub trained_at: Option<TimestampMs>,
    pub trained_samples: Option<usize>,
    pub active_members: Vec<String>,
    pub threshold: f64,
    /// "learning: 14 of 60 minutes" / "trained at 2026-11-25 18:39:33 UTC, on N samples (v3)".
    pub message: String,
}

pub struct LiveDetector {
    config: LiveConfig,
    scorer: EnsembleScorer,
    tracker: EventTracker,
    first_ts: Option<TimestampMs>,
    last_ts: Option<TimestampMs>,
    buffer: VecDeque<(TimestampMs, Vec<f64>)>,
    expected: Vec<ExpectedInterval>,
    row: Vec<f64>,
}

impl LiveDetector {
    pub fn new(config: LiveConfig) -> Self {
        let n = config.metric_names.len().max(1);
        let tracker = EventTracker::new(
            config.host.clone(),
            config.sensitivity.threshold(),
            config.events.clone(),
        );
        let mut scorer = EnsembleScorer::new(n, config.members, config.baseline.clone());
        scorer.set_floors(
            config
                .metric_names
                .iter()
                .map(|m| super::features::unit_floor(m))
                .collect(),
        );
        Self {
            scorer,
            tracker,
            first_ts: None,
            last_ts: None,
            buffer: VecDeque::new(),
            expected: Vec::new(),
            row: vec![f64::NAN; n],
            config,
        }
    }

    pub fn config(&self) -> &LiveConfig {
        &self.config
    }

    pub fn set_sensitivity(&mut self, s: Sensitivity) {
        self.config.sensitivity = s;
        self.tracker.set_threshold(s.threshold());
    }

    pub fn set_members(&mut self, m: Members) {
        self.config.members = m;
        self.scorer.set_members(m);
    }

    /// Scores one sample. `scalars` are in metric order (missing = NaN; a shorter or
    /// longer row is padded with NaN or cut); `top_cpu` / `top_memory` are the
    /// snapshot's process lists, kept with the explanation if this sample is a peak.
    pub fn observe(
        &mut self,
        ts: TimestampMs,
        scalars: &[f64],
        top_cpu: &[ProcessInfo],
        top_memory: &[ProcessInfo],
    ) -> LiveOutcome {
        for (i, r) in self.row.iter_mut().enumerate() {
            *r = scalars.get(i).copied().unwrap_or(f64::NAN);
        }
        self.first_ts.get_or_insert(ts);
        self.last_ts = Some(ts);
        self.buffer.push_back((ts, self.row.clone()));
        while self
            .buffer
            .front()
            .is_some_and(|(t, _)| ts - *t > self.config.buffer_secs * 1000)
        {
            self.buffer.pop_front();
        }
        let row = std::mem::take(&mut self.row);
        let step = self.scorer.step(&row);
        self.row = row;
        let Some(step) = step else {
            return LiveOutcome::default();
        };
        let threshold = self.tracker.threshold();
        let score = AnomalyScore {
            timestamp: ts,
            combined: step.combined,
            members: step.members,
            anomalous: step.combined > threshold,
        };
        let (scorer, cfg) = (&self.scorer, &self.config);
        let tr = self.tracker.step(ts, step.combined, || Explanation {
            metrics: scorer.explain(cfg.top_metrics, &cfg.metric_names),
            top_cpu: top_cpu.iter().take(cfg.top_processes).cloned().collect(),
            top_memory: top_memory.iter().take(cfg.top_processes).cloned().collect(),
        });
        let mark = |e: Option<AnomalyEvent>| e.map(|e| self.flag_expected(e));
        LiveOutcome {
            score: Some(score),
            opened: mark(tr.opened),
            updated: mark(tr.updated),
            closed: mark(tr.closed),
        }
    }

    fn flag_expected(&self, mut e: AnomalyEvent) -> AnomalyEvent {
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

    /// Hot swap: later samples are scored with `model`; state carries on.
    pub fn install_model(&mut self, model: Arc<TrainedModel>) -> Result<(), DetectError> {
        self.scorer.install_model(model)
    }

    pub fn model(&self) -> Option<&Arc<TrainedModel>> {
        self.scorer.model()
    }

    fn history_secs(&self) -> i64 {
        match (self.first_ts, self.last_ts) {
            (Some(a), Some(b)) => (b - a) / 1000,
            _ => 0,
        }
    }

    /// No model yet and enough history for the first training.
    pub fn needs_training(&self) -> bool {
        self.scorer.model().is_none() && self.history_secs() >= self.config.min_history_secs
    }

    /// The rows kept in memory (up to `buffer_secs`), oldest first, for [`train`].
    pub fn training_rows(&self) -> Vec<(TimestampMs, Vec<f64>)> {
        self.buffer.iter().cloned().collect()
    }

    pub fn state(&self) -> DetectorState {
        let model = self.scorer.model();
        let baseline_ready = self.scorer.baseline_ready();
        let phase = if model.is_some() {
            Phase::Trained
        } else if baseline_ready {
            Phase::Learning
        } else {
            Phase::Warmup
        };
        let history = self.history_secs();
        let mut active = vec![];
        if self.config.members.baseline && baseline_ready {
            active.push("baseline".to_string());
        }
        if let Some(m) = model {
            active.extend(
                m.member_names()
                    .into_iter()
                    .filter(|n| *n != "baseline")
                    .filter(|n| {
                        (*n == "forest" && self.config.members.forest)
                            || (*n == "pca" && self.config.members.pca)
                    })
                    .map(String::from),
            );
        }
        let message = match model {
            Some(m) => format!(
                "trained at {}, on {} samples (v{})",
                crate::alert::render::format_time(m.trained_at),
                m.samples,
                m.version
            ),
            None => format!(
                "learning: {} of {} minutes",
                (history / 60).min(self.config.min_history_secs / 60),
                self.config.min_history_secs / 60
            ),
        };
        DetectorState {
            phase,
            baseline_ready,
            history_secs: history,
            required_secs: self.config.min_history_secs,
            model_version: model.map(|m| m.version),
            trained_at: model.map(|m| m.trained_at),
            trained_samples: model.map(|m| m.samples),
            active_members: active,
            threshold: self.tracker.threshold(),
            message,
        }
    }

    /// The event currently open, if any.
    pub fn open_event(&self) -> Option<&AnomalyEvent> {
        self.tracker.open_event()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ensemble::TrainParams;
    use crate::model::metric_def;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    const STEP_MS: i64 = 5_000;
    const GB: f64 = 1024.0 * 1024.0 * 1024.0;

    fn idx(name: &str) -> usize {
        assert!(metric_def(name).is_some());
        METRICS.iter().position(|d| d.name == name).unwrap()
    }

    /// A simulated host: stationary noisy metrics with the correlations a real host
    /// has (memory bytes and percent move together, load averages are smoothed).
    struct Host {
        rng: Xoshiro256PlusPlus,
        load5: f64,
        load15: f64,
        /// A busy build machine: CPU, disk and network burst many-fold in ~15 % of
        /// the samples (compiles, package downloads), memory stays steady.
        bursty: bool,
    }

    impl Host {
        fn new(seed: u64) -> Self {
            Self {
                rng: Xoshiro256PlusPlus::seed_from_u64(seed),
                load5: 0.8,
                load15: 0.8,
                bursty: false,
            }
        }
        fn noise(&mut self) -> f64 {
            // ~N(0, 1)
            (0..12).map(|_| self.rng.gen::<f64>()).sum::<f64>() - 6.0
        }
        /// `cpu_extra`, `mem_pct`, `load_extra`, `net_factor` are the scenario knobs.
        fn sample(
            &mut self,
            cpu_extra: f64,
            mem_pct: f64,
            load_extra: f64,
            net_factor: f64,
        ) -> Vec<f64> {
            let mut v = vec![0.0; METRICS.len()];
            let cpu = (15.0 + 3.0 * self.noise() + cpu_extra).clamp(0.0, 100.0);
            let mem = mem_pct + 0.2 * self.noise();
            let total = 16.0 * GB;
            let used = mem / 100.0 * total;
            let load1 = (0.8 + 0.15 * self.noise() + load_extra).max(0.0);
            self.load5 += (load1 - self.load5) / 60.0;
            self.load15 += (load1 - self.load15) / 180.0;
            v[idx("cpu_usage")] = cpu;
            v[idx("memory_usage")] = mem;
            v[idx("memory_used_bytes")] = used;
            v[idx("memory_available_bytes")] = total - used;
            v[idx("memory_free_bytes")] = 0.3 * (total - used) + 0.01 * GB * self.noise();
            v[idx("memory_cached_bytes")] = 4.0 * GB + 0.02 * GB * self.noise();
            v[idx("memory_buffers_bytes")] = 0.2 * GB + 0.002 * GB * self.noise();
            v[idx("swap_used_bytes")] = 0.0;
            v[idx("swap_usage")] = 0.0;
            v[idx("load_1")] = load1;
            v[idx("load_5")] = self.load5;
            v[idx("load_15")] = self.load15;
            v[idx("disk_read_bytes_per_sec")] = (2e5 + 4e4 * self.noise()).max(0.0);
            v[idx("disk_write_bytes_per_sec")] = (5e5 + 1e5 * self.noise()).max(0.0);
            v[idx("disk_read_ops_per_sec")] = (20.0 + 4.0 * self.noise()).max(0.0);
            v[idx("disk_write_ops_per_sec")] = (50.0 + 8.0 * self.noise()).max(0.0);
            v[idx("disk_free_percent")] = 61.3;
            v[idx("net_rx_bytes_per_sec")] = (1e5 + 2e4 * self.noise()).max(0.0) * net_factor;
            v[idx("net_tx_bytes_per_sec")] = (8e4 + 1.5e4 * self.noise()).max(0.0);
            v[idx("net_rx_packets_per_sec")] =
                (120.0 + 20.0 * self.noise()).max(0.0) * net_factor.sqrt();
            v[idx("net_tx_packets_per_sec")] = (100.0 + 18.0 * self.noise()).max(0.0);
            v[idx("net_rx_errors_per_sec")] = 0.0;
            v[idx("net_tx_errors_per_sec")] = 0.0;
            v[idx("process_count")] = (250.0 + 2.0 * self.noise()).round();
            if self.bursty && self.rng.gen::<f64>() < 0.15 {
                let k = 1.0 + 40.0 * self.rng.gen::<f64>();
                v[idx("cpu_usage")] = (v[idx("cpu_usage")] + 80.0).min(100.0);
                for m in [
                    "disk_read_bytes_per_sec",
                    "disk_write_bytes_per_sec",
                    "disk_read_ops_per_sec",
                    "disk_write_ops_per_sec",
                    "net_rx_bytes_per_sec",
                    "net_rx_packets_per_sec",
                ] {
                    v[idx(m)] *= k;
                }
            }
            v
        }
    }

    fn procs(name: &str) -> Vec<ProcessInfo> {
        vec![ProcessInfo {
            pid: 42,
            name: name.into(),
            cpu_percent: 90.0,
            rss_bytes: 1 << 30,
        }]
    }

    /// Two hours of normal data, training on it, and the installed detector.
    fn trained_detector(seed: u64) -> (LiveDetector, Host, i64) {
        trained_on(Host::new(seed))
    }

    fn trained_on(mut host: Host) -> (LiveDetector, Host, i64) {
        let mut det = LiveDetector::new(LiveConfig {
            host: "test".into(),
            ..Default::default()
        });
        let mut ts = 1_700_000_000_000i64;
        let mut events = 0;
        for i in 0..1440 {
            let out = det.observe(ts, &host.sample(0.0, 40.0, 0.0, 1.0), &[], &[]);
            events += out.opened.is_some() as usize;
            if i == 360 {
                assert!(matches!(det.state().phase, Phase::Learning));
                assert_eq!(det.state().message, "learning: 30 of 60 minutes");
                assert!(!det.needs_training());
            }
            ts += STEP_MS;
        }
        assert_eq!(
            events, 0,
            "cold start (baseline only) raised events on normal data"
        );
        assert!(det.needs_training());
        let model = train(
            &det.training_rows(),
            &det.expected_intervals(),
            &Default::default(),
        )
        .unwrap();
        assert!(model.warnings.is_empty(), "{:?}", model.warnings);
        det.install_model(Arc::new(model)).unwrap();
        assert_eq!(det.state().phase, Phase::Trained);
        let msg = det.state().message;
        assert!(
            msg.starts_with("trained at 20") && msg.contains(" UTC, on 1440 samples"),
            "{msg}"
        );
        assert_eq!(
            det.state().active_members,
            vec!["baseline", "forest", "pca"]
        );
        (det, host, ts)
    }

    /// Runs `n` samples of a scenario; returns the events opened and their final form.
    fn run(
        det: &mut LiveDetector,
        ts: &mut i64,
        n: usize,
        mut sample: impl FnMut(usize) -> Vec<f64>,
        busy: &str,
    ) -> Vec<AnomalyEvent> {
        let mut opened: Vec<AnomalyEvent> = vec![];
        for i in 0..n {
            let out = det.observe(*ts, &sample(i), &procs(busy), &procs(busy));
            let s = out.score.expect("trained detector scores every sample");

            assert!((0.0..=1.0).contains(&s.combined));
            if let Some(e) = out.opened {
                opened.push(e);
            }
            for e in [out.updated, out.closed].into_iter().flatten() {
                if let Some(last) = opened.last_mut() {
                    *last = e;
                }
            }
            *ts += STEP_MS;
        }
        opened
    }

    fn top_metric(e: &AnomalyEvent) -> &str {
        &e.explanation.metrics[0].metric
    }

    #[test]
    fn cpu_spike_opens_one_event_naming_cpu() {
        let (mut det, mut host, mut ts) = trained_detector(11);
        let ev = run(
            &mut det,
            &mut ts,
            360,
            |_| host.sample(0.0, 40.0, 0.0, 1.0),
            "idle",
        );
        assert!(ev.is_empty(), "normal half hour: {ev:?}");
        let spike = |i: usize| if i < 24 { 80.0 } else { 0.0 };
        let ev = run(
            &mut det,
            &mut ts,
            24 + 360,
            |i| host.sample(spike(i), 40.0, 0.0, 1.0),
            "stress",
        );
        assert_eq!(ev.len(), 1, "{ev:?}");
        let e = &ev[0];
        assert_eq!(top_metric(e), "cpu_usage", "{:?}", e.explanation);
        let c = &e.explanation.metrics[0];
        assert!(c.value > 80.0 && c.normal_high < 30.0, "{c:?}");
        assert_eq!(e.explanation.top_cpu[0].name, "stress");
        assert!(e.end.is_some(), "closed after the spike");
        assert!(!e.expected);
    }

    #[test]
    fn memory_step_on_a_bursty_host_is_not_drowned_by_the_bursts() {
        // The e2e finding: on a busy host the bursty metrics set the baseline's score
        // distribution, and a memory step far outside its own range went unflagged.
        let mut host = Host::new(21);
        host.bursty = true;
        let (mut det, mut host, mut ts) = trained_on(host);
        let ev = run(
            &mut det,
            &mut ts,
            360,
            |_| host.sample(0.0, 40.0, 0.0, 1.0),
            "cc1plus",
        );
        assert!(ev.is_empty(), "bursts it trained on: {ev:?}");
        // +10 points of memory (40 % -> 50 %, 50 sigmas of its noise) for 5 minutes.
        let ev = run(
            &mut det,
            &mut ts,
            60 + 120,
            |i| host.sample(0.0, if i < 60 { 50.0 } else { 40.0 }, 0.0, 1.0),
            "stress-ng-vm",
        );
        assert_eq!(ev.len(), 1, "{ev:?}");
        let e = &ev[0];
        assert!(
            e.start < ts - 170 * STEP_MS,
            "opened during the first samples"
        );
        assert!(top_metric(e).starts_with("memory_"), "{:?}", e.explanation);
        assert_eq!(e.explanation.top_memory[0].name, "stress-ng-vm");
    }

    #[test]
    fn memory_leak_ramp_opens_one_event_naming_memory() {
        let (mut det, mut host, mut ts) = trained_detector(12);
        // 40 % -> 80 % over an hour, then stays there.
        let ev = run(
            &mut det,
            &mut ts,
            720 + 120,
            |i| host.sample(0.0, 40.0 + 40.0 * (i.min(720) as f64 / 720.0), 0.0, 1.0),
            "leaky",
        );
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!(
            top_metric(&ev[0]).starts_with("memory_"),
            "{:?}",
            ev[0].explanation
        );
    }

    #[test]
    fn load_level_shift_opens_one_event_naming_load() {
        let (mut det, mut host, mut ts) = trained_detector(13);
        let ev = run(
            &mut det,
            &mut ts,
            360,
            |_| host.sample(0.0, 40.0, 3.0, 1.0),
            "make",
        );
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!(
            top_metric(&ev[0]).starts_with("load_"),
            "{:?}",
            ev[0].explanation
        );
    }

    #[test]
    fn network_burst_opens_one_event_naming_network() {
        let (mut det, mut host, mut ts) = trained_detector(14);
        let burst = |i: usize| if i < 12 { 50.0 } else { 1.0 };
        let ev = run(
            &mut det,
            &mut ts,
            12 + 240,
            |i| host.sample(0.0, 40.0, 0.0, burst(i)),
            "rsync",
        );
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!(ev[0].end.is_some());
        assert!(
            top_metric(&ev[0]).starts_with("net_rx_"),
            "{:?}",
            ev[0].explanation
        );
    }

    #[test]
    fn steady_noisy_day_opens_no_event_and_feedback_marks_expected() {
        let (mut det, mut host, mut ts) = trained_detector(15);
        // A day, retrained on the buffer on a schedule as the server does (every 3 h
        // here rather than hourly, and PCA fitted on a 4,000-row stride, to keep the
        // debug-mode test fast).
        let params = TrainParams {
            max_pca_rows: 4000,
            ..Default::default()
        };
        let mut ev = vec![];
        for k in 0..8 {
            ev.extend(run(
                &mut det,
                &mut ts,
                3 * 720,
                |_| host.sample(0.0, 40.0, 0.0, 1.0),
                "idle",
            ));
            let mut model =
                train(&det.training_rows(), &det.expected_intervals(), &params).unwrap();
            model.version = k + 2;
            det.install_model(Arc::new(model)).unwrap();
        }
        assert_eq!(det.state().model_version, Some(9));
        assert!(
            ev.is_empty(),
            "{} events on a steady day: {:?}",
            ev.len(),
            ev.first()
        );
        // Feedback: a nightly network burst marked expected is flagged as such next time.
        let ev = run(
            &mut det,
            &mut ts,
            12,
            |_| host.sample(0.0, 40.0, 0.0, 50.0),
            "backup",
        );
        run(
            &mut det,
            &mut ts,
            240,
            |_| host.sample(0.0, 40.0, 0.0, 1.0),
            "idle",
        );
        assert_eq!(ev.len(), 1);
        det.mark_expected(&ev[0]);
        let again = run(
            &mut det,
            &mut ts,
            12,
            |_| host.sample(0.0, 40.0, 0.0, 50.0),
            "backup",
        );
        assert_eq!(again.len(), 1);
        assert!(
            again[0].expected,
            "similar to the expected one: {:?} vs {:?}",
            again[0]
                .explanation
                .metrics
                .iter()
                .map(|m| &m.metric)
                .collect::<Vec<_>>(),
            ev[0]
                .explanation
                .metrics
                .iter()
                .map(|m| &m.metric)
                .collect::<Vec<_>>()
        );
        assert_eq!(det.expected_intervals().len(), 1);
    }
}
