//! Probe policy: when a forced full GC would tell the detector something worth its cost.
//!
//! A probe is due when memory (JS heap plus external) rose noticeably since the last
//! post-GC baseline and no full GC happened for a while; a *confirmation* is due when a
//! figures rule is suspicious (it holds on natural samples alone; the survival rule needs no
//! confirmation, every sampler reading follows a full GC). Forced GCs are paced
//! by `probe_interval_ms` and by 100x the last full GC's cost (~1 % of wall time).
//!
//! And they are only ever *cheap*: a forced full GC is atomic, and stops the app for about
//! 1 ms per MB of live heap (0.8 ms/MB measured on the development machine; ~1 s at 750 MB),
//! so a probe is allowed only while its expected pause is within `max_probe_pause_ms`
//! (default 10 ms: heaps of about 10 MB, where natural collections are frequent anyway).
//! The expectation is `DEFAULT_PAUSE_MS_PER_MIB`, or the fastest rate measured on the forced
//! GCs seen (a probe, `leakwatch.gc()`, the app's own `gc()`) when that is lower: a GC timed
//! on a loaded host takes longer in wall time for the same work, and learning that would
//! stop the probes of a small process for good, while the default bounds the error on a
//! pointer-heavy heap (2x at ~2 ms/MB). On larger heaps the detectors
//! take what they need from the natural full GCs: the survival rule judges the heap, and the
//! figures rule takes natural samples for external memory (see `rule`).

use super::{is_amount, DetectorConfig, HeapSample, KIB};

const MIB: f64 = 1024.0 * KIB;
/// A forced full GC's pause per MiB of used heap until one has been measured.
const DEFAULT_PAUSE_MS_PER_MIB: f64 = 1.0;

/// A probe is only worth it if the heap rose by more than this since the last baseline...
const MIN_PROBE_RISE_BYTES: f64 = 256.0 * KIB;
/// ...and by more than this share of it.
const MIN_PROBE_RISE_RATIO: f64 = 0.005;
/// Forced GCs may cost at most ~1/this of wall time.
const PROBE_COST_FACTOR: f64 = 100.0;

/// What the probe policy needs to remember.
#[derive(Debug, Clone, Default)]
pub(super) struct ProbeState {
    pub last_full_gc_ms: Option<f64>,
    last_full_gc_duration_ms: f64,
    pub last_probe_ms: Option<f64>,
    /// used_heap_size + external after the last full GC past warm-up.
    pub last_baseline: Option<f64>,
    /// used_heap_size after the last full GC.
    used_heap: Option<f64>,
    /// The fastest pause per MiB of used heap of the forced full GCs seen.
    pause_ms_per_mib: Option<f64>,
}

impl ProbeState {
    pub fn note_full_gc(&mut self, sample: &HeapSample, duration_ms: f64) {
        let t_ms = sample.t_ms;
        self.last_full_gc_duration_ms = duration_ms;
        if t_ms.is_finite() {
            // A late, out-of-order report must not move the clock back and allow an early probe.
            self.last_full_gc_ms = Some(self.last_full_gc_ms.map_or(t_ms, |last| last.max(t_ms)));
        }
        if is_amount(sample.used_heap_size) {
            self.used_heap = Some(sample.used_heap_size);
            if sample.forced && duration_ms > 0.0 && sample.used_heap_size >= MIB {
                let rate = duration_ms / (sample.used_heap_size / MIB);
                self.pause_ms_per_mib = Some(self.pause_ms_per_mib.map_or(rate, |r| r.min(rate)));
            }
        }
    }

    /// How long a forced full GC would stop the app now, `used_heap` being the used heap size
    /// now (the larger of it and the last post-GC figure counts).
    pub fn expected_pause_ms(&self, used_heap: f64) -> f64 {
        let now = if is_amount(used_heap) { used_heap } else { 0.0 };
        let heap = self.used_heap.unwrap_or(0.0).max(now);
        heap / MIB * self.pause_ms_per_mib.map_or(DEFAULT_PAUSE_MS_PER_MIB, |r| r.min(DEFAULT_PAUSE_MS_PER_MIB))
    }

    /// Whether a forced full GC costs little enough to be leakwatch's own decision.
    pub fn affordable(&self, config: &DetectorConfig, used_heap: f64) -> bool {
        self.expected_pause_ms(used_heap) <= config.max_probe_pause_ms
    }

    /// A routine probe: memory rose, and neither a full GC nor a probe happened for an interval.
    /// `past_warmup` is whether `now_ms` is past the detector's warm-up.
    pub fn probe_is_due(&self, config: &DetectorConfig, now_ms: f64, past_warmup: bool, watched_bytes: f64) -> bool {
        let interval = config.probe_interval_ms;
        // Never seen one: nothing to wait for.
        let since = |t: Option<f64>| t.map_or(f64::INFINITY, |t| now_ms - t);
        let since_full_gc = since(self.last_full_gc_ms);
        interval > 0.0
            && past_warmup
            && since_full_gc >= interval
            && since(self.last_probe_ms) >= interval
            // Spacing probes by 100x the last full GC's cost keeps forced GCs at ~1% of time.
            && since_full_gc >= PROBE_COST_FACTOR * self.last_full_gc_duration_ms
            && self.memory_rose_since_baseline(watched_bytes)
    }

    /// A suspicion is confirmed at most once per probe interval, and forced GCs stay within
    /// ~1% of wall time, but without waiting for a pause since the last (natural) full GC,
    /// which a busy process may never leave.
    pub fn confirmation_is_due(&self, config: &DetectorConfig, now_ms: f64, past_warmup: bool) -> bool {
        let since_probe = self.last_probe_ms.map_or(f64::INFINITY, |t| now_ms - t);
        let spacing = config.probe_interval_ms.max(PROBE_COST_FACTOR * self.last_full_gc_duration_ms);
        config.probe_interval_ms > 0.0 && past_warmup && since_probe >= spacing
    }

    fn memory_rose_since_baseline(&self, watched_bytes: f64) -> bool {
        if !is_amount(watched_bytes) {
            return false;
        }
        match self.last_baseline {
            None => true,
            Some(base) => watched_bytes - base > MIN_PROBE_RISE_BYTES.max(MIN_PROBE_RISE_RATIO * base),
        }
    }
}
