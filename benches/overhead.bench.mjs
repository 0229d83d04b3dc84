// `npm run bench -- overhead` (or `node benches/overhead.bench.mjs`): throughput of a
// GC-heavy allocation loop (hundreds of GCs per second) in separate processes:
//   plain       — no GC observer of ours;
//   leakwatch   — require('leakwatch') with 'stats' and 'leak' listeners;
//   memwatch    — @airbnb/node-memwatch with a 'stats' listener (installed for the bench only,
//                 into /tmp/leakwatch-bench-peers/overhead, never into package.json).
// Interleaved (the order rotates each round), LEAKWATCH_BENCH_ROUNDS rounds (default 7),
// medians; prints each one's cost in % of plain's throughput and saves
// benches/results/overhead.md. Target: leakwatch < 1 %.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const workload = path.join(here, 'lib', 'overhead-workload.cjs');
const ROUNDS = Math.max(5, Number(process.env.LEAKWATCH_BENCH_ROUNDS) || 7);
// Young generation size: smaller means more scavenges per second (GC-heavier).
const SEMI_SPACE_MB = Number(process.env.LEAKWATCH_BENCH_SEMI_SPACE_MB) || 2;
const PEERS = path.join(process.env.LEAKWATCH_BENCH_PEERS || '/tmp/leakwatch-bench-peers', 'overhead');
const MEMWATCH = path.join(PEERS, 'node_modules', '@airbnb', 'node-memwatch');

/** Installs and builds @airbnb/node-memwatch in the scratch folder; returns its dir or null. */
function ensureMemwatch() {
  const built = () => fs.existsSync(path.join(MEMWATCH, 'build', 'Release', 'memwatch.node'));
  if (built()) return MEMWATCH;
  fs.mkdirSync(PEERS, { recursive: true });
  const own = path.join(PEERS, 'package.json');
  if (!fs.existsSync(own)) fs.writeFileSync(own, JSON.stringify({ name: 'leakwatch-bench-peers-overhead', private: true }, null, 2));
  const run = (cmd, args, cwd) => {
    process.stderr.write(`[overhead] ${cmd} ${args.join(' ')}\n`);
    return spawnSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] }).status === 0;
  };
  if (!fs.existsSync(path.join(MEMWATCH, 'package.json'))) {
    run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', PEERS, '@airbnb/node-memwatch'], PEERS);
  }
  // npm may skip install scripts (allowScripts policy): build the addon with node-gyp.
  if (!built() && fs.existsSync(path.join(MEMWATCH, 'binding.gyp'))) {
    const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim();
    const gyp = path.join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    const nodedir = spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).stdout.trim();
    const extra = nodedir && nodedir !== 'undefined' ? [`--nodedir=${nodedir}`] : [];
    run(process.execPath, [gyp, 'rebuild', ...extra], MEMWATCH);
  }
  return built() ? MEMWATCH : null;
}

function measure(mode, memwatchDir, extraEnv = {}) {
  // A small young generation makes the loop GC-heavy (hundreds of scavenges per second),
  // as a busy server under memory pressure.
  const r = spawnSync(process.execPath, [`--max-semi-space-size=${SEMI_SPACE_MB}`, workload, mode, memwatchDir ?? ''], { encoding: 'utf8', env: { ...process.env, ...extraEnv } });
  if (r.status !== 0) throw new Error(`${mode} run failed (${r.status ?? r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const memwatchDir = ensureMemwatch();
if (!memwatchDir) process.stderr.write('[overhead] @airbnb/node-memwatch unavailable: measuring plain and leakwatch only\n');
const modes = ['plain', 'observer', 'leakwatch', ...(memwatchDir ? ['memwatch'] : [])];
const results = Object.fromEntries(modes.map((m) => [m, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = modes.map((_, i) => modes[(i + round) % modes.length]);
  for (const mode of order) results[mode].push(measure(mode, memwatchDir));
  process.stderr.write(`[overhead] round ${round + 1}/${ROUNDS}: ${order.map((m) => `${m} ${(results[m].at(-1).opsPerSec / 1e6).toFixed(2)}M ops/s`).join(', ')}\n`);
}

// The GC rate, from one extra run with a counting observer (not part of the timings).
const calibration = measure('plain', memwatchDir, { COUNT_GCS: '1' });
const gcRate = calibration.gcs / calibration.seconds;

const plain = median(results.plain.map((r) => r.opsPerSec));
const plainCpu = median(results.plain.map((r) => r.cpuNsPerOp));
const rows = modes.map((mode) => {
  const ops = median(results[mode].map((r) => r.opsPerSec));
  const cpuPerOp = median(results[mode].map((r) => r.cpuNsPerOp));
  const cpuCost = mode === 'plain' ? '—' : `${(((cpuPerOp - plainCpu) / plainCpu) * 100).toFixed(2)} %`;
  const full = median(results[mode].map((r) => r.fullGcs));
  const cost = mode === 'plain' ? '—' : `${(((plain - ops) / plain) * 100).toFixed(2)} %`;
  const spread = results[mode].map((r) => (r.opsPerSec / 1e6).toFixed(2)).join(', ');
  return `| ${mode} | ${(ops / 1e6).toFixed(3)} M | ${cost} | ${cpuPerOp.toFixed(1)} ns | ${cpuCost} | ${mode === 'plain' ? '—' : full} | ${spread} |`;
});
const callbackShare = median(results.leakwatch.map((r) => r.callbackShare)) * 100;
const table = [
  `GC entries per second (calibration run with a counting observer): ${gcRate.toFixed(0)}`,
  `Time inside leakwatch's GC callback (JS + native, measured in-process, median): ${callbackShare.toFixed(3)} % of wall time`,
  '',
  '| mode | median ops/s | throughput cost | CPU per op | CPU cost | stats events (median) | runs (M ops/s) |',
  '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ...rows,
].join('\n');
const cpu = os.cpus();
const doc = `# Overhead: GC-heavy loop, plain vs leakwatch vs @airbnb/node-memwatch

Generated by \`npm run bench -- overhead\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'CPU'}.
${ROUNDS} interleaved rounds, each mode a fresh process (\`--max-semi-space-size=${SEMI_SPACE_MB}\`, 1 s warm-up, 4 s measured); medians.
'plain' has no GC observer at all, so leakwatch's cost includes the GC entries Node creates for it;
'observer' is an empty perf_hooks GC observer: the floor for any monitor built on perf_hooks.
Positive cost = slower than plain. Throughput on this shared machine varies by ±20 % from run to
run, so the CPU time per operation (all threads, process.cpuUsage) and the time measured inside
leakwatch's callback are the steadier figures.

${table}
`;
console.log(`\n${table}\n`);
fs.mkdirSync(path.join(here, 'results'), { recursive: true });
fs.writeFileSync(path.join(here, 'results', 'overhead.md'), doc);
