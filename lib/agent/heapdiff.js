'use strict';
// memwatch's HeapDiff: `new HeapDiff()` snapshots the heap, `end()` snapshots it again
// and returns the per-class difference. The snapshots go to 0600 files in a private
// temporary directory that is always removed; the analysis runs in Rust, so the
// diff's own bookkeeping never appears in the heap it measures.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const native = require('../shared/native');
const { writeSnapshotFile } = require('./dump');
const { leakwatchError } = require('../shared/errors');

const pending = new Set();
let exitHookInstalled = false;

function removeDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  pending.delete(dir);
}

function trackForExit(dir) {
  pending.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A HeapDiff that is never ended must not leave a heap copy in /tmp.
  process.on('exit', () => {
    for (const leftover of pending) fs.rmSync(leftover, { recursive: true, force: true });
  });
}

function snapshotTo(dir, name) {
  return writeSnapshotFile(path.join(dir, name), { check: false }).file;
}

class HeapDiff {
  #dir;
  #before;
  #ended = false;

  constructor() {
    this.#dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-heapdiff-'));
    trackForExit(this.#dir);
    try {
      this.#before = snapshotTo(this.#dir, 'before.heapsnapshot');
    } catch (error) {
      removeDir(this.#dir);
      throw error;
    }
  }

  #takeAfter() {
    if (this.#ended) throw leakwatchError('ERR_LEAKWATCH_ALREADY_ENDED', 'attempt to end() a HeapDiff that was already ended');
    this.#ended = true;
    try {
      return snapshotTo(this.#dir, 'after.heapsnapshot');
    } catch (error) {
      removeDir(this.#dir);
      throw error;
    }
  }

  /** Snapshot again and return memwatch's diff shape. A second call throws. */
  end() {
    const after = this.#takeAfter();
    try {
      return native.diffSnapshotsSync(this.#before, after);
    } finally {
      removeDir(this.#dir);
    }
  }

  /** Like end(), but the comparison runs off the main thread. */
  async endAsync() {
    const after = this.#takeAfter();
    try {
      return await native.diffSnapshots(this.#before, after);
    } finally {
      removeDir(this.#dir);
    }
  }
}

module.exports = { HeapDiff };
