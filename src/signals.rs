//! The dump signal and the one-dump lock, for JS: `leakwatch_os::signal` and
//! `leakwatch_os::lock` do the work; this file gives each Node environment (main thread,
//! a worker, the watchdog) its owner number, and turns JS callbacks into thread-safe
//! functions the signal thread calls.
//!
//! The signal thread asks the main thread (through a weak threadsafe function, so the
//! process can still exit) and, if the main thread has not taken the request within
//! `stuck_after_ms`, hands it to the watchdog worker, which pauses the main thread through
//! the inspector's debugger and dumps it even while its event loop is stuck.
//!
//! An env cleanup hook releases the lock (and cleans up that environment's partial file)
//! when the holder goes away mid-dump.

use leakwatch_os::lock::{Call, DUMP_LOCK};
use leakwatch_os::signal::{self, WatchOptions};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Environment ids; each napi environment runs on its own thread in Node.
static NEXT_ENV: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static ENV_ID: Cell<u64> = const { Cell::new(0) };
}

/// This environment's owner number, registering the hook that frees the lock when it goes away.
pub(crate) fn env_id(env: &Env) -> u64 {
    ENV_ID.with(|cell| {
        if cell.get() == 0 {
            let id = NEXT_ENV.fetch_add(1, Ordering::Relaxed);
            // Without the hook the id still tells owners apart; only the release at
            // teardown is lost.
            let _ = env.add_env_cleanup_hook(id, |id| DUMP_LOCK.release_if_owner(id));
            cell.set(id);
        }
        cell.get()
    })
}

type SignalCallback = ThreadsafeFunction<u32, (), u32, Status, false, true>;

/// A weak, non-blocking call into JS: true if it was queued (false: the thread is gone).
fn call_into(callback: SignalCallback) -> Call {
    Arc::new(move |signal| callback.call(signal, ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok)
}

/// Start catching `signal` on a Rust thread. Call once per process; later calls fail.
/// `on_signal(signal)` asks for a dump; `on_signal(0)` says a signal was refused because
/// a dump has held the lock for longer than `busy_report_after_ms` (at most one such
/// call per `busy_report_after_ms`, so a storm stays bounded).
#[napi(catch_unwind)]
pub fn signal_watch(
    signal: i32,
    on_signal: ThreadsafeFunction<u32, (), u32, Status, false, true>,
    stuck_after_ms: u32,
    busy_report_after_ms: u32,
) -> Result<()> {
    let options = WatchOptions {
        stuck_after: Duration::from_millis(u64::from(stuck_after_ms)),
        busy_report_after_ms: u64::from(busy_report_after_ms),
        keep_libuv_handler: true,
    };
    signal::watch(&DUMP_LOCK, signal, call_into(on_signal), options).map_err(Error::from_reason)
}

/// Put leakwatch's handler back after libuv replaced it or reset it to the default.
/// Returns true when it had to be restored.
#[napi(catch_unwind)]
pub fn signal_rearm() -> bool {
    signal::rearm()
}

/// The process is exiting: from now on `signum` is caught and dropped (no dump is
/// requested while Node tears down; see `leakwatch_os::signal::ignore`).
#[napi(catch_unwind)]
pub fn signal_ignore(signum: i32) {
    signal::ignore(signum)
}

/// Called by the watchdog worker: it will be handed requests the main thread cannot take.
/// Weak: the worker stays alive through its message port, and exits with the process.
#[napi(catch_unwind)]
pub fn watchdog_register(env: Env, on_stuck: ThreadsafeFunction<u32, (), u32, Status, false, true>) {
    DUMP_LOCK.set_watchdog(env_id(&env), call_into(on_stuck));
}

#[napi(catch_unwind)]
pub fn watchdog_unregister() {
    DUMP_LOCK.clear_watchdog();
}

/// Take the dump lock. `for_signal`: take a pending signal request (the main thread
/// answering the signal thread); otherwise start a new dump only if none is running.
/// The lock is held by this environment until [`dump_end`], or until the environment
/// goes away (its cleanup hook releases it).
#[napi(catch_unwind)]
pub fn dump_begin(env: Env, for_signal: bool) -> bool {
    DUMP_LOCK.begin(env_id(&env), for_signal)
}

/// The watchdog could not dump (a debugger holds the main thread, it is blocked in native
/// code, or it never paused): give the request back to the main thread, which serves it
/// when its loop runs again.
#[napi(catch_unwind)]
pub fn dump_defer(env: Env, signal: u32) {
    DUMP_LOCK.defer(env_id(&env), signal)
}

/// Release the lock if this environment holds it (a worker's late call after its lock
/// was released and taken by another must not free someone else's dump).
#[napi(catch_unwind)]
pub fn dump_end(env: Env) {
    DUMP_LOCK.end(env_id(&env))
}

/// How long the dump lock has been held, in milliseconds (0: free or only requested).
#[napi(catch_unwind)]
pub fn dump_busy_ms() -> f64 {
    DUMP_LOCK.busy_for_ms() as f64
}

/// Sequence numbers for default file names, shared by the main thread and the watchdog.
#[napi(catch_unwind)]
pub fn next_dump_sequence() -> u32 {
    DUMP_LOCK.next_sequence()
}
