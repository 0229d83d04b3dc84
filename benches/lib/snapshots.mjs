// Benchmark heap snapshots of a target size, generated once and cached under
// /tmp/leakwatch-bench/ (override with LEAKWATCH_BENCH_DIR). Never inside the repository.
//
// Generation spawns benches/lib/heap-generator.mjs, which builds a heap of many small
// objects and strings of mixed classes and calls v8.writeHeapSnapshot. The number of
// "units" for a target size comes from a linear fit over two small calibration runs
// (cached in calibration.json). A cached snapshot is reused when its sidecar
// FILE.meta.json exists (written only after the snapshot completed; files are written
// under a temporary name and renamed, so an interrupted run leaves nothing reusable).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = process.env.LEAKWATCH_BENCH_DIR || '/tmp/leakwatch-bench';
const GENERATOR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'heap-generator.mjs');
// Bump when heap-generator.mjs changes shape, so stale caches are not reused.
const GENERATOR_VERSION = 1;
const MB = 1024 * 1024;

export const SIZES = {
  '300MB': 300 * MB,
  '1GB': 1024 * MB,
  '2GB': 2048 * MB,
};

/** Sizes the benchmarks use: 300MB and 1GB, plus 2GB when LEAKWATCH_BENCH_2GB=1. */
export function benchSizes() {
  const names = ['300MB', '1GB'];
  if (process.env.LEAKWATCH_BENCH_2GB === '1') names.push('2GB');
  return names;
}

function log(message) {
  process.stderr.write(`[snapshots] ${message}\n`);
}

function generate(units, out, { quiet = false } = {}) {
  const tmp = `${out}.partial-${process.pid}`;
  // The generated heap is ~1.3 KB per unit plus V8's snapshot bookkeeping; give V8 room.
  const heapMb = Math.max(4096, Math.ceil((units * 2500) / MB));
  const started = Date.now();
  const result = spawnSync(process.execPath, [`--max-old-space-size=${heapMb}`, GENERATOR, String(units), tmp], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`heap-generator failed (status ${result.status}, signal ${result.signal}): ${result.stderr.slice(-2000)}`);
  }
  fs.renameSync(tmp, out);
  const bytes = fs.statSync(out).size;
  if (!quiet) log(`wrote ${out}: ${(bytes / MB).toFixed(1)} MB, ${units} units, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return bytes;
}

/** bytes ≈ base + perUnit × units, measured once per generator version and node version. */
function calibration() {
  const file = path.join(BENCH_DIR, 'calibration.json');
  try {
    const cached = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (cached.version === GENERATOR_VERSION && cached.node === process.version) return cached;
  } catch {}
  log('calibrating snapshot size per unit (two small snapshots)…');
  const points = [100_000, 300_000].map((units) => {
    const out = path.join(BENCH_DIR, `calibrate-${units}.heapsnapshot`);
    const bytes = generate(units, out, { quiet: true });
    fs.rmSync(out, { force: true });
    return { units, bytes };
  });
  const perUnit = (points[1].bytes - points[0].bytes) / (points[1].units - points[0].units);
  const base = points[0].bytes - perUnit * points[0].units;
  const result = { version: GENERATOR_VERSION, node: process.version, perUnit, base, points };
  fs.writeFileSync(file, JSON.stringify(result, null, 2));
  log(`calibration: ${perUnit.toFixed(1)} bytes/unit + ${(base / MB).toFixed(1)} MB`);
  return result;
}

/**
 * Path of a cached snapshot of about `name` (a key of SIZES), generating it if needed.
 * Returns { name, file, bytes, units }.
 */
export function ensureSnapshot(name) {
  const target = SIZES[name];
  if (!target) throw new Error(`unknown snapshot size '${name}' (known: ${Object.keys(SIZES).join(', ')})`);
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const file = path.join(BENCH_DIR, `bench-${name}.heapsnapshot`);
  const metaFile = `${file}.meta.json`;
  try {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    const bytes = fs.statSync(file).size;
    if (meta.version === GENERATOR_VERSION && meta.bytes === bytes) return { name, file, bytes, units: meta.units };
  } catch {}
  fs.rmSync(metaFile, { force: true });
  const { perUnit, base } = calibration();
  const units = Math.max(1000, Math.round((target - base) / perUnit));
  log(`generating ${name} snapshot (${units} units) — this can take a few minutes, once…`);
  const bytes = generate(units, file);
  fs.writeFileSync(metaFile, JSON.stringify({ version: GENERATOR_VERSION, node: process.version, units, bytes, target }, null, 2));
  return { name, file, bytes, units };
}

// `node benches/lib/snapshots.mjs [300MB 1GB …]` pre-generates the cache.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const name of process.argv.length > 2 ? process.argv.slice(2) : benchSizes()) {
    const s = ensureSnapshot(name);
    console.log(`${s.name}\t${s.file}\t${s.bytes}`);
  }
}
