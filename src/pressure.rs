//! The memory-pressure guard as a JS class: JS reads the figures (heap after GC and its
//! limit, resident memory and the container's limit) and Rust decides when a level is
//! reached (`leakwatch_core::pressure`).

use leakwatch_core::pressure::{Guard, Pressure, PressureConfig, Reading, Resource};
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Thresholds of the guard; every field optional (defaults: `leakwatch_core::pressure`).
#[napi(object)]
#[derive(Default)]
pub struct PressureOptions {
    /// Heap after GC / its old-generation limit: two ratios, the second above the first.
    pub heap: Option<Vec<f64>>,
    /// Resident memory / the container's limit: two ratios.
    pub memory: Option<Vec<f64>>,
    /// A level is reported again only after the ratio fell this far below it...
    pub rearm_margin: Option<f64>,
    /// ...and this long after it was reported (ms).
    pub cooldown_ms: Option<f64>,
}

/// A level reached, as the `memoryPressure` event carries it.
#[napi(object, js_name = "PressureLevel")]
pub struct JsPressure {
    /// 'heap' or 'memory'.
    pub resource: String,
    pub level: u32,
    pub threshold: f64,
    pub ratio: f64,
    pub used: f64,
    pub limit: f64,
    /// Bytes per second over the recent readings.
    pub rate: f64,
    /// At that rate, milliseconds until the limit; null when not growing.
    pub time_to_limit_ms: Option<f64>,
    pub t_ms: f64,
    pub reason: String,
}

fn levels(given: Option<Vec<f64>>, default: [f64; 2], name: &str) -> Result<[f64; 2]> {
    match given {
        None => Ok(default),
        Some(v) => <[f64; 2]>::try_from(v.as_slice()).map_err(|_| {
            Error::new(Status::InvalidArg, format!("{name} thresholds must be two ratios, got {}", v.len()))
        }),
    }
}

fn to_config(options: Option<PressureOptions>) -> Result<PressureConfig> {
    let options = options.unwrap_or_default();
    let d = PressureConfig::default();
    let config = PressureConfig {
        heap: levels(options.heap, d.heap, "heap")?,
        memory: levels(options.memory, d.memory, "memory")?,
        rearm_margin: options.rearm_margin.unwrap_or(d.rearm_margin),
        cooldown_ms: options.cooldown_ms.unwrap_or(d.cooldown_ms),
    };
    config.validate().map_err(|reason| Error::new(Status::InvalidArg, reason))?;
    Ok(config)
}

fn to_js(p: Pressure) -> JsPressure {
    JsPressure {
        resource: p.resource.name().to_string(),
        level: u32::from(p.level),
        threshold: p.threshold,
        ratio: p.ratio,
        used: p.used,
        limit: p.limit,
        rate: p.rate,
        time_to_limit_ms: p.time_to_limit_ms,
        t_ms: p.t_ms,
        reason: p.reason,
    }
}

#[napi]
pub struct PressureGuard {
    guard: Guard,
}

#[napi]
impl PressureGuard {
    #[napi(constructor, catch_unwind)]
    pub fn new(options: Option<PressureOptions>) -> Result<Self> {
        Ok(PressureGuard { guard: Guard::new(to_config(options)?) })
    }

    /// Validate and apply new thresholds (the state of each level is kept).
    #[napi(catch_unwind)]
    pub fn configure(&mut self, options: Option<PressureOptions>) -> Result<()> {
        self.guard.configure(to_config(options)?);
        Ok(())
    }

    /// The heap after a full GC and the old generation's limit (bytes).
    #[napi(catch_unwind)]
    pub fn observe_heap(&mut self, t_ms: f64, used: f64, limit: f64) -> Option<JsPressure> {
        self.guard.observe(Resource::Heap, Reading { t_ms, used, limit }).map(to_js)
    }

    /// Resident memory and the container's limit (bytes; 0 when there is none).
    #[napi(catch_unwind)]
    pub fn observe_memory(&mut self, t_ms: f64, used: f64, limit: f64) -> Option<JsPressure> {
        self.guard.observe(Resource::Memory, Reading { t_ms, used, limit }).map(to_js)
    }
}
