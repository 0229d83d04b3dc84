//! The workload simulator for the monitor's tests: synthetic post-GC series of services
//! (steady leaks, sawtooth garbage, warm-up, caches, bursts) and synthetic survival readings
//! of the sampler's cohorts (leak, cache, batch, churn), all from a seeded PRNG.

use super::*;

pub(super) const SEC: f64 = 1000.0;
pub(super) const LEAK_RATE: f64 = 100.0 * KIB; // bytes per second
pub(super) const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

/// Deterministic xorshift64 PRNG: reproducible series without crates.
pub(super) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // Spread small seeds; xorshift must never hold 0.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
}

/// One post-full-GC observation of a synthetic service.
#[derive(Debug, Clone, Copy)]
pub(super) struct Baseline {
    pub t_ms: f64,
    pub heap: f64,
    pub external: f64,
    pub forced: bool,
}

pub(super) fn heap_sample(b: Baseline) -> HeapSample {
    HeapSample { t_ms: b.t_ms, forced: b.forced, used_heap_size: b.heap, external: b.external }
}

/// Baselines every `gap` (irregular, uniform in the range) until `until_ms`; `memory`
/// gives (heap, external) at a time.
pub(super) fn series(
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

pub(super) fn noise(rng: &mut Rng, amplitude: f64) -> f64 {
    rng.range(-amplitude, amplitude)
}

/// Default config without probing, so natural samples are judged on their own (the
/// confirmation step is tested separately).
pub(super) fn natural_only() -> DetectorConfig {
    DetectorConfig { probe_interval_ms: 0.0, ..legacy() }
}

/// leakwatch 0.1's rule and settings, with probes priced as free (see `adaptive`).
pub(super) fn legacy() -> DetectorConfig {
    DetectorConfig { max_probe_pause_ms: f64::INFINITY, ..DetectorConfig::for_rule(Rule::Legacy) }
}

/// The adaptive defaults with probes priced as free: the simulations exercise what the rules
/// decide, on heaps of tens of MB; what probes may cost is `probe`'s and its own tests'.
pub(super) fn adaptive() -> DetectorConfig {
    DetectorConfig { max_probe_pause_ms: f64::INFINITY, ..DetectorConfig::default() }
}

/// Feeds the baselines to a fresh monitor (legacy rule, no probing, start 0); returns all verdicts.
pub(super) fn detect_all(baselines: &[Baseline]) -> Vec<LeakVerdict> {
    detect_all_with(natural_only(), baselines)
}

pub(super) fn detect_all_with(config: DetectorConfig, baselines: &[Baseline]) -> Vec<LeakVerdict> {
    let mut monitor = Monitor::new(config, 0.0);
    baselines.iter().flat_map(|&b| monitor.record_full_gc(heap_sample(b), 20.0).1).collect()
}

pub(super) fn of_kind(verdicts: &[LeakVerdict], kind: MemoryKind) -> Vec<&LeakVerdict> {
    verdicts.iter().filter(|v| v.kind == kind).collect()
}

pub(super) fn heaps(baselines: &[Baseline]) -> Vec<f64> {
    baselines.iter().map(|b| b.heap).collect()
}

pub(super) fn steady_leak(seed: u64, until_ms: f64) -> Vec<Baseline> {
    series(seed, until_ms, (2.0 * SEC, 8.0 * SEC), |t, rng| {
        let heap = 50.0 * MIB + LEAK_RATE * t / SEC + noise(rng, 50.0 * KIB);
        (heap, 2.0 * MIB + noise(rng, 20.0 * KIB))
    })
}

pub(super) fn assert_rate_close(verdict: &LeakVerdict, truth: f64) {
    let error = (verdict.rate_bytes_per_sec - truth).abs() / truth;
    assert!(error <= 0.3, "rate {} vs {truth}: {verdict:?}", verdict.rate_bytes_per_sec);
}

/// A service whose heap_used saws up and down with garbage; natural full GCs are rare and
/// catch transient objects, so only forced probes measure the true baseline.
pub(super) struct SawtoothRun {
    pub verdicts: Vec<LeakVerdict>,
    pub natural: Vec<Baseline>,
    pub probes: usize,
}

pub(super) fn run_sawtooth(seed: u64, until_ms: f64, config: DetectorConfig) -> SawtoothRun {
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
        } else if monitor.should_probe(t_ms, true_base(t_ms) + garbage + MIB, 0.0) {
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

/// Heap ramps 30 -> 80 MiB over the first 3 s (a GC every 0.5 s), then stays flat.
pub(super) fn warmup_spike(seed: u64) -> Vec<Baseline> {
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

/// Heap flat at 30 MiB, a cache fills 40 MiB over 4 s from `fill_from_ms`, then flat.
pub(super) fn cache_fill(seed: u64, fill_from_ms: f64) -> Vec<Baseline> {
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

// ---------------------------------------------------------------------------------------
// A process simulator with the allocation sampler's view: allocations as pieces (bytes,
// allocated at, dies at), full GCs (natural ones the workload triggers, forced ones the
// monitor asks for), and survival readings of cohorts between reads, as `sampling` builds them.

/// Bytes allocated at `at_ms` that become garbage at `dies_ms` (infinity: never).
#[derive(Debug, Clone, Copy)]
pub(super) struct Piece {
    pub at_ms: f64,
    pub dies_ms: f64,
    pub bytes: f64,
}

/// A simulated service: what it allocates in each 100 ms slice, when its own allocation
/// triggers full GCs, its stable heap, and whether the sampler runs (and how often it reads).
pub(super) struct Service {
    pub base_heap: f64,
    pub pieces: Vec<Piece>,
    pub natural_gcs_ms: Vec<f64>,
    pub read_every_ms: Option<f64>,
    /// The sampler merges its oldest cohorts beyond this many.
    pub max_cohorts: usize,
}

pub(super) const SLICE_MS: f64 = 100.0;

impl Service {
    /// `alloc(t_ms, rng, &mut out)` adds the pieces allocated in the slice starting at `t_ms`.
    pub fn build(
        seed: u64,
        until_ms: f64,
        base_heap: f64,
        mut alloc: impl FnMut(f64, &mut Rng, &mut Vec<Piece>),
    ) -> Self {
        let mut rng = Rng::new(seed);
        let mut pieces = Vec::new();
        for step in 0..(until_ms / SLICE_MS) as usize {
            alloc(step as f64 * SLICE_MS, &mut rng, &mut pieces);
        }
        Self { base_heap, pieces, natural_gcs_ms: Vec::new(), read_every_ms: Some(2.0 * SEC), max_cohorts: 24 }
    }
}

/// What a simulated run produced.
pub(super) struct SimRun {
    /// Each verdict with the time it was reported.
    pub verdicts: Vec<(f64, LeakVerdict)>,
    /// Each withdrawal.
    pub resolutions: Vec<LeakResolution>,
    pub probes: usize,
    pub readings: usize,
}

/// Garbage that dies at once (request handling), `rate` bytes/s.
pub(super) fn garbage(t_ms: f64, rate: f64, out: &mut Vec<Piece>) {
    out.push(Piece { at_ms: t_ms, dies_ms: t_ms + 50.0, bytes: rate * SLICE_MS / SEC });
}

pub(super) fn retained(t_ms: f64, rate: f64, dies_ms: f64, out: &mut Vec<Piece>) {
    out.push(Piece { at_ms: t_ms, dies_ms, bytes: rate * SLICE_MS / SEC });
}

/// Runs the service for `until_ms` with the monitor deciding on probes every 100 ms.
pub(super) fn simulate(service: &Service, config: DetectorConfig, until_ms: f64) -> SimRun {
    let mut monitor = Monitor::new(config, 0.0);
    let mut run = SimRun { verdicts: Vec::new(), resolutions: Vec::new(), probes: 0, readings: 0 };
    let mut last_gc = f64::NEG_INFINITY;
    let mut gcs: Vec<f64> = Vec::new();
    // Cohorts: (start, end, first, peak); live is recomputed at each read.
    let mut cohorts: Vec<(f64, f64, f64, f64)> = Vec::new();
    let mut last_read = 0.0;
    let mut natural = service.natural_gcs_ms.iter().copied().peekable();
    // A piece is still in the profile at `now` unless it died and a full GC ran since; short-lived
    // garbage (under a second) dies young, and scavenges collect it at once.
    let in_profile = |p: &Piece, now: f64, last_gc: f64| {
        let scavenged = p.dies_ms - p.at_ms < SEC && p.dies_ms <= now;
        p.at_ms <= now && p.dies_ms > last_gc && !scavenged
    };
    let alive = |p: &Piece, now: f64| p.at_ms <= now && p.dies_ms > now;
    for step in 0..=(until_ms / SLICE_MS) as usize {
        let t_ms = step as f64 * SLICE_MS;
        let heap_now = service.base_heap
            + service.pieces.iter().filter(|p| in_profile(p, t_ms, last_gc)).map(|p| p.bytes).sum::<f64>();
        let natural_due = natural.peek().is_some_and(|&n| n <= t_ms);
        if natural_due {
            natural.next();
        }
        let forced = !natural_due && monitor.should_probe(t_ms, heap_now + MIB, 0.0);
        if natural_due || forced {
            run.probes += usize::from(forced);
            last_gc = t_ms;
            gcs.push(t_ms);
            let after =
                service.base_heap + service.pieces.iter().filter(|p| alive(p, t_ms)).map(|p| p.bytes).sum::<f64>();
            monitor.record_gc(GcKind::Major, 10.0);
            let sample = HeapSample { t_ms, forced, used_heap_size: after, external: MIB };
            run.verdicts.extend(monitor.record_full_gc(sample, 10.0).1.into_iter().map(|v| (t_ms, v)));
        }
        if let Some(every) = service.read_every_ms {
            if t_ms - last_read >= every {
                // V8's inspector runs a full GC before it builds the profile; its 'gc' entry
                // reaches the monitor after the reading.
                last_gc = t_ms;
                cohorts.push((last_read, t_ms, f64::NAN, 0.0));
                last_read = t_ms;
                let mut reading = SurvivalReading { at_ms: t_ms, cohorts: Vec::new() };
                for c in cohorts.iter_mut() {
                    let live: f64 = service
                        .pieces
                        .iter()
                        .filter(|p| p.at_ms > c.0 && p.at_ms <= c.1 && in_profile(p, t_ms, last_gc))
                        .map(|p| p.bytes)
                        .sum();
                    if c.2.is_nan() {
                        c.2 = live;
                    }
                    c.3 = c.3.max(live);
                    reading.cohorts.push(crate::survival::CohortSurvival {
                        start_ms: c.0,
                        end_ms: c.1,
                        first_bytes: c.2,
                        peak_bytes: c.3,
                        live_bytes: live,
                    });
                }
                // Bounded: the two oldest merge (as the sampler does).
                while cohorts.len() > service.max_cohorts {
                    let (a, b) = (cohorts[0], cohorts[1]);
                    cohorts[1] = (a.0, b.1, a.2 + b.2, a.3 + b.3);
                    cohorts.remove(0);
                }
                run.readings += 1;
                run.verdicts.extend(monitor.observe_survival(&reading).into_iter().map(|v| (t_ms, v)));
                let after =
                    service.base_heap + service.pieces.iter().filter(|p| alive(p, t_ms)).map(|p| p.bytes).sum::<f64>();
                monitor.record_gc(GcKind::Major, 10.0);
                let sample = HeapSample { t_ms, forced: false, used_heap_size: after, external: MIB };
                run.verdicts.extend(monitor.record_full_gc(sample, 10.0).1.into_iter().map(|v| (t_ms, v)));
            }
        }
        run.resolutions.extend(monitor.take_resolutions());
    }
    run
}

/// A leak of `rate` bytes/s under `garbage_rate` of request garbage, from the start.
pub(super) fn leaking_service(seed: u64, until_ms: f64, rate: f64, garbage_rate: f64) -> Service {
    Service::build(seed, until_ms, 20.0 * MIB, |t, _, out| {
        garbage(t, garbage_rate, out);
        retained(t, rate, f64::INFINITY, out);
    })
}

/// A cache that inserts `rate` bytes/s and holds `cap` bytes: it fills in `cap / rate` seconds,
/// then each entry is evicted that long after it was inserted (FIFO/LRU without hits).
pub(super) fn cache_service(seed: u64, until_ms: f64, rate: f64, cap: f64) -> Service {
    let lifetime_ms = cap / rate * SEC;
    Service::build(seed, until_ms, 20.0 * MIB, |t, _, out| {
        garbage(t, 2.0 * MIB, out);
        retained(t, rate, t + lifetime_ms, out);
    })
}

/// A batch worker: every `period_ms` it builds `size` bytes over `build_ms` and drops them;
/// its allocation triggers natural full GCs mid-batch, at a phase that drifts.
pub(super) fn batch_service(seed: u64, until_ms: f64, size: f64, period_ms: f64, build_ms: f64) -> Service {
    let mut service = Service::build(seed, until_ms, 30.0 * MIB, |t, _, out| {
        garbage(t, MIB, out);
        let phase = t % period_ms;
        if phase < build_ms {
            let batch_end = t - phase + build_ms;
            out.push(Piece { at_ms: t, dies_ms: batch_end, bytes: size * SLICE_MS / build_ms });
        }
    });
    let mut rng = Rng::new(seed ^ 0xBA7C);
    let mut k = 0.0;
    while k * period_ms < until_ms {
        let drift = (0.3 + 0.06 * k).min(0.95);
        service
            .natural_gcs_ms
            .push(((k * period_ms + build_ms * drift + rng.range(0.0, 100.0)) / SLICE_MS).round() * SLICE_MS);
        k += 1.0;
    }
    service
}

/// `churn_service` with requests in flight: their working set (about `in_flight` bytes, held
/// for 1.5 s) changes with the traffic every 2 s, so the post-GC heap wanders by megabytes.
pub(super) fn churn_with_traffic_service(
    seed: u64,
    until_ms: f64,
    size: f64,
    replace_rate: f64,
    in_flight: f64,
) -> Service {
    let mut service = churn_service(seed, until_ms, size, replace_rate);
    let mut rng = Rng::new(seed ^ 0x7AFF);
    let mut level = 1.0;
    for step in 0..(until_ms / SLICE_MS) as usize {
        let t = step as f64 * SLICE_MS;
        if step % 20 == 0 {
            level = rng.range(0.6, 1.4);
        }
        service.pieces.push(Piece { at_ms: t, dies_ms: t + 1_500.0, bytes: level * in_flight / 15.0 });
    }
    service
}

/// Loads `dataset` bytes in the first 3 s and keeps it; afterwards garbage only.
pub(super) fn warmup_service(seed: u64, until_ms: f64, dataset: f64) -> Service {
    Service::build(seed, until_ms, 20.0 * MIB, |t, _, out| {
        garbage(t, 2.0 * MIB, out);
        if t < 3.0 * SEC {
            retained(t, dataset / 3.0, f64::INFINITY, out);
        }
    })
}

/// A large stable heap (`size` bytes loaded in the first 3 s) whose entries are replaced at
/// `replace_rate` bytes/s: new entries survive, random old ones die; the total stays flat.
pub(super) fn churn_service(seed: u64, until_ms: f64, size: f64, replace_rate: f64) -> Service {
    let mean_life_ms = size / replace_rate * SEC;
    Service::build(seed, until_ms, 20.0 * MIB, |t, rng, out| {
        garbage(t, 2.0 * MIB, out);
        let rate = if t < 3.0 * SEC { size / 3.0 } else { replace_rate };
        // Exponential lifetimes, in 200 parts per slice so deaths spread out as for many objects.
        for _ in 0..200 {
            let life = -mean_life_ms * (1.0 - rng.unit()).ln();
            let start = if t < 3.0 * SEC { 3.0 * SEC } else { t };
            out.push(Piece { at_ms: t, dies_ms: start + life, bytes: rate * SLICE_MS / SEC / 200.0 });
        }
    })
}

/// A leak of `rate` bytes/s under a working set in flight (requests holding `in_flight_rate`
/// bytes/s for 1.5 s) that shrinks by `shrink` over the run as a busier host serves fewer
/// requests: the post-GC heap, working set included, barely rises.
pub(super) fn leak_under_shrinking_working_set(
    seed: u64,
    until_ms: f64,
    rate: f64,
    in_flight_rate: f64,
    shrink: f64,
) -> Service {
    Service::build(seed, until_ms, 20.0 * MIB, |t, _, out| {
        garbage(t, 2.0 * MIB, out);
        retained(t, rate, f64::INFINITY, out);
        let served = in_flight_rate * (1.0 - shrink * t / until_ms);
        retained(t, served, t + 1_500.0, out);
    })
}

/// A leak into an array that grows 1.5x when full: the elements (`rate` bytes/s) stay, and each
/// reallocation allocates a new backing store (`store_share` of the elements' bytes) and leaves
/// the previous one to die; the seed sets when.
pub(super) fn array_leak_service(seed: u64, until_ms: f64, rate: f64, store_share: f64) -> Service {
    let mut service = Service::build(seed, until_ms, 20.0 * MIB, |t, _, out| {
        garbage(t, 2.0 * MIB, out);
        retained(t, rate, f64::INFINITY, out);
    });
    let mut reallocations = Vec::new();
    // The seed sets the phase of the reallocations.
    let mut capacity = 48.0 * KIB * 1.5f64.powf(seed as f64 / 10.0);
    while capacity / rate * SEC < until_ms {
        reallocations.push((capacity / rate * SEC, store_share * 1.5 * capacity));
        capacity *= 1.5;
    }
    for (k, &(at_ms, bytes)) in reallocations.iter().enumerate() {
        let dies_ms = reallocations.get(k + 1).map_or(f64::INFINITY, |next| next.0);
        service.pieces.push(Piece { at_ms, dies_ms, bytes });
    }
    service
}

/// A service that keeps `bytes` every `every_ms` and frees as much of what it allocated before
/// the sampler started (V8 replacing start-up code and feedback, a framework swapping entries of
/// a small table): new cohorts keep a few samples, the heap stays flat.
pub(super) fn replacing_keeper_service(seed: u64, until_ms: f64, bytes: f64, every_ms: f64) -> Service {
    let mut service = Service::build(seed, until_ms, 20.0 * MIB, |t, _, out| garbage(t, 2.0 * MIB, out));
    let mut t = every_ms;
    while t < until_ms {
        service.pieces.push(Piece { at_ms: t, dies_ms: f64::INFINITY, bytes });
        // Allocated before the first read: in no cohort.
        service.pieces.push(Piece { at_ms: -1.0, dies_ms: t, bytes });
        t += every_ms;
    }
    service
}

/// A healthy service with a bounded cache (it inserts `cache_rate` bytes/s, each entry evicted
/// `cache_life_ms` after its insertion) under request garbage, that starts leaking `rate`
/// bytes/s at `leak_from_ms`: the leak's cohorts also hold the cache's churn until it is evicted.
pub(super) fn late_leak_service(
    seed: u64,
    until_ms: f64,
    cache_rate: f64,
    cache_life_ms: f64,
    rate: f64,
    leak_from_ms: f64,
) -> Service {
    Service::build(seed, until_ms, 20.0 * MIB, |t, _, out| {
        garbage(t, 2.0 * MIB, out);
        retained(t, cache_rate, t + cache_life_ms, out);
        if t >= leak_from_ms {
            retained(t, rate, f64::INFINITY, out);
        }
    })
}

/// A FIFO store of `cap` bytes filling at `rate` bytes/s (each entry evicted `cap / rate` after
/// its insertion) whose cap doubles at `reload_ms` (a configuration reload): nothing is evicted
/// while it fills again, then entries live twice as long.
pub(super) fn reloaded_store_service(seed: u64, until_ms: f64, rate: f64, cap: f64, reload_ms: f64) -> Service {
    let life_ms = cap / rate * SEC;
    Service::build(seed, until_ms, 20.0 * MIB, |t, _, out| {
        garbage(t, 2.0 * MIB, out);
        let dies = if t + life_ms < reload_ms { t + life_ms } else { t + 2.0 * life_ms };
        retained(t, rate, dies, out);
    })
}
