//! The monitor's public types: what JS hands in, what the detector is tuned with, and what it
//! gives back (stats figures and leak verdicts with their evidence).

use super::non_negative_or;
use crate::sampling::AllocationSite;

/// The kinds of V8 GC reported by perf_hooks (`detail.kind`; JS maps it to these names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "kebab-case"))]
pub enum GcKind {
    Minor,
    Major,
    Incremental,
    WeakCallbacks,
}

/// Which leak rule judges the evidence: `adaptive` (survival of sampled allocations when the
/// sampler runs, phase-robust post-GC figures otherwise) or `legacy` (leakwatch 0.1's rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "kebab-case"))]
pub enum Rule {
    /// Survival of sampled allocations when the sampler supplies it, combined with the post-GC
    /// figures; without it (and always for external memory), the figures rule made
    /// phase-robust (quarters instead of thirds, a confirming forced GC in the last quarter
    /// where one is cheap, see `DetectorConfig::max_probe_pause_ms`).
    #[default]
    Adaptive,
    /// leakwatch 0.1's rule, kept for comparison (benches) and as an escape hatch: lower
    /// envelope of all post-GC samples over thirds of the window.
    Legacy,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Adaptive => "adaptive",
            Rule::Legacy => "legacy",
        }
    }
}

/// Tuning of the leak detector and of probing. NaN or negative values fall back to the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
    pub rule: Rule,
    /// Samples before `start + warmup_ms` are ignored (start-up allocation is not a leak).
    pub warmup_ms: f64,
    /// The evidence must span at least this long (before escalation).
    pub min_duration_ms: f64,
    /// Baseline samples needed in the window (three buckets need at least three anyway).
    pub min_samples: usize,
    /// Absolute growth of the lower envelope needed.
    pub min_growth_bytes: f64,
    /// Growth must also be at least this share of the starting baseline.
    pub min_growth_ratio: f64,
    /// Only the most recent samples count (widened to the escalated duration when needed).
    pub max_window_ms: f64,
    /// Minimum time between forced GCs; 0 disables probing.
    pub probe_interval_ms: f64,
    /// Forced GCs only while one is expected to stop the app for at most this long (see
    /// `probe`): on a large heap leakwatch never collects of its own accord.
    pub max_probe_pause_ms: f64,
}

impl Default for DetectorConfig {
    /// The adaptive rule's defaults, tuned on the fixture corpus (benches/detection.bench.mjs).
    fn default() -> Self {
        Self {
            rule: Rule::Adaptive,
            warmup_ms: 3_000.0,
            min_duration_ms: 9_000.0,
            min_samples: 4,
            min_growth_bytes: 1024.0 * 1024.0,
            min_growth_ratio: 0.01,
            max_window_ms: 120_000.0,
            probe_interval_ms: 2_000.0,
            max_probe_pause_ms: 10.0,
        }
    }
}

/// Leak detector settings as the app gives them (`Options` in index.d.ts): every field
/// optional, the rule's default (`DetectorConfig::for_rule`) where one is missing. JS takes
/// the option names from here (`detectorOptionNames()`).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct DetectorOptions {
    /// Leak rule: 'adaptive' (default; survival of sampled allocations when the sampler runs,
    /// phase-robust post-GC figures otherwise) or 'legacy' (leakwatch 0.1's rule).
    pub detector: Option<Rule>,
    /// Leak detector: ignore the first ms after start (default 3000; legacy 5000).
    pub warmup_ms: Option<f64>,
    /// Leak detector: evidence must span at least this long (default 9000; legacy 12000).
    pub min_duration_ms: Option<f64>,
    /// Leak detector: full-GC samples needed by the figures rule (default 4; legacy 3).
    pub min_samples: Option<u32>,
    /// Leak detector: growth needed in bytes (default 1 MiB)…
    pub min_growth_bytes: Option<f64>,
    /// …and as a share of the baseline (default 0.01).
    pub min_growth_ratio: Option<f64>,
    /// Leak detector: look back at most this far (default 120000).
    pub max_window_ms: Option<f64>,
    /// Minimum ms between forced confirmation GCs; 0 never forces one (default 2000; legacy 8000).
    pub probe_interval_ms: Option<f64>,
    /// Force a confirming GC only while it is expected to pause the app at most this long: ~1 ms
    /// per MB of heap, so by default only on heaps of about 10 MB (default 10).
    pub max_probe_pause_ms: Option<f64>,
}

impl DetectorOptions {
    /// The options' names as JS spells them, in declaration order: read off the struct itself
    /// (serde's names for its fields, camelCase as napi's), so that a field added here reaches
    /// JS's option checks without a second list.
    pub fn names() -> Vec<&'static str> {
        serde_names::<DetectorOptions>()
    }
}

impl Rule {
    /// The rules' names as JS spells them (serde's, kebab-case as napi's), read off the enum
    /// itself like `DetectorOptions::names`.
    pub fn names() -> Vec<&'static str> {
        serde_names::<Rule>()
    }
}

/// The names serde gives a struct's fields or an enum's variants.
fn serde_names<T: for<'de> serde::Deserialize<'de>>() -> Vec<&'static str> {
    let mut names = FieldNames(&[]);
    // Fails by design once the names are known: no value is read.
    let _ = T::deserialize(&mut names);
    names.0.to_vec()
}

/// A deserializer that reads nothing: it only notes the field names a struct asks for, or
/// the variant names of an enum.
struct FieldNames(&'static [&'static str]);

impl<'de> serde::Deserializer<'de> for &mut FieldNames {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("field names only"))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = fields;
        Err(serde::de::Error::custom("field names only"))
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = variants;
        Err(serde::de::Error::custom("variant names only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
    }
}

impl From<&DetectorOptions> for DetectorConfig {
    /// The rule's defaults where an option is missing.
    fn from(options: &DetectorOptions) -> Self {
        let rule = options.detector.unwrap_or_default();
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
}

impl DetectorConfig {
    /// Defaults of a rule (`legacy`: leakwatch 0.1's settings).
    pub fn for_rule(rule: Rule) -> Self {
        match rule {
            Rule::Adaptive => Self::default(),
            Rule::Legacy => Self {
                rule,
                warmup_ms: 5_000.0,
                min_duration_ms: 12_000.0,
                min_samples: 3,
                probe_interval_ms: 8_000.0,
                ..Self::default()
            },
        }
    }

    /// Replaces NaN or negative settings with their defaults so the arithmetic never sees them.
    pub(super) fn sanitized(self) -> Self {
        let fallback = Self::for_rule(self.rule);
        Self {
            rule: self.rule,
            warmup_ms: non_negative_or(self.warmup_ms, fallback.warmup_ms),
            min_duration_ms: non_negative_or(self.min_duration_ms, fallback.min_duration_ms),
            min_samples: self.min_samples,
            min_growth_bytes: non_negative_or(self.min_growth_bytes, fallback.min_growth_bytes),
            min_growth_ratio: non_negative_or(self.min_growth_ratio, fallback.min_growth_ratio),
            max_window_ms: non_negative_or(self.max_window_ms, fallback.max_window_ms),
            probe_interval_ms: non_negative_or(self.probe_interval_ms, fallback.probe_interval_ms),
            max_probe_pause_ms: non_negative_or(self.max_probe_pause_ms, fallback.max_probe_pause_ms),
        }
    }
}

/// The figures of a full GC the detector decides on (JS reads the rest of Node's figures and
/// spreads them into the `stats` event itself).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "FullGcSample"))]
pub struct HeapSample {
    pub t_ms: f64,
    /// This full GC was forced (a probe, or `leakwatch.gc()`).
    pub forced: bool,
    /// `v8.getHeapStatistics().used_heap_size`.
    pub used_heap_size: f64,
    /// `process.memoryUsage().external` (includes array buffers).
    pub external: f64,
}

/// Which memory a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "lowercase"))]
pub enum MemoryKind {
    Heap,
    External,
}

impl MemoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryKind::Heap => "heap",
            MemoryKind::External => "external",
        }
    }

    /// Subject of the human-readable reason.
    pub(super) fn noun(self) -> &'static str {
        match self {
            MemoryKind::Heap => "heap",
            MemoryKind::External => "external memory",
        }
    }
}

/// A signal a verdict rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "kebab-case"))]
pub enum Signal {
    /// Sampled allocations of the window stay alive while newer ones keep adding up.
    Survival,
    /// The post-GC heap (used_heap_size) rose.
    HeapAfterGc,
    /// The post-GC external memory rose.
    ExternalAfterGc,
    /// Forced GCs, at moments of leakwatch's choosing, are among the samples.
    ForcedGcs,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Survival => "survival",
            Signal::HeapAfterGc => "heap-after-gc",
            Signal::ExternalAfterGc => "external-after-gc",
            Signal::ForcedGcs => "forced-gcs",
        }
    }
}

/// What the survival of sampled allocations showed over the verdict's window.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "LeakSurvivalEvidence"))]
pub struct SurvivalEvidence {
    /// Time of the sampler's read the verdict used.
    pub reading_at_ms: f64,
    /// Cohorts (allocation intervals) in the window, all through a full GC since.
    pub cohorts: u32,
    /// Estimated bytes those cohorts still hold.
    pub retained_bytes: f64,
    /// Share of their settled size that the older half of the window's cohorts still hold.
    pub old_retention: f64,
    /// Estimated bytes the newest third of the window still holds.
    pub recent_bytes: f64,
    /// Estimated bytes the allocations from before the window lost meanwhile: the sampled heap
    /// grew by `retained_bytes` less this (a stable heap replacing old entries does not grow).
    pub older_lost_bytes: f64,
}

/// What a verdict rests on.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "LeakEvidence"))]
pub struct Evidence {
    pub rule: Rule,
    pub signals: Vec<Signal>,
    pub survival: Option<SurvivalEvidence>,
}

/// A reported leak (JS turns the times into `start`/`end` Dates).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "MonitorLeak"))]
pub struct LeakVerdict {
    /// The verdict's identity (from 1, per process): a leak re-reported while its verdict
    /// stands keeps it; `LeakResolution::id` names the one withdrawn.
    pub id: u32,
    pub kind: MemoryKind,
    /// First and last instant of the evidence window.
    pub start_ms: f64,
    pub end_ms: f64,
    /// Growth over the window: retained bytes (survival) or rise of the lower envelope.
    #[cfg_attr(feature = "napi", napi(js_name = "growth"))]
    pub growth_bytes: f64,
    /// Bytes per second over the window.
    #[cfg_attr(feature = "napi", napi(js_name = "rate"))]
    pub rate_bytes_per_sec: f64,
    pub window_ms: f64,
    /// Post-GC samples in the window.
    pub samples: u32,
    /// How many of them came from forced (probe) GCs.
    pub forced_gcs: u32,
    /// Lower envelope of the post-GC figure at the start and end of the window.
    pub baseline_start: f64,
    pub baseline_end: f64,
    pub evidence: Evidence,
    pub reason: String,
    /// The allocation sites the sampler names at the verdict's read (the top of its
    /// leak-site ranking, `agent::VERDICT_SITES`); empty without sampling.
    pub sites: Vec<AllocationSite>,
}

/// The figures of the memwatch 'stats' payload that the monitor computes after each full GC
/// (Node's own heap figures are added by JS): memwatch's names, counts as numbers and times in
/// nanoseconds as @airbnb/node-memwatch.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "MonitorStats"))]
pub struct Stats {
    /// Full GCs reported through `record_full_gc`.
    #[cfg_attr(feature = "napi", napi(js_name = "num_full_gc"))]
    pub num_full_gc: f64,
    /// Non-full collections: scavenges plus incremental marking (memwatch counted every
    /// non-full GC; weak-callback processing is a phase, not a collection).
    #[cfg_attr(feature = "napi", napi(js_name = "num_inc_gc"))]
    pub num_inc_gc: f64,
    /// V8 no longer says whether a mark-sweep-compact compacted, so every full GC counts.
    #[cfg_attr(feature = "napi", napi(js_name = "heap_compactions"))]
    pub heap_compactions: f64,
    /// Signed bytes/s Theil–Sen slope of the recent baselines (0 until two samples).
    #[cfg_attr(feature = "napi", napi(js_name = "usage_trend"))]
    pub usage_trend: f64,
    /// Exponential moving average of post-full-GC used_heap_size (first value = first sample).
    #[cfg_attr(feature = "napi", napi(js_name = "estimated_base"))]
    pub estimated_base: f64,
    /// Latest post-full-GC used_heap_size.
    #[cfg_attr(feature = "napi", napi(js_name = "current_base"))]
    pub current_base: f64,
    pub min: f64,
    pub max: f64,
    #[cfg_attr(feature = "napi", napi(js_name = "gcScavengeCount"))]
    pub gc_scavenge_count: f64,
    /// Nanoseconds, as every time below.
    #[cfg_attr(feature = "napi", napi(js_name = "gcScavengeTime"))]
    pub gc_scavenge_time_ns: f64,
    #[cfg_attr(feature = "napi", napi(js_name = "gcMarkSweepCompactCount"))]
    pub gc_mark_sweep_compact_count: f64,
    #[cfg_attr(feature = "napi", napi(js_name = "gcMarkSweepCompactTime"))]
    pub gc_mark_sweep_compact_time_ns: f64,
    #[cfg_attr(feature = "napi", napi(js_name = "gcIncrementalMarkingCount"))]
    pub gc_incremental_marking_count: f64,
    #[cfg_attr(feature = "napi", napi(js_name = "gcIncrementalMarkingTime"))]
    pub gc_incremental_marking_time_ns: f64,
    #[cfg_attr(feature = "napi", napi(js_name = "gcProcessWeakCallbacksCount"))]
    pub gc_process_weak_callbacks_count: f64,
    #[cfg_attr(feature = "napi", napi(js_name = "gcProcessWeakCallbacksTime"))]
    pub gc_process_weak_callbacks_time_ns: f64,
    /// Duration of the full GC that produced this sample.
    #[cfg_attr(feature = "napi", napi(js_name = "gc_time"))]
    pub gc_time_ns: f64,
}
