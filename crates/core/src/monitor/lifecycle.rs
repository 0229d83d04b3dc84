//! Verdicts with a lifecycle. A verdict is raised on evidence (a `leak` event with an `id`)
//! and stands while that evidence holds; when it stops holding it is **withdrawn** (a
//! `leakResolved`), so a dashboard or a pager shows a suspicion that resolved itself rather
//! than a standing false alarm.
//!
//! While a cache or a TTL store fills, its allocations all survive: nothing tells it from a
//! leak of the same rate until it stops growing. So after a verdict of one memory kind, that
//! kind's post-GC figure is followed over a trailing window as long as the verdict's own
//! evidence window (at least `min_duration_ms`), and longer where the samples are noisy: long
//! enough that the verdict's rate adds four times the samples' spread around their trend
//! (garbage a GC caught alive), so noise cannot hide a continuing leak. The verdict is
//! withdrawn once, over a full such window, the figure stopped climbing: its Theil–Sen slope
//! below a quarter of the verdict's rate and its lower envelope (the minima of its two halves) risen by less
//! than a quarter of what the verdict's rate would have added meanwhile. A leak that continues
//! keeps both near its rate, so a real leak does not flap.
//!
//! A survival verdict whose suspected allocations are mostly freed since (a cache evicting
//! them, a TTL expiring them: the sampler sees it directly) needs less: the same test over the
//! shortest window (`min_duration_ms`), since what it rested on is gone. A leak's allocations
//! stay alive, so this never withdraws one.
//!
//! The fill is then learnt: the time from the verdict's evidence start to when the figure
//! reached its plateau, and how much it grew meanwhile. The next verdict of that kind needs
//! evidence spanning at least 1.5 times that time, or growth of more than twice that amount,
//! so the same store refilling (a TTL, a config reload that doubles its cap) does not alarm
//! again, while a leak still does: later when it is as slow as the fill was, on time when it
//! soon outgrows what the store held (a leak that starts under a cache's churn).

use super::cohorts::SurvivalState;
use super::robust::{bucket_minima, theil_sen_per_sec, Point, Series};
use super::{human_bytes, DetectorConfig, LeakVerdict, MemoryKind};

/// The trailing slope must fall below this share of the verdict's rate...
const STOPPED_SLOPE_SHARE: f64 = 0.25;
/// ...and the envelope rise over the trailing window below this share of what the verdict's
/// rate would have added over it.
const STOPPED_RISE_SHARE: f64 = 0.25;
/// The trailing window must span this share of its length (samples are irregular).
const MIN_SPAN_SHARE: f64 = 0.9;
/// ...and hold at least this many samples (a big heap has a full GC every few seconds only:
/// the window then reaches further back).
const MIN_TRAILING_SAMPLES: usize = 6;
/// ...or this many when the suspected allocations are mostly freed (the sampler's evidence is
/// direct; a heap over ~10 MB has a natural full GC every few seconds only, and six of them
/// would reach back into the fill).
const MIN_FREED_SAMPLES: usize = 4;
/// The next verdict of the kind needs evidence this many times the learnt fill's duration...
const FILL_MARGIN: f64 = 1.5;
/// ...or growth this many times what the store grew (a reload that doubles a cap refills as
/// much as the first fill: twice that is more than the store known to the detector holds).
const FILL_OUTGROW: f64 = 2.0;
/// Samples kept per standing verdict.
const MAX_POINTS: usize = 2048;
/// The trailing window spans at least this many times the samples' spread over the rate.
const NOISE_SPANS: f64 = 4.0;
/// The trailing window's longest (the detector's longest escalated window).
const MAX_TRAILING_MS: f64 = 10.0 * 60_000.0;
/// A survival verdict whose suspected allocations lost at least this share since is judged
/// over the shortest window.
const FREED_FAST_SHARE: f64 = 0.5;

/// A survival verdict is withdrawn when the allocations of a recent window keep less than
/// `STOPPED_RISE_SHARE` of what its rate would add, over a window long enough for its rate to
/// add this share of `min_growth_bytes` (16 samples at the default interval and threshold).
const QUIET_EXPECTED_SHARE: f64 = 0.5;

/// A verdict withdrawn (JS turns the times into Dates).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "MonitorResolution"))]
pub struct LeakResolution {
    pub id: u32,
    pub kind: MemoryKind,
    /// When the verdict was raised (its first report) and when it is withdrawn.
    pub raised_ms: f64,
    pub resolved_ms: f64,
    /// The post-GC figure where the growth stopped (its lower envelope over the trailing window).
    pub plateau_bytes: f64,
    /// When the figure reached that plateau.
    pub stopped_ms: f64,
    /// Share of what the verdict suspected that has been freed since (survival verdicts:
    /// their cohorts' live bytes; figures verdicts: the fall of the envelope from its peak
    /// over the growth it suspected); 0 when nothing was freed.
    pub freed_share: f64,
    /// The trailing window's slope (bytes/s) and length.
    pub trailing_rate: f64,
    pub trailing_window_ms: f64,
    /// How long the growth lasted (from the verdict's evidence start to the plateau), and the
    /// evidence the next verdict of this kind needs from now on.
    pub fill_ms: f64,
    pub next_required_ms: f64,
    /// What the figure grew over the fill, and the growth that lets the next verdict of this
    /// kind come sooner than `next_required_ms` (see `Fill`).
    pub fill_bytes: f64,
    pub next_outgrow_bytes: f64,
    pub reason: String,
}

/// A fill learnt from a withdrawn verdict: how long the store grew, and by how much.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Fill {
    pub ms: f64,
    pub bytes: f64,
}

impl Fill {
    /// The evidence the next verdict needs: this long...
    pub fn required_ms(&self, config: &DetectorConfig) -> f64 {
        if self.ms > 0.0 {
            (FILL_MARGIN * self.ms).max(config.min_duration_ms)
        } else {
            0.0
        }
    }

    /// ...unless it grew this much (infinite when nothing was learnt).
    pub fn outgrow_bytes(&self) -> f64 {
        if self.bytes > 0.0 {
            FILL_OUTGROW * self.bytes
        } else {
            f64::INFINITY
        }
    }

    /// Both fills' demands: the longer time and the larger amount.
    pub fn max(self, other: Fill) -> Fill {
        Fill { ms: self.ms.max(other.ms), bytes: self.bytes.max(other.bytes) }
    }
}

/// A verdict that stands.
#[derive(Debug, Clone)]
struct Standing {
    id: u32,
    kind: MemoryKind,
    raised_ms: f64,
    evidence_start_ms: f64,
    rate: f64,
    window_ms: f64,
    /// What the verdict suspected: retained bytes (survival) or the envelope's rise.
    suspected_bytes: f64,
    /// The figure's lower envelope at the verdict's evidence start.
    base: f64,
    /// Survival verdicts: the window of the suspected cohorts.
    cohorts: Option<(f64, f64)>,
    /// Post-GC samples of the kind since the raise.
    points: Series,
    /// Highest lower-envelope value seen since the raise (a trailing quarter's minimum).
    peak: f64,
}

/// The standing verdicts (at most one per memory kind) and what withdrawals taught.
#[derive(Debug, Clone, Default)]
pub(super) struct Lifecycle {
    next_id: u32,
    standing: Vec<Standing>,
    resolved: Vec<LeakResolution>,
}

impl Lifecycle {
    /// Gives `verdict` its id: the standing verdict's of that kind when one stands (a
    /// continuing leak re-reported), else a new one.
    pub fn raise(&mut self, verdict: &mut LeakVerdict) {
        if let Some(s) = self.standing.iter_mut().find(|s| s.kind == verdict.kind) {
            verdict.id = s.id;
            s.rate = verdict.rate_bytes_per_sec;
            s.window_ms = s.window_ms.max(verdict.window_ms);
            return;
        }
        self.next_id = self.next_id.saturating_add(1);
        verdict.id = self.next_id;
        let cohorts = verdict.evidence.survival.map(|_| (verdict.start_ms, verdict.end_ms));
        self.standing.push(Standing {
            id: self.next_id,
            kind: verdict.kind,
            raised_ms: verdict.end_ms,
            evidence_start_ms: verdict.start_ms,
            rate: verdict.rate_bytes_per_sec,
            window_ms: verdict.window_ms,
            suspected_bytes: verdict.growth_bytes,
            base: verdict.baseline_start,
            cohorts,
            points: Series::default(),
            peak: verdict.baseline_end,
        });
    }

    /// Ids of the verdicts standing now, by kind.
    pub fn standing(&self) -> impl Iterator<Item = (u32, MemoryKind)> + '_ {
        self.standing.iter().map(|s| (s.id, s.kind))
    }

    /// Withdrawals since the last call.
    pub fn take_resolved(&mut self) -> Vec<LeakResolution> {
        std::mem::take(&mut self.resolved)
    }

    /// A post-GC sample of `kind`: judges the standing verdict of that kind. `survival`: what
    /// the sampler sees now (survival verdicts' freed share, and what allocations since the
    /// verdict keep). Returns the fill learnt when the verdict was withdrawn.
    pub fn observe(
        &mut self,
        kind: MemoryKind,
        point: Point,
        config: &DetectorConfig,
        survival: &SurvivalState,
    ) -> Option<Fill> {
        let live_of = |from: f64, to: f64| survival.live_between(from, to);
        let at = self.standing.iter().position(|s| s.kind == kind)?;
        let s = &mut self.standing[at];
        if point.t_ms < s.raised_ms || !s.points.push(point) {
            return None;
        }
        s.points.keep_recent(MAX_TRAILING_MS);
        let excess = s.points.points.len().saturating_sub(MAX_POINTS);
        s.points.points.drain(..excess);
        let noise_ms =
            if s.rate > 0.0 { NOISE_SPANS * spread(&s.points.points, s.rate) / s.rate * 1000.0 } else { 0.0 };
        let freed = s.suspected_bytes > 0.0
            && s.cohorts
                .and_then(|(from, to)| live_of(from, to))
                .is_some_and(|live| 1.0 - live / s.suspected_bytes >= FREED_FAST_SHARE);
        let min_samples = if freed { MIN_FREED_SAMPLES } else { MIN_TRAILING_SAMPLES }.max(config.min_samples);
        let trailing_ms = if freed {
            config.min_duration_ms
        } else {
            s.window_ms.max(config.min_duration_ms).max(noise_ms).min(MAX_TRAILING_MS)
        };
        let from_ms = point.t_ms - trailing_ms;
        let all = &s.points.points;
        // From the last sample at or before the window's start (samples are irregular).
        let first =
            all.partition_point(|p| p.t_ms <= from_ms).saturating_sub(1).min(all.len().saturating_sub(min_samples));
        let points = &all[first..];
        let span = points.last().map_or(0.0, |l| l.t_ms - points[0].t_ms);
        // The sampler's direct view (survival verdicts): what the most recent allocations keep,
        // over a window in which the verdict's rate adds at least `QUIET_EXPECTED_SHARE` of
        // `min_growth_bytes` (enough samples that chance cannot empty it) and at least
        // `min_duration_ms`. A leak keeps adding at its rate; a store that stopped growing adds
        // (nearly) nothing, however noisy the post-GC figures (a service whose bursts a GC
        // catches in flight or not would need minutes of them to show a plateau).
        let quiet_ms = if s.rate > 0.0 {
            config.min_duration_ms.max(QUIET_EXPECTED_SHARE * config.min_growth_bytes / s.rate * 1000.0)
        } else {
            f64::INFINITY
        };
        // Only once the window lies after the verdict's evidence began (what it suspected is
        // judged on allocations made since).
        let quiet = s.cohorts.and_then(|_| survival.retained_recently(quiet_ms)).filter(|&(live, from)| {
            from >= s.evidence_start_ms && live < STOPPED_RISE_SHARE * s.rate * quiet_ms / 1000.0
        });
        let (slope, plateau, trailing) = if quiet.is_some() {
            // Withdrawn on the sampler's evidence: the figure's plateau is its lowest since the
            // raise (a GC may catch work in flight), its slope over those samples.
            let since: Vec<Point> = all.iter().copied().filter(|p| p.t_ms >= s.raised_ms).collect();
            let low = since.iter().map(|p| p.value).fold(f64::INFINITY, f64::min);
            let slope = if since.len() >= 2 { theil_sen_per_sec(&since) } else { 0.0 };
            (slope, if low.is_finite() { low } else { point.value }, quiet_ms)
        } else {
            if points.len() < min_samples || span < MIN_SPAN_SHARE * trailing_ms {
                return None;
            }
            // Halves, not quarters: sparse samples leave no half empty.
            let minima = bucket_minima::<2>(points)?;
            s.peak = s.peak.max(minima[1]);
            let slope = theil_sen_per_sec(points);
            let rise = minima[1] - minima[0];
            let expected = s.rate * span / 1000.0;
            let stopped = slope < STOPPED_SLOPE_SHARE * s.rate && rise < STOPPED_RISE_SHARE * expected;
            if !stopped {
                return None;
            }
            (slope, minima[1], span.max(trailing_ms))
        };
        let s = self.standing.remove(at);
        let resolution = withdraw(&s, point.t_ms, slope, plateau, trailing, config, live_of);
        let fill = Fill { ms: resolution.fill_ms, bytes: resolution.fill_bytes };
        self.resolved.push(resolution);
        Some(fill)
    }
}

/// How far samples stray from their trend (garbage a GC caught alive): the 90th percentile of
/// the change between consecutive samples beyond what either trend explains, flat or growing at
/// `rate` (whichever is closer: the figure may have levelled off), over sqrt 2 (the change holds
/// two samples' noise). 0 with fewer than 8 samples.
fn spread(points: &[Point], rate: f64) -> f64 {
    if points.len() < 8 {
        return 0.0;
    }
    let mut changes: Vec<f64> = points
        .windows(2)
        .map(|w| {
            let change = w[1].value - w[0].value;
            change.abs().min((change - rate * (w[1].t_ms - w[0].t_ms) / 1000.0).abs())
        })
        .collect();
    changes.sort_by(f64::total_cmp);
    changes[(changes.len() * 9 / 10).min(changes.len() - 1)] / std::f64::consts::SQRT_2
}

fn withdraw(
    s: &Standing,
    now_ms: f64,
    slope: f64,
    plateau: f64,
    trailing_ms: f64,
    config: &DetectorConfig,
    live_of: impl Fn(f64, f64) -> Option<f64>,
) -> LeakResolution {
    // The first sample since the raise that reached the plateau (within the samples' spread);
    // before the raise, the growth was still on (the verdict saw it).
    let tolerance = spread(&s.points.points, s.rate);
    let stopped_ms = s
        .points
        .points
        .iter()
        .find(|p| p.value >= plateau - tolerance)
        .map_or(s.raised_ms, |p| p.t_ms)
        .max(s.raised_ms);
    let fill_ms = (stopped_ms - s.evidence_start_ms).max(0.0);
    let fill_bytes = (plateau - s.base).max(s.suspected_bytes).max(0.0);
    let fill = Fill { ms: fill_ms, bytes: fill_bytes };
    let next_required_ms = fill.required_ms(config);
    let next_outgrow_bytes = fill.outgrow_bytes();
    let freed = match s.cohorts.and_then(|(from, to)| live_of(from, to)) {
        Some(live) if s.suspected_bytes > 0.0 => (1.0 - live / s.suspected_bytes).clamp(0.0, 1.0),
        _ if s.suspected_bytes > 0.0 => ((s.peak - plateau) / s.suspected_bytes).clamp(0.0, 1.0),
        _ => 0.0,
    };
    let noun = match s.kind {
        MemoryKind::Heap => "the heap",
        MemoryKind::External => "external memory",
    };
    let freed_text = if freed >= 0.05 {
        format!("; {:.0}% of what was suspected has been freed since", freed * 100.0)
    } else {
        String::new()
    };
    let reason = format!(
        "growth stopped: {noun} levelled off at {} after growing for {:.0}s, and grew {}/s over the last {:.0}s (the verdict's rate was {}/s){freed_text}: a cache or a store that filled? The next verdict on {noun} needs {:.0}s of growth, or more than {}",
        human_bytes(plateau),
        fill_ms / 1000.0,
        human_bytes(slope.max(0.0)),
        trailing_ms / 1000.0,
        human_bytes(s.rate),
        next_required_ms / 1000.0,
        human_bytes(next_outgrow_bytes),
    );
    LeakResolution {
        id: s.id,
        kind: s.kind,
        raised_ms: s.raised_ms,
        resolved_ms: now_ms,
        plateau_bytes: plateau,
        stopped_ms,
        freed_share: freed,
        trailing_rate: slope,
        trailing_window_ms: trailing_ms,
        fill_ms,
        next_required_ms,
        fill_bytes,
        next_outgrow_bytes,
        reason,
    }
}
