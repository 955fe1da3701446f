//! `GET /metrics/prometheus`: the Prometheus text exposition format (0.0.4), encoded
//! by the `prometheus-client` crate from a registry built per scrape out of the latest
//! snapshots (one per host; a hub passes every host). Building per scrape keeps no
//! second copy of the state and cannot serve a host that went away.

use super::prometheus_names::{host_series, HostView, Series};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// The `Content-Type` of the body [`render`] returns.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

type GaugeFamily = Family<Vec<(String, String)>, Gauge<f64, AtomicU64>>;

/// The exposition of `hosts` plus `extra` series (the server's own health, such as
/// the remote_write queue). Series of one name are one family whatever host they
/// come from, in first-seen order.
pub fn render(hosts: &[HostView<'_>], extra: &[Series]) -> String {
    let mut registry = Registry::default();
    let mut families: Vec<(&'static str, GaugeFamily)> = Vec::new();
    let all = hosts
        .iter()
        .flat_map(|h| host_series(*h))
        .chain(extra.iter().cloned());
    for s in all {
        let family = match families.iter().find(|(n, _)| *n == s.name) {
            Some((_, f)) => f.clone(),
            None => {
                let f = GaugeFamily::default();
                registry.register(s.name, s.help, f.clone());
                families.push((s.name, f.clone()));
                f
            }
        };
        let labels: Vec<(String, String)> = s
            .labels
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        family.get_or_create(&labels).set(s.value);
    }
    let mut out = String::with_capacity(16 * 1024);
    prometheus_text::encode(&mut out, &registry).expect("writing to a String cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ApiBody, Snapshot};

    #[test]
    fn the_text_has_help_type_and_host_labels_for_every_host() {
        let a = Snapshot::example();
        let mut b = Snapshot::example();
        b.host = "db-2".into();
        b.cpu.total = 7.25;
        let text = render(
            &[
                HostView {
                    snapshot: &a,
                    event_open: Some(false),
                },
                HostView {
                    snapshot: &b,
                    event_open: None,
                },
            ],
            &[],
        );
        assert!(
            text.contains("# TYPE lookout_cpu_usage_percent gauge"),
            "{text}"
        );
        assert!(
            text.contains("lookout_cpu_usage_percent{host=\"db-2\"} 7.25"),
            "{text}"
        );
        assert!(
            text.contains("lookout_anomaly_event_open{host=\"web-1\"} 0"),
            "{text}"
        );
        assert!(
            !text.contains("lookout_anomaly_event_open{host=\"db-2\"}"),
            "{text}"
        );
        // One HELP per family, not one per host.
        assert_eq!(text.matches("# HELP lookout_cpu_usage_percent ").count(), 1);
    }
}
