//! Reading a snapshot through a memory mapping instead of `read()`: the parser works on
//! the page cache itself, without copying each byte into a buffer first (the copy and its
//! page-cache lookups were 13-17 % of a summary's CPU in profiles; mapped, a summary takes
//! about 5 % less CPU: page faults and unmapping cost part of it back).
//!
//! A mapped file that is truncated while it is read makes the next access past its new
//! end raise SIGBUS, which would kill the process. So files are only mapped in a process
//! that called [`enable`] (the `leakwatch` command, not a library inside someone's app),
//! which installs a SIGBUS handler: a fault inside a live mapping of this module maps
//! zero pages over the rest of that mapping, marks it truncated and returns, so the read
//! is retried and finds zeros; the parser stops on them and the reader reports the
//! truncation ([`Mapping::shrunk`]). A fault anywhere else goes to the action that was
//! there before (by default the process dies as it would have without leakwatch).

use std::ffi::c_void;
use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// Mappings live at once (two readers per file, a few files): more fall back to `read()`.
const SLOTS: usize = 16;

struct Slot {
    /// First byte of the mapping; 0 when the slot is free. Set last, cleared first.
    start: AtomicUsize,
    /// One past the last byte of the mapping's last page.
    end: AtomicUsize,
    truncated: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot { start: AtomicUsize::new(0), end: AtomicUsize::new(0), truncated: AtomicBool::new(false) };
static LIVE: [Slot; SLOTS] = [FREE; SLOTS];
/// Serialises taking and freeing slots (the handler only reads them).
static REGISTRY: Mutex<()> = Mutex::new(());
/// The SIGBUS action before [`enable`]; set once, before the handler is installed.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Map files from now on, in this process; installs the SIGBUS handler (once). Returns
/// false, and files keep being read with `read()`, if the handler cannot be installed.
pub fn enable() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    let installed = *INSTALLED.get_or_init(|| {
        // SAFETY: all zero bytes is a valid `sigaction` (plain C data), and both structs
        // are filled in before use. The first call only queries the current action into
        // `previous` (null new action); the second installs `on_sigbus`, an SA_SIGINFO
        // handler of the matching signature that only calls async-signal-safe functions
        // (mmap, sigaction, raise) and reads atomics and the `PREVIOUS` set before it.
        unsafe {
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut previous) != 0 {
                return false;
            }
            let _ = PREVIOUS.set(previous);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction =
                on_sigbus as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()) == 0
        }
    });
    if installed {
        ENABLED.store(true, Ordering::Release);
    }
    installed
}

/// Whether [`enable`] was called (successfully) in this process.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

extern "C" fn on_sigbus(signum: libc::c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: the handler is installed with SA_SIGINFO, so the kernel passes a valid,
    // readable siginfo; for SIGBUS it carries the faulting address.
    let address = unsafe { (*info).si_addr() } as usize;
    let page = page_size();
    for slot in &LIVE {
        let start = slot.start.load(Ordering::Acquire);
        let end = slot.end.load(Ordering::Acquire);
        if start == 0 || address < start || address >= end {
            continue;
        }
        let from = address & !(page - 1);
        // SAFETY: `from..end` is page-aligned and lies inside a live mapping of this module
        // (a registered slot: `start <= address < end`, `end` page-rounded), which nothing
        // else owns; MAP_FIXED replaces those pages of it with zero pages, so the faulting
        // read is retried on zeros. The slot is freed (under `REGISTRY`) before memmap2
        // unmaps the range, so a live slot's range is still this mapping.
        let zeros = unsafe {
            libc::mmap(
                from as *mut c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if zeros != libc::MAP_FAILED {
            slot.truncated.store(true, Ordering::Release);
            return;
        }
    }
    // Not a fault of ours: what would have happened without this handler.
    let Some(previous) = PREVIOUS.get() else { return };
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // Put the old action back. A fault: return, the access runs again and gets it.
        // A signal sent by a process (kill -BUS; si_code <= 0): send it again.
        // SAFETY: `previous` is the valid action sigaction returned before `enable`
        // installed ours; the old action is not asked for (null). `info` is valid (as
        // above); sigaction and raise are async-signal-safe.
        unsafe {
            libc::sigaction(signum, previous, std::ptr::null_mut());
            if (*info).si_code <= 0 {
                libc::raise(signum);
            }
        }
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous action is neither SIG_DFL nor SIG_IGN and has SA_SIGINFO, so
        // its `sa_sigaction` is the address of a handler of exactly this signature; it is
        // called with the arguments the kernel gave us, as the kernel would have.
        let chained: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) =
            unsafe { std::mem::transmute(handler) };
        chained(signum, info, context);
    } else {
        // SAFETY: the previous action is neither SIG_DFL nor SIG_IGN and has no SA_SIGINFO,
        // so its `sa_sigaction` is the address of a plain `fn(c_int)` handler; it is called
        // with the signal number, as the kernel would have.
        let chained: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
        chained(signum);
    }
}

fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf takes any name and only returns a value (-1 for an unknown
            // one, which `try_from` turns into the 4096 fallback).
            let size = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096).max(4096);
            PAGE.store(size, Ordering::Relaxed);
            size
        }
        size => size,
    }
}

/// A read-only mapping of a whole file, watched for truncation while it lives.
pub struct Mapping {
    map: memmap2::Mmap,
    slot: usize,
}

impl Mapping {
    /// Map the first `len` bytes of `file` (its size when opened), or `None` where the
    /// file cannot be mapped (not enabled, a pipe, a special file, all slots taken): the
    /// caller reads it with `read()`.
    pub fn new(file: &File, len: u64) -> Option<Mapping> {
        if !enabled() || len == 0 {
            return None;
        }
        let len = usize::try_from(len).ok()?;
        // SAFETY: memmap2's precondition is that the file is not changed while mapped. A
        // truncation, which would raise SIGBUS, is caught: the mapping is registered below
        // before any byte is read, and `enable` installed the handler that puts zero pages
        // in place of the lost ones. A concurrent write could change bytes under the slice,
        // which Rust's rules do not allow; that risk is accepted, as by any mapped reader
        // (and only in the `leakwatch` command): the mapping is read-only and private, and
        // the parser treats every byte as untrusted input, as for a file changed between
        // two `read()`s.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(file) }.ok()?;
        let _ = map.advise(memmap2::Advice::Sequential);
        let _guard = REGISTRY.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let slot = LIVE.iter().position(|slot| slot.start.load(Ordering::Acquire) == 0)?;
        let start = map.as_ptr() as usize;
        let end = (start + len).next_multiple_of(page_size());
        LIVE[slot].truncated.store(false, Ordering::Release);
        LIVE[slot].end.store(end, Ordering::Release);
        LIVE[slot].start.store(start, Ordering::Release);
        Some(Mapping { map, slot })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Unmap the whole pages inside `range` (offsets in the file): the process no longer
    /// counts them as resident; they stay in the page cache, and reading them again maps
    /// them in again.
    pub fn release(&self, range: std::ops::Range<usize>) {
        let page = page_size();
        let start = range.start.next_multiple_of(page);
        let end = range.end.min(self.map.len()) & !(page - 1);
        if end > start {
            // SAFETY: DONTNEED is unchecked because it discards private changes to the
            // pages; this mapping is read-only, so it has none: it only drops page table
            // entries, and bytes read later are the file's again (zeros past a truncation).
            // `start..end` is page-aligned and inside the mapping (`end <= len`).
            let _ = unsafe { self.map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start) };
        }
    }

    /// Whether the file was truncated while it was read (the bytes past its new end
    /// read as zeros).
    pub fn shrunk(&self) -> bool {
        LIVE[self.slot].truncated.load(Ordering::Acquire)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let _guard = REGISTRY.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        LIVE[self.slot].start.store(0, Ordering::Release);
        LIVE[self.slot].end.store(0, Ordering::Release);
        // memmap2 unmaps the whole range, zero pages included.
    }
}
