//! Anomaly detection as the dashboard shows it: explanation lines, the shaded periods of
//! the charts, and the model state read from `/api/model`. Pure data, unit tested on the
//! host; the components render it.

use lookout::model::{metric_def, AnomalyEvent, MetricContribution, ModelReport, Unit};

use crate::format;

/// `cpu_usage 97.0 % — normal 8.0 %–22.0 %`, formatted in the metric's unit.
pub fn explain_line(m: &MetricContribution) -> String {
    let unit = metric_def(&m.metric).map_or(Unit::Load, |d| d.unit);
    format!(
        "{} {} — normal {}–{}",
        m.metric,
        format::by_unit(unit, m.value),
        format::by_unit(unit, m.normal_low),
        format::by_unit(unit, m.normal_high)
    )
}

/// The shaded boxes of a chart: for each event overlapping the time axis, the first and
/// last index of the axis it covers. An event shorter than one bucket still gets the
/// nearest point, so no event disappears at a coarse range. Open events run to `now`.
pub fn bands(times: &[i64], events: &[AnomalyEvent], now: i64) -> Vec<(usize, usize)> {
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in events {
        let end = e.end.unwrap_or(now).max(e.start);
        if end < first || e.start > last {
            continue;
        }
        let i0 = times.partition_point(|t| *t < e.start).min(times.len() - 1);
        let i1 = times
            .partition_point(|t| *t <= end)
            .saturating_sub(1)
            .max(i0);
        out.push((i0, i1));
    }
    out.sort_unstable();
    out
}

/// A stored model version: (version, trained_at, samples, members).
pub type VersionRow = (u64, Option<i64>, Option<u64>, Vec<String>);

/// What the model panel shows, from `/api/model`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelView {
    pub enabled: bool,
    pub phase: String,
    pub message: String,
    pub model_version: Option<u64>,
    pub trained_at: Option<i64>,
    pub trained_samples: Option<u64>,
    pub active_members: Vec<String>,
    pub threshold: Option<f64>,
    pub sensitivity: String,
    pub training: bool,
    pub last_error: Option<String>,
    pub next_training_at: Option<i64>,
    /// (version, trained_at, samples, members)
    pub versions: Vec<VersionRow>,
    pub warnings: Vec<String>,
    /// Rhythms learnt from recurring events ("daily pattern learnt: ... at 02:00 UTC").
    pub rhythms: Vec<String>,
    /// Changes accepted as the new normal, and after how long a steady change is.
    pub adaptations: u64,
    pub adapt_after_secs: Option<i64>,
}

impl ModelView {
    pub fn from_report(r: &ModelReport) -> ModelView {
        let Some(d) = &r.detector else {
            return ModelView {
                enabled: r.enabled,
                ..ModelView::default()
            };
        };
        let s = &d.state;
        let t = &d.training;
        ModelView {
            enabled: r.enabled,
            phase: s.phase.as_str().to_string(),
            message: s.message.clone(),
            model_version: s.model_version,
            trained_at: s.trained_at,
            trained_samples: s.trained_samples,
            active_members: s.active_members.clone(),
            threshold: Some(s.threshold),
            rhythms: s.rhythms.clone(),
            adaptations: s.adaptations,
            adapt_after_secs: Some(s.adapt_after_secs),
            sensitivity: d.sensitivity.clone(),
            training: t.training,
            last_error: t.last_error.clone(),
            next_training_at: t.next_training_at,
            versions: d
                .versions
                .iter()
                .map(|x| {
                    (
                        x.version,
                        Some(x.trained_at),
                        Some(x.samples),
                        x.members.clone(),
                    )
                })
                .collect(),
            warnings: d.warnings.clone(),
        }
    }

    /// The state line: the server's learning message, or "trained at …, on N samples
    /// (vN)" with the time in the viewer's zone (`clock` formats a time stamp).
    pub fn state_line(&self, clock: impl Fn(i64) -> String) -> String {
        if !self.enabled {
            return "anomaly detection is off".into();
        }
        match (self.phase.as_str(), self.trained_at) {
            ("trained", Some(at)) => {
                let mut line = format!("trained at {}", clock(at));
                if let Some(n) = self.trained_samples {
                    line.push_str(&format!(", on {} samples", format::count(n)));
                }
                if let Some(v) = self.model_version {
                    line.push_str(&format!(" (v{v})"));
                }
                line
            }
            _ if !self.message.is_empty() => self.message.clone(),
            _ => self.phase.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(start: i64, end: Option<i64>) -> AnomalyEvent {
        AnomalyEvent {
            start,
            end,
            ..Default::default()
        }
    }

    #[test]
    fn explanation_uses_units() {
        let m = MetricContribution {
            metric: "cpu_usage".into(),
            value: 97.0,
            normal_low: 8.0,
            normal_high: 22.0,
            contribution: 0.8,
        };
        assert_eq!(explain_line(&m), "cpu_usage 97.0 % — normal 8.0 %–22.0 %");
    }

    #[test]
    fn bands_cover_the_axis_points() {
        let times = [0, 10, 20, 30, 40];
        let b = bands(
            &times,
            &[
                event(9, Some(21)),
                event(100, None),
                event(-50, Some(-1)),
                event(12, Some(13)),
                event(35, None),
            ],
            45,
        );
        assert_eq!(b, vec![(1, 2), (2, 2), (4, 4)]);
        assert!(bands(&[], &[event(0, None)], 1).is_empty());
    }

    #[test]
    fn model_view_reads_the_api() {
        let v: ModelReport = serde_json::from_str(
            r#"{"enabled": true, "sensitivity": "medium",
            "state": {"phase": "learning", "message": "learning: 14 of 60 minutes",
                      "baseline_ready": true, "history_secs": 840, "required_secs": 3600,
                      "model_version": null, "trained_at": null, "trained_samples": null,
                      "active_members": ["baseline"], "threshold": 3.0,
                      "rhythms": ["daily pattern learnt: disk_write_bytes_per_sec at 02:00 UTC"],
                      "adaptations": 2, "adapt_after_secs": 1800},
            "training": {"training": false, "last_error": null, "last_trained_at": null,
                         "next_training_at": 5},
            "versions": [{"version": 2, "path": "v2.json", "format_version": 2,
                          "trained_at": 7, "window": [1, 7], "samples": 300,
                          "members": ["forest"], "features": 24,
                          "rolled_back_from": null, "eval": null}],
            "warnings": []}"#,
        )
        .unwrap();
        let m = ModelView::from_report(&v);
        assert_eq!(
            m.state_line(|t| t.to_string()),
            "learning: 14 of 60 minutes"
        );
        assert_eq!(m.threshold, Some(3.0));
        assert_eq!(m.rhythms.len(), 1);
        assert_eq!((m.adaptations, m.adapt_after_secs), (2, Some(1800)));
        assert_eq!(
            m.versions,
            vec![(2, Some(7), Some(300), vec!["forest".into()])]
        );
        let mut t = m.clone();
        t.phase = "trained".into();
        t.trained_at = Some(1);
        t.trained_samples = Some(3600);
        t.model_version = Some(3);
        assert_eq!(
            t.state_line(|_| "12:00".into()),
            "trained at 12:00, on 3\u{202f}600 samples (v3)"
        );
        assert_eq!(
            ModelView::from_report(&serde_json::from_str(r#"{"enabled": false}"#).unwrap())
                .state_line(|_| String::new()),
            "anomaly detection is off"
        );
    }
}
