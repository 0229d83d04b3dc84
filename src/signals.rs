//! The dump signal (SIGUSR2 by default) caught on a Rust thread, and the one-dump-at-a-time
//! lock shared by every way a dump can start.
//!
//! The thread asks the main thread (through a weak threadsafe function, so the process
//! can still exit) and, if the main thread has not taken the request within
//! `stuck_after_ms`, hands it to the watchdog worker, which pauses the main thread through
//! the inspector's debugger and dumps it even while its event loop is stuck.
//!
//! libuv replaces the signal's handler when the first handle for it starts (Node's, for
//! the first `process.on(signal)` listener) and resets it to the default (terminate) when
//! the last one stops, in any loop of the process; it never chains. leakwatch starts a
//! handle of its own on a private loop that never runs and never stops ([`keep_handler`]),
//! so libuv never resets the signal: not when the app removes every listener, not when
//! Node closes its handles at exit (a dump signal then would kill a process exiting with a
//! code of its own). The handler signal-hook installs is saved and put back by
//! [`signal_rearm`] should anything else replace it. That handler chains to libuv's
//! (captured at install time), so the app's own listeners keep working too.
//!
//! The one-dump lock records which environment holds it; an env cleanup hook releases it
//! (and removes that environment's partial file) when the holder goes away mid-dump.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::cell::Cell;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const IDLE: u8 = 0;
const REQUESTED: u8 = 1;
const BUSY: u8 = 2;

/// IDLE -> REQUESTED (signal thread) -> BUSY (whoever dumps) -> IDLE.
static DUMP_STATE: AtomicU8 = AtomicU8::new(IDLE);

/// The environment (main thread, a worker, the watchdog) holding BUSY; 0 = none. When
/// that environment goes away (a worker terminated mid-dump), its cleanup hook releases
/// the lock and removes its partial file, so dumps keep working for the process.
static OWNER: AtomicU64 = AtomicU64::new(0);
/// When BUSY was taken, in milliseconds since [`epoch`] (0 = not busy).
static BUSY_SINCE_MS: AtomicU64 = AtomicU64::new(0);
/// The partial file the lock holder is writing: (owner, path, device, inode).
static PARTIAL: Mutex<Option<(u64, PathBuf, u64, u64)>> = Mutex::new(None);
/// Environment ids; each napi environment runs on its own thread in Node.
static NEXT_ENV: AtomicU64 = AtomicU64::new(1);
/// The watchdog's environment: it owns the lock when the signal thread hands it a dump.
static WATCHDOG_ENV: AtomicU64 = AtomicU64::new(0);
/// The lock holder took it for a dump signal (from REQUESTED): a signal arriving meanwhile
/// is served by that very dump. A dump started otherwise (the API, a worker's own) does
/// not answer a signal: the signal waits for it to end and then asks for its own.
static SIGNAL_DUMP: AtomicBool = AtomicBool::new(false);
/// When the pending request (REQUESTED) was made or handed back, in ms since [`epoch`].
static REQUESTED_SINCE_MS: AtomicU64 = AtomicU64::new(0);
/// A request pending this long is handed to the watchdog again on the next signal: the
/// main thread may have gone from native code (where the watchdog gave up and handed it
/// back) into a busy JS loop, where it can be paused. At most once per this long, so a
/// storm during a long block queues few calls.
const REHAND_AFTER_MS: u64 = 10_000;

thread_local! {
    static ENV_ID: Cell<u64> = const { Cell::new(0) };
}

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    // +1: 0 means "not busy".
    epoch().elapsed().as_millis() as u64 + 1
}

/// This environment's id, registering the hook that frees the lock when it goes away.
fn env_id(env: &Env) -> u64 {
    ENV_ID.with(|cell| {
        if cell.get() == 0 {
            let id = NEXT_ENV.fetch_add(1, Ordering::Relaxed);
            // Without the hook the id still tells owners apart; only the release at
            // teardown is lost.
            let _ = env.add_env_cleanup_hook(id, release_if_owner);
            cell.set(id);
        }
        cell.get()
    })
}

/// The environment `id` is being torn down: if it held the dump lock, remove the partial
/// file it was writing (only if it is still the file it created) and release the lock.
fn release_if_owner(id: u64) {
    let partial = {
        let mut partial = lock(&PARTIAL);
        if partial.as_ref().is_some_and(|p| p.0 == id) {
            partial.take()
        } else {
            None
        }
    };
    if let Some((_, path, dev, ino)) = partial {
        // A named partial: removed only if it is still the file it created. An unnamed one
        // (O_TMPFILE, known by its /proc/self/fd link) has no name to remove.
        if !path.starts_with("/proc/self/fd")
            && std::fs::symlink_metadata(&path).is_ok_and(|m| m.dev() == dev && m.ino() == ino)
        {
            let _ = std::fs::remove_file(&path);
        }
        crate::files::close_descriptors_of(dev, ino, None);
    }
    if OWNER.compare_exchange(id, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
        BUSY_SINCE_MS.store(0, Ordering::Release);
        DUMP_STATE.store(IDLE, Ordering::Release);
    }
    if WATCHDOG_ENV.load(Ordering::Acquire) == id {
        WATCHDOG_ENV.store(0, Ordering::Release);
    }
}

fn take_busy(from: u8, owner: u64) -> bool {
    if DUMP_STATE.compare_exchange(from, BUSY, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return false;
    }
    OWNER.store(owner, Ordering::Release);
    SIGNAL_DUMP.store(from == REQUESTED, Ordering::Release);
    BUSY_SINCE_MS.store(now_ms(), Ordering::Release);
    true
}

/// How long the lock has been held (0 when it is not).
fn busy_for_ms() -> u64 {
    let since = BUSY_SINCE_MS.load(Ordering::Acquire);
    if since == 0 || DUMP_STATE.load(Ordering::Acquire) != BUSY {
        0
    } else {
        now_ms().saturating_sub(since)
    }
}

type MainCallback = ThreadsafeFunction<u32, (), u32, Status, false, true>;
type WatchdogCallback = ThreadsafeFunction<u32, (), u32, Status, false, true>;

struct Watch {
    signal: i32,
    saved: libc::sigaction,
}

// SAFETY: `Watch` holds only plain data (the signal number and a `sigaction`: a handler
// address, a mask and flags), no pointer to anything owned by a thread, so moving it to
// another thread (the `WATCH` mutex) is sound.
unsafe impl Send for Watch {}

static WATCH: Mutex<Option<Watch>> = Mutex::new(None);
static WATCHDOG: Mutex<Option<WatchdogCallback>> = Mutex::new(None);
/// The main thread's callback: the signal thread asks through it, and the watchdog's
/// hand-back ([`dump_defer`]) asks again through it, so a request it gives back is
/// always served (the main thread may have run its first call while the watchdog held
/// the lock, and dropped it).
static MAIN: Mutex<Option<Arc<MainCallback>>> = Mutex::new(None);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
    let mut watch = lock(&WATCH);
    if watch.is_some() {
        return Err(Error::from_reason("leakwatch already watches a signal in this process"));
    }
    keep_handler(signal).map_err(|e| Error::from_reason(format!("cannot watch signal {signal}: {e}")))?;
    let mut signals = signal_hook::iterator::Signals::new([signal])
        .map_err(|e| Error::from_reason(format!("cannot watch signal {signal}: {e}")))?;
    let saved = current_action(signal).ok_or_else(|| Error::from_reason("sigaction failed"))?;
    let main: Arc<MainCallback> = Arc::new(on_signal);
    *lock(&MAIN) = Some(Arc::clone(&main));
    std::thread::Builder::new()
        .name("leakwatch-signal".into())
        .spawn(move || {
            let mut reports = BusyReports { after_ms: u64::from(busy_report_after_ms), last: None };
            for caught in signals.forever() {
                loop {
                    match DUMP_STATE.compare_exchange(IDLE, REQUESTED, Ordering::AcqRel, Ordering::Acquire) {
                        Ok(_) => {
                            REQUESTED_SINCE_MS.store(now_ms(), Ordering::Release);
                            main.call(caught as u32, ThreadsafeFunctionCallMode::NonBlocking);
                            hand_over_if_stuck(caught as u32, Duration::from_millis(u64::from(stuck_after_ms)));
                            break;
                        }
                        // A request is pending (handed to the watchdog again when it has
                        // waited long), or a dump for a signal is under way: a storm gives
                        // one dump. One that has held the lock for longer than a dump can
                        // take is reported.
                        Err(REQUESTED) => {
                            let since = REQUESTED_SINCE_MS.load(Ordering::Acquire);
                            let patience = u64::from(stuck_after_ms).max(REHAND_AFTER_MS);
                            if now_ms().saturating_sub(since) > patience {
                                REQUESTED_SINCE_MS.store(now_ms(), Ordering::Release);
                                hand_over_if_stuck(caught as u32, Duration::ZERO);
                            }
                            break;
                        }
                        Err(_) if SIGNAL_DUMP.load(Ordering::Acquire) => {
                            reports.report_if_held_long(&main);
                            break;
                        }
                        // Another dump (the API's, a worker's own snapshot of its
                        // isolate) holds the lock: this request waits for it to end,
                        // then asks for its own (signals meanwhile join it).
                        Err(_) => {
                            reports.report_if_held_long(&main);
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
            }
        })
        .map_err(|e| Error::from_reason(format!("cannot start the signal thread: {e}")))?;
    *watch = Some(Watch { signal, saved });
    Ok(())
}

/// Requests refused or waiting behind a dump that has held the lock for longer than a dump
/// can take are reported to the main thread (`on_signal(0)`), at most once per `after_ms`
/// (and 1 s), so a storm stays bounded.
struct BusyReports {
    after_ms: u64,
    last: Option<Instant>,
}

impl BusyReports {
    fn report_if_held_long(&mut self, main: &MainCallback) {
        let quiet = self.last.is_some_and(|t| t.elapsed() < Duration::from_millis(self.after_ms.max(1000)));
        if busy_for_ms() > self.after_ms && !quiet {
            self.last = Some(Instant::now());
            main.call(0, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
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
    let watchdog_env = WATCHDOG_ENV.load(Ordering::Acquire);
    if let Some(callback) = watchdog.as_ref() {
        if take_busy(REQUESTED, watchdog_env) {
            let status = callback.call(signal, ThreadsafeFunctionCallMode::NonBlocking);
            if status != Status::Ok {
                // The worker is gone: leave the request to the main thread again.
                give_back(signal);
            }
        }
    }
}

/// libuv as the node executable exports it: the copy whose process-wide table of signal
/// handles Node's own handles are in (a crate bundling libuv would have a table of its own).
mod uv {
    use std::ffi::{c_int, c_void};
    /// `UV_SIGNAL` in `uv_handle_type` (uv.h; stable since libuv 1.0).
    pub const SIGNAL: c_int = 16;
    extern "C" {
        pub fn uv_loop_size() -> usize;
        pub fn uv_handle_size(kind: c_int) -> usize;
        pub fn uv_loop_init(event_loop: *mut c_void) -> c_int;
        pub fn uv_signal_init(event_loop: *mut c_void, handle: *mut c_void) -> c_int;
        pub fn uv_signal_start(
            handle: *mut c_void,
            callback: extern "C" fn(*mut c_void, c_int),
            signum: c_int,
        ) -> c_int;
        pub fn uv_strerror(code: c_int) -> *const std::ffi::c_char;
    }
}

extern "C" fn never_called(_: *mut std::ffi::c_void, _: std::ffi::c_int) {}

/// A libuv handle for `signal` that stays started for the life of the process, on a loop
/// of its own that never runs (its few descriptors and bytes are leaked on purpose). While
/// it exists libuv never resets the signal to its default action. Signals reaching libuv's
/// handler queue a 16-byte message in that loop's non-blocking pipe; once the pipe is full
/// libuv drops them. Call once, after Node's handle for `signal` started (so that libuv's
/// handler is already installed and this changes no action).
fn keep_handler(signal: i32) -> std::result::Result<(), String> {
    let fail = |code: std::ffi::c_int| {
        // SAFETY: uv_strerror accepts any code and returns a non-null, NUL-terminated string
        // that lives for the whole process (a static, or a leaked one for unknown codes).
        unsafe { std::ffi::CStr::from_ptr(uv::uv_strerror(code)) }.to_string_lossy().into_owned()
    };
    // Zeroed, 8-byte aligned memory of the sizes libuv reports, never freed.
    let leak = |bytes: usize| Box::leak(vec![0u64; bytes.div_ceil(8)].into_boxed_slice()).as_mut_ptr().cast();
    // SAFETY: the loop and the handle get memory of the sizes libuv asks for, alive for
    // the rest of the process; the loop is initialised before the handle uses it.
    unsafe {
        let event_loop = leak(uv::uv_loop_size());
        let handle = leak(uv::uv_handle_size(uv::SIGNAL));
        match uv::uv_loop_init(event_loop) {
            0 => {}
            code => return Err(fail(code)),
        }
        match uv::uv_signal_init(event_loop, handle) {
            0 => {}
            code => return Err(fail(code)),
        }
        match uv::uv_signal_start(handle, never_called, signal) {
            0 => Ok(()),
            code => Err(fail(code)),
        }
    }
}

fn current_action(signal: i32) -> Option<libc::sigaction> {
    // SAFETY: all zero bytes is a valid `sigaction` (plain C data). sigaction with a null
    // new action only writes the current one into `action`, a valid, writable struct.
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
    // SAFETY: `watch.saved` is a valid action for this signal (read back with sigaction
    // after signal-hook installed it); the old action is not asked for (null).
    unsafe { libc::sigaction(watch.signal, &watch.saved, std::ptr::null_mut()) == 0 }
}

/// Called by the watchdog worker: it will be handed requests the main thread cannot take.
/// Weak: the worker stays alive through its message port, and exits with the process.
#[napi(catch_unwind)]
pub fn watchdog_register(env: Env, on_stuck: ThreadsafeFunction<u32, (), u32, Status, false, true>) {
    WATCHDOG_ENV.store(env_id(&env), Ordering::Release);
    *lock(&WATCHDOG) = Some(on_stuck);
}

#[napi(catch_unwind)]
pub fn watchdog_unregister() {
    lock(&WATCHDOG).take();
}

/// Take the dump lock. `for_signal`: take a pending signal request (the main thread
/// answering the signal thread); otherwise start a new dump only if none is running.
/// The lock is held by this environment until [`dump_end`], or until the environment
/// goes away (its cleanup hook releases it).
#[napi(catch_unwind)]
pub fn dump_begin(env: Env, for_signal: bool) -> bool {
    let from = if for_signal { REQUESTED } else { IDLE };
    take_busy(from, env_id(&env))
}

/// The watchdog could not dump (a debugger holds the main thread, it is blocked in native
/// code, or it never paused): give the request back to the main thread, which serves it
/// when its loop runs again.
#[napi(catch_unwind)]
pub fn dump_defer(env: Env, signal: u32) {
    if OWNER.load(Ordering::Acquire) == env_id(&env) {
        give_back(signal);
    }
}

/// BUSY (held for a signal) -> REQUESTED, and ask the main thread (again): its first call
/// may already have run, and found the lock taken. A second call that finds the request
/// served is a no-op ([`dump_begin`] fails).
fn give_back(signal: u32) {
    OWNER.store(0, Ordering::Release);
    BUSY_SINCE_MS.store(0, Ordering::Release);
    if DUMP_STATE.compare_exchange(BUSY, REQUESTED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
        REQUESTED_SINCE_MS.store(now_ms(), Ordering::Release);
        if let Some(main) = lock(&MAIN).as_ref() {
            main.call(signal.max(1), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// Release the lock if this environment holds it (a worker's late call after its lock
/// was released and taken by another must not free someone else's dump).
#[napi(catch_unwind)]
pub fn dump_end(env: Env) {
    let me = env_id(&env);
    lock(&PARTIAL).take_if(|p| p.0 == me);
    if OWNER.compare_exchange(me, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
        BUSY_SINCE_MS.store(0, Ordering::Release);
        DUMP_STATE.store(IDLE, Ordering::Release);
    }
}

/// How long the dump lock has been held, in milliseconds (0: free or only requested).
#[napi(catch_unwind)]
pub fn dump_busy_ms() -> f64 {
    busy_for_ms() as f64
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// The process is exiting: from now on `signum` is caught and dropped (no dump is
/// requested while Node tears down). A handler, not SIG_IGN: Node's teardown resets
/// ignored signals to their default action before the process is gone, and leaves
/// handlers alone. [`keep_handler`] keeps libuv from resetting it when Node closes its
/// handles.
#[napi(catch_unwind)]
pub fn signal_ignore(signum: i32) {
    // SAFETY: all zero bytes is a valid `sigaction` (plain C data), filled in before use;
    // the handler installed does nothing (trivially async-signal-safe), and the old action
    // is not asked for (null).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(signum, &action, std::ptr::null_mut());
    }
}

/// The lock holder names the partial file it created (null once it is renamed or
/// removed), so that the cleanup hook can remove it if the holder goes away mid-dump:
/// its name, or `/proc/self/fd/N` for an unnamed (O_TMPFILE) one.
#[napi(catch_unwind)]
pub fn dump_partial(env: Env, path: Option<String>) {
    let me = env_id(&env);
    let mut partial = lock(&PARTIAL);
    match path {
        Some(path) if OWNER.load(Ordering::Acquire) == me => {
            let meta = if path.starts_with("/proc/self/fd/") {
                std::fs::metadata(&path)
            } else {
                std::fs::symlink_metadata(&path)
            };
            if let Ok(meta) = meta {
                *partial = Some((me, PathBuf::from(path), meta.dev(), meta.ino()));
            }
        }
        Some(_) => {}
        None => {
            partial.take_if(|p| p.0 == me);
        }
    }
}

/// Sequence numbers for default file names, shared by the main thread and the watchdog.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

#[napi(catch_unwind)]
pub fn next_dump_sequence() -> u32 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed) + 1
}
