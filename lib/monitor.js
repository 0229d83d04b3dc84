'use strict';
// GC observation: perf_hooks 'gc' entries -> the Rust monitor -> 'stats' and 'leak'.
// Only JS can see GCs and heap figures; every decision is made in Rust. Heap figures
// are read once per batch of entries and only after a full GC (or, throttled, to judge
// a confirmation probe), so a GC-heavy app pays next to nothing.

const v8 = require('node:v8');
const { PerformanceObserver, constants, performance } = require('node:perf_hooks');
const native = require('./native');
const { forceGc } = require('./gc');

// perf_hooks kinds -> leakwatch's codes (see Monitor.recordGcs).
const KIND_CODES = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, 0],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 1],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 2],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 3],
]);
const FORCED = constants.NODE_PERFORMANCE_GC_FLAGS_FORCED;
// Heap figures for probe decisions at most this often.
const LIGHT_SAMPLE_MS = 1000;

class GcMonitor {
  /** `emit(event, payload)` delivers 'stats' and 'leak'; `report(error)` failures. */
  constructor({ emit, report, options }) {
    this.emit = emit;
    this.report = report;
    this.native = new native.Monitor(options, performance.now());
    this.observer = null;
    this.lastLightSample = 0;
    this.probing = false;
    this.awaitingFullGc = null;
    // GCs since the last full one, per kind code: counted here, handed to Rust with the
    // next full GC (the only time the counters are read), so a scavenge costs an increment.
    this.counts = [0, 0, 0, 0];
    this.totalsMs = [0, 0, 0, 0];
  }

  configure(options) {
    this.native.configure(options);
  }

  get running() {
    return this.observer !== null;
  }

  start() {
    if (this.observer) return;
    this.observer = new PerformanceObserver((list) => this.onEntries(list.getEntries()));
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /**
   * Force a full GC (leakwatch.gc()). Node delivers GC entries through an unref'd native
   * immediate: an otherwise idle process would exit before the 'stats' a caller waits for,
   * and a process waiting on a timer would deliver it only when that timer fires. While
   * observing, hold the loop open until the entry arrives (1 s at most) and turn it once
   * right away (a ref'd immediate), so the entry is delivered promptly.
   */
  collect() {
    forceGc();
    if (!this.observer) return;
    setImmediate(() => {});
    if (!this.awaitingFullGc) {
      this.awaitingFullGc = setTimeout(() => {
        this.awaitingFullGc = null;
      }, 1000);
    }
  }

  releaseLoop() {
    if (!this.awaitingFullGc) return;
    clearTimeout(this.awaitingFullGc);
    this.awaitingFullGc = null;
  }

  stop() {
    this.releaseLoop();
    if (!this.observer) return;
    this.observer.disconnect();
    this.observer = null;
  }

  onEntries(entries) {
    let major = null;
    try {
      for (const entry of entries) {
        const code = KIND_CODES.get(entry.detail ? entry.detail.kind : entry.kind);
        if (code === undefined) continue;
        this.counts[code] += 1;
        this.totalsMs[code] += entry.duration;
        if (code === 1) major = entry;
      }
      if (major) {
        this.native.recordGcs(this.counts, this.totalsMs);
        this.counts.fill(0);
        this.totalsMs.fill(0);
        this.onFullGc(major);
      }
      // Also after natural full GCs: a busy process may have one every second, and a
      // suspicion raised by their (floating-garbage) samples needs a forced one to confirm.
      this.maybeProbe();
    } catch (error) {
      this.report(error);
    } finally {
      if (this.awaitingFullGc && major) this.releaseLoop();
    }
  }

  onFullGc(entry) {
    const heap = v8.getHeapStatistics();
    const memory = process.memoryUsage();
    const flags = entry.detail ? entry.detail.flags : entry.flags;
    const forced = this.probing || (flags & FORCED) !== 0;
    this.probing = false;
    const { stats, leaks } = this.native.recordFullGc({
      tMs: performance.now(),
      forced,
      gcDurationMs: entry.duration,
      usedHeapSize: heap.used_heap_size,
      totalHeapSize: heap.total_heap_size,
      totalHeapSizeExecutable: heap.total_heap_size_executable,
      totalPhysicalSize: heap.total_physical_size,
      totalAvailableSize: heap.total_available_size,
      heapSizeLimit: heap.heap_size_limit,
      mallocedMemory: heap.malloced_memory,
      peakMallocedMemory: heap.peak_malloced_memory,
      external: memory.external,
      arrayBuffers: memory.arrayBuffers,
      rss: memory.rss,
    });
    // @airbnb/node-memwatch's gc_ts: a high-resolution timestamp of the collection.
    stats.gc_ts = Number(process.hrtime.bigint());
    stats.timestamp = new Date();
    this.emit('stats', stats);
    for (const leak of leaks) this.emit('leak', toLeakEvent(leak));
  }

  /** At most once a second: force a full GC when memory rose enough, or a suspicion needs confirming. */
  maybeProbe() {
    const now = performance.now();
    if (now - this.lastLightSample < LIGHT_SAMPLE_MS) return;
    this.lastLightSample = now;
    // Heap plus external memory: a Buffer leak leaves the heap flat (see Monitor::should_probe).
    const heap = v8.getHeapStatistics();
    if (!this.native.shouldProbe(now, heap.used_heap_size + (heap.external_memory || 0))) return;
    this.probing = true;
    forceGc();
  }
}

function wallClock(tMs) {
  return new Date(performance.timeOrigin + tMs);
}

/** memwatch's {start, end, growth, reason} plus the figures behind the verdict. */
function toLeakEvent(leak) {
  return {
    start: wallClock(leak.startMs),
    end: wallClock(leak.endMs),
    growth: leak.growth,
    reason: leak.reason,
    kind: leak.kind,
    rate: leak.rate,
    windowMs: leak.windowMs,
    samples: leak.samples,
    forcedGcs: leak.forcedGcs,
    baselineStart: leak.baselineStart,
    baselineEnd: leak.baselineEnd,
  };
}

module.exports = { GcMonitor };
