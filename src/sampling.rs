//! V8's sampling profiler driven natively (start, stop, the self-check, the profile as
//! `.heapprofile` JSON) and `.heapprofile` files read. The live sampler's state is the
//! monitor's (`monitor.rs`): reads go there; all grouping and arithmetic is
//! `leakwatch_core::sampling`.

use crate::error::Failure;
use crate::v8_sampling::{self, Unusable};
use leakwatch_core::sampling::{
    rank_profile, read_profile_file, sites_that_grew, ProfileError, ProfileFileError, ProfileSites, SamplerOptions,
};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::Path;

pub(crate) fn profile_error(name: &str, error: ProfileError) -> Failure {
    Failure::Profile { name: name.to_string(), error }
}

/// The sampler's defaults, every option set (`SamplerConfig::default`, the one place they are set).
#[napi(catch_unwind)]
pub fn sampler_defaults() -> SamplerOptions {
    SamplerOptions::defaults()
}

pub(crate) fn unusable(env: &Env, error: Unusable) -> Error {
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

/// Sites of one `.heapprofile` file (by live bytes), or of two (what grew from the first
/// to the second). The files are read with the checks of every file the CLI reads.
#[napi(catch_unwind)]
pub fn profile_sites(env: Env, files: Vec<String>, stack_depth: u32, limit: u32) -> Result<ProfileSites> {
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
        [one] => Ok(ProfileSites::from(rank_profile(one, depth, limit))),
        [before, after] => Ok(ProfileSites::from(sites_that_grew(before, after, depth, limit))),
        _ => Err(Failure::InvalidArg("profileSites expects one or two profiles").into_js(&env)),
    }
}
