//! Charts of memory over time: JS reads the JSON-lines file, Rust draws.

use crate::error::Failure;
use leakwatch_core::plot::{render, PlotFormat, PlotInput, PlotMark, PlotPoint};
use napi::bindgen_prelude::*;
use napi_derive::napi;

#[napi(object)]
pub struct ChartPoint {
    pub t_ms: f64,
    pub used_heap_size: f64,
    pub external: f64,
    pub baseline: Option<f64>,
    pub forced: Option<bool>,
}

#[napi(object)]
pub struct ChartMark {
    pub t_ms: f64,
    pub label: String,
}

#[napi(object)]
pub struct ChartInput {
    pub title: String,
    pub points: Vec<ChartPoint>,
    pub leaks: Vec<ChartMark>,
    pub snapshots: Vec<ChartMark>,
    /// Samples there were when `points` is a downsampled view of them.
    pub sample_count: Option<u32>,
    pub forced_count: Option<u32>,
}

fn marks(list: Vec<ChartMark>) -> Vec<PlotMark> {
    list.into_iter().map(|m| PlotMark { t_ms: m.t_ms, label: m.label }).collect()
}

/// Render the chart as "svg" or "png" bytes.
#[napi(catch_unwind)]
pub fn render_chart(
    env: Env,
    input: ChartInput,
    format: String,
    width: Option<u32>,
    height: Option<u32>,
) -> Result<Buffer> {
    let format = match format.as_str() {
        "svg" => PlotFormat::Svg,
        "png" => PlotFormat::Png,
        other => return Err(Error::new(Status::InvalidArg, format!("unknown chart format '{other}' (svg or png)"))),
    };
    let input = PlotInput {
        title: input.title,
        points: input
            .points
            .into_iter()
            .map(|p| PlotPoint {
                t_ms: p.t_ms,
                used_heap_size: p.used_heap_size,
                external: p.external,
                baseline: p.baseline,
                forced: p.forced.unwrap_or(false),
            })
            .collect(),
        leaks: marks(input.leaks),
        snapshots: marks(input.snapshots),
        sample_count: input.sample_count.map(|n| n as usize),
        forced_count: input.forced_count.map(|n| n as usize),
    };
    render(&input, format, width.unwrap_or(1000), height.unwrap_or(560))
        .map(Buffer::from)
        .map_err(|error| Failure::Plot(error).into_js(&env))
}
