//! Probe policy: when a forced full GC would tell the detector something worth its cost.
//!
//! A probe is due when memory (JS heap plus external) rose noticeably since the last
//! post-GC baseline and no full GC happened for a while; a *confirmation* is due when a
//! figures rule is suspicious (it holds on natural samples alone; the survival rule needs no
//! confirmation, every sampler reading follows a full GC). Forced GCs are paced
//! by `probe_interval_ms` and by 100x the last full GC's cost (~1 % of wall time).

use super::{is_amount, DetectorConfig, KIB};

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
}

impl ProbeState {
    pub fn note_full_gc(&mut self, t_ms: f64, duration_ms: f64) {
        self.last_full_gc_duration_ms = duration_ms;
        if t_ms.is_finite() {
            // A late, out-of-order report must not move the clock back and allow an early probe.
            self.last_full_gc_ms = Some(self.last_full_gc_ms.map_or(t_ms, |last| last.max(t_ms)));
        }
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
