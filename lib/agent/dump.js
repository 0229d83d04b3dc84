'use strict';
// Writing heap snapshot files safely: mode 0600 from the first byte, no name until the
// file is complete (an unnamed O_TMPFILE file, or a hidden partial name), resource checks
// first, retention after.

const crypto = require('node:crypto');
const fs = require('node:fs');
const inspector = require('node:inspector');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const native = require('../shared/native');
const secureFs = require('../shared/secure-fs');
const { leakwatchError } = require('../shared/errors');

const FILE_MODE = 0o600;
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

/** A hidden partial name next to `file` that nobody can predict (and so plant first). */
function partialName(file) {
  return path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(8).toString('hex')}.partial`);
}

// The partial files this thread created, by path: {dev, ino}. Only these are ever
// renamed into place or removed: an entry someone else put there is left alone.
const created = new Map();

function isOurs(partial) {
  const mine = created.get(partial);
  if (!mine) return false;
  try {
    const now = fs.lstatSync(partial);
    return now.isFile() && now.dev === mine.dev && now.ino === mine.ino;
  } catch {
    return false;
  }
}

/** Remove `partial` only if it is still the file this thread created. */
function removeOurs(partial) {
  if (isOurs(partial)) removeQuietly(partial);
  created.delete(partial);
}

function removeQuietly(file) {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
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

/** V8 writes without reporting write errors; a complete snapshot ends with "]}". */
function assertComplete(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const { size } = fs.fstatSync(fd);
    const tail = Buffer.alloc(Math.min(size, 64));
    fs.readSync(fd, tail, 0, tail.length, size - tail.length);
    if (!/\]\s*\}\s*$/.test(tail.toString('latin1'))) {
      throw leakwatchError('ERR_LEAKWATCH_INCOMPLETE', `the heap snapshot is incomplete after ${size} bytes (is the disk full?)`);
    }
    fs.fsyncSync(fd);
    return size;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The steps every snapshot write shares: check resources and create the partial file
 * 0600; then either complete it (verify, name it) or abandon it (no file left behind).
 *
 * The partial is an unnamed file in the target directory where the system allows it
 * (Linux O_TMPFILE, through native.tmpfileOpen): it gets its name only once complete, so
 * no partial file is ever visible, even if the process dies mid-dump (the kernel frees
 * it). Elsewhere, a hidden 0600 partial with an unpredictable name, created exclusively
 * without following links, renamed when complete; only the file leakwatch created is
 * ever renamed or removed. Returns {path, fd, named}: `path` is what the writer opens
 * (on Linux /proc/self/fd/N of our own descriptor, so a name swapped for a symlink is
 * never followed), `fd` stays open until complete or abandoned.
 */
function beginPartial(file, { check = true, heapUsed } = {}) {
  if (check) {
    const refusal = checkResources(path.dirname(file), heapUsed);
    if (refusal) throw refusal;
  }
  let fd = null;
  try {
    fd = native.tmpfileOpen(path.dirname(file));
  } catch (error) {
    throw abandonPartial(null, file, error);
  }
  if (fd !== null) {
    const partial = { path: `/proc/self/fd/${fd}`, fd, named: false };
    // If this thread's environment goes away mid-dump, the lock's cleanup closes it.
    native.dumpPartial(partial.path);
    return partial;
  }
  // A name taken meanwhile (or planted): try another, never touch it.
  for (let attempt = 0; ; attempt++) {
    const name = partialName(file);
    try {
      fd = secureFs.createExclusive(name, FILE_MODE);
    } catch (error) {
      if (error.code === 'EEXIST' && attempt < 8) continue;
      throw abandonPartial(null, file, error);
    }
    const partial = { path: name, fd, named: true };
    try {
      const { dev, ino } = fs.fstatSync(fd);
      created.set(name, { dev, ino });
    } catch (error) {
      throw abandonPartial(partial, file, error);
    }
    // If this thread's environment goes away mid-dump, the lock's cleanup removes it.
    native.dumpPartial(name);
    return partial;
  }
}

/**
 * The name a writer (V8, or our own fs calls) should open to write the partial: on Linux
 * the /proc/self/fd link of our descriptor, which reopens that very file; elsewhere the
 * partial's name.
 */
function writePath(partial) {
  if (!partial.named) return partial.path;
  const link = `/proc/self/fd/${partial.fd}`;
  try {
    const [viaLink, viaFd] = [fs.statSync(link), fs.fstatSync(partial.fd)];
    if (viaLink.dev === viaFd.dev && viaLink.ino === viaFd.ino) return link;
  } catch {
    // no procfs
  }
  return partial.path;
}

/** Give a complete unnamed file the name `file`, replacing an existing file as rename does. */
function linkInPlace(fd, file) {
  try {
    native.tmpfileLink(fd, file);
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}`);
    native.tmpfileLink(fd, temporary);
    try {
      fs.renameSync(temporary, file);
    } catch (renameError) {
      removeQuietly(temporary);
      throw renameError;
    }
  }
}

/** Close the partial's descriptor: an unnamed file's was opened natively, not by fs. */
function closePartial(partial) {
  if (!partial.named) {
    native.tmpfileClose(partial.fd);
    return;
  }
  try {
    fs.closeSync(partial.fd);
  } catch {
    // already closed
  }
}

/** Verify and name the file; returns {file, bytes, durationMs} counted from `started`. */
function completePartial(partial, file, started) {
  try {
    const bytes = assertComplete(writePath(partial));
    if (partial.named) {
      if (!isOurs(partial.path)) {
        throw leakwatchError('ERR_LEAKWATCH_INCOMPLETE', `cannot write heap snapshot ${file}: its partial file ${partial.path} was replaced by another`);
      }
      fs.renameSync(partial.path, file);
      created.delete(partial.path);
      native.dumpPartial(null);
    } else {
      linkInPlace(partial.fd, file);
      native.dumpPartial(null);
    }
    noteWritten(file, partial.fd);
    closePartial(partial);
    return { file, bytes, durationMs: Number(process.hrtime.bigint() - started) / 1e6 };
  } catch (error) {
    throw abandonPartial(partial, file, error);
  }
}

/** Remove what is left of a failed write (nothing of anyone else's); returns the error to report. */
function abandonPartial(partial, file, error) {
  if (partial) {
    // Node's v8.writeHeapSnapshot() returns early on a write error (ENOSPC, EIO) without
    // closing its descriptor: dropping the partial alone would keep its blocks allocated
    // until the process exits, so a full disk would stay full.
    native.closeDescriptorsOn(partial.path, partial.fd);
    closePartial(partial); // an unnamed file: closing its last descriptor frees it
    if (partial.named) removeOurs(partial.path);
    native.dumpPartial(null);
  }
  if (error.code && /^E[A-Z]+$/.test(error.code)) {
    return systemError(`cannot write heap snapshot ${file}: ${error.message}`, error);
  }
  return error;
}

/**
 * Write a snapshot of this isolate to `file` (synchronously, as heapdump did).
 * Returns {file, bytes, durationMs}; throws an Error with a `code` on failure, leaving
 * no file behind.
 */
function writeSnapshotFile(file, { check = true } = {}) {
  const started = process.hrtime.bigint();
  const partial = beginPartial(file, { check });
  try {
    v8.writeHeapSnapshot(writePath(partial));
  } catch (error) {
    throw abandonPartial(partial, file, error);
  }
  return completePartial(partial, file, started);
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

/** Remember a default-named snapshot of this process (`fd`: the file written), for retention. */
function noteWritten(file, fd) {
  if (!OWN_NAME.test(path.basename(file)) || !path.basename(file).startsWith(`heapdump-${process.pid}-`)) return;
  try {
    const { dev, ino } = fs.fstatSync(fd);
    written.delete(file); // written again: now the newest
    written.set(file, { dev, ino });
    // Bounded however long the process lives (without maxSnapshots nothing is removed).
    if (written.size > MAX_REMEMBERED) written.delete(written.keys().next().value);
  } catch {
    // not kept for retention: the file stays
  }
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

module.exports = { availableMemory, WATCHDOG_DUMP_KEY, WATCHDOG_STATE, installWatchdogDump, installIdSentinel, defaultFilename, writeSnapshotFile, beginPartial, writePath, completePartial, abandonPartial, enforceRetention, profileNameFor, checkResources, assertComplete, partialName, FILE_MODE, OWN_NAME };
