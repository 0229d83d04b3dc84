//! The dump signal caught on a thread of its own. A test binary of its own: a signal watch
//! is once per process.

use leakwatch_os::lock::{Call, DumpLock};
use leakwatch_os::signal::{self, WatchOptions};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static DUMP: DumpLock = DumpLock::new();

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn options() -> WatchOptions {
    WatchOptions { stuck_after: Duration::from_secs(60), busy_report_after_ms: 1000, keep_libuv_handler: false }
}

fn raise(signal: i32) {
    // SAFETY: raise(3) with a valid signal number, whose handler is installed by the test.
    assert_eq!(unsafe { libc::raise(signal) }, 0);
}

#[test]
fn signals_reach_the_main_callback_and_the_handler_is_kept() {
    assert!(!signal::has_libuv(), "no libuv outside Node");
    assert!(signal::keep_handler(libc::SIGUSR1).is_err());

    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&calls);
    let main: Call = Arc::new(move |signal| {
        seen.lock().unwrap().push(signal);
        true
    });
    signal::watch(&DUMP, libc::SIGUSR1, Arc::clone(&main), options()).unwrap();
    assert!(signal::watch(&DUMP, libc::SIGUSR2, main, options()).unwrap_err().contains("already watches"));

    raise(libc::SIGUSR1);
    wait_until("the first request", || calls.lock().unwrap().len() == 1);
    assert_eq!(calls.lock().unwrap()[0], libc::SIGUSR1 as u32);
    // Pending: more signals give no more requests.
    raise(libc::SIGUSR1);
    raise(libc::SIGUSR1);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(calls.lock().unwrap().len(), 1);
    assert!(DUMP.begin(1, true));
    DUMP.end(1);
    raise(libc::SIGUSR1);
    wait_until("the second request", || calls.lock().unwrap().len() == 2);
    assert!(DUMP.begin(1, true));
    DUMP.end(1);

    // Something replaces the handler: rearm puts it back, once.
    assert!(!signal::rearm());
    // SAFETY: setting SIGUSR1's disposition to SIG_IGN.
    unsafe { libc::signal(libc::SIGUSR1, libc::SIG_IGN) };
    assert!(signal::rearm());
    assert!(!signal::rearm());
    raise(libc::SIGUSR1);
    wait_until("the request after rearm", || calls.lock().unwrap().len() == 3);
    assert!(DUMP.begin(1, true));
    DUMP.end(1);

    // At exit: caught and dropped.
    signal::ignore(libc::SIGUSR1);
    raise(libc::SIGUSR1);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(calls.lock().unwrap().len(), 3);
}
