//! The leak monitor as a JS class: JS forwards GC entries and heap figures, Rust keeps
//! the counters and decides. Payload names follow memwatch and @airbnb/node-memwatch.

use leakwatch_core::monitor::{self as core, DetectorConfig, GcKind, HeapSample, LeakVerdict, Stats};
use napi_derive::napi;

/// Leak detector settings; every field optional (defaults need no tuning).
#[napi(object)]
#[derive(Default)]
pub struct DetectorOptions {
    /// Ignore samples this long after start (ms, default 5000).
    pub warmup_ms: Option<f64>,
    /// Evidence must span at least this long (ms, default 12000).
    pub min_duration_ms: Option<f64>,
    /// Full-GC samples needed (default 3).
    pub min_samples: Option<u32>,
    /// Growth needed, bytes (default 1 MiB)...
    pub min_growth_bytes: Option<f64>,
    /// ...and as a share of the baseline (default 0.01).
    pub min_growth_ratio: Option<f64>,
    /// Look at most this far back (ms, default 120000).
    pub max_window_ms: Option<f64>,
    /// Minimum time between forced confirmation GCs (ms, default 8000; 0 = never force).
    pub probe_interval_ms: Option<f64>,
}

fn to_config(options: &DetectorOptions) -> DetectorConfig {
    let d = DetectorConfig::default();
    DetectorConfig {
        warmup_ms: options.warmup_ms.unwrap_or(d.warmup_ms),
        min_duration_ms: options.min_duration_ms.unwrap_or(d.min_duration_ms),
        min_samples: options.min_samples.map_or(d.min_samples, |n| n as usize),
        min_growth_bytes: options.min_growth_bytes.unwrap_or(d.min_growth_bytes),
        min_growth_ratio: options.min_growth_ratio.unwrap_or(d.min_growth_ratio),
        max_window_ms: options.max_window_ms.unwrap_or(d.max_window_ms),
        probe_interval_ms: options.probe_interval_ms.unwrap_or(d.probe_interval_ms),
    }
}

/// Heap figures right after a full GC (v8.getHeapStatistics + process.memoryUsage).
#[napi(object)]
pub struct FullGcSample {
    pub t_ms: f64,
    pub forced: bool,
    pub gc_duration_ms: f64,
    pub used_heap_size: f64,
    pub total_heap_size: f64,
    pub total_heap_size_executable: f64,
    pub total_physical_size: f64,
    pub total_available_size: f64,
    pub heap_size_limit: f64,
    pub malloced_memory: f64,
    pub peak_malloced_memory: f64,
    pub external: f64,
    pub array_buffers: f64,
    pub rss: f64,
}

/// The `stats` payload without the JS-only timestamp.
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
    #[napi(js_name = "total_heap_size")]
    pub total_heap_size: f64,
    #[napi(js_name = "total_heap_size_executable")]
    pub total_heap_size_executable: f64,
    #[napi(js_name = "total_physical_size")]
    pub total_physical_size: f64,
    #[napi(js_name = "total_available_size")]
    pub total_available_size: f64,
    #[napi(js_name = "used_heap_size")]
    pub used_heap_size: f64,
    #[napi(js_name = "heap_size_limit")]
    pub heap_size_limit: f64,
    #[napi(js_name = "malloced_memory")]
    pub malloced_memory: f64,
    #[napi(js_name = "peak_malloced_memory")]
    pub peak_malloced_memory: f64,
    /// Duration of this full GC, nanoseconds (as @airbnb/node-memwatch).
    #[napi(js_name = "gc_time")]
    pub gc_time: f64,
    pub external: f64,
    #[napi(js_name = "array_buffers")]
    pub array_buffers: f64,
    pub rss: f64,
    /// This collection was forced (leakwatch.gc() or a confirmation probe).
    pub forced: bool,
}

const NS_PER_MS: f64 = 1e6;

fn to_js_stats(s: Stats) -> JsStats {
    let h = s.sample;
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
        total_heap_size: h.total_heap_size,
        total_heap_size_executable: h.total_heap_size_executable,
        total_physical_size: h.total_physical_size,
        total_available_size: h.total_available_size,
        used_heap_size: h.used_heap_size,
        heap_size_limit: h.heap_size_limit,
        malloced_memory: h.malloced_memory,
        peak_malloced_memory: h.peak_malloced_memory,
        gc_time: s.gc_time_ms * NS_PER_MS,
        external: h.external,
        array_buffers: h.array_buffers,
        rss: h.rss,
        forced: s.forced,
    }
}

/// A leak verdict; JS turns the times into `start`/`end` Dates.
#[napi(object, js_name = "MonitorLeak")]
pub struct JsLeak {
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
    pub reason: String,
}

fn to_js_leak(v: LeakVerdict) -> JsLeak {
    JsLeak {
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
        reason: v.reason,
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
    inner: core::Monitor,
}

#[napi]
impl Monitor {
    #[napi(constructor, catch_unwind)]
    pub fn new(options: Option<DetectorOptions>, start_ms: f64) -> Self {
        Monitor { inner: core::Monitor::new(to_config(&options.unwrap_or_default()), start_ms) }
    }

    #[napi(catch_unwind)]
    pub fn configure(&mut self, options: DetectorOptions) {
        self.inner.set_config(to_config(&options));
    }

    /// Count the GCs since the last call, per kind: `counts[k]` GCs took `totals_ms[k]`
    /// together. Kinds use leakwatch's codes, which JS maps from the perf_hooks constants:
    /// 0 minor (scavenge), 1 major (mark-sweep-compact), 2 incremental marking, 3 weak callbacks.
    #[napi(catch_unwind)]
    pub fn record_gcs(&mut self, counts: Vec<f64>, totals_ms: Vec<f64>) {
        let kinds = [GcKind::Minor, GcKind::Major, GcKind::Incremental, GcKind::WeakCallbacks];
        for ((kind, count), total) in kinds.into_iter().zip(counts).zip(totals_ms) {
            if count >= 1.0 && count.is_finite() {
                self.inner.record_gcs(kind, count as u64, total);
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
            total_heap_size: sample.total_heap_size,
            total_heap_size_executable: sample.total_heap_size_executable,
            total_physical_size: sample.total_physical_size,
            total_available_size: sample.total_available_size,
            heap_size_limit: sample.heap_size_limit,
            malloced_memory: sample.malloced_memory,
            peak_malloced_memory: sample.peak_malloced_memory,
            array_buffers: sample.array_buffers,
            rss: sample.rss,
        };
        let (stats, leaks) = self.inner.record_full_gc(heap, sample.gc_duration_ms);
        FullGcResult { stats: to_js_stats(stats), leaks: leaks.into_iter().map(to_js_leak).collect() }
    }

    /// Should JS force a full GC now to confirm or clear a suspicion?
    #[napi(catch_unwind)]
    pub fn should_probe(&mut self, now_ms: f64, used_heap_size: f64) -> bool {
        self.inner.should_probe(now_ms, used_heap_size)
    }
}
