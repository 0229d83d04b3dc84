// Three heap snapshots of ONE leaking process, for benches/analyze.bench.mjs, generated
// once and cached under /tmp/leakwatch-bench/analyze-{1,2,3}.heapsnapshot (BENCH_DIR).
//
// As a library: ensureLeakSeries() → { files:[s1,s2,s3], bytes:[…], meta } (generating if
// the sidecar analyze-series.meta.json is missing or stale).
// As a child process (spawned by ensureLeakSeries, or by hand):
//
//   node --max-old-space-size=4096 benches/lib/leak-series.mjs BASE_UNITS INTERVAL_MS OUT1 OUT2 OUT3
//
// the child builds a stable population of mixed small objects (the bulk of each ~100 MB
// snapshot, allocated before S1), then runs a 5 ms timer that every tick
//   * leaks LEAK_PER_TICK `LeakedRecord` objects (each with its own string) into the
//     module-level array `leakedRecords` — the known leak, growing at every step, and
//   * makes garbage: `TempBuffer` objects, arrays and strings that die immediately.
// Snapshots are written from timers: S1 at once, S2 after INTERVAL_MS, S3 after another
// INTERVAL_MS (v8.writeHeapSnapshot blocks the loop meanwhile; intervals are measured from
// the end of the previous snapshot). It prints a JSON line with what it did.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { BENCH_DIR } from './snapshots.mjs';

const SELF = fileURLToPath(import.meta.url);
// Bump when the child's heap shape changes, so stale caches are not reused.
const SERIES_VERSION = 1;
// ~100 MB per snapshot: the stable population is ~315 bytes of snapshot per unit (same
// mix as heap-generator.mjs); the leak adds ~10 MB of snapshot per interval on top
// (88 / 98 / 108 MB with the defaults on node 20).
export const SERIES_DEFAULTS = { baseUnits: 280_000, intervalMs: 12_000 };
const LEAK_PER_TICK = 10;
const GARBAGE_PER_TICK = 200;
export const LEAK_CLASS = 'LeakedRecord';
export const LEAK_ARRAY = 'leakedRecords';

export function seriesFiles(dir = BENCH_DIR) {
  return [1, 2, 3].map((i) => path.join(dir, `analyze-${i}.heapsnapshot`));
}

/** The cached series, generated first if needed. Returns { files, bytes, meta }. */
export function ensureLeakSeries({ baseUnits = SERIES_DEFAULTS.baseUnits, intervalMs = SERIES_DEFAULTS.intervalMs } = {}) {
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const files = seriesFiles();
  const metaFile = path.join(BENCH_DIR, 'analyze-series.meta.json');
  try {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    const bytes = files.map((f) => fs.statSync(f).size);
    if (meta.version === SERIES_VERSION && meta.baseUnits === baseUnits && meta.intervalMs === intervalMs && bytes.every((b, i) => b === meta.bytes[i])) {
      return { files, bytes, meta };
    }
  } catch {}
  fs.rmSync(metaFile, { force: true });
  const tmp = files.map((f) => `${f}.partial-${process.pid}`);
  process.stderr.write(`[leak-series] generating 3 snapshots of one leaking process (${baseUnits} base units, ${intervalMs / 1000} s apart) — about a minute, once…\n`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', SELF, String(baseUnits), String(intervalMs), ...tmp], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    for (const t of tmp) fs.rmSync(t, { force: true });
    throw new Error(`leak-series child failed (status ${r.status}, signal ${r.signal}): ${r.stderr.slice(-2000)}`);
  }
  const report = JSON.parse(r.stdout.trim().split('\n').pop());
  report.shots.forEach((shot, i) => (shot.file = files[i]));
  tmp.forEach((t, i) => fs.renameSync(t, files[i]));
  const bytes = files.map((f) => fs.statSync(f).size);
  const meta = { version: SERIES_VERSION, node: process.version, baseUnits, intervalMs, bytes, leakClass: LEAK_CLASS, leakArray: LEAK_ARRAY, ...report };
  fs.writeFileSync(metaFile, JSON.stringify(meta, null, 2));
  process.stderr.write(`[leak-series] wrote ${files.map((f, i) => `${path.basename(f)} ${(bytes[i] / 1048576).toFixed(1)} MB`).join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return { files, bytes, meta };
}

// ---------------------------------------------------------------------------------------
// Child process.

class Order { constructor(i, prev) { this.id = i; this.total = i % 977; this.prev = prev; } }
class Customer { constructor(i, prev) { this.id = i; this.name = null; this.prev = prev; } }
class Session { constructor(i, prev) { this.id = i; this.expires = i * 3; this.prev = prev; } }
class LineItem { constructor(i, prev) { this.sku = i % 4099; this.qty = i & 7; this.prev = prev; } }
class Invoice { constructor(i, prev) { this.no = i; this.paid = (i & 1) === 0; this.prev = prev; } }
class CacheEntry { constructor(i, prev) { this.key = null; this.hits = i % 31; this.prev = prev; } }
const CLASSES = [Order, Customer, Session, LineItem, Invoice, CacheEntry];
const PREFIXES = ['ord', 'cus', 'ses', 'itm', 'inv', 'key'];

// The known leak and the garbage.
class LeakedRecord { constructor(i) { this.seq = i; this.at = Date.now(); this.payload = `leaked-record-${i}-${Math.random().toString(36).slice(2)}`; } }
class TempBuffer { constructor(i) { this.seq = i; this.data = [i, i + 1, i + 2]; this.label = `tmp-${i}`; } }
const leakedRecords = [];
// Deliberately not on globalThis: the retainer path goes through the module's context.

function buildBase(units) {
  const keep = [];
  let chunk = [];
  let prev = null;
  for (let i = 0; i < units; i++) {
    const k = i % CLASSES.length;
    const obj = new CLASSES[k](i, (i & 15) === 0 ? null : prev);
    const s = PREFIXES[k] + i.toString(36);
    if (k === 1) obj.name = s;
    else if (k === 5) obj.key = s;
    else chunk.push(s);
    if ((i & 7) === 3) chunk.push('payload:' + PREFIXES[k] + ':' + i.toString(16) + ':' + 'x'.repeat(i & 15));
    if ((i & 3) === 1) chunk.push([i, s, obj]);
    if ((i & 15) === 5) { const v = i; chunk.push(() => v + 1); }
    if ((i & 63) === 9) chunk.push(new Map([[i, obj]]));
    if ((i & 31) === 17) chunk.push({ plain: i, tag: s });
    chunk.push(obj);
    prev = obj;
    if (chunk.length >= 8192) { keep.push(chunk); chunk = []; }
  }
  keep.push(chunk);
  return keep;
}

function child() {
  const [units, intervalMs] = [Number(process.argv[2]), Number(process.argv[3])];
  const outs = process.argv.slice(4, 7);
  if (!Number.isInteger(units) || !(intervalMs > 0) || outs.length !== 3) {
    console.error('usage: leak-series.mjs BASE_UNITS INTERVAL_MS OUT1 OUT2 OUT3');
    process.exit(2);
  }
  globalThis.__leakSeriesBase = buildBase(units);
  let seq = 0;
  let garbage = 0;
  let sink = 0;
  const tick = setInterval(() => {
    for (let j = 0; j < LEAK_PER_TICK; j++) leakedRecords.push(new LeakedRecord(seq++));
    for (let j = 0; j < GARBAGE_PER_TICK; j++) {
      const t = new TempBuffer(garbage++);
      sink += t.data.length + t.label.length; // used, then dropped
    }
  }, 5);
  const shots = [];
  let n = 0;
  const take = () => {
    const started = Date.now();
    v8.writeHeapSnapshot(outs[n]);
    shots.push({ file: outs[n], at: started, writeMs: Date.now() - started, leaked: leakedRecords.length, garbage });
    n++;
    if (n < 3) setTimeout(take, intervalMs);
    else {
      clearInterval(tick);
      const between12 = shots[1].leaked - shots[0].leaked;
      console.log(JSON.stringify({ units, intervalMs, sink, shots, leakedBetween1and2: between12, leakedAtS3: shots[2].leaked }));
    }
  };
  setTimeout(take, 100);
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  if (process.argv.length > 3) child();
  else {
    const s = ensureLeakSeries();
    for (let i = 0; i < 3; i++) console.log(`${s.files[i]}\t${s.bytes[i]}`);
  }
}
