//! The survival rule: the age of what stays alive, from the allocation sampler's cohorts
//! (`crate::survival`). Post-GC heap figures depend on when the GC ran (a batch in flight,
//! floating garbage); what allocations of a past interval still hold after a full GC does not.
//!
//! A cohort is *settled* once a full GC ran after it ended: its live bytes are then what it
//! really retains, not garbage waiting for collection. The monitor remembers each cohort's
//! settled peak (carried over when the sampler merges old cohorts). Over the window (settled
//! cohorts past warm-up and since the last report, spanning the required duration):
//! * they retain at least `max(min_growth_bytes / 4, min_growth_ratio * heap)`;
//! * the older half keeps at least 90 % of its settled peak (a cache that evicts, or a batch
//!   whose data a GC caught alive, loses its old cohorts);
//! * every third of the window still holds at least 1/6 of the retained bytes (newer
//!   allocations keep adding up; a warm-up that loaded a dataset stops adding);
//! * the post-GC heap agrees: its lower envelope rose by at least a quarter of the retained
//!   bytes (and a quarter of `min_growth_bytes`) (a large stable heap that replaces old entries with new ones keeps cohorts alive
//!   for a while but does not grow). Without a post-GC sample near the end of the window the
//!   monitor is *suspicious* and asks for a confirming forced GC.

use super::robust::Point;
use super::{human_bytes, DetectorConfig, Evidence, LeakVerdict, MemoryKind, Rule, Signal, SurvivalEvidence};
use crate::survival::{CohortSurvival, SurvivalReading};

/// The older half of the window must keep this share of its settled peak.
pub(super) const MIN_OLD_RETENTION: f64 = 0.9;
/// Each third of the window must hold at least this share of what the window retains.
const MIN_THIRD_SHARE: f64 = 1.0 / 6.0;
/// Survival is strong evidence: it needs this share of `min_growth_bytes` (slow leaks of a few
/// KB/s are reported within minutes), the post-GC heap's agreement guarding against noise.
const MIN_GROWTH_SHARE: f64 = 0.25;
/// The post-GC heap's rise must be at least this share of the retained bytes.
const MIN_HEAP_AGREEMENT: f64 = 0.25;
/// A reading is current for this long, or 2.5 read intervals if longer.
const STALE_AFTER_MS: f64 = 30_000.0;
/// Objects of a cohort still in use at its end (requests in flight) are done this much later.
const SETTLE_MS: f64 = 2_000.0;
/// Bound on remembered cohorts, whatever the sampler sends.
const MAX_COHORTS: usize = 512;

#[derive(Debug, Clone, Copy)]
struct Cohort {
    start_ms: f64,
    end_ms: f64,
    live_bytes: f64,
    /// A full GC ran after the cohort ended (at a read, or in a cohort merged into it).
    settled: bool,
    /// A full GC ran at least `SETTLE_MS` after the cohort ended, when objects still in flight
    /// at its end (requests being served) were done.
    referenced: bool,
    /// Most bytes seen at a read since `referenced`: what the cohort retains, to compare with.
    settled_peak: f64,
}

/// The latest survival reading, with what the monitor learnt from earlier ones.
#[derive(Debug, Clone, Default)]
pub(super) struct SurvivalState {
    at_ms: Option<f64>,
    interval_ms: f64,
    cohorts: Vec<Cohort>,
}

/// What the survival rule concludes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    Nothing,
    /// Survival says leak, but no post-GC sample late in the window can agree yet.
    NeedsConfirmation,
    Leak(Box<LeakVerdict>),
}

fn usable(c: &CohortSurvival) -> bool {
    let amounts = [c.first_bytes, c.peak_bytes, c.live_bytes];
    c.start_ms.is_finite()
        && c.end_ms.is_finite()
        && c.end_ms >= c.start_ms
        && amounts.iter().all(|b| b.is_finite() && *b >= 0.0)
}

impl SurvivalState {
    /// Takes a reading; `last_full_gc_ms` is the latest full GC the monitor saw. Bad cohorts are
    /// dropped; readings older than the current one are ignored.
    pub fn observe(&mut self, reading: &SurvivalReading, last_full_gc_ms: Option<f64>) {
        if !reading.at_ms.is_finite() || self.at_ms.is_some_and(|at| reading.at_ms < at) {
            return;
        }
        let mut fresh: Vec<&CohortSurvival> = reading.cohorts.iter().filter(|c| usable(c)).collect();
        fresh.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
        let skip = fresh.len().saturating_sub(MAX_COHORTS);
        let gc_ms = last_full_gc_ms.filter(|g| *g <= reading.at_ms);
        let cohorts = fresh[skip..]
            .iter()
            .map(|c| {
                // Carried over from the same cohort, or from the ones the sampler merged into it.
                let parts = self.cohorts.iter().filter(|old| old.start_ms >= c.start_ms && old.end_ms <= c.end_ms);
                let (carried, was_settled, was_referenced) = parts.fold((0.0, false, false), |(peak, s, r), old| {
                    (peak + old.settled_peak, s || old.settled, r || old.referenced)
                });
                let settled = was_settled || gc_ms.is_some_and(|g| c.end_ms <= g);
                let referenced = was_referenced || gc_ms.is_some_and(|g| c.end_ms + SETTLE_MS <= g);
                let settled_peak = if referenced { carried.max(c.live_bytes) } else { 0.0 };
                Cohort {
                    start_ms: c.start_ms,
                    end_ms: c.end_ms,
                    live_bytes: c.live_bytes,
                    settled,
                    referenced,
                    settled_peak,
                }
            })
            .collect();
        if let Some(previous) = self.at_ms {
            self.interval_ms = reading.at_ms - previous;
        }
        self.at_ms = Some(reading.at_ms);
        self.cohorts = cohorts;
    }

    /// The sampler is running: its latest reading is recent.
    pub fn is_current(&self, now_ms: f64) -> bool {
        self.at_ms.is_some_and(|at| now_ms - at <= STALE_AFTER_MS.max(2.5 * self.interval_ms))
    }

    /// Judges the heap. `from_ms`: cohorts must lie after this (warm-up, last report);
    /// `heap`: post-GC heap samples past warm-up; `heap_base` the baseline the growth is
    /// compared with.
    pub fn assess(&self, config: &DetectorConfig, required_ms: f64, from_ms: f64, heap: &[Point]) -> Outcome {
        let Some(at_ms) = self.at_ms else {
            return Outcome::Nothing;
        };
        let settled: Vec<&Cohort> =
            self.cohorts.iter().filter(|c| c.settled && (c.start_ms + c.end_ms) / 2.0 >= from_ms).collect();
        let Some(newest) = settled.last() else {
            return Outcome::Nothing;
        };
        let window_end = newest.end_ms;
        let oldest_kept = window_end - config.max_window_ms.max(required_ms);
        let window: Vec<&Cohort> =
            settled.into_iter().filter(|c| c.end_ms <= window_end && c.start_ms >= oldest_kept).collect();
        let Some(first) = window.first() else {
            return Outcome::Nothing;
        };
        let window_start = first.start_ms;
        let span = window_end - window_start;
        if window.len() < 2 || span < required_ms || span <= 0.0 {
            return Outcome::Nothing;
        }
        let retained: f64 = window.iter().map(|c| c.live_bytes).sum();
        let heap_base = heap.first().map_or(0.0, |p| p.value);
        if retained < (MIN_GROWTH_SHARE * config.min_growth_bytes).max(config.min_growth_ratio * heap_base) {
            return Outcome::Nothing;
        }
        let mid = window_start + span / 2.0;
        let older = window.iter().filter(|c| c.referenced && (c.start_ms + c.end_ms) / 2.0 < mid);
        let (old_live, old_peak) = older.fold((0.0, 0.0), |(l, p), c| (l + c.live_bytes, p + c.settled_peak));
        // An older half that held nothing: the thirds below decide.
        let old_retention = if old_peak > 0.0 { old_live / old_peak } else { 1.0 };
        if old_retention < MIN_OLD_RETENTION {
            return Outcome::Nothing;
        }
        let thirds = thirds(&window, window_start, span);
        if thirds.iter().any(|&b| b < MIN_THIRD_SHARE * retained) {
            return Outcome::Nothing;
        }
        // The post-GC heap must agree: lower envelope near the start vs near the end.
        let third = span / 3.0;
        let low = |from: f64, to: f64| {
            heap.iter().filter(|p| p.t_ms >= from && p.t_ms <= to).map(|p| p.value).fold(f64::INFINITY, f64::min)
        };
        let base_end = low(window_end - third, f64::INFINITY);
        if !base_end.is_finite() {
            return Outcome::NeedsConfirmation;
        }
        let base_start = low(window_start - third, window_start + third);
        let heap_checked = base_start.is_finite();
        // ...and by more than post-GC noise (a burst caught alive by one GC, V8's own growth).
        let heap_needed = (MIN_HEAP_AGREEMENT * retained).max(MIN_GROWTH_SHARE * config.min_growth_bytes);
        if heap_checked && base_end - base_start < heap_needed {
            return Outcome::Nothing;
        }
        let in_window: Vec<&Point> = heap.iter().filter(|p| p.t_ms >= window_start - third).collect();
        let forced_gcs = in_window.iter().filter(|p| p.forced).count();
        let mut signals = vec![Signal::Survival];
        if heap_checked {
            signals.push(Signal::HeapAfterGc);
        }
        if forced_gcs > 0 {
            signals.push(Signal::ForcedGcs);
        }
        // Objects in flight at the newest read inflate the last third: the rate comes from the
        // first two.
        let rate = (thirds[0] + thirds[1]) / (span * 2.0 / 3.0 / 1000.0);
        let survival = SurvivalEvidence {
            reading_at_ms: at_ms,
            cohorts: window.len(),
            retained_bytes: retained,
            old_retention,
            recent_bytes: thirds[2],
        };
        let reason = format!(
            "heap: allocations of the last {:.0}s stay alive ({:.0}% of the older half) while newer ones keep adding up: {} retained ({}/s){}",
            span / 1000.0,
            old_retention.min(9.99) * 100.0,
            human_bytes(retained),
            human_bytes(rate),
            if heap_checked { format!("; heap after GC rose {}", human_bytes(base_end - base_start)) } else { String::new() }
        );
        Outcome::Leak(Box::new(LeakVerdict {
            kind: MemoryKind::Heap,
            start_ms: window_start,
            end_ms: window_end,
            growth_bytes: retained,
            rate_bytes_per_sec: rate,
            window_ms: span,
            samples: in_window.len(),
            forced_gcs,
            baseline_start: if heap_checked { base_start } else { base_end },
            baseline_end: base_end,
            evidence: Evidence { rule: Rule::Adaptive, signals, survival: Some(survival) },
            reason,
        }))
    }
}

/// The window's live bytes per third of its span (each cohort spread evenly over its interval).
fn thirds(window: &[&Cohort], start: f64, span: f64) -> [f64; 3] {
    let mut out = [0.0; 3];
    for c in window {
        let width = c.end_ms - c.start_ms;
        for (k, slot) in out.iter_mut().enumerate() {
            let (a, b) = (start + span * k as f64 / 3.0, start + span * (k + 1) as f64 / 3.0);
            *slot += if width > 0.0 {
                c.live_bytes * ((c.end_ms.min(b) - c.start_ms.max(a)).max(0.0) / width)
            } else if c.start_ms >= a && (c.start_ms < b || k == 2) {
                c.live_bytes
            } else {
                0.0
            };
        }
    }
    out
}
