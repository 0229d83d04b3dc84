'use strict';
// The one registry of leakwatch's error codes: every error leakwatch raises or reports has
// a stable `code` listed here, the class it is raised as, and (in the README's table) what
// it means. Codes of errors raised in Rust are listed too: src/error.rs gives each core
// error kind one of them, and __test__/errors.test.mjs fails when src/error.rs, this map,
// index.d.ts (LeakwatchErrorCode) and the README disagree. Programs branch on `code`;
// messages are for people and may change.

const CODES = Object.freeze({
  // Reading and analysing snapshot files (raised in Rust; promises reject with them).
  ERR_LEAKWATCH_NOT_FOUND: Error,
  ERR_LEAKWATCH_NOT_A_FILE: Error,
  ERR_LEAKWATCH_IO: Error,
  ERR_LEAKWATCH_TRUNCATED: Error,
  ERR_LEAKWATCH_NOT_A_SNAPSHOT: Error,
  ERR_LEAKWATCH_INCONSISTENT: Error,
  ERR_LEAKWATCH_TOO_FEW_SNAPSHOTS: Error,
  ERR_LEAKWATCH_OUT_OF_ORDER: Error,
  ERR_LEAKWATCH_SAME_SNAPSHOT: Error,
  ERR_LEAKWATCH_STREAM_FINISHED: Error,
  ERR_LEAKWATCH_CHART_SIZE: Error,
  ERR_LEAKWATCH_INTERNAL: Error,
  // Writing snapshots (raised in JS, by the main thread or the watchdog; INCOMPLETE is
  // raised in Rust by the file protocol, crates/os, coded in src/error.rs).
  ERR_LEAKWATCH_BUSY: Error,
  ERR_LEAKWATCH_NO_MEMORY: Error,
  ERR_LEAKWATCH_NO_DISK: Error,
  ERR_LEAKWATCH_INCOMPLETE: Error,
  // Comparing snapshots whose ids V8 renumbered (an inspector session detached between them).
  ERR_LEAKWATCH_RENUMBERED: Error,
  // …or of two different processes, or with more than one look-alike of leakwatch's id sentinel.
  ERR_LEAKWATCH_DIFFERENT_PROCESSES: Error,
  ERR_LEAKWATCH_AMBIGUOUS_SENTINEL: Error,
  // The watchdog (dumps of a stuck main thread).
  ERR_LEAKWATCH_DEBUGGER_ATTACHED: Error,
  ERR_LEAKWATCH_NOT_PAUSED: Error,
  ERR_LEAKWATCH_WATCHDOG: Error,
  // Output directories and input streams (leakwatch run/demo/plot, summary/diff of a pipe).
  ERR_LEAKWATCH_UNSAFE_DIR: Error,
  ERR_LEAKWATCH_NOT_A_DIR: Error,
  ERR_LEAKWATCH_NEEDS_FILE: Error,
  ERR_LEAKWATCH_STREAM_TWICE: Error,
  ERR_LEAKWATCH_ALREADY_ENDED: Error,
  // leakwatch run: the command could not be started (not found, not executable).
  ERR_LEAKWATCH_CANNOT_START: Error,
  // Loading leakwatch: no native addon for this platform (or it would not load).
  ERR_LEAKWATCH_NO_BINARY: Error,
  // Allocation sampling (lib/agent/sampler.js).
  ERR_LEAKWATCH_SAMPLING_OFF: Error,
  ERR_LEAKWATCH_SAMPLING_UNAVAILABLE: Error,
  ERR_LEAKWATCH_SAMPLING_FOREIGN: Error,
  ERR_LEAKWATCH_SAMPLING_RESTARTED: Error,
  ERR_LEAKWATCH_SAMPLING_FAILED: Error,
  ERR_LEAKWATCH_SAMPLING_FALLBACK: Error,
  // Metrics (lib/agent/metrics.js): the /metrics endpoint could not listen; an optional peer
  // (prom-client, @opentelemetry/api) is not installed.
  ERR_LEAKWATCH_METRICS_LISTEN: Error,
  ERR_LEAKWATCH_PEER_MISSING: Error,
  // .heapprofile files (raised in Rust: crates/core/src/sampling/profile.rs).
  ERR_LEAKWATCH_PROFILE_TRUNCATED: Error,
  ERR_LEAKWATCH_PROFILE_INVALID: Error,
  ERR_LEAKWATCH_NOT_A_PROFILE: Error,
  // Calling leakwatch.
  ERR_LEAKWATCH_INVALID_OPTION: TypeError,
  ERR_LEAKWATCH_INVALID_ARG: TypeError,
  ERR_LEAKWATCH_NO_RECORDS: Error,
  ERR_LEAKWATCH_NO_SUCH_PID: Error,
  // leakwatch report: a directory with nothing leakwatch wrote in it.
  ERR_LEAKWATCH_NOTHING_TO_REPORT: Error,
  ERR_LEAKWATCH_USAGE: Error,
});

/**
 * An error with a registered `code`; `props` become properties of the error (`file`,
 * `offset`, …), except `cause`, which is passed as the standard error cause.
 */
function leakwatchError(code, message, props = {}) {
  if (!Object.hasOwn(CODES, code)) throw new TypeError(`leakwatch: unregistered error code ${code}`);
  const { cause, ...rest } = props;
  const error = new CODES[code](message, cause === undefined ? undefined : { cause });
  return Object.assign(error, rest, { code });
}

module.exports = { CODES, leakwatchError };
