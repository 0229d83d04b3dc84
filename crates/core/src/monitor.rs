//! Leak detection and memwatch-compatible stats bookkeeping.
//!
//! JS reports every GC it observes (`record_gc`), a heap sample after each full GC
//! (`record_full_gc`), and light samples after minor GCs (`should_probe`), which decide whether a
//! forced full GC would now tell us something. Times are caller-supplied milliseconds on a
//! monotonic clock; nothing here reads a clock, so everything is deterministic and testable.
//!
//! Leak rule, applied separately to the JS heap and to external memory, on post-full-GC
//! ("baseline") samples taken after warm-up and since the last report:
//! * the evidence spans at least the required duration and holds at least `min_samples` samples;
//! * split into three equal time buckets, the bucket minima (the lower envelope, which ignores
//!   garbage or bursts that happen to be alive at sample time) rise strictly, each rise carrying
//!   at least 1/6 of the growth;
//! * the rise is spread over time: no third of the window holds more than 3/4 of the rise of
//!   the lower envelope (a cache filling up is a step, not a climb);
//! * the envelope grew by at least `max(min_growth_bytes, min_growth_ratio * start)`;
//! * the Theil–Sen slope (median of pairwise slopes, robust to outliers) is positive.
//!
//! With probing on (`probe_interval_ms > 0`) a verdict also needs a forced full GC in the last
//! third of the window: when natural samples alone satisfy the rule, the detector becomes
//! *suspicious* and asks for a confirming probe, then judges again with that sample. Natural full GCs are triggered by
//! allocation, so a workload with periodic bursts can have every natural GC land inside a
//! burst, at a phase that drifts later each time, and draw a convincing climb out of
//! transient data; a collection at a moment of leakwatch's choosing breaks that correlation.
//!
//! After a report the evidence is dropped and the required duration doubles (capped), so a
//! continuing leak is reported again, but not on every sample.

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * KIB;

/// Escalation stops here, so a long-running leak is still re-reported every ~10 minutes.
const MAX_REQUIRED_DURATION_MS: f64 = 10.0 * 60_000.0;
/// Each third-to-third rise of the bucket minima must carry at least this share of the total:
/// a burst alive at the only sample of the last third puts all of its height into one rise.
const MIN_RISE_SHARE: f64 = 1.0 / 6.0;
/// No third of the window may hold more than this share of the envelope's rise: a leak lifts
/// the envelope all along, while a step (a cache filling up) or a burst alive at the newest
/// sample lifts it at once, even when the three bucket minima happen to rise.
const MAX_STEEPEST_THIRD_SHARE: f64 = 0.75;
/// Smoothing for `estimated_base`. memwatch used 1/10, tuned for many full GCs a minute; small
/// services see a handful, so 1/4 follows a new base within ~4 GCs yet damps a single odd sample.
const BASE_EMA_ALPHA: f64 = 0.25;
/// Theil–Sen is quadratic; beyond this many points an even subsample keeps each update cheap.
const MAX_SLOPE_POINTS: usize = 128;
/// Hard bound on retained samples whatever the window, so memory stays bounded.
const MAX_RETAINED_POINTS: usize = 4096;
/// A probe is only worth it if the heap rose by more than this since the last baseline...
const MIN_PROBE_RISE_BYTES: f64 = 256.0 * KIB;
/// ...and by more than this share of it.
const MIN_PROBE_RISE_RATIO: f64 = 0.005;
/// Forced GCs may cost at most ~1/this of wall time.
const PROBE_COST_FACTOR: f64 = 100.0;
/// memwatch reports on this many consecutive growing full GCs.
const MEMWATCH_GROWTH_STREAK: usize = 5;

/// The kinds of V8 GC reported by perf_hooks (`detail.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GcKind {
    Minor,
    Major,
    Incremental,
    WeakCallbacks,
}

/// Tuning of the leak detector and of probing. NaN or negative values fall back to the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
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
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            warmup_ms: 5_000.0,
            min_duration_ms: 12_000.0,
            min_samples: 3,
            min_growth_bytes: MIB,
            min_growth_ratio: 0.01,
            max_window_ms: 120_000.0,
            probe_interval_ms: 8_000.0,
        }
    }
}

impl DetectorConfig {
    /// Replaces NaN or negative settings with their defaults so the arithmetic never sees them.
    fn sanitized(self) -> Self {
        let fallback = Self::default();
        Self {
            warmup_ms: non_negative_or(self.warmup_ms, fallback.warmup_ms),
            min_duration_ms: non_negative_or(self.min_duration_ms, fallback.min_duration_ms),
            min_samples: self.min_samples,
            min_growth_bytes: non_negative_or(self.min_growth_bytes, fallback.min_growth_bytes),
            min_growth_ratio: non_negative_or(self.min_growth_ratio, fallback.min_growth_ratio),
            max_window_ms: non_negative_or(self.max_window_ms, fallback.max_window_ms),
            probe_interval_ms: non_negative_or(self.probe_interval_ms, fallback.probe_interval_ms),
        }
    }
}

/// Heap figures read right after a full GC.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeapSample {
    pub t_ms: f64,
    /// This full GC was forced (a probe).
    pub forced: bool,
    /// `v8.getHeapStatistics().used_heap_size`.
    pub used_heap_size: f64,
    /// `process.memoryUsage().external` (includes array buffers).
    pub external: f64,
    pub total_heap_size: f64,
    pub total_heap_size_executable: f64,
    pub total_physical_size: f64,
    pub total_available_size: f64,
    pub heap_size_limit: f64,
    pub malloced_memory: f64,
    pub peak_malloced_memory: f64,
    pub array_buffers: f64,
    pub rss: f64,
}

/// Which memory a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    fn noun(self) -> &'static str {
        match self {
            MemoryKind::Heap => "heap",
            MemoryKind::External => "external memory",
        }
    }
}

/// A reported leak.
#[derive(Debug, Clone, PartialEq)]
pub struct LeakVerdict {
    pub kind: MemoryKind,
    /// First and last sample of the evidence window.
    pub start_ms: f64,
    pub end_ms: f64,
    /// Rise of the lower envelope over the window (`baseline_end - baseline_start`).
    pub growth_bytes: f64,
    /// Theil–Sen slope of the window's samples.
    pub rate_bytes_per_sec: f64,
    pub window_ms: f64,
    /// Baseline samples in the window.
    pub samples: usize,
    /// How many of them came from forced (probe) GCs.
    pub forced_gcs: usize,
    /// Lower envelope in the first and last third of the window.
    pub baseline_start: f64,
    pub baseline_end: f64,
    pub reason: String,
}

/// The memwatch 'stats' payload, computed after each full GC.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Full GCs reported through `record_full_gc`.
    pub num_full_gc: u64,
    /// Non-full collections: scavenges plus incremental marking (memwatch counted every
    /// non-full GC; weak-callback processing is a phase, not a collection).
    pub num_inc_gc: u64,
    /// V8 no longer says whether a mark-sweep-compact compacted, so every full GC counts.
    pub heap_compactions: u64,
    /// Signed bytes/s Theil–Sen slope of the recent baselines (0 until two samples).
    pub usage_trend: f64,
    /// Exponential moving average of post-full-GC used_heap_size (first value = first sample).
    pub estimated_base: f64,
    /// Latest post-full-GC used_heap_size.
    pub current_base: f64,
    pub min: f64,
    pub max: f64,
    pub gc_scavenge_count: u64,
    pub gc_scavenge_time_ms: f64,
    pub gc_mark_sweep_compact_count: u64,
    pub gc_mark_sweep_compact_time_ms: f64,
    pub gc_incremental_marking_count: u64,
    pub gc_incremental_marking_time_ms: f64,
    pub gc_process_weak_callbacks_count: u64,
    pub gc_process_weak_callbacks_time_ms: f64,
    /// Duration of the full GC that produced this sample.
    pub gc_time_ms: f64,
    pub forced: bool,
    pub sample: HeapSample,
}

/// Leak detection and stats bookkeeping for one process.
#[derive(Debug, Clone)]
pub struct Monitor {
    config: DetectorConfig,
    start_ms: f64,
    num_full_gc: u64,
    gcs: GcCounters,
    baseline: HeapBaseline,
    heap: LeakDetector,
    external: LeakDetector,
    probe: ProbeState,
}

impl Monitor {
    pub fn new(config: DetectorConfig, start_ms: f64) -> Self {
        Self {
            config: config.sanitized(),
            start_ms: if start_ms.is_finite() { start_ms } else { 0.0 },
            num_full_gc: 0,
            gcs: GcCounters::default(),
            baseline: HeapBaseline::default(),
            heap: LeakDetector::new(MemoryKind::Heap),
            external: LeakDetector::new(MemoryKind::External),
            probe: ProbeState::default(),
        }
    }

    /// Takes effect from the next sample; collected evidence and escalation are kept.
    pub fn set_config(&mut self, config: DetectorConfig) {
        self.config = config.sanitized();
    }

    /// Count a GC of any kind (called for every perf entry, in batches).
    /// A bad duration still counts the GC, with no time.
    pub fn record_gc(&mut self, kind: GcKind, duration_ms: f64) {
        self.gcs.tally_mut(kind).add(duration_ms);
    }

    /// Count `count` GCs of one kind that took `total_ms` together (JS batches them).
    pub fn record_gcs(&mut self, kind: GcKind, count: u64, total_ms: f64) {
        let tally = self.gcs.tally_mut(kind);
        tally.count = tally.count.saturating_add(count);
        tally.time_ms += duration_or_zero(total_ms);
    }

    /// A full GC finished: update bookkeeping, feed both detectors (heap: used_heap_size;
    /// external: external), return the stats payload and any verdicts (one per memory kind at most).
    /// The per-kind GC counters are left to `record_gc`, which JS calls for this GC too.
    pub fn record_full_gc(&mut self, sample: HeapSample, gc_duration_ms: f64) -> (Stats, Vec<LeakVerdict>) {
        let gc_time_ms = duration_or_zero(gc_duration_ms);
        self.num_full_gc = self.num_full_gc.saturating_add(1);
        self.probe.note_full_gc(sample.t_ms, gc_time_ms);
        self.baseline.observe(sample.t_ms, sample.used_heap_size, self.config.max_window_ms);
        let verdicts = self.detect(&sample);
        (self.stats(sample, gc_time_ms), verdicts)
    }

    /// Light sample after a minor GC: should JS force a full GC now to confirm or deny a
    /// suspicion? `watched_bytes` is the JS heap plus external memory (`used_heap_size +
    /// external_memory` from `v8.getHeapStatistics()`), so a rise of either kind can be
    /// confirmed: a Buffer leak leaves the heap flat and V8 itself only collects on ~64 MB of
    /// external growth. Remembers the probe time when it answers yes.
    pub fn should_probe(&mut self, now_ms: f64, watched_bytes: f64) -> bool {
        let suspicious = self.heap.suspicious || self.external.suspicious;
        let probe = (suspicious && self.confirmation_is_due(now_ms))
            || (self.probe_is_due(now_ms) && self.memory_rose_since_baseline(watched_bytes));
        if probe {
            self.probe.last_probe_ms = Some(now_ms);
        }
        probe
    }

    fn past_warmup(&self, t_ms: f64) -> bool {
        t_ms.is_finite() && t_ms >= self.start_ms + self.config.warmup_ms
    }

    fn detect(&mut self, sample: &HeapSample) -> Vec<LeakVerdict> {
        if !self.past_warmup(sample.t_ms) {
            return Vec::new();
        }
        if is_amount(sample.used_heap_size) {
            // Same measure as `should_probe`'s light samples; a missing external figure is 0.
            let external = if is_amount(sample.external) { sample.external } else { 0.0 };
            self.probe.last_baseline = Some(sample.used_heap_size + external);
        }
        let at = |value| Point { t_ms: sample.t_ms, value, forced: sample.forced };
        let heap = self.heap.observe(at(sample.used_heap_size), &self.config);
        let external = self.external.observe(at(sample.external), &self.config);
        heap.into_iter().chain(external).collect()
    }

    fn probe_is_due(&self, now_ms: f64) -> bool {
        let interval = self.config.probe_interval_ms;
        // Never seen one: nothing to wait for.
        let since = |t: Option<f64>| t.map_or(f64::INFINITY, |t| now_ms - t);
        let since_full_gc = since(self.probe.last_full_gc_ms);
        interval > 0.0
            && self.past_warmup(now_ms)
            && since_full_gc >= interval
            && since(self.probe.last_probe_ms) >= interval
            // Spacing probes by 100x the last full GC's cost keeps forced GCs at ~1% of time.
            && since_full_gc >= PROBE_COST_FACTOR * self.probe.last_full_gc_duration_ms
    }

    /// A suspicion is confirmed at most once per probe interval, and forced GCs stay within
    /// ~1% of wall time, but without waiting for a pause since the last (natural) full GC,
    /// which a busy process may never leave.
    fn confirmation_is_due(&self, now_ms: f64) -> bool {
        let since_probe = self.probe.last_probe_ms.map_or(f64::INFINITY, |t| now_ms - t);
        let spacing = self.config.probe_interval_ms.max(PROBE_COST_FACTOR * self.probe.last_full_gc_duration_ms);
        self.config.probe_interval_ms > 0.0 && self.past_warmup(now_ms) && since_probe >= spacing
    }

    fn memory_rose_since_baseline(&self, watched_bytes: f64) -> bool {
        if !is_amount(watched_bytes) {
            return false;
        }
        match self.probe.last_baseline {
            None => true,
            Some(base) => watched_bytes - base > MIN_PROBE_RISE_BYTES.max(MIN_PROBE_RISE_RATIO * base),
        }
    }

    fn stats(&self, sample: HeapSample, gc_time_ms: f64) -> Stats {
        let gcs = &self.gcs;
        Stats {
            num_full_gc: self.num_full_gc,
            num_inc_gc: gcs.scavenge.count.saturating_add(gcs.incremental_marking.count),
            heap_compactions: self.num_full_gc,
            usage_trend: self.baseline.usage_trend(),
            estimated_base: self.baseline.estimated.unwrap_or(0.0),
            current_base: self.baseline.current,
            min: self.baseline.min.unwrap_or(0.0),
            max: self.baseline.max.unwrap_or(0.0),
            gc_scavenge_count: gcs.scavenge.count,
            gc_scavenge_time_ms: gcs.scavenge.time_ms,
            gc_mark_sweep_compact_count: gcs.mark_sweep_compact.count,
            gc_mark_sweep_compact_time_ms: gcs.mark_sweep_compact.time_ms,
            gc_incremental_marking_count: gcs.incremental_marking.count,
            gc_incremental_marking_time_ms: gcs.incremental_marking.time_ms,
            gc_process_weak_callbacks_count: gcs.weak_callbacks.count,
            gc_process_weak_callbacks_time_ms: gcs.weak_callbacks.time_ms,
            gc_time_ms,
            forced: sample.forced,
            sample,
        }
    }
}

/// memwatch's published rule, for comparison: each post-full-GC heap is compared with the
/// previous one and a leak is reported on the 5th growth in a row. As in memwatch the previous
/// base starts at 0, so the very first sample counts as growth. Returns the index of the sample
/// at which the rule first fires (memwatch then re-arms; only the first firing matters here).
pub fn memwatch_rule_first_fire(baselines: &[f64]) -> Option<usize> {
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
struct GcTally {
    count: u64,
    time_ms: f64,
}

impl GcTally {
    fn add(&mut self, duration_ms: f64) {
        self.count = self.count.saturating_add(1);
        self.time_ms += duration_or_zero(duration_ms);
    }
}

#[derive(Debug, Clone, Default)]
struct GcCounters {
    scavenge: GcTally,
    mark_sweep_compact: GcTally,
    incremental_marking: GcTally,
    weak_callbacks: GcTally,
}

impl GcCounters {
    fn tally_mut(&mut self, kind: GcKind) -> &mut GcTally {
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
struct HeapBaseline {
    current: f64,
    estimated: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    /// Recent baselines (warm-up included: the trend describes, it does not accuse).
    recent: Series,
}

impl HeapBaseline {
    fn observe(&mut self, t_ms: f64, used_heap_size: f64, window_ms: f64) {
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

    fn usage_trend(&self) -> f64 {
        theil_sen_per_sec(&self.recent.points)
    }
}

/// What `should_probe` needs to remember.
#[derive(Debug, Clone, Default)]
struct ProbeState {
    last_full_gc_ms: Option<f64>,
    last_full_gc_duration_ms: f64,
    last_probe_ms: Option<f64>,
    /// used_heap_size + external after the last full GC past warm-up.
    last_baseline: Option<f64>,
}

impl ProbeState {
    fn note_full_gc(&mut self, t_ms: f64, duration_ms: f64) {
        self.last_full_gc_duration_ms = duration_ms;
        if t_ms.is_finite() {
            // A late, out-of-order report must not move the clock back and allow an early probe.
            self.last_full_gc_ms = Some(self.last_full_gc_ms.map_or(t_ms, |last| last.max(t_ms)));
        }
    }
}

/// One baseline observation of one memory kind.
#[derive(Debug, Clone, Copy)]
struct Point {
    t_ms: f64,
    value: f64,
    forced: bool,
}

/// Time-ordered points. Non-finite or negative points, and points older than the newest one
/// ever accepted, are dropped here, so everything downstream may assume clean, sorted input.
#[derive(Debug, Clone)]
struct Series {
    points: Vec<Point>,
    newest_ms: f64,
}

impl Default for Series {
    fn default() -> Self {
        Self { points: Vec::new(), newest_ms: f64::NEG_INFINITY }
    }
}

impl Series {
    fn push(&mut self, point: Point) -> bool {
        let accepted = point.t_ms.is_finite() && point.t_ms >= self.newest_ms && is_amount(point.value);
        if accepted {
            self.newest_ms = point.t_ms;
            self.points.push(point);
        }
        accepted
    }

    /// Forgets points more than `window_ms` older than the newest (and any beyond the hard cap).
    fn keep_recent(&mut self, window_ms: f64) {
        let oldest_kept = self.newest_ms - window_ms;
        let stale = self.points.iter().take_while(|p| p.t_ms < oldest_kept).count();
        let excess = self.points.len().saturating_sub(MAX_RETAINED_POINTS);
        self.points.drain(..stale.max(excess));
    }

    /// Empties the series; `newest_ms` stays, so older points cannot sneak back in.
    fn clear(&mut self) {
        self.points.clear();
    }

    fn span_ms(&self) -> f64 {
        match (self.points.first(), self.points.last()) {
            (Some(first), Some(last)) => last.t_ms - first.t_ms,
            _ => 0.0,
        }
    }
}

/// Watches one memory kind's baselines for sustained growth.
#[derive(Debug, Clone)]
struct LeakDetector {
    kind: MemoryKind,
    /// Samples past warm-up, within the window and since the last report.
    evidence: Series,
    reports: u32,
    /// The rule holds, but no forced full GC in the last third of the window confirms it.
    suspicious: bool,
}

impl LeakDetector {
    fn new(kind: MemoryKind) -> Self {
        Self { kind, evidence: Series::default(), reports: 0, suspicious: false }
    }

    /// Each report doubles the span needed for the next (capped), so a continuing leak is
    /// reported again but not spammed.
    fn required_duration_ms(&self, config: &DetectorConfig) -> f64 {
        let escalated = config.min_duration_ms * 2f64.powi(self.reports.min(64) as i32);
        escalated.min(MAX_REQUIRED_DURATION_MS.max(config.min_duration_ms))
    }

    fn observe(&mut self, point: Point, config: &DetectorConfig) -> Option<LeakVerdict> {
        if !self.evidence.push(point) {
            return None;
        }
        let required_ms = self.required_duration_ms(config);
        // The window widens with escalation, or escalated evidence could never be gathered.
        self.evidence.keep_recent(config.max_window_ms.max(required_ms));
        let verdict = self.assess(config, required_ms);
        // With probing on, the last third of the window must hold a forced sample.
        let needs_confirmation = config.probe_interval_ms > 0.0 && !self.forced_in_last_third();
        self.suspicious = verdict.is_some() && needs_confirmation;
        if self.suspicious {
            return None;
        }
        let verdict = verdict?;
        self.evidence.clear();
        self.reports = self.reports.saturating_add(1);
        Some(verdict)
    }

    fn forced_in_last_third(&self) -> bool {
        let points = &self.evidence.points;
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return false;
        };
        let from_ms = last.t_ms - (last.t_ms - first.t_ms) / 3.0;
        points.iter().rev().take_while(|p| p.t_ms >= from_ms).any(|p| p.forced)
    }

    fn assess(&self, config: &DetectorConfig, required_ms: f64) -> Option<LeakVerdict> {
        let points = &self.evidence.points;
        if points.len() < config.min_samples || self.evidence.span_ms() < required_ms {
            return None;
        }
        let [start, middle, end] = bucket_minima(points)?;
        let growth = end - start;
        let needed = config.min_growth_bytes.max(config.min_growth_ratio * start);
        let climbs = rises_steadily(start, middle, end) && steepest_third_share(points) <= MAX_STEEPEST_THIRD_SHARE;
        if !climbs || growth < needed {
            return None;
        }
        let rate = theil_sen_per_sec(points);
        (rate > 0.0).then(|| self.verdict(points, growth, rate, start, end))
    }

    fn verdict(&self, points: &[Point], growth: f64, rate: f64, baseline_start: f64, baseline_end: f64) -> LeakVerdict {
        let start_ms = points.first().map_or(0.0, |p| p.t_ms);
        let end_ms = points.last().map_or(0.0, |p| p.t_ms);
        let forced_gcs = points.iter().filter(|p| p.forced).count();
        let window_ms = end_ms - start_ms;
        LeakVerdict {
            kind: self.kind,
            start_ms,
            end_ms,
            growth_bytes: growth,
            rate_bytes_per_sec: rate,
            window_ms,
            samples: points.len(),
            forced_gcs,
            baseline_start,
            baseline_end,
            reason: describe_leak(self.kind, growth, window_ms, points.len(), rate, forced_gcs),
        }
    }
}

/// Minimum of each third of the points' time span, or None if a third is empty.
fn bucket_minima(points: &[Point]) -> Option<[f64; 3]> {
    let first = points.first()?.t_ms;
    let span = points.last()?.t_ms - first;
    if span <= 0.0 {
        return None;
    }
    let mut minima = [f64::INFINITY; 3];
    for point in points {
        // `as` saturates, and the last point (exactly 3.0) belongs to the last third.
        let third = (((point.t_ms - first) / span * 3.0) as usize).min(2);
        minima[third] = minima[third].min(point.value);
    }
    minima.iter().all(|m| m.is_finite()).then_some(minima)
}

/// Strictly rising, with neither rise a mere sliver of the total.
fn rises_steadily(start: f64, middle: f64, end: f64) -> bool {
    let (first_rise, second_rise) = (middle - start, end - middle);
    first_rise > 0.0 && second_rise > 0.0 && first_rise.min(second_rise) >= MIN_RISE_SHARE * (end - start)
}

/// Share of the envelope's rise that falls within the steepest third of the window (1 when it
/// does not rise). The envelope joins the points no later point undercuts with straight lines:
/// garbage alive at sample time cannot lift it, and the rise between two sparse true baselines
/// is spread over the time between them rather than dated at a noisy sample in between.
fn steepest_third_share(points: &[Point]) -> f64 {
    let corners = envelope_corners(points);
    let (Some(low), Some(high)) = (corners.first(), corners.last()) else {
        return 1.0;
    };
    let rise = high.value - low.value;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return 1.0;
    };
    let third_ms = (last.t_ms - first.t_ms) / 3.0;
    if !(rise > 0.0 && third_ms > 0.0) {
        return 1.0;
    }
    // The steepest stretch of a piecewise-linear curve starts or ends at a corner.
    let at = |t_ms| envelope_at(&corners, t_ms);
    let steepest = corners
        .iter()
        .map(|c| (at(c.t_ms + third_ms) - at(c.t_ms)).max(at(c.t_ms) - at(c.t_ms - third_ms)))
        .fold(0.0, f64::max);
    steepest / rise
}

/// Points not undercut by any later point, in time order (the suffix minima).
fn envelope_corners(points: &[Point]) -> Vec<Point> {
    let mut lowest_later = f64::INFINITY;
    let mut corners: Vec<Point> = points
        .iter()
        .rev()
        .filter(|p| {
            let corner = p.value <= lowest_later;
            lowest_later = lowest_later.min(p.value);
            corner
        })
        .copied()
        .collect();
    corners.reverse();
    corners
}

/// The envelope at a time: linear between corners, flat beyond them.
fn envelope_at(corners: &[Point], t_ms: f64) -> f64 {
    let next = corners.partition_point(|c| c.t_ms <= t_ms);
    match (next.checked_sub(1).and_then(|i| corners.get(i)), corners.get(next)) {
        (Some(a), Some(b)) => a.value + (b.value - a.value) * (t_ms - a.t_ms) / (b.t_ms - a.t_ms),
        (Some(only), None) | (None, Some(only)) => only.value,
        (None, None) => 0.0,
    }
}

/// Theil–Sen slope (median of pairwise slopes) in value units per second; 0 when undefined.
fn theil_sen_per_sec(points: &[Point]) -> f64 {
    let points = even_subsample(points, MAX_SLOPE_POINTS);
    let mut slopes = Vec::with_capacity(points.len() * points.len() / 2);
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            let dt_ms = b.t_ms - a.t_ms;
            if dt_ms > 0.0 {
                slopes.push((b.value - a.value) / dt_ms * 1000.0);
            }
        }
    }
    median(&mut slopes).unwrap_or(0.0)
}

/// At most `max` points (max >= 2), evenly spread and keeping both ends.
fn even_subsample(points: &[Point], max: usize) -> Vec<Point> {
    if points.len() <= max {
        return points.to_vec();
    }
    (0..max).map(|i| points[i * (points.len() - 1) / (max - 1)]).collect()
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[mid]),
        _ => Some((values[mid - 1] + values[mid]) / 2.0),
    }
}

fn describe_leak(
    kind: MemoryKind,
    growth: f64,
    window_ms: f64,
    samples: usize,
    rate: f64,
    forced_gcs: usize,
) -> String {
    let forced = match forced_gcs {
        0 => String::new(),
        1 => "; 1 forced GC".to_string(),
        n => format!("; {n} forced GCs"),
    };
    format!(
        "{} grew {} in {:.0}s over {} full GCs ({}/s; lower envelope rose in every third of the window{})",
        kind.noun(),
        human_bytes(growth),
        window_ms / 1000.0,
        samples,
        human_bytes(rate),
        forced
    )
}

/// A figure in bytes as leakwatch prints every size ([`crate::format::human_size`]).
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

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: f64 = 1000.0;
    const LEAK_RATE: f64 = 100.0 * KIB; // bytes per second
    const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

    /// Deterministic xorshift64 PRNG: reproducible series without crates.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            // Spread small seeds; xorshift must never hold 0.
            Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }

        fn unit(&mut self) -> f64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            (x >> 11) as f64 / (1u64 << 53) as f64
        }

        fn range(&mut self, low: f64, high: f64) -> f64 {
            low + (high - low) * self.unit()
        }
    }

    /// One post-full-GC observation of a synthetic service.
    #[derive(Debug, Clone, Copy)]
    struct Baseline {
        t_ms: f64,
        heap: f64,
        external: f64,
        forced: bool,
    }

    fn heap_sample(b: Baseline) -> HeapSample {
        HeapSample {
            t_ms: b.t_ms,
            forced: b.forced,
            used_heap_size: b.heap,
            external: b.external,
            total_heap_size: b.heap * 1.25,
            heap_size_limit: 4096.0 * MIB,
            array_buffers: b.external / 2.0,
            rss: b.heap * 1.5 + b.external,
            ..HeapSample::default()
        }
    }

    /// Baselines every `gap` (irregular, uniform in the range) until `until_ms`; `memory`
    /// gives (heap, external) at a time.
    fn series(
        seed: u64,
        until_ms: f64,
        gap: (f64, f64),
        mut memory: impl FnMut(f64, &mut Rng) -> (f64, f64),
    ) -> Vec<Baseline> {
        let mut rng = Rng::new(seed);
        let mut out = Vec::new();
        let mut t_ms = rng.range(0.0, gap.1);
        while t_ms <= until_ms {
            let (heap, external) = memory(t_ms, &mut rng);
            out.push(Baseline { t_ms, heap, external, forced: false });
            t_ms += rng.range(gap.0, gap.1);
        }
        out
    }

    fn noise(rng: &mut Rng, amplitude: f64) -> f64 {
        rng.range(-amplitude, amplitude)
    }

    /// Default config without probing, so natural samples are judged on their own (the
    /// confirmation step is tested separately).
    fn natural_only() -> DetectorConfig {
        DetectorConfig { probe_interval_ms: 0.0, ..DetectorConfig::default() }
    }

    /// Feeds the baselines to a fresh monitor (no probing, start 0); returns all verdicts.
    fn detect_all(baselines: &[Baseline]) -> Vec<LeakVerdict> {
        let mut monitor = Monitor::new(natural_only(), 0.0);
        baselines.iter().flat_map(|&b| monitor.record_full_gc(heap_sample(b), 20.0).1).collect()
    }

    fn of_kind(verdicts: &[LeakVerdict], kind: MemoryKind) -> Vec<&LeakVerdict> {
        verdicts.iter().filter(|v| v.kind == kind).collect()
    }

    fn heaps(baselines: &[Baseline]) -> Vec<f64> {
        baselines.iter().map(|b| b.heap).collect()
    }

    fn steady_leak(seed: u64, until_ms: f64) -> Vec<Baseline> {
        series(seed, until_ms, (2.0 * SEC, 8.0 * SEC), |t, rng| {
            let heap = 50.0 * MIB + LEAK_RATE * t / SEC + noise(rng, 50.0 * KIB);
            (heap, 2.0 * MIB + noise(rng, 20.0 * KIB))
        })
    }

    fn assert_rate_close(verdict: &LeakVerdict, truth: f64) {
        let error = (verdict.rate_bytes_per_sec - truth).abs() / truth;
        assert!(error <= 0.3, "rate {} vs {truth}: {verdict:?}", verdict.rate_bytes_per_sec);
    }

    #[test]
    fn steady_leak_is_caught_within_30s_with_accurate_rate() {
        for seed in SEEDS {
            let verdicts = detect_all(&steady_leak(seed, 60.0 * SEC));
            let heap = of_kind(&verdicts, MemoryKind::Heap);
            let first = heap.first().unwrap_or_else(|| panic!("seed {seed}: no verdict"));
            assert!(first.end_ms <= 30.0 * SEC, "seed {seed}: late {first:?}");
            assert_rate_close(first, LEAK_RATE);
            assert!(first.growth_bytes >= MIB && first.window_ms >= 12.0 * SEC);
            assert!(of_kind(&verdicts, MemoryKind::External).is_empty());
        }
    }

    #[test]
    fn verdict_reason_reads_like_a_sentence() {
        let verdicts = detect_all(&steady_leak(1, 60.0 * SEC));
        let reason = &verdicts[0].reason;
        assert!(reason.starts_with("heap grew "), "{reason}");
        assert!(reason.contains(" mb in ") && reason.contains(" kb/s; lower envelope"), "{reason}");
        assert!(!reason.contains("forced"), "{reason}");
    }

    /// A service whose heap_used saws up and down with garbage; natural full GCs are rare and
    /// catch transient objects, so only forced probes measure the true baseline.
    struct SawtoothRun {
        verdicts: Vec<LeakVerdict>,
        natural: Vec<Baseline>,
        probes: usize,
    }

    fn run_sawtooth(seed: u64, until_ms: f64, config: DetectorConfig) -> SawtoothRun {
        let mut rng = Rng::new(seed);
        let mut monitor = Monitor::new(config, 0.0);
        let true_base = |t: f64| 40.0 * MIB + LEAK_RATE * t / SEC;
        let mut run = SawtoothRun { verdicts: Vec::new(), natural: Vec::new(), probes: 0 };
        let mut next_natural = rng.range(5.0 * SEC, 25.0 * SEC);
        for step in 0..=(until_ms / 100.0) as usize {
            let t_ms = step as f64 * 100.0;
            monitor.record_gc(GcKind::Minor, 1.0);
            let garbage = 30.0 * MIB * (t_ms / 7_000.0).fract();
            let baseline = if t_ms >= next_natural {
                next_natural += rng.range(5.0 * SEC, 25.0 * SEC);
                let heap = true_base(t_ms) + rng.range(0.0, 8.0 * MIB);
                let natural = Baseline { t_ms, heap, external: MIB, forced: false };
                run.natural.push(natural);
                natural
            } else if monitor.should_probe(t_ms, true_base(t_ms) + garbage + MIB) {
                run.probes += 1;
                let heap = true_base(t_ms) + rng.range(0.0, 64.0 * KIB);
                Baseline { t_ms, heap, external: MIB, forced: true }
            } else {
                continue;
            };
            monitor.record_gc(GcKind::Major, 30.0);
            run.verdicts.extend(monitor.record_full_gc(heap_sample(baseline), 30.0).1);
        }
        run
    }

    #[test]
    fn slow_leak_under_sawtooth_is_caught_through_probes() {
        let mut late = 0;
        for seed in SEEDS {
            let run = run_sawtooth(seed, 120.0 * SEC, DetectorConfig::default());
            let heap = of_kind(&run.verdicts, MemoryKind::Heap);
            let first = heap.first().unwrap_or_else(|| panic!("seed {seed}: no verdict"));
            // Natural samples here carry up to 8 MiB of garbage; a verdict they alone would
            // support waits for a confirming probe, which on an unlucky seed (6) resets the
            // evidence and costs one more probe interval or two.
            late += usize::from(first.end_ms > 32.0 * SEC);
            assert!(first.end_ms <= 45.0 * SEC, "seed {seed}: late {first:?}");
            assert!(first.forced_gcs >= 2, "seed {seed}: {first:?}");
            assert!(first.reason.contains("forced GCs"), "{}", first.reason);
            // Probing stays paced: at most one forced GC per probe interval.
            assert!(run.probes <= 15, "seed {seed}: {} probes", run.probes);
        }
        assert!(late <= 1, "{late} of 20 seeds reported after 32 s");
    }

    #[test]
    fn without_probes_the_sawtooth_leak_is_not_caught_in_time() {
        let no_probes = DetectorConfig { probe_interval_ms: 0.0, ..DetectorConfig::default() };
        let run = run_sawtooth(1, 32.0 * SEC, no_probes);
        assert_eq!(run.probes, 0);
        assert!(run.verdicts.is_empty(), "{:?}", run.verdicts);
    }

    #[test]
    fn memwatch_misses_the_slow_sawtooth_leak() {
        let mut misses = 0;
        for seed in SEEDS {
            let run = run_sawtooth(seed, 120.0 * SEC, DetectorConfig::default());
            let ours = of_kind(&run.verdicts, MemoryKind::Heap)[0].end_ms;
            match memwatch_rule_first_fire(&heaps(&run.natural)) {
                None => misses += 1,
                // Five growths in a row need six rare natural GCs: never within our delay.
                Some(index) => assert!(run.natural[index].t_ms > ours, "seed {seed}"),
            }
        }
        assert!(misses >= 10, "memwatch missed only {misses} of 20");
    }

    #[test]
    fn external_leak_is_reported_as_external_only() {
        for seed in SEEDS {
            let baselines = series(seed, 120.0 * SEC, (2.0 * SEC, 6.0 * SEC), |t, rng| {
                let heap = 30.0 * MIB + noise(rng, 100.0 * KIB);
                (heap, 5.0 * MIB + 200.0 * KIB * t / SEC + noise(rng, 20.0 * KIB))
            });
            let verdicts = detect_all(&baselines);
            assert!(of_kind(&verdicts, MemoryKind::Heap).is_empty(), "seed {seed}");
            let external = of_kind(&verdicts, MemoryKind::External);
            let first = external.first().unwrap_or_else(|| panic!("seed {seed}: no verdict"));
            assert!(first.end_ms <= 30.0 * SEC, "seed {seed}: late {first:?}");
            assert_rate_close(first, 200.0 * KIB);
            assert!(first.reason.starts_with("external memory grew"));
            assert_eq!(MemoryKind::External.as_str(), "external");
        }
    }

    /// Heap ramps 30 -> 80 MiB over the first 3 s (a GC every 0.5 s), then stays flat.
    fn warmup_spike(seed: u64) -> Vec<Baseline> {
        let ramp = (1..=6).map(|i| {
            let t_ms = i as f64 * 500.0;
            Baseline { t_ms, heap: 20.0 * MIB + 10.0 * MIB * i as f64, external: MIB, forced: false }
        });
        let flat = series(seed, 180.0 * SEC, (2.0 * SEC, 8.0 * SEC), |_, rng| {
            (80.0 * MIB + noise(rng, 200.0 * KIB), MIB + noise(rng, 10.0 * KIB))
        });
        let after_ramp = flat.into_iter().filter(|b| b.t_ms > 3.0 * SEC);
        ramp.chain(after_ramp).collect()
    }

    #[test]
    fn warmup_spike_is_not_a_leak_but_fools_memwatch() {
        for seed in SEEDS {
            let baselines = warmup_spike(seed);
            assert!(detect_all(&baselines).is_empty(), "seed {seed}");
            // Five growing start-up GCs (the first counts against memwatch's zero base).
            assert_eq!(memwatch_rule_first_fire(&heaps(&baselines)), Some(4));
            assert_eq!(baselines[4].t_ms, 2.5 * SEC);
        }
    }

    #[test]
    fn samples_inside_warmup_are_not_evidence() {
        // Start-up that climbs like a leak for 25 s, then settles.
        let baselines = series(7, 120.0 * SEC, (2.0 * SEC, 4.0 * SEC), |t, rng| {
            let heap = 30.0 * MIB + LEAK_RATE * t.min(25.0 * SEC) / SEC + noise(rng, 20.0 * KIB);
            (heap, MIB)
        });
        let verdicts_with = |warmup_ms| {
            let mut monitor = Monitor::new(DetectorConfig { warmup_ms, ..natural_only() }, 0.0);
            let all: Vec<_> = baselines.iter().flat_map(|&b| monitor.record_full_gc(heap_sample(b), 5.0).1).collect();
            all
        };
        assert!(verdicts_with(30.0 * SEC).is_empty());
        assert!(!verdicts_with(0.0).is_empty(), "the same climb is a leak without warm-up");
    }

    /// Heap flat at 30 MiB, a cache fills 40 MiB over 4 s from `fill_from_ms`, then flat.
    fn cache_fill(seed: u64, fill_from_ms: f64) -> Vec<Baseline> {
        let until_ms = fill_from_ms + 4.0 * SEC + 90.0 * SEC;
        let mut rng = Rng::new(seed);
        let mut out = Vec::new();
        let mut t_ms = rng.range(0.0, 2.0 * SEC);
        while t_ms <= until_ms {
            let filled = ((t_ms - fill_from_ms) / (4.0 * SEC)).clamp(0.0, 1.0);
            let heap = 30.0 * MIB + 40.0 * MIB * filled + noise(&mut rng, 200.0 * KIB);
            out.push(Baseline { t_ms, heap, external: MIB, forced: false });
            // Allocation-heavy filling triggers full GCs more often.
            let filling = filled > 0.0 && filled < 1.0;
            t_ms += if filling { rng.range(0.5 * SEC, 1.0 * SEC) } else { rng.range(2.0 * SEC, 8.0 * SEC) };
        }
        out
    }

    #[test]
    fn cache_filling_to_a_cap_is_not_a_leak() {
        let mut memwatch_fired = 0;
        for seed in SEEDS {
            for fill_from_ms in [0.0, 30.0 * SEC] {
                let baselines = cache_fill(seed, fill_from_ms);
                let verdicts = detect_all(&baselines);
                assert!(verdicts.is_empty(), "seed {seed}, fill at {fill_from_ms}: {verdicts:?}");
                memwatch_fired += usize::from(memwatch_rule_first_fire(&heaps(&baselines)).is_some());
            }
        }
        assert!(memwatch_fired >= 20, "memwatch fired on only {memwatch_fired} of 40 fills");
    }

    #[test]
    fn periodic_bursts_are_not_a_leak() {
        let in_burst = |t: f64| t % (5.0 * SEC) < 1.0 * SEC;
        let mut samples_in_bursts = 0;
        for seed in SEEDS {
            let baselines = series(seed, 180.0 * SEC, (2.0 * SEC, 8.0 * SEC), |t, rng| {
                let burst = if in_burst(t) { 20.0 * MIB } else { 0.0 };
                (60.0 * MIB + burst + noise(rng, 200.0 * KIB), MIB)
            });
            samples_in_bursts += baselines.iter().filter(|b| in_burst(b.t_ms)).count();
            assert!(detect_all(&baselines).is_empty(), "seed {seed}");
        }
        assert!(samples_in_bursts >= 50, "only {samples_in_bursts} samples hit a burst");
    }

    #[test]
    fn idle_process_is_not_a_leak_and_is_probed_once() {
        assert!(detect_all(&[]).is_empty());
        for seed in SEEDS {
            let flat = series(seed, 150.0 * SEC, (20.0 * SEC, 60.0 * SEC), |_, rng| {
                (25.0 * MIB + noise(rng, 200.0 * KIB), MIB)
            });
            assert!(detect_all(&flat).is_empty(), "seed {seed}");
        }
        // Flat light samples: one probe to get a baseline, then nothing to confirm.
        let mut monitor = Monitor::new(DetectorConfig::default(), 0.0);
        let mut probes = 0;
        for step in 0..1500 {
            let t_ms = step as f64 * 100.0;
            if monitor.should_probe(t_ms, 25.0 * MIB) {
                probes += 1;
                let flat = Baseline { t_ms, heap: 25.0 * MIB, external: MIB, forced: true };
                monitor.record_full_gc(heap_sample(flat), 10.0);
            }
        }
        assert_eq!(probes, 1);
    }

    #[test]
    fn long_leak_is_rereported_with_growing_gaps() {
        for seed in SEEDS {
            let verdicts = detect_all(&steady_leak(seed, 300.0 * SEC));
            assert!((2..=6).contains(&verdicts.len()), "seed {seed}: {} verdicts", verdicts.len());
            let mut required_ms = 12.0 * SEC;
            for verdict in &verdicts {
                assert!(verdict.window_ms >= required_ms, "seed {seed}: {verdict:?}");
                required_ms *= 2.0;
            }
            let ends: Vec<f64> = verdicts.iter().map(|v| v.end_ms).collect();
            let gaps: Vec<f64> = ends.windows(2).map(|w| w[1] - w[0]).collect();
            assert!(gaps.windows(2).all(|g| g[1] > g[0]), "seed {seed}: gaps {gaps:?}");
        }
    }

    #[test]
    fn escalation_is_capped_at_ten_minutes() {
        let mut detector = LeakDetector::new(MemoryKind::Heap);
        detector.reports = 40;
        let config = DetectorConfig::default();
        assert_eq!(detector.required_duration_ms(&config), MAX_REQUIRED_DURATION_MS);
        let patient = DetectorConfig { min_duration_ms: 900_000.0, ..config };
        assert_eq!(detector.required_duration_ms(&patient), 900_000.0);
    }

    #[test]
    fn memwatch_rule_counts_five_growths_from_a_zero_base() {
        assert_eq!(memwatch_rule_first_fire(&[]), None);
        assert_eq!(memwatch_rule_first_fire(&[1.0, 2.0, 3.0, 4.0]), None);
        assert_eq!(memwatch_rule_first_fire(&[1.0, 2.0, 3.0, 4.0, 5.0]), Some(4));
        // A dip restarts the streak; equal is not growth.
        assert_eq!(memwatch_rule_first_fire(&[5.0, 1.0, 2.0, 3.0, 4.0, 5.0]), None);
        assert_eq!(memwatch_rule_first_fire(&[5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), Some(6));
        assert_eq!(memwatch_rule_first_fire(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]), None);
        assert_eq!(memwatch_rule_first_fire(&[1.0, 2.0, f64::NAN, 3.0, 4.0, 5.0]), None);
    }

    #[test]
    fn stats_follow_memwatch_bookkeeping() {
        let mut monitor = Monitor::new(DetectorConfig::default(), 0.0);
        monitor.record_gc(GcKind::Minor, 1.5);
        monitor.record_gc(GcKind::Minor, 2.5);
        monitor.record_gc(GcKind::Incremental, 4.0);
        monitor.record_gc(GcKind::WeakCallbacks, 0.5);
        monitor.record_gc(GcKind::Major, 10.0);
        let at = |t_ms, heap| heap_sample(Baseline { t_ms, heap, external: MIB, forced: false });

        let (first, _) = monitor.record_full_gc(at(1_000.0, 40.0 * MIB), 10.0);
        assert_eq!((first.num_full_gc, first.heap_compactions, first.num_inc_gc), (1, 1, 3));
        assert_eq!((first.gc_scavenge_count, first.gc_scavenge_time_ms), (2, 4.0));
        assert_eq!(first.gc_incremental_marking_count, 1);
        assert_eq!(first.gc_process_weak_callbacks_time_ms, 0.5);
        assert_eq!(first.gc_mark_sweep_compact_time_ms, 10.0);
        assert_eq!(first.usage_trend, 0.0);
        assert_eq!(first.estimated_base, 40.0 * MIB);
        assert_eq!((first.min, first.max, first.current_base), (40.0 * MIB, 40.0 * MIB, 40.0 * MIB));

        let (second, _) = monitor.record_full_gc(at(3_000.0, 36.0 * MIB), 12.0);
        assert_eq!(second.usage_trend, -2.0 * MIB);
        assert_eq!(second.estimated_base, 39.0 * MIB);
        assert_eq!((second.min, second.max, second.current_base), (36.0 * MIB, 40.0 * MIB, 36.0 * MIB));
        assert_eq!((second.gc_time_ms, second.num_full_gc), (12.0, 2));
        assert_eq!(second.sample.rss, 36.0 * MIB * 1.5 + MIB);
    }

    #[test]
    fn theil_sen_ignores_a_minority_of_outliers() {
        let mut points: Vec<Point> =
            (0..10).map(|i| Point { t_ms: i as f64 * SEC, value: 100.0 * i as f64, forced: false }).collect();
        points[4].value = 1e9;
        points[7].value = 0.0;
        assert_eq!(theil_sen_per_sec(&points), 100.0);
        assert_eq!(theil_sen_per_sec(&points[..1]), 0.0);
    }

    #[test]
    fn should_probe_respects_warmup_interval_rise_and_cost() {
        let mut monitor = Monitor::new(DetectorConfig::default(), 0.0);
        assert!(!monitor.should_probe(4_000.0, 50.0 * MIB), "inside warm-up");
        assert!(monitor.should_probe(5_000.0, 50.0 * MIB), "no baseline yet");
        let base = Baseline { t_ms: 5_000.0, heap: 50.0 * MIB, external: 0.0, forced: true };
        monitor.record_full_gc(heap_sample(base), 50.0);
        assert!(!monitor.should_probe(12_000.0, 60.0 * MIB), "interval not over");
        assert!(!monitor.should_probe(14_000.0, 50.2 * MIB), "rise too small");
        assert!(monitor.should_probe(14_000.0, 50.5 * MIB));
        assert!(!monitor.should_probe(20_000.0, 60.0 * MIB), "probed 6 s ago");

        // A slow full GC (200 ms) stretches the spacing to 20 s.
        let slow = Baseline { t_ms: 30_000.0, ..base };
        monitor.record_full_gc(heap_sample(slow), 200.0);
        assert!(!monitor.should_probe(45_000.0, 60.0 * MIB), "cost cap");
        assert!(monitor.should_probe(50_000.0, 60.0 * MIB));

        let disabled = DetectorConfig { probe_interval_ms: 0.0, ..DetectorConfig::default() };
        monitor.set_config(disabled);
        assert!(!monitor.should_probe(500_000.0, 500.0 * MIB), "disabled");
    }

    #[test]
    fn external_growth_under_a_flat_heap_is_probed_and_caught() {
        // Buffers retained at 200 KB/s, heap flat, no natural full GC at all: only probes
        // (judged on heap + external light samples) can supply the evidence.
        let mut monitor = Monitor::new(DetectorConfig::default(), 0.0);
        let external = |t: f64| 2.0 * MIB + 200.0 * KIB * t / SEC;
        let mut verdicts = Vec::new();
        let mut probes = 0;
        for step in 0..=300 {
            let t_ms = step as f64 * 100.0;
            if monitor.should_probe(t_ms, 4.0 * MIB + external(t_ms)) {
                probes += 1;
                let probe = Baseline { t_ms, heap: 4.0 * MIB, external: external(t_ms), forced: true };
                verdicts.extend(monitor.record_full_gc(heap_sample(probe), 5.0).1);
            }
        }
        assert!(probes <= 4, "{probes} probes in 30 s");
        assert!(of_kind(&verdicts, MemoryKind::Heap).is_empty());
        let first = of_kind(&verdicts, MemoryKind::External)[0];
        assert!(first.end_ms <= 30.0 * SEC, "late {first:?}");
        assert_eq!(first.forced_gcs, first.samples);
    }

    #[test]
    fn bursts_whose_gcs_drift_in_phase_need_a_confirming_probe() {
        // A 1 s batch job every 5 s builds 20 MiB and drops it; the natural full GCs it
        // triggers land ever later in the burst, so they alone climb like a ~600 kb/s leak.
        let base = 5.0 * MIB;
        let burst = |t: f64| {
            let phase = t % (5.0 * SEC);
            if phase < SEC {
                20.0 * MIB * phase / SEC
            } else {
                0.0
            }
        };
        let naturals: Vec<f64> = (0..6).map(|i| 5.1 * SEC * (i + 1) as f64 + 100.0 * i as f64).collect();
        let natural_verdicts = detect_all(
            &naturals
                .iter()
                .map(|&t_ms| Baseline { t_ms, heap: base + burst(t_ms), external: MIB, forced: false })
                .collect::<Vec<_>>(),
        );
        assert!(!natural_verdicts.is_empty(), "the drift must fool natural samples alone");

        let mut monitor = Monitor::new(DetectorConfig::default(), 0.0);
        let mut verdicts = Vec::new();
        let mut probes = 0;
        for step in 0..=350 {
            let t_ms = step as f64 * 100.0;
            let sample = if naturals.iter().any(|&n| (n - t_ms).abs() < 50.0) {
                Baseline { t_ms, heap: base + burst(t_ms), external: MIB, forced: false }
            } else if step % 10 == 0 && monitor.should_probe(t_ms, base + 30.0 * MIB) {
                probes += 1;
                Baseline { t_ms, heap: base + burst(t_ms), external: MIB, forced: true }
            } else {
                continue;
            };
            verdicts.extend(monitor.record_full_gc(heap_sample(sample), 10.0).1);
        }
        assert!(probes >= 1);
        assert!(verdicts.is_empty(), "{verdicts:?}");
    }

    #[test]
    fn bad_input_never_panics_and_is_ignored() {
        let weird = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, -1e300, 0.0, 1e308, f64::MIN_POSITIVE];
        let nonsense = DetectorConfig {
            warmup_ms: f64::NAN,
            min_duration_ms: -5.0,
            min_samples: 0,
            min_growth_bytes: f64::NAN,
            min_growth_ratio: -1.0,
            max_window_ms: f64::NEG_INFINITY,
            probe_interval_ms: f64::NAN,
        };
        assert_eq!(nonsense.clone().sanitized(), DetectorConfig { min_samples: 0, ..DetectorConfig::default() });
        for start in weird {
            let mut monitor = Monitor::new(nonsense.clone(), start);
            for (i, &t_ms) in weird.iter().enumerate() {
                for &value in &weird {
                    monitor.record_gc(GcKind::Minor, value);
                    monitor.should_probe(t_ms, value);
                    let b = Baseline { t_ms, heap: value, external: weird[(i + 3) % weird.len()], forced: i % 2 == 0 };
                    let (stats, _) = monitor.record_full_gc(heap_sample(b), value);
                    assert!(!stats.gc_scavenge_time_ms.is_nan() && stats.gc_time_ms.is_finite());
                    assert!(stats.min >= 0.0 && stats.max.is_finite() && !stats.usage_trend.is_nan());
                }
            }
        }
        // Decreasing timestamps after a leak-shaped start: late samples are ignored.
        let mut monitor = Monitor::new(DetectorConfig::default(), 0.0);
        let mut verdicts = Vec::new();
        for i in (0..60).rev() {
            let t_ms = i as f64 * 2.0 * SEC;
            let b = Baseline { t_ms, heap: 10.0 * MIB + 200.0 * KIB * i as f64, external: 0.0, forced: false };
            verdicts.extend(monitor.record_full_gc(heap_sample(b), 5.0).1);
        }
        assert!(verdicts.is_empty());
        assert!(!monitor.should_probe(-50.0, MIB));
    }
}
