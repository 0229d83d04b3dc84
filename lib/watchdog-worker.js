'use strict';
// The watchdog: a worker thread that snapshots the main isolate through the inspector
// when the main thread cannot answer a dump signal (busy loop, GC thrash). The inspector
// reaches the main isolate by interrupt, so the dump completes while the loop is stuck.

const fs = require('node:fs');
const inspector = require('node:inspector');
const { parentPort, workerData } = require('node:worker_threads');
const native = require('./native');
const dump = require('./dump');

// Where and how to dump; the main thread sends updates when its options change.
const settings = { dir: workerData.dir, checkResources: workerData.checkResources };

function post(session, method, params = {}) {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

/** Stream the main isolate's snapshot into `partial` (already created 0600). */
function snapshotMainIsolate(session, partial) {
  return new Promise((resolve, reject) => {
    // The partial was just created (0600, exclusive): reopen it, never through a link.
    const fd = fs.openSync(partial, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
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
  const file = dump.defaultFilename(settings.dir);
  const started = process.hrtime.bigint();
  const session = new inspector.Session();
  try {
    session.connectToMainThread();
    // The main isolate's heap, not this worker's, decides whether a dump fits.
    const heapUsed = settings.checkResources ? (await post(session, 'Runtime.getHeapUsage')).usedSize : undefined;
    const partial = dump.beginPartial(file, { check: settings.checkResources, heapUsed });
    try {
      await snapshotMainIsolate(session, partial);
    } catch (error) {
      throw dump.abandonPartial(partial, file, error);
    }
    const { bytes, durationMs } = dump.completePartial(partial, file, started);
    parentPort.postMessage({ type: 'snapshot', file, bytes, durationMs, completedAt: Date.now() });
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: error.message, code: error.code });
  } finally {
    session.disconnect();
    native.dumpEnd();
  }
}

native.watchdogRegister(() => {
  dumpThroughInspector();
});
parentPort.on('message', (message) => {
  if (message && message.type === 'configure') Object.assign(settings, message.settings);
  if (message === 'stop') {
    native.watchdogUnregister();
    process.exit(0);
  }
});
