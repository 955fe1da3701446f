use super::rhythm::top_three;
use super::*;
use crate::detect::ensemble::train_excluding;
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
        buffer_secs: 86_400,
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
        assert!(
            s.combined >= 0.0 && s.combined.is_finite(),
            "{}",
            s.combined
        );
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
        let mut model = train(&det.training_rows(), &det.expected_intervals(), &params).unwrap();
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

/// A self-training detector (the offline pipeline) on two hours of normal data.
fn self_training(seed: u64) -> (LiveDetector, Host, i64) {
    let mut host = Host::new(seed);
    let mut det = LiveDetector::new(LiveConfig {
        host: "test".into(),
        self_train: true,
        ..Default::default()
    });
    let mut ts = 1_700_000_000_000i64;
    for _ in 0..1440 {
        det.observe(ts, &host.sample(0.0, 40.0, 0.0, 1.0), &[], &[]);
        ts += STEP_MS;
    }
    assert_eq!(
        det.state().phase,
        Phase::Trained,
        "trained on its own schedule"
    );
    (det, host, ts)
}

#[test]
fn a_steady_level_shift_becomes_the_new_normal_after_adapt_after() {
    let (mut det, mut host, mut ts) = self_training(31);
    let adapt = det.config().adapt_after_secs;
    let threshold = det.state().threshold;
    // Memory 40 % -> 55 % and it stays there (a new service was deployed).
    let (mut opened, mut adapted_at, mut last_over) = (0, None, None);
    for i in 0..(4 * adapt * 1000 / STEP_MS) {
        let out = det.observe(ts, &host.sample(0.0, 55.0, 0.0, 1.0), &[], &[]);
        opened += out.opened.is_some() as usize;
        if out.adapted {
            adapted_at = Some(i * STEP_MS / 1000);
        }
        if out.score.as_ref().is_some_and(|s| s.combined > threshold) {
            last_over = Some(i * STEP_MS / 1000);
        }
        ts += STEP_MS;
    }
    assert_eq!(opened, 1, "one event at the onset");
    let at = adapted_at.expect("accepted as the new normal");
    assert!(
        at >= adapt && at <= adapt + 300,
        "adapted {at} s after the shift (adapt_after {adapt} s)"
    );
    let quiet_from = last_over.unwrap_or(0);
    assert!(
        quiet_from <= at + 120,
        "the score came down once the shift was learnt: last over threshold at {quiet_from} s, adapted at {at} s"
    );
    assert_eq!(det.state().adaptations, 1);
}

/// The server's configuration (training from the store, `buffer_secs` 60): a
/// healthy host holds a minute of rows, not `adapt_after` of them (issue 13: a hub
/// holds a detector per host), and a steady shift still becomes the new normal,
/// from the rows kept since its event opened.
#[test]
fn a_server_detector_keeps_a_minute_of_rows_until_an_event_needs_more() {
    let mut host = Host::new(34);
    let mut det = LiveDetector::new(LiveConfig {
        host: "test".into(),
        buffer_secs: 60,
        ..Default::default()
    });
    let (mut ts, mut stored) = (1_700_000_000_000i64, Vec::new());
    for _ in 0..1440 {
        let row = host.sample(0.0, 40.0, 0.0, 1.0);
        det.observe(ts, &row, &[], &[]);
        stored.push((ts, row));
        ts += STEP_MS;
    }
    // The owner trains from what it stored, as the server does from the store.
    assert!(det.training_due());
    let plan = det.begin_training();
    let rows: Vec<_> = stored
        .iter()
        .filter(|(t, _)| *t >= plan.from && *t <= plan.to)
        .cloned()
        .collect();
    let model = train_excluding(&rows, &plan.expected, &plan.anomalous, &plan.params);
    det.install_model(Arc::new(model.unwrap())).unwrap();
    assert!(
        det.training_rows().len() <= 13,
        "a healthy host holds a minute: {} rows",
        det.training_rows().len()
    );
    let adapt = det.config().adapt_after_secs;
    let (mut adapted_at, mut most_held) = (None, 0);
    for i in 0..(2 * adapt * 1000 / STEP_MS) {
        let out = det.observe(ts, &host.sample(0.0, 55.0, 0.0, 1.0), &[], &[]);
        if det.open_event().is_some() {
            most_held = most_held.max(det.training_rows().len());
        }
        if out.adapted {
            adapted_at = Some(i * STEP_MS / 1000);
        }
        ts += STEP_MS;
    }
    let at = adapted_at.expect("accepted as the new normal");
    assert!(at >= adapt && at <= adapt + 300, "adapted at {at} s");
    assert!(
        most_held as i64 >= adapt * 1000 / STEP_MS,
        "the open event's rows were held: at most {most_held}"
    );
    assert!(det.training_rows().len() <= 13, "back to a minute");
}

#[test]
fn a_memory_leak_that_never_stops_keeps_scoring() {
    let (mut det, mut host, mut ts) = self_training(32);
    let adapt = det.config().adapt_after_secs;
    let threshold = det.state().threshold;
    // 40 % -> up by 10 points an hour, for three times adapt_after and more.
    let n = 4 * adapt * 1000 / STEP_MS;
    let (mut adapted, mut late_over, mut late, mut alarms) = (false, 0, 0, 0);
    for i in 0..n {
        let mem = 40.0 + 10.0 * (i * STEP_MS) as f64 / 3_600_000.0;
        let out = det.observe(ts, &host.sample(0.0, mem, 0.0, 1.0), &[], &[]);
        adapted |= out.adapted;
        let s = out.score.expect("scored");
        alarms += (s.alarm > threshold) as usize;
        if i > n - 60 {
            late += 1;
            late_over += (s.combined > threshold) as usize;
        }
        ts += STEP_MS;
    }
    assert!(!adapted, "a ramp is never steady, so never the new normal");
    assert!(det.open_event().is_some(), "the leak's event is still open");
    assert_eq!(
        late_over, late,
        "still scoring over the threshold at the end"
    );
    // The alarm score fired at the onset (and at the leak's new highs).
    assert!(alarms >= 1, "the alarm score never fired");
}

#[test]
fn skipped_rows_are_reported_not_scored() {
    let (mut det, mut host, ts) = self_training(33);
    let out = det.observe(ts - STEP_MS, &host.sample(0.0, 40.0, 0.0, 1.0), &[], &[]);
    assert_eq!(out.skipped, Some("duplicated timestamp"));
    assert!(out.score.is_none());
    let out = det.observe(
        ts - 10 * STEP_MS,
        &host.sample(0.0, 40.0, 0.0, 1.0),
        &[],
        &[],
    );
    assert_eq!(out.skipped, Some("timestamp before the previous row"));
}

#[test]
fn an_event_closes_within_a_minute_of_the_metrics_returning() {
    let (mut det, mut host, mut ts) = trained_detector(34);
    // 24 samples (2 min) of CPU +80 points, then normal again.
    let (mut opened_at, mut closed_at) = (None, None);
    let back = ts + 24 * STEP_MS;
    for i in 0..200 {
        let extra = if i < 24 { 80.0 } else { 0.0 };
        let out = det.observe(ts, &host.sample(extra, 40.0, 0.0, 1.0), &[], &[]);
        if out.opened.is_some() {
            opened_at.get_or_insert(ts);
        }
        if out.closed.is_some() {
            closed_at.get_or_insert(ts);
        }
        ts += STEP_MS;
    }
    let start = back - 24 * STEP_MS;
    let opened = opened_at.expect("the spike opened an event");
    assert!(
        opened - start <= 3 * STEP_MS,
        "opened {} ms after the onset",
        opened - start
    );
    let closed = closed_at.expect("the event closed");
    assert!(
        closed > back && closed - back <= 60_000,
        "closed {} ms after the metrics came back",
        closed - back
    );
}

/// Runs `mem` (memory %, one value a sample) through `det` and returns the
/// timestamps at which events opened and closed.
fn run_memory(
    det: &mut LiveDetector,
    host: &mut Host,
    ts: &mut i64,
    mem: impl IntoIterator<Item = f64>,
) -> (Vec<i64>, Vec<i64>) {
    let (mut opened, mut closed) = (vec![], vec![]);
    for m in mem {
        let out = det.observe(*ts, &host.sample(0.0, m, 0.0, 1.0), &[], &[]);
        if out.opened.is_some() {
            opened.push(*ts);
        }
        if out.closed.is_some() {
            closed.push(*ts);
        }
        *ts += STEP_MS;
    }
    (opened, closed)
}

/// Exactly one event opened and one closed: opened within `open.1` ms after
/// `open.0`, closed within `close.1` ms after `close.0` (and not before it).
fn one_event(opened: &[i64], closed: &[i64], open: (i64, i64), close: (i64, i64)) {
    assert_eq!(opened.len(), 1, "one event: {opened:?}");
    let after_start = opened[0] - open.0;
    assert!(after_start <= open.1, "opened {after_start} ms in");
    assert_eq!(closed.len(), 1, "{closed:?}");
    let after_end = closed[0] - close.0;
    assert!(
        (0..=close.1).contains(&after_end),
        "closed {after_end} ms after the change was over"
    );
}

/// Memory ramps from 40 % to 70 %, falls back to 43 % when its cause is stopped,
/// then takes 5 minutes to drift the last 3 points home (as the 2-hour idle
/// trace's memory did after its ramp). The event closes within a minute of the
/// fall: the tail of a recovery is not the incident.
#[test]
fn an_event_closes_once_its_metric_has_come_most_of_the_way_back() {
    let (mut det, mut host, mut ts) = trained_detector(36);
    let ramp = (0..24).map(|i| 40.0 + 30.0 * f64::from(i) / 23.0);
    let tail = (0..60).map(|i| 43.0 - 3.0 * f64::from(i) / 59.0);
    let start = ts;
    let fell = ts + 24 * STEP_MS;
    let (opened, closed) = run_memory(
        &mut det,
        &mut host,
        &mut ts,
        ramp.chain(tail).chain([40.0; 24]),
    );
    one_event(&opened, &closed, (start, 60_000), (fell, 60_000));
}

/// The band an event's metric must come back to is the last hour's, from before
/// the event: on a host whose memory swung between 30 % and 70 % a day ago (so
/// the model's band spans it) but has held 40 % for the last hour, a ramp to 60 %
/// keeps its event open to the end of the ramp, and it closes once memory is back.
#[test]
fn a_ramp_inside_the_models_wide_band_keeps_its_event_open_until_it_is_over() {
    let mut host = Host::new(37);
    let mut det = LiveDetector::new(LiveConfig {
        host: "test".into(),
        buffer_secs: 86_400,
        ..Default::default()
    });
    let mut ts = 1_700_000_000_000i64;
    // Two hours of memory swinging 30-70 % over 20-minute waves, then one steady.
    for i in 0..2160 {
        let m = if i < 1440 {
            50.0 + 20.0 * (f64::from(i) * std::f64::consts::TAU / 240.0).sin()
        } else {
            40.0
        };
        det.observe(ts, &host.sample(0.0, m, 0.0, 1.0), &[], &[]);
        ts += STEP_MS;
    }
    let model = train(&det.training_rows(), &[], &Default::default()).unwrap();
    det.install_model(Arc::new(model)).unwrap();
    let m = det
        .config()
        .metric_names
        .iter()
        .position(|n| n == "memory_usage");
    let (lo, hi) = det.scorer.band(m.unwrap());
    assert!(
        lo < 35.0 && hi > 65.0,
        "the model's band is wide: {lo}..{hi}"
    );

    let start = ts;
    let end = ts + 36 * STEP_MS;
    let ramp = (0..36).map(|i| 40.0 + 20.0 * f64::from(i) / 35.0);
    let (opened, closed) = run_memory(&mut det, &mut host, &mut ts, ramp.chain([40.0; 36]));
    one_event(&opened, &closed, (start, 90_000), (end, 60_000));
}

#[test]
fn a_nightly_backup_seen_on_earlier_nights_is_flagged_expected_as_a_daily_pattern() {
    const MIN: i64 = 60_000;
    let mut host = Host::new(35);
    let mut det = LiveDetector::new(LiveConfig {
        host: "test".into(),
        self_train: true,
        retrain_every_secs: 6 * 3600,
        ..Default::default()
    });
    let midnight = 1_699_920_000_000i64; // 2023-11-14 00:00 UTC
    let backup = |host: &mut Host| {
        let mut v = host.sample(30.0, 40.0, 0.0, 1.0);
        v[idx("disk_write_bytes_per_sec")] *= 40.0;
        v[idx("disk_write_ops_per_sec")] *= 10.0;
        v
    };
    // Four days at 1 min; a 20-minute backup at 02:00 every night, and on day 2 the
    // same burst at 14:00 as well (not a rhythm).
    let mut events: Vec<AnomalyEvent> = vec![];
    for m in 0..4 * 1440i64 {
        let ts = midnight + m * MIN;
        let (day, minute) = (m / 1440, m % 1440);
        let busy = (120..140).contains(&minute) || (day == 1 && (840..860).contains(&minute));
        let row = if busy {
            backup(&mut host)
        } else {
            host.sample(0.0, 40.0, 0.0, 1.0)
        };
        let out = det.observe(ts, &row, &[], &[]);
        if let Some(e) = out.opened {
            events.push(e);
        }
        for e in [out.updated, out.closed].into_iter().flatten() {
            if let Some(last) = events.iter_mut().rev().find(|x| x.start == e.start) {
                *last = e;
            }
        }
    }
    let at = |e: &AnomalyEvent| {
        (
            (e.start - midnight) / MIN / 1440,
            (e.start - midnight) / MIN % 1440,
        )
    };
    let nightly: Vec<&AnomalyEvent> = events
        .iter()
        .filter(|e| (118..142).contains(&at(e).1))
        .collect();
    assert!(
        nightly.len() >= 3,
        "one event a night: {:?}",
        events.iter().map(at).collect::<Vec<_>>()
    );
    // Nights 1 and 2 are news; from night 3 on it is a rhythm.
    assert!(!nightly[0].expected && nightly[0].explanation.rhythm.is_none());
    let third = nightly
        .iter()
        .find(|e| at(e).0 == 2)
        .expect("an event on night 3");
    assert!(third.expected, "{:?}", third.explanation.rhythm);
    let why = third.explanation.rhythm.as_deref().unwrap_or("");
    assert!(why.starts_with("daily pattern: disk_write"), "{why}");
    // The same burst at another time of day is news.
    let afternoon = events
        .iter()
        .find(|e| at(e).0 == 1 && at(e).1 >= 838)
        .expect("the afternoon burst");
    assert!(!afternoon.expected && afternoon.explanation.rhythm.is_none());
    // The label carries the last night's event start: within the backup's first
    // minutes (the seasonal member, on by then, explains its first samples).
    let rhythms = det.state().rhythms;
    assert!(
        rhythms.iter().any(|r| {
            r.starts_with("daily pattern learnt: disk_write")
                && ["00", "01", "02", "03", "04", "05"]
                    .iter()
                    .any(|m| r.ends_with(&format!("at 02:{m} UTC")))
        }),
        "{rhythms:?}"
    );
}

/// Feeds `det` one row a `step` from `t0` for `n` steps (`row(ts)` gives it) and
/// returns the events opened, in their final form (updates and closes applied).
fn run_rows(
    det: &mut LiveDetector,
    t0: i64,
    step: i64,
    n: i64,
    mut row: impl FnMut(i64) -> Vec<f64>,
) -> Vec<AnomalyEvent> {
    let mut events: Vec<AnomalyEvent> = vec![];
    for k in 0..n {
        let ts = t0 + k * step;
        let out = det.observe(ts, &row(ts), &[], &[]);
        if let Some(e) = out.opened {
            events.push(e);
        }
        for e in [out.updated, out.closed].into_iter().flatten() {
            if let Some(last) = events.iter_mut().rev().find(|x| x.start == e.start) {
                *last = e;
            }
        }
    }
    events
}

/// A cron job's burst: CPU +30 points, disk writes 20x their bytes, 8x their ops.
fn cron_burst(host: &mut Host) -> Vec<f64> {
    let mut v = host.sample(30.0, 40.0, 0.0, 1.0);
    v[idx("disk_write_bytes_per_sec")] *= 20.0;
    v[idx("disk_write_ops_per_sec")] *= 8.0;
    v
}

/// Event `e` was recognised as a `kind` ("hourly", "weekly") pattern of
/// disk_write: its explanation says it was seen `seen` ("on 2 of the 2 weeks
/// before"), and the model panel lists the pattern learnt `when` ("at minute 17").
fn recognised(det: &LiveDetector, e: &AnomalyEvent, kind: &str, seen: &str, when: &str) {
    let why = e.explanation.rhythm.as_deref().unwrap_or("");
    assert!(
        why.starts_with(&format!("{kind} pattern: disk_write")) && why.ends_with(seen),
        "{why}"
    );
    let rhythms = det.state().rhythms;
    let learnt = format!("{kind} pattern learnt: disk_write");
    assert!(
        rhythms
            .iter()
            .any(|r| r.starts_with(&learnt) && r.ends_with(when)),
        "{rhythms:?}"
    );
}

/// An hourly cron job installed on a host the detector has learnt (2 hours at 30 s;
/// self-training every 2 hours, not hourly, to keep the test fast in debug): a
/// 2-minute burst at minute 17 of every hour from 02:00. Its first three runs are
/// news; the fourth recurs at the same minute on 3 of the 6 hours before, so it is
/// flagged expected as an hourly pattern (no alert) and listed in the model panel.
/// The trainings learn the rhythmic runs as normal: one run (4 rows, at 06:00) is
/// too few and the next two runs still open (expected) events; with three (08:00)
/// the job opens no event any more.
#[test]
fn an_hourly_cron_job_becomes_an_hourly_pattern_and_then_normal() {
    const SEC: i64 = 1000;
    const HOUR: i64 = 3600 * SEC;
    let step = 30 * SEC;
    let mut host = Host::new(41);
    let mut det = LiveDetector::new(LiveConfig {
        host: "test".into(),
        self_train: true,
        min_history_secs: 2 * 3600,
        retrain_every_secs: 2 * 3600,
        ..Default::default()
    });
    let t0 = 1_699_920_000_000i64; // 2023-11-14 00:00 UTC
    let hours = 10;
    let events = run_rows(&mut det, t0, step, hours * HOUR / step, |ts| {
        let (hour, minute) = ((ts - t0) / HOUR, (ts - t0) % HOUR / 60_000);
        if hour >= 2 && (17..19).contains(&minute) {
            cron_burst(&mut host)
        } else {
            host.sample(0.0, 40.0, 0.0, 1.0)
        }
    });
    let at = |e: &AnomalyEvent| ((e.start - t0) / HOUR, (e.start - t0) % HOUR / 60_000);
    let list: Vec<_> = events
        .iter()
        .map(|e| (at(e), e.expected, e.explanation.rhythm.is_some()))
        .collect();
    // One event per run of the job until it is learnt, none elsewhere.
    let hours_with_events: Vec<i64> = events.iter().map(|e| at(e).0).collect();
    assert_eq!(hours_with_events, vec![2, 3, 4, 5, 6, 7], "{list:?}");
    assert!(events.iter().all(|e| at(e).1 == 17), "{list:?}");
    for e in &events {
        assert!(
            top_three(e).iter().any(|m| m.starts_with("disk_write")),
            "{:?}",
            e.explanation
        );
    }
    // Runs 1-3 (02:17 to 04:17): news, an alert each.
    for e in &events[..3] {
        assert!(!e.expected && e.explanation.rhythm.is_none(), "{list:?}");
    }
    // Runs 4-6: an hourly pattern, expected; the fourth on 3 of the 6 hours before.
    for (e, hits) in events[3..].iter().zip([3, 4, 5]) {
        assert!(e.expected, "{list:?}");
        let seen = format!("on {hits} of the 6 hours before");
        recognised(&det, e, "hourly", &seen, "at minute 17");
    }
    // Trained at 02:00, 04:00, 06:00, 08:00: runs 7 and 8 (08:17, 09:17), after
    // the training that learnt runs 4-6 as normal, opened nothing (the list above).
    assert_eq!(det.state().model_version, Some(4));
}

/// A weekly job: a 20-minute backup every Sunday at 03:00 on a host sampled every
/// 60 s, three weeks (29,100 rows; retrained every 3 days to keep the test bounded
/// in debug, 12.5 s there, and first trained after 12 hours: at 60 s the default
/// first model, on the first hour's 60 rows, raised 38 events on noise before a
/// daily training replaced it, 9 when retrained every 6 hours). The first two
/// Sundays' runs are news (a week apart, nothing daily about them); the third recurs at the
/// same time of week in the 2 weeks before and is a weekly pattern.
///
/// Not weekly retraining: a self-training detector reads at least 2,048 rows (34 h
/// at 60 s) but leaves out only the events of the last 24 h, so a Monday 12:00
/// training learnt the Sunday 03:00 backup as normal and, kept for a week, let the
/// second Sunday's run open no event. Keeping the events as far back as the rows
/// read fixed that but cost the NAB protocol score 60.10 -> 48.66, so it is not
/// done; with the default hourly retraining the model that learnt the backup is
/// replaced within hours, and here the trainings (days 0.5, 3.5, 6.5, ... at
/// 12:00) fall on no Monday morning.
#[test]
fn a_sunday_backup_is_a_weekly_pattern_from_its_third_run() {
    const MIN: i64 = 60_000;
    const DAY: i64 = 1440 * MIN;
    let mut host = Host::new(42);
    let mut det = LiveDetector::new(LiveConfig {
        host: "test".into(),
        self_train: true,
        min_history_secs: 12 * 3600,
        retrain_every_secs: 3 * 86_400,
        ..Default::default()
    });
    let t0 = 1_699_833_600_000i64; // 2023-11-13 00:00 UTC, a Monday
                                   // Up to the third Sunday's 05:00.
    let events = run_rows(&mut det, t0, MIN, 20 * 1440 + 300, |ts| {
        let (day, minute) = ((ts - t0) / DAY, (ts - t0) % DAY / MIN);
        if day % 7 == 6 && (180..200).contains(&minute) {
            let mut v = host.sample(30.0, 40.0, 0.0, 1.0);
            v[idx("disk_write_bytes_per_sec")] *= 40.0;
            v[idx("disk_write_ops_per_sec")] *= 10.0;
            v
        } else {
            host.sample(0.0, 40.0, 0.0, 1.0)
        }
    });
    let at = |e: &AnomalyEvent| ((e.start - t0) / DAY, (e.start - t0) % DAY / MIN);
    let sundays: Vec<&AnomalyEvent> = events
        .iter()
        .filter(|e| at(e).0 % 7 == 6 && (175..205).contains(&at(e).1))
        .collect();
    let list: Vec<_> = sundays
        .iter()
        .map(|e| (at(e), e.expected, e.explanation.rhythm.clone()))
        .collect();
    assert_eq!(
        sundays.iter().map(|e| at(e).0).collect::<Vec<_>>(),
        vec![6, 13, 20],
        "one event a Sunday: {list:?}"
    );
    for e in &sundays[..2] {
        assert!(!e.expected && e.explanation.rhythm.is_none(), "{list:?}");
    }
    let third = sundays[2];
    assert!(third.expected, "{list:?}");
    recognised(
        &det,
        third,
        "weekly",
        "on 2 of the 2 weeks before",
        "at 03:00 UTC",
    );
    // No other event in the three weeks.
    let others: Vec<_> = events
        .iter()
        .filter(|e| !sundays.iter().any(|s| s.start == e.start))
        .map(at)
        .collect();
    assert!(others.is_empty(), "{others:?}");
}
