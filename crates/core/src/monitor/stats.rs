//! memwatch's statistics: GC counters per kind and the post-full-GC heap baseline behind
//! `usage_trend`, `estimated_base`, `current_base`, `min` and `max`; and memwatch's own leak
//! rule, replayed for comparison in the tests.

use super::robust::{theil_sen_per_sec, Point, Series};
use super::{is_amount, GcKind};

/// Smoothing for `estimated_base`. memwatch used 1/10, tuned for many full GCs a minute; small
/// services see a handful, so 1/4 follows a new base within ~4 GCs yet damps a single odd sample.
const BASE_EMA_ALPHA: f64 = 0.25;
/// memwatch reports on this many consecutive growing full GCs.
#[cfg(test)]
const MEMWATCH_GROWTH_STREAK: usize = 5;

/// memwatch's published rule, for comparison: each post-full-GC heap is compared with the
/// previous one and a leak is reported on the 5th growth in a row. As in memwatch the previous
/// base starts at 0, so the very first sample counts as growth. Returns the index of the sample
/// at which the rule first fires (memwatch then re-arms; only the first firing matters here).
/// Tests only (the detector's tests compare their verdicts with it).
#[cfg(test)]
pub(super) fn memwatch_rule_first_fire(baselines: &[f64]) -> Option<usize> {
    let mut last_base = 0.0;
    let mut streak = 0;
    for (index, &base) in baselines.iter().enumerate() {
        streak = if base > last_base { streak + 1 } else { 0 };
        if streak >= MEMWATCH_GROWTH_STREAK {
            return Some(index);
        }
        last_base = base;
    }
    None
}

/// Count and total duration of one kind of GC.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct GcTally {
    pub count: u64,
    pub time_ms: f64,
}

impl GcTally {
    #[cfg(test)]
    pub fn add(&mut self, duration_ms: f64) {
        self.count = self.count.saturating_add(1);
        self.time_ms += super::duration_or_zero(duration_ms);
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct GcCounters {
    pub scavenge: GcTally,
    pub mark_sweep_compact: GcTally,
    pub incremental_marking: GcTally,
    pub weak_callbacks: GcTally,
}

impl GcCounters {
    pub fn tally_mut(&mut self, kind: GcKind) -> &mut GcTally {
        match kind {
            GcKind::Minor => &mut self.scavenge,
            GcKind::Major => &mut self.mark_sweep_compact,
            GcKind::Incremental => &mut self.incremental_marking,
            GcKind::WeakCallbacks => &mut self.weak_callbacks,
        }
    }
}

/// Post-full-GC heap figures behind the memwatch-style stats.
#[derive(Debug, Clone, Default)]
pub(super) struct HeapBaseline {
    pub current: f64,
    pub estimated: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Recent baselines (warm-up included: the trend describes, it does not accuse).
    recent: Series,
}

impl HeapBaseline {
    pub fn observe(&mut self, t_ms: f64, used_heap_size: f64, window_ms: f64) {
        if !is_amount(used_heap_size) {
            return;
        }
        self.current = used_heap_size;
        self.estimated = Some(match self.estimated {
            None => used_heap_size,
            Some(base) => base + BASE_EMA_ALPHA * (used_heap_size - base),
        });
        self.min = Some(self.min.map_or(used_heap_size, |m| m.min(used_heap_size)));
        self.max = Some(self.max.map_or(used_heap_size, |m| m.max(used_heap_size)));
        let point = Point { t_ms, value: used_heap_size, forced: false };
        if self.recent.push(point) {
            self.recent.keep_recent(window_ms);
        }
    }

    pub fn usage_trend(&self) -> f64 {
        theil_sen_per_sec(&self.recent.points)
    }
}
