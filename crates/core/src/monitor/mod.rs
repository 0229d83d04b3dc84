//! Leak detection and memwatch-compatible stats bookkeeping.
//!
//! JS reports every GC it observes (`record_gcs`), the few figures of each full GC the detector
//! decides on (`record_full_gc`: time, forced or not, used heap, external memory), light
//! samples after minor GCs (`should_probe`, which decides whether a forced full GC would now
//! tell us something), and, when the allocation sampler runs, survival readings
//! (`observe_survival`). Times are caller-supplied milliseconds on a monotonic clock; nothing
//! here reads a clock, so everything is deterministic and testable.
//!
//! * [`types`]: the public types (config, samples, verdicts with their evidence, stats figures);
//! * [`probe`]: when to force a full GC;
//! * [`stats`]: memwatch's statistics (and memwatch's own leak rule, for comparison);
//! * [`rule`]: the leak rule on post-GC figures (legacy, and the adaptive fallback);
//! * [`cohorts`]: the survival rule on the sampler's cohorts;
//! * [`robust`]: robust statistics (lower envelope, bucket minima, Theil–Sen);
//! * [`trace`]: replaying a process's recorded calls (tuning and regression tests on real inputs).
//!
//! With the adaptive rule (default) the heap is judged on survival while the sampler's
//! readings are current, and on the phase-robust figures rule otherwise; external memory,
//! which the sampler does not see, always on the figures rule.

mod cohorts;
mod lifecycle;
mod probe;
pub(crate) mod robust;
mod rule;
mod stats;
pub mod trace;
mod types;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use lifecycle::LeakResolution;
#[cfg(test)]
use stats::memwatch_rule_first_fire;
pub use types::{
    DetectorConfig, DetectorOptions, Evidence, GcKind, HeapSample, LeakVerdict, MemoryKind, Rule, Signal, Stats,
    SurvivalEvidence,
};

use crate::survival::SurvivalReading;
use cohorts::{Outcome, SurvivalState};
use lifecycle::Lifecycle;
use probe::ProbeState;
use robust::Point;
use rule::FiguresDetector;
use stats::{GcCounters, HeapBaseline};

const KIB: f64 = 1024.0;
#[cfg(test)]
const MIB: f64 = 1024.0 * KIB;
/// memwatch reports GC times in nanoseconds; perf_hooks gives milliseconds.
const NS_PER_MS: f64 = 1e6;

/// A count as verdicts carry it (JS numbers: u32 is plenty for samples and cohorts).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Leak detection and stats bookkeeping for one process.
#[derive(Debug, Clone)]
pub struct Monitor {
    config: DetectorConfig,
    start_ms: f64,
    num_full_gc: u64,
    gcs: GcCounters,
    baseline: HeapBaseline,
    heap: FiguresDetector,
    external: FiguresDetector,
    survival: SurvivalState,
    probe: ProbeState,
    lifecycle: Lifecycle,
}

impl Monitor {
    pub fn new(config: DetectorConfig, start_ms: f64) -> Self {
        Self {
            config: config.sanitized(),
            start_ms: if start_ms.is_finite() { start_ms } else { 0.0 },
            num_full_gc: 0,
            gcs: GcCounters::default(),
            baseline: HeapBaseline::default(),
            heap: FiguresDetector::new(MemoryKind::Heap),
            external: FiguresDetector::new(MemoryKind::External),
            survival: SurvivalState::default(),
            probe: ProbeState::default(),
            lifecycle: Lifecycle::default(),
        }
    }

    /// Takes effect from the next sample; collected evidence and escalation are kept.
    pub fn set_config(&mut self, config: DetectorConfig) {
        self.config = config.sanitized();
    }

    /// Count a GC of any kind. A bad duration still counts the GC, with no time. (Tests
    /// only: JS batches GCs, see `record_gcs`.)
    #[cfg(test)]
    pub(crate) fn record_gc(&mut self, kind: GcKind, duration_ms: f64) {
        self.gcs.tally_mut(kind).add(duration_ms);
    }

    /// Count `count` GCs of one kind that took `total_ms` together (JS batches them).
    pub fn record_gcs(&mut self, kind: GcKind, count: u64, total_ms: f64) {
        let tally = self.gcs.tally_mut(kind);
        tally.count = tally.count.saturating_add(count);
        tally.time_ms += duration_or_zero(total_ms);
    }

    /// A full GC finished: update bookkeeping, feed both detectors (heap: used_heap_size;
    /// external: external), return the stats figures and any verdicts (one per memory kind at
    /// most). The per-kind GC counters are left to `record_gcs`, which JS calls for this GC too.
    pub fn record_full_gc(&mut self, sample: HeapSample, gc_duration_ms: f64) -> (Stats, Vec<LeakVerdict>) {
        let gc_time_ms = duration_or_zero(gc_duration_ms);
        self.num_full_gc = self.num_full_gc.saturating_add(1);
        self.probe.note_full_gc(&sample, gc_time_ms);
        self.baseline.observe(sample.t_ms, sample.used_heap_size, self.config.max_window_ms);
        self.judge_standing(&sample);
        let verdicts = self.detect(&sample);
        (self.stats(gc_time_ms), self.raise(verdicts))
    }

    /// Verdicts withdrawn since the last call (their evidence stopped holding).
    pub fn take_resolutions(&mut self) -> Vec<LeakResolution> {
        self.lifecycle.take_resolved()
    }

    /// The verdicts standing now: (id, kind).
    pub fn standing(&self) -> Vec<(u32, MemoryKind)> {
        self.lifecycle.standing().collect()
    }

    fn raise(&mut self, mut verdicts: Vec<LeakVerdict>) -> Vec<LeakVerdict> {
        for verdict in &mut verdicts {
            self.lifecycle.raise(verdict);
        }
        verdicts
    }

    /// A full GC's figures judge the standing verdicts; a withdrawal teaches its kind's fill.
    fn judge_standing(&mut self, sample: &HeapSample) {
        let figures = [(MemoryKind::Heap, sample.used_heap_size), (MemoryKind::External, sample.external)];
        for (kind, value) in figures {
            if !is_amount(value) {
                continue;
            }
            let point = Point { t_ms: sample.t_ms, value, forced: sample.forced };
            let survival = &self.survival;
            if let Some(fill) = self.lifecycle.observe(kind, point, &self.config, survival) {
                match kind {
                    MemoryKind::Heap => self.heap.learn(fill),
                    MemoryKind::External => self.external.learn(fill),
                }
            }
        }
    }

    /// A reading of the allocation sampler: how much of each past interval's allocations is
    /// still alive. Returns a heap verdict when survival (with the post-GC figures) shows a leak.
    pub fn observe_survival(&mut self, reading: &SurvivalReading) -> Vec<LeakVerdict> {
        let keep_ms = self.config.max_window_ms.max(self.heap.required_duration_ms(&self.config));
        self.survival.observe(reading, keep_ms);
        if self.config.rule != Rule::Adaptive || !self.past_warmup(reading.at_ms) {
            return Vec::new();
        }
        let verdicts = self.judge_survival().into_iter().collect();
        self.raise(verdicts)
    }

    /// Light sample after a minor GC: should JS force a full GC now to confirm or deny a
    /// suspicion? Never when it would stop the app for long (`probe::ProbeState::affordable`
    /// on `used_heap_size`). The rise watched is of the JS heap plus external memory
    /// (`used_heap_size + external_memory` from `v8.getHeapStatistics()`), so a rise of either
    /// kind can be confirmed: a Buffer leak leaves the heap flat and V8 itself only collects
    /// on ~64 MB of external growth. Remembers the probe time when it answers yes.
    pub fn should_probe(&mut self, now_ms: f64, used_heap_size: f64, external: f64) -> bool {
        if !self.probe.affordable(&self.config, used_heap_size) {
            return false;
        }
        let external = if is_amount(external) { external } else { 0.0 };
        let watched_bytes = used_heap_size + external;
        let past_warmup = self.past_warmup(now_ms);
        let suspicious = self.heap.suspicious || self.external.suspicious;
        let probe = (suspicious && self.probe.confirmation_is_due(&self.config, now_ms, past_warmup))
            || self.probe.probe_is_due(&self.config, now_ms, past_warmup, watched_bytes);
        if probe {
            self.probe.last_probe_ms = Some(now_ms);
        }
        probe
    }

    /// Whether a full GC forced now (`used_heap_size` in use) would pause the app for at most
    /// `max_probe_pause_ms`: the sampler may then force one before a read on a small heap
    /// that has had no natural full GC for a read period.
    pub fn forced_gc_affordable(&self, used_heap_size: f64) -> bool {
        self.probe.affordable(&self.config, used_heap_size)
    }

    fn past_warmup(&self, t_ms: f64) -> bool {
        t_ms.is_finite() && t_ms >= self.warmup_end_ms()
    }

    fn warmup_end_ms(&self) -> f64 {
        self.start_ms + self.config.warmup_ms
    }

    fn judges_heap_on_survival(&self, now_ms: f64) -> bool {
        self.config.rule == Rule::Adaptive && self.survival.is_current(now_ms)
    }

    fn detect(&mut self, sample: &HeapSample) -> Vec<LeakVerdict> {
        if !self.past_warmup(sample.t_ms) {
            if is_amount(sample.used_heap_size) {
                self.heap.before =
                    Some(Point { t_ms: sample.t_ms, value: sample.used_heap_size, forced: sample.forced });
            }
            return Vec::new();
        }
        if is_amount(sample.used_heap_size) {
            // Same measure as `should_probe`'s light samples; a missing external figure is 0.
            let external = if is_amount(sample.external) { sample.external } else { 0.0 };
            self.probe.last_baseline = Some(sample.used_heap_size + external);
        }
        let at = |value| Point { t_ms: sample.t_ms, value, forced: sample.forced };
        // Where no probe may confirm a suspicion (a large heap), natural full GCs alone.
        let confirmable = self.probe.affordable(&self.config, sample.used_heap_size);
        let heap = if self.judges_heap_on_survival(sample.t_ms) {
            // Survival judges at readings; the samples are kept for the verdict's figures.
            self.heap.suspicious = false;
            self.heap.collect(at(sample.used_heap_size), &self.config);
            None
        } else {
            self.heap.observe(at(sample.used_heap_size), &self.config, confirmable)
        };
        let external = self.external.observe(at(sample.external), &self.config, confirmable);
        heap.into_iter().chain(external).collect()
    }

    fn judge_survival(&mut self) -> Option<LeakVerdict> {
        let required = self.heap.requirement(&self.config);
        let from_ms = self.warmup_end_ms().max(self.heap.reported_until_ms);
        match self.survival.assess(&self.config, required, from_ms, &self.heap.evidence.points, self.heap.before) {
            Outcome::Leak(verdict) => {
                self.heap.reported(verdict.end_ms);
                Some(*verdict)
            }
            Outcome::Nothing => None,
        }
    }

    fn stats(&self, gc_time_ms: f64) -> Stats {
        let gcs = &self.gcs;
        // Finite as the milliseconds are (a nonsense duration stays the largest number, not infinity).
        let ns = |ms: f64| (ms * NS_PER_MS).min(f64::MAX);
        Stats {
            num_full_gc: self.num_full_gc as f64,
            num_inc_gc: gcs.scavenge.count.saturating_add(gcs.incremental_marking.count) as f64,
            heap_compactions: self.num_full_gc as f64,
            usage_trend: self.baseline.usage_trend(),
            estimated_base: self.baseline.estimated.unwrap_or(0.0),
            current_base: self.baseline.current,
            min: self.baseline.min.unwrap_or(0.0),
            max: self.baseline.max.unwrap_or(0.0),
            gc_scavenge_count: gcs.scavenge.count as f64,
            gc_scavenge_time_ns: ns(gcs.scavenge.time_ms),
            gc_mark_sweep_compact_count: gcs.mark_sweep_compact.count as f64,
            gc_mark_sweep_compact_time_ns: ns(gcs.mark_sweep_compact.time_ms),
            gc_incremental_marking_count: gcs.incremental_marking.count as f64,
            gc_incremental_marking_time_ns: ns(gcs.incremental_marking.time_ms),
            gc_process_weak_callbacks_count: gcs.weak_callbacks.count as f64,
            gc_process_weak_callbacks_time_ns: ns(gcs.weak_callbacks.time_ms),
            gc_time_ns: ns(gc_time_ms),
        }
    }
}

/// memwatch-style sizes ("1.78 mb"): the one size format (`format::human_size`).
fn human_bytes(bytes: f64) -> String {
    crate::format::human_size(bytes.round() as i128)
}

/// A memory size we can use: finite and not negative.
fn is_amount(bytes: f64) -> bool {
    bytes.is_finite() && bytes >= 0.0
}

/// A usable GC duration; anything else counts as no time.
fn duration_or_zero(duration_ms: f64) -> f64 {
    if is_amount(duration_ms) {
        duration_ms
    } else {
        0.0
    }
}

/// `value` unless it is NaN or negative (infinity is allowed: it means "never").
fn non_negative_or(value: f64, fallback: f64) -> f64 {
    if value >= 0.0 {
        value
    } else {
        fallback
    }
}
