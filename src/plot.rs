//! Charts of memory over time: JS reads the JSON-lines file, Rust draws.

use crate::error::Failure;
// Imported under its JS name: binding.d.ts names a type of another crate as it is written here.
use leakwatch_core::plot::{render, PlotFormat, PlotInput as ChartInput};
use napi::bindgen_prelude::*;
use napi_derive::napi;

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
    render(&input, format, width.unwrap_or(1000), height.unwrap_or(560))
        .map(Buffer::from)
        .map_err(|error| Failure::Plot(error).into_js(&env))
}
