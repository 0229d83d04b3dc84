'use strict';
// GC observation: perf_hooks 'gc' entries -> the Rust monitor -> 'stats' and 'leak'.
// Only JS can see GCs and heap figures; every decision is made in Rust, which gets only the
// figures it decides on (used heap, external memory) and returns what it computes; Node's
// other heap figures are spread into the 'stats' event here. Heap figures are read once per
// batch of entries and only after a full GC (or, throttled, to judge a confirmation probe),
// so a GC-heavy app pays next to nothing. The allocation sampler reads into the same native
// monitor (`this.native`, lib/agent/sampler.js); the verdicts of its reads come back through
// onSamplerLeaks().

const v8 = require('node:v8');
const { PerformanceObserver, constants, performance } = require('node:perf_hooks');
const native = require('../shared/native');
const { forceGc } = require('./gc');

// perf_hooks kinds -> the GcKind names the native monitor takes.
const KINDS = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weak-callbacks'],
]);
// v8.getHeapStatistics() figures in the 'stats' event (memwatch's names, which are V8's).
const HEAP_FIELDS = ['total_heap_size', 'total_heap_size_executable', 'total_physical_size', 'total_available_size', 'used_heap_size', 'heap_size_limit', 'malloced_memory', 'peak_malloced_memory'];
const FORCED = constants.NODE_PERFORMANCE_GC_FLAGS_FORCED;
// Heap figures for probe decisions at most this often.
const LIGHT_SAMPLE_MS = 1000;

class GcMonitor {
  /**
   * `emit(event, payload)` delivers 'stats' and 'leak'; `report(error)` failures;
   * `afterFullGc()` runs right after each full GC's figures are recorded (the allocation
   * sampler reads then: see lib/agent/sampler.js).
   */
  constructor({ emit, report, afterFullGc, options }) {
    this.emit = emit;
    this.report = report;
    this.afterFullGc = afterFullGc || (() => {});
    // Whether anyone wants verdicts: only then may a confirmation probe be considered.
    this.detecting = true;
    this.native = new native.Monitor(options, performance.now());
    this.observer = null;
    this.lastLightSample = 0;
    this.probing = false;
    this.awaitingFullGc = null;
    // GCs since the last full one, per kind: counted here, handed to Rust with the next full
    // GC (the only time the counters are read), so a scavenge costs an increment.
    this.tallies = new Map([...KINDS.values()].map((kind) => [kind, { kind, count: 0, totalMs: 0 }]));
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

  /** A full GC of leakwatch's own, only where it is short (a small heap; see Monitor::forced_gc_affordable); whether one ran. */
  collectIfCheap() {
    if (!this.native.forcedGcAffordable(v8.getHeapStatistics().used_heap_size)) return false;
    forceGc();
    return true;
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
        const tally = this.tallies.get(KINDS.get(entry.detail ? entry.detail.kind : entry.kind));
        if (tally === undefined) continue;
        tally.count += 1;
        tally.totalMs += entry.duration;
        if (tally.kind === 'major') major = entry;
      }
      if (major) {
        const counted = [...this.tallies.values()].filter((t) => t.count > 0);
        this.native.recordGcs(counted.map((t) => ({ ...t })));
        for (const t of counted) {
          t.count = 0;
          t.totalMs = 0;
        }
        this.onFullGc(major);
        // After the GC's figures are recorded: the survival rule compares the post-GC heap
        // at both ends of its window, this GC's included.
        this.afterFullGc();
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
    const { stats: computed, leaks } = this.native.recordFullGc(
      { tMs: performance.now(), forced, usedHeapSize: heap.used_heap_size, external: memory.external },
      entry.duration,
    );
    const stats = { ...computed };
    for (const field of HEAP_FIELDS) stats[field] = heap[field];
    Object.assign(stats, {
      external: memory.external,
      array_buffers: memory.arrayBuffers,
      rss: memory.rss,
      forced,
      // @airbnb/node-memwatch's gc_ts: a high-resolution timestamp of the collection.
      gc_ts: Number(process.hrtime.bigint()),
      timestamp: new Date(),
    });
    this.emit('stats', stats);
    this.emitResolutions();
    this.emitLeaks(leaks);
  }

  /**
   * The verdicts of a read of the allocation sampler (the survival of its cohorts judged in
   * Rust), with their sites; and any verdict that read withdrew. index.js wires the
   * sampler's onLeaks to this. Never throws: a failure is reported.
   */
  onSamplerLeaks(leaks) {
    try {
      this.emitResolutions();
      this.emitLeaks(leaks);
    } catch (error) {
      this.report(error);
    }
  }

  emitLeaks(leaks) {
    for (const leak of leaks) this.emit('leak', toLeakEvent(leak));
  }

  /** Verdicts withdrawn by what was just recorded: 'leakResolved' events. */
  emitResolutions() {
    for (const resolution of this.native.takeResolutions()) this.emit('leakResolved', toResolvedEvent(resolution));
  }

  /** At most once a second: force a full GC when memory rose enough, or a suspicion needs confirming, and it is cheap. */
  maybeProbe() {
    if (!this.detecting) return;
    const now = performance.now();
    if (now - this.lastLightSample < LIGHT_SAMPLE_MS) return;
    this.lastLightSample = now;
    // Heap plus external memory: a Buffer leak leaves the heap flat; never on a heap whose
    // forced GC would stall the app (see Monitor::should_probe).
    const heap = v8.getHeapStatistics();
    if (!this.native.shouldProbe(now, heap.used_heap_size, heap.external_memory || 0)) return;
    this.probing = true;
    forceGc();
  }
}

function wallClock(tMs) {
  return new Date(performance.timeOrigin + tMs);
}

/** memwatch's {start, end, growth, reason} plus the verdict's id and the figures behind it. */
function toLeakEvent(leak) {
  return {
    id: leak.id,
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
    evidence: toEvidence({ ...leak.evidence, windowMs: leak.windowMs }),
    // The allocation sites at the verdict's read (empty without sampling).
    sites: leak.sites,
  };
}

/** A withdrawn verdict: {id, kind, start (when raised), end (when withdrawn), reason, evidence}. */
function toResolvedEvent(r) {
  return {
    id: r.id,
    kind: r.kind,
    start: wallClock(r.raisedMs),
    end: wallClock(r.resolvedMs),
    reason: r.reason,
    evidence: {
      plateau: r.plateauBytes,
      stoppedAt: wallClock(r.stoppedMs),
      freedShare: r.freedShare,
      trailingRate: r.trailingRate,
      trailingWindowMs: r.trailingWindowMs,
      fillMs: r.fillMs,
      nextRequiredMs: r.nextRequiredMs,
      fillBytes: r.fillBytes,
      nextOutgrowBytes: r.nextOutgrowBytes,
    },
  };
}

/** What the verdict rests on: the rule, the signals, the window, and the survival figures. */
function toEvidence(evidence) {
  return {
    rule: evidence.rule,
    signals: evidence.signals,
    windowMs: evidence.windowMs,
    survival: evidence.survival ?? null,
  };
}

module.exports = { GcMonitor };
