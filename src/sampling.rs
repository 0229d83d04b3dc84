//! The allocation sampler's state and `.heapprofile` reading as JS values. JS owns the
//! inspector session and hands each profile over as JSON text; all grouping and
//! arithmetic is `leakwatch_core::sampling`.

use crate::error::Failure;
use crate::survival::SurvivalReading;
use crate::v8_sampling::{self, Unusable};
use leakwatch_core::sampling::state::Ranking;
use leakwatch_core::sampling::{
    frames::folded, parse_profile, rank_profile, read_profile_file, sites_that_grew, Frame, OfflineReport,
    ProfileError, ProfileFileError, SamplerConfig, SamplerState, Site,
};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::Path;

fn profile_error(name: &str, error: ProfileError) -> Failure {
    Failure::Profile { name: name.to_string(), error }
}

#[napi(object)]
#[derive(Default)]
pub struct SamplerOptions {
    /// The samplingInterval asked of V8, bytes.
    pub interval: Option<f64>,
    /// Frames per site (the allocating one and its callers).
    pub stack_depth: Option<u32>,
    /// Reads in the sliding window growth is judged over.
    pub window_reads: Option<u32>,
    pub max_cohorts: Option<u32>,
    pub max_sites: Option<u32>,
    /// Where leakwatch's own code lives (path and URL prefixes): its allocations are left out.
    pub own_code: Option<Vec<String>>,
}

/// The sampler's defaults (`SamplerConfig::default`, the one place they are set).
#[napi(object)]
pub struct SamplerDefaults {
    pub interval: f64,
    pub stack_depth: u32,
    pub window_reads: u32,
}

#[napi]
pub fn sampler_defaults() -> SamplerDefaults {
    let d = SamplerConfig::default();
    SamplerDefaults {
        interval: d.interval,
        stack_depth: u32::try_from(d.stack_depth).unwrap_or(u32::MAX),
        window_reads: u32::try_from(d.window_reads).unwrap_or(u32::MAX),
    }
}

fn to_config(options: &SamplerOptions) -> SamplerConfig {
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

/// One frame of an allocation stack. `line`/`column` are 1-based and locate the
/// function's definition (V8 does not record the allocating statement).
#[napi(object, js_name = "AllocationFrame")]
pub struct JsFrame {
    pub function_name: String,
    pub url: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// "app" | "internal" | "dependency" | "engine"
    pub kind: String,
    /// `file:line:column` ('' for engine frames).
    pub location: String,
}

fn to_js_frame(f: &Frame) -> JsFrame {
    JsFrame {
        function_name: f.display_name().to_string(),
        url: f.url.clone(),
        file: f.file(),
        line: f.line,
        column: f.column,
        kind: f.kind.as_str().to_string(),
        location: f.location(),
    }
}

/// An allocation site: the stack that allocated samples still alive.
#[napi(object, js_name = "AllocationSite")]
pub struct JsSite {
    /// The function that names the site: the first app frame from the allocating end.
    pub function_name: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub location: String,
    /// Estimated live bytes allocated by this stack.
    pub live_bytes: f64,
    /// Of those, allocated since the window began (and outlived a read period).
    pub window_bytes: f64,
    /// Growth since the window began (or between two profiles).
    pub growth_bytes: f64,
    pub samples: u32,
    pub growing: bool,
    /// Allocating frame first, then its callers; nothing dropped.
    pub stack: Vec<JsFrame>,
    /// The stack for people: app frames one per line, other runs folded into one line.
    pub folded: Vec<String>,
}

fn to_js_site(site: &Site) -> JsSite {
    let head = &site.frames[site.headline];
    JsSite {
        function_name: head.display_name().to_string(),
        file: head.file(),
        line: head.line,
        column: head.column,
        location: head.location(),
        live_bytes: site.live_bytes,
        window_bytes: site.window_bytes,
        growth_bytes: site.growth_bytes,
        samples: site.samples,
        growing: site.growing,
        stack: site.frames.iter().map(to_js_frame).collect(),
        folded: folded(&site.frames),
    }
}

#[napi(object, js_name = "SiteRanking")]
pub struct JsRanking {
    pub at_ms: f64,
    pub window_start_ms: f64,
    pub reads: f64,
    pub sites: Vec<JsSite>,
}

fn to_js_ranking(r: Ranking) -> JsRanking {
    JsRanking {
        at_ms: r.at_ms,
        window_start_ms: r.window_start_ms,
        reads: r.reads as f64,
        sites: r.sites.iter().map(to_js_site).collect(),
    }
}

/// The live sampler's state: fed one profile per read.
#[napi]
pub struct Sampler {
    state: SamplerState,
}

#[napi]
impl Sampler {
    #[napi(constructor, catch_unwind)]
    pub fn new(options: Option<SamplerOptions>, start_ms: f64) -> Self {
        Sampler { state: SamplerState::new(to_config(&options.unwrap_or_default()), start_ms) }
    }

    /// Take one read (the profile as JSON text) at `atMs`; returns the cohorts' survival.
    #[napi(catch_unwind)]
    pub fn ingest(&mut self, env: Env, profile: String, at_ms: f64) -> Result<SurvivalReading> {
        let profile =
            parse_profile(profile.as_bytes()).map_err(|e| profile_error("sampling heap profile", e).into_js(&env))?;
        Ok(SurvivalReading::from(self.state.ingest(&profile, at_ms)))
    }

    /// The cohorts' survival as of the latest read.
    #[napi(catch_unwind)]
    pub fn survival(&self) -> SurvivalReading {
        SurvivalReading::from(self.state.survival())
    }

    /// Leak sites (growing), or with `all` every stack with live samples.
    #[napi(catch_unwind)]
    pub fn ranking(&self, limit: u32, all: bool) -> JsRanking {
        to_js_ranking(self.state.ranking(limit as usize, all))
    }

    /// Read V8's profile natively (no GC) at `atMs` and take it in: `settled` when a full GC
    /// just ran (see `SamplerState::ingest_unsettled` for the others). Null when no sampling
    /// profiler runs any more (someone stopped it). Fails with
    /// ERR_LEAKWATCH_SAMPLING_FALLBACK when the profile does not read as verified.
    #[napi(catch_unwind)]
    pub fn ingest_native(&mut self, env: Env, at_ms: f64, settled: bool) -> Result<Option<NativeReading>> {
        let Some(profile) = v8_sampling::read(env.raw()).map_err(|e| unusable(&env, e))? else {
            return Ok(None);
        };
        let samples = profile.samples.len() as u32;
        let reading =
            if settled { self.state.ingest(&profile, at_ms) } else { self.state.ingest_unsettled(&profile, at_ms) };
        Ok(Some(NativeReading { reading: SurvivalReading::from(reading), samples }))
    }

    /// Forget everything (the profiler restarted: ordinals begin again).
    #[napi(catch_unwind)]
    pub fn reset(&mut self, at_ms: f64) {
        self.state.reset(at_ms);
    }

    /// [reads, sites, cohorts, frames]: the size of the sampler's own state.
    #[napi(catch_unwind)]
    pub fn footprint(&self) -> Vec<f64> {
        let (sites, cohorts, frames) = self.state.footprint();
        vec![self.state.reads() as f64, sites as f64, cohorts as f64, frames as f64]
    }
}

/// A native read: the survival reading and how many live samples the profile held.
#[napi(object)]
pub struct NativeReading {
    pub reading: SurvivalReading,
    pub samples: u32,
}

fn unusable(env: &Env, error: Unusable) -> Error {
    Failure::NativeSampling(error.0).into_js(env)
}

/// Once a native sampler ran: stop it when the environment is torn down (see
/// `v8_sampling::stop_at_teardown`).
fn stop_at_teardown(env: &Env) {
    static REGISTERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !REGISTERED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        // A failure leaves only the exit-time crash it prevents on Node 24: nothing to report.
        let _ = env.add_env_cleanup_hook((), |()| v8_sampling::stop_at_teardown());
    }
}

/// Self-check of the native sampler, step 1: starts V8's sampler at a fine interval; false
/// when another sampler already runs (nothing can be checked until it stops).
#[napi(catch_unwind)]
pub fn native_sampling_check_begin(env: Env) -> Result<bool> {
    stop_at_teardown(&env);
    v8_sampling::check_begin().map_err(|e| unusable(&env, e))
}

/// Self-check, step 2, after JS allocated from its probe function `name`, defined in `file`
/// at 1-based `line`: the profile read natively must show exactly that. Stops the check's
/// sampler; fails with ERR_LEAKWATCH_SAMPLING_FALLBACK and the reason otherwise.
#[napi(catch_unwind)]
pub fn native_sampling_check_end(env: Env, name: String, file: String, line: u32) -> Result<()> {
    v8_sampling::check_end(env.raw(), &name, &file, line as i64).map_err(|e| unusable(&env, e))
}

/// Start V8's sampler natively (no forced GCs): false when another sampler already runs.
#[napi(catch_unwind)]
pub fn native_sampling_start(env: Env, interval: f64, stack_depth: u32) -> Result<bool> {
    stop_at_teardown(&env);
    v8_sampling::start(interval.max(1.0) as u64, stack_depth).map_err(|e| unusable(&env, e))
}

/// Stop V8's sampler (whoever started it: it is one per isolate).
#[napi(catch_unwind)]
pub fn native_sampling_stop(env: Env) -> Result<()> {
    v8_sampling::stop().map_err(|e| unusable(&env, e))
}

/// The profile now as `.heapprofile` JSON, read natively (no GC); null when no sampler runs.
#[napi(catch_unwind)]
pub fn native_sampling_profile(env: Env) -> Result<Option<String>> {
    let profile = v8_sampling::read(env.raw()).map_err(|e| unusable(&env, e))?;
    Ok(profile.map(|p| p.to_json()))
}

/// Write the profile now as `.heapprofile` JSON, read natively (no GC), straight to the
/// open descriptor `fd` (not closed; no JS string of it is made: this runs when the heap
/// is nearly full). False when no sampler runs; a write error keeps its errno code.
#[napi(catch_unwind)]
pub fn native_sampling_write_profile(env: Env, fd: i32) -> Result<bool> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let Some(profile) = v8_sampling::read(env.raw()).map_err(|e| unusable(&env, e))? else {
        return Ok(false);
    };
    // SAFETY: `fd` is an open descriptor its caller owns for the whole call (lib/agent/pressure.js
    // passes the partial file's, open until its writer returns: leakwatch_os::files::write_with).
    // The `File` only borrows it: `ManuallyDrop` never drops it, so it is not closed here.
    let file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, &*file);
    profile.write_json(&mut out).and_then(|()| out.flush()).map_err(|error| {
        let error = leakwatch_os::FileError::Io { op: "write", path: "heap profile".into(), error };
        Failure::File(error).into_js(&env)
    })?;
    Ok(true)
}

#[napi(object, js_name = "ProfileSites")]
pub struct JsProfileSites {
    pub total_bytes: f64,
    pub samples: f64,
    pub sites: Vec<JsSite>,
}

fn to_js_report(r: OfflineReport) -> JsProfileSites {
    JsProfileSites {
        total_bytes: r.total_bytes,
        samples: r.samples as f64,
        sites: r.sites.iter().map(to_js_site).collect(),
    }
}

/// Sites of one `.heapprofile` file (by live bytes), or of two (what grew from the first
/// to the second). The files are read with the checks of every file the CLI reads.
#[napi(catch_unwind)]
pub fn profile_sites(env: Env, files: Vec<String>, stack_depth: u32, limit: u32) -> Result<JsProfileSites> {
    let mut profiles = Vec::new();
    for name in &files {
        let profile = read_profile_file(Path::new(name)).map_err(|e| match e {
            ProfileFileError::Read(error) => Failure::Read(error),
            ProfileFileError::Profile(error) => profile_error(name, error),
        });
        profiles.push(profile.map_err(|failure| failure.into_js(&env))?);
    }
    let depth = stack_depth as usize;
    let limit = limit as usize;
    match profiles.as_slice() {
        [one] => Ok(to_js_report(rank_profile(one, depth, limit))),
        [before, after] => Ok(to_js_report(sites_that_grew(before, after, depth, limit))),
        _ => Err(Failure::InvalidArg("profileSites expects one or two profiles").into_js(&env)),
    }
}
