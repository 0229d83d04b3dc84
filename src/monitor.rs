//! The leak monitor as a JS class: JS forwards GC counts, the few figures of each full GC the
//! detector decides on, and the sampler's survival readings; Rust keeps the counters and
//! decides. JS spreads Node's own heap figures into the `stats` event.

use crate::survival::SurvivalReading;
use leakwatch_core::monitor::{
    DetectorConfig, Evidence, GcKind as CoreGcKind, HeapSample, LeakResolution, LeakVerdict, Monitor as CoreMonitor,
    Rule, Stats,
};
use leakwatch_core::survival::SurvivalReading as CoreReading;
use napi_derive::napi;

/// Which leak rule judges: `adaptive` (survival of sampled allocations when the sampler runs,
/// phase-robust post-GC figures otherwise) or `legacy` (leakwatch 0.1's rule).
#[napi(string_enum = "kebab-case")]
pub enum DetectorRule {
    Adaptive,
    Legacy,
}

/// Leak detector settings; every field optional (defaults need no tuning).
#[napi(object)]
#[derive(Default)]
pub struct DetectorOptions {
    pub detector: Option<DetectorRule>,
    /// Ignore samples this long after start (ms).
    pub warmup_ms: Option<f64>,
    /// Evidence must span at least this long (ms).
    pub min_duration_ms: Option<f64>,
    /// Full-GC samples needed (figures rule).
    pub min_samples: Option<u32>,
    /// Growth needed, bytes...
    pub min_growth_bytes: Option<f64>,
    /// ...and as a share of the baseline.
    pub min_growth_ratio: Option<f64>,
    /// Look at most this far back (ms).
    pub max_window_ms: Option<f64>,
    /// Minimum time between forced confirmation GCs (ms; 0 = never force).
    pub probe_interval_ms: Option<f64>,
    /// Force a GC only while it is expected to pause the app at most this long (ms).
    pub max_probe_pause_ms: Option<f64>,
}

fn to_config(options: &DetectorOptions) -> DetectorConfig {
    let rule = match options.detector {
        Some(DetectorRule::Legacy) => Rule::Legacy,
        Some(DetectorRule::Adaptive) | None => Rule::Adaptive,
    };
    let d = DetectorConfig::for_rule(rule);
    DetectorConfig {
        rule,
        warmup_ms: options.warmup_ms.unwrap_or(d.warmup_ms),
        min_duration_ms: options.min_duration_ms.unwrap_or(d.min_duration_ms),
        min_samples: options.min_samples.map_or(d.min_samples, |n| n as usize),
        min_growth_bytes: options.min_growth_bytes.unwrap_or(d.min_growth_bytes),
        min_growth_ratio: options.min_growth_ratio.unwrap_or(d.min_growth_ratio),
        max_window_ms: options.max_window_ms.unwrap_or(d.max_window_ms),
        probe_interval_ms: options.probe_interval_ms.unwrap_or(d.probe_interval_ms),
        max_probe_pause_ms: options.max_probe_pause_ms.unwrap_or(d.max_probe_pause_ms),
    }
}

/// The kinds of GC perf_hooks reports (JS maps `detail.kind` to these names).
#[napi(string_enum = "kebab-case")]
pub enum GcKind {
    Minor,
    Major,
    Incremental,
    WeakCallbacks,
}

/// GCs of one kind since the last report: `count` of them took `totalMs` together.
#[napi(object)]
pub struct GcTally {
    pub kind: GcKind,
    pub count: f64,
    pub total_ms: f64,
}

/// The figures of a full GC the detector decides on.
#[napi(object)]
pub struct FullGcSample {
    pub t_ms: f64,
    pub forced: bool,
    pub gc_duration_ms: f64,
    /// `v8.getHeapStatistics().used_heap_size`.
    pub used_heap_size: f64,
    /// `process.memoryUsage().external`.
    pub external: f64,
}

/// What the monitor computes after a full GC (memwatch's names; times in nanoseconds as
/// @airbnb/node-memwatch).
#[napi(object, js_name = "MonitorStats")]
pub struct JsStats {
    #[napi(js_name = "num_full_gc")]
    pub num_full_gc: f64,
    #[napi(js_name = "num_inc_gc")]
    pub num_inc_gc: f64,
    #[napi(js_name = "heap_compactions")]
    pub heap_compactions: f64,
    #[napi(js_name = "usage_trend")]
    pub usage_trend: f64,
    #[napi(js_name = "estimated_base")]
    pub estimated_base: f64,
    #[napi(js_name = "current_base")]
    pub current_base: f64,
    pub min: f64,
    pub max: f64,
    #[napi(js_name = "gcScavengeCount")]
    pub gc_scavenge_count: f64,
    #[napi(js_name = "gcScavengeTime")]
    pub gc_scavenge_time: f64,
    #[napi(js_name = "gcMarkSweepCompactCount")]
    pub gc_mark_sweep_compact_count: f64,
    #[napi(js_name = "gcMarkSweepCompactTime")]
    pub gc_mark_sweep_compact_time: f64,
    #[napi(js_name = "gcIncrementalMarkingCount")]
    pub gc_incremental_marking_count: f64,
    #[napi(js_name = "gcIncrementalMarkingTime")]
    pub gc_incremental_marking_time: f64,
    #[napi(js_name = "gcProcessWeakCallbacksCount")]
    pub gc_process_weak_callbacks_count: f64,
    #[napi(js_name = "gcProcessWeakCallbacksTime")]
    pub gc_process_weak_callbacks_time: f64,
    /// Duration of this full GC, nanoseconds.
    #[napi(js_name = "gc_time")]
    pub gc_time: f64,
}

const NS_PER_MS: f64 = 1e6;

fn to_js_stats(s: Stats) -> JsStats {
    JsStats {
        num_full_gc: s.num_full_gc as f64,
        num_inc_gc: s.num_inc_gc as f64,
        heap_compactions: s.heap_compactions as f64,
        usage_trend: s.usage_trend,
        estimated_base: s.estimated_base,
        current_base: s.current_base,
        min: s.min,
        max: s.max,
        gc_scavenge_count: s.gc_scavenge_count as f64,
        gc_scavenge_time: s.gc_scavenge_time_ms * NS_PER_MS,
        gc_mark_sweep_compact_count: s.gc_mark_sweep_compact_count as f64,
        gc_mark_sweep_compact_time: s.gc_mark_sweep_compact_time_ms * NS_PER_MS,
        gc_incremental_marking_count: s.gc_incremental_marking_count as f64,
        gc_incremental_marking_time: s.gc_incremental_marking_time_ms * NS_PER_MS,
        gc_process_weak_callbacks_count: s.gc_process_weak_callbacks_count as f64,
        gc_process_weak_callbacks_time: s.gc_process_weak_callbacks_time_ms * NS_PER_MS,
        gc_time: s.gc_time_ms * NS_PER_MS,
    }
}

/// Survival figures behind a verdict.
#[napi(object, js_name = "LeakSurvivalEvidence")]
pub struct JsSurvivalEvidence {
    pub reading_at_ms: f64,
    pub cohorts: u32,
    pub retained_bytes: f64,
    pub old_retention: f64,
    pub recent_bytes: f64,
    pub older_lost_bytes: f64,
}

/// What a verdict rests on.
#[napi(object, js_name = "LeakEvidence")]
pub struct JsEvidence {
    pub rule: String,
    /// `survival`, `heap-after-gc`, `external-after-gc`, `forced-gcs`.
    pub signals: Vec<String>,
    pub survival: Option<JsSurvivalEvidence>,
}

fn to_js_evidence(e: Evidence) -> JsEvidence {
    JsEvidence {
        rule: e.rule.as_str().to_string(),
        signals: e.signals.iter().map(|s| s.as_str().to_string()).collect(),
        survival: e.survival.map(|s| JsSurvivalEvidence {
            reading_at_ms: s.reading_at_ms,
            cohorts: s.cohorts as u32,
            retained_bytes: s.retained_bytes,
            old_retention: s.old_retention,
            recent_bytes: s.recent_bytes,
            older_lost_bytes: s.older_lost_bytes,
        }),
    }
}

/// A leak verdict; JS turns the times into `start`/`end` Dates.
#[napi(object, js_name = "MonitorLeak")]
pub struct JsLeak {
    /// The verdict's id (from 1): a leak re-reported while its verdict stands keeps it.
    pub id: u32,
    pub kind: String,
    pub start_ms: f64,
    pub end_ms: f64,
    pub growth: f64,
    pub rate: f64,
    pub window_ms: f64,
    pub samples: u32,
    pub forced_gcs: u32,
    pub baseline_start: f64,
    pub baseline_end: f64,
    pub evidence: JsEvidence,
    pub reason: String,
}

fn to_js_leak(v: LeakVerdict) -> JsLeak {
    JsLeak {
        id: u32::try_from(v.id).unwrap_or(u32::MAX),
        kind: v.kind.as_str().to_string(),
        start_ms: v.start_ms,
        end_ms: v.end_ms,
        growth: v.growth_bytes,
        rate: v.rate_bytes_per_sec,
        window_ms: v.window_ms,
        samples: v.samples as u32,
        forced_gcs: v.forced_gcs as u32,
        baseline_start: v.baseline_start,
        baseline_end: v.baseline_end,
        evidence: to_js_evidence(v.evidence),
        reason: v.reason,
    }
}

/// A verdict withdrawn; JS turns the times into Dates.
#[napi(object, js_name = "MonitorResolution")]
pub struct JsResolution {
    pub id: u32,
    pub kind: String,
    pub raised_ms: f64,
    pub resolved_ms: f64,
    pub plateau_bytes: f64,
    pub stopped_ms: f64,
    pub freed_share: f64,
    pub trailing_rate: f64,
    pub trailing_window_ms: f64,
    pub fill_ms: f64,
    pub next_required_ms: f64,
    pub fill_bytes: f64,
    pub next_outgrow_bytes: f64,
    pub reason: String,
}

fn to_js_resolution(r: LeakResolution) -> JsResolution {
    JsResolution {
        id: u32::try_from(r.id).unwrap_or(u32::MAX),
        kind: r.kind.as_str().to_string(),
        raised_ms: r.raised_ms,
        resolved_ms: r.resolved_ms,
        plateau_bytes: r.plateau_bytes,
        stopped_ms: r.stopped_ms,
        freed_share: r.freed_share,
        trailing_rate: r.trailing_rate,
        trailing_window_ms: r.trailing_window_ms,
        fill_ms: r.fill_ms,
        next_required_ms: r.next_required_ms,
        fill_bytes: r.fill_bytes,
        next_outgrow_bytes: r.next_outgrow_bytes,
        reason: r.reason,
    }
}

#[napi(object)]
pub struct FullGcResult {
    pub stats: JsStats,
    pub leaks: Vec<JsLeak>,
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
        Monitor { inner: CoreMonitor::new(to_config(&options.unwrap_or_default()), start_ms) }
    }

    #[napi(catch_unwind)]
    pub fn configure(&mut self, options: DetectorOptions) {
        self.inner.set_config(to_config(&options));
    }

    /// Count the GCs since the last call, per kind.
    #[napi(catch_unwind)]
    pub fn record_gcs(&mut self, tallies: Vec<GcTally>) {
        for tally in tallies {
            let kind = match tally.kind {
                GcKind::Minor => CoreGcKind::Minor,
                GcKind::Major => CoreGcKind::Major,
                GcKind::Incremental => CoreGcKind::Incremental,
                GcKind::WeakCallbacks => CoreGcKind::WeakCallbacks,
            };
            if tally.count >= 1.0 && tally.count.is_finite() {
                self.inner.record_gcs(kind, tally.count as u64, tally.total_ms);
            }
        }
    }

    #[napi(catch_unwind)]
    pub fn record_full_gc(&mut self, sample: FullGcSample) -> FullGcResult {
        let heap = HeapSample {
            t_ms: sample.t_ms,
            forced: sample.forced,
            used_heap_size: sample.used_heap_size,
            external: sample.external,
        };
        let (stats, leaks) = self.inner.record_full_gc(heap, sample.gc_duration_ms);
        FullGcResult { stats: to_js_stats(stats), leaks: leaks.into_iter().map(to_js_leak).collect() }
    }

    /// A survival reading of the allocation sampler; returns any heap leak it reveals.
    #[napi(catch_unwind)]
    pub fn observe_survival(&mut self, reading: SurvivalReading) -> Vec<JsLeak> {
        let reading = CoreReading::from(reading);
        self.inner.observe_survival(&reading).into_iter().map(to_js_leak).collect()
    }

    /// Verdicts withdrawn since the last call (after recordFullGc or observeSurvival).
    #[napi(catch_unwind)]
    pub fn take_resolutions(&mut self) -> Vec<JsResolution> {
        self.inner.take_resolutions().into_iter().map(to_js_resolution).collect()
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
