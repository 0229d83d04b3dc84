//! The survival rule: the age of what stays alive, from the allocation sampler's cohorts
//! (`crate::survival`). Post-GC heap figures depend on when the GC ran (a batch in flight,
//! floating garbage, a working set that shrinks when the host is loaded); what allocations of a
//! past interval still hold after a full GC does not.
//!
//! Every reading follows a full GC (V8's inspector forces one before building the profile), so
//! its live bytes are what survived it. A cohort is *referenced* once read at least `SETTLE_MS`
//! after it ended, when objects still in flight at its end (requests being served, a burst) are
//! done: its live bytes are then what it really retains. The monitor remembers each cohort's
//! peak since then (carried over when the sampler merges old cohorts), and the cohorts' live
//! bytes at recent readings. The window is the referenced cohorts past warm-up and since the
//! last report, or its more recent part (a leak that starts after a long healthy stretch is
//! judged on the cohorts since it started, see `rule`), spanning the required duration
//! (`rule::Requirement`). Over it:
//! * they retain at least `max(min_growth_bytes / 2, min_growth_ratio * heap)` (16 samples at V8's
//!   default interval: a healthy process keeps a few KB/s of code and tables for minutes);
//! * the older half keeps at least 70 % of its referenced peak (a cache that evicts, or a batch
//!   whose data a GC caught alive, loses its old cohorts; a leak into an array loses only the
//!   backing stores its growth replaced);
//! * every third of the window still holds at least 1/6 of the retained bytes (newer
//!   allocations keep adding up; a warm-up that loaded a dataset stops adding);
//! * growth, not replacement: the retained bytes minus what the allocations from before the
//!   window lost meanwhile are at least a quarter of the retained bytes (and a quarter of
//!   `min_growth_bytes`). A large stable heap that replaces old entries with new ones keeps new
//!   cohorts alive while old ones die, and does not grow;
//! * the post-GC heap's lower envelope rose by a quarter of `min_growth_bytes` (on a heap over
//!   ~50 MB, half the share `min_growth_ratio` asks of the retained bytes) from the start of
//!   the window to its end: a fixed amount, beyond the noise of its samples, and not a share of
//!   the retained bytes, since the heap includes the working set in flight, whose size follows
//!   the host's load (a leak under a shrinking working set barely lifts it), while objects that
//!   only replace ones allocated before the sampler started (V8's code and feedback, a small
//!   table) look retained without the heap growing.

use super::robust::Point;
use super::rule::Requirement;
use super::{human_bytes, DetectorConfig, Evidence, LeakVerdict, MemoryKind, Rule, Signal, SurvivalEvidence};
use crate::survival::{CohortSurvival, SurvivalReading};

/// The older half of the window must keep this share of its referenced peak. Not 100 %: an
/// array that a leak keeps pushing to is reallocated 1.5x larger now and then, and the old
/// backing store dies (the demo's older half loses 15-25 % that way); a cache that evicts loses
/// 40 % and more of it as soon as it starts evicting.
pub(super) const MIN_OLD_RETENTION: f64 = 0.7;
/// Each third of the window must hold at least this share of what the window retains.
const MIN_THIRD_SHARE: f64 = 1.0 / 6.0;
/// Survival is strong evidence: growth (net of older losses, and the post-GC heap's rise)
/// needs this share of `min_growth_bytes` (slow leaks of a few KB/s are reported within
/// minutes), the post-GC heap's agreement guarding against noise...
const MIN_GROWTH_SHARE: f64 = 0.25;
/// ...and what the window's allocations retain, this share: 16 samples at V8's default
/// interval. A healthy process keeps a few KB/s for its first minutes (code compiled on first
/// use, its runtime's tables): over a long window that adds up to a few samples, which chance
/// can spread over the thirds as a leak would (a service with 25 MB bursts, whose post-GC
/// heap swings by as much, was suspected on 8).
const MIN_RETAINED_SHARE: f64 = 0.5;
/// What the sampled heap gained over the window, net of what older allocations lost meanwhile,
/// must be at least this share of the retained bytes (replacement is not growth).
const MIN_NET_SHARE: f64 = 0.25;
/// The heap's rise must reach this share of what `min_growth_ratio` asks of the retained bytes.
const MIN_RISE_SHARE_OF_RATIO: f64 = 0.5;
/// A reading is current for this long, or 2.5 read intervals if longer.
const STALE_AFTER_MS: f64 = 30_000.0;
/// Objects of a cohort still in use at its end (requests in flight) are done this much later.
const SETTLE_MS: f64 = 2_000.0;
/// Bound on remembered cohorts, whatever the sampler sends.
const MAX_COHORTS: usize = 512;
/// Bound on remembered readings (the window is at most 10 minutes: 300 reads every 2 s).
const MAX_HISTORY: usize = 320;
/// Cohorts remembered per past reading (the newest; older ones are summed up).
const HISTORY_COHORTS: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Cohort {
    start_ms: f64,
    end_ms: f64,
    live_bytes: f64,
    /// Read at least `SETTLE_MS` after the cohort ended (at a read, or in a cohort merged into
    /// it), when objects still in flight at its end (requests being served) were done.
    referenced: bool,
    /// Most bytes seen at a read since `referenced`: what the cohort retains, to compare with.
    settled_peak: f64,
}

/// The cohorts' live bytes at a past reading: `(end_ms, live bytes of the cohorts up to that
/// end)` for its newest cohorts, oldest first; `older` holds what the ones not kept held.
#[derive(Debug, Clone, Default)]
struct PastReading {
    at_ms: f64,
    older: f64,
    cumulative: Vec<(f64, f64)>,
}

impl PastReading {
    fn of(at_ms: f64, cohorts: &[Cohort]) -> Self {
        let skip = cohorts.len().saturating_sub(HISTORY_COHORTS);
        let older = cohorts[..skip].iter().map(|c| c.live_bytes).sum();
        let mut sum = older;
        let cumulative = cohorts[skip..]
            .iter()
            .map(|c| {
                sum += c.live_bytes;
                (c.end_ms, sum)
            })
            .collect();
        Self { at_ms, older, cumulative }
    }

    /// Live bytes of the cohorts that ended by `t_ms`.
    fn live_until(&self, t_ms: f64) -> f64 {
        let kept = self.cumulative.partition_point(|&(end, _)| end <= t_ms);
        kept.checked_sub(1).map_or(self.older, |i| self.cumulative[i].1)
    }
}

/// The latest survival reading, with what the monitor learnt from earlier ones.
#[derive(Debug, Clone, Default)]
pub(super) struct SurvivalState {
    at_ms: Option<f64>,
    interval_ms: f64,
    cohorts: Vec<Cohort>,
    /// Recent readings, oldest first (bounded by `MAX_HISTORY` and the longest window).
    history: std::collections::VecDeque<PastReading>,
}

/// What the survival rule concludes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    Nothing,
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
    /// Takes a reading (taken right after a full GC, see `crate::survival`); `keep_ms` is how far
    /// back the rule may look. Bad cohorts are dropped; readings older than the current one are
    /// ignored.
    pub fn observe(&mut self, reading: &SurvivalReading, keep_ms: f64) {
        if !reading.at_ms.is_finite() || self.at_ms.is_some_and(|at| reading.at_ms < at) {
            return;
        }
        let mut fresh: Vec<&CohortSurvival> = reading.cohorts.iter().filter(|c| usable(c)).collect();
        fresh.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
        let skip = fresh.len().saturating_sub(MAX_COHORTS);
        let cohorts: Vec<Cohort> = fresh[skip..]
            .iter()
            .map(|c| {
                // Carried over from the same cohort, or from the ones the sampler merged into it.
                let parts = self.cohorts.iter().filter(|old| old.start_ms >= c.start_ms && old.end_ms <= c.end_ms);
                let (carried, was_referenced) =
                    parts.fold((0.0, false), |(peak, r), old| (peak + old.settled_peak, r || old.referenced));
                let referenced = was_referenced || c.end_ms + SETTLE_MS <= reading.at_ms;
                let settled_peak = if referenced { carried.max(c.live_bytes) } else { 0.0 };
                Cohort { start_ms: c.start_ms, end_ms: c.end_ms, live_bytes: c.live_bytes, referenced, settled_peak }
            })
            .collect();
        if let Some(previous) = self.at_ms {
            self.interval_ms = reading.at_ms - previous;
        }
        self.at_ms = Some(reading.at_ms);
        self.history.push_back(PastReading::of(reading.at_ms, &cohorts));
        while self.history.len() > MAX_HISTORY
            || self.history.front().is_some_and(|r| r.at_ms < reading.at_ms - keep_ms - 2.0 * SETTLE_MS)
        {
            self.history.pop_front();
        }
        self.cohorts = cohorts;
    }

    /// Live bytes now of the allocations made between `from_ms` and `to_ms` (each cohort spread
    /// evenly over its interval: cohorts the sampler merged since still count their share);
    /// None before any reading.
    pub fn live_between(&self, from_ms: f64, to_ms: f64) -> Option<f64> {
        self.at_ms?;
        Some(self.cohorts.iter().map(|c| c.live_bytes * overlap(c, from_ms, to_ms)).sum())
    }

    /// What the allocations of the last `window_ms` before the latest reading hold, up to
    /// `SETTLE_MS` before it (objects in flight at the read are not counted as kept):
    /// `(live bytes, start of that window)`. None before a reading.
    pub fn retained_recently(&self, window_ms: f64) -> Option<(f64, f64)> {
        let end = self.at_ms? - SETTLE_MS;
        let from = end - window_ms;
        Some((self.live_between(from, end).unwrap_or(0.0), from))
    }

    /// The sampler is running: its latest reading is recent.
    pub fn is_current(&self, now_ms: f64) -> bool {
        self.at_ms.is_some_and(|at| now_ms - at <= STALE_AFTER_MS.max(2.5 * self.interval_ms))
    }

    /// What the allocations from before `window_start` lost since the first reading that saw all
    /// of them referenced, when that reading came in the window's first half (it then saw what
    /// they lost over most of the window); else since the last reading before it (objects of
    /// theirs still in flight then count as lost: the safe side). None when there is no such
    /// reading older than the current one: a large heap read only at its rare natural full GCs
    /// may have none, and replacement must not pass for growth for want of a baseline.
    fn older_loss(&self, window_start: f64, window_end: f64) -> Option<f64> {
        let now = self.history.back()?;
        let settled = window_start + SETTLE_MS;
        let early_enough = settled + (window_end - window_start) / 2.0;
        let then = match self.history.iter().find(|r| r.at_ms >= settled) {
            Some(first) if first.at_ms <= early_enough => first,
            _ => self.history.iter().rev().find(|r| r.at_ms < settled)?,
        };
        if then.at_ms >= now.at_ms {
            return None;
        }
        Some((then.live_until(window_start) - now.live_until(window_start)).max(0.0))
    }

    /// Judges the heap. `from_ms`: cohorts must lie after this (warm-up, last report);
    /// `heap`: post-GC heap samples since warm-up or the last report, reported with the
    /// verdict; `before`: the latest one before them (a window's start figure when none of
    /// `heap` is near it). The whole window first, then its recent parts.
    pub fn assess(
        &self,
        config: &DetectorConfig,
        required: Requirement,
        from_ms: f64,
        heap: &[Point],
        before: Option<Point>,
    ) -> Outcome {
        let referenced: Vec<&Cohort> =
            self.cohorts.iter().filter(|c| c.referenced && (c.start_ms + c.end_ms) / 2.0 >= from_ms).collect();
        let Some(newest) = referenced.last() else {
            return Outcome::Nothing;
        };
        let window_end = newest.end_ms;
        let oldest_kept = window_end - config.max_window_ms.max(required.ms);
        let window: Vec<&Cohort> =
            referenced.into_iter().filter(|c| c.end_ms <= window_end && c.start_ms >= oldest_kept).collect();
        let Some(first) = window.first() else {
            return Outcome::Nothing;
        };
        let mut tried = usize::MAX;
        for from in required.starts(config.rule, first.start_ms, window_end) {
            let skip = window.partition_point(|c| c.start_ms < from);
            if std::mem::replace(&mut tried, skip) == skip {
                continue;
            }
            if let Some(verdict) = self.judge(config, required, &window[skip..], heap, before, skip == 0) {
                return Outcome::Leak(Box::new(verdict));
            }
        }
        Outcome::Nothing
    }

    /// The rule on one window of cohorts (oldest first).
    fn judge(
        &self,
        config: &DetectorConfig,
        required: Requirement,
        window: &[&Cohort],
        heap: &[Point],
        before: Option<Point>,
        whole: bool,
    ) -> Option<LeakVerdict> {
        let at_ms = self.at_ms?;
        let (window_start, window_end) = (window.first()?.start_ms, window.last()?.end_ms);
        let span = window_end - window_start;
        if window.len() < 2 || span < required.base_ms || span <= 0.0 {
            return None;
        }
        let retained: f64 = window.iter().map(|c| c.live_bytes).sum();
        let heap_base = heap.first().map_or(0.0, |p| p.value);
        let floor = MIN_GROWTH_SHARE * config.min_growth_bytes;
        if retained < (MIN_RETAINED_SHARE * config.min_growth_bytes).max(config.min_growth_ratio * heap_base) {
            return None;
        }
        let mid = window_start + span / 2.0;
        let older = window.iter().filter(|c| (c.start_ms + c.end_ms) / 2.0 < mid);
        let (old_live, old_peak) = older.fold((0.0, 0.0), |(l, p), c| (l + c.live_bytes, p + c.settled_peak));
        // An older half that held nothing: the thirds below decide.
        let old_retention = if old_peak > 0.0 { old_live / old_peak } else { 1.0 };
        if old_retention < MIN_OLD_RETENTION {
            return None;
        }
        let thirds = thirds(window, window_start, span);
        if thirds.iter().any(|&b| b < MIN_THIRD_SHARE * retained) {
            return None;
        }
        // Growth, not replacement: what older allocations lost meanwhile does not offset it.
        let older_lost = self.older_loss(window_start, window_end)?;
        let net = retained - older_lost;
        if net < (MIN_NET_SHARE * retained).max(floor) {
            return None;
        }
        // Outgrowing a learnt fill is judged on the net growth: a store whose eviction pauses
        // while it refills (a reload that raises its cap) keeps its older entries alive too,
        // so its cohorts retain twice what it grows.
        if !required.met(span, net, whole) {
            return None;
        }
        // The post-GC heap's lower envelope near the start and near the end of the window.
        let third = span / 3.0;
        let low = |from: f64, to: f64| {
            heap.iter().filter(|p| p.t_ms >= from && p.t_ms <= to).map(|p| p.value).fold(f64::INFINITY, f64::min)
        };
        let base_end = low(window_end - third, f64::INFINITY);
        // None near the start (sparse full GCs): the latest sample before the evidence, if it
        // is not after that range either.
        let base_start = Some(low(window_start - third, window_start + third))
            .filter(|b| b.is_finite())
            .or_else(|| before.filter(|p| p.t_ms <= window_start + third).map(|p| p.value))
            .unwrap_or(f64::INFINITY);
        let heap_rise = (base_start.is_finite() && base_end.is_finite()).then_some(base_end - base_start);
        // The post-GC heap must rise beyond its noise too, by a fixed amount: what it holds in
        // flight varies with the load, so a share of the retained bytes could be out of reach
        // for as long as the working set shrinks; objects that replace others allocated before
        // the sampler started (V8's code and feedback, a small table) look retained, but the heap
        // does not grow. On a large heap, at least half the share of it the retained bytes must
        // reach (`min_growth_ratio`): its post-GC figure wanders by more than a fixed amount
        // (a 250 MB index replaced at 1 MB/s, sampled at a few natural GCs a minute, rose 300 KB
        // by chance), and a leak's allocations, which stay alive, lift its lower envelope by
        // about two thirds of what they retain.
        let rise_needed = floor.max(MIN_RISE_SHARE_OF_RATIO * config.min_growth_ratio * heap_base);
        let heap_agrees = heap_rise.is_some_and(|rise| rise >= rise_needed);
        if !heap_agrees {
            return None;
        }
        let in_window: Vec<&Point> = heap.iter().filter(|p| p.t_ms >= window_start - third).collect();
        let forced_gcs = in_window.iter().filter(|p| p.forced).count();
        let mut signals = vec![Signal::Survival];
        if heap_agrees {
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
            cohorts: super::count(window.len()),
            retained_bytes: retained,
            old_retention,
            recent_bytes: thirds[2],
            older_lost_bytes: older_lost,
        };
        let reason = format!(
            "heap: allocations of the last {:.0}s stay alive ({:.0}% of the older half) while newer ones keep adding up: {} retained ({}/s), older allocations lost {}{}",
            span / 1000.0,
            old_retention.min(9.99) * 100.0,
            human_bytes(retained),
            human_bytes(rate),
            human_bytes(older_lost),
            match heap_rise {
                Some(rise) if rise >= 0.0 => format!("; heap after GC rose {}", human_bytes(rise)),
                Some(rise) => format!("; heap after GC fell {}", human_bytes(-rise)),
                None => String::new(),
            }
        );
        let (baseline_start, baseline_end) = match (base_start.is_finite(), base_end.is_finite()) {
            (true, true) => (base_start, base_end),
            (false, true) => (base_end, base_end),
            (true, false) => (base_start, base_start),
            (false, false) => (0.0, 0.0),
        };
        Some(LeakVerdict {
            id: 0,
            kind: MemoryKind::Heap,
            start_ms: window_start,
            end_ms: window_end,
            growth_bytes: retained,
            rate_bytes_per_sec: rate,
            window_ms: span,
            samples: super::count(in_window.len()),
            forced_gcs: super::count(forced_gcs),
            baseline_start,
            baseline_end,
            evidence: Evidence { rule: Rule::Adaptive, signals, survival: Some(survival) },
            reason,
            sites: Vec::new(),
        })
    }
}

/// Share of a cohort's interval inside `[a, b]` (an instant cohort: 1 when inside).
fn overlap(c: &Cohort, a: f64, b: f64) -> f64 {
    let width = c.end_ms - c.start_ms;
    if width > 0.0 {
        (c.end_ms.min(b) - c.start_ms.max(a)).max(0.0) / width
    } else {
        f64::from(u8::from(c.start_ms >= a && c.start_ms <= b))
    }
}

/// The window's live bytes per third of its span (each cohort spread evenly over its interval).
fn thirds(window: &[&Cohort], start: f64, span: f64) -> [f64; 3] {
    let mut out = [0.0; 3];
    for c in window {
        for (k, slot) in out.iter_mut().enumerate() {
            let (a, b) = (start + span * k as f64 / 3.0, start + span * (k + 1) as f64 / 3.0);
            // An instant cohort on a boundary counts once: in the later third.
            *slot += if c.end_ms > c.start_ms {
                c.live_bytes * overlap(c, a, b)
            } else if c.start_ms >= a && (c.start_ms < b || k == 2) {
                c.live_bytes
            } else {
                0.0
            };
        }
    }
    out
}
