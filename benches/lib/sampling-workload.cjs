'use strict';
// Child process of benches/sampling.bench.mjs. argv: workload (busy | quiet | pause),
// interval (bytes, 0 = no sampling), readPeriodMs. Prints one JSON line.
//   busy  — an allocation-heavy service loop (request objects, ~30 MB kept in a ring):
//           operations per second and CPU per operation;
//   quiet — a timer every 50 ms doing a little work: CPU ms per wall second;
//   pause — a ~100 MB live heap of mixed objects, the profile read 10 times: main-thread
//           pause per read (ms), a forced full GC alone (ms), live samples.
const { performance } = require('node:perf_hooks');

const [workload, intervalArg, readArg] = process.argv.slice(2);
const interval = Number(intervalArg);
const readPeriodMs = Number(readArg) || 10000;
const MEASURE_MS = Number(process.env.LEAKWATCH_BENCH_MEASURE_MS || 6000);
const WARMUP_MS = 1000;

let leakwatch = null;
if (interval > 0) {
  leakwatch = require('../../index.js');
  leakwatch.configure({ sampling: { interval, readPeriodMs }, growthReport: false });
}

const ring = new Array(30000);
let sink = 0;
function op(i) {
  const request = { id: i, path: `/api/items/${i % 1000}`, headers: { host: 'x', n: String(i) }, body: [i, i + 1, i + 2] };
  sink += request.path.length + request.body.length;
  if (i % 10 === 0) ring[(i / 10) % ring.length] = { i, data: new Array(16).fill(i), text: `kept-${i}` };
}

function busy() {
  return new Promise((resolve) => {
    let ops = 0;
    let counting = false;
    let start = 0;
    let cpu0 = null;
    const begin = performance.now();
    const slice = () => {
      const end = performance.now() + 5;
      while (performance.now() < end) {
        for (let k = 0; k < 200; k++) op(ops + k);
        if (counting) ops += 200;
        else sink += 1;
      }
      const now = performance.now();
      if (!counting && now - begin >= WARMUP_MS) {
        counting = true;
        start = now;
        cpu0 = process.cpuUsage();
      }
      if (counting && now - start >= MEASURE_MS) {
        const cpu = process.cpuUsage(cpu0);
        const seconds = (now - start) / 1000;
        resolve({ opsPerSec: ops / seconds, cpuUsPerOp: (cpu.user + cpu.system) / ops, seconds });
        return;
      }
      setImmediate(slice);
    };
    slice();
  });
}

function quiet() {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      for (let k = 0; k < 200; k++) op(k);
    }, 50);
    setTimeout(() => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      setTimeout(() => {
        const cpu = process.cpuUsage(cpu0);
        clearInterval(timer);
        resolve({ cpuMsPerSec: (cpu.user + cpu.system) / 1000 / ((performance.now() - t0) / 1000) });
      }, MEASURE_MS);
    }, WARMUP_MS);
  });
}

async function pause() {
  // ~100 MB live: objects, strings, arrays.
  const keep = [];
  for (let i = 0; i < 600000; i++) keep.push({ i, s: `item-${i}-${'v'.repeat(i % 64)}`, a: [i, i * 2] });
  globalThis.keep = keep;
  const { forceGc } = require('../../lib/agent/gc');
  const reads = [];
  const gcs = [];
  for (let r = 0; r < 10; r++) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    let t = performance.now();
    leakwatch.sampler.read();
    reads.push(performance.now() - t);
    // On the inspector route V8 forces a full GC inside every getSamplingProfile
    // (kSamplingForceGC); the native route (the default) does not: time one alone, to
    // compare with the read.
    await new Promise((resolve) => setTimeout(resolve, 300));
    t = performance.now();
    forceGc();
    gcs.push(performance.now() - t);
  }
  return { readsMs: reads, gcsMs: gcs, samples: leakwatch.sampler.stats.lastSamples, heapMb: process.memoryUsage().heapUsed / 1048576, route: leakwatch.sampler.stats.route };
}

(async () => {
  const run = { busy, quiet, pause }[workload];
  const result = await run();
  if (leakwatch) Object.assign(result, { reads: leakwatch.sampler.stats.reads, readMsTotal: leakwatch.sampler.stats.totalReadMs });
  process.stdout.write(JSON.stringify({ workload, interval, ...result, sink: sink % 7 }) + '\n');
  process.exit(0);
})();
