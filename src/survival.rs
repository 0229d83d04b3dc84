//! The survival contract (`leakwatch_core::survival`) as JS sees it: the sampler returns
//! it after each read, the monitor takes it. One shape, converted both ways here.

use leakwatch_core::survival::{CohortSurvival as CoreCohort, SurvivalReading as CoreReading};
use napi_derive::napi;

/// One allocation interval's survival (see crates/core/src/survival.rs).
// Named as JS sees them, so that the generated types have no Rust-only alias.
#[napi(object)]
pub struct CohortSurvival {
    pub start_ms: f64,
    pub end_ms: f64,
    pub first_bytes: f64,
    pub peak_bytes: f64,
    pub live_bytes: f64,
}

/// A sampler reading: the cohorts, oldest first.
#[napi(object)]
pub struct SurvivalReading {
    pub at_ms: f64,
    pub cohorts: Vec<CohortSurvival>,
}

impl From<CoreReading> for SurvivalReading {
    fn from(reading: CoreReading) -> Self {
        let cohorts = reading
            .cohorts
            .into_iter()
            .map(|c| CohortSurvival {
                start_ms: c.start_ms,
                end_ms: c.end_ms,
                first_bytes: c.first_bytes,
                peak_bytes: c.peak_bytes,
                live_bytes: c.live_bytes,
            })
            .collect();
        SurvivalReading { at_ms: reading.at_ms, cohorts }
    }
}

impl From<SurvivalReading> for CoreReading {
    fn from(reading: SurvivalReading) -> Self {
        let cohorts = reading
            .cohorts
            .into_iter()
            .map(|c| CoreCohort {
                start_ms: c.start_ms,
                end_ms: c.end_ms,
                first_bytes: c.first_bytes,
                peak_bytes: c.peak_bytes,
                live_bytes: c.live_bytes,
            })
            .collect();
        CoreReading { at_ms: reading.at_ms, cohorts }
    }
}
