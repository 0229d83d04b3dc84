'use strict';
// Child process of benches/overhead.bench.mjs: a GC-heavy allocation loop, measured as
// operations per second. argv[2]: plain | leakwatch | memwatch; argv[3]: memwatch's dir.
// Prints one JSON line: { mode, opsPerSec, gcs, fullGcs, seconds }.
const { PerformanceObserver } = require('node:perf_hooks');

const mode = process.argv[2];
const WARMUP_MS = Number(process.env.LEAKWATCH_BENCH_WARMUP_MS || 1000);
const MEASURE_MS = Number(process.env.LEAKWATCH_BENCH_MEASURE_MS || 4000);
let fullGcs = 0;

let callbackMs = 0;
if (mode === 'leakwatch') {
  const leakwatch = require('../../index.js');
  leakwatch.on('stats', () => fullGcs++);
  leakwatch.on('leak', () => {});
  // Time spent in leakwatch's own GC callback (JS + native): a noise-free view of its
  // share, next to the throughput comparison.
  const monitor = leakwatch.monitor;
  const onEntries = monitor.onEntries.bind(monitor);
  monitor.onEntries = (entries) => {
    const t = performance.now();
    onEntries(entries);
    callbackMs += performance.now() - t;
  };
} else if (mode === 'memwatch') {
  const memwatch = require(process.argv[3]);
  memwatch.on('stats', () => fullGcs++);
} else if (mode === 'observer') {
  // The floor for any perf_hooks-based monitor: an observer that does nothing.
  new PerformanceObserver(() => {}).observe({ entryTypes: ['gc'] });
} else if (mode !== 'plain') {
  throw new Error(`unknown mode ${mode}`);
}

// One "op": a small request-like object graph that dies at once, and every 50th op a
// bigger object kept for a while in a ring (so some survive scavenges and old space fills
// and gets collected too).
const ring = new Array(2000);
let sink = 0;
function op(i) {
  const o = { id: i, name: `op-${i}`, items: [i, i + 1, i + 2, i + 3], nested: { a: i, b: [i] } };
  sink += o.items.length + o.name.length;
  if (i % 50 === 0) ring[(i / 50) % ring.length] = { i, data: new Array(64).fill(i) };
}

// Count GCs only in the separate calibration run (COUNT_GCS=1): an observer of our own in
// the measured runs would give 'plain' the cost of GC entries that only leakwatch brings.
let gcs = 0;
if (process.env.COUNT_GCS) {
  const counter = new PerformanceObserver((list) => (gcs += list.getEntries().length));
  counter.observe({ entryTypes: ['gc'] });
}

function runFor(ms) {
  const end = performance.now() + ms;
  let ops = 0;
  // Yield to the event loop every slice so perf_hooks entries (and 'stats') are delivered,
  // as in a real server.
  return new Promise((resolve) => {
    const slice = () => {
      const sliceEnd = Math.min(end, performance.now() + 20);
      while (performance.now() < sliceEnd) {
        for (let k = 0; k < 200; k++) op(ops++);
      }
      if (performance.now() < end) setImmediate(slice);
      else resolve(ops);
    };
    slice();
  });
}

(async () => {
  await runFor(WARMUP_MS);
  const gcsBefore = gcs;
  const fullBefore = fullGcs;
  callbackMs = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const ops = await runFor(MEASURE_MS);
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  // Let the last entries arrive before reading the counters.
  await new Promise((resolve) => setTimeout(resolve, 20));
  console.log(JSON.stringify({ mode, opsPerSec: ops / seconds, gcs: gcs - gcsBefore, fullGcs: fullGcs - fullBefore, seconds, callbackShare: callbackMs / 1000 / seconds, cpuNsPerOp: ((cpu.user + cpu.system) * 1000) / ops, sink: sink > 0 }));
  process.exit(0);
})();
