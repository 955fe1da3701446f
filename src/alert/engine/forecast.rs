//! Forecast rules' inputs: which metrics to keep a trend for, seeding them from the
//! store, and the forecast a rule reads.

use super::AlertEngine;
use crate::alert::rules::RuleKind;
use crate::model::TimestampMs;

impl AlertEngine {
    /// The metrics forecast rules read, with the history each needs (the longest
    /// lookback among its rules).
    pub fn forecast_metrics(&self) -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = Vec::new();
        for r in self.rules.iter().filter(|r| r.enabled) {
            if let RuleKind::Forecast(f) = &r.kind {
                let keep = crate::forecast::lookback_ms(f.within_ms);
                match out.iter_mut().find(|(m, _)| *m == f.metric) {
                    Some(e) => e.1 = e.1.max(keep),
                    None => out.push((f.metric.clone(), keep)),
                }
            }
        }
        out
    }

    /// The forecast metrics of this host whose buffers still lack their stored
    /// history (none read yet, or a rule edit asked for a longer lookback), with the
    /// lookback to read: what the caller passes to [`AlertEngine::seed_trend`].
    pub fn forecast_metrics_to_seed(&self) -> Vec<(String, i64)> {
        let host = self.host_name("");
        self.forecast_metrics()
            .into_iter()
            .filter(|(m, keep)| {
                self.seeded
                    .get(&(host.clone(), m.clone()))
                    .is_none_or(|done| done < keep)
            })
            .collect()
    }

    /// Loads stored history of `metric` for `host` (empty = this host) into its
    /// forecast buffer, oldest first, so forecast rules work at once after a restart
    /// or a rule edit. Samples buffered meanwhile stay: history only fills the minutes
    /// before them.
    pub fn seed_trend(&mut self, host: &str, metric: &str, points: &[(TimestampMs, f64)]) {
        let host = self.host_name(host);
        let keep = self
            .forecast_metrics()
            .into_iter()
            .find(|(m, _)| m == metric)
            .map_or(
                crate::forecast::lookback_ms(crate::forecast::MAX_HORIZON_MS),
                |e| e.1,
            );
        let key = (host, metric.to_string());
        self.trends
            .entry(key.clone())
            .or_default()
            .backfill(points, keep);
        self.seeded.insert(key, keep);
    }

    /// The forecast a forecast rule sees now for `host` (None: no samples buffered).
    pub fn forecast_for(
        &self,
        f: &crate::alert::rules::ForecastRule,
        host: &str,
        now: TimestampMs,
    ) -> Option<crate::forecast::Forecast> {
        let b = self.trends.get(&(self.host_name(host), f.metric.clone()))?;
        if b.is_empty() {
            return None;
        }
        let subject = crate::forecast::Subject::crossing(&f.metric, f.op.as_str(), f.value);
        Some(crate::forecast::forecast(
            &subject,
            &b.points(),
            now,
            f.within_ms,
        ))
    }
}
