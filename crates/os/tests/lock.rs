//! The one-dump lock: one holder at a time, requests from the dump signal, the watchdog's
//! hand-over and hand-back, and cleanup when a holder goes away.

mod common;

use common::Scratch;
use leakwatch_os::files::{FileKind, Partial};
use leakwatch_os::lock::{BusyReports, Call, DumpLock};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

fn new_lock() -> &'static DumpLock {
    Box::leak(Box::new(DumpLock::new()))
}

/// A callback recording what it was called with; `delivers` says whether the call is queued.
fn recorder(delivers: bool) -> (Call, Arc<Mutex<Vec<u32>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&calls);
    (
        Arc::new(move |signal| {
            seen.lock().unwrap().push(signal);
            delivers
        }),
        calls,
    )
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(5), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn one_holder_at_a_time_and_only_the_holder_releases() {
    let dump = new_lock();
    assert!(dump.begin(1, false));
    assert!(!dump.begin(2, false));
    assert!(!dump.begin(1, false), "not re-entrant");
    std::thread::sleep(Duration::from_millis(5));
    assert!(dump.busy_for_ms() > 0);
    dump.end(2); // not the holder: no effect
    assert!(!dump.begin(2, false));
    dump.end(1);
    assert_eq!(dump.busy_for_ms(), 0);
    assert!(dump.begin(2, false));
    // Nothing is requested: a signal dump cannot be taken.
    dump.end(2);
    assert!(!dump.begin(3, true));
}

#[test]
fn concurrent_attempts_have_exactly_one_winner() {
    let dump = new_lock();
    let threads = 8;
    for _round in 0..200 {
        let barrier = Arc::new(Barrier::new(threads));
        let winners = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (1..=threads as u64)
            .map(|owner| {
                let (barrier, winners) = (Arc::clone(&barrier), Arc::clone(&winners));
                std::thread::spawn(move || {
                    barrier.wait();
                    if dump.begin(owner, false) {
                        winners.fetch_add(1, Ordering::SeqCst);
                        return Some(owner);
                    }
                    None
                })
            })
            .collect();
        let held: Vec<u64> = handles.into_iter().filter_map(|h| h.join().unwrap()).collect();
        assert_eq!(winners.load(Ordering::SeqCst), 1);
        dump.end(held[0]);
    }
}

#[test]
fn a_signal_asks_the_main_thread_once_while_its_request_is_pending() {
    let dump = new_lock();
    let (main, calls) = recorder(true);
    dump.set_main(main);
    let mut reports = BusyReports::new(1000);
    dump.serve_signal(12, Duration::ZERO, &mut reports);
    dump.serve_signal(12, Duration::ZERO, &mut reports);
    assert_eq!(*calls.lock().unwrap(), [12]);
    // Only the request can be taken: not a fresh dump.
    assert!(!dump.begin(1, false));
    assert!(dump.begin(1, true));
    // A signal during a signal's dump joins it.
    dump.serve_signal(12, Duration::ZERO, &mut reports);
    assert_eq!(*calls.lock().unwrap(), [12]);
    dump.end(1);
    dump.serve_signal(12, Duration::ZERO, &mut reports);
    assert_eq!(*calls.lock().unwrap(), [12, 12]);
}

#[test]
fn a_stuck_main_thread_hands_the_request_to_the_watchdog_which_can_give_it_back() {
    let dump = new_lock();
    let (main, main_calls) = recorder(true);
    let (watchdog, watchdog_calls) = recorder(true);
    dump.set_main(main);
    dump.set_watchdog(7, watchdog);
    // The main thread never takes it within 20 ms.
    dump.serve_signal(12, Duration::from_millis(20), &mut BusyReports::new(1000));
    assert_eq!(*watchdog_calls.lock().unwrap(), [12]);
    assert!(dump.busy_for_ms() < 1000);
    assert!(!dump.begin(1, true), "the watchdog holds it");
    // The watchdog could not pause the main thread: the request goes back to it.
    dump.defer(1, 12); // not the holder: nothing
    assert!(!dump.begin(1, true));
    dump.defer(7, 12);
    assert_eq!(*main_calls.lock().unwrap(), [12, 12]);
    assert!(dump.begin(1, true));
    dump.end(1);
}

#[test]
fn a_watchdog_that_is_gone_gives_the_request_back_at_once() {
    let dump = new_lock();
    let (main, main_calls) = recorder(true);
    let (watchdog, watchdog_calls) = recorder(false);
    dump.set_main(main);
    dump.set_watchdog(7, watchdog);
    dump.serve_signal(10, Duration::ZERO, &mut BusyReports::new(1000));
    assert_eq!(*watchdog_calls.lock().unwrap(), [10]);
    assert_eq!(*main_calls.lock().unwrap(), [10, 10]);
    assert!(dump.begin(1, true));
    dump.end(1);
    // Unregistered: the main thread alone is asked.
    dump.clear_watchdog();
    dump.serve_signal(10, Duration::ZERO, &mut BusyReports::new(1000));
    assert_eq!(watchdog_calls.lock().unwrap().len(), 1);
    assert!(dump.begin(1, true));
}

#[test]
fn a_signal_behind_another_dump_waits_for_it_and_reports_a_long_hold() {
    let dump = new_lock();
    let (main, calls) = recorder(true);
    dump.set_main(main);
    assert!(dump.begin(3, false)); // the API's dump, not a signal's
    let server = std::thread::spawn(move || dump.serve_signal(12, Duration::from_secs(60), &mut BusyReports::new(5)));
    wait_until("the busy report", || calls.lock().unwrap().first() == Some(&0));
    assert_eq!(*calls.lock().unwrap(), [0], "reported once per second at most, and not served yet");
    dump.end(3);
    wait_until("the request", || calls.lock().unwrap().len() == 2);
    assert_eq!(*calls.lock().unwrap(), [0, 12]);
    assert!(dump.begin(1, true));
    dump.end(1);
    // Served by the main thread before the watchdog's patience ran out: serve_signal returns.
    server.join().unwrap();
}

#[test]
fn the_holders_partial_is_noted_and_cleaned_up_when_the_holder_goes_away() {
    let dump = new_lock();
    let dir = Scratch::new("lock-partial");
    let target = dir.path("x.heapsnapshot");
    // Not the holder: nothing is noted.
    let outcome = dump.write_file(1, &target, FileKind::HeapSnapshot, None, |_: &Partial| {
        assert!(dump.noted_partial().is_none());
        Ok::<_, ()>(false)
    });
    assert!(matches!(outcome, Ok(None)));
    // The holder: its partial is noted while it writes, and forgotten once named.
    assert!(dump.begin(1, false));
    let written = dump.write_file(1, &target, FileKind::HeapSnapshot, None, |partial: &Partial| {
        let (owner, noted) = dump.noted_partial().expect("noted");
        assert_eq!((owner, &noted), (1, &partial.identity()));
        std::fs::write(partial.write_path(), common::SNAPSHOT).map(|()| true)
    });
    assert!(written.unwrap().is_some());
    assert!(dump.noted_partial().is_none());
    dump.end(1);

    // The watchdog's owner and the lock are released with their holder.
    let (watchdog, _) = recorder(true);
    dump.set_watchdog(9, watchdog);
    assert!(dump.begin(9, false));
    dump.release_if_owner(2); // someone else
    assert!(!dump.begin(2, false));
    dump.release_if_owner(9);
    assert!(dump.begin(2, false));
    dump.end(2);
}
