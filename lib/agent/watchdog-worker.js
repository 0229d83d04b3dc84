'use strict';
// The watchdog: a worker thread that dumps the main isolate when the main thread cannot
// answer a dump signal (busy loop, GC thrash).
//
// Route (Node 20 to 26): through an inspector session connected to the main thread,
// Debugger.pause stops the main thread at its next JS statement, even inside a busy loop;
// while it is paused, Runtime.evaluate runs the dump function leakwatch installed on the
// main thread at load time (lib/agent/snapshots.js), which writes the file with the same code as
// every other dump (lib/agent/dump.js); then Debugger.resume and Debugger.disable restore the
// debugger's state. HeapProfiler.takeHeapSnapshot over this session is not used: newer V8
// (Node 22+) defers it until the main thread is idle, i.e. until the loop ends.
//
// Object ids: V8 clears its heap object id map whenever an inspector session disconnects
// (whatever domains it enabled), so this session is connected on the first stuck-thread
// dump and stays connected for the life of the process. It is only dropped at process exit,
// when the ids no longer matter (see Snapshots.startWatchdog: without that, Node would print
// "Waiting for the debugger to disconnect..." on process.exit()).

const fs = require('node:fs');
const inspector = require('node:inspector');
const { parentPort, workerData } = require('node:worker_threads');
const native = require('../shared/native');
const dump = require('./dump');
const { WATCHDOG_DUMP_KEY, WATCHDOG_STATE } = require('./dump');
const { leakwatchError } = require('../shared/errors');

// Where and how to dump; the main thread sends updates when its options change.
const settings = { dir: workerData.dir, checkResources: workerData.checkResources };
// Shared with the main thread (Int32Array over a SharedArrayBuffer), see WATCHDOG_STATE.
const state = workerData.state;
// How long the main thread may take to answer the watchdog's first command and then to
// pause, counted from the request, before the dump is handed back to the main thread: a
// main thread blocked in native code (a synchronous crypto call, a read of a FIFO) serves
// no inspector command and runs no JS statement to pause at.
const PAUSE_TIMEOUT_MS = workerData.pauseTimeoutMs || 10_000;

// How long restoring the debugger's state may hold the dump lock.
const CLEANUP_WAIT_MS = 2000;

let session = null;
let stopped = false;
// A Debugger.enable the main thread has not answered yet (it is blocked in native code):
// later requests are handed back at once, and the debugger is disabled again once the
// main thread answers.
let unanswered = null;

function connect() {
  if (!session) {
    session = new inspector.Session();
    session.connectToMainThread();
    Atomics.store(state, WATCHDOG_STATE.CONNECTED, 1);
  }
  return session;
}

function post(method, params = {}) {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

/** Resolves with the next `event`'s params, or null after `ms`. */
function nextEvent(event, ms) {
  return new Promise((resolve) => {
    const listener = ({ params }) => {
      clearTimeout(timer);
      resolve(params);
    };
    const timer = setTimeout(() => {
      session.removeListener(event, listener);
      resolve(null);
    }, ms);
    session.once(event, listener);
  });
}

/** Waits for `promise` at most CLEANUP_WAIT_MS; never rejects. */
function bounded(promise) {
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, CLEANUP_WAIT_MS)));
  return Promise.race([promise.catch(() => {}), timeout]).finally(() => clearTimeout(timer));
}

function coded(message, code) {
  return leakwatchError(code, message);
}

/**
 * Leave the dump to the main thread (it serves the pending request when its loop runs
 * again) and say why, at once on stderr (the main thread may stay stuck a long time) and
 * as an error event once the main thread reads its messages.
 */
function deferToMain(error, signal) {
  native.dumpDefer(signal);
  try {
    fs.writeSync(2, `leakwatch: ${error.message}\n`);
  } catch {
    // no stderr
  }
  parentPort.postMessage({ type: 'error', message: error.message, code: error.code });
}

/**
 * Enable the debugger and pause the main thread. Returns null when paused by us, or the
 * reason to leave the dump to the main thread.
 */
async function pauseMainThread(progress, deadline) {
  const blocked = () =>
    coded(
      `the main thread did not answer the watchdog within ${PAUSE_TIMEOUT_MS} ms: it is blocked in native code (a synchronous call such as crypto.pbkdf2Sync or a read of a pipe), where it cannot be paused; the dump waits for the main thread`,
      'ERR_LEAKWATCH_NOT_PAUSED',
    );
  if (unanswered) return blocked();
  // Another session holding the main thread paused is reported to a session that
  // enables the debugger: then the pause is not ours to use, nor to resume.
  let pauseSent = false;
  let foreignPause = false;
  const early = () => {
    if (!pauseSent) foreignPause = true;
  };
  session.on('Debugger.paused', early);
  try {
    const enable = post('Debugger.enable');
    let timer;
    const answered = await Promise.race([enable.then(() => true), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), false)))]);
    clearTimeout(timer);
    if (!answered) {
      // Served once the main thread is back in JS: then restore the debugger's state.
      unanswered = enable
        .then(() => post('Debugger.disable'))
        .catch(() => {})
        .finally(() => (unanswered = null));
      return blocked();
    }
    progress.enabled = true;
    if (foreignPause) {
      return coded('the main thread is paused in a debugger: the watchdog leaves it alone; the dump waits for the main thread', 'ERR_LEAKWATCH_DEBUGGER_ATTACHED');
    }
    const paused = nextEvent('Debugger.paused', Math.max(0, deadline - Date.now()));
    pauseSent = true;
    // The reply may never come (the thread went into native code after answering enable):
    // the pause's deadline bounds the wait either way.
    await Promise.race([post('Debugger.pause'), paused]);
    if (!(await paused)) {
      return coded(`the main thread did not reach a JS statement within ${PAUSE_TIMEOUT_MS} ms (blocked in native code?): the dump waits for the main thread`, 'ERR_LEAKWATCH_NOT_PAUSED');
    }
    progress.paused = true;
    return null;
  } finally {
    session.removeListener('Debugger.paused', early);
  }
}

async function dumpStuckMainThread(signal) {
  if (Atomics.load(state, WATCHDOG_STATE.DEBUGGER) === 1) {
    deferToMain(
      coded(
        'the main thread is stuck, but a debugger (inspector) is active in this process: the watchdog does not pause the main thread under it; the dump waits for the main thread',
        'ERR_LEAKWATCH_DEBUGGER_ATTACHED',
      ),
      signal,
    );
    return;
  }
  const file = dump.defaultFilename(settings.dir);
  const requested = process.hrtime.bigint();
  const deadline = Date.now() + PAUSE_TIMEOUT_MS;
  connect();
  const progress = { enabled: false, paused: false };
  let deferred = null;
  let outcome = null;
  try {
    deferred = await pauseMainThread(progress, deadline);
    if (!deferred) {
      const pauseMs = Number(process.hrtime.bigint() - requested) / 1e6;
      const call = [JSON.stringify(file), Boolean(settings.checkResources), pauseMs].join(', ');
      const expression = `globalThis[Symbol.for(${JSON.stringify(WATCHDOG_DUMP_KEY)})](${call})`;
      const { result, exceptionDetails } = await post('Runtime.evaluate', { expression, returnByValue: true, silent: true });
      if (exceptionDetails || !result || typeof result.value !== 'object' || result.value === null) {
        throw coded(`the watchdog could not run leakwatch's dump function on the main thread: ${exceptionDetails ? exceptionDetails.text : 'no result'}`, 'ERR_LEAKWATCH_WATCHDOG');
      }
      outcome = result.value;
    }
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: error.message, code: error.code });
  } finally {
    // Restore the debugger as it was: running, and disabled for this session. Bounded: a
    // thread that went into native code answers only when it returns, and the dump lock is
    // released below whether or not it has answered yet (the commands stay queued, in order).
    if (progress.paused) await bounded(post('Debugger.resume'));
    if (progress.enabled) await bounded(post('Debugger.disable'));
  }
  if (deferred) {
    deferToMain(deferred, signal);
    return;
  }
  native.dumpEnd();
  // The main thread now reports the dump it wrote ('snapshot' or 'error'); a debugger that
  // was active meanwhile is worth a word.
  parentPort.postMessage({ type: 'restored' });
  if (outcome && outcome.inspectorUrl) {
    const pausedMs = Number(process.hrtime.bigint() - requested) / 1e6;
    parentPort.postMessage({ type: 'error', code: 'ERR_LEAKWATCH_DEBUGGER_ATTACHED', message: `the watchdog paused the main thread for ${Math.round(pausedMs)} ms to dump it while a debugger was active (${outcome.inspectorUrl})` });
  }
}

native.watchdogRegister((signal) => {
  dumpStuckMainThread(signal).catch((error) => {
    native.dumpEnd();
    parentPort.postMessage({ type: 'restored' });
    parentPort.postMessage({ type: 'error', message: error.message, code: error.code });
  });
});
parentPort.on('message', (message) => {
  if (message && message.type === 'configure') Object.assign(settings, message.settings);
  if (message === 'stop' && !stopped) {
    stopped = true;
    native.watchdogUnregister();
    // A connected session stays: disconnecting it would renumber every object.
    if (!session) process.exit(0);
  }
  if (message === 'exit') {
    // The process is exiting: ids no longer matter; Node must not wait for this session.
    if (session) session.disconnect();
    session = null;
    Atomics.store(state, WATCHDOG_STATE.EXIT_ACK, 1);
    Atomics.notify(state, WATCHDOG_STATE.EXIT_ACK);
  }
});
