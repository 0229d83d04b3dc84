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

/// `From` both ways between two structs with the same fields.
macro_rules! same_fields {
    ($a:ident, $b:ident { $($field:ident),* }) => {
        impl From<$a> for $b {
            fn from(x: $a) -> Self {
                $b { $($field: x.$field),* }
            }
        }
        impl From<$b> for $a {
            fn from(x: $b) -> Self {
                $a { $($field: x.$field),* }
            }
        }
    };
}

same_fields!(CoreCohort, CohortSurvival { start_ms, end_ms, first_bytes, peak_bytes, live_bytes });

impl From<CoreReading> for SurvivalReading {
    fn from(reading: CoreReading) -> Self {
        SurvivalReading { at_ms: reading.at_ms, cohorts: reading.cohorts.into_iter().map(Into::into).collect() }
    }
}

impl From<SurvivalReading> for CoreReading {
    fn from(reading: SurvivalReading) -> Self {
        CoreReading { at_ms: reading.at_ms, cohorts: reading.cohorts.into_iter().map(Into::into).collect() }
    }
}
