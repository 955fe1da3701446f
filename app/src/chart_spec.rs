//! What each chart draws and its Chart.js configuration, built as JSON. Kept apart from
//! the wasm binding (`chart.rs`, browser only) so the config is unit tested on the host.

use lookout::model::Unit;
// `Value` here is not the server's API: it is the Chart.js configuration object, a
// free-form structure of a JavaScript library, handed to `JSON.parse` in chart.rs.
use serde_json::{json, Value};

/// One line chart of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartSpec {
    /// The canvas id (`chart-<id>`), also used by the end-to-end tests.
    pub id: &'static str,
    pub title: &'static str,
    /// (metric, legend label) per line.
    pub lines: &'static [(&'static str, &'static str)],
    pub unit: Unit,
    /// Fixed y maximum (percentages); otherwise Chart.js scales to the data.
    pub y_max: Option<f64>,
}

pub const CHARTS: &[ChartSpec] = &[
    ChartSpec {
        id: "cpu",
        title: "CPU",
        lines: &[("cpu_usage", "CPU busy")],
        unit: Unit::Percent,
        y_max: Some(100.0),
    },
    ChartSpec {
        id: "memory",
        title: "Memory",
        lines: &[("memory_usage", "memory used")],
        unit: Unit::Percent,
        y_max: Some(100.0),
    },
    ChartSpec {
        id: "load",
        title: "Load average",
        lines: &[
            ("load_1", "1 min"),
            ("load_5", "5 min"),
            ("load_15", "15 min"),
        ],
        unit: Unit::Load,
        y_max: None,
    },
    ChartSpec {
        id: "disk",
        title: "Disk I/O",
        lines: &[
            ("disk_read_bytes_per_sec", "read"),
            ("disk_write_bytes_per_sec", "write"),
        ],
        unit: Unit::BytesPerSec,
        y_max: None,
    },
    ChartSpec {
        id: "network",
        title: "Network I/O",
        lines: &[
            ("net_rx_bytes_per_sec", "received"),
            ("net_tx_bytes_per_sec", "sent"),
        ],
        unit: Unit::BytesPerSec,
        y_max: None,
    },
    ChartSpec {
        id: "pressure",
        title: "Pressure stall (some, avg10)",
        lines: &[
            ("psi_cpu_some", "CPU"),
            ("psi_memory_some", "memory"),
            ("psi_io_some", "I/O"),
        ],
        unit: Unit::Percent,
        y_max: Some(100.0),
    },
];

/// The anomaly-score chart, under the metric charts (the surprise, -log10 of a
/// per-sample probability, from 0 with no upper bound; the threshold dashed).
pub const SCORE_CHART: ChartSpec = ChartSpec {
    id: "score",
    title: "Anomaly score",
    lines: &[("anomaly_score", "score")],
    unit: Unit::Load,
    y_max: None,
};

/// Colours that read on the page's light or dark background (see style/main.css).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Palette {
    pub text: &'static str,
    pub grid: &'static str,
    pub lines: [&'static str; 3],
    /// Shaded anomaly periods and the threshold line.
    pub band: &'static str,
    pub threshold: &'static str,
}

pub const LIGHT: Palette = Palette {
    text: "#4b5563",
    grid: "rgba(0,0,0,0.08)",
    lines: ["#2563eb", "#db2777", "#059669"],
    band: "rgba(220,38,38,0.14)",
    threshold: "#dc2626",
};

pub const DARK: Palette = Palette {
    text: "#cbd5e1",
    grid: "rgba(255,255,255,0.10)",
    lines: ["#60a5fa", "#f472b6", "#34d399"],
    band: "rgba(248,113,113,0.20)",
    threshold: "#f87171",
};

/// The Chart.js config for a spec, with empty data. Animation is off: live updates come
/// every second and screenshots must be deterministic. Tick and tooltip formatters are
/// functions, which JSON cannot carry; the binding attaches them afterwards.
pub fn config(spec: &ChartSpec, palette: &Palette) -> Value {
    let datasets: Vec<Value> = spec
        .lines
        .iter()
        .enumerate()
        .map(|(i, (_, label))| {
            let color = palette.lines[i % palette.lines.len()];
            json!({
                "label": label,
                "data": [],
                "borderColor": color,
                "backgroundColor": color,
                "borderWidth": 1.5,
                "pointRadius": 0,
                "pointHitRadius": 6,
                "tension": 0,
                "spanGaps": false,
            })
        })
        .collect();
    let mut y = json!({
        "beginAtZero": true,
        "min": 0,
        "ticks": { "color": palette.text, "maxTicksLimit": 5 },
        "grid": { "color": palette.grid },
    });
    if let Some(max) = spec.y_max {
        y["max"] = json!(max);
    }
    // Whole-unit steps for byte rates: on an idle link the axis would otherwise read
    // "0 B/s, 0 B/s, 1 B/s" (0.5 rounded by the formatter).
    if matches!(spec.unit, Unit::BytesPerSec | Unit::Bytes | Unit::Count) {
        y["ticks"]["precision"] = json!(0);
    }
    json!({
        "type": "line",
        "data": { "labels": [], "datasets": datasets },
        "options": {
            "animation": false,
            "responsive": true,
            "maintainAspectRatio": false,
            "normalized": true,
            "interaction": { "mode": "index", "intersect": false },
            "scales": {
                "x": {
                    "ticks": {
                        "color": palette.text,
                        "maxTicksLimit": 6,
                        "maxRotation": 0,
                        "autoSkip": true,
                    },
                    "grid": { "color": palette.grid },
                },
                "y": y,
            },
            "plugins": {
                "legend": {
                    "display": spec.lines.len() > 1,
                    "labels": { "color": palette.text, "boxWidth": 12 },
                },
                "tooltip": { "enabled": true },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CHART_METRICS;

    #[test]
    fn every_charted_metric_is_queried() {
        let charted: Vec<&str> = CHARTS
            .iter()
            .chain([&SCORE_CHART])
            .flat_map(|c| c.lines.iter().map(|l| l.0))
            .collect();
        assert_eq!(charted, CHART_METRICS);
    }

    #[test]
    fn config_shape() {
        let c = config(&CHARTS[2], &DARK);
        assert_eq!(c["type"], "line");
        assert_eq!(c["options"]["animation"], false);
        assert_eq!(c["data"]["datasets"].as_array().unwrap().len(), 3);
        assert_eq!(c["data"]["datasets"][1]["borderColor"], DARK.lines[1]);
        assert_eq!(c["options"]["plugins"]["legend"]["display"], true);
        assert!(c["options"]["scales"]["y"].get("max").is_none());
        let cpu = config(&CHARTS[0], &LIGHT);
        assert_eq!(cpu["options"]["scales"]["y"]["max"], 100.0);
        assert_eq!(cpu["options"]["plugins"]["legend"]["display"], false);
        assert!(cpu["options"]["scales"]["y"]["ticks"]
            .get("precision")
            .is_none());
        let net = config(&CHARTS[4], &LIGHT);
        assert_eq!(net["options"]["scales"]["y"]["ticks"]["precision"], 0);
    }
}
