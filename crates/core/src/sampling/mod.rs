//! Allocation sampling: V8's sampling heap profile (`HeapProfiler.getSamplingProfile`,
//! the `.heapprofile` format DevTools' Memory panel saves and loads), and what leakwatch
//! computes from it.
//!
//! * [`profile`]: parse a profile (small: one node per distinct allocation stack, one
//!   sample per ~`samplingInterval` live bytes) into typed structs, with typed errors.
//! * [`frames`]: call frames, who owns them (the app, `node:internal`, `node_modules`,
//!   the engine) and how a stack is shown (non-app frames folded, never dropped).
//! * [`state`]: the live sampler's bounded memory across reads: cohorts of samples by
//!   allocation ordinal (the [`crate::survival`] contract the leak detector consumes) and
//!   leak sites, the allocation stacks whose samples allocated in a sliding window keep
//!   surviving and growing.
//! * [`offline`]: the ranking of one `.heapprofile` file, and the sites that grew
//!   between two.
//!
//! Sizes: V8 reports every sample's `size` (and every node's `selfSize`) already scaled
//! to the bytes it stands for: `SamplingHeapProfiler::ScaleSample` multiplies an object's
//! size by `round(1 / (1 - exp(-size / interval)))`, the inverse of the probability that
//! an allocation of that size is sampled. Summing the reported sizes is therefore the
//! estimate of live bytes; scaling again would count twice ([`scale_factor`] documents
//! the formula and is used only to judge sampling noise).
//!
//! Line and column numbers in a call frame are V8's position of the *function* (where it
//! is defined, 0-based in the protocol), not of the allocating statement.

pub mod frames;
pub mod offline;
pub mod profile;
pub mod report;
pub mod state;

pub use frames::{Frame, FrameKind};
pub use offline::{rank_profile, sites_that_grew, OfflineReport};
pub use profile::{parse_profile, read_profile_file, HeapProfile, ProfileError, ProfileFileError};
pub use report::{AllocationFrame, AllocationSite, ProfileSites, SiteRanking};
pub use state::{Footprint, Ranking, SamplerConfig, SamplerOptions, SamplerState, Site};

/// V8's `ScaleSample` count for one sampled object of `size` bytes at `interval`: how
/// many allocations of that size one sample stands for on average.
pub fn scale_factor(size: f64, interval: f64) -> f64 {
    if size <= 0.0 || interval <= 0.0 {
        return 1.0;
    }
    1.0 / (1.0 - (-size / interval).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_factor_matches_v8_for_small_and_large_objects() {
        // A 32-byte object at 32 KiB is sampled with probability ~1/1024.5: V8 reports
        // 32 * round(1024.5) = 32800 bytes for it (seen in real profiles).
        assert_eq!(32.0 * scale_factor(32.0, 32768.0).round(), 32800.0);
        // An object much larger than the interval is always sampled: factor ~1.
        assert!((scale_factor(10.0 * 1048576.0, 32768.0) - 1.0).abs() < 1e-9);
    }
}
