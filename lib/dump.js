'use strict';
// Writing heap snapshot files safely: mode 0600 from the first byte, a hidden partial
// name renamed only when the file is complete, resource checks first, retention after.

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const native = require('./native');
const secureFs = require('./secure-fs');
const { leakwatchError } = require('./errors');

const FILE_MODE = 0o600;
// leakwatch's own default names; retention never touches any other file.
const OWN_NAME = /^heapdump-\d+-\d{8}T\d{6}Z-\d+\.heapsnapshot$/;

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
 * Node's v8.writeHeapSnapshot() returns early on a write error (ENOSPC, EIO) without
 * closing its file descriptor. Unlinking the partial file alone would then keep its
 * blocks allocated until the process exits, so a full disk would stay full. Close any
 * descriptor of this process still open on `file` (Linux: /proc/self/fd); a no-op
 * elsewhere. Only our own partial file matches, which nothing else has open.
 */
function closeLeakedDescriptors(file) {
  let fds;
  try {
    fds = fs.readdirSync('/proc/self/fd');
  } catch {
    return;
  }
  for (const entry of fds) {
    const fd = Number(entry);
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${entry}`);
      if (target === file || target === `${file} (deleted)`) fs.closeSync(fd);
    } catch {
      // closed meanwhile, or the readdir's own descriptor
    }
  }
}

/**
 * The steps every snapshot write shares, whoever produces the bytes (V8 on this thread,
 * or the inspector from the watchdog): check resources and create the partial file 0600;
 * then either complete it (verify, rename) or abandon it (no file left behind).
 */
function beginPartial(file, options = {}) {
  const { partial, fd } = openPartial(file, options);
  fs.closeSync(fd);
  return partial;
}

/** beginPartial, keeping the partial file open: returns {partial, fd}. */
function openPartial(file, { check = true, heapUsed } = {}) {
  if (check) {
    const refusal = checkResources(path.dirname(file), heapUsed);
    if (refusal) throw refusal;
  }
  // Created 0600 first (V8 truncates and reuses an existing file, keeping the mode),
  // exclusively and without following a link; a name taken meanwhile: try another.
  for (let attempt = 0; ; attempt++) {
    const partial = partialName(file);
    let fd;
    try {
      fd = secureFs.createExclusive(partial, FILE_MODE);
    } catch (error) {
      if (error.code === 'EEXIST' && attempt < 8) continue;
      throw abandonPartial(partial, file, error);
    }
    try {
      const { dev, ino } = fs.fstatSync(fd);
      created.set(partial, { dev, ino });
    } catch (error) {
      fs.closeSync(fd);
      throw abandonPartial(partial, file, error);
    }
    // If this thread's environment goes away mid-dump, the lock's cleanup removes it.
    native.dumpPartial(partial);
    return { partial, fd };
  }
}

/**
 * The name V8 should open to write into the file open as `fd`: on Linux its
 * /proc/self/fd link, which reopens that very file even if its name was swapped for a
 * symlink meanwhile; elsewhere the name itself.
 */
function pathOfOpenFile(fd, partial) {
  const link = `/proc/self/fd/${fd}`;
  try {
    const [viaLink, viaFd] = [fs.statSync(link), fs.fstatSync(fd)];
    if (viaLink.dev === viaFd.dev && viaLink.ino === viaFd.ino) return link;
  } catch {
    // no procfs
  }
  return partial;
}

/** Verify and rename; returns {file, bytes, durationMs} counted from `started`. */
function completePartial(partial, file, started) {
  try {
    if (!isOurs(partial)) throw leakwatchError('ERR_LEAKWATCH_INCOMPLETE', `cannot write heap snapshot ${file}: its partial file ${partial} was replaced by another`);
    const bytes = assertComplete(partial);
    fs.renameSync(partial, file);
    created.delete(partial);
    native.dumpPartial(null);
    return { file, bytes, durationMs: Number(process.hrtime.bigint() - started) / 1e6 };
  } catch (error) {
    throw abandonPartial(partial, file, error);
  }
}

/** Remove what is left of a failed write; returns the error to report. */
function abandonPartial(partial, file, error) {
  closeLeakedDescriptors(partial);
  removeOurs(partial);
  native.dumpPartial(null);
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
  const { partial, fd } = openPartial(file, { check });
  let open = true;
  try {
    v8.writeHeapSnapshot(pathOfOpenFile(fd, partial));
    fs.closeSync(fd);
    open = false;
  } catch (error) {
    // Ours first: abandonPartial then closes whatever descriptor V8 left open on it.
    if (open) fs.closeSync(fd);
    throw abandonPartial(partial, file, error);
  }
  return completePartial(partial, file, started);
}

/**
 * Keep at most `max` of leakwatch's own snapshots in `dir`, deleting the oldest;
 * files in `keep` (the one the next growth report compares against) stay.
 */
function enforceRetention(dir, max, keep = new Set()) {
  if (!max || max < 1) return [];
  let names;
  try {
    names = fs.readdirSync(dir).filter((name) => OWN_NAME.test(name));
  } catch {
    return [];
  }
  const files = names
    .map((name) => {
      const file = path.join(dir, name);
      try {
        return { file, mtime: fs.statSync(file).mtimeMs };
      } catch {
        return null;
      }
    })
    .filter(Boolean)
    .sort((a, b) => a.mtime - b.mtime || a.file.localeCompare(b.file, 'en', { numeric: true }));
  const removed = files
    .slice(0, Math.max(0, files.length - max))
    .map(({ file }) => file)
    .filter((file) => !keep.has(file));
  removed.forEach(removeQuietly);
  return removed;
}

module.exports = { defaultFilename, writeSnapshotFile, beginPartial, completePartial, abandonPartial, enforceRetention, checkResources, assertComplete, partialName, FILE_MODE, OWN_NAME };
