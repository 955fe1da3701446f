//! Anomaly detection results: scores, explanations and events (`GET /api/anomalies`,
//! `POST /api/anomalies/{id}/expected`).

use super::{ApiBody, ProcessInfo, TimestampMs};
use serde::{Deserialize, Serialize};

/// The detector's verdict on one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AnomalyScore {
    pub timestamp: TimestampMs,
    /// The combined surprise, -log10 of the Bonferroni-corrected smallest member
    /// p-value: how unusual this sample is, whether or not it is news. What events,
    /// anomaly alert rules, the stored `anomaly_score` and the dashboard's chart use.
    pub combined: f64,
    /// Each enabled ensemble member's surprise, by member name ("baseline",
    /// "forest", "pca").
    pub members: Vec<MemberScore>,
    /// The alarm score: `combined` where it is a new high of the current episode (the
    /// onset of a change, or the change getting worse), else 0 (see `detect::onset`).
    /// What `lookout detect` prints as its score: one alarm per change, at its start.
    #[serde(default)]
    pub alarm: f64,
    /// `combined` is over the decision threshold.
    pub anomalous: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MemberScore {
    pub member: String,
    pub score: f64,
}

/// How much one metric contributed to an anomalous moment, against its learnt band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MetricContribution {
    pub metric: String,
    pub value: f64,
    /// Normal band learnt at training time (e.g. 1st..99th percentile or median +- k MAD).
    pub normal_low: f64,
    pub normal_high: f64,
    /// Share of the anomaly attributed to this metric, 0..1 (all contributions sum to ~1).
    pub contribution: f64,
}

/// Why a moment was anomalous: top metrics and the busiest processes at the peak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Explanation {
    pub metrics: Vec<MetricContribution>,
    pub top_cpu: Vec<ProcessInfo>,
    pub top_memory: Vec<ProcessInfo>,
    /// Set when the event recurs on a rhythm the detector has seen ("daily pattern:
    /// also at this time on 3 earlier days"); such events are flagged expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhythm: Option<String>,
    /// Resource causes seen when the event opened: CPU throttling or the memory limit of
    /// the container, OOM kills, pressure stall ("CPU throttled 38 % of periods in the
    /// last minute (container: 0.5 CPU, 512 MiB)"). See `lookout::detect::causes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
}

/// An anomaly event: a stretch of samples whose score stayed over the threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AnomalyEvent {
    /// Store id; 0 until stored.
    pub id: i64,
    pub host: String,
    pub start: TimestampMs,
    /// None while the event is open.
    pub end: Option<TimestampMs>,
    pub peak_score: f64,
    pub peak_at: TimestampMs,
    pub explanation: Explanation,
    /// An admin marked it expected (e.g. a nightly backup): treated as normal in training.
    pub expected: bool,
}

/// `GET /api/anomalies`: the events overlapping `from..to`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AnomalyList {
    pub from: TimestampMs,
    pub to: TimestampMs,
    pub events: Vec<AnomalyEvent>,
}

/// `POST /api/anomalies/{id}/expected` (the body is optional; `false` undoes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedRequest {
    #[serde(default = "yes")]
    pub expected: bool,
}

impl Default for ExpectedRequest {
    fn default() -> Self {
        ExpectedRequest { expected: true }
    }
}

fn yes() -> bool {
    true
}

impl ApiBody for AnomalyEvent {
    fn example() -> Self {
        let (top_cpu, top_memory) = super::metrics::example_processes();
        AnomalyEvent {
            id: 7,
            host: "web-1".into(),
            start: 1_764_084_700_000,
            end: Some(1_764_084_900_000),
            peak_score: 6.2,
            peak_at: 1_764_084_760_000,
            explanation: Explanation {
                metrics: vec![MetricContribution {
                    metric: "cpu_usage".into(),
                    value: 97.0,
                    normal_low: 8.0,
                    normal_high: 22.0,
                    contribution: 0.8,
                }],
                top_cpu,
                top_memory,
                rhythm: Some("daily pattern: also at this time on 3 earlier days".into()),
                // Named only in a container or under pressure (docs/api.md says so).
                causes: Vec::new(),
            },
            expected: false,
        }
    }
}

impl ApiBody for AnomalyList {
    fn example() -> Self {
        AnomalyList {
            from: 1_763_998_600_000,
            to: 1_764_085_000_000,
            events: vec![AnomalyEvent::example()],
        }
    }
}

impl ApiBody for ExpectedRequest {
    fn example() -> Self {
        ExpectedRequest { expected: true }
    }
}
