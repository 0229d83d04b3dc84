'use strict';
// The watchdog: a worker thread that snapshots the main isolate through the inspector
// when the main thread cannot answer a dump signal (busy loop, GC thrash). The inspector
// reaches the main isolate by interrupt, so the dump completes while the loop is stuck.

const fs = require('node:fs');
const inspector = require('node:inspector');
const { parentPort, workerData } = require('node:worker_threads');
const native = require('../binding.js');
const dump = require('./dump');

/** Stream the main isolate's snapshot into `partial` (already created 0600). */
function snapshotMainIsolate(partial) {
  return new Promise((resolve, reject) => {
    const session = new inspector.Session();
    session.connectToMainThread();
    const fd = fs.openSync(partial, 'w');
    let writeError = null;
    session.on('HeapProfiler.addHeapSnapshotChunk', ({ params }) => {
      if (writeError) return;
      try {
        fs.writeSync(fd, params.chunk);
      } catch (error) {
        writeError = error;
      }
    });
    session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, (error) => {
      session.disconnect();
      try {
        fs.closeSync(fd);
      } catch (closeError) {
        writeError = writeError || closeError;
      }
      if (error || writeError) reject(writeError || error);
      else resolve();
    });
  });
}

async function dumpThroughInspector() {
  const file = dump.defaultFilename(workerData.dir);
  const partial = dump.partialName(file);
  const started = process.hrtime.bigint();
  try {
    if (workerData.checkResources) {
      const refusal = dump.checkResources(workerData.dir);
      if (refusal) throw refusal;
    }
    fs.closeSync(fs.openSync(partial, 'wx', dump.FILE_MODE));
    await snapshotMainIsolate(partial);
    // A short final write (disk filling up) raises no error: check the closing "]}" (and fsync).
    const bytes = dump.assertComplete(partial);
    fs.renameSync(partial, file);
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
    parentPort.postMessage({ type: 'snapshot', file, bytes, durationMs, completedAt: Date.now() });
  } catch (error) {
    try {
      fs.unlinkSync(partial);
    } catch {
      // never created
    }
    parentPort.postMessage({ type: 'error', message: `cannot write heap snapshot ${file}: ${error.message}`, code: error.code });
  } finally {
    native.dumpEnd();
  }
}

native.watchdogRegister(() => {
  dumpThroughInspector();
});
parentPort.on('message', (message) => {
  if (message === 'stop') {
    native.watchdogUnregister();
    process.exit(0);
  }
});
