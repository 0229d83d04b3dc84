//! The dump signal (SIGUSR2 by default) caught on a Rust thread, and the one-dump-at-a-time
//! lock shared by every way a dump can start.
//!
//! The thread asks the main thread (through a weak threadsafe function, so the process
//! can still exit) and, if the main thread has not taken the request within
//! `stuck_after_ms`, hands it to the watchdog worker, which pauses the main thread through
//! the inspector's debugger and dumps it even while its event loop is stuck.
//!
//! libuv replaces the signal's handler when the app calls `process.on(signal)` and resets
//! it to the default (terminate) when the last listener goes; it never chains. So the
//! handler signal-hook installs is saved and put back by [`signal_rearm`] whenever JS sees
//! the app's listeners change. That handler chains to libuv's (captured at install time),
//! so the app's own listeners keep working too.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const IDLE: u8 = 0;
const REQUESTED: u8 = 1;
const BUSY: u8 = 2;

/// IDLE -> REQUESTED (signal thread) -> BUSY (whoever dumps) -> IDLE.
static DUMP_STATE: AtomicU8 = AtomicU8::new(IDLE);

type MainCallback = ThreadsafeFunction<u32, (), u32, Status, false, true>;
type WatchdogCallback = ThreadsafeFunction<u32, (), u32, Status, false, true>;

struct Watch {
    signal: i32,
    saved: libc::sigaction,
}

// SAFETY: sigaction is plain data (a function pointer, a mask and flags).
unsafe impl Send for Watch {}

static WATCH: Mutex<Option<Watch>> = Mutex::new(None);
static WATCHDOG: Mutex<Option<WatchdogCallback>> = Mutex::new(None);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Start catching `signal` on a Rust thread. Call once per process; later calls fail.
#[napi(catch_unwind)]
pub fn signal_watch(
    signal: i32,
    on_signal: ThreadsafeFunction<u32, (), u32, Status, false, true>,
    stuck_after_ms: u32,
) -> Result<()> {
    let mut watch = lock(&WATCH);
    if watch.is_some() {
        return Err(Error::from_reason("leakwatch already watches a signal in this process"));
    }
    let mut signals = signal_hook::iterator::Signals::new([signal])
        .map_err(|e| Error::from_reason(format!("cannot watch signal {signal}: {e}")))?;
    let saved = current_action(signal).ok_or_else(|| Error::from_reason("sigaction failed"))?;
    let main: MainCallback = on_signal;
    std::thread::Builder::new()
        .name("leakwatch-signal".into())
        .spawn(move || {
            for caught in signals.forever() {
                if DUMP_STATE.compare_exchange(IDLE, REQUESTED, Ordering::AcqRel, Ordering::Acquire).is_err() {
                    continue; // a dump is already under way: a storm gives one dump
                }
                main.call(caught as u32, ThreadsafeFunctionCallMode::NonBlocking);
                hand_over_if_stuck(caught as u32, Duration::from_millis(u64::from(stuck_after_ms)));
            }
        })
        .map_err(|e| Error::from_reason(format!("cannot start the signal thread: {e}")))?;
    *watch = Some(Watch { signal, saved });
    Ok(())
}

/// If the main thread has not taken the request in time, give it to the watchdog.
fn hand_over_if_stuck(signal: u32, patience: Duration) {
    let start = Instant::now();
    while start.elapsed() < patience {
        if DUMP_STATE.load(Ordering::Acquire) != REQUESTED {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let watchdog = lock(&WATCHDOG);
    if let Some(callback) = watchdog.as_ref() {
        if DUMP_STATE.compare_exchange(REQUESTED, BUSY, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            let status = callback.call(signal, ThreadsafeFunctionCallMode::NonBlocking);
            if status != Status::Ok {
                // The worker is gone: leave the request to the main thread again.
                DUMP_STATE.store(REQUESTED, Ordering::Release);
            }
        }
    }
}

fn current_action(signal: i32) -> Option<libc::sigaction> {
    // SAFETY: querying the current action with a null new action changes nothing.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        (libc::sigaction(signal, std::ptr::null(), &mut action) == 0).then_some(action)
    }
}

/// Put leakwatch's handler back after libuv replaced it or reset it to the default.
/// Returns true when it had to be restored.
#[napi(catch_unwind)]
pub fn signal_rearm() -> bool {
    let watch = lock(&WATCH);
    let Some(watch) = watch.as_ref() else { return false };
    let Some(now) = current_action(watch.signal) else { return false };
    if now.sa_sigaction == watch.saved.sa_sigaction {
        return false;
    }
    // SAFETY: reinstating the exact action signal-hook installed for this signal.
    unsafe { libc::sigaction(watch.signal, &watch.saved, std::ptr::null_mut()) == 0 }
}

/// Called by the watchdog worker: it will be handed requests the main thread cannot take.
/// Weak: the worker stays alive through its message port, and exits with the process.
#[napi(catch_unwind)]
pub fn watchdog_register(on_stuck: ThreadsafeFunction<u32, (), u32, Status, false, true>) {
    *lock(&WATCHDOG) = Some(on_stuck);
}

#[napi(catch_unwind)]
pub fn watchdog_unregister() {
    lock(&WATCHDOG).take();
}

/// Take the dump lock. `for_signal`: take a pending signal request (the main thread
/// answering the signal thread); otherwise start a new dump only if none is running.
#[napi(catch_unwind)]
pub fn dump_begin(for_signal: bool) -> bool {
    let from = if for_signal { REQUESTED } else { IDLE };
    DUMP_STATE.compare_exchange(from, BUSY, Ordering::AcqRel, Ordering::Acquire).is_ok()
}

/// The watchdog could not dump (a debugger holds the main thread, or it never paused):
/// give the request back to the main thread, which serves it when its loop runs again.
#[napi(catch_unwind)]
pub fn dump_defer() {
    let _ = DUMP_STATE.compare_exchange(BUSY, REQUESTED, Ordering::AcqRel, Ordering::Acquire);
}

#[napi(catch_unwind)]
pub fn dump_end() {
    DUMP_STATE.store(IDLE, Ordering::Release);
}

/// Sequence numbers for default file names, shared by the main thread and the watchdog.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

#[napi(catch_unwind)]
pub fn next_dump_sequence() -> u32 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed) + 1
}
