'use strict';
// Wires the dump signal: the Rust thread catches it; this file keeps libuv from taking
// the signal away when the app adds or removes its own listeners for it.

const { isMainThread } = require('node:worker_threads');
const os = require('node:os');
const native = require('../shared/native');
const { leakwatchError } = require('../shared/errors');

// Two copies of leakwatch in one process must not both answer the signal.
const OWNER = Symbol.for('leakwatch.signal-owner');

// leakwatch's own listener on the dump signal. While it is there, Node keeps its libuv
// signal handle open whatever the app's listeners do, so libuv never resets the signal
// to its default action (terminate): there is no moment in which the signal kills.
function leakwatchDumpSignal() {}

/**
 * Start watching `signalName`; `onSignal(signum)` runs on the main thread for each
 * request, `onSignal(0)` when a request was refused because a dump has held the lock
 * for longer than `busyReportAfterMs`.
 * Returns a reason string when it does not watch (not main thread, another copy owns it).
 */
function watchSignal(signalName, onSignal, { stuckAfterMs, busyReportAfterMs }) {
  if (!isMainThread) return 'signals are handled by the main thread';
  if (process[OWNER]) return `another copy of leakwatch (${process[OWNER]}) already handles ${signalName}`;
  const signum = os.constants.signals[signalName];
  if (!signum) throw leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `unknown signal '${signalName}'`);
  // libuv installs its handler first, so the one signal-hook installs chains to it:
  // the app's own process.on(signal) listeners keep working alongside ours.
  let exiting = false;
  process.on(signalName, leakwatchDumpSignal);
  native.signalWatch(signum, onSignal, stuckAfterMs, busyReportAfterMs);
  native.signalRearm();
  // The app may remove every listener (removeAllListeners(signal)): put ours back before
  // Node's own 'removeListener' hook sees a count of 0 and closes the handle (prepended,
  // so this runs first).
  process.prependListener('removeListener', (event, listener) => {
    if (!exiting && event === signalName && listener === leakwatchDumpSignal && process.listenerCount(signalName) === 0) {
      process.on(signalName, leakwatchDumpSignal);
    }
  });
  // If anything still replaced the handler (another native module, a libuv handle of a
  // different loop), put ours back whenever the listeners change.
  const rearm = (event) => {
    if (event === signalName && !exiting) native.signalRearm();
  };
  process.on('newListener', rearm);
  process.on('removeListener', rearm);
  // At exit a dump is moot (no listener runs after 'exit'), and the watchdog is going: the
  // signal is caught and dropped from here on. Node closes its signal handles during
  // teardown; the native side keeps a libuv handle of its own so that libuv does not then
  // reset the signal to its default action (terminate): a dump signal in that window
  // (`leakwatch run`'s schedule, an operator) would kill a process exiting with its own code.
  process.on('exit', () => {
    exiting = true;
    native.signalIgnore(signum);
  });
  Object.defineProperty(process, OWNER, { value: __dirname, configurable: true });
  return null;
}

module.exports = { watchSignal };
