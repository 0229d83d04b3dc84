'use strict';
// The one registry of error codes raised in JS.

/** code -> what it means (README lists them). */
const CODES = {
  ERR_LEAKWATCH_NO_RECORDS: 'a stats file holds no leakwatch records',
  ERR_LEAKWATCH_NO_SUCH_PID: 'a stats file holds no records of the process asked for (--pid)',
  ERR_LEAKWATCH_BUSY: 'a heap snapshot is already being written in this process',
  ERR_LEAKWATCH_UNSAFE_DIR: 'an output directory that another user owns or can write to',
  ERR_LEAKWATCH_NOT_A_DIR: 'an output path that exists and is not a directory',
  ERR_LEAKWATCH_NEEDS_FILE: 'a command that needs random access was given a pipe or stdin',
  ERR_LEAKWATCH_STREAM_TWICE: 'stdin named more than once',
};

/** An Error with a registered `code` (and any extra properties; `cause` as Error's own). */
function leakwatchError(code, message, props = {}) {
  if (!Object.hasOwn(CODES, code)) throw new TypeError(`unregistered leakwatch error code ${code}`);
  const { cause, ...rest } = props;
  return Object.assign(new Error(message, cause ? { cause } : undefined), { code }, rest);
}

/** A mistake in how the command was called (exit status 2). */
class UsageError extends Error {}

module.exports = { CODES, leakwatchError, UsageError };
