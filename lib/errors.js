'use strict';
// The one registry of error codes raised in JS.

/** code -> what it means (README lists them). */
const CODES = {
  ERR_LEAKWATCH_NO_RECORDS: 'a stats file holds no leakwatch records',
  ERR_LEAKWATCH_NO_SUCH_PID: 'a stats file holds no records of the process asked for (--pid)',
};

/** An Error with a registered `code` (and any extra properties). */
function leakwatchError(code, message, props = {}) {
  if (!Object.hasOwn(CODES, code)) throw new TypeError(`unregistered leakwatch error code ${code}`);
  return Object.assign(new Error(message), { code }, props);
}

/** A mistake in how the command was called (exit status 2). */
class UsageError extends Error {}

module.exports = { CODES, leakwatchError, UsageError };
