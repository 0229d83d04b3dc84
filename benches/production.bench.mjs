// `npm run bench -- production`: what leakwatch costs a service with a large live heap under
// steady load, and how soon it reports a leak that starts mid-run.
//
// The service (benches/lib/production-service.cjs) holds HEAP of small records, replaces
// 0.1 % of them per second and makes ~20 KB of garbage per request. The load is open-loop
// at a fixed rate on loopback (keep-alive connections), and each request's latency counts
// from its *scheduled* time, so a stall delays every request due during it (no coordinated
// omission). In one run, interleaved per round, for each heap size:
//   none                no leakwatch
//   memwatch            require('leakwatch').on('leak', …)   (memwatch's usage)
//   register            -r leakwatch/register                 (detection + sampling)
//   register-inspector  the same, with the sampler on the old inspector route (forced GC per read)
// Then, with a leak of ~1 MB/s (5 KB per request) starting mid-run (150 s in), the time
// until each usage reports it, and the site it names.
//
//   node benches/production.bench.mjs [--heaps 200,1024] [--seconds 60] [--rate 200]
//     [--rounds 1] [--leak-at 150] [--leak-seconds 90] [--no-leak] [--modes none,memwatch,...]
//     [--leak-modes memwatch,register]
// Results: printed, and written to benches/results/production.md.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { median } from './lib/measure.mjs';
import { table } from './lib/report.mjs';
import { jsonLines } from '../__test__/helpers.mjs';

const dir = path.dirname(fileURLToPath(import.meta.url));
const SERVICE = path.join(dir, 'lib', 'production-service.cjs');
const { values } = parseArgs({
  options: {
    heaps: { type: 'string', default: '200,1024' },
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '1' },
    'leak-seconds': { type: 'string', default: '90' },
    'leak-at': { type: 'string', default: '150' },
    'no-leak': { type: 'boolean', default: false },
    modes: { type: 'string', default: 'none,memwatch,register,register-inspector' },
    'leak-modes': { type: 'string', default: 'memwatch,register' },
  },
});
const heaps = values.heaps.split(',').map(Number);
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const rounds = Number(values.rounds);
const modes = values.modes.split(',');
const WARMUP_MS = 5000;
// The leak starts "mid-run": after the start-up's 1 GB load has left the detector's window
// (maxWindowMs, 120 s), as in a service that has been up for a while.
const LEAK_AT_MS = Number(values['leak-at']) * 1000;

function startService(env) {
  const child = spawn(process.execPath, [`--max-old-space-size=${4096}`, SERVICE], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = jsonLines(child.stdout);
  const waitFor = (key, timeoutMs = 300000) =>
    new Promise((resolve, reject) => {
      const from = lines.length;
      const started = Date.now();
      const poll = setInterval(() => {
        const hit = lines.slice(from).find((l) => key in l);
        if (hit) {
          clearInterval(poll);
          resolve(hit[key]);
        } else if (Date.now() - started > timeoutMs || child.exitCode !== null) {
          clearInterval(poll);
          reject(new Error(`service: no ${key} (exit ${child.exitCode})`));
        }
      }, 20);
    });
  return { child, lines, waitFor, report: () => (child.stdin.write('report\n'), waitFor('report')) };
}

/** Open-loop load: `rate` requests per second for `ms`; latencies from each scheduled time. */
function load(port, ms, { onTick } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const latencies = [];
  let failed = 0;
  const start = performance.now();
  const total = Math.round((ms / 1000) * rate);
  let sent = 0;
  return new Promise((resolve) => {
    let pending = 0;
    const finish = () => {
      if (sent >= total && pending === 0) {
        clearInterval(timer);
        agent.destroy();
        resolve({ latencies, failed });
      }
    };
    const fire = (scheduled) => {
      pending += 1;
      const req = http.get({ host: '127.0.0.1', port, path: `/item/${sent}`, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - scheduled);
          pending -= 1;
          finish();
        });
      });
      req.on('error', () => {
        failed += 1;
        pending -= 1;
        finish();
      });
    };
    const timer = setInterval(() => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / rate <= now) {
        fire(start + (sent * 1000) / rate);
        sent += 1;
      }
      if (onTick) onTick(now - start);
      finish();
    }, 1);
  });
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function costRun(heapMB, mode) {
  const service = startService({ HEAP_MB: String(heapMB), LW_MODE: mode });
  try {
    const ready = await service.waitFor('ready');
    await load(ready.port, WARMUP_MS);
    const before = await service.report();
    const { latencies, failed } = await load(ready.port, seconds * 1000);
    const after = await service.report();
    const sorted = latencies.sort((a, b) => a - b);
    const requests = after.served - before.served;
    const s = after.sampler;
    return {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted[sorted.length - 1],
      over100: sorted.filter((l) => l > 100).length,
      failed,
      cpuPerRequestMs: (after.cpuUserMs + after.cpuSystemMs - before.cpuUserMs - before.cpuSystemMs) / requests,
      maxRssMB: after.maxRssMB,
      heapMB: ready.heapMB,
      majorGcs: after.gcs.major - before.gcs.major,
      maxMajorMs: after.gcs.maxMajorMs,
      reads: s ? s.reads - before.sampler.reads : 0,
      route: s ? s.route : '',
      meanReadMs: s && s.reads > before.sampler.reads ? (s.totalReadMs - before.sampler.totalReadMs) / (s.reads - before.sampler.reads) : NaN,
      maxReadMs: s ? s.maxReadMs : NaN,
      leaks: service.lines.filter((l) => l.leak).length,
    };
  } finally {
    service.child.kill('SIGKILL');
  }
}

async function leakRun(heapMB, mode) {
  const service = startService({ HEAP_MB: String(heapMB), LW_MODE: mode, LEAK_AT_MS: String(LEAK_AT_MS) });
  try {
    const ready = await service.waitFor('ready');
    let verdict = null;
    await load(ready.port, LEAK_AT_MS + Number(values['leak-seconds']) * 1000, {
      onTick: () => {
        verdict = verdict || service.lines.find((l) => l.leak && l.leak.atMs >= LEAK_AT_MS);
      },
    });
    const early = service.lines.filter((l) => l.leak && l.leak.atMs < LEAK_AT_MS).length;
    const after = await service.report();
    return { verdict: verdict && verdict.leak, early, reads: after.sampler ? after.sampler.reads : 0, majorGcs: after.gcs.major };
  } finally {
    service.child.kill('SIGKILL');
  }
}

const ms = (x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(1) : Math.round(x)} ms` : '–');
const results = [];
console.log(`production cost: ${heaps.map((h) => `${h} MB`).join(', ')}; ${rate} req/s open-loop; ${seconds} s measured after ${WARMUP_MS / 1000} s warm-up; ${rounds} round(s), modes interleaved; ${os.cpus().length} cores, Node ${process.version}`);
for (const heapMB of heaps) {
  const runs = Object.fromEntries(modes.map((m) => [m, []]));
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      const r = await costRun(heapMB, mode);
      runs[mode].push(r);
      console.log(`  ${heapMB} MB ${mode.padEnd(18)} round ${round + 1}: p99 ${ms(r.p99)}, p99.9 ${ms(r.p999)}, max ${ms(r.max)}, >100 ms ${r.over100}, CPU/req ${r.cpuPerRequestMs.toFixed(3)} ms, reads ${r.reads} (max ${ms(r.maxReadMs)}), major GCs ${r.majorGcs}`);
    }
  }
  const med = (mode, key) => median(runs[mode].map((r) => r[key]));
  const base = (key) => med('none', key);
  const rows = modes.map((mode) => [
    mode,
    ms(med(mode, 'p50')),
    ms(med(mode, 'p99')),
    ms(med(mode, 'p999')),
    ms(med(mode, 'max')),
    String(med(mode, 'over100')),
    `${med(mode, 'cpuPerRequestMs').toFixed(3)} ms (${mode === 'none' ? '—' : `${(((med(mode, 'cpuPerRequestMs') / base('cpuPerRequestMs')) - 1) * 100).toFixed(1)} %`})`,
    `${Math.round(med(mode, 'maxRssMB'))} MB`,
    mode === 'none' ? '—' : `${runs[mode][0].route || 'off'}: ${med(mode, 'reads')} reads, mean ${ms(med(mode, 'meanReadMs'))}, max ${ms(med(mode, 'maxReadMs'))}`,
    String(med(mode, 'majorGcs')),
    String(med(mode, 'leaks')),
  ]);
  const heading = `### ${heapMB} MB live heap (${runs.none?.[0]?.heapMB?.toFixed(0) ?? '?'} MB used at start)`;
  const t = table(['usage', 'p50', 'p99', 'p99.9', 'max', '> 100 ms', 'CPU / request (vs none)', 'peak RSS', 'sampler reads', 'full GCs', 'verdicts (healthy)'], rows);
  console.log(`\n${heading}\n${t}`);
  results.push(`${heading}\n\n${t}`);
  // The targets, against no leakwatch in the same run.
  const checks = [];
  for (const mode of modes.filter((m) => m === 'memwatch' || m === 'register')) {
    const dp99 = med(mode, 'p99') - base('p99');
    const dp999 = med(mode, 'p999') - base('p999');
    const dcpu = med(mode, 'cpuPerRequestMs') / base('cpuPerRequestMs') - 1;
    const extra = med(mode, 'over100') - base('over100');
    const ok = dp99 <= 2 && dp999 <= 10 && dcpu <= 0.02 && extra <= 0;
    checks.push(`${ok ? 'MET   ' : 'MISSED'} ${heapMB} MB ${mode}: p99 ${dp99 >= 0 ? '+' : ''}${dp99.toFixed(1)} ms (≤ +2), p99.9 ${dp999 >= 0 ? '+' : ''}${dp999.toFixed(1)} ms (≤ +10), CPU/request ${(dcpu * 100).toFixed(1)} % (≤ +2 %), extra requests > 100 ms ${extra} (≤ 0)`);
    if (runs[mode][0].route === 'native') {
      const maxRead = Math.max(...runs[mode].map((r) => r.maxReadMs));
      checks.push(`${maxRead < 20 ? 'MET   ' : 'MISSED'} ${heapMB} MB ${mode}: profile read pause ${ms(maxRead)} at most (< 20 ms)`);
    }
  }
  console.log(checks.join('\n'));
  results.push(checks.map((c) => `    ${c}`).join('\n'));
}

if (!values['no-leak']) {
  const heapMB = Math.max(...heaps);
  const rows = [];
  for (const mode of values['leak-modes'].split(',').filter((m) => m && m !== 'none')) {
    const r = await leakRun(heapMB, mode);
    const after = r.verdict ? (r.verdict.atMs - LEAK_AT_MS) / 1000 : null;
    rows.push([after === null ? `none in ${values['leak-seconds']} s` : `${after.toFixed(1)} s`, r.verdict ? r.verdict.site || '(no site)' : '—', String(r.early), `${r.majorGcs} full GCs, ${r.reads} reads`]);
    console.log(`  leak ${heapMB} MB ${mode}: ${rows[rows.length - 1].join(' | ')}`);
    rows[rows.length - 1].unshift(mode);
  }
  const heading = `### A 1 MB/s leak from ${LEAK_AT_MS / 1000} s into the run, ${heapMB} MB live heap, ${rate} req/s`;
  const t = table(['usage', 'reported after', 'site named', 'verdicts before the leak', 'natural full GCs, reads'], rows);
  console.log(`\n${heading}\n${t}`);
  results.push(`${heading}\n\n${t}`);
}

const out = path.join(dir, 'results', 'production.md');
fs.writeFileSync(
  out,
  `# Production cost (benches/production.bench.mjs)\n\n${new Date().toISOString()}, Node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} cores; ` +
    `${rate} req/s open-loop on loopback, latency from each request's scheduled time; ${seconds} s measured after ${WARMUP_MS / 1000} s warm-up; ${rounds} round(s), usages interleaved; medians.\n\n${results.join('\n\n')}\n`,
);
console.log(`\nwritten to ${path.relative(process.cwd(), out)}`);
