//! The leak monitor as a JS class: JS forwards GC counts, the few figures of each full GC the
//! detector decides on, and the sampler's survival readings; Rust keeps the counters and
//! decides. JS spreads Node's own heap figures into the `stats` event. Every type that crosses
//! here is the core's own (`leakwatch_core::monitor`, its `napi` feature).

// Imported under their JS names: binding.d.ts names a type of another crate as it is written here.
use leakwatch_core::monitor::{
    DetectorConfig, DetectorOptions, GcKind, HeapSample as FullGcSample, LeakResolution as MonitorResolution,
    LeakVerdict as MonitorLeak, Monitor as CoreMonitor, Stats as MonitorStats,
};
use leakwatch_core::survival::SurvivalReading;
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

/// The names of the detector options (`DetectorOptions`, the one list of them).
#[napi(catch_unwind)]
pub fn detector_option_names() -> Vec<&'static str> {
    DetectorOptions::names()
}

// Named as JS sees it, so that the generated types have no Rust-only alias.
#[napi]
pub struct Monitor {
    inner: CoreMonitor,
}

#[napi]
impl Monitor {
    #[napi(constructor, catch_unwind)]
    pub fn new(options: Option<DetectorOptions>, start_ms: f64) -> Self {
        Monitor { inner: CoreMonitor::new(DetectorConfig::from(&options.unwrap_or_default()), start_ms) }
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

    /// A full GC's figures and how long it took (ms).
    #[napi(catch_unwind)]
    pub fn record_full_gc(&mut self, sample: FullGcSample, gc_duration_ms: f64) -> FullGcResult {
        let (stats, leaks) = self.inner.record_full_gc(sample, gc_duration_ms);
        FullGcResult { stats, leaks }
    }

    /// A survival reading of the allocation sampler; returns any heap leak it reveals.
    #[napi(catch_unwind)]
    pub fn observe_survival(&mut self, reading: SurvivalReading) -> Vec<MonitorLeak> {
        self.inner.observe_survival(&reading)
    }

    /// Verdicts withdrawn since the last call (after recordFullGc or observeSurvival).
    #[napi(catch_unwind)]
    pub fn take_resolutions(&mut self) -> Vec<MonitorResolution> {
        self.inner.take_resolutions()
    }

    /// Would a full GC forced now pause the app for at most maxProbePauseMs?
    #[napi(catch_unwind)]
    pub fn forced_gc_affordable(&self, used_heap_size: f64) -> bool {
        self.inner.forced_gc_affordable(used_heap_size)
    }

    /// Should JS force a full GC now to confirm or clear a suspicion? Never when it would
    /// stop the app for long (see DetectorOptions.maxProbePauseMs).
    #[napi(catch_unwind)]
    pub fn should_probe(&mut self, now_ms: f64, used_heap_size: f64, external: f64) -> bool {
        self.inner.should_probe(now_ms, used_heap_size, external)
    }
}
