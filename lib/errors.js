'use strict';

/** A mistake in how the command was called (exit status 2). */
class UsageError extends Error {}

// Stable error codes (the Rust core's typed errors get theirs in src/convert.rs).
const CODES = Object.freeze({
  ERR_LEAKWATCH_RENUMBERED: 'V8 renumbered every object between two snapshots (an inspector session detached): they cannot be compared',
  ERR_LEAKWATCH_DEBUGGER_ATTACHED: 'a debugger is active: the watchdog does not pause the main thread under it; the dump waits for the main thread',
  ERR_LEAKWATCH_NOT_PAUSED: 'the watchdog could not pause the stuck main thread in time; the dump waits for the main thread',
  ERR_LEAKWATCH_WATCHDOG: "the watchdog could not run leakwatch's dump function on the main thread",
});

/** An Error with a registered `code` (and extra properties). */
function leakwatchError(code, message, props = {}) {
  if (!Object.hasOwn(CODES, code)) throw new TypeError(`unregistered leakwatch error code ${code}`);
  return Object.assign(new Error(message || CODES[code]), { code }, props);
}

module.exports = { UsageError, CODES, leakwatchError };
