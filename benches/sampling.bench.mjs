// `npm run bench -- sampling`: the cost of allocation sampling (leak sites).
//   throughput — an allocation-heavy service loop, ops/s and CPU per op, with no
//                sampling vs sampling at several intervals (reads at the default period);
//   quiet      — a mostly idle process (a 50 ms timer): CPU ms per wall second;
//   pause      — the main-thread pause of one profile read (getSamplingProfile, its JSON
//                and the Rust update) with ~100 MB live, per interval.
// Separate processes, interleaved (order rotates each round), LEAKWATCH_BENCH_ROUNDS
// rounds (default 5), medians. Saves benches/results/sampling.md.
// Targets at the defaults: < 1 % throughput cost, < 20 ms per read.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const workload = path.join(here, 'lib', 'sampling-workload.cjs');
const { DEFAULTS } = createRequire(import.meta.url)('../lib/agent/sampler.js');
const ROUNDS = Math.max(3, Number(process.env.LEAKWATCH_BENCH_ROUNDS) || 5);
const INTERVALS = (process.env.LEAKWATCH_BENCH_INTERVALS || `32768,${DEFAULTS.interval},262144`).split(',').map(Number);
const READ_MS = Number(process.env.LEAKWATCH_BENCH_READ_MS) || DEFAULTS.readPeriodMs;
// Throughput runs last seconds: they read every 2 s (5x the default rate, the 100x-pause
// backoff still applies) so that reads are part of what is measured.
const BUSY_READ_MS = Number(process.env.LEAKWATCH_BENCH_BUSY_READ_MS) || 2000;

function run(kind, interval, readMs = READ_MS) {
  const r = spawnSync(process.execPath, [workload, kind, String(interval), String(readMs)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${kind} ${interval} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const kib = (n) => (n ? `${n / 1024} KiB` : 'off');
const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} %`;

const lines = [];
const say = (line = '') => {
  lines.push(line);
  process.stdout.write(line + '\n');
};

say(`# sampling bench — ${new Date().toISOString()}`);
say(`node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
say(`defaults: interval ${kib(DEFAULTS.interval)}, read period ${DEFAULTS.readPeriodMs / 1000} s; ${ROUNDS} interleaved rounds, medians`);
say();

// Throughput: plain and each interval, interleaved.
const modes = [0, ...INTERVALS];
const busy = new Map(modes.map((m) => [m, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = modes.map((_, i) => modes[(i + round) % modes.length]);
  for (const mode of order) busy.get(mode).push(run('busy', mode, BUSY_READ_MS));
  process.stderr.write(`[sampling] throughput round ${round + 1}/${ROUNDS}\n`);
}
const plainOps = median(busy.get(0).map((r) => r.opsPerSec));
const plainCpu = median(busy.get(0).map((r) => r.cpuUsPerOp));
say(`## Allocation-heavy loop (throughput; reads every ${BUSY_READ_MS / 1000} s or 100x the last pause)`);
say('| sampling interval | ops/s (median) | cost vs off | CPU µs/op | CPU vs off | reads in run |');
say('| --- | --- | --- | --- | --- | --- |');
for (const mode of modes) {
  const ops = median(busy.get(mode).map((r) => r.opsPerSec));
  const cpu = median(busy.get(mode).map((r) => r.cpuUsPerOp));
  const reads = mode ? median(busy.get(mode).map((r) => r.reads)) : 0;
  say(`| ${kib(mode)} | ${Math.round(ops)} | ${mode ? pct(1 - ops / plainOps) : '—'} | ${cpu.toFixed(3)} | ${mode ? pct(cpu / plainCpu - 1) : '—'} | ${reads} |`);
}
say();

// Quiet process: CPU per second, off vs the default interval.
const quiet = new Map([
  [0, []],
  [DEFAULTS.interval, []],
]);
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? [DEFAULTS.interval, 0] : [0, DEFAULTS.interval];
  for (const mode of order) quiet.get(mode).push(run('quiet', mode));
}
const quietOff = median(quiet.get(0).map((r) => r.cpuMsPerSec));
const quietOn = median(quiet.get(DEFAULTS.interval).map((r) => r.cpuMsPerSec));
say('## Quiet process (50 ms timer)');
say(`CPU: off ${quietOff.toFixed(2)} ms/s, sampling at ${kib(DEFAULTS.interval)} ${quietOn.toFixed(2)} ms/s (${pct(quietOn / quietOff - 1)}, ${(quietOn - quietOff).toFixed(2)} ms per second of wall time)`);
say();

// Pause per read with ~100 MB live. V8's inspector forces a full GC inside every
// getSamplingProfile (the agent always passes kSamplingForceGC): the table shows a
// forced full GC alone too, and the difference, the read's own work.
say('## Main-thread pause per profile read (~100 MB live heap, 10 reads each)');
say('| sampling interval | live samples | pause median | pause max | full GC alone (median) | read minus GC | share of wall time (period: max(default, 100x pause)) |');
say('| --- | --- | --- | --- | --- | --- | --- |');
const pauses = new Map();
const routes = new Set();
let lastRoute = null;
for (const interval of INTERVALS) {
  const all = [];
  const gcs = [];
  let samples = 0;
  for (let round = 0; round < Math.min(3, ROUNDS); round++) {
    const r = run('pause', interval, 3600000);
    all.push(...r.readsMs.slice(1)); // the first read includes one-time set-up
    gcs.push(...(r.gcsMs || []).slice(1));
    samples = r.samples;
    lastRoute = r.route;
  }
  pauses.set(interval, median(all));
  routes.add(lastRoute);
  const gc = gcs.length ? median(gcs) : NaN;
  say(`| ${kib(interval)} | ${samples} | ${median(all).toFixed(1)} ms | ${Math.max(...all).toFixed(1)} ms | ${gc.toFixed(1)} ms | ${(median(all) - gc).toFixed(1)} ms | ${((median(all) / Math.max(READ_MS, 100 * median(all))) * 100).toFixed(2)} % |`);
}
say();
const defaultCost = 1 - median(busy.get(DEFAULTS.interval).map((r) => r.opsPerSec)) / plainOps;
const defaultCpu = median(busy.get(DEFAULTS.interval).map((r) => r.cpuUsPerOp)) / plainCpu - 1;
const defaultPause = pauses.get(DEFAULTS.interval);
say('## Verdict at the defaults');
// Both must hold; a negative cost means the run was noisier than the effect.
const met = defaultCost < 0.01 && defaultCpu < 0.01;
say(`throughput cost ${pct(defaultCost)}, CPU per op ${pct(defaultCpu)} (target < 1 %): ${met ? 'MET' : 'MISSED'}${defaultCost < 0 || defaultCpu < 0 ? ' (a negative figure is noise: compare runs)' : ''}`);
if (defaultPause !== undefined) say(`pause per read ${defaultPause.toFixed(1)} ms with ~100 MB live on the ${[...routes].join('/')} route (the inspector's includes a forced full GC; target < 20 ms): ${defaultPause < 20 ? 'MET' : 'MISSED'}`);

fs.mkdirSync(path.join(here, 'results'), { recursive: true });
fs.writeFileSync(path.join(here, 'results', 'sampling.md'), lines.join('\n') + '\n');
