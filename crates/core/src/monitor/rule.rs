//! The leak rule on post-GC figures, applied separately to the JS heap and to external memory,
//! on post-full-GC ("baseline") samples taken after warm-up and since the last report:
//! * the evidence spans at least the required duration and holds at least `min_samples` samples;
//! * split into equal time buckets (thirds for the legacy rule, quarters for the adaptive one),
//!   the bucket minima (the lower envelope, which ignores garbage or bursts that happen to be
//!   alive at sample time) rise strictly, each rise carrying a fair share of the growth;
//! * the rise is spread over time: no third of the window holds more than 3/4 of the rise of
//!   the lower envelope (a cache filling up is a step, not a climb);
//! * the envelope grew by at least `max(min_growth_bytes, min_growth_ratio * start)`;
//! * the Theil–Sen slope (median of pairwise slopes, robust to outliers) is positive.
//!
//! With probing on (`probe_interval_ms > 0`) a verdict also needs a forced full GC in the last
//! bucket of the window: when natural samples alone satisfy the rule, the detector becomes
//! *suspicious* and asks for a confirming probe, then judges again with that sample. Natural
//! full GCs are triggered by allocation, so a workload with periodic bursts can have every
//! natural GC land inside a burst, at a phase that drifts later each time, and draw a
//! convincing climb out of transient data; a collection at a moment of leakwatch's choosing
//! breaks that correlation. The adaptive rule's quarters (four minima rising, not three) make a
//! batch whose phase decides the post-GC level far less likely to look like a climb.
//!
//! Probes are only made where they are cheap (`probe`). Where they are not, the evidence is
//! natural samples alone, as memwatch's was: the confirmation is waived rather than paid for
//! with a stall. The heap is then normally judged by the survival rule (the sampler runs with
//! every usage that wants verdicts, unless `sampling: false`), and this rule judges external
//! memory, whose natural samples a batch's phase rarely fakes (a Buffer's memory follows its
//! wrapper, and V8 collects on external growth by itself).
//!
//! After a report the evidence is dropped and the required duration doubles (capped), so a
//! continuing leak is reported again, but not on every sample. After a withdrawal (the
//! suspicion resolved itself: `lifecycle`) the doubling starts afresh, and the fill learnt sets
//! what the next verdict needs instead (`Requirement`).
//!
//! The window judged is the evidence since the last report (at most `max_window_ms`), or the
//! most recent part of it: a leak that starts after a long flat stretch (a service that ran
//! healthy for an hour) is judged on the samples since it started, as it would be at start-up,
//! not diluted by the hour before it.

use super::lifecycle::Fill;
use super::robust::{bucket_minima, steepest_third_share, theil_sen_per_sec, Point, Series};
use super::{human_bytes, DetectorConfig, Evidence, LeakVerdict, MemoryKind, Rule, Signal};

/// Escalation stops here, so a long-running leak is still re-reported every ~10 minutes.
pub(super) const MAX_REQUIRED_DURATION_MS: f64 = 10.0 * 60_000.0;
/// Legacy: each third-to-third rise of the bucket minima must carry at least this share of the
/// total: a burst alive at the only sample of the last third puts all of its height into one rise.
const MIN_RISE_SHARE_THIRDS: f64 = 1.0 / 6.0;
/// Adaptive: each quarter-to-quarter rise must carry at least this share.
const MIN_RISE_SHARE_QUARTERS: f64 = 1.0 / 8.0;
/// No third of the window may hold more than this share of the envelope's rise: a leak lifts
/// the envelope all along, while a step (a cache filling up) or a burst alive at the newest
/// sample lifts it at once, even when the bucket minima happen to rise.
const MAX_STEEPEST_THIRD_SHARE: f64 = 0.75;
/// Recent parts of the evidence judged: starts this far apart (a quarter of the shortest
/// window: a leak's start is found within a few seconds)...
const WINDOW_STEP_SHARE: f64 = 0.25;
/// ...and at most this many (the step widens on a long window): the cost stays bounded.
const MAX_WINDOW_STARTS: f64 = 48.0;

/// What a verdict's evidence must span: `ms`, or `base_ms` when it grew at least
/// `outgrow_bytes` (more than a store learnt from a withdrawal ever filled: `Fill`). A window
/// that is only the recent part of the evidence must, once a fill was learnt, outgrow it: the
/// same store refilling after a flat stretch looks just like a leak that starts there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Requirement {
    pub ms: f64,
    pub base_ms: f64,
    pub outgrow_bytes: f64,
}

impl Requirement {
    /// Whether a window of `span_ms` that grew `growth` bytes is enough; `whole`: the window
    /// is all the evidence (not its recent part).
    pub fn met(&self, span_ms: f64, growth: f64, whole: bool) -> bool {
        let outgrown = span_ms >= self.base_ms && growth >= self.outgrow_bytes;
        outgrown || (span_ms >= self.ms && (whole || self.ms <= self.base_ms))
    }

    /// Where the windows to judge start, oldest first, for evidence from `first_ms` to
    /// `last_ms`: the whole evidence (the legacy rule: only that), then its recent parts that
    /// still span `base_ms`.
    pub fn starts(&self, rule: Rule, first_ms: f64, last_ms: f64) -> impl Iterator<Item = f64> {
        let span = last_ms - first_ms;
        let step = (WINDOW_STEP_SHARE * self.base_ms).max(span / MAX_WINDOW_STARTS).max(1.0);
        let parts = match rule {
            Rule::Legacy => 0,
            Rule::Adaptive if span.is_finite() && span > self.base_ms => ((span - self.base_ms) / step) as usize,
            Rule::Adaptive => 0,
        };
        (0..=parts).map(move |k| first_ms + step * k as f64)
    }
}

/// Watches one memory kind's baselines for sustained growth.
#[derive(Debug, Clone)]
pub(super) struct FiguresDetector {
    pub kind: MemoryKind,
    /// Samples past warm-up, within the window and since the last report.
    pub evidence: Series,
    pub reports: u32,
    /// The end of the last reported window (evidence before it is spent).
    pub reported_until_ms: f64,
    /// The rule holds, but no forced full GC in the last bucket of the window confirms it.
    pub suspicious: bool,
    /// The fill learnt from withdrawn verdicts (a store's): what the next verdict must outlast.
    pub learned: Fill,
    /// The latest sample not in the evidence (taken during warm-up, or before the last
    /// report): the survival rule's figure at the start of a window that no sample of the
    /// evidence is near (full GCs are sparse: a few in the first 15 s).
    pub before: Option<Point>,
}

impl FiguresDetector {
    pub fn new(kind: MemoryKind) -> Self {
        Self {
            kind,
            evidence: Series::default(),
            reports: 0,
            reported_until_ms: f64::NEG_INFINITY,
            suspicious: false,
            learned: Fill::default(),
            before: None,
        }
    }

    /// Each report doubles the span needed for the next (capped), so a continuing leak is
    /// reported again but not spammed.
    pub fn required_duration_ms(&self, config: &DetectorConfig) -> f64 {
        self.requirement(config).ms
    }

    /// What the next verdict's evidence must span (see `Requirement`).
    pub fn requirement(&self, config: &DetectorConfig) -> Requirement {
        let cap = MAX_REQUIRED_DURATION_MS.max(config.min_duration_ms);
        let escalated = (config.min_duration_ms * 2f64.powi(self.reports.min(64) as i32)).min(cap);
        Requirement {
            ms: escalated.max(self.learned.required_ms(config)).min(cap),
            base_ms: escalated,
            outgrow_bytes: self.learned.outgrow_bytes(),
        }
    }

    /// A verdict of this kind was withdrawn after a fill: the next one is a new verdict (the
    /// doubling starts afresh) that must outlast the fill.
    pub fn learn(&mut self, fill: Fill) {
        self.learned = self.learned.max(fill);
        self.reports = 0;
    }

    /// Adds a sample to the evidence (bounded by the window); false if it was rejected.
    pub fn collect(&mut self, point: Point, config: &DetectorConfig) -> bool {
        if !self.evidence.push(point) {
            return false;
        }
        let required_ms = self.required_duration_ms(config);
        // The window widens with escalation, or escalated evidence could never be gathered.
        self.evidence.keep_recent(config.max_window_ms.max(required_ms));
        true
    }

    /// A report was made (by this rule or another on this memory kind): start afresh.
    pub fn reported(&mut self, end_ms: f64) {
        self.before = self.evidence.points.last().copied().or(self.before);
        self.evidence.clear();
        self.reports = self.reports.saturating_add(1);
        self.reported_until_ms = end_ms;
        self.suspicious = false;
    }

    /// Collects the sample and judges the evidence with the figures rule. `confirmable`:
    /// whether a probe could be made now (it is cheap).
    pub fn observe(&mut self, point: Point, config: &DetectorConfig, confirmable: bool) -> Option<LeakVerdict> {
        if !self.collect(point, config) {
            return None;
        }
        let verdict = self.assess(config, self.requirement(config));
        // With probing on, the last bucket of the window must hold a forced sample.
        let waived = !confirmable;
        let needs_confirmation =
            config.probe_interval_ms > 0.0 && !waived && !self.forced_in_last(buckets(config.rule));
        self.suspicious = verdict.is_some() && needs_confirmation;
        if self.suspicious {
            return None;
        }
        let verdict = verdict?;
        self.reported(verdict.end_ms);
        Some(verdict)
    }

    fn forced_in_last(&self, buckets: usize) -> bool {
        let points = &self.evidence.points;
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return false;
        };
        let from_ms = last.t_ms - (last.t_ms - first.t_ms) / buckets as f64;
        points.iter().rev().take_while(|p| p.t_ms >= from_ms).any(|p| p.forced)
    }

    /// Judges the whole evidence, then its more recent parts (see the module's doc).
    fn assess(&self, config: &DetectorConfig, required: Requirement) -> Option<LeakVerdict> {
        let points = &self.evidence.points;
        let (first, last) = (points.first()?.t_ms, points.last()?.t_ms);
        let mut tried = usize::MAX;
        required.starts(config.rule, first, last).find_map(|from| {
            let skip = points.partition_point(|p| p.t_ms < from);
            if std::mem::replace(&mut tried, skip) == skip {
                return None;
            }
            self.judge(config, required, &points[skip..], skip == 0)
        })
    }

    fn judge(
        &self,
        config: &DetectorConfig,
        required: Requirement,
        points: &[Point],
        whole: bool,
    ) -> Option<LeakVerdict> {
        let span = points.last()?.t_ms - points.first()?.t_ms;
        if points.len() < config.min_samples || span < required.ms.min(required.base_ms) {
            return None;
        }
        let (minima, min_share): (Vec<f64>, f64) = match config.rule {
            Rule::Legacy => (bucket_minima::<3>(points)?.to_vec(), MIN_RISE_SHARE_THIRDS),
            Rule::Adaptive => (bucket_minima::<4>(points)?.to_vec(), MIN_RISE_SHARE_QUARTERS),
        };
        let (start, end) = (minima[0], minima[minima.len() - 1]);
        let growth = end - start;
        let needed = config.min_growth_bytes.max(config.min_growth_ratio * start);
        let climbs = rises_steadily(&minima, min_share) && steepest_third_share(points) <= MAX_STEEPEST_THIRD_SHARE;
        if !climbs || growth < needed || !required.met(span, growth, whole) {
            return None;
        }
        let rate = theil_sen_per_sec(points);
        (rate > 0.0).then(|| self.verdict(config.rule, points, growth, rate, start, end))
    }

    fn verdict(
        &self,
        rule: Rule,
        points: &[Point],
        growth: f64,
        rate: f64,
        baseline_start: f64,
        baseline_end: f64,
    ) -> LeakVerdict {
        let start_ms = points.first().map_or(0.0, |p| p.t_ms);
        let end_ms = points.last().map_or(0.0, |p| p.t_ms);
        let forced_gcs = points.iter().filter(|p| p.forced).count();
        let window_ms = end_ms - start_ms;
        let mut signals = vec![figure_signal(self.kind)];
        if forced_gcs > 0 {
            signals.push(Signal::ForcedGcs);
        }
        LeakVerdict {
            id: 0,
            kind: self.kind,
            start_ms,
            end_ms,
            growth_bytes: growth,
            rate_bytes_per_sec: rate,
            window_ms,
            samples: super::count(points.len()),
            forced_gcs: super::count(forced_gcs),
            baseline_start,
            baseline_end,
            evidence: Evidence { rule, signals, survival: None },
            reason: describe_leak(self.kind, growth, window_ms, points.len(), rate, forced_gcs, buckets(rule)),
            sites: Vec::new(),
        }
    }
}

fn buckets(rule: Rule) -> usize {
    match rule {
        Rule::Legacy => 3,
        Rule::Adaptive => 4,
    }
}

pub(super) fn figure_signal(kind: MemoryKind) -> Signal {
    match kind {
        MemoryKind::Heap => Signal::HeapAfterGc,
        MemoryKind::External => Signal::ExternalAfterGc,
    }
}

/// Strictly rising from bucket to bucket, with no rise a mere sliver of the total.
fn rises_steadily(minima: &[f64], min_share: f64) -> bool {
    let total = minima[minima.len() - 1] - minima[0];
    minima.windows(2).all(|w| w[1] - w[0] > 0.0 && w[1] - w[0] >= min_share * total)
}

fn describe_leak(
    kind: MemoryKind,
    growth: f64,
    window_ms: f64,
    samples: usize,
    rate: f64,
    forced_gcs: usize,
    buckets: usize,
) -> String {
    let forced = match forced_gcs {
        0 => String::new(),
        1 => "; 1 forced GC".to_string(),
        n => format!("; {n} forced GCs"),
    };
    let part = if buckets == 4 { "quarter" } else { "third" };
    format!(
        "{} grew {} in {:.0}s over {} full GCs ({}/s; lower envelope rose in every {part} of the window{})",
        kind.noun(),
        human_bytes(growth),
        window_ms / 1000.0,
        samples,
        human_bytes(rate),
        forced
    )
}
