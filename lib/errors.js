'use strict';

/** A mistake in how the command was called (exit status 2). */
class UsageError extends Error {}

/** Every JS-side error code leakwatch gives, with what it means. */
const CODES = {
  ERR_LEAKWATCH_NO_BINARY: 'no native addon could be loaded for this platform',
};

/** An Error with a stable `code` from CODES and extra properties. */
function leakwatchError(code, message, props = {}) {
  if (!Object.hasOwn(CODES, code)) throw new TypeError(`unknown leakwatch error code ${code}`);
  const error = new Error(message);
  error.code = code;
  return Object.assign(error, props);
}

module.exports = { UsageError, CODES, leakwatchError };
