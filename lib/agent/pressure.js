'use strict';
// The memory-pressure guard's Node side. When the heap after a full GC nears V8's limit, or
// resident memory nears the container's limit, the evidence of a leak is written at once,
// before V8 aborts ("JavaScript heap out of memory") or the kernel kills the process (exit
// 137): the allocation sampler's profile (`.heapprofile`, written from Rust straight to the
// file: no copy of it on the nearly full heap), a one-screen report and the figures as JSON,
// all 0600 and complete or absent, and a `memoryPressure` event. A full snapshot only when
// asked (`snapshotOnPressure`) and when there is room for it. Never a forced GC here.
// Rust decides when a level is reached (binding PressureGuard, crates/core/src/pressure.rs);
// this file reads the figures and writes the files.

const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const { performance } = require('node:perf_hooks');
const { isMainThread, threadId } = require('node:worker_threads');
const native = require('../shared/native');
const dump = require('./dump');
const secureFs = require('../shared/secure-fs');
const { formatSites } = require('../shared/sites-report');
const { leakwatchError } = require('../shared/errors');

// Resident memory against the container's limit between full GCs: RSS grows with Buffers
// and native memory too, with no GC to tell. A read of RSS costs microseconds.
const MEMORY_CHECK_MS = 5000;
// Peak extra resident memory while V8 writes a heap snapshot, per byte of used heap:
// measured 10.2-12.4x (Node 20 and 26, heaps of 18-154 MB; benches/results/pressure.md). A
// snapshot on pressure is attempted only with this much memory available.
const SNAPSHOT_MEMORY_FACTOR = 13;
// Sites in the report and the event.
const TOP_SITES = 5;
const MIB = 1024 * 1024;

/**
 * The old generation's limit, which is what V8 runs out of: `--max-old-space-size` when the
 * process was given it (the command line, then NODE_OPTIONS; a worker's own resourceLimits),
 * else `heap_size_limit`, which
 * adds the young generation's reserve (3 semi-spaces: 48 MB of a 144 MB limit on Node 20
 * at --max-old-space-size=96, 192 MB on Node 24; under 5 % of a default-sized heap).
 */
function oldGenerationLimit(heapSizeLimit, execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS || '') {
  // A worker thread has limits of its own (new Worker(…, { resourceLimits })).
  const { resourceLimits } = require('node:worker_threads');
  if (!isMainThread) return resourceLimits.maxOldGenerationSizeMb > 0 ? Math.min(resourceLimits.maxOldGenerationSizeMb * MIB, heapSizeLimit) : heapSizeLimit;
  let mb = null;
  for (const arg of [...nodeOptions.split(/\s+/), ...execArgv]) {
    const m = /^--max[-_]old[-_]space[-_]size=(\d+(?:\.\d+)?)$/.exec(arg);
    if (m) mb = Number(m[1]);
  }
  const bytes = mb !== null && mb > 0 ? mb * MIB : heapSizeLimit;
  return Math.min(bytes, heapSizeLimit);
}

/** The container's memory limit (cgroup v1 or v2, as libuv reads it), or 0 when there is none. */
function containerLimit() {
  const limit = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  // Unlimited reads as 0, or as a huge number (cgroup v1's 2^63 rounded down to a page).
  return Number.isFinite(limit) && limit > 0 && limit < 2 ** 60 && limit < os.totalmem() ? limit : 0;
}

function timestamp(date) {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

class PressureGuard {
  /**
   * `emit(event, payload)`; `report(error)`; `config()` the options in force; `sampler` the
   * allocation sampler (its profile and sites); `context()` what else the report shows:
   * {stats, leaks} (the last 'stats' event and the recent 'leak' events); `snapshot(file)`
   * writes a heap snapshot through the one-dump lock (lib/agent/snapshots.js).
   */
  constructor({ emit, report, config, sampler, context, snapshot }) {
    this.emit = emit;
    this.report = report;
    this.config = config;
    this.sampler = sampler;
    this.context = context;
    this.snapshot = snapshot;
    this.native = null;
    this.options = undefined;
    this.timer = null;
    this.active = false;
    this.heapSizeLimit = 0;
    this.heapLimit = 0;
    this.memoryLimit = 0;
  }

  get running() {
    return this.active;
  }

  /** Start (or keep running) with the `memoryPressure` option's thresholds. */
  start() {
    const options = pressureOptions(this.config());
    if (!this.native || options !== this.options) {
      this.native = new native.PressureGuard(options === true ? undefined : options);
      this.options = options;
    }
    if (this.active) return;
    this.active = true;
    this.heapSizeLimit = v8.getHeapStatistics().heap_size_limit;
    this.heapLimit = oldGenerationLimit(this.heapSizeLimit);
    // Resident memory is the process's: watched by the main thread only (a worker's guard
    // watches its own heap), and only where there is a limit (no timer otherwise).
    this.memoryLimit = isMainThread ? containerLimit() : 0;
    if (this.memoryLimit > 0) {
      this.timer = setInterval(() => this.checkMemory(), MEMORY_CHECK_MS);
      this.timer.unref();
    }
  }

  stop() {
    this.active = false;
    clearInterval(this.timer);
    this.timer = null;
  }

  /** After each full GC (the monitor's 'stats'): the heap against its limit. Never throws. */
  afterFullGc(stats) {
    if (!this.active) return;
    try {
      const now = performance.now();
      this.handle(this.native.observeHeap(now, stats.used_heap_size, this.heapLimit), stats);
      if (this.memoryLimit > 0) this.handle(this.native.observeMemory(now, stats.rss, this.memoryLimit), stats);
    } catch (error) {
      this.report(error);
    }
  }

  checkMemory() {
    try {
      this.handle(this.native.observeMemory(performance.now(), process.memoryUsage.rss(), this.memoryLimit), null);
    } catch (error) {
      this.report(error);
    }
  }

  handle(pressure, stats) {
    if (!pressure) return;
    const event = this.writeEvidence(pressure, stats);
    this.emit('memoryPressure', event);
  }

  /**
   * Write the evidence for `pressure` into the snapshot directory; returns the event.
   * Each file on its own: one that fails is reported and the others are still written.
   */
  writeEvidence(pressure, stats) {
    const { stats: lastStats, leaks } = this.context();
    const at = new Date();
    const dir = path.resolve(this.config().snapshotDir || process.cwd());
    // A worker's own evidence (its heap) is told apart from the main thread's.
    const thread = isMainThread ? '' : `-t${threadId}`;
    const base = path.join(dir, `leakwatch-pressure-${process.pid}${thread}-${timestamp(at)}-${pressure.resource}${pressure.level}`);
    const sites = this.sampler.topSites(TOP_SITES);
    const event = {
      ...pressure,
      heapLimit: this.heapLimit,
      memoryLimit: this.memoryLimit,
      at,
      pid: process.pid,
      sites,
      leaks: leaks.length,
      files: { profile: null, report: null, figures: null },
      snapshot: null,
      snapshotSkipped: null,
    };
    event.files.profile = this.attempt(() => this.writeProfile(`${base}.heapprofile`));
    if (this.config().snapshotOnPressure) {
      const room = roomForSnapshot(stats ? stats.used_heap_size : v8.getHeapStatistics().used_heap_size);
      if (room.ok) event.snapshot = this.attempt(() => this.snapshot(`${base}.heapsnapshot`));
      event.snapshotSkipped = room.ok ? (event.snapshot ? null : 'the snapshot failed (see the error event)') : room.reason;
    } else {
      event.snapshotSkipped = 'snapshotOnPressure is off';
    }
    event.files.report = this.attempt(() => secureFs.writeFileAtomic(`${base}.txt`, formatReport(event, lastStats, leaks)));
    event.files.figures = this.attempt(() => secureFs.writeFileAtomic(`${base}.json`, JSON.stringify({ pressure: event, stats: lastStats, leaks }, null, 1) + '\n'));
    return event;
  }

  attempt(write) {
    try {
      return write() || null;
    } catch (error) {
      this.report(error);
      return null;
    }
  }

  /** The sampler's profile as it is (native route: no GC, no copy on the heap); null when none. */
  writeProfile(file) {
    if (!this.sampler.running || this.sampler.route !== 'native') return null;
    // Written natively straight to the partial's descriptor (false: no sampler after all,
    // nothing is left); named only once it is one whole JSON profile.
    const written = dump.writeFile(file, 'heapprofile', (writePath, fd) => native.nativeSamplingWriteProfile(fd));
    return written ? written.file : null;
  }
}

/** The `memoryPressure` option: true (defaults), or the thresholds object; false is off. */
function pressureOptions(config) {
  const value = config.memoryPressure;
  return value === undefined || value === true ? true : value;
}

/** Whether a heap snapshot fits in the memory available now (cgroup-aware). */
function roomForSnapshot(heapUsed) {
  const available = dump.availableMemory();
  const needed = SNAPSHOT_MEMORY_FACTOR * heapUsed;
  if (available >= needed) return { ok: true };
  const mb = native.humanSize;
  return {
    ok: false,
    reason: `${mb(available)} of memory available, and writing one needs about ${SNAPSHOT_MEMORY_FACTOR}x the used heap (${mb(needed)})`,
  };
}

/** The one-screen text report. */
function formatReport(event, stats, leaks) {
  const mb = native.humanSize;
  const lines = [
    `leakwatch: memory pressure in pid ${event.pid} (${[process.argv0, ...process.argv.slice(1)].map((a) => path.basename(a)).join(' ')}), ${event.at.toISOString()}, ${Math.round(process.uptime())} s after start`,
    `${event.reason.charAt(0).toUpperCase()}${event.reason.slice(1)} (level ${event.level}, at ${Math.round(event.threshold * 100)} %).`,
    '',
  ];
  if (stats) {
    lines.push(
      `heap after the last full GC: ${mb(stats.used_heap_size)} (limit ${mb(event.heapLimit)}), trend ${stats.usage_trend >= 0 ? '+' : ''}${mb(stats.usage_trend)}/s; ` +
        `external ${mb(stats.external)}, array buffers ${mb(stats.array_buffers)}, rss ${mb(stats.rss)}`,
    );
  }
  lines.push(leaks.length ? `leak verdicts: ${leaks.map((l) => `possible ${l.kind} leak: ${l.reason}`).join('; ')}` : 'leak verdicts: none raised yet');
  lines.push('', 'top allocation sites (sampling heap profiler):');
  lines.push(event.sites.length ? formatSites(event.sites) : '  (none: allocation sampling is off, or has not judged any site yet)');
  lines.push('', 'written:');
  if (event.files.profile) lines.push(`  ${event.files.profile}  (leakwatch sites FILE; Chrome DevTools > Memory > Load)`);
  else lines.push('  no .heapprofile: allocation sampling does not run on its native route in this process');
  lines.push(event.snapshot ? `  ${event.snapshot}` : `  no heap snapshot: ${event.snapshotSkipped}`);
  return lines.join('\n') + '\n';
}

const PRESSURE_KEYS = ['heap', 'memory', 'rearmMargin', 'cooldownMs'];

/** Throws ERR_LEAKWATCH_INVALID_OPTION unless `value` is a valid `memoryPressure` option. */
function validatePressureOptions(value) {
  if (typeof value === 'boolean') return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `leakwatch option memoryPressure must be true, false or an object {heap, memory, rearmMargin, cooldownMs}, got ${JSON.stringify(value)}`);
  }
  const unknown = Object.keys(value).filter((key) => !PRESSURE_KEYS.includes(key));
  if (unknown.length) throw leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `unknown memoryPressure option '${unknown[0]}' (known: ${PRESSURE_KEYS.join(', ')})`);
  try {
    // The thresholds are checked where they are used: the Rust guard.
    new native.PressureGuard(value);
  } catch (error) {
    throw leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `leakwatch option memoryPressure: ${error.message}`);
  }
}

module.exports = { PressureGuard, oldGenerationLimit, containerLimit, roomForSnapshot, formatReport, validatePressureOptions, SNAPSHOT_MEMORY_FACTOR };
