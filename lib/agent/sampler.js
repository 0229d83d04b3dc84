'use strict';
// The allocation sampler: V8's sampling heap profiler, by one of two routes. JS only
// drives the profiler and keeps time: each read goes once into the binding's Monitor
// (crates/core/src/agent.rs), where the sampler's state (cohorts, sites;
// crates/core/src/sampling) feeds the leak detector and verdicts come back with their sites.
//
// - The native route (default; lib/agent/native-sampling.js, src/v8_sampling.rs): V8's sampler
//   started without kSamplingForceGC and read with GetAllocationProfile(), which does not
//   collect (~0.1-5 ms a read, whatever the heap size). Samples of dead objects stay in
//   the profile until a GC frees them, so the reads the leak detector judges ("settled") are
//   taken right after the natural full GCs the monitor observes (`afterFullGc`, at most one
//   per readPeriodMs): the profile is then as exact as after a forced collection, at no GC
//   cost. Between them, a read every readPeriodMs marks the cohorts' boundaries (each
//   period's allocations, by sample ordinal), so one natural full GC tells what each period
//   since the last one kept. On a small heap (a forced full GC expected under
//   maxProbePauseMs, ~10 MB by default) that read forces a short GC first and is settled.
//   On larger heaps verdicts come at the pace of V8's natural full GCs (V8 runs one at the
//   latest when the old generation reaches its limit, which a leak makes it do; see
//   benches/results/production.md).
// - The inspector route (the fallback, when the native self-check fails, or with
//   `route: 'inspector'`): an in-thread session whose every getSamplingProfile forces a full,
//   atomic GC (V8's agent always asks for one); reads every readPeriodMs, stretched to 100x
//   the last read's pause (<= ~1 % of time). The session is connected once and never
//   disconnected, and the heap profiler is never disabled: V8 clears its object-id map
//   when a session that used the heap profiler goes away.
//
// Either way the profiler is one per isolate, shared by every session and by
// v8.startHeapProfile: a user's own startSampling is ignored by V8 while ours runs (they
// read our profile); a user's stopSampling stops ours too. We notice at the next read,
// restart and begin a new epoch (ordinals restart). If someone else was sampling before
// us, we do not read their profile (its interval and options are unknown); we try again
// each period. Reads are timed, and their pause kept in `stats`.

const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { pathToFileURL } = require('node:url');
const { profileNameFor } = require('./dump');
const { isMainThread } = require('node:worker_threads');
const native = require('../shared/native');
const dump = require('./dump');
const { leakwatchError } = require('../shared/errors');
const nativeSampling = require('./native-sampling');

// Defaults: V8's and DevTools' own sampling interval, and reads every 2 s (stretched to
// 100x the last read's pause, see READ_BACKOFF): the leak detector's survival rule needs a
// few cohorts within its ~10 s window, and was tuned on the corpus at this cadence
// (benches/detection.bench.mjs); the cost is in benches/sampling.bench.mjs.
// interval (bytes between samples, on average), stackDepth (frames per site: the allocating
// function and its callers) and windowReads (reads in the window growth is judged over) are
// the core's (SamplerConfig::default; the core's other settings are not options).
const { interval, stackDepth, windowReads } = native.samplerDefaults();
const DEFAULTS = Object.freeze({
  interval,
  stackDepth,
  windowReads,
  readPeriodMs: 2000, // between profile reads (at least; see READ_BACKOFF)
  // 'auto': native unless its self-check fails, then the inspector; 'native': native or no
  // sampling (never a forced GC); 'inspector': always the inspector (forces a GC per read).
  route: 'auto',
});
const ROUTES = ['auto', 'native', 'inspector'];
// A fresh read for sites() only when the last one is older than this.
const FRESH_MS = 1000;
// leakwatch's own code (the agent's files of this package, not its tests or examples), as
// script paths (CommonJS on the native route) and URLs: what it allocates (its bounded state,
// the figures it reads, code compiled on first use) is neither an app's leak site nor evidence
// of a leak (SamplerConfig::own_code).
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
const OWN_CODE = [path.join(PACKAGE_ROOT, 'lib') + path.sep, ...['index.js', 'index.mjs', 'register.js'].map((f) => path.join(PACKAGE_ROOT, f))].flatMap((p) => [p, pathToFileURL(p).href]);
// V8's inspector forces a full GC inside every getSamplingProfile (its agent always
// passes kSamplingForceGC), so a read pauses the main thread for about one full GC of
// the heap. The next read waits at least this many times the last pause: reads take at
// most ~1 % of wall time whatever the heap size (benches/sampling.bench.mjs).
const READ_BACKOFF = 100;
// A native read costs what building the profile costs (~1 ms at 5,000 live samples, ~10 ms
// at 32,000 on a 1 GB heap): the reads between natural full GCs wait at least this many
// times the last read's pause, so they take at most ~0.2 % of the main thread.
const NATIVE_READ_BACKOFF = 500;
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
    if (key === 'route') {
      if (!ROUTES.includes(value)) throw new TypeError(`leakwatch sampling option route must be one of ${ROUTES.map((r) => `'${r}'`).join(', ')}, got ${JSON.stringify(value)}`);
      out.route = value;
      continue;
    }
    const ok = key === 'interval' ? Number.isInteger(value) && value >= 1024 && value <= 2 ** 30 : Number.isInteger(value) && value >= (key === 'windowReads' ? 2 : 1) && value <= (key === 'stackDepth' ? 128 : 2 ** 31);
    if (!ok) throw new TypeError(`leakwatch sampling option ${key} must be a whole number${key === 'interval' ? ' of bytes (1024 or more)' : ''}, got ${JSON.stringify(value)}`);
    out[key] = value;
  }
  return out;
}

class Sampler {
  /**
   * `detector`: the binding's Monitor the reads go into (the agent's; a sampler of its own
   * gets one nobody listens to); `onLeaks(leaks)` gets the verdicts of each judged read, with
   * their sites; `report(error)` failures; `collectIfCheap()` forces a full GC where one is
   * short (a small heap) and says whether it did (the monitor's policy; without it, never).
   */
  constructor({ detector, report, onLeaks, onRead, collectIfCheap, options } = {}) {
    this.report = report || ((error) => process.emitWarning(error.message, { type: 'LeakwatchWarning', code: error.code }));
    this.detector = detector || new native.Monitor(undefined, performance.now());
    this.onLeaks = onLeaks;
    this.onRead = onRead; // (ms) after each read: its main-thread time (the metrics)
    this.collectIfCheap = collectIfCheap || (() => false);
    this.options = validateOptions(options);
    this.timer = null;
    this.owned = false; // V8's sampler is running with our settings
    this.route = null; // 'native' or 'inspector' once chosen; null while undecided
    this.warned = new Set();
    // reads: all; settledReads: those right after a full GC (the ones the detector judges).
    this.stats = { route: null, reads: 0, settledReads: 0, lastReadMs: 0, maxReadMs: 0, totalReadMs: 0, restarts: 0, lastReadAt: -Infinity, lastSettledAt: -Infinity };
  }

  get running() {
    return this.timer !== null;
  }

  /** Whether reads wait for natural full GCs (the native route): the monitor must observe GCs. */
  get wantsFullGcs() {
    return this.running && this.route !== 'inspector';
  }

  configure(options) {
    const next = validateOptions(options);
    const changed = ['interval', 'stackDepth', 'windowReads', 'route'].some((k) => next[k] !== this.options[k]);
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
    this.detector.startSampling({ interval: this.options.interval, stackDepth: this.options.stackDepth, windowReads: this.options.windowReads, ownCode: OWN_CODE }, performance.now());
    this.route = null;
    this.timer = this.schedule();
    this.ensureSampling();
  }

  /**
   * The next tick: after the read period, or 100x the last pause if longer. On the inspector
   * route a tick reads; on the native route a tick restarts a sampler someone stopped and,
   * when no read came for a period, reads (see tick).
   */
  schedule() {
    const backoff = this.route === 'inspector' ? READ_BACKOFF : NATIVE_READ_BACKOFF;
    const delay = Math.max(this.options.readPeriodMs, backoff * (this.stats.lastReadMs || 0));
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
    this.detector.stopSampling();
    if (this.owned) {
      try {
        if (this.route === 'native') nativeSampling.stop();
        else postSync('HeapProfiler.stopSampling');
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

  foreign() {
    // A sampler we did not start is running (a user's session, a profiler attached with
    // --inspect, v8.startHeapProfile). Its interval and options are unknown.
    this.warnOnce(
      'foreign',
      leakwatchError('ERR_LEAKWATCH_SAMPLING_FOREIGN', 'allocation sampling: another session is already running the sampling heap profiler; leak sites wait until it stops'),
    );
    return false;
  }

  /**
   * The route, chosen once: native when its self-check passes, else the inspector (said
   * once) unless the options ask for native only. 'busy' while someone else's sampler runs
   * (nothing can be checked until it stops); null when there is no usable route.
   */
  chooseRoute() {
    if (this.route) return this.route;
    if (this.options.route === 'inspector') return this.useInspector();
    const verdict = nativeSampling.check();
    if (verdict === 'ok') return this.setRoute('native');
    if (verdict === 'busy') return 'busy';
    this.warnOnce('fallback', verdict);
    return this.options.route === 'native' ? null : this.useInspector();
  }

  useInspector() {
    try {
      session();
    } catch (error) {
      this.warnOnce('unavailable', leakwatchError('ERR_LEAKWATCH_SAMPLING_UNAVAILABLE', `allocation sampling is unavailable: ${error.message}`, { cause: error }));
      return null;
    }
    return this.setRoute('inspector');
  }

  setRoute(route) {
    this.route = route;
    this.stats.route = route;
    return route;
  }

  /** Start V8's sampler unless someone else's is running. Returns whether ours runs. */
  ensureSampling() {
    if (this.owned) return true;
    const route = this.chooseRoute();
    if (route === null) return false;
    if (route === 'busy') return this.foreign();
    if (route === 'native') {
      try {
        if (!nativeSampling.start(this.options.interval, this.options.stackDepth)) return this.foreign();
      } catch (error) {
        this.report(error);
        return false;
      }
    } else if (!this.startInspector()) {
      return false;
    }
    this.owned = true;
    if (this.stats.reads > 0 || this.detector.samplerFootprint().reads > 0) this.detector.resetSampling(performance.now());
    return true;
  }

  startInspector() {
    try {
      postSync('HeapProfiler.getSamplingProfile');
      return this.foreign();
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
      return true;
    } catch (error) {
      this.report(leakwatchError('ERR_LEAKWATCH_SAMPLING_FAILED', `allocation sampling: cannot start: ${error.message}`, { cause: error }));
      return false;
    }
  }

  tick() {
    try {
      if (this.route === 'inspector') {
        this.read();
        return;
      }
      const due = Math.max(this.options.readPeriodMs, NATIVE_READ_BACKOFF * this.stats.lastReadMs);
      if (!this.ensureSampling() || performance.now() - this.stats.lastReadAt < due) return;
      // No read for a period. On a small heap a forced full GC is short (see
      // Monitor::forced_gc_affordable): collect and read. Elsewhere a read that only marks
      // the cohorts' boundaries: what each period's allocations keep is then judged at the
      // next natural full GC, so verdicts need fewer of them.
      const settled = this.collectIfCheap();
      this.read({ settled });
    } catch (error) {
      this.report(error);
    }
  }

  /**
   * A full GC just finished (the monitor observes them): on the native route, the moment a
   * read is as exact as after a forced collection. At most one such read per readPeriodMs.
   * Never throws.
   */
  afterFullGc() {
    if (!this.running || this.route === 'inspector') return;
    if (performance.now() - this.stats.lastSettledAt < this.options.readPeriodMs) return;
    try {
      this.read({ settled: true });
    } catch (error) {
      this.report(error);
    }
  }

  /** Someone stopped V8's sampler: start again, in a new epoch. */
  restarted() {
    this.owned = false;
    this.stats.restarts += 1;
    this.warnOnce('restarted', leakwatchError('ERR_LEAKWATCH_SAMPLING_RESTARTED', 'allocation sampling was stopped by another session; leakwatch restarted it (sites start over)'));
    this.ensureSampling();
    return null;
  }

  /**
   * Read the profile now (main thread, synchronous) into the detector. `settled`: a full GC
   * just ran, so every live sample is a live object; only such reads are judged (inspector
   * reads always are: they force one). Returns the cohorts' survival after it, or null when
   * sampling is not ours (yet).
   */
  read({ settled = this.route === 'inspector' } = {}) {
    return this.take(settled, false) && this.survival();
  }

  /** read()'s work; with `withText` (inspector route) also the profile's JSON text. */
  take(settled, withText) {
    if (!this.running) return null;
    if (!this.ensureSampling()) return null;
    const started = performance.now();
    let read;
    let text = null;
    if (this.route === 'native') {
      try {
        read = this.detector.ingestNative(performance.now(), settled);
      } catch (error) {
        // The profile no longer reads as verified: never guess. The inspector from now on
        // (or nothing, with route 'native').
        this.owned = false;
        nativeSampling.disable(error);
        try {
          nativeSampling.stop();
        } catch {
          // nothing more to stop
        }
        this.warnOnce('fallback', error);
        this.setRoute(null);
        this.ensureSampling();
        return null;
      }
      if (read === null) return this.restarted();
    } else {
      let profile;
      try {
        profile = postSync('HeapProfiler.getSamplingProfile').profile;
      } catch (error) {
        if (!NOT_STARTED.test(error.message)) throw leakwatchError('ERR_LEAKWATCH_SAMPLING_FAILED', `allocation sampling: ${error.message}`, { cause: error });
        return this.restarted();
      }
      text = JSON.stringify(profile);
      read = this.detector.ingestProfile(text, performance.now(), settled);
    }
    const ms = performance.now() - started;
    if (settled) {
      this.stats.settledReads += 1;
      this.stats.lastSettledAt = performance.now();
    }
    Object.assign(this.stats, {
      reads: this.stats.reads + 1,
      lastReadMs: ms,
      maxReadMs: Math.max(this.stats.maxReadMs, ms),
      totalReadMs: this.stats.totalReadMs + ms,
      lastReadAt: performance.now(),
      lastSamples: read.samples,
    });
    if (typeof this.onRead === 'function') {
      try {
        this.onRead(ms);
      } catch (error) {
        this.report(error);
      }
    }
    if (settled && typeof this.onLeaks === 'function') {
      try {
        this.onLeaks(read.leaks);
      } catch (error) {
        this.report(error);
      }
    }
    return { text: withText ? text : null };
  }

  /** The survival of each cohort at the latest read: {atMs, cohorts:[{startMs, endMs, firstBytes, peakBytes, liveBytes}]}. */
  survival() {
    return this.detector.survival(performance.now());
  }

  /** The ranking at the latest read (no new read): leak sites, or every stack with `all`. */
  ranking({ limit = 10, all = false } = {}) {
    return this.detector.ranking(limit, all, performance.now());
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
      if (performance.now() - this.stats.lastReadAt > FRESH_MS) this.take(this.route === 'inspector', false);
      resolve(this.ranking({ limit, all }));
    });
  }

  /**
   * Write the current profile as `<snapshot>.heapprofile` next to a snapshot (0600,
   * named only once complete). Returns the file, or null when not sampling.
   */
  writeProfileFor(snapshotFile) {
    if (!this.running || !this.ensureSampling()) return null;
    // Native: the profile as it is (no GC, and no read the detector would judge); the
    // inspector: a read (it collects first).
    const text = this.route === 'native' ? nativeSampling.profileText() : this.take(true, true)?.text;
    if (!text) return null;
    // Complete or absent (0600, named once it is one whole JSON profile).
    return dump.writeFile(profileNameFor(path.resolve(snapshotFile)), 'heapprofile', text).file;
  }
}

module.exports = { Sampler, DEFAULTS, profileNameFor, validateOptions };
