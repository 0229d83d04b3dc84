'use strict';
// The process measured by benches/watchdog.bench.mjs. It loads leakwatch (argv[2]), builds
// a heap of about HEAP_MB, compiles SCRIPTS small scripts (the debugger reports each one
// when it is enabled), then measures and prints one JSON line:
// - idle dumps (main thread free) vs watchdog dumps of a main thread stuck in a busy loop;
// - the raw inspector steps of the watchdog's route from a worker of its own: the cost of
//   Debugger.enable / disable, and how long Debugger.pause takes to stop a busy loop;
// - a CPU workload's speed before any dump, after the main thread's own dumps (control),
//   after the watchdog's dumps (the debugger disabled again), and while it is enabled.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { Worker } = require('node:worker_threads');

const [lwPath, dir] = [process.argv[2], process.argv[3]];
const HEAP_MB = Number(process.env.HEAP_MB || 50);
const SCRIPTS = Number(process.env.SCRIPTS || 0);
const RUNS = Number(process.env.RUNS || 3);
const leakwatch = require(lwPath);
leakwatch.configure({ snapshotDir: dir, stuckAfterMs: 200, growthReport: false });
leakwatch.on('error', (error) => {
  process.stderr.write(`leakwatch error: ${error.code} ${error.message}\n`);
  process.exit(1);
});

const keep = [];
for (let i = 0; keep.length * 200 < HEAP_MB * 1048576; i++) keep.push({ i, s: `item-${i}`, a: [i, i + 1, i + 2] });
const scripts = [];
for (let i = 0; i < SCRIPTS; i++) scripts.push(new vm.Script(`(function f${i}(x) { return x + ${i}; })`, { filename: `gen-${i}.js` }).runInThisContext());

const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const snapshotsIn = () => fs.readdirSync(dir).filter((n) => n.endsWith('.heapsnapshot'));

/** Iterations of a small CPU-bound function per ms, over `ms`. */
function workload(ms) {
  const end = now() + ms;
  let n = 0;
  let acc = 0;
  while (now() < end) {
    for (let i = 0; i < 1000; i++) acc = (acc + scripts.length + ((i * 2654435761) % 97)) | 0;
    n += 1000;
  }
  return { perMs: n / ms, acc };
}

/** The bench's own inspector worker: answers {op} messages with timings. */
function probeWorker() {
  const worker = new Worker(
    `const inspector = require('node:inspector');
     const { parentPort } = require('node:worker_threads');
     const s = new inspector.Session(); s.connectToMainThread();
     const post = (m, p = {}) => new Promise((res, rej) => s.post(m, p, (e, r) => (e ? rej(e) : res(r))));
     const now = () => Number(process.hrtime.bigint()) / 1e6;
     parentPort.on('message', async ({ op }) => {
       const t = now();
       if (op === 'enable') await post('Debugger.enable');
       if (op === 'disable') await post('Debugger.disable');
       if (op === 'pause') {
         const paused = new Promise((res) => s.once('Debugger.paused', res));
         await post('Debugger.pause'); await paused;
         const ms = now() - t; await post('Debugger.resume'); parentPort.postMessage({ op, ms }); return;
       }
       parentPort.postMessage({ op, ms: now() - t });
     });`,
    { eval: true },
  );
  const ask = (op) =>
    new Promise((resolve) => {
      worker.once('message', (m) => resolve(m.ms));
      worker.postMessage({ op });
    });
  return { worker, ask };
}

async function main() {
  const out = { node: process.version, heapUsed: process.memoryUsage().heapUsed, scripts: SCRIPTS };
  out.before = workload(1000).perMs;
  // Idle dumps: the main thread writes them itself.
  out.idle = [];
  for (let r = 0; r < RUNS; r++) out.idle.push((await leakwatch.writeSnapshotAsync()).durationMs);
  // The control for "after": the same CPU loop after dumps that never touched the debugger.
  out.afterIdle = workload(1000).perMs;
  // Stuck dumps: the signal arrives while the main thread spins until the file is there.
  out.stuck = [];
  out.pause = [];
  out.stuckFor = [];
  for (let r = 0; r < RUNS; r++) {
    const known = new Set(snapshotsIn());
    const got = new Promise((resolve) => leakwatch.once('snapshot', resolve));
    const start = now();
    process.kill(process.pid, 'SIGUSR2');
    let last = start;
    while (snapshotsIn().every((n) => known.has(n)) && now() - start < 60_000) {
      for (let i = 0; i < 1e5; i++) last = (last + i) % 1e9;
    }
    out.stuckFor.push(now() - start);
    const info = await got;
    if (!info.viaInspector) throw new Error('the watchdog did not take the stuck dump');
    out.stuck.push(info.durationMs);
    out.pause.push(info.pauseMs);
  }
  out.after = workload(1000).perMs;
  // The raw steps, from a worker of the bench's own.
  const probe = probeWorker();
  await new Promise((resolve) => setTimeout(resolve, 300));
  out.enable = [];
  out.disable = [];
  out.rawPause = [];
  for (let r = 0; r < RUNS; r++) {
    out.enable.push(await probe.ask('enable'));
    out.disable.push(await probe.ask('disable'));
  }
  // Debugger on vs off, interleaved (the machine's load drifts): medians of each.
  out.on = [];
  out.off = [];
  for (let r = 0; r < RUNS; r++) {
    out.off.push(workload(500).perMs);
    await probe.ask('enable');
    out.on.push(workload(500).perMs);
    await probe.ask('disable');
  }
  out.enabled = median(out.on);
  out.disabled = median(out.off);
  await probe.ask('enable');
  for (let r = 0; r < RUNS; r++) {
    const answer = probe.ask('pause');
    // Busy for 1.5 s: the pause stops this very loop; the answer is read after it.
    const end = now() + 1500;
    while (now() < end);
    out.rawPause.push(await answer);
  }
  await probe.ask('disable');
  await probe.worker.terminate();
  out.summary = { idle: median(out.idle), stuck: median(out.stuck), pause: median(out.pause), enable: median(out.enable), disable: median(out.disable), rawPause: median(out.rawPause) };
  process.stdout.write(JSON.stringify(out) + '\n');
  for (const n of snapshotsIn()) fs.unlinkSync(path.join(dir, n));
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
