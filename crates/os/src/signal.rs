//! The dump signal (SIGUSR2 by default) caught on a thread of its own, which serves each
//! one through the [`DumpLock`] (ask the main thread; hand it to the watchdog when the main
//! thread is stuck).
//!
//! libuv replaces the signal's handler when the first handle for it starts (Node's, for
//! the first `process.on(signal)` listener) and resets it to the default (terminate) when
//! the last one stops, in any loop of the process; it never chains. leakwatch starts a
//! handle of its own on a private loop that never runs and never stops ([`keep_handler`]),
//! so libuv never resets the signal: not when the app removes every listener, not when
//! Node closes its handles at exit (a dump signal then would kill a process exiting with a
//! code of its own). The handler signal-hook installs is saved and put back by [`rearm`]
//! should anything else replace it. That handler chains to libuv's (captured at install
//! time), so the app's own listeners keep working too.

use crate::lock::{BusyReports, Call, DumpLock};
use std::sync::Mutex;
use std::time::Duration;

struct Watch {
    signal: i32,
    saved: libc::sigaction,
}

// SAFETY: `Watch` holds only plain data (the signal number and a `sigaction`: a handler
// address, a mask and flags), no pointer to anything owned by a thread, so moving it to
// another thread (the `WATCH` mutex) is sound.
unsafe impl Send for Watch {}

static WATCH: Mutex<Option<Watch>> = Mutex::new(None);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How a watch is set up.
pub struct WatchOptions {
    /// How long the main thread may take to take a request before the watchdog gets it.
    pub stuck_after: Duration,
    /// A dump holding the lock longer than this makes refused requests reported (`main(0)`).
    pub busy_report_after_ms: u64,
    /// Keep a libuv handle for the signal ([`keep_handler`]): in a Node process only.
    pub keep_libuv_handler: bool,
}

/// Start catching `signal` on a thread of its own, serving each through `dump`: `main(signal)`
/// asks the main thread for a dump, `main(0)` says a signal was refused because a dump has
/// held the lock for too long. Once per process; later calls fail.
pub fn watch(dump: &'static DumpLock, signal: i32, main: Call, options: WatchOptions) -> Result<(), String> {
    let mut watch = lock(&WATCH);
    if watch.is_some() {
        return Err("leakwatch already watches a signal in this process".into());
    }
    if options.keep_libuv_handler {
        keep_handler(signal).map_err(|e| format!("cannot watch signal {signal}: {e}"))?;
    }
    let mut signals =
        signal_hook::iterator::Signals::new([signal]).map_err(|e| format!("cannot watch signal {signal}: {e}"))?;
    let saved = current_action(signal).ok_or("sigaction failed")?;
    dump.set_main(main);
    std::thread::Builder::new()
        .name("leakwatch-signal".into())
        .spawn(move || {
            let mut reports = BusyReports::new(options.busy_report_after_ms);
            for caught in signals.forever() {
                dump.serve_signal(caught as u32, options.stuck_after, &mut reports);
            }
        })
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;
    *watch = Some(Watch { signal, saved });
    Ok(())
}

/// libuv's entry points, looked up in the process (the copy the node executable exports,
/// whose process-wide table of signal handles Node's own handles are in; a crate bundling
/// libuv would have a table of its own). Looked up at run time, so that this crate links
/// and is tested outside Node, where they are absent.
mod uv {
    use std::ffi::{c_char, c_int, c_void, CStr};

    /// `UV_SIGNAL` in `uv_handle_type` (uv.h; stable since libuv 1.0).
    pub const SIGNAL: c_int = 16;

    pub type SignalCallback = extern "C" fn(*mut c_void, c_int);

    pub struct Uv {
        pub loop_size: unsafe extern "C" fn() -> usize,
        pub handle_size: unsafe extern "C" fn(c_int) -> usize,
        pub loop_init: unsafe extern "C" fn(*mut c_void) -> c_int,
        pub signal_init: unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int,
        pub signal_start: unsafe extern "C" fn(*mut c_void, SignalCallback, c_int) -> c_int,
        pub strerror: unsafe extern "C" fn(c_int) -> *const c_char,
    }

    fn symbol(name: &CStr) -> Option<*mut c_void> {
        // SAFETY: dlsym with the default search scope and a NUL-terminated name only reads.
        let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        (!found.is_null()).then_some(found)
    }

    /// libuv's functions, or `None` when this process has no libuv (outside Node).
    pub fn find() -> Option<Uv> {
        // SAFETY: each symbol is libuv's function of that name, whose C signature (uv.h,
        // stable since libuv 1.0) is the function pointer type it is turned into.
        unsafe {
            Some(Uv {
                loop_size: std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> usize>(symbol(
                    c"uv_loop_size",
                )?),
                handle_size: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(c_int) -> usize>(symbol(
                    c"uv_handle_size",
                )?),
                loop_init: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void) -> c_int>(symbol(
                    c"uv_loop_init",
                )?),
                signal_init: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int>(
                    symbol(c"uv_signal_init")?,
                ),
                signal_start: std::mem::transmute::<
                    *mut c_void,
                    unsafe extern "C" fn(*mut c_void, SignalCallback, c_int) -> c_int,
                >(symbol(c"uv_signal_start")?),
                strerror: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(c_int) -> *const c_char>(symbol(
                    c"uv_strerror",
                )?),
            })
        }
    }
}

extern "C" fn never_called(_: *mut std::ffi::c_void, _: std::ffi::c_int) {}

/// A libuv handle for `signal` that stays started for the life of the process, on a loop
/// of its own that never runs (its few descriptors and bytes are leaked on purpose). While
/// it exists libuv never resets the signal to its default action. Signals reaching libuv's
/// handler queue a 16-byte message in that loop's non-blocking pipe; once the pipe is full
/// libuv drops them. Call once, after Node's handle for `signal` started (so that libuv's
/// handler is already installed and this changes no action).
pub fn keep_handler(signal: i32) -> Result<(), String> {
    let uv = uv::find().ok_or("libuv is not in this process")?;
    let fail = |code: std::ffi::c_int| {
        // SAFETY: uv_strerror accepts any code and returns a non-null, NUL-terminated string
        // that lives for the whole process (a static, or a leaked one for unknown codes).
        unsafe { std::ffi::CStr::from_ptr((uv.strerror)(code)) }.to_string_lossy().into_owned()
    };
    // Zeroed, 8-byte aligned memory of the sizes libuv reports, never freed.
    let leak = |bytes: usize| Box::leak(vec![0u64; bytes.div_ceil(8)].into_boxed_slice()).as_mut_ptr().cast();
    // SAFETY: the loop and the handle get memory of the sizes libuv asks for, alive for
    // the rest of the process; the loop is initialised before the handle uses it.
    unsafe {
        let event_loop = leak((uv.loop_size)());
        let handle = leak((uv.handle_size)(uv::SIGNAL));
        match (uv.loop_init)(event_loop) {
            0 => {}
            code => return Err(fail(code)),
        }
        match (uv.signal_init)(event_loop, handle) {
            0 => {}
            code => return Err(fail(code)),
        }
        match (uv.signal_start)(handle, never_called, signal) {
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

/// Put the watch's handler back after libuv replaced it or reset it to the default.
/// Returns true when it had to be restored.
pub fn rearm() -> bool {
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

extern "C" fn ignore_signal(_: libc::c_int) {}

/// The process is exiting: from now on `signum` is caught and dropped (no dump is
/// requested while Node tears down). A handler, not SIG_IGN: Node's teardown resets
/// ignored signals to their default action before the process is gone, and leaves
/// handlers alone. [`keep_handler`] keeps libuv from resetting it when Node closes its
/// handles.
pub fn ignore(signum: i32) {
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

/// Whether this process has libuv (it runs inside Node).
pub fn has_libuv() -> bool {
    uv::find().is_some()
}
