'use strict';
// Heap snapshot files: resource checks first, then V8 writes the partial file the native
// file protocol gives it (mode 0600 from the first byte, no name until complete:
// crates/os/src/files.rs), retention after.

const crypto = require('node:crypto');
const fs = require('node:fs');
const inspector = require('node:inspector');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const native = require('../shared/native');
const { leakwatchError } = require('../shared/errors');

// leakwatch's own default names.
const OWN_NAME = /^heapdump-\d+-\d{8}T\d{6}Z-\d+\.heapsnapshot$/;
// The default-named snapshots this process wrote, oldest first: file -> {dev, ino}.
// Retention deletes these only: never another process's, an earlier run's (a pid is
// reused: every container's app is pid 1), a file put in one's place, or any other file.
const written = new Map();

function timestamp(date) {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** heapdump-<pid>-<UTC time>-<sequence>.heapsnapshot in `dir`. */
function defaultFilename(dir) {
  const sequence = native.nextDumpSequence();
  return path.resolve(dir, `heapdump-${process.pid}-${timestamp(new Date())}-${sequence}.heapsnapshot`);
}

/** An operating-system failure (ENOSPC, EACCES, …) keeps its own code, with our message. */
function systemError(message, cause) {
  return Object.assign(new Error(message, { cause }), { code: cause.code });
}

/** Memory the process may still use: the smaller of the cgroup's headroom and the host's. */
function availableMemory() {
  if (typeof process.availableMemory === 'function') return process.availableMemory();
  let available = os.freemem();
  for (const [limitFile, usageFile] of [
    ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current'],
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes'],
  ]) {
    try {
      const limit = Number(fs.readFileSync(limitFile, 'utf8').trim());
      const usage = Number(fs.readFileSync(usageFile, 'utf8').trim());
      if (Number.isFinite(limit) && Number.isFinite(usage) && limit < 2 ** 60) available = Math.min(available, limit - usage);
      break;
    } catch {
      // no such cgroup interface
    }
  }
  return available;
}

/**
 * Refuse when a dump clearly cannot succeed. V8 needs memory beyond the heap to build a
 * snapshot, and the file is typically larger than the used heap: if either the free
 * memory or the free disk is below the used heap, the dump would fail or hurt the host.
 */
function checkResources(dir, heapUsed = v8.getHeapStatistics().used_heap_size) {
  const mb = native.humanSize; // the one size format
  const memory = availableMemory();
  if (memory < heapUsed) {
    return leakwatchError('ERR_LEAKWATCH_NO_MEMORY', `not enough free memory for a heap snapshot: ${mb(memory)} available, the heap alone is ${mb(heapUsed)}`);
  }
  let stats;
  try {
    stats = fs.statfsSync(dir);
  } catch (error) {
    return systemError(`cannot write a heap snapshot to ${dir}: ${error.message}`, error);
  }
  const free = stats.bavail * stats.bsize;
  if (free < heapUsed) {
    return leakwatchError('ERR_LEAKWATCH_NO_DISK', `not enough free disk in ${dir} for a heap snapshot: ${mb(free)} free, expected at least ${mb(heapUsed)}`);
  }
  return null;
}

/**
 * Write `file` through the one file protocol (native.writeFileWith, crates/os/src/files.rs):
 * an unnamed O_TMPFILE file, or a hidden unpredictable 0600 name created exclusively, named
 * only once it passes the completeness check of its `kind` ('heapsnapshot', 'heapprofile')
 * and is synced; a failed write leaves nothing behind, not even a descriptor. `write` is
 * `(path, fd) => …`: it fills the partial by opening `path` (as V8 does) or writing to `fd`,
 * and returns false when it has nothing to write (the result is then null); or `write` is
 * the data itself. Returns {file, bytes, dev, ino}; an operating-system failure keeps its
 * code (ENOSPC, EACCES, …) with our message.
 */
function writeFile(file, kind, write) {
  let written;
  try {
    written = typeof write === 'function' ? native.writeFileWith(file, kind, write) : native.writeFileAtomic(file, write, kind);
  } catch (error) {
    if (error && error.code && /^E[A-Z]+$/.test(error.code)) throw systemError(`cannot write heap snapshot ${file}: ${error.message}`, error);
    throw error;
  }
  if (written) noteWritten(written);
  return written;
}

/**
 * Write a snapshot of this isolate to `file` (synchronously, as heapdump did): resource
 * checks first, then V8 writes the partial file the native side gives it.
 * Returns {file, bytes, durationMs}; throws an Error with a `code` on failure, leaving
 * no file behind.
 */
function writeSnapshotFile(file, { check = true } = {}) {
  const started = process.hrtime.bigint();
  if (check) {
    const refusal = checkResources(path.dirname(file));
    if (refusal) throw refusal;
  }
  const { bytes } = writeFile(file, 'heapsnapshot', (writePath) => {
    v8.writeHeapSnapshot(writePath);
  });
  return { file, bytes, durationMs: Number(process.hrtime.bigint() - started) / 1e6 };
}

// The main-thread dump function the watchdog runs (through the debugger) while the main
// thread is stuck: installed at load time under this global Symbol.for key.
const WATCHDOG_DUMP_KEY = 'leakwatch.watchdog-dump';
// Slots of the Int32Array the main thread and the watchdog share: the watchdog's session
// is connected; a debugger (inspector server) is active; the watchdog let go at exit.
const WATCHDOG_STATE = Object.freeze({ CONNECTED: 0, DEBUGGER: 1, EXIT_ACK: 2, LENGTH: 3 });

/**
 * Install what the watchdog evaluates on the paused main thread: write the file (the same
 * steps as every dump) and hand the outcome to `done(error, info)` at once (it must only
 * record it: the app's code is paused mid-statement). Never throws into the evaluation;
 * returns a small result for the watchdog.
 */
function installWatchdogDump(done) {
  const key = Symbol.for(WATCHDOG_DUMP_KEY);
  if (Object.hasOwn(globalThis, key)) return;
  const watchdogDump = (file, check, pauseMs) => {
    try {
      const info = writeSnapshotFile(file, { check });
      done(null, { ...info, durationMs: info.durationMs + pauseMs, pauseMs, completedAt: new Date() });
      return { ok: true, file: info.file, inspectorUrl: inspector.url() || null };
    } catch (error) {
      done(error);
      return { ok: false };
    }
  };
  Object.defineProperty(globalThis, key, { value: watchdogDump, configurable: true });
}

// One object per isolate, kept alive from load time: its id must be the same in every
// snapshot of the process. Its class name (what V8's snapshot calls it: a plain object is
// named after its own Symbol.toStringTag) is ID_SENTINEL_PREFIX and a token drawn at random
// when leakwatch loads, so no class of the app can pass for it (the Rust core's
// snapshot::sentinel). The analyses refuse to compare snapshots in which its id changed
// (some inspector session, a debugger that detached, made V8 renumber every object), whose
// tokens differ (different processes), or which hold more than one such object.
const ID_SENTINEL_PREFIX = 'LeakwatchIdSentinel_';
const ID_SENTINEL_KEY = 'leakwatch.id-sentinel';

function installIdSentinel() {
  const key = Symbol.for(ID_SENTINEL_KEY);
  if (Object.hasOwn(globalThis, key)) return; // another copy of leakwatch made it
  const sentinel = Object.defineProperty({}, Symbol.toStringTag, { value: ID_SENTINEL_PREFIX + crypto.randomBytes(16).toString('hex') });
  Object.defineProperty(globalThis, key, { value: Object.freeze(sentinel), configurable: true });
}

/** `<name>.heapprofile` next to a snapshot file (its leak sites, lib/agent/sampler.js). */
function profileNameFor(snapshotFile) {
  return snapshotFile.replace(/\.heapsnapshot$/, '') + '.heapprofile';
}

const MAX_REMEMBERED = 4096;

/** Remember a default-named snapshot of this process (as written: its inode), for retention. */
function noteWritten({ file, dev, ino }) {
  if (!OWN_NAME.test(path.basename(file)) || !path.basename(file).startsWith(`heapdump-${process.pid}-`)) return;
  written.delete(file); // written again: now the newest
  written.set(file, { dev, ino });
  // Bounded however long the process lives (without maxSnapshots nothing is removed).
  if (written.size > MAX_REMEMBERED) written.delete(written.keys().next().value);
}

/** Unlink `file` if it is a regular file (never a link) and, when given, that very file. */
function removeIfRegular(file, identity) {
  try {
    const now = fs.lstatSync(file);
    if (!now.isFile() || (identity && (now.dev !== identity.dev || now.ino !== identity.ino))) return false;
    fs.unlinkSync(file);
    return true;
  } catch {
    return false; // already gone
  }
}

/**
 * Keep at most `max` of the snapshots this process wrote under default names in `dir`,
 * deleting the oldest with their `.heapprofile`; files in `keep` (the one the next growth
 * report compares against) stay. Only the files this process wrote, as it wrote them
 * (regular files with the same inode), are ever deleted. Returns the deleted snapshots.
 */
function enforceRetention(dir, max, keep = new Set()) {
  if (!max || max < 1) return [];
  const mine = [...written.keys()].filter((file) => path.dirname(file) === path.resolve(dir));
  const removed = [];
  for (const file of mine.slice(0, Math.max(0, mine.length - max))) {
    if (keep.has(file)) continue;
    const identity = written.get(file);
    written.delete(file);
    if (!removeIfRegular(file, identity)) continue;
    // A snapshot goes with its leak sites.
    removeIfRegular(profileNameFor(file));
    removed.push(file);
  }
  return removed;
}

module.exports = { availableMemory, WATCHDOG_DUMP_KEY, WATCHDOG_STATE, installWatchdogDump, installIdSentinel, defaultFilename, writeFile, writeSnapshotFile, enforceRetention, profileNameFor, checkResources, OWN_NAME };
