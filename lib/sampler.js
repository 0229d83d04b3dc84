'use strict';
// The allocation sampler: V8's sampling heap profiler over an in-thread inspector
// session. JS only talks to the inspector and keeps time; grouping, cohorts and site
// ranking happen in Rust (binding Sampler, crates/core/src/sampling).
//
// Rules this file keeps:
// - The session is connected once and never disconnected, and the heap profiler is
//   never disabled: V8 clears its object-id map when a session that used the heap
//   profiler goes away, which would break every snapshot comparison.
// - Reading the profile is serialised on the main thread (V8 builds the whole tree and
//   the inspector serialises it). Reads are rare (readPeriodMs), timed, and their pause
//   is kept in `stats` so it can be checked. Each read includes a full GC that V8's
//   inspector forces, so the period stretches to 100x the last pause (<= ~1 % of time).
// - The sampling profiler is one per isolate, shared by every session: a user's own
//   startSampling is silently ignored by V8 while ours runs (they read our profile); a
//   user's stopSampling stops ours too. We notice at the next read, restart and begin a
//   new epoch (ordinals restart). If someone else was sampling before us, we do not read
//   their profile (its interval and options are unknown); we try again each period.

const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { profileNameFor } = require('./dump');
const { isMainThread } = require('node:worker_threads');
const native = require('./native');
const dump = require('./dump');
const { leakwatchError } = require('./errors');

// Defaults: V8's and DevTools' own sampling interval, and reads every 2 s (stretched to
// 100x the last read's pause, see READ_BACKOFF): the leak detector's survival rule needs a
// few cohorts within its ~10 s window, and was tuned on the corpus at this cadence
// (benches/detection.bench.mjs); the cost is in benches/sampling.bench.mjs.
const DEFAULTS = Object.freeze({
  interval: 32 * 1024, // bytes between samples, on average
  stackDepth: 8, // frames per site: the allocating function and its callers
  readPeriodMs: 2000, // between profile reads (at least; see READ_BACKOFF)
  windowReads: 6, // reads in the window growth is judged over
});
// A fresh read for sites() only when the last one is older than this.
const FRESH_MS = 1000;
// V8's inspector forces a full GC inside every getSamplingProfile (its agent always
// passes kSamplingForceGC), so a read pauses the main thread for about one full GC of
// the heap. The next read waits at least this many times the last pause: reads take at
// most ~1 % of wall time whatever the heap size (benches/sampling.bench.mjs).
const READ_BACKOFF = 100;
const NOT_STARTED = /not started/i;

let sharedSession = null;

/** One in-thread session for the life of the process (never disconnected, see above). */
function session() {
  if (sharedSession) return sharedSession;
  const inspector = require('node:inspector');
  const s = new inspector.Session();
  s.connect();
  sharedSession = s;
  return s;
}

/** In-thread session calls complete synchronously; this returns their result or throws. */
function postSync(method, params = {}) {
  let outcome = null;
  session().post(method, params, (error, result) => {
    outcome = { error, result };
  });
  if (!outcome) throw leakwatchError('ERR_LEAKWATCH_SAMPLING_FAILED', `${method} did not answer synchronously`);
  if (outcome.error) throw outcome.error;
  return outcome.result;
}

function validateOptions(options) {
  const out = { ...DEFAULTS };
  for (const [key, value] of Object.entries(options || {})) {
    if (!Object.hasOwn(DEFAULTS, key)) throw new TypeError(`unknown sampling option '${key}' (known: ${Object.keys(DEFAULTS).join(', ')})`);
    if (value === undefined) continue;
    const ok = key === 'interval' ? Number.isInteger(value) && value >= 1024 && value <= 2 ** 30 : Number.isInteger(value) && value >= (key === 'windowReads' ? 2 : 1) && value <= (key === 'stackDepth' ? 128 : 2 ** 31);
    if (!ok) throw new TypeError(`leakwatch sampling option ${key} must be a whole number${key === 'interval' ? ' of bytes (1024 or more)' : ''}, got ${JSON.stringify(value)}`);
    out[key] = value;
  }
  return out;
}

class Sampler {
  /** `report(error)` for failures; `onSurvival(reading)` after each read (the detector's hook). */
  constructor({ report, onSurvival, options } = {}) {
    this.report = report || ((error) => process.emitWarning(error.message, { type: 'LeakwatchWarning', code: error.code }));
    this.onSurvival = onSurvival;
    this.options = validateOptions(options);
    this.state = null;
    this.timer = null;
    this.owned = false; // V8's sampler is running with our settings
    this.warned = new Set();
    this.stats = { reads: 0, lastReadMs: 0, maxReadMs: 0, totalReadMs: 0, restarts: 0, lastReadAt: -Infinity };
    this.lastReading = null;
  }

  get running() {
    return this.timer !== null;
  }

  configure(options) {
    const next = validateOptions(options);
    const changed = ['interval', 'stackDepth', 'windowReads'].some((k) => next[k] !== this.options[k]);
    const periodChanged = next.readPeriodMs !== this.options.readPeriodMs;
    this.options = next;
    if (this.running && changed) {
      this.stop();
      this.start();
    } else if (this.running && periodChanged) {
      clearTimeout(this.timer);
      this.timer = this.schedule();
    }
  }

  /** Start sampling (idempotent). Never throws: failures are reported. */
  start() {
    if (this.running) return;
    if (!isMainThread) return;
    try {
      session();
    } catch (error) {
      this.warnOnce('unavailable', leakwatchError('ERR_LEAKWATCH_SAMPLING_UNAVAILABLE', `allocation sampling is unavailable: ${error.message}`, { cause: error }));
      return;
    }
    this.state = new native.Sampler({ interval: this.options.interval, stackDepth: this.options.stackDepth, windowReads: this.options.windowReads }, performance.now());
    this.timer = this.schedule();
    this.ensureSampling();
  }

  /** The next read: after the read period, or 100x the last pause if longer. */
  schedule() {
    const delay = Math.max(this.options.readPeriodMs, READ_BACKOFF * (this.stats.lastReadMs || 0));
    const timer = setTimeout(() => {
      this.tick();
      if (this.timer === timer) this.timer = this.schedule();
    }, delay);
    timer.unref();
    return timer;
  }

  /** Stop reading and stop V8's sampler if it is ours; the session stays connected. */
  stop() {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.owned) {
      try {
        postSync('HeapProfiler.stopSampling');
      } catch {
        // stopped by someone else already
      }
    }
    this.owned = false;
  }

  warnOnce(key, error) {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.report(error);
  }

  /** Start V8's sampler unless someone else's is running. Returns whether ours runs. */
  ensureSampling() {
    if (this.owned) return true;
    try {
      postSync('HeapProfiler.getSamplingProfile');
      // It answered: a sampler we did not start is running (a user's session, a
      // profiler attached with --inspect). Its interval and options are unknown.
      this.warnOnce(
        'foreign',
        leakwatchError('ERR_LEAKWATCH_SAMPLING_FOREIGN', 'allocation sampling: another inspector session is already running the sampling heap profiler; leak sites wait until it stops'),
      );
      return false;
    } catch (error) {
      if (!NOT_STARTED.test(error.message)) {
        this.report(leakwatchError('ERR_LEAKWATCH_SAMPLING_FAILED', `allocation sampling: ${error.message}`, { cause: error }));
        return false;
      }
    }
    try {
      postSync('HeapProfiler.startSampling', {
        samplingInterval: this.options.interval,
        // Honoured by V8 from Node 26; older versions keep 128 frames and Rust cuts them.
        stackDepth: this.options.stackDepth,
        includeObjectsCollectedByMajorGC: false,
        includeObjectsCollectedByMinorGC: false,
      });
    } catch (error) {
      this.report(leakwatchError('ERR_LEAKWATCH_SAMPLING_FAILED', `allocation sampling: cannot start: ${error.message}`, { cause: error }));
      return false;
    }
    this.owned = true;
    if (this.stats.reads > 0 || this.state.footprint()[0] > 0) this.state.reset(performance.now());
    return true;
  }

  tick() {
    try {
      this.read();
    } catch (error) {
      this.report(error);
    }
  }

  /**
   * Read the profile now (main thread, synchronous), feed it to the state and hand the
   * survival reading to `onSurvival`. Returns the profile's JSON text, or null when
   * sampling is not ours (yet).
   */
  read() {
    if (!this.running) return null;
    if (!this.ensureSampling()) return null;
    const started = performance.now();
    let profile;
    try {
      profile = postSync('HeapProfiler.getSamplingProfile').profile;
    } catch (error) {
      if (!NOT_STARTED.test(error.message)) throw leakwatchError('ERR_LEAKWATCH_SAMPLING_FAILED', `allocation sampling: ${error.message}`, { cause: error });
      // Someone stopped V8's sampler (a user's stopSampling, or their session went
      // away): start again, in a new epoch.
      this.owned = false;
      this.stats.restarts += 1;
      this.warnOnce('restarted', leakwatchError('ERR_LEAKWATCH_SAMPLING_RESTARTED', 'allocation sampling was stopped by another inspector session; leakwatch restarted it (sites start over)'));
      this.ensureSampling();
      return null;
    }
    const text = JSON.stringify(profile);
    const reading = this.state.ingest(text, performance.now());
    const ms = performance.now() - started;
    Object.assign(this.stats, {
      reads: this.stats.reads + 1,
      lastReadMs: ms,
      maxReadMs: Math.max(this.stats.maxReadMs, ms),
      totalReadMs: this.stats.totalReadMs + ms,
      lastReadAt: performance.now(),
      lastSamples: profile.samples.length,
    });
    this.lastReading = reading;
    if (typeof this.onSurvival === 'function') {
      try {
        this.onSurvival(reading);
      } catch (error) {
        this.report(error);
      }
    }
    return text;
  }

  /** The survival of each cohort at the latest read: {atMs, cohorts:[{startMs, endMs, firstBytes, peakBytes, liveBytes}]}. */
  survival() {
    return this.state ? this.state.survival() : { atMs: performance.now(), cohorts: [] };
  }

  /** The ranking at the latest read (no new read): leak sites, or every stack with `all`. */
  ranking({ limit = 10, all = false } = {}) {
    if (!this.state) return { atMs: performance.now(), windowStartMs: performance.now(), reads: 0, sites: [] };
    return this.state.ranking(limit, all);
  }

  /** Top leak sites for an event payload: the latest ranking, never a new read. */
  topSites(limit = 5) {
    try {
      return this.running ? this.ranking({ limit }).sites : [];
    } catch (error) {
      this.report(error);
      return [];
    }
  }

  /** sites(): a fresh read unless the last one is recent, then the ranking. */
  sites({ limit = 10, all = false } = {}) {
    if (!this.running) {
      return Promise.reject(leakwatchError('ERR_LEAKWATCH_SAMPLING_OFF', "allocation sampling is off: turn it on with configure({ sampling: true }) (or leakDetection, or 'leakwatch/register')"));
    }
    return new Promise((resolve) => {
      if (performance.now() - this.stats.lastReadAt > FRESH_MS) this.read();
      resolve(this.ranking({ limit, all }));
    });
  }

  /**
   * Write the current profile as `<snapshot>.heapprofile` next to a snapshot (0600,
   * partial file renamed when complete). Returns the file, or null when not sampling.
   */
  writeProfileFor(snapshotFile) {
    if (!this.running) return null;
    const text = this.read();
    if (text === null) return null;
    const file = profileNameFor(path.resolve(snapshotFile));
    const started = process.hrtime.bigint();
    const partial = dump.beginPartial(file, { check: false });
    try {
      // Our own descriptor of the partial (0600, created exclusively or unnamed).
      fs.writeSync(partial.fd, text);
    } catch (error) {
      throw dump.abandonPartial(partial, file, error);
    }
    return dump.completePartial(partial, file, started).file;
  }
}

module.exports = { Sampler, DEFAULTS, profileNameFor, validateOptions };
