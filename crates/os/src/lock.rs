//! The one-dump-at-a-time lock shared by every way a dump can start (the dump signal, the
//! API, a worker's own dump, the watchdog), and the registry of the partial file its
//! holder is writing.
//!
//! IDLE -> REQUESTED (the signal thread) -> BUSY (whoever dumps) -> IDLE. Holders are
//! owners: numbers the caller gives each thread that can dump (a Node environment); 0 is
//! nobody. When an owner goes away mid-dump ([`DumpLock::release_if_owner`]), its partial
//! file is cleaned up and the lock released, so dumps keep working for the process.

use crate::error::FileError;
use crate::files::{self, FileKind, Partial, PartialFile, WriteError, Written};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const IDLE: u8 = 0;
const REQUESTED: u8 = 1;
const BUSY: u8 = 2;

/// A request pending this long is handed to the watchdog again on the next signal: the
/// main thread may have gone from native code (where the watchdog gave up and handed it
/// back) into a busy JS loop, where it can be paused. At most once per this long, so a
/// storm during a long block queues few calls.
const REHAND_AFTER_MS: u64 = 10_000;

/// A call to another thread (through Node, a thread-safe function): true if it was queued.
pub type Call = Arc<dyn Fn(u32) -> bool + Send + Sync>;

/// The lock. [`DUMP_LOCK`] is the process's; tests make their own.
pub struct DumpLock {
    state: AtomicU8,
    /// The owner holding BUSY; 0 = none.
    owner: AtomicU64,
    /// When BUSY was taken, in ms since [`epoch`] (0 = not busy).
    busy_since_ms: AtomicU64,
    /// The holder took the lock for a dump signal (from REQUESTED): a signal arriving
    /// meanwhile is served by that very dump. A dump started otherwise (the API, a worker's
    /// own) does not answer a signal: the signal waits for it to end and asks for its own.
    signal_dump: AtomicBool,
    /// When the pending request (REQUESTED) was made or handed back, in ms since [`epoch`].
    requested_since_ms: AtomicU64,
    /// The watchdog's owner number: it holds the lock when a request is handed to it.
    watchdog_owner: AtomicU64,
    /// The partial file the holder is writing.
    partial: Mutex<Option<(u64, PartialFile)>>,
    /// The main thread's callback: the signal thread asks through it, and a request the
    /// watchdog gives back ([`DumpLock::defer`]) is asked again through it, so it is always
    /// served (the main thread may have run its first call while the watchdog held the lock).
    main: Mutex<Option<Call>>,
    watchdog: Mutex<Option<Call>>,
    /// Sequence numbers for default file names, shared by the main thread and the watchdog.
    sequence: AtomicU32,
}

/// The process's dump lock.
pub static DUMP_LOCK: DumpLock = DumpLock::new();

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    // +1: 0 means "not busy".
    epoch().elapsed().as_millis() as u64 + 1
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Default for DumpLock {
    fn default() -> Self {
        Self::new()
    }
}

impl DumpLock {
    pub const fn new() -> Self {
        DumpLock {
            state: AtomicU8::new(IDLE),
            owner: AtomicU64::new(0),
            busy_since_ms: AtomicU64::new(0),
            signal_dump: AtomicBool::new(false),
            requested_since_ms: AtomicU64::new(0),
            watchdog_owner: AtomicU64::new(0),
            partial: Mutex::new(None),
            main: Mutex::new(None),
            watchdog: Mutex::new(None),
            sequence: AtomicU32::new(0),
        }
    }

    fn take_busy(&self, from: u8, owner: u64) -> bool {
        if self.state.compare_exchange(from, BUSY, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return false;
        }
        self.owner.store(owner, Ordering::Release);
        self.signal_dump.store(from == REQUESTED, Ordering::Release);
        self.busy_since_ms.store(now_ms(), Ordering::Release);
        true
    }

    fn release(&self) {
        self.busy_since_ms.store(0, Ordering::Release);
        self.state.store(IDLE, Ordering::Release);
    }

    /// Take the lock for `owner`. `for_signal`: take a pending signal request (the main
    /// thread answering the signal thread); otherwise start a new dump only if none is
    /// running. Held until [`DumpLock::end`] or [`DumpLock::release_if_owner`].
    pub fn begin(&self, owner: u64, for_signal: bool) -> bool {
        self.take_busy(if for_signal { REQUESTED } else { IDLE }, owner)
    }

    /// Release the lock if `owner` holds it (a late call after its lock was released and
    /// taken by another must not free someone else's dump).
    pub fn end(&self, owner: u64) {
        lock(&self.partial).take_if(|p| p.0 == owner);
        if self.owner.compare_exchange(owner, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.release();
        }
    }

    /// How long the lock has been held, in milliseconds (0: free or only requested).
    pub fn busy_for_ms(&self) -> u64 {
        let since = self.busy_since_ms.load(Ordering::Acquire);
        if since == 0 || self.state.load(Ordering::Acquire) != BUSY {
            0
        } else {
            now_ms().saturating_sub(since)
        }
    }

    /// The owner is going away (its thread is torn down): if it held the lock, clean up the
    /// partial file it was writing and release the lock; it no longer is the watchdog.
    pub fn release_if_owner(&self, owner: u64) {
        let partial = lock(&self.partial).take_if(|p| p.0 == owner);
        if let Some((_, partial)) = partial {
            files::release(&partial);
        }
        if self.owner.compare_exchange(owner, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.release();
        }
        if self.watchdog_owner.load(Ordering::Acquire) == owner {
            self.watchdog_owner.store(0, Ordering::Release);
        }
    }

    /// The partial file `owner` writes, remembered only while `owner` holds the lock.
    fn note_partial(&self, owner: u64, partial: Option<&PartialFile>) {
        let mut noted = lock(&self.partial);
        match partial {
            Some(partial) if self.owner.load(Ordering::Acquire) == owner => *noted = Some((owner, partial.clone())),
            Some(_) => {}
            None => {
                noted.take_if(|p| p.0 == owner);
            }
        }
    }

    /// The partial file remembered for cleanup, if any (for tests and diagnostics).
    pub fn noted_partial(&self) -> Option<(u64, PartialFile)> {
        lock(&self.partial).clone()
    }

    /// Write `target` through the file protocol ([`files::write_with`]) on behalf of
    /// `owner`; while `owner` holds the lock its partial file is remembered, so that it is
    /// cleaned up if `owner` goes away mid-write.
    pub fn write_file<E>(
        &self,
        owner: u64,
        target: &Path,
        kind: FileKind,
        expected: Option<u64>,
        writer: impl FnOnce(&Partial) -> Result<bool, E>,
    ) -> Result<Option<Written>, WriteError<E>> {
        files::write_with(target, kind, expected, |partial| self.note_partial(owner, partial), writer)
    }

    /// [`DumpLock::write_file`] of bytes held in memory ([`files::write_atomic`]).
    pub fn write_bytes(&self, owner: u64, target: &Path, data: &[u8], kind: FileKind) -> Result<Written, FileError> {
        files::write_bytes_with(target, data, kind, |partial| self.note_partial(owner, partial))
    }

    /// The next sequence number for a default file name (1, 2, …).
    pub fn next_sequence(&self) -> u32 {
        self.sequence.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The main thread's callback (the signal thread's first port of call).
    pub fn set_main(&self, call: Call) {
        *lock(&self.main) = Some(call);
    }

    /// The watchdog (owner `owner`) will be handed requests the main thread cannot take.
    pub fn set_watchdog(&self, owner: u64, call: Call) {
        self.watchdog_owner.store(owner, Ordering::Release);
        *lock(&self.watchdog) = Some(call);
    }

    pub fn clear_watchdog(&self) {
        lock(&self.watchdog).take();
    }

    /// The watchdog (`owner`) could not dump: give the request back to the main thread,
    /// which serves it when its loop runs again.
    pub fn defer(&self, owner: u64, signal: u32) {
        if self.owner.load(Ordering::Acquire) == owner {
            self.give_back(signal);
        }
    }

    /// BUSY (held for a signal) -> REQUESTED, and ask the main thread (again): its first
    /// call may already have run, and found the lock taken. A second call that finds the
    /// request served is a no-op ([`DumpLock::begin`] fails).
    fn give_back(&self, signal: u32) {
        self.owner.store(0, Ordering::Release);
        self.busy_since_ms.store(0, Ordering::Release);
        if self.state.compare_exchange(BUSY, REQUESTED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.requested_since_ms.store(now_ms(), Ordering::Release);
            let main = lock(&self.main).clone();
            if let Some(main) = main {
                main(signal.max(1));
            }
        }
    }

    /// A dump signal arrived (on the signal thread): ask the main thread, and hand the
    /// request to the watchdog if the main thread has not taken it within `stuck_after`.
    /// While a request is pending, or a dump for a signal is under way, a storm gives one
    /// dump; a request behind another dump (the API's, a worker's own) waits for it to end.
    /// Returns once the signal is dealt with.
    pub fn serve_signal(&self, signal: u32, stuck_after: Duration, reports: &mut BusyReports) {
        loop {
            match self.state.compare_exchange(IDLE, REQUESTED, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    self.requested_since_ms.store(now_ms(), Ordering::Release);
                    let main = lock(&self.main).clone();
                    if let Some(main) = main {
                        main(signal);
                    }
                    self.hand_over_if_stuck(signal, stuck_after);
                    return;
                }
                // A request is pending: handed to the watchdog again when it has waited long.
                Err(REQUESTED) => {
                    let since = self.requested_since_ms.load(Ordering::Acquire);
                    let patience = (stuck_after.as_millis() as u64).max(REHAND_AFTER_MS);
                    if now_ms().saturating_sub(since) > patience {
                        self.requested_since_ms.store(now_ms(), Ordering::Release);
                        self.hand_over_if_stuck(signal, Duration::ZERO);
                    }
                    return;
                }
                // A dump for a signal is under way: this one joins it. One that has held the
                // lock for longer than a dump can take is reported.
                Err(_) if self.signal_dump.load(Ordering::Acquire) => {
                    reports.report_if_held_long(self);
                    return;
                }
                // Another dump holds the lock: wait for it to end, then ask for our own.
                Err(_) => {
                    reports.report_if_held_long(self);
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    /// If the main thread has not taken the request within `patience`, give it to the watchdog.
    fn hand_over_if_stuck(&self, signal: u32, patience: Duration) {
        let start = Instant::now();
        while start.elapsed() < patience {
            if self.state.load(Ordering::Acquire) != REQUESTED {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let watchdog = lock(&self.watchdog);
        if let Some(call) = watchdog.as_ref() {
            if self.take_busy(REQUESTED, self.watchdog_owner.load(Ordering::Acquire)) && !call(signal) {
                // The watchdog is gone: leave the request to the main thread again.
                drop(watchdog);
                self.give_back(signal);
            }
        }
    }
}

/// Requests refused or waiting behind a dump that has held the lock for longer than a dump
/// can take are reported to the main thread (its callback with 0), at most once per
/// `after_ms` (and 1 s), so a storm stays bounded.
pub struct BusyReports {
    after_ms: u64,
    last: Option<Instant>,
}

impl BusyReports {
    pub fn new(after_ms: u64) -> Self {
        BusyReports { after_ms, last: None }
    }

    fn report_if_held_long(&mut self, dump: &DumpLock) {
        let quiet = self.last.is_some_and(|t| t.elapsed() < Duration::from_millis(self.after_ms.max(1000)));
        if dump.busy_for_ms() > self.after_ms && !quiet {
            self.last = Some(Instant::now());
            let main = lock(&dump.main).clone();
            if let Some(main) = main {
                main(0);
            }
        }
    }
}
