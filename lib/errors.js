'use strict';

/** A mistake in how the command was called (exit status 2). */
class UsageError extends Error {}

/** leakwatch's own error codes (JS side), one place: code -> what it means. */
const CODES = {
  ERR_LEAKWATCH_BUSY: 'a heap snapshot is already being written in this process',
  ERR_LEAKWATCH_UNSAFE_DIR: 'an output directory that another user owns or can write to',
  ERR_LEAKWATCH_NOT_A_DIR: 'an output path that exists and is not a directory',
  ERR_LEAKWATCH_NEEDS_FILE: 'a command that needs random access was given a pipe or stdin',
  ERR_LEAKWATCH_STREAM_TWICE: 'stdin named more than once',
};

/** An Error with a stable `code` from CODES (and any extra properties). */
function leakwatchError(code, message, props = {}) {
  if (!Object.hasOwn(CODES, code)) throw new TypeError(`unknown leakwatch error code ${code}`);
  const { cause, ...rest } = props;
  return Object.assign(new Error(message, cause ? { cause } : undefined), { code }, rest);
}

module.exports = { UsageError, CODES, leakwatchError };
