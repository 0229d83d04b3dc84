'use strict';
// The snapshot analyses as plain functions over the native binding: what the CLI needs,
// without the in-process agent (signal handler, watchdog worker, GC observer) that
// `require('leakwatch')` installs. index.js re-exports them as they are.

const native = require('../binding.js');
const { leakwatchError } = require('./errors');

/** Per-class summary of a snapshot file, off the main thread: `{retained, progress}`. */
function summarize(file, options = {}) {
  return native.summarize(String(file), { retained: Boolean(options.retained), progress: options.progress });
}

/** `summarize(file, {retained: true})`, kept for compatibility. */
function summarizeRetained(file, options = {}) {
  return summarize(file, { ...options, retained: true });
}

/** memwatch-style HeapDiff of two snapshot files, off the main thread. */
function diffSnapshots(before, after) {
  return native.diffSnapshots(String(before), String(after));
}

/** The three-snapshot technique over S1…Sn (n >= 3, in order, one process). */
function analyze(files, options = {}) {
  if (!Array.isArray(files)) return Promise.reject(leakwatchError('ERR_LEAKWATCH_INVALID_ARG', 'analyze expects an array of snapshot files'));
  return native.analyze(files.map(String), options);
}

/** Sizes as memwatch prints them ("1.78 mb"): the one size format, used everywhere. */
function humanSize(bytes) {
  return native.humanSize(bytes);
}

module.exports = { summarize, summarizeRetained, diffSnapshots, analyze, humanSize };
