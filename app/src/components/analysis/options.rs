//! The ECharts options of the analysis charts, as charming's typed pieces (axes, grid,
//! visual map, tooltip, heatmap / bar / line series) in a struct holding only the kinds
//! used here. Serialising charming's whole `Chart` compiles a serialiser for every
//! series type and component it knows into the wasm (about 140 KB gzip measured); this
//! keeps the page's share of the wasm to what it draws.

use charming::component::{Axis, Grid, Legend, VisualMap};
use charming::element::Tooltip;
use charming::series::{Bar, Heatmap, Line};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    pub animation: bool,
    pub tooltip: Tooltip,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legend: Option<Legend>,
    pub grid: Grid,
    pub x_axis: Vec<Axis>,
    pub y_axis: Vec<Axis>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub visual_map: Vec<VisualMap>,
    pub series: Vec<Series>,
}

/// The series kinds the page draws. A chart holds one or two: boxing would save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Series {
    Heatmap(Heatmap),
    Bar(Bar),
    Line(Line),
}

impl Options {
    /// No animation (charts are redrawn on every reload), one x and one y axis.
    pub fn new(tooltip: Tooltip, grid: Grid, x: Axis, y: Axis) -> Options {
        Options {
            animation: false,
            tooltip,
            legend: None,
            grid,
            x_axis: vec![x],
            y_axis: vec![y],
            visual_map: Vec::new(),
            series: Vec::new(),
        }
    }

    pub fn series(mut self, s: Series) -> Options {
        self.series.push(s);
        self
    }

    pub fn visual_map(mut self, v: VisualMap) -> Options {
        self.visual_map.push(v);
        self
    }

    /// As JSON for ECharts' `setOption`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
