'use strict';
// Snapshots on demand: heapdump's writeSnapshot, the dump signal, the watchdog for a
// stuck main thread, and the growth report against this process's previous dump.

const inspector = require('node:inspector');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const native = require('../shared/native');
const dump = require('./dump');
const { watchSignal } = require('./signals');
const { leakwatchError } = require('../shared/errors');

// Watchdog dumps kept for reporting while the main thread is stuck (each is a file on
// disk; the count of any beyond this is reported).
const MAX_PENDING_OUTCOMES = 100;
// How long the main thread ticks for a watchdog waiting to pause it: its pause timeout.
const NUDGE_FOR_MS = 10_000;

class Snapshots {
  /** `emit(event, payload)`, `report(error)`, `config()` returns the current options. */
  constructor({ emit, report, config }) {
    this.emit = emit;
    this.report = report;
    this.config = config;
    this.previous = null;
    this.growthQueue = Promise.resolve();
    this.watchdog = null;
    this.signalNote = null;
    this.watchdogState = null;
    this.watchingSignal = false; // this thread answers the dump signal
    this.watchdogOutcomes = [];
    this.droppedOutcomes = 0;
    this.watchdogTimer = null;
    this.nudge = null;
    dump.installIdSentinel();
  }

  directory() {
    return path.resolve(this.config().snapshotDir || process.cwd());
  }

  /** Install the signal handler (and the watchdog) unless disabled. Never throws. */
  installSignal() {
    const { signal, watchdog, stuckAfterMs, busyReportAfterMs } = this.config();
    if (!signal) return;
    try {
      this.signalNote = watchSignal(signal, (signum) => this.onSignal(signum), { stuckAfterMs, busyReportAfterMs });
      this.watchingSignal = !this.signalNote;
      if (this.watchingSignal && watchdog) this.startWatchdog();
    } catch (error) {
      this.report(error);
    }
  }

  startWatchdog() {
    // Runs on the paused main thread: only record the outcome. Outcomes are reported once
    // the watchdog has resumed the thread and released the dump lock ('restored'), so a
    // new signal right after the 'snapshot' event is served; every one of them (a storm
    // during one stuck loop gives a dump per hand-over), in order. The timer (ref'd) keeps
    // the process alive until then, and reports anyway should the watchdog never say so.
    dump.installWatchdogDump((error, info) => {
      if (this.watchdogOutcomes.length < MAX_PENDING_OUTCOMES) this.watchdogOutcomes.push({ error, info });
      else this.droppedOutcomes++;
      this.watchdogTimer ??= setTimeout(() => this.reportWatchdogDumps(), 5000);
    });
    const state = new Int32Array(new SharedArrayBuffer(dump.WATCHDOG_STATE.LENGTH * 4));
    this.watchdogState = state;
    this.noteDebugger();
    const worker = new Worker(path.join(__dirname, 'watchdog-worker.js'), {
      workerData: { dir: this.directory(), checkResources: this.config().checkResources, state },
      // The watchdog must not inherit the app's preloads (leakwatch/register included).
      execArgv: [],
      env: { ...process.env, NODE_OPTIONS: '' },
      stdout: false,
      stderr: false,
    });
    worker.on('message', (message) => this.onWatchdogMessage(message));
    worker.on('error', (error) => this.report(error));
    // After the listeners: adding a 'message' listener would ref the worker again.
    worker.unref();
    this.watchdog = worker;
    // The watchdog's inspector session stays connected for the life of the process (object
    // ids); at exit it must let go, or Node prints "Waiting for the debugger to disconnect".
    process.on('exit', () => {
      if (!Atomics.load(state, dump.WATCHDOG_STATE.CONNECTED)) return;
      worker.postMessage('exit');
      Atomics.wait(state, dump.WATCHDOG_STATE.EXIT_ACK, 0, 200);
    });
  }

  /** Tell the watchdog whether a debugger is active (it then never pauses the main thread). */
  noteDebugger() {
    if (this.watchdogState) Atomics.store(this.watchdogState, dump.WATCHDOG_STATE.DEBUGGER, inspector.url() ? 1 : 0);
  }

  /** Options changed: the watchdog dumps where the main thread would. */
  updateWatchdog() {
    if (!this.watchdog) return;
    this.watchdog.postMessage({ type: 'configure', settings: { dir: this.directory(), checkResources: this.config().checkResources } });
  }

  reportWatchdogDumps() {
    clearTimeout(this.watchdogTimer);
    this.watchdogTimer = null;
    const outcomes = this.watchdogOutcomes.splice(0);
    const dropped = this.droppedOutcomes;
    this.droppedOutcomes = 0;
    for (const { error, info } of outcomes) {
      try {
        if (error) this.report(error);
        else this.afterDump({ ...info, trigger: 'signal', viaInspector: true });
      } catch (failure) {
        this.report(failure);
      }
    }
    if (dropped > 0) {
      this.report(leakwatchError('ERR_LEAKWATCH_WATCHDOG', `${dropped} more dumps written by the watchdog while the main thread was stuck are not reported (at most ${MAX_PENDING_OUTCOMES} are kept until it is free)`));
    }
  }

  /** The watchdog's own failures, and the end of each of its dumps ('restored'). */
  onWatchdogMessage(message) {
    if (message.type === 'restored') this.reportWatchdogDumps();
    if (message.type === 'error') {
      // The worker's error crossed as {message, code}: the same code on this side.
      this.report(Object.assign(new Error(message.message), { code: message.code }));
    }
  }

  /**
   * The signal thread asked the main thread for a dump (0: it refused one; -1: this thread
   * serves a pending request before a dump of its own). Never throws.
   */
  onSignal(signum) {
    if (signum === 0) {
      this.report(busyError(`the dump signal was ignored`));
      return;
    }
    this.noteDebugger();
    if (!native.dumpBegin(true)) {
      // The watchdog took it (or no request is pending). This thread runs, so it is not
      // stuck: if the watchdog is waiting to pause it, give it JS statements to pause at
      // (an idle loop runs none) until the lock is released.
      if (this.watchdog && native.dumpBusyMs() > 0) this.nudgeWatchdog();
      return;
    }
    let info = null;
    try {
      if (this.config().signal === false) return;
      info = this.writeLocked(dump.defaultFilename(this.directory()), 'signal');
    } catch (error) {
      this.report(error);
    } finally {
      native.dumpEnd();
    }
    // Reported once the lock is free: a signal sent on seeing this event is served.
    try {
      if (info) this.afterDump(info);
    } catch (error) {
      this.report(error);
    }
  }

  /** Tick while a dump holds the lock, for a pending Debugger.pause; bounded, unref'd. */
  nudgeWatchdog() {
    if (this.nudge) return;
    const until = Date.now() + NUDGE_FOR_MS;
    this.nudge = setInterval(() => {
      if (native.dumpBusyMs() === 0 || Date.now() > until) {
        clearInterval(this.nudge);
        this.nudge = null;
      }
    }, 20);
    this.nudge.unref();
  }

  /** heapdump's writeSnapshot([filename], [callback]): returns the file name. */
  writeSnapshot(filename, callback) {
    if (typeof filename === 'function') [filename, callback] = [undefined, filename];
    if (callback !== undefined && typeof callback !== 'function') throw leakwatchError('ERR_LEAKWATCH_INVALID_ARG', 'writeSnapshot: callback must be a function');
    const file = this.resolveName(filename);
    let error = null;
    try {
      this.write(file, 'api');
    } catch (caught) {
      error = caught;
    }
    if (callback) process.nextTick(callback, error, file);
    else if (error) this.report(error);
    return file;
  }

  /** Promise form: resolves with {file, bytes, durationMs, trigger, completedAt}. */
  writeSnapshotAsync(filename) {
    return new Promise((resolve) => resolve(this.write(this.resolveName(filename), 'api')));
  }

  resolveName(filename) {
    if (filename !== undefined && filename !== null && typeof filename !== 'string') throw leakwatchError('ERR_LEAKWATCH_INVALID_ARG', 'writeSnapshot: filename must be a string');
    return filename ? path.resolve(filename) : dump.defaultFilename(this.directory());
  }

  /**
   * One dump at a time across every trigger; throws ERR_LEAKWATCH_BUSY otherwise. A dump
   * signal pending for this thread (the signal thread asked, its callback has not run yet:
   * e.g. a signal that waited for another thread's dump) is served first, then this call:
   * both are answered, neither refused.
   */
  write(file, trigger) {
    let began = native.dumpBegin(false);
    if (!began && this.watchingSignal && native.dumpBusyMs() === 0) {
      this.onSignal(-1);
      began = native.dumpBegin(false);
    }
    if (!began) {
      const error = busyError('cannot start another heap snapshot');
      // Held for longer than a dump can take: say so even if the caller ignores the error.
      if (error.busyForMs > this.config().busyReportAfterMs) this.report(error);
      throw error;
    }
    let info;
    try {
      info = this.writeLocked(file, trigger);
    } finally {
      native.dumpEnd();
    }
    // Reported once the lock is free: a dump requested on seeing this event is served.
    this.afterDump(info);
    return info;
  }

  /**
   * A snapshot for the memory-pressure guard: through the one-dump lock like every dump, but
   * without what follows the others (the 'snapshot' event's .heapprofile, which would replace
   * the guard's own and build the profile as a string on a nearly full heap; the growth
   * report, which parses two snapshots; becoming `previous`). The 'memoryPressure' event
   * carries it. Throws ERR_LEAKWATCH_BUSY when another dump holds the lock.
   */
  writeQuietly(file, trigger) {
    if (!native.dumpBegin(false)) throw busyError('cannot start a heap snapshot');
    try {
      return this.writeLocked(file, trigger);
    } finally {
      native.dumpEnd();
    }
  }

  writeLocked(file, trigger) {
    return { ...dump.writeSnapshotFile(file, { check: this.config().checkResources }), trigger, completedAt: new Date() };
  }

  afterDump(info) {
    this.emit('snapshot', info);
    const previous = this.previous;
    this.previous = info.file;
    // Growth and retention run one after another, off the main thread.
    this.growthQueue = this.growthQueue
      .then(() => (previous ? this.reportGrowth(previous, info.file) : null))
      .catch((error) => this.report(error))
      .then(() => {
        const { maxSnapshots } = this.config();
        if (maxSnapshots > 0) dump.enforceRetention(path.dirname(info.file), maxSnapshots, new Set([this.previous]));
      })
      .catch((error) => this.report(error));
  }

  async reportGrowth(previous, file) {
    const diff = await native.diffSnapshots(previous, file);
    const grew = diff.change.details.filter((d) => d['+'] > d['-']);
    const growth = {
      previous,
      file,
      diff,
      topBySize: [...grew].sort((a, b) => b.size_bytes - a.size_bytes).slice(0, 10),
      topByCount: [...grew].sort((a, b) => b['+'] - b['-'] - (a['+'] - a['-'])).slice(0, 10),
    };
    this.emit('growth', growth);
    if (this.config().growthReport) process.stderr.write(formatGrowth(growth));
    return growth;
  }

  stop() {
    clearInterval(this.nudge);
    this.nudge = null;
    if (this.watchdog) {
      this.watchdog.postMessage('stop');
      this.watchdog = null;
    }
  }
}

/** ERR_LEAKWATCH_BUSY, saying for how long the lock has been held. */
function busyError(what) {
  const busyForMs = native.dumpBusyMs();
  const held = busyForMs > 0 ? ` (for ${(busyForMs / 1000).toFixed(1)} s)` : ' (a dump signal is pending)';
  return leakwatchError('ERR_LEAKWATCH_BUSY', `${what}: a heap snapshot is already being written in this process${held}`, { busyForMs });
}

function formatGrowth({ previous, file, diff, topBySize }) {
  const lines = topBySize
    .slice(0, 5)
    .map((d) => `    ${d.what}: +${d['+'] - d['-']} objects, ${d.size_bytes >= 0 ? '+' : ''}${d.size}`);
  return (
    `leakwatch: ${path.basename(file)} vs ${path.basename(previous)}: heap ${diff.change.size_bytes >= 0 ? '+' : ''}${diff.change.size} ` +
    `(+${diff.change.allocated_nodes} / -${diff.change.freed_nodes} objects)\n` +
    (lines.length ? `  grew most:\n${lines.join('\n')}\n` : '  no class grew\n')
  );
}

module.exports = { Snapshots };
