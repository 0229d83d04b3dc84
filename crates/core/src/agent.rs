//! The agent's decisions in one object: the leak detector (`monitor`) and the allocation
//! sampler's state (`sampling::state`) that feeds it. A profile read goes in once and comes
//! out as verdicts with their allocation sites attached: the survival reading goes from the
//! sampler to the detector here, never through JS (the binding's `Monitor` wraps this; JS
//! only reads the profile, V8's or the inspector's, and keeps time).

use crate::monitor::{DetectorConfig, GcKind, HeapSample, LeakResolution, LeakVerdict, Monitor, Stats};
use crate::sampling::{AllocationSite, Footprint, HeapProfile, Ranking, SamplerConfig, SamplerState};
use crate::survival::SurvivalReading;

/// Allocation sites attached to a verdict: the top of the leak-site ranking at its read.
pub const VERDICT_SITES: usize = 5;

/// The detector, and the sampler's state while sampling runs.
#[derive(Debug, Clone)]
pub struct Agent {
    monitor: Monitor,
    sampler: Option<SamplerState>,
}

impl Agent {
    pub fn new(config: DetectorConfig, start_ms: f64) -> Self {
        Agent { monitor: Monitor::new(config, start_ms), sampler: None }
    }

    /// The detector (its questions: `should_probe`, `forced_gc_affordable`, `standing`).
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    pub fn monitor_mut(&mut self) -> &mut Monitor {
        &mut self.monitor
    }

    pub fn set_config(&mut self, config: DetectorConfig) {
        self.monitor.set_config(config);
    }

    /// Count `count` GCs of one kind that took `total_ms` together.
    pub fn record_gcs(&mut self, kind: GcKind, count: u64, total_ms: f64) {
        self.monitor.record_gcs(kind, count, total_ms);
    }

    /// A full GC's figures: the stats and any verdicts, with their sites.
    pub fn record_full_gc(&mut self, sample: HeapSample, gc_duration_ms: f64) -> (Stats, Vec<LeakVerdict>) {
        let (stats, verdicts) = self.monitor.record_full_gc(sample, gc_duration_ms);
        (stats, self.with_sites(verdicts))
    }

    /// Verdicts withdrawn since the last call.
    pub fn take_resolutions(&mut self) -> Vec<LeakResolution> {
        self.monitor.take_resolutions()
    }

    /// Sampling (re)starts: a new epoch of the sampler's state (ordinals begin again).
    pub fn start_sampling(&mut self, config: SamplerConfig, at_ms: f64) {
        self.sampler = Some(SamplerState::new(config, at_ms));
    }

    /// Sampling stopped: its state goes, and verdicts carry no sites until it starts again.
    pub fn stop_sampling(&mut self) {
        self.sampler = None;
    }

    /// The profiler was restarted (by someone else): same settings, a new epoch.
    pub fn reset_sampling(&mut self, at_ms: f64) {
        if let Some(sampler) = &mut self.sampler {
            sampler.reset(at_ms);
        }
    }

    pub fn sampler(&self) -> Option<&SamplerState> {
        self.sampler.as_ref()
    }

    /// One read of the profile at `at_ms`. A `settled` read (right after a full GC: every live
    /// sample is a live object) is judged by the detector, and its verdicts come back with their
    /// sites; another only marks the cohorts' boundaries (`SamplerState::ingest_unsettled`).
    /// Without sampling started, nothing is taken.
    pub fn ingest(&mut self, profile: &HeapProfile, at_ms: f64, settled: bool) -> Vec<LeakVerdict> {
        let Some(sampler) = &mut self.sampler else {
            return Vec::new();
        };
        if !settled {
            sampler.ingest_unsettled(profile, at_ms);
            return Vec::new();
        }
        let reading = sampler.ingest(profile, at_ms);
        let verdicts = self.monitor.observe_survival(&reading);
        self.with_sites(verdicts)
    }

    /// The cohorts' survival as of the latest read (empty before sampling starts).
    pub fn survival(&self, now_ms: f64) -> SurvivalReading {
        self.sampler.as_ref().map_or(SurvivalReading { at_ms: now_ms, cohorts: Vec::new() }, SamplerState::survival)
    }

    /// Leak sites (growing), or with `all` every stack with live samples, at the latest read.
    pub fn ranking(&self, limit: usize, all: bool, now_ms: f64) -> Ranking {
        match &self.sampler {
            Some(sampler) => sampler.ranking(limit, all),
            None => Ranking { at_ms: now_ms, window_start_ms: now_ms, reads: 0, sites: Vec::new() },
        }
    }

    /// The size of the sampler's state (zero without sampling).
    pub fn sampler_footprint(&self) -> Footprint {
        self.sampler.as_ref().map_or_else(Footprint::default, SamplerState::footprint)
    }

    fn with_sites(&self, mut verdicts: Vec<LeakVerdict>) -> Vec<LeakVerdict> {
        if verdicts.is_empty() {
            return verdicts;
        }
        let sites: Vec<AllocationSite> = match &self.sampler {
            Some(sampler) => sampler.ranking(VERDICT_SITES, false).sites.iter().map(AllocationSite::from).collect(),
            None => Vec::new(),
        };
        for verdict in &mut verdicts {
            verdict.sites.clone_from(&sites);
        }
        verdicts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::MemoryKind;
    use crate::sampling::profile::{CallFrame, ProfileNode, Sample};

    const INTERVAL: f64 = 4096.0;
    const LEAK: u64 = 2;
    const GARBAGE: u64 = 3;

    fn node(id: u64, name: &str, line: i64, children: Vec<ProfileNode>) -> ProfileNode {
        let call_frame = CallFrame {
            function_name: name.into(),
            script_id: "1".into(),
            url: if id == 1 { String::new() } else { "/srv/app/server.js".into() },
            line_number: line,
            column_number: 2,
        };
        ProfileNode { call_frame, self_size: 0.0, id, children }
    }

    /// A process that keeps `leak` samples a second from `remember` and drops `garbage`
    /// samples of `render` at each full GC.
    struct Process {
        live: Vec<Sample>,
        ordinal: f64,
        base: f64,
    }

    impl Process {
        fn second(&mut self, leak: usize, garbage: usize) {
            for (node_id, n) in [(LEAK, leak), (GARBAGE, garbage)] {
                for _ in 0..n {
                    self.live.push(Sample { size: INTERVAL, node_id, ordinal: self.ordinal });
                    self.ordinal += 1.0;
                }
            }
        }

        fn full_gc(&mut self) -> f64 {
            self.live.retain(|s| s.node_id != GARBAGE);
            self.base + self.live.iter().map(|s| s.size).sum::<f64>()
        }

        fn profile(&self) -> HeapProfile {
            let handle =
                node(10, "handle", 1, vec![node(LEAK, "remember", 10, vec![]), node(GARBAGE, "render", 20, vec![])]);
            HeapProfile { head: node(1, "(root)", -1, vec![handle]), samples: self.live.clone() }
        }
    }

    /// Runs `seconds` of a process leaking `leak` samples a second: a full GC every second
    /// with a settled read after it, and an unsettled read half-way between. Returns every
    /// verdict (from the figures and from the reads).
    fn run(agent: &mut Agent, seconds: usize, leak: usize) -> Vec<LeakVerdict> {
        let mut process = Process { live: Vec::new(), ordinal: 1.0, base: 20e6 };
        let mut verdicts = Vec::new();
        for second in 1..=seconds {
            let t_ms = second as f64 * 1000.0;
            process.second(leak / 2, 50);
            verdicts.extend(agent.ingest(&process.profile(), t_ms - 500.0, false));
            process.second(leak - leak / 2, 50);
            let used_heap_size = process.full_gc();
            let sample = HeapSample { t_ms, forced: false, used_heap_size, external: 1e6 };
            verdicts.extend(agent.record_full_gc(sample, 5.0).1);
            verdicts.extend(agent.ingest(&process.profile(), t_ms + 1.0, true));
        }
        verdicts
    }

    fn sampling() -> SamplerConfig {
        SamplerConfig { interval: INTERVAL, ..SamplerConfig::default() }
    }

    #[test]
    fn a_profile_read_becomes_a_verdict_that_names_its_sites() {
        let mut agent = Agent::new(DetectorConfig::default(), 0.0);
        agent.start_sampling(sampling(), 0.0);
        // 25 samples of 4 KiB a second: 100 KiB/s kept.
        let verdicts = run(&mut agent, 60, 25);
        let first = verdicts.first().expect("a leak of 100 KiB/s is reported within a minute");
        assert_eq!(first.kind, MemoryKind::Heap);
        let names: Vec<&str> = first.sites.iter().map(|s| s.function_name.as_str()).collect();
        assert_eq!(names, ["remember"], "{}", first.reason);
        assert!(first.sites.len() <= VERDICT_SITES);
        assert!(verdicts.iter().all(|v| v.sites.iter().all(|s| s.function_name == "remember")));
        assert!(agent.survival(0.0).cohorts.len() > 2);
        assert_eq!(agent.ranking(0, false, 0.0).sites.len(), 1);
    }

    #[test]
    fn unsettled_reads_and_a_healthy_process_give_no_verdict() {
        let mut agent = Agent::new(DetectorConfig::default(), 0.0);
        agent.start_sampling(sampling(), 0.0);
        assert!(run(&mut agent, 60, 0).is_empty());
        assert!(agent.sampler_footprint().reads >= 120.0, "both kinds of reads were taken");
    }

    #[test]
    fn without_sampling_nothing_is_ingested_and_verdicts_carry_no_sites() {
        let mut agent = Agent::new(DetectorConfig::default(), 0.0);
        agent.start_sampling(sampling(), 0.0);
        agent.stop_sampling();
        assert_eq!(agent.sampler_footprint(), Footprint::default());
        // Without the sampler only the post-GC figures judge: a steeper leak, for longer.
        let verdicts = run(&mut agent, 120, 250);
        assert!(!verdicts.is_empty(), "a leak of 1 MiB/s is still reported from the heap's figures");
        assert!(verdicts.iter().all(|v| v.sites.is_empty()));
        assert_eq!(agent.ranking(10, true, 7.0).at_ms, 7.0);
        assert!(agent.survival(7.0).cohorts.is_empty());
    }
}
