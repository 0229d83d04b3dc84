//! The memory-pressure guard as a JS class: JS reads the figures (heap after GC and its
//! limit, resident memory and the container's limit) and Rust decides when a level is
//! reached (`leakwatch_core::pressure`).

// `Pressure` under its JS name: binding.d.ts names a type of another crate as it is written here.
use leakwatch_core::pressure::{Guard, Pressure as PressureLevel, PressureConfig, PressureOptions, Reading, Resource};
use napi::bindgen_prelude::*;
use napi_derive::napi;

fn to_config(options: Option<PressureOptions>) -> Result<PressureConfig> {
    PressureConfig::try_from(&options.unwrap_or_default()).map_err(|reason| Error::new(Status::InvalidArg, reason))
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
    pub fn observe_heap(&mut self, t_ms: f64, used: f64, limit: f64) -> Option<PressureLevel> {
        self.guard.observe(Resource::Heap, Reading { t_ms, used, limit })
    }

    /// Resident memory and the container's limit (bytes; 0 when there is none).
    #[napi(catch_unwind)]
    pub fn observe_memory(&mut self, t_ms: f64, used: f64, limit: f64) -> Option<PressureLevel> {
        self.guard.observe(Resource::Memory, Reading { t_ms, used, limit })
    }
}
