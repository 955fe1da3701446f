//! The detector's reads of the store: the one place that turns stored samples and
//! stored events into a model (the server's scheduled and on-demand trainings and
//! `lookout model train` all come here, so they read the same rows and leave out the
//! same events), and the seasonal profile's days from the rollups.

use super::seasonal::{HistoryRequest, SlotSummary};
use super::{train_excluding, DetectError, ExpectedInterval, TrainedModel, TrainingPlan};
use crate::model::{detector_metric_names, TimestampMs};
use crate::store::{Store, StoreError};

/// Why a training from the store failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainFromStoreError {
    #[error("cannot read the stored samples or events: {0}")]
    Store(#[from] StoreError),
    #[error("training failed: {0}")]
    Detect(#[from] DetectError),
}

/// Stored rows cut to the detector's features: the leading columns of
/// `model::METRICS` (see `model::detector_metric_names`; the container and pressure
/// columns after them are stored but are not detector inputs).
pub fn detector_columns(mut rows: Vec<(TimestampMs, Vec<f64>)>) -> Vec<(TimestampMs, Vec<f64>)> {
    let n = detector_metric_names().len();
    for (_, r) in &mut rows {
        r.truncate(n);
    }
    rows
}

/// Expected intervals (learnt as normal) and anomalous ones (left out).
pub type StoredIntervals = (Vec<ExpectedInterval>, Vec<(TimestampMs, TimestampMs)>);

/// The stored events of `from..to` as training reads them, from one query: those
/// marked expected become intervals learnt as normal (for the metrics they name), the
/// others intervals left out of "normal" (see [`train_excluding`]); an open event
/// runs to `to`.
pub fn stored_intervals(
    store: &Store,
    from: TimestampMs,
    to: TimestampMs,
) -> Result<StoredIntervals, StoreError> {
    let (mut expected, mut anomalous) = (Vec::new(), Vec::new());
    for e in store.events(from, to)? {
        let end = e.end.unwrap_or(to);
        if e.expected {
            expected.push(ExpectedInterval {
                start: e.start,
                end,
                metrics: e
                    .explanation
                    .metrics
                    .iter()
                    .map(|m| m.metric.clone())
                    .collect(),
            });
        } else {
            anomalous.push((e.start, end));
        }
    }
    Ok((expected, anomalous))
}

/// Trains on the stored rows of `plan.from..plan.to`, learning `plan.expected` and the
/// stored expected events as normal and leaving out `plan.anomalous` and the stored
/// unexpected events (the detector may not remember events from before a restart).
pub fn train_from_store(
    store: &Store,
    mut plan: TrainingPlan,
) -> Result<TrainedModel, TrainFromStoreError> {
    let rows = detector_columns(store.raw_range(plan.from, plan.to)?);
    let (expected, anomalous) = stored_intervals(store, plan.from, plan.to)?;
    plan.expected.extend(expected);
    plan.anomalous.extend(anomalous);
    Ok(train_excluding(
        &rows,
        &plan.expected,
        &plan.anomalous,
        &plan.params,
    )?)
}

/// The seasonal profile's history for `request` (see `LiveDetector::seasonal_load_due`):
/// one summary per slot holding any detector metric, in time order, from the
/// 1-minute rollups and the raw samples after them. The profile then keeps only its
/// bands, and a restart keeps the daily pattern learnt.
pub fn seasonal_history(
    store: &Store,
    request: &HistoryRequest,
) -> Result<Vec<SlotSummary>, StoreError> {
    let names = detector_metric_names();
    let n = names.len();
    let per_metric = store.aggregates(&names, request.from, request.to, request.slot_ms)?;
    let mut slots: std::collections::BTreeMap<TimestampMs, SlotSummary> = Default::default();
    for (m, series) in per_metric.into_iter().enumerate() {
        for (start, a) in series {
            let s = slots.entry(start).or_insert_with(|| SlotSummary {
                start,
                lo: vec![f64::NAN; n],
                hi: vec![f64::NAN; n],
                mean: vec![f64::NAN; n],
            });
            s.lo[m] = a.min;
            s.hi[m] = a.max;
            s.mean[m] = a.mean;
        }
    }
    Ok(slots.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::TrainParams;
    use crate::model::{AnomalyEvent, Explanation, MetricContribution, Snapshot};

    const T0: TimestampMs = 1_700_000_000_000;

    fn event(start: TimestampMs, end: TimestampMs, expected: bool) -> AnomalyEvent {
        AnomalyEvent {
            id: 0,
            host: "h".into(),
            start,
            end: Some(end),
            peak_score: 5.0,
            peak_at: start,
            expected,
            explanation: Explanation {
                metrics: vec![MetricContribution {
                    metric: "cpu_usage".into(),
                    value: 90.0,
                    normal_low: 1.0,
                    normal_high: 10.0,
                    contribution: 1.0,
                }],
                ..Explanation::default()
            },
        }
    }

    #[test]
    fn a_training_reads_the_window_and_the_stored_events() {
        let (_dir, store) = crate::store::tests::temp_store("h");
        // 3,000 rows at 1 s; an unexpected event over rows 1000..1800 (over the share
        // a training may leave out, so it says so) and an expected one over 2000..2100.
        let rows: Vec<Snapshot> = (0..3000)
            .map(|i| Snapshot {
                host: "h".into(),
                timestamp: T0 + i * 1000,
                cpu_usage: 5.0 + (i % 7) as f64,
                ..Snapshot::default()
            })
            .collect();
        store.insert(&rows).unwrap();
        store
            .save_event(&event(T0 + 1_000_000, T0 + 1_799_000, false))
            .unwrap();
        store
            .save_event(&event(T0 + 2_000_000, T0 + 2_099_000, true))
            .unwrap();

        let (expected, anomalous) = stored_intervals(&store, T0, T0 + 3_000_000).unwrap();
        assert_eq!(anomalous, [(T0 + 1_000_000, T0 + 1_799_000)]);
        assert_eq!(expected.len(), 1);
        assert_eq!(expected[0].metrics, ["cpu_usage"]);

        let plan = TrainingPlan {
            from: T0,
            to: T0 + 3_000_000,
            expected: Vec::new(),
            anomalous: Vec::new(),
            params: TrainParams {
                metric_names: detector_metric_names(),
                ..TrainParams::default()
            },
        };
        let model = train_from_store(&store, plan).unwrap();
        assert_eq!(model.samples, 3000);
        // The stored events reached the training: the unexpected one as rows to leave
        // out (too many here: the training says so and keeps them), the expected one
        // as an interval the model carries.
        assert!(
            model
                .warnings
                .iter()
                .any(|w| w.contains("800 of 3000 rows are in past anomaly events")),
            "{:?}",
            model.warnings
        );
        assert_eq!(model.expected.len(), 1);
        assert_eq!(model.expected[0].start, T0 + 2_000_000);
        // Columns past the detector's features are not read.
        let stored = store.raw_range(T0, T0 + 1).unwrap();
        assert!(stored[0].1.len() > detector_metric_names().len());
        assert_eq!(
            detector_columns(stored)[0].1.len(),
            detector_metric_names().len()
        );
    }

    /// The server's detector reads its daily profile from the store: after 4 days of
    /// samples with a nightly backup (rolled up, plus raw samples past the rollups'
    /// mark), a detector made now (as after a restart) has the daily pattern at once,
    /// and the backup's time of day is explained where the same level at 14:00 is not.
    #[test]
    fn a_detector_reads_its_daily_profile_from_the_store_and_keeps_it_across_a_restart() {
        use crate::detect::seasonal::{SeasonalParams, SeasonalProfile, DAY_MS};
        use crate::detect::{LiveConfig, LiveDetector, ProfileHistory};
        let (_dir, store) = crate::store::tests::temp_store("h");
        // UTC midnight: 2023-11-15.
        let day0 = 1_700_006_400_000 - 1_700_006_400_000 % DAY_MS;
        let cpu = |minute: i64| {
            let tod = minute % 1440;
            let noise = ((minute * 7919) % 100) as f64 / 100.0;
            if (120..140).contains(&tod) {
                90.0 + noise
            } else {
                10.0 + noise
            }
        };
        let rows: Vec<Snapshot> = (0..4 * 1440)
            .map(|minute| Snapshot {
                host: "h".into(),
                timestamp: day0 + minute * 60_000,
                cpu_usage: cpu(minute),
                // The stored `cpu_usage` column is the snapshot's `cpu.total`.
                cpu: crate::model::CpuStats {
                    total: cpu(minute),
                    ..Default::default()
                },
                ..Snapshot::default()
            })
            .collect();
        store.insert(&rows[..4 * 1440 - 90]).unwrap();
        store.maintain(day0 + (4 * 1440 - 90) * 60_000).unwrap();
        store.insert(&rows[4 * 1440 - 90..]).unwrap();

        let now = day0 + 4 * DAY_MS;
        let mut det = LiveDetector::new(LiveConfig {
            host: "h".into(),
            seasonal_loaded: true,
            metric_names: detector_metric_names(),
            ..LiveConfig::default()
        });
        let request = det
            .seasonal_load_due(now)
            .expect("due before the first load");
        assert_eq!(request.from, day0 - 3 * DAY_MS);
        let history = seasonal_history(&store, &request).unwrap();
        // Every 5-minute slot of the 4 days, the last 90 minutes from raw samples.
        assert_eq!(history.len(), 4 * 288);
        // 02:10..02:15 on day 0: the backup's highest, exactly as stored.
        let highest = (130..135).map(cpu).fold(f64::MIN, f64::max);
        assert_eq!(history[26].hi[0], highest);
        assert_eq!(history[26].start, day0 + 130 * 60_000);
        assert!(history
            .iter()
            .all(|s| s.lo[0] <= s.mean[0] && s.mean[0] <= s.hi[0]));
        det.load_seasonal(&request, history.iter());
        assert!(det.seasonal_load_due(now).is_none(), "loaded");
        assert!(
            det.state().daily_pattern,
            "the daily pattern is learnt at once"
        );

        let mut p = SeasonalProfile::new(detector_metric_names().len(), SeasonalParams::default());
        p.set_history(ProfileHistory::Loaded);
        p.load(now, history.iter());
        let mut row = vec![0.0; detector_metric_names().len()];
        row[0] = 90.5;
        assert!(p.observe(now + 130 * 60_000, &row).unwrap().explained);
        assert!(!p.observe(now + 840 * 60_000, &row).unwrap().explained);
    }
}
