'use strict';
// The snapshot analyses as plain functions over the native binding: what the CLI needs,
// without the in-process agent (signal handler, watchdog worker, GC observer) that
// `require('leakwatch')` installs. index.js re-exports them as they are.

const fs = require('node:fs');
const native = require('./native');
const { leakwatchError } = require('./errors');

/**
 * True when `file` can only be read front to back: `-` (stdin), a named pipe (process
 * substitution `<(…)` included), a socket or a character device. stat() never blocks,
 * even on a pipe with no writer yet.
 */
function isStream(file) {
  if (file === '-') return true;
  try {
    const stat = fs.statSync(file);
    return stat.isFIFO() || stat.isSocket() || stat.isCharacterDevice();
  } catch {
    return false; // let the reader report a missing file
  }
}

function needsFile(file, what) {
  return leakwatchError(
    'ERR_LEAKWATCH_NEEDS_FILE',
    `${file === '-' ? 'stdin' : file} is a pipe, not a file: ${what} reads the snapshot more than once (random access); save it to a file first`,
    { path: file },
  );
}

/** Feed `file` (a stream: `-` is stdin) chunk by chunk to `push`; resolves at its end. */
function pump(file, push) {
  return new Promise((resolve, reject) => {
    const stream = file === '-' ? process.stdin : fs.createReadStream(file);
    const fail = (error) => {
      stream.off('data', onData);
      if (stream !== process.stdin) stream.destroy();
      else stream.pause();
      reject(error);
    };
    const onData = (chunk) => {
      try {
        push(chunk);
      } catch (error) {
        fail(error);
      }
    };
    stream.on('data', onData);
    stream.once('error', (error) => fail(Object.assign(new Error(`${file === '-' ? 'stdin' : file}: ${error.message}`, { cause: error }), { code: error.code })));
    stream.once('end', resolve);
  });
}

/**
 * Per-class summary of a snapshot file (off the main thread), or of a stream; with
 * `{retained: true}` retained sizes too (full graph and dominator tree: files only).
 */
async function summarize(file, options = {}) {
  file = String(file);
  if (options.retained) {
    if (isStream(file)) throw needsFile(file, 'summary --retained');
    return native.summarize(file, { retained: true, progress: options.progress });
  }
  if (!isStream(file)) return native.summarize(file, { retained: false, progress: options.progress });
  const reader = new native.SummaryStream();
  await pump(file, (chunk) => reader.push(chunk));
  return { ...reader.finish(), file: file === '-' ? '(stdin)' : file };
}

/** `summarize(file, {retained: true})`, kept for compatibility: files only. */
function summarizeRetained(file, options = {}) {
  return summarize(file, { ...options, retained: true });
}

/** memwatch-style HeapDiff of two snapshots (files off the main thread, or streams). */
async function diffSnapshots(before, after) {
  [before, after] = [String(before), String(after)];
  if (!isStream(before) && !isStream(after)) return native.diffSnapshots(before, after);
  if (before === '-' && after === '-') throw leakwatchError('ERR_LEAKWATCH_STREAM_TWICE', 'stdin can be only one of the two snapshots');
  const reader = new native.DiffStream();
  await pump(before, (chunk) => reader.push(chunk));
  reader.nextSnapshot();
  await pump(after, (chunk) => reader.push(chunk));
  return reader.finish();
}

/** The three-snapshot technique over S1…Sn (n >= 3, in order, one process). */
function analyze(files, options = {}) {
  if (!Array.isArray(files)) return Promise.reject(leakwatchError('ERR_LEAKWATCH_INVALID_ARG', 'analyze expects an array of snapshot files'));
  const names = files.map(String);
  const piped = names.find(isStream);
  if (piped !== undefined) return Promise.reject(needsFile(piped, 'analyze'));
  return native.analyze(names, options);
}

/** Sizes as memwatch prints them ("1.78 mb"): the one size format, used everywhere. */
function humanSize(bytes) {
  return native.humanSize(bytes);
}

module.exports = { summarize, summarizeRetained, diffSnapshots, analyze, humanSize };
