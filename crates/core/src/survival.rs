//! The contract between the allocation sampler (`sampling`) and the leak detector
//! (`monitor`): how much of what was allocated in each past interval is still alive.
//!
//! The sampler reads V8's sampling heap profile every so often. The live samples whose
//! allocation `ordinal` falls between two reads form a *cohort*: the allocations of that
//! interval. Each later read tells how many of the cohort's (scaled) bytes are still
//! alive. A leak keeps (nearly) all of every cohort while new cohorts keep adding; a
//! cache that evicts loses its oldest cohorts; a batch's cohort dies with the batch.
//! This is evidence that post-GC heap figures, which depend on when the GC ran, cannot
//! fake.

/// One interval's allocations, as seen at the latest read of the profile.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct CohortSurvival {
    /// Start of the interval (ms, the monitor's clock).
    pub start_ms: f64,
    /// End of the interval: the read that first saw these allocations (ms).
    pub end_ms: f64,
    /// Estimated live bytes of the cohort at the read that ended it (samples scaled by
    /// the sampling interval).
    pub first_bytes: f64,
    /// The most the cohort was ever seen to hold (estimated bytes).
    pub peak_bytes: f64,
    /// Estimated live bytes of the cohort at the latest read.
    pub live_bytes: f64,
}

/// What the sampler knows at one read: the cohorts, oldest first, bounded in number
/// (old cohorts are merged, never dropped while they hold live bytes). A read follows a full
/// GC (V8's inspector forces one before it builds the sampling profile), so the live bytes are
/// what survived it: garbage is gone, only objects still referenced (some merely in flight at
/// the read) remain.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SurvivalReading {
    /// Time of the read (ms, the monitor's clock).
    pub at_ms: f64,
    pub cohorts: Vec<CohortSurvival>,
}
