//! The memory-pressure guard: when the heap after a full GC nears V8's old-generation
//! limit, or the process's resident memory nears its container's limit, the evidence of a
//! leak must be written *before* the process dies (V8 aborts with "heap out of memory", the
//! kernel kills at the cgroup limit, and neither leaves time for anything).
//!
//! Two levels per resource, each reported once: a level fires when the ratio reaches its
//! threshold, and is armed again only after the ratio has fallen `rearm_margin` below it
//! and `cooldown_ms` has passed since it fired, so a healthy process that sits above a
//! threshold (a big cache) gets one report, not one per GC, and one that oscillates across
//! it gets at most one per cooldown. A reading past both levels fires the higher one only.
//! The growth rate is the Theil–Sen slope of the last readings, and with it the time left
//! until the limit at that rate.

use crate::format::human_size;
use crate::monitor::robust::{theil_sen_per_sec, Point};
use std::collections::VecDeque;

/// Readings kept per resource for the growth rate (bounded whatever the process's life).
const RATE_POINTS: usize = 16;

/// What nears its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "lowercase"))]
pub enum Resource {
    /// The V8 heap after a full GC, against the old generation's limit.
    Heap,
    /// The process's resident memory, against its container's (cgroup) limit.
    Memory,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Resource::Heap => "heap",
            Resource::Memory => "memory",
        }
    }

    fn index(self) -> usize {
        match self {
            Resource::Heap => 0,
            Resource::Memory => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PressureConfig {
    /// Heap after GC / old-generation limit: the first and the second level.
    pub heap: [f64; 2],
    /// Resident memory / container limit: the first and the second level.
    pub memory: [f64; 2],
    /// A level is armed again once the ratio is this far below its threshold...
    pub rearm_margin: f64,
    /// ...and this long after it fired.
    pub cooldown_ms: f64,
}

impl Default for PressureConfig {
    /// Measured (benches/results/pressure.md): V8 gives up ("ineffective mark-compacts") with
    /// the heap after GC at 80-81 % of its old-generation limit for heaps of small objects on
    /// Node 20 and 24, at 97-99 % otherwise; its full GCs are sparse until then, so the ratio
    /// moves in steps of up to 10 points. Past 65 % the evidence comes 1-29 s before the end
    /// for leaks of 3-15 MB/s; 75 % still comes before an 80 % death. Memory: the kernel kills
    /// at 100 % of the cgroup limit, and resident memory also holds what is not heap.
    fn default() -> Self {
        PressureConfig { heap: [0.65, 0.75], memory: [0.85, 0.95], rearm_margin: 0.1, cooldown_ms: 600_000.0 }
    }
}

/// Thresholds of the guard as JS gives them; every field optional (defaults:
/// `PressureConfig::default`).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct PressureOptions {
    /// Heap after GC / its old-generation limit: two ratios, the second above the first.
    pub heap: Option<Vec<f64>>,
    /// Resident memory / the container's limit: two ratios.
    pub memory: Option<Vec<f64>>,
    /// A level is reported again only after the ratio fell this far below it...
    pub rearm_margin: Option<f64>,
    /// ...and this long after it was reported (ms).
    pub cooldown_ms: Option<f64>,
}

impl TryFrom<&PressureOptions> for PressureConfig {
    type Error = String;

    /// The defaults where an option is missing, validated.
    fn try_from(options: &PressureOptions) -> Result<Self, String> {
        fn levels(given: &Option<Vec<f64>>, default: [f64; 2], name: &str) -> Result<[f64; 2], String> {
            match given {
                None => Ok(default),
                Some(v) => <[f64; 2]>::try_from(v.as_slice())
                    .map_err(|_| format!("{name} thresholds must be two ratios, got {}", v.len())),
            }
        }
        let d = PressureConfig::default();
        let config = PressureConfig {
            heap: levels(&options.heap, d.heap, "heap")?,
            memory: levels(&options.memory, d.memory, "memory")?,
            rearm_margin: options.rearm_margin.unwrap_or(d.rearm_margin),
            cooldown_ms: options.cooldown_ms.unwrap_or(d.cooldown_ms),
        };
        config.validate()?;
        Ok(config)
    }
}

impl PressureConfig {
    /// Thresholds in (0, 1], the second above the first; margin in [0, 1); cooldown >= 0.
    pub fn validate(&self) -> Result<(), String> {
        for (name, levels) in [("heap", self.heap), ("memory", self.memory)] {
            if !levels.iter().all(|r| r.is_finite() && *r > 0.0 && *r <= 1.0) || levels[0] >= levels[1] {
                return Err(format!(
                    "{name} thresholds must be two ratios in (0, 1], the second above the first; got [{}, {}]",
                    levels[0], levels[1]
                ));
            }
        }
        if !(self.rearm_margin.is_finite() && (0.0..1.0).contains(&self.rearm_margin)) {
            return Err(format!("the re-arm margin must be a ratio in [0, 1); got {}", self.rearm_margin));
        }
        if !(self.cooldown_ms.is_finite() && self.cooldown_ms >= 0.0) {
            return Err(format!("the cooldown must be a number of milliseconds; got {}", self.cooldown_ms));
        }
        Ok(())
    }

    fn levels(&self, resource: Resource) -> [f64; 2] {
        match resource {
            Resource::Heap => self.heap,
            Resource::Memory => self.memory,
        }
    }
}

/// One observation of a resource: what is used and its limit (bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub t_ms: f64,
    pub used: f64,
    pub limit: f64,
}

/// A level reached: what the `memoryPressure` event and the report say.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "PressureLevel"))]
pub struct Pressure {
    /// 'heap' or 'memory'.
    pub resource: Resource,
    /// 1 or 2.
    pub level: u32,
    pub threshold: f64,
    pub ratio: f64,
    pub used: f64,
    pub limit: f64,
    /// Bytes per second over the recent readings (0 until two).
    pub rate: f64,
    /// At that rate, milliseconds until the limit; None when not growing.
    pub time_to_limit_ms: Option<f64>,
    pub t_ms: f64,
    pub reason: String,
}

#[derive(Debug, Default)]
struct Track {
    points: VecDeque<Point>,
    /// Per level: when it fired (None: armed).
    fired_at: [Option<f64>; 2],
}

#[derive(Debug)]
pub struct Guard {
    config: PressureConfig,
    tracks: [Track; 2],
}

impl Guard {
    pub fn new(config: PressureConfig) -> Self {
        Guard { config, tracks: [Track::default(), Track::default()] }
    }

    pub fn config(&self) -> PressureConfig {
        self.config
    }

    pub fn configure(&mut self, config: PressureConfig) {
        self.config = config;
    }

    /// Take a reading of `resource`; returns the level it reached, if one fires now.
    /// Readings with no limit (0, not finite) or nonsense figures are ignored.
    pub fn observe(&mut self, resource: Resource, reading: Reading) -> Option<Pressure> {
        let Reading { t_ms, used, limit } = reading;
        if !(t_ms.is_finite() && used.is_finite() && used >= 0.0 && limit.is_finite() && limit > 0.0) {
            return None;
        }
        let levels = self.config.levels(resource);
        let (margin, cooldown) = (self.config.rearm_margin, self.config.cooldown_ms);
        let track = &mut self.tracks[resource.index()];
        if track.points.len() == RATE_POINTS {
            track.points.pop_front();
        }
        track.points.push_back(Point { t_ms, value: used, forced: false });
        let ratio = used / limit;
        for (level, &threshold) in levels.iter().enumerate() {
            if let Some(fired) = track.fired_at[level] {
                if ratio < threshold - margin && t_ms - fired >= cooldown {
                    track.fired_at[level] = None;
                }
            }
        }
        // The highest level reached that is armed; reaching it also spends the lower ones.
        let level = (0..2).rev().find(|&l| ratio >= levels[l] && track.fired_at[l].is_none())?;
        for spent in 0..=level {
            track.fired_at[spent].get_or_insert(t_ms);
        }
        let rate = if track.points.len() >= 2 { theil_sen_per_sec(track.points.make_contiguous()) } else { 0.0 };
        let time_to_limit_ms = (rate > 0.0).then(|| (limit - used).max(0.0) / rate * 1000.0);
        let reason = describe(resource, ratio, used, limit, rate, time_to_limit_ms);
        Some(Pressure {
            resource,
            level: level as u32 + 1,
            threshold: levels[level],
            ratio,
            used,
            limit,
            rate,
            time_to_limit_ms,
            t_ms,
            reason,
        })
    }
}

fn size(bytes: f64) -> String {
    human_size(bytes.round() as i128)
}

/// "heap after GC at 86 % of its limit (82.6 MB of 96.0 MB), growing 4.8 MB/s: the limit in ~3 s".
fn describe(resource: Resource, ratio: f64, used: f64, limit: f64, rate: f64, time_to_limit_ms: Option<f64>) -> String {
    let what = match resource {
        Resource::Heap => "the heap after GC is at",
        Resource::Memory => "resident memory is at",
    };
    let of = match resource {
        Resource::Heap => "of the heap limit",
        Resource::Memory => "of the container's memory limit",
    };
    let trend = match time_to_limit_ms {
        Some(ms) => format!(", growing {}/s: the limit in ~{}", size(rate), duration(ms)),
        None => ", not growing".to_string(),
    };
    format!("{what} {:.0} % {of} ({} of {}){trend}", ratio * 100.0, size(used), size(limit))
}

fn duration(ms: f64) -> String {
    let s = ms / 1000.0;
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: f64 = 1024.0 * 1024.0;

    fn heap(guard: &mut Guard, t_s: f64, used_mb: f64) -> Option<Pressure> {
        guard.observe(Resource::Heap, Reading { t_ms: t_s * 1000.0, used: used_mb * MB, limit: 100.0 * MB })
    }

    #[test]
    fn a_leak_crosses_each_level_once_with_its_rate_and_time_left() {
        let mut guard = Guard::new(PressureConfig::default());
        let mut fired = Vec::new();
        for t in 0..60 {
            // 2 MB/s from 10 MB: 66 % at 28 s, 76 % at 33 s.
            if let Some(p) = heap(&mut guard, t as f64, 10.0 + 2.0 * t as f64) {
                fired.push(p);
            }
        }
        assert_eq!(fired.len(), 2, "{fired:?}");
        assert_eq!((fired[0].level, fired[0].t_ms), (1, 28_000.0));
        assert_eq!((fired[1].level, fired[1].t_ms), (2, 33_000.0));
        assert!((fired[0].rate - 2.0 * MB).abs() < 1.0, "{}", fired[0].rate);
        assert!((fired[0].time_to_limit_ms.unwrap() - 17_000.0).abs() < 1.0);
        assert!(fired[0].reason.contains("66 % of the heap limit"), "{}", fired[0].reason);
        assert!(fired[0].reason.contains("the limit in ~17 s"), "{}", fired[0].reason);
    }

    #[test]
    fn a_healthy_process_above_a_threshold_is_reported_once_not_per_gc() {
        let mut guard = Guard::new(PressureConfig::default());
        let fired: Vec<_> = (0..10_000).filter_map(|t| heap(&mut guard, t as f64, 70.0 + (t % 3) as f64)).collect();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].level, 1);
        assert_eq!(fired[0].time_to_limit_ms, None, "a flat heap is not growing: {}", fired[0].reason);
    }

    #[test]
    fn a_level_rearms_only_after_falling_back_and_the_cooldown() {
        let mut guard = Guard::new(PressureConfig { cooldown_ms: 60_000.0, ..PressureConfig::default() });
        assert!(heap(&mut guard, 0.0, 68.0).is_some());
        assert!(heap(&mut guard, 10.0, 50.0).is_none(), "fell back");
        assert!(heap(&mut guard, 20.0, 68.0).is_none(), "within the cooldown");
        assert!(heap(&mut guard, 70.0, 50.0).is_none(), "fell back after the cooldown: armed again");
        assert_eq!(heap(&mut guard, 80.0, 68.0).map(|p| p.level), Some(1));
        // Near the threshold (within the margin) it stays spent.
        assert!(heap(&mut guard, 200.0, 60.0).is_none());
        assert!(heap(&mut guard, 210.0, 68.0).is_none());
    }

    #[test]
    fn a_jump_past_both_levels_fires_the_higher_only() {
        let mut guard = Guard::new(PressureConfig::default());
        assert_eq!(heap(&mut guard, 0.0, 90.0).map(|p| p.level), Some(2));
        assert!(heap(&mut guard, 1.0, 91.0).is_none(), "level 1 is spent too");
    }

    #[test]
    fn no_limit_or_nonsense_figures_never_fire() {
        let mut guard = Guard::new(PressureConfig::default());
        for limit in [0.0, f64::INFINITY, f64::NAN, -1.0] {
            assert!(guard.observe(Resource::Memory, Reading { t_ms: 1.0, used: 1e9, limit }).is_none());
        }
        assert!(guard.observe(Resource::Memory, Reading { t_ms: 1.0, used: f64::NAN, limit: 1e9 }).is_none());
    }

    #[test]
    fn resources_are_tracked_apart() {
        let mut guard = Guard::new(PressureConfig::default());
        assert!(heap(&mut guard, 0.0, 70.0).is_some());
        let memory =
            guard.observe(Resource::Memory, Reading { t_ms: 0.0, used: 96.0 * MB, limit: 100.0 * MB }).unwrap();
        assert_eq!((memory.resource, memory.level), (Resource::Memory, 2));
        assert!(memory.reason.contains("of the container's memory limit"), "{}", memory.reason);
    }

    #[test]
    fn config_is_validated() {
        assert!(PressureConfig::default().validate().is_ok());
        assert!(PressureConfig { heap: [0.9, 0.8], ..PressureConfig::default() }.validate().is_err());
        assert!(PressureConfig { memory: [0.5, 1.5], ..PressureConfig::default() }.validate().is_err());
        assert!(PressureConfig { rearm_margin: f64::NAN, ..PressureConfig::default() }.validate().is_err());
    }
}
