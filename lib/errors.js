'use strict';
// leakwatch's JS error codes, in one place. Codes raised by the Rust core (profile
// parsing) come with the error from the binding and are listed here too.

/** A mistake in how the command was called (exit status 2). */
class UsageError extends Error {}

const CODES = {
  // Allocation sampling (lib/sampler.js)
  ERR_LEAKWATCH_SAMPLING_OFF: 'sites() was called while allocation sampling is off',
  ERR_LEAKWATCH_SAMPLING_UNAVAILABLE: 'node:inspector is not available in this process',
  ERR_LEAKWATCH_SAMPLING_FOREIGN: 'another inspector session runs the sampling heap profiler',
  ERR_LEAKWATCH_SAMPLING_RESTARTED: 'another session stopped the sampling heap profiler; leakwatch restarted it',
  ERR_LEAKWATCH_SAMPLING_FAILED: 'the inspector refused a sampling heap profiler command',
  // .heapprofile files (raised by the Rust core, crates/core/src/sampling/profile.rs)
  ERR_LEAKWATCH_PROFILE_TRUNCATED: 'the heap profile ends early',
  ERR_LEAKWATCH_PROFILE_INVALID: 'the file is not JSON (or nested beyond any profile)',
  ERR_LEAKWATCH_NOT_A_PROFILE: 'valid JSON, but not a sampling heap profile',
};

/** An Error with a registered `code` (and optional extra properties). */
function leakwatchError(code, message, props = {}) {
  if (!Object.hasOwn(CODES, code)) throw new TypeError(`unregistered leakwatch error code ${code}`);
  const { cause, ...rest } = props;
  const error = new Error(message, cause ? { cause } : undefined);
  return Object.assign(error, { code }, rest);
}

module.exports = { UsageError, CODES, leakwatchError };
