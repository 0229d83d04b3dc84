// `npm run bench -- pressure`: what the memory-pressure guard costs and what its defaults
// rest on (issue 22). Four parts, each in fresh child processes of the Node running this:
//
// 1. Cost per full GC: a GC-heavy loop (leakwatch.gc() on a 50 MB heap, leak detection on,
//    sampling off) with the guard on and off, interleaved rounds; CPU per full GC, medians,
//    and the ratio. The baseline is the same process without the guard.
// 2. The pause when a level is reached: the time from the 'stats' event of the full GC that
//    crossed it to the 'memoryPressure' event (the evidence written in between), on heaps of
//    20 and 80 MB with sampling on.
// 3. A heap snapshot's peak extra resident memory, per byte of used heap (VmHWM after
//    clearing it with /proc/self/clear_refs): the factor `snapshotOnPressure` requires free.
// 4. Lead time: apps leaking 3 and 15 MB/s under --max-old-space-size=96 with
//    leakwatch/register: the time from each level's report to V8's out-of-memory abort.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LEAKWATCH = path.join(root, 'index.js');
const REGISTER = path.join(root, 'register.js');
const OOM_APP = path.join(root, '__test__', 'fixtures', 'pressure', 'oom-app.cjs');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-pressure-bench-'));
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function child(script, env = {}, execArgv = []) {
  const r = spawnSync(process.execPath, [...execArgv, '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', LW: LEAKWATCH, ...env } });
  if (r.status !== 0) throw new Error(`bench child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// 1. Cost per full GC.
const GC_LOOP = `
  const lw = require(process.env.LW);
  lw.configure({ leakDetection: true, sampling: false, growthReport: false, memoryPressure: process.env.GUARD === '1', snapshotDir: process.env.DIR });
  globalThis.keep = Array.from({ length: 400000 }, (_, i) => ({ i, s: 'v' + i }));
  let gcs = 0;
  lw.on('stats', () => gcs++);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 150; i++) { lw.gc(); }
  setTimeout(() => {
    const cpu = process.cpuUsage(cpu0);
    console.log(JSON.stringify({ gcs, cpuPerGcMs: (cpu.user + cpu.system) / 1000 / 150, wallMs: Number(process.hrtime.bigint() - t0) / 1e6 }));
  }, 200);`;
const rounds = { on: [], off: [] };
for (let round = 0; round < 5; round++) {
  for (const guard of round % 2 ? ['1', '0'] : ['0', '1']) rounds[guard === '1' ? 'on' : 'off'].push(child(GC_LOOP, { GUARD: guard, DIR: scratch }).cpuPerGcMs);
}
const [on, off] = [median(rounds.on), median(rounds.off)];
console.log('\n1. CPU per full GC (150 forced full GCs on a 50 MB heap, leak detection on, 5 interleaved rounds, medians)');
console.log('| guard | CPU per full GC | ratio |\n| --- | --- | --- |');
console.log(`| off (baseline) | ${off.toFixed(2)} ms | 1.00 |`);
console.log(`| on | ${on.toFixed(2)} ms | ${(on / off).toFixed(3)} |`);

// 2. The pause when a level is reached.
const WRITE = `
  const lw = require(process.env.LW);
  lw.configure({ leakDetection: true, growthReport: false, snapshotDir: process.env.DIR, memoryPressure: { heap: [0.05, 0.99] } });
  globalThis.keep = Array.from({ length: Number(process.env.OBJECTS) }, (_, i) => ({ i, s: 'value ' + i }));
  let statsAt = 0;
  lw.on('stats', () => { statsAt = process.hrtime.bigint(); });
  lw.on('memoryPressure', (e) => {
    const ms = Number(process.hrtime.bigint() - statsAt) / 1e6;
    console.log(JSON.stringify({ ms, heapMb: e.used / 1048576, profileKb: e.files.profile ? require('fs').statSync(e.files.profile).size / 1024 : 0 }));
    process.exit(0);
  });
  setInterval(() => { globalThis.keep.push({ more: Math.random() }); }, 50);
  setTimeout(() => lw.gc(), 3000);
  setTimeout(() => { console.error('no memoryPressure event'); process.exit(1); }, 30000);`;
console.log('\n2. The main thread\'s pause when a level is reached (files written between the full GC\'s stats and the event; 3 runs each, median)');
console.log('| heap after GC | pause | .heapprofile |\n| --- | --- | --- |');
for (const objects of [200_000, 1_000_000]) {
  const runs = [0, 1, 2].map(() => child(WRITE, { DIR: fs.mkdtempSync(path.join(scratch, 'w-')), OBJECTS: String(objects) }, ['--max-old-space-size=256']));
  const m = runs.sort((a, b) => a.ms - b.ms)[1];
  console.log(`| ${m.heapMb.toFixed(0)} MB | ${m.ms.toFixed(1)} ms | ${m.profileKb.toFixed(0)} KB |`);
}

// 3. A heap snapshot's peak extra resident memory.
const SNAPSHOT = `
  const fs = require('fs'), v8 = require('v8');
  const keep = globalThis.keep = [];
  while (v8.getHeapStatistics().used_heap_size < Number(process.env.MB) * 1048576) for (let i = 0; i < 1000; i++) keep.push({ a: i, s: 'k' + i + Math.random(), m: [i, { x: i }] });
  const heap = v8.getHeapStatistics().used_heap_size, rss0 = process.memoryUsage.rss();
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const f = v8.writeHeapSnapshot(require('path').join(process.env.DIR, 's.heapsnapshot'));
  const hwm = Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
  fs.unlinkSync(f);
  console.log(JSON.stringify({ heapMb: heap / 1048576, extraMb: (hwm - rss0) / 1048576, factor: (hwm - rss0) / heap }));`;
console.log('\n3. Peak extra resident memory while V8 writes a heap snapshot (snapshotOnPressure needs 13x the used heap available)');
console.log('| used heap | peak extra RSS | factor |\n| --- | --- | --- |');
if (fs.existsSync('/proc/self/clear_refs')) {
  for (const mb of [20, 60, 150]) {
    const r = child(SNAPSHOT, { MB: String(mb), DIR: scratch });
    console.log(`| ${r.heapMb.toFixed(0)} MB | ${r.extraMb.toFixed(0)} MB | ${r.factor.toFixed(1)}x |`);
  }
} else {
  console.log('| (needs Linux /proc/self/clear_refs) | | |');
}

// 4. Lead time before an out-of-memory death.
function leadTime(mbPerS) {
  return new Promise((resolve) => {
    const started = Date.now();
    const c = spawn(process.execPath, ['--max-old-space-size=96', '--require', REGISTER, OOM_APP], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', LEAK_MB_PER_S: String(mbPerS), LEAKWATCH_SNAPSHOT_DIR: fs.mkdtempSync(path.join(scratch, 'oom-')) },
    });
    const levels = [];
    let buffered = '';
    c.stderr.setEncoding('utf8').on('data', (d) => {
      buffered += d;
      for (let nl; (nl = buffered.indexOf('\n')) >= 0; buffered = buffered.slice(nl + 1)) {
        const m = /^leakwatch: memory pressure: the heap after GC is at (\d+) %/.exec(buffered.slice(0, nl));
        if (m) levels.push({ at: Date.now(), percent: Number(m[1]) });
      }
    });
    c.on('close', (code, signal) => resolve({ died: Date.now(), seconds: (Date.now() - started) / 1000, levels, how: signal || code }));
  });
}
console.log('\n4. Lead time: --max-old-space-size=96, leakwatch/register, the app leaks until V8 aborts');
console.log('| leak | died after | level 1 (ratio, before death) | level 2 (ratio, before death) |\n| --- | --- | --- | --- |');
for (const rate of [3, 15]) {
  const r = await leadTime(rate);
  const cell = (l) => (l ? `${l.percent} %, ${((r.died - l.at) / 1000).toFixed(1)} s` : 'none');
  console.log(`| ${rate} MB/s (nominal) | ${r.seconds.toFixed(0)} s (${r.how}) | ${cell(r.levels[0])} | ${cell(r.levels[1])} |`);
}
console.log(`\n${process.version}, ${os.cpus()[0].model}, load ${os.loadavg()[0].toFixed(1)}`);
fs.rmSync(scratch, { recursive: true, force: true });
