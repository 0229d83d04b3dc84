'use strict';
// The snapshot analyses as plain functions over the native binding: what the CLI needs,
// without the in-process agent (signal handler, watchdog worker, GC observer) that
// `require('leakwatch')` installs.

const native = require('./native');

/** Per-class summary of a snapshot file, off the main thread. */
function summarize(file, options = {}) {
  return native.summarize(String(file), options.progress);
}

/** Summary with retained sizes (full graph and dominator tree). */
function summarizeRetained(file, options = {}) {
  return native.summarizeRetained(String(file), options.progress);
}

/** memwatch-style HeapDiff of two snapshot files, off the main thread. */
function diffSnapshots(before, after) {
  return native.diffSnapshots(String(before), String(after));
}

/** The three-snapshot technique over S1…Sn (n >= 3, in order, one process). */
function analyze(files, options = {}) {
  if (!Array.isArray(files)) return Promise.reject(new TypeError('analyze expects an array of snapshot files'));
  return native.analyze(files.map(String), options);
}

module.exports = { summarize, summarizeRetained, diffSnapshots, analyze, humanSize: native.humanSize };
