'use strict';
// Wires the dump signal: the Rust thread catches it; this file keeps libuv from taking
// the signal away when the app adds or removes its own listeners for it.

const { isMainThread } = require('node:worker_threads');
const os = require('node:os');
const native = require('./native');

// Two copies of leakwatch in one process must not both answer the signal.
const OWNER = Symbol.for('leakwatch.signal-owner');

function noop() {}

/**
 * Start watching `signalName`; `onSignal()` runs on the main thread for each request.
 * Returns a reason string when it does not watch (not main thread, another copy owns it).
 */
function watchSignal(signalName, onSignal, { stuckAfterMs }) {
  if (!isMainThread) return 'signals are handled by the main thread';
  if (process[OWNER]) return `another copy of leakwatch (${process[OWNER]}) already handles ${signalName}`;
  const signum = os.constants.signals[signalName];
  if (!signum) throw new TypeError(`unknown signal '${signalName}'`);
  // Let libuv install its handler first, so the one signal-hook installs chains to it:
  // the app's own process.on(signal) listeners then keep working alongside ours.
  process.on(signalName, noop);
  try {
    native.signalWatch(signum, onSignal, stuckAfterMs);
  } finally {
    process.removeListener(signalName, noop);
  }
  native.signalRearm();
  // libuv replaces the handler on the first listener and resets it to the default
  // (terminate) after the last: put ours back each time, after Node's own hooks ran.
  const rearm = (event) => {
    if (event === signalName) native.signalRearm();
  };
  process.on('newListener', rearm);
  process.on('removeListener', rearm);
  Object.defineProperty(process, OWNER, { value: __dirname, configurable: true });
  return null;
}

module.exports = { watchSignal };
