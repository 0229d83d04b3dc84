//! The leak monitor as a JS class: the detector and the allocation sampler's state together
//! (`leakwatch_core::agent::Agent`). JS forwards GC counts, the few figures of each full GC
//! the detector decides on, and each read of the sampling profile (read natively here, or
//! the inspector's JSON text); Rust keeps the counters, the cohorts and the sites, and
//! returns verdicts with their allocation sites attached. JS spreads Node's own heap figures
//! into the `stats` event. Every type that crosses here is the core's own
//! (`leakwatch_core::monitor`, `sampling`, its `napi` feature).

use crate::sampling::{profile_error, unusable};
use crate::v8_sampling;
use leakwatch_core::agent::Agent;
// Imported under their JS names: binding.d.ts names a type of another crate as it is written here.
use leakwatch_core::monitor::{
    DetectorConfig, DetectorOptions, GcKind, HeapSample as FullGcSample, LeakResolution as MonitorResolution,
    LeakVerdict as MonitorLeak, Rule, Stats as MonitorStats,
};
use leakwatch_core::sampling::{parse_profile, Footprint, HeapProfile, SamplerConfig, SamplerOptions, SiteRanking};
use leakwatch_core::survival::SurvivalReading;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// GCs of one kind since the last report: `count` of them took `totalMs` together.
#[napi(object)]
pub struct GcTally {
    pub kind: GcKind,
    pub count: f64,
    pub total_ms: f64,
}

#[napi(object)]
pub struct FullGcResult {
    pub stats: MonitorStats,
    pub leaks: Vec<MonitorLeak>,
}

/// One read of the sampling profile taken in: how many live samples it held, and the
/// verdicts it gave (settled reads only), with their sites.
#[napi(object)]
pub struct SamplerRead {
    pub samples: u32,
    pub leaks: Vec<MonitorLeak>,
}

/// The names of the detector options (`DetectorOptions`, the one list of them).
#[napi(catch_unwind)]
pub fn detector_option_names() -> Vec<&'static str> {
    DetectorOptions::names()
}

/// The names of the detector's rules (`Rule`, the one list of them).
#[napi(catch_unwind)]
pub fn detector_rules() -> Vec<&'static str> {
    Rule::names()
}

// Named as JS sees it, so that the generated types have no Rust-only alias.
#[napi]
pub struct Monitor {
    inner: Agent,
}

#[napi]
impl Monitor {
    #[napi(constructor, catch_unwind)]
    pub fn new(options: Option<DetectorOptions>, start_ms: f64) -> Self {
        Monitor { inner: Agent::new(DetectorConfig::from(&options.unwrap_or_default()), start_ms) }
    }

    #[napi(catch_unwind)]
    pub fn configure(&mut self, options: DetectorOptions) {
        self.inner.set_config(DetectorConfig::from(&options));
    }

    /// Count the GCs since the last call, per kind.
    #[napi(catch_unwind)]
    pub fn record_gcs(&mut self, tallies: Vec<GcTally>) {
        for tally in tallies {
            if tally.count >= 1.0 && tally.count.is_finite() {
                self.inner.record_gcs(tally.kind, tally.count as u64, tally.total_ms);
            }
        }
    }

    /// A full GC's figures and how long it took (ms): the stats, and any verdicts with their sites.
    #[napi(catch_unwind)]
    pub fn record_full_gc(&mut self, sample: FullGcSample, gc_duration_ms: f64) -> FullGcResult {
        let (stats, leaks) = self.inner.record_full_gc(sample, gc_duration_ms);
        FullGcResult { stats, leaks }
    }

    /// Verdicts withdrawn since the last call (after recordFullGc or a read).
    #[napi(catch_unwind)]
    pub fn take_resolutions(&mut self) -> Vec<MonitorResolution> {
        self.inner.take_resolutions()
    }

    /// Would a full GC forced now pause the app for at most maxProbePauseMs?
    #[napi(catch_unwind)]
    pub fn forced_gc_affordable(&self, used_heap_size: f64) -> bool {
        self.inner.monitor().forced_gc_affordable(used_heap_size)
    }

    /// Should JS force a full GC now to confirm or clear a suspicion? Never when it would
    /// stop the app for long (see DetectorOptions.maxProbePauseMs).
    #[napi(catch_unwind)]
    pub fn should_probe(&mut self, now_ms: f64, used_heap_size: f64, external: f64) -> bool {
        self.inner.monitor_mut().should_probe(now_ms, used_heap_size, external)
    }

    /// Sampling started (again): a new epoch of the sampler's state, with these options.
    #[napi(catch_unwind)]
    pub fn start_sampling(&mut self, options: Option<SamplerOptions>, at_ms: f64) {
        self.inner.start_sampling(SamplerConfig::from(&options.unwrap_or_default()), at_ms);
    }

    /// Sampling stopped: its state goes; verdicts carry no sites until it starts again.
    #[napi(catch_unwind)]
    pub fn stop_sampling(&mut self) {
        self.inner.stop_sampling();
    }

    /// The profiler was restarted: ordinals begin again (same options).
    #[napi(catch_unwind)]
    pub fn reset_sampling(&mut self, at_ms: f64) {
        self.inner.reset_sampling(at_ms);
    }

    /// Take one read, the profile as JSON text (the inspector's), at `atMs`: `settled` when a
    /// full GC just ran (the inspector forces one).
    #[napi(catch_unwind)]
    pub fn ingest_profile(&mut self, env: Env, profile: String, at_ms: f64, settled: bool) -> Result<SamplerRead> {
        let profile =
            parse_profile(profile.as_bytes()).map_err(|e| profile_error("sampling heap profile", e).into_js(&env))?;
        Ok(self.take(&profile, at_ms, settled))
    }

    /// Read V8's profile natively (no GC) at `atMs` and take it in: `settled` when a full GC
    /// just ran (see `SamplerState::ingest_unsettled` for the others). Null when no sampling
    /// profiler runs any more (someone stopped it). Fails with
    /// ERR_LEAKWATCH_SAMPLING_FALLBACK when the profile does not read as verified.
    #[napi(catch_unwind)]
    pub fn ingest_native(&mut self, env: Env, at_ms: f64, settled: bool) -> Result<Option<SamplerRead>> {
        let profile = v8_sampling::read(env.raw()).map_err(|e| unusable(&env, e))?;
        Ok(profile.map(|profile| self.take(&profile, at_ms, settled)))
    }

    /// The cohorts' survival as of the latest read.
    #[napi(catch_unwind)]
    pub fn survival(&self, now_ms: f64) -> SurvivalReading {
        self.inner.survival(now_ms)
    }

    /// Leak sites (growing), or with `all` every stack with live samples, at the latest read.
    #[napi(catch_unwind)]
    pub fn ranking(&self, limit: u32, all: bool, now_ms: f64) -> SiteRanking {
        SiteRanking::from(self.inner.ranking(limit as usize, all, now_ms))
    }

    /// The size of the sampler's own state.
    #[napi(catch_unwind)]
    pub fn sampler_footprint(&self) -> Footprint {
        self.inner.sampler_footprint()
    }
}

impl Monitor {
    fn take(&mut self, profile: &HeapProfile, at_ms: f64, settled: bool) -> SamplerRead {
        let samples = u32::try_from(profile.samples.len()).unwrap_or(u32::MAX);
        SamplerRead { samples, leaks: self.inner.ingest(profile, at_ms, settled) }
    }
}
