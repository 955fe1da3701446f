//! What each chart draws and its Chart.js configuration, built as JSON. Kept apart from
//! the wasm binding (`chart.rs`, browser only) so the config is unit tested on the host.

use lookout::model::{Forecast, Unit};
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
    /// The forecast (a `/api/forecast` metric) drawn dashed, with its band, past the
    /// newest point, in the chart's unit: `memory_used_bytes` on the memory chart is
    /// scaled to percent of its bound (memory total). [`FULLEST_FILESYSTEM`] picks the
    /// fullest filesystem's forecast (used bytes), drawn as its free percent.
    pub forecast: Option<&'static str>,
}

/// The forecast selector of the disk space chart: of the `filesystem:<mount>`
/// forecasts, the one with the least room left, as `disk_free_percent` is the fullest
/// filesystem's free space.
pub const FULLEST_FILESYSTEM: &str = "filesystem";

pub const CHARTS: &[ChartSpec] = &[
    ChartSpec {
        id: "cpu",
        title: "CPU",
        lines: &[("cpu_usage", "CPU busy")],
        unit: Unit::Percent,
        y_max: Some(100.0),
        forecast: None,
    },
    ChartSpec {
        id: "memory",
        title: "Memory",
        lines: &[("memory_usage", "memory used")],
        unit: Unit::Percent,
        y_max: Some(100.0),
        forecast: Some("memory_used_bytes"),
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
        forecast: None,
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
        forecast: None,
    },
    ChartSpec {
        id: "space",
        title: "Disk space",
        lines: &[("disk_free_percent", "free (fullest filesystem)")],
        unit: Unit::Percent,
        y_max: Some(100.0),
        forecast: Some(FULLEST_FILESYSTEM),
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
        forecast: None,
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
        forecast: None,
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
    forecast: None,
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
    /// The forecast's band (the dashed line takes the first line's colour).
    pub forecast_band: &'static str,
}

pub const LIGHT: Palette = Palette {
    text: "#4b5563",
    grid: "rgba(0,0,0,0.08)",
    lines: ["#2563eb", "#db2777", "#059669"],
    band: "rgba(220,38,38,0.14)",
    threshold: "#dc2626",
    forecast_band: "rgba(37,99,235,0.12)",
};

pub const DARK: Palette = Palette {
    text: "#cbd5e1",
    grid: "rgba(255,255,255,0.10)",
    lines: ["#60a5fa", "#f472b6", "#34d399"],
    band: "rgba(248,113,113,0.20)",
    threshold: "#f87171",
    forecast_band: "rgba(96,165,250,0.18)",
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
    let mut datasets = datasets;
    if spec.forecast.is_some() {
        // Three more datasets after the lines: the band's low edge (invisible), its
        // high edge filled down to it, and the dashed forecast line.
        let base = json!({
            "data": [],
            "pointRadius": 0,
            "pointHitRadius": 0,
            "tension": 0,
            "spanGaps": false,
            "borderWidth": 0,
            "borderColor": "transparent",
            "backgroundColor": palette.forecast_band,
            "fill": false,
        });
        let mut low = base.clone();
        low["label"] = json!("forecast low");
        let mut high = base.clone();
        high["label"] = json!("forecast high");
        high["fill"] = json!("-1");
        let mut line = base;
        line["label"] = json!("forecast");
        line["borderWidth"] = json!(1.5);
        line["borderColor"] = json!(palette.lines[0]);
        line["borderDash"] = json!([6, 4]);
        datasets.extend([low, high, line]);
    }
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

/// The forecast part of a chart: the future axis times, and the band's edges and the
/// dashed line over the whole axis (past and future; NaN where nothing is drawn).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForecastSeries {
    pub future: Vec<i64>,
    pub low: Vec<f64>,
    pub high: Vec<f64>,
    pub line: Vec<f64>,
}

/// How a forecast's values map onto a chart's axis: `offset + scale * value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToChart {
    pub offset: f64,
    pub scale: f64,
}

impl ToChart {
    pub const SAME: ToChart = ToChart {
        offset: 0.0,
        scale: 1.0,
    };

    /// For `f` drawn on a chart of `spec`: bytes of a bound (memory total, a
    /// filesystem's size) on a percent chart become percent of the bound, and
    /// percent *free* on the disk space chart (its line is free space).
    pub fn of(spec: &ChartSpec, f: &Forecast) -> ToChart {
        match (spec.unit, f.unit, f.bound) {
            (Unit::Percent, Some(Unit::Bytes), Some(b)) if b > 0.0 => {
                if spec.forecast == Some(FULLEST_FILESYSTEM) {
                    ToChart {
                        offset: 100.0,
                        scale: -100.0 / b,
                    }
                } else {
                    ToChart {
                        offset: 0.0,
                        scale: 100.0 / b,
                    }
                }
            }
            _ => ToChart::SAME,
        }
    }
}

/// The forecast `spec` draws, out of the dashboard's list: the one named, or for
/// [`FULLEST_FILESYSTEM`] the filesystem with the least room left now.
pub fn forecast_for<'a>(spec: &ChartSpec, all: &'a [Forecast]) -> Option<&'a Forecast> {
    let wanted = spec.forecast?;
    if wanted != FULLEST_FILESYSTEM {
        return all.iter().find(|f| f.metric == wanted);
    }
    let room = |f: &Forecast| match (f.current, f.bound) {
        (Some(c), Some(b)) if b > 0.0 => 1.0 - c / b,
        _ => f64::INFINITY,
    };
    all.iter()
        .filter(|f| f.metric.starts_with("filesystem:") && f.bound.is_some_and(|b| b > 0.0))
        .min_by(|a, b| room(a).total_cmp(&room(b)))
}

/// Extends a chart's axis `times` (oldest first) with a third more points at the
/// axis's own spacing, and reads the forecast there (linear between its points; the
/// trend is a line). The dashed line starts at the newest value `last` so it joins the
/// drawn line. `to` converts the forecast's unit to the chart's (see [`ToChart`]).
/// None when there is nothing to draw.
pub fn forecast_series(
    times: &[i64],
    last: Option<f64>,
    f: &Forecast,
    to: ToChart,
) -> Option<ForecastSeries> {
    let ToChart { offset, scale } = to;
    let (&first, &newest) = (times.first()?, times.last()?);
    if times.len() < 4 || f.line.len() < 2 || !scale.is_finite() || !offset.is_finite() {
        return None;
    }
    let step = ((newest - first) / (times.len() as i64 - 1)).max(1);
    let future: Vec<i64> = (1..=times.len() as i64 / 3)
        .map(|k| newest + k * step)
        .collect();
    let at = |t: i64, pick: fn(&lookout::model::ForecastPoint) -> f64| -> f64 {
        let l = &f.line;
        let i = l.partition_point(|p| p.t <= t).clamp(1, l.len() - 1);
        let (a, b) = (&l[i - 1], &l[i]);
        let w = if b.t == a.t {
            0.0
        } else {
            (t - a.t) as f64 / (b.t - a.t) as f64
        };
        offset + (pick(a) + (pick(b) - pick(a)) * w) * scale
    };
    let past = times.len();
    let mut s = ForecastSeries {
        low: vec![f64::NAN; past],
        high: vec![f64::NAN; past],
        line: vec![f64::NAN; past],
        future: future.clone(),
    };
    s.line[past - 1] = last.unwrap_or_else(|| at(newest, |p| p.v));
    for &t in &future {
        s.low.push(at(t, |p| p.low));
        s.high.push(at(t, |p| p.high));
        s.line.push(at(t, |p| p.v));
    }
    Some(s)
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
    fn the_memory_chart_draws_a_dashed_forecast_with_a_band() {
        let c = config(&CHARTS[1], &LIGHT);
        let ds = c["data"]["datasets"].as_array().unwrap();
        assert_eq!(ds.len(), 4);
        assert_eq!(ds[2]["fill"], "-1");
        assert_eq!(ds[3]["label"], "forecast");
        assert_eq!(ds[3]["borderDash"], json!([6, 4]));
        assert_eq!(
            config(&CHARTS[0], &LIGHT)["data"]["datasets"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        use lookout::model::ForecastPoint;
        // 10 % of memory (of 1000 units) now, rising 1 unit per second.
        let f = Forecast {
            line: (0..3)
                .map(|k| ForecastPoint {
                    t: 100_000 + k * 100_000,
                    v: 100.0 + k as f64 * 100.0,
                    low: 90.0 + k as f64 * 90.0,
                    high: 110.0 + k as f64 * 110.0,
                })
                .collect(),
            ..Forecast::default()
        };
        let times: Vec<i64> = (0..=10).map(|k| k * 10_000).collect();
        let tenth = ToChart {
            offset: 0.0,
            scale: 0.1,
        };
        let s = forecast_series(&times, Some(9.5), &f, tenth).unwrap();
        assert_eq!(s.future, vec![110_000, 120_000, 130_000]);
        assert_eq!(s.line.len(), 14);
        assert!(s.line[..10].iter().all(|v| v.is_nan()));
        assert_eq!(s.line[10], 9.5);
        assert!((s.line[11] - 11.0).abs() < 1e-9, "{:?}", s.line);
        assert!(s.low[11] < s.line[11] && s.line[11] < s.high[11]);
        assert!(forecast_series(&times[..2], None, &f, tenth).is_none());
    }

    #[test]
    fn the_disk_space_chart_draws_the_fullest_filesystem_as_free_percent() {
        use lookout::model::ForecastPoint;
        let space = CHARTS.iter().find(|c| c.id == "space").unwrap();
        let fs = |mount: &str, used: f64, size: f64| Forecast {
            metric: format!("filesystem:{mount}"),
            unit: Some(Unit::Bytes),
            bound: Some(size),
            current: Some(used),
            // Filling by 10 % of its size per 100 s.
            line: (0..3)
                .map(|k| {
                    let v = used + k as f64 * 0.1 * size;
                    ForecastPoint {
                        t: 100_000 + k * 100_000,
                        v,
                        low: v - 0.01 * size,
                        high: v + 0.01 * size,
                    }
                })
                .collect(),
            ..Forecast::default()
        };
        let memory = Forecast {
            metric: "memory_used_bytes".into(),
            unit: Some(Unit::Bytes),
            bound: Some(1e9),
            current: Some(9e8),
            ..Forecast::default()
        };
        // /data is the fuller one (80 % used against 50 %), whatever its size.
        let all = vec![memory, fs("/", 500.0, 1000.0), fs("/data", 8e9, 1e10)];
        let f = forecast_for(space, &all).unwrap();
        assert_eq!(f.metric, "filesystem:/data");
        let memory_chart = CHARTS.iter().find(|c| c.id == "memory").unwrap();
        assert_eq!(
            forecast_for(memory_chart, &all).unwrap().metric,
            "memory_used_bytes"
        );
        assert!(forecast_for(&CHARTS[0], &all).is_none());

        // Drawn as free percent: 20 % free now, 10 points less per 100 s.
        let to = ToChart::of(space, f);
        let times: Vec<i64> = (0..=10).map(|k| k * 10_000).collect();
        let s = forecast_series(&times, Some(20.0), f, to).unwrap();
        assert!((s.line[11] - 19.0).abs() < 1e-9, "{:?}", s.line);
        assert!((s.line[13] - 17.0).abs() < 1e-9, "{:?}", s.line);
        // The band still holds the line (its edges swap places, free falls as used rises).
        let (lo, hi) = (s.low[11].min(s.high[11]), s.low[11].max(s.high[11]));
        assert!(lo < s.line[11] && s.line[11] < hi);
        // Memory bytes on its percent chart: percent used, not free.
        let m = ToChart::of(memory_chart, &all[0]);
        assert_eq!((m.offset, m.scale), (0.0, 100.0 / 1e9));
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
        let net = config(CHARTS.iter().find(|c| c.id == "network").unwrap(), &LIGHT);
        assert_eq!(net["options"]["scales"]["y"]["ticks"]["precision"], 0);
    }
}
