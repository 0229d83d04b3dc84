//! The live sampler's memory across reads of V8's sampling heap profile.
//!
//! Each read lists the samples still alive, each with its allocation `ordinal` (V8
//! numbers samples in allocation order). A sample alive at one read either stays alive
//! or dies; it never reappears. So the largest ordinal seen by read *k−1*, `M(k−1)`,
//! splits the samples of read *k* into those allocated before read *k−1* and those
//! allocated since, without keeping any sample between reads.
//!
//! * Cohorts: the samples with ordinals in `(M(k−1), M(k)]` are the allocations of the
//!   interval between two reads. Each later read tells how much of each cohort is still
//!   alive ([`SurvivalReading`], the detector's input). Cohorts are bounded in number:
//!   beyond `max_cohorts` the adjacent pair spanning the least time is merged.
//! * Sites: samples grouped by allocation stack (the allocating frame and up to
//!   `stack_depth − 1` callers). A site's *settled* bytes at read *k* are its live
//!   samples allocated before read *k−1*: they have outlived at least one whole read
//!   period, so garbage the collector has not reached yet rarely counts. The window is
//!   the last `window_reads` reads; a site is *growing* when its settled bytes rose over
//!   the window by more than sampling noise, and still rose over the window's second
//!   half, and some of its samples allocated inside the window survive. Leak sites are
//!   the growing sites ranked by those surviving bytes. A cache that has filled up
//!   replaces old entries with new ones: its settled bytes stay flat, so it stops
//!   being a site one window after it is full.
//!
//! Memory: at most `max_sites` sites (each a short history of `window_reads` numbers),
//! `max_cohorts` cohorts, and the frames the kept sites use.

use super::frames::{headline, Frame, FrameKind};
use super::profile::{HeapProfile, ProfileNode};
use crate::survival::{CohortSurvival, SurvivalReading};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq)]
pub struct SamplerConfig {
    /// The `samplingInterval` asked of V8 (bytes): the size of one sample of a small object.
    pub interval: f64,
    /// Frames per site: the allocating frame and its callers.
    pub stack_depth: usize,
    /// Reads in the sliding window that growth is judged over (at least 2).
    pub window_reads: usize,
    pub max_cohorts: usize,
    pub max_sites: usize,
    /// Where leakwatch's own code lives (path or URL prefixes): what it allocates itself (its
    /// bounded state, the figures it reads, code it compiles on first use) is neither an app's
    /// leak site nor evidence of one. A sample is leakwatch's when the frame nearest to the
    /// allocation that is not Node's or the engine's is under one of these.
    pub own_code: Vec<String>,
}

impl Default for SamplerConfig {
    /// The one place of the sampler's defaults (the JS options take theirs from here): V8's
    /// and DevTools' own sampling interval (32 KiB), 8 frames per site, a window of 6 reads.
    fn default() -> Self {
        SamplerConfig {
            interval: 32.0 * 1024.0,
            stack_depth: 8,
            window_reads: 6,
            max_cohorts: 32,
            max_sites: 512,
            own_code: Vec::new(),
        }
    }
}

/// The sampler's settings as JS gives them: every field optional, `SamplerConfig::default()`
/// where one is missing; `SamplerOptions::defaults()` fills every field (JS's defaults).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SamplerOptions {
    /// Bytes between samples on average (V8's samplingInterval). Default 32768.
    pub interval: Option<f64>,
    /// Frames per site: the allocating function and its callers. Default 8 (V8 honours it from
    /// Node 26; older versions keep 128 and leakwatch cuts).
    pub stack_depth: Option<u32>,
    /// Reads in the window growth is judged over. Default 6.
    pub window_reads: Option<u32>,
    pub max_cohorts: Option<u32>,
    pub max_sites: Option<u32>,
    /// Where leakwatch's own code lives (path and URL prefixes): its allocations are left out
    /// (`SamplerConfig::own_code`).
    pub own_code: Option<Vec<String>>,
}

impl SamplerOptions {
    /// Every option at its default.
    pub fn defaults() -> Self {
        let d = SamplerConfig::default();
        let n = |v: usize| Some(u32::try_from(v).unwrap_or(u32::MAX));
        SamplerOptions {
            interval: Some(d.interval),
            stack_depth: n(d.stack_depth),
            window_reads: n(d.window_reads),
            max_cohorts: n(d.max_cohorts),
            max_sites: n(d.max_sites),
            own_code: Some(d.own_code),
        }
    }
}

impl From<&SamplerOptions> for SamplerConfig {
    fn from(options: &SamplerOptions) -> Self {
        let d = SamplerConfig::default();
        SamplerConfig {
            interval: options.interval.unwrap_or(d.interval),
            stack_depth: options.stack_depth.map_or(d.stack_depth, |n| n as usize),
            window_reads: options.window_reads.map_or(d.window_reads, |n| n as usize),
            max_cohorts: options.max_cohorts.map_or(d.max_cohorts, |n| n as usize),
            max_sites: options.max_sites.map_or(d.max_sites, |n| n as usize),
            own_code: options.own_code.clone().unwrap_or_default(),
        }
    }
}

/// The size of the sampler's own state.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct Footprint {
    /// Reads taken since the last reset.
    pub reads: f64,
    pub sites: f64,
    pub cohorts: f64,
    /// Distinct frames interned.
    pub frames: f64,
}

/// Cohorts always kept apart from merging: the newest few, which the detector watches.
const KEEP_RECENT_COHORTS: usize = 4;
/// Growth must exceed this many samples' worth, and this many standard deviations of the
/// sampling noise (see `SamplerState::noise`), to count.
const MIN_GROWTH_SAMPLES: f64 = 3.0;
const NOISE_SIGMAS: f64 = 3.0;

#[derive(Debug, Clone)]
struct Cohort {
    /// Ordinals up to `hi`, after the previous cohort's `hi` (cohorts are contiguous).
    hi: f64,
    start_ms: f64,
    end_ms: f64,
    first: f64,
    peak: f64,
    live: f64,
}

/// One read: when, and the ordinal boundaries it had.
#[derive(Debug, Clone, Copy)]
struct Mark {
    read: u64,
    at_ms: f64,
    /// `M(k)`: the largest ordinal seen up to this read.
    boundary: f64,
    /// `M(k−1)`; `None` on the first read after a start or reset.
    previous: Option<f64>,
    /// Time of read k−1 (or the start).
    previous_ms: f64,
}

#[derive(Debug, Clone, Default)]
struct SiteState {
    /// (read number, settled bytes), oldest first, reads of the window only.
    history: VecDeque<(u64, f64)>,
    live: f64,
    window: f64,
    samples: u32,
}

/// A leak site (or, in a full listing, any allocation stack with live samples).
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The allocating frame first, then its callers.
    pub frames: Vec<Frame>,
    /// Index in `frames` of the frame that names the site (the first app frame).
    pub headline: usize,
    /// Estimated live bytes allocated by this stack, now.
    pub live_bytes: f64,
    /// Estimated live bytes allocated since the window began that outlived a read period.
    pub window_bytes: f64,
    /// Growth of the settled bytes since the window began.
    pub growth_bytes: f64,
    /// Live samples now.
    pub samples: u32,
    pub growing: bool,
}

/// The sites at one read.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub at_ms: f64,
    /// When the window began (the read that fixed its start boundary).
    pub window_start_ms: f64,
    pub reads: u64,
    pub sites: Vec<Site>,
}

#[derive(Debug, Clone)]
pub struct SamplerState {
    config: SamplerConfig,
    start_ms: f64,
    frames: Vec<Frame>,
    frame_ids: FxHashMap<Frame, u32>,
    sites: FxHashMap<Box<[u32]>, SiteState>,
    cohorts: Vec<Cohort>,
    /// The settled reads of the window (sites are judged on those only).
    marks: VecDeque<Mark>,
    read: u64,
    /// The latest read, settled or not (cohort boundaries).
    last: Option<Mark>,
    /// The latest settled read (the sites' ranking).
    last_settled: Option<Mark>,
}

/// Per-read totals of one stack.
#[derive(Default, Clone, Copy)]
struct Tally {
    live: f64,
    settled: f64,
    window: f64,
    samples: u32,
}

impl SamplerState {
    pub fn new(config: SamplerConfig, start_ms: f64) -> SamplerState {
        let config = SamplerConfig {
            interval: if config.interval > 0.0 { config.interval } else { SamplerConfig::default().interval },
            stack_depth: config.stack_depth.clamp(1, 128),
            window_reads: config.window_reads.max(2),
            max_cohorts: config.max_cohorts.max(KEEP_RECENT_COHORTS + 2),
            max_sites: config.max_sites.max(1),
            own_code: config.own_code.into_iter().filter(|prefix| !prefix.is_empty()).collect(),
        };
        SamplerState {
            config,
            start_ms,
            frames: Vec::new(),
            frame_ids: FxHashMap::default(),
            sites: FxHashMap::default(),
            cohorts: Vec::new(),
            marks: VecDeque::new(),
            read: 0,
            last: None,
            last_settled: None,
        }
    }

    /// Forget everything: the profiler was restarted, so ordinals start again.
    pub fn reset(&mut self, at_ms: f64) {
        *self = SamplerState::new(self.config.clone(), at_ms);
    }

    pub fn reads(&self) -> u64 {
        self.read
    }

    /// Sizes of the sampler's own state.
    pub fn footprint(&self) -> Footprint {
        Footprint {
            reads: self.read as f64,
            sites: self.sites.len() as f64,
            cohorts: self.cohorts.len() as f64,
            frames: self.frames.len() as f64,
        }
    }

    fn intern(&mut self, frame: Frame) -> u32 {
        if let Some(&id) = self.frame_ids.get(&frame) {
            return id;
        }
        let id = self.frames.len() as u32;
        self.frames.push(frame.clone());
        self.frame_ids.insert(frame, id);
        id
    }

    /// Node id -> key (frame ids, allocating frame first) for every node of the tree.
    fn stack_keys(&mut self, head: &ProfileNode) -> FxHashMap<u64, Box<[u32]>> {
        let depth = self.config.stack_depth;
        let mut keys = FxHashMap::default();
        let mut path: Vec<u32> = Vec::new();
        // Iterative walk: (node, its depth below the root).
        let mut pending: Vec<(&ProfileNode, usize)> = head.children.iter().rev().map(|c| (c, 0)).collect();
        while let Some((node, level)) = pending.pop() {
            path.truncate(level);
            let id = self.intern(Frame::from_call_frame(&node.call_frame));
            path.push(id);
            let key: Box<[u32]> = site_key(&path, depth, |&id| self.frames[id as usize].kind == FrameKind::Engine);
            keys.insert(node.id, key);
            pending.extend(node.children.iter().rev().map(|c| (c, level + 1)));
        }
        keys
    }

    /// Take one read of the profile at `at_ms`, taken right after a full GC (every live
    /// sample is a live object); returns the cohorts' survival.
    pub fn ingest(&mut self, profile: &HeapProfile, at_ms: f64) -> SurvivalReading {
        self.take(profile, at_ms, true)
    }

    /// Take a read made between full GCs, where samples of objects that died since the last
    /// one are still in the profile: it ends a cohort and updates the cohorts' live bytes
    /// (which the detector only judges at settled reads), but leaves the sites alone: dead
    /// objects the collector has not reached would look like growth.
    pub fn ingest_unsettled(&mut self, profile: &HeapProfile, at_ms: f64) -> SurvivalReading {
        self.take(profile, at_ms, false)
    }

    /// Ids of the nodes whose allocations are leakwatch's own (see `SamplerConfig::own_code`).
    fn own_nodes(&self, head: &ProfileNode) -> FxHashSet<u64> {
        let mut own = FxHashSet::default();
        if self.config.own_code.is_empty() {
            return own;
        }
        // (node, whether the nearest app or dependency frame at or above it is leakwatch's)
        let mut pending: Vec<(&ProfileNode, bool)> = head.children.iter().map(|c| (c, false)).collect();
        while let Some((node, above)) = pending.pop() {
            let url = &node.call_frame.url;
            let mine = match FrameKind::of(url) {
                FrameKind::App | FrameKind::Dependency => {
                    self.config.own_code.iter().any(|p| url.starts_with(p.as_str()))
                }
                FrameKind::Internal | FrameKind::Engine => above,
            };
            if mine {
                own.insert(node.id);
            }
            pending.extend(node.children.iter().map(|c| (c, mine)));
        }
        own
    }

    fn take(&mut self, profile: &HeapProfile, at_ms: f64, settled: bool) -> SurvivalReading {
        self.read += 1;
        let read = self.read;
        let keys = if settled { self.stack_keys(&profile.head) } else { FxHashMap::default() };
        let own = self.own_nodes(&profile.head);
        let previous = self.last.map(|m| m.boundary);
        let previous_ms = self.last.map_or(self.start_ms, |m| m.at_ms);
        let max_ordinal = profile.samples.iter().map(|s| s.ordinal).fold(f64::NEG_INFINITY, f64::max);
        let boundary = match previous {
            Some(p) => p.max(max_ordinal),
            None => max_ordinal.max(0.0),
        };
        let mark = Mark { read, at_ms, boundary, previous, previous_ms };
        // A sample is settled at a settled read when it was allocated before the previous read
        // (settled or not: it outlived a read period, and survived the full GC just run), or
        // before the epoch began on the first read (ordinals count from 1). A large heap's
        // first natural full GCs come seconds apart, and a verdict may come at the second
        // settled read: its sites must be known then, from what was allocated since the first.
        let site_previous = previous.or(Some(0.0));
        let site_mark =
            Mark { previous: site_previous, previous_ms: self.last_settled.map_or(previous_ms, |m| m.at_ms), ..mark };
        // The window starts at the oldest kept settled read that had a previous boundary.
        if settled {
            self.marks.push_back(site_mark);
            while self.marks.len() > self.config.window_reads {
                self.marks.pop_front();
            }
        }
        let window_start = self.marks.iter().find(|m| m.previous.is_some()).copied();
        let window_lo = window_start.and_then(|m| m.previous);

        // Tally samples per stack and per cohort.
        let mut tallies: FxHashMap<&[u32], Tally> = FxHashMap::default();
        let mut cohort_live = vec![0.0; self.cohorts.len()];
        let mut new_cohort = 0.0;
        for sample in profile.samples.iter().filter(|s| !own.contains(&s.node_id)) {
            let size = if sample.size.is_finite() && sample.size > 0.0 { sample.size } else { 0.0 };
            let old = previous.is_some_and(|p| sample.ordinal <= p);
            if old {
                let i =
                    self.cohorts.partition_point(|c| c.hi < sample.ordinal).min(self.cohorts.len().saturating_sub(1));
                if let Some(slot) = cohort_live.get_mut(i) {
                    *slot += size;
                }
            } else {
                new_cohort += size;
            }
            let Some(key) = keys.get(&sample.node_id) else { continue };
            let tally = tallies.entry(key).or_default();
            tally.live += size;
            tally.samples += 1;
            if site_previous.is_some_and(|p| sample.ordinal <= p) {
                tally.settled += size;
                if window_lo.is_some_and(|w| sample.ordinal > w) {
                    tally.window += size;
                }
            }
        }

        // Cohorts: update the old ones, add this interval's.
        for (cohort, live) in self.cohorts.iter_mut().zip(cohort_live) {
            cohort.live = live;
            cohort.peak = cohort.peak.max(live);
        }
        self.cohorts.push(Cohort {
            hi: boundary,
            start_ms: previous_ms,
            end_ms: at_ms,
            first: new_cohort,
            peak: new_cohort,
            live: new_cohort,
        });
        self.merge_cohorts();

        self.last = Some(mark);
        if !settled {
            return self.survival();
        }
        self.last_settled = Some(site_mark);

        // Sites: settled history from the second read on (the first has no boundary).
        let oldest_read = self.marks.front().map_or(read, |m| m.read);
        let mut seen: FxHashMap<Box<[u32]>, Tally> = FxHashMap::default();
        for (key, tally) in tallies {
            seen.insert(key.into(), tally);
        }
        for (key, tally) in &seen {
            let site = self.sites.entry(key.clone()).or_default();
            site.live = tally.live;
            site.window = tally.window;
            site.samples = tally.samples;
            if site_previous.is_some() {
                site.history.push_back((read, tally.settled));
            }
        }
        self.sites.retain(|key, site| {
            if !seen.contains_key(key) {
                site.live = 0.0;
                site.window = 0.0;
                site.samples = 0;
                site.history.push_back((read, 0.0));
            }
            while site.history.front().is_some_and(|&(r, _)| r < oldest_read) {
                site.history.pop_front();
            }
            site.live > 0.0 || site.history.iter().any(|&(_, v)| v > 0.0)
        });
        self.bound_sites(window_start.map(|m| m.read));
        self.compact_frames();
        self.survival()
    }

    /// Merge the adjacent pair of older cohorts that spans the least time until at most
    /// `max_cohorts` remain. Bytes are added; a merged peak is the sum of the peaks (an
    /// upper bound: the parts may have peaked at different reads).
    fn merge_cohorts(&mut self) {
        while self.cohorts.len() > self.config.max_cohorts {
            let candidates = self.cohorts.len() - KEEP_RECENT_COHORTS;
            let i = (0..candidates - 1)
                .min_by(|&a, &b| {
                    let span = |i: usize| self.cohorts[i + 1].end_ms - self.cohorts[i].start_ms;
                    span(a).total_cmp(&span(b))
                })
                .unwrap_or(0);
            let next = self.cohorts.remove(i + 1);
            let c = &mut self.cohorts[i];
            c.hi = next.hi;
            c.end_ms = next.end_ms;
            c.first += next.first;
            c.peak += next.peak;
            c.live += next.live;
        }
    }

    /// Keep at most `max_sites`: those with the most live or growing bytes.
    fn bound_sites(&mut self, window_read: Option<u64>) {
        if self.sites.len() <= self.config.max_sites {
            return;
        }
        let mut scored: Vec<(f64, Box<[u32]>)> =
            self.sites.iter().map(|(key, site)| (site.live.max(growth_of(site, window_read)), key.clone())).collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, key) in scored.drain(self.config.max_sites..) {
            self.sites.remove(&key);
        }
    }

    /// Drop frames no kept site uses once the table is well past what the sites need.
    fn compact_frames(&mut self) {
        let needed = self.config.max_sites * self.config.stack_depth;
        if self.frames.len() <= 2 * needed + 1024 {
            return;
        }
        let mut remap: FxHashMap<u32, u32> = FxHashMap::default();
        let mut frames = Vec::new();
        let sites = std::mem::take(&mut self.sites);
        for (key, site) in sites {
            let key: Box<[u32]> = key
                .iter()
                .map(|&old| {
                    *remap.entry(old).or_insert_with(|| {
                        frames.push(self.frames[old as usize].clone());
                        frames.len() as u32 - 1
                    })
                })
                .collect();
            self.sites.insert(key, site);
        }
        self.frame_ids = frames.iter().cloned().enumerate().map(|(i, f)| (f, i as u32)).collect();
        self.frames = frames;
    }

    /// The cohorts' survival as of the latest read.
    pub fn survival(&self) -> SurvivalReading {
        SurvivalReading {
            at_ms: self.last.map_or(self.start_ms, |m| m.at_ms),
            cohorts: self
                .cohorts
                .iter()
                .map(|c| CohortSurvival {
                    start_ms: c.start_ms,
                    end_ms: c.end_ms,
                    first_bytes: c.first,
                    peak_bytes: c.peak,
                    live_bytes: c.live,
                })
                .collect(),
        }
    }

    fn window_start(&self) -> Option<Mark> {
        self.marks.iter().find(|m| m.previous.is_some()).copied()
    }

    /// Growth needed to tell a site's rise from sampling noise. Samples that stay alive
    /// add no noise; what varies is turnover: the samples born in the window that
    /// survive (`born`) and the baseline's samples that died (`died`), each a Poisson
    /// count. The rise must exceed a few samples and three standard deviations of that.
    fn noise(&self, born: f64, died: f64) -> f64 {
        let interval = self.config.interval;
        interval * MIN_GROWTH_SAMPLES.max(NOISE_SIGMAS * ((born + died).max(0.0) / interval).sqrt())
    }

    /// Leak sites (growing, ranked by surviving window bytes), or with `all` every stack
    /// with live samples ranked by live bytes. At most `limit` (0 = no limit).
    pub fn ranking(&self, limit: usize, all: bool) -> Ranking {
        let window = self.window_start();
        let window_read = window.map(|m| m.read);
        let mid_read = window.map(|w| {
            let last = self.last_settled.map_or(w.read, |m| m.read);
            w.read + (last - w.read) / 2
        });
        let mut sites: Vec<Site> = self
            .sites
            .iter()
            .filter_map(|(key, site)| {
                let growth = growth_of(site, window_read);
                let baseline = settled_at(site, window_read);
                let now = site.history.back().map_or(0.0, |&(_, v)| v);
                let recent = now - settled_at(site, mid_read);
                let died = (baseline - (now - site.window)).max(0.0);
                let growing = window.is_some_and(|w| Some(w.read) != self.last_settled.map(|m| m.read))
                    && site.window > 0.0
                    && growth >= self.noise(site.window, died)
                    && recent > 0.0;
                if !(growing || (all && site.live > 0.0)) {
                    return None;
                }
                let frames: Vec<Frame> = key.iter().map(|&id| self.frames[id as usize].clone()).collect();
                Some(Site {
                    headline: headline(&frames),
                    frames,
                    live_bytes: site.live,
                    window_bytes: site.window,
                    growth_bytes: growth,
                    samples: site.samples,
                    growing,
                })
            })
            .collect();
        if all {
            sites.sort_by(|a, b| b.live_bytes.total_cmp(&a.live_bytes).then_with(|| a.frames.cmp_key(&b.frames)));
        } else {
            sites.sort_by(|a, b| b.window_bytes.total_cmp(&a.window_bytes).then_with(|| a.frames.cmp_key(&b.frames)));
        }
        if limit > 0 {
            sites.truncate(limit);
        }
        Ranking {
            at_ms: self.last_settled.map_or(self.start_ms, |m| m.at_ms),
            window_start_ms: window.map_or(self.start_ms, |m| m.previous_ms),
            reads: self.read,
            sites,
        }
    }
}

/// A site's frames from a root-first `path`: the allocating frame and its callers, at
/// most `depth`. Engine frames at the allocating end (builtins such as
/// `String.prototype.repeat`, `(V8 API)`) are left out, so an app function's
/// allocations form one site whether or not a builtin made the object.
pub(crate) fn site_key<T: Copy>(path: &[T], depth: usize, engine: impl Fn(&T) -> bool) -> Box<[T]> {
    let key: Box<[T]> = path.iter().rev().skip_while(|f| engine(f)).take(depth).copied().collect();
    if key.is_empty() {
        path.iter().rev().take(depth).copied().collect()
    } else {
        key
    }
}

/// Settled bytes of a site at `read` (0 when it had none recorded then).
fn settled_at(site: &SiteState, read: Option<u64>) -> f64 {
    let Some(read) = read else { return 0.0 };
    site.history.iter().find(|&&(r, _)| r == read).map_or(0.0, |&(_, v)| v)
}

fn growth_of(site: &SiteState, window_read: Option<u64>) -> f64 {
    site.history.back().map_or(0.0, |&(_, v)| v) - settled_at(site, window_read)
}

/// A deterministic order for sites with equal bytes.
trait FramesKey {
    fn cmp_key(&self, other: &Self) -> std::cmp::Ordering;
}

impl FramesKey for Vec<Frame> {
    fn cmp_key(&self, other: &Self) -> std::cmp::Ordering {
        let key = |frames: &Vec<Frame>| {
            frames.iter().map(|f| (f.url.clone(), f.line, f.column, f.function_name.clone())).collect::<Vec<_>>()
        };
        key(self).cmp(&key(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::profile::{CallFrame, Sample};

    /// A tiny simulated process: functions (name -> node id under the root, with one
    /// caller), and live samples we add and kill like V8 would.
    struct Sim {
        next_ordinal: f64,
        live: Vec<Sample>,
        interval: f64,
    }

    const LEAK: u64 = 2;
    const GARBAGE: u64 = 3;
    const CACHE: u64 = 4;

    fn node(id: u64, name: &str, line: i64, children: Vec<ProfileNode>) -> ProfileNode {
        ProfileNode {
            call_frame: CallFrame {
                function_name: name.into(),
                script_id: "1".into(),
                url: "/app/server.js".into(),
                line_number: line,
                column_number: 4,
            },
            self_size: 0.0,
            id,
            children,
        }
    }

    fn tree() -> ProfileNode {
        let mut root = node(1, "(root)", -1, vec![]);
        root.call_frame.url = String::new();
        root.children = vec![node(
            10,
            "handle",
            1,
            vec![
                node(LEAK, "remember", 10, vec![]),
                node(GARBAGE, "render", 20, vec![]),
                node(CACHE, "cacheInsert", 30, vec![]),
            ],
        )];
        root
    }

    impl Sim {
        fn new() -> Sim {
            Sim { next_ordinal: 1.0, live: Vec::new(), interval: 1000.0 }
        }
        fn alloc(&mut self, node_id: u64, n: usize) {
            for _ in 0..n {
                self.live.push(Sample { size: self.interval, node_id, ordinal: self.next_ordinal });
                self.next_ordinal += 1.0;
            }
        }
        fn profile(&self) -> HeapProfile {
            HeapProfile { head: tree(), samples: self.live.clone() }
        }
        fn collect_garbage(&mut self) {
            self.live.retain(|s| s.node_id != GARBAGE);
        }
        /// A cache of `cap` samples: evict the oldest of its entries.
        fn evict_cache(&mut self, cap: usize) {
            let mut entries: Vec<f64> = self.live.iter().filter(|s| s.node_id == CACHE).map(|s| s.ordinal).collect();
            if entries.len() > cap {
                entries.sort_by(f64::total_cmp);
                let cut = entries[entries.len() - cap - 1];
                self.live.retain(|s| s.node_id != CACHE || s.ordinal > cut);
            }
        }
    }

    fn config() -> SamplerConfig {
        SamplerConfig { interval: 1000.0, ..SamplerConfig::default() }
    }

    #[test]
    fn reads_between_full_gcs_end_cohorts_but_never_make_dead_objects_a_site() {
        // Native reads between natural full GCs: the cache's evicted entries and the garbage
        // are still in the profile (not collected yet) at the unsettled reads; only the full
        // GC every tenth read frees them. The last full GC is 9 reads before the end.
        let mut sim = Sim::new();
        let mut state = SamplerState::new(config(), 0.0);
        let mut dead: Vec<Sample> = Vec::new();
        for read in 1..=49 {
            sim.alloc(LEAK, 5);
            sim.alloc(GARBAGE, 50);
            sim.alloc(CACHE, 20);
            let before: Vec<Sample> = sim.live.clone();
            sim.evict_cache(60);
            sim.collect_garbage();
            // What died since the last full GC stays in the profile until the next one.
            dead.extend(before.into_iter().filter(|b| !sim.live.iter().any(|l| l.ordinal == b.ordinal)));
            let at_ms = read as f64 * 1000.0;
            if read % 10 == 0 {
                dead.clear();
                state.ingest(&sim.profile(), at_ms);
            } else {
                let mut profile = sim.profile();
                profile.samples.extend(dead.iter().copied());
                let reading = state.ingest_unsettled(&profile, at_ms);
                assert_eq!(reading.cohorts.last().map(|c| c.end_ms), Some(at_ms), "each read ends a cohort");
            }
        }
        let ranking = state.ranking(10, false);
        let names: Vec<&str> = ranking.sites.iter().map(|s| s.frames[0].function_name.as_str()).collect();
        assert_eq!(names, ["remember"], "{:#?}", ranking.sites);
        assert_eq!(ranking.at_ms, 40_000.0, "the ranking is the last settled read's");
        assert_eq!(state.survival().at_ms, 49_000.0, "the cohorts are the last read's");
    }

    #[test]
    fn a_leak_is_the_top_site_garbage_and_a_full_cache_are_not() {
        let mut sim = Sim::new();
        let mut state = SamplerState::new(config(), 0.0);
        for read in 1..=20 {
            sim.alloc(LEAK, 5);
            sim.alloc(GARBAGE, 50);
            sim.alloc(CACHE, 20);
            sim.evict_cache(60); // full after 3 reads
                                 // Garbage still alive at the read (not collected yet) is the newest cohort's.
            state.ingest(&sim.profile(), read as f64 * 1000.0);
            sim.collect_garbage();
        }
        let ranking = state.ranking(10, false);
        assert_eq!(ranking.sites.len(), 1, "{:#?}", ranking.sites);
        let site = &ranking.sites[0];
        assert_eq!(site.frames[0].function_name, "remember");
        assert_eq!(site.frames[1].function_name, "handle");
        assert_eq!(site.frames[0].location(), "/app/server.js:11:5");
        // Window of 6 reads: samples of the 4 intervals between its start and the
        // previous read, 5 per read.
        assert!(site.window_bytes >= 4.0 * 5000.0 && site.window_bytes <= 5.0 * 5000.0, "{}", site.window_bytes);
        assert!(site.growth_bytes >= site.window_bytes - 1.0);
        assert_eq!(site.live_bytes, 20.0 * 5000.0);
        // The full listing has all three, garbage with only its newest samples.
        let all = state.ranking(0, true);
        assert_eq!(all.sites.len(), 3);
        assert_eq!(all.sites[0].frames[0].function_name, "remember");
    }

    #[test]
    fn leakwatchs_own_allocations_are_neither_sites_nor_survival() {
        // leakwatch's monitor (its own file) keeps readings and calls into Node (an internal
        // frame allocates for it); it also emits to the app's listener, which keeps what it
        // gets: that is the app's. Each keeps 3 samples a read.
        const OWN: u64 = 20;
        const OWN_INTERNAL: u64 = 21;
        const LISTENER: u64 = 22;
        let own_frame = |id: u64, name: &str, url: &str, children: Vec<ProfileNode>| {
            let mut n = node(id, name, 1, children);
            n.call_frame.url = url.into();
            n
        };
        let mut head = tree();
        head.children.push(own_frame(
            30,
            "onFullGc",
            "/srv/app/node_modules/leakwatch/lib/agent/monitor.js",
            vec![
                own_frame(OWN, "keep", "/srv/app/node_modules/leakwatch/lib/agent/monitor.js", vec![]),
                own_frame(OWN_INTERNAL, "getHeapStatistics", "node:v8", vec![]),
                own_frame(LISTENER, "onStats", "/srv/app/server.js", vec![]),
            ],
        ));
        let own_code = vec!["/srv/app/node_modules/leakwatch/".to_string()];
        let mut state = SamplerState::new(SamplerConfig { own_code, ..config() }, 0.0);
        let mut sim = Sim::new();
        let mut reading = SurvivalReading::default();
        for read in 1..=10 {
            for id in [OWN, OWN_INTERNAL, LISTENER] {
                sim.alloc(id, 3);
            }
            reading =
                state.ingest(&HeapProfile { head: head.clone(), samples: sim.live.clone() }, read as f64 * 1000.0);
        }
        let names: Vec<String> =
            state.ranking(0, true).sites.iter().map(|s| s.frames[0].function_name.clone()).collect();
        assert_eq!(names, ["onStats"], "only the app's listener is a site");
        let live: f64 = reading.cohorts.iter().map(|c| c.live_bytes).sum();
        assert_eq!(live, 10.0 * 3.0 * 1000.0, "the cohorts hold only the listener's samples");
    }

    #[test]
    fn a_leak_is_a_site_at_the_second_settled_read() {
        // A large heap: reads every period only mark boundaries, and its first natural full
        // GCs come seconds apart. A verdict may come at the second settled read: the leak must
        // be a site by then.
        for first_settled in [1, 3] {
            let mut sim = Sim::new();
            let mut state = SamplerState::new(config(), 0.0);
            let mut settled = 0;
            for read in 1..=8 {
                sim.alloc(LEAK, 5);
                sim.alloc(GARBAGE, 20);
                let at_ms = read as f64 * 1000.0;
                if read == first_settled || read == 6 {
                    sim.collect_garbage();
                    state.ingest(&sim.profile(), at_ms);
                    settled += 1;
                    if settled == 2 {
                        break;
                    }
                } else {
                    state.ingest_unsettled(&sim.profile(), at_ms);
                }
            }
            let names: Vec<String> =
                state.ranking(10, false).sites.iter().map(|s| s.frames[0].function_name.clone()).collect();
            assert_eq!(names, ["remember"], "first settled read {first_settled}");
        }
    }

    #[test]
    fn a_filling_cache_grows_and_then_stops() {
        let mut sim = Sim::new();
        let mut state = SamplerState::new(config(), 0.0);
        let mut growing_at = Vec::new();
        for read in 1..=30 {
            sim.alloc(CACHE, 20);
            sim.evict_cache(300); // full after 15 reads
            state.ingest(&sim.profile(), read as f64 * 1000.0);
            growing_at.push(!state.ranking(0, false).sites.is_empty());
        }
        assert!(growing_at[4..12].iter().all(|&g| g), "{growing_at:?}");
        assert!(growing_at[24..].iter().all(|&g| !g), "{growing_at:?}");
    }

    #[test]
    fn cohorts_follow_survival_and_stay_bounded() {
        let mut sim = Sim::new();
        let mut state = SamplerState::new(SamplerConfig { max_cohorts: 8, ..config() }, 0.0);
        let mut reading = SurvivalReading::default();
        for read in 1..=50 {
            sim.alloc(LEAK, 2);
            sim.alloc(GARBAGE, 10);
            reading = state.ingest(&sim.profile(), read as f64 * 1000.0);
            sim.collect_garbage();
        }
        assert_eq!(reading.cohorts.len(), 8);
        assert_eq!(reading.at_ms, 50_000.0);
        // Oldest first, contiguous in time.
        for pair in reading.cohorts.windows(2) {
            assert_eq!(pair[0].end_ms, pair[1].start_ms);
        }
        assert_eq!(reading.cohorts[0].start_ms, 0.0);
        let newest = reading.cohorts.last().unwrap();
        assert_eq!(newest.first_bytes, 12_000.0); // garbage still alive at its first read
        assert_eq!(newest.live_bytes, 12_000.0);
        let older = &reading.cohorts[reading.cohorts.len() - 2];
        assert_eq!(older.first_bytes, 12_000.0);
        assert_eq!(older.peak_bytes, 12_000.0);
        assert_eq!(older.live_bytes, 2_000.0); // the leak's part survives
        let total: f64 = reading.cohorts.iter().map(|c| c.live_bytes).sum();
        assert_eq!(total, 100.0 * 1000.0 + 10_000.0);
    }

    #[test]
    fn state_stays_bounded_with_many_distinct_stacks() {
        let mut state = SamplerState::new(SamplerConfig { max_sites: 50, ..config() }, 0.0);
        let mut ordinal = 0.0;
        for read in 0..40u64 {
            // 200 distinct functions per read, each a new stack: like generated code.
            let mut root = node(1, "(root)", -1, vec![]);
            let mut samples = Vec::new();
            for i in 0..200u64 {
                let id = 100 + read * 1000 + i;
                root.children.push(node(id, &format!("f{read}_{i}"), i as i64, vec![]));
                ordinal += 1.0;
                samples.push(Sample { size: 1000.0, node_id: id, ordinal });
            }
            state.ingest(&HeapProfile { head: root, samples }, read as f64);
        }
        let Footprint { sites, cohorts, frames, .. } = state.footprint();
        assert!(sites <= 50.0, "{sites}");
        assert!(cohorts <= 32.0);
        assert!(frames <= (2 * 50 * 8 + 1024 + 200) as f64, "{frames}");
    }

    #[test]
    fn reset_starts_a_new_epoch() {
        let mut sim = Sim::new();
        let mut state = SamplerState::new(config(), 0.0);
        for read in 1..=5 {
            sim.alloc(LEAK, 5);
            state.ingest(&sim.profile(), read as f64 * 1000.0);
        }
        state.reset(6000.0);
        assert_eq!(state.reads(), 0);
        assert!(state.ranking(0, true).sites.is_empty());
        assert!(state.survival().cohorts.is_empty());
    }
}
