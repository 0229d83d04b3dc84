// `npm run bench -- report`: report.html for a month-long run (issue 23).
//
// 1. A stats file of 300,000 records as the agent writes them (one process, a full GC every
//    8.6 s for 30 days, the fields of every `stats` record, two leak verdicts, one of them
//    withdrawn, snapshots and a memoryPressure report), generated once into
//    /tmp/leakwatch-bench/report/ (LEAKWATCH_BENCH_DIR).
// 2. `leakwatch report` builds the page from it, as its own process: wall time and peak RSS
//    (GNU time), the page's size. Medians of 3 runs.
// 3. The page opened from disk in headless Chromium (Debian's chromium; LEAKWATCH_CHROMIUM),
//    a fresh tab each of 5 rounds: from the navigation request to the load event, to the
//    page's own mark once its script has drawn the chart and the flame graph, and to the
//    second animation frame after that (painted). Then what a person does on it: zoom in
//    (a button), hover (the mouse moved over the chart), back to the whole run, each to the
//    next painted frame. Medians.
// 4. A typical run's page: `leakwatch demo` (20 s), its report.html's size and open time.
// Results in results/report.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runOnce, median } from './lib/measure.mjs';
import { BENCH_DIR } from './lib/snapshots.mjs';
import { size, table } from './lib/report.mjs';
import { Browser, findChromium } from '../__test__/browser.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(root, 'cli.js');
const RECORDS = 300_000;
const ROUNDS = 5;
const dir = path.join(BENCH_DIR, 'report');
const statsFile = path.join(dir, `month-${RECORDS}.jsonl`);

if (!findChromium()) {
  console.error('report bench: no Chromium (apt-get install -y chromium, or LEAKWATCH_CHROMIUM=/path/to/chrome)');
  process.exit(1);
}
fs.mkdirSync(dir, { recursive: true });

/** The month: every record the agent would write, streamed to the file. */
function generate(file) {
  const pid = 31337;
  const t0 = Date.UTC(2026, 10, 1);
  const every = (30 * 86400 * 1000) / RECORDS;
  const fd = fs.openSync(`${file}.tmp`, 'w');
  let chunk = [];
  const write = (record) => {
    chunk.push(JSON.stringify(record));
    if (chunk.length >= 5000) {
      fs.writeSync(fd, chunk.join('\n') + '\n');
      chunk = [];
    }
  };
  write({ event: 'start', t: t0, pid, argv: ['/srv/app/server.js'], node: 'v20.20.2', ppid: 1, execArgv: ['--max-old-space-size=4096'], nodeOptions: '--require leakwatch/register', leakwatch: '0.1.0', memoryLimit: 6 * 2 ** 30 });
  // The leak sites the sampler reports with a verdict (a flame graph of them is drawn).
  const frame = (functionName, file, line, kind) => ({ functionName, url: file, file, line, column: 3, kind, location: `${file}:${line}:3` });
  const handler = frame('handle', '/srv/app/routes/orders.js', 88, 'app');
  const timers = frame('processTimers', 'node:internal/timers', 504, 'internal');
  const stacks = [
    [frame('remember', '/srv/app/cache.js', 41, 'app'), handler, frame('emit', 'node:events', 517, 'internal'), timers],
    [frame('set', '/srv/app/node_modules/lru-cache/index.js', 920, 'dependency'), frame('remember', '/srv/app/cache.js', 41, 'app'), handler, timers],
    [frame('parse', '/srv/app/node_modules/fast-json/index.js', 12, 'dependency'), handler, timers],
    [frame('session', '/srv/app/auth.js', 19, 'app'), frame('(anonymous)', '/srv/app/server.js', 7, 'app'), timers],
  ];
  const sites = stacks.map((stack, i) => ({
    ...stack.find((f) => f.kind === 'app'),
    liveBytes: 9e7 / (i + 1),
    windowBytes: 6e7 / (i + 1),
    growthBytes: 6e7 / (i + 1),
    samples: 3000 / (i + 1),
    growing: i < 2,
    stack,
    folded: [],
  }));
  const events = new Map([
    [Math.floor(RECORDS * 0.33), { event: 'leak', id: 1, kind: 'heap', growth: 52e6, rate: 1200, reason: 'heap: allocations of the last 12h stay alive while newer ones keep adding up', sites }],
    [Math.floor(RECORDS * 0.4), { event: 'leakResolved', id: 1, kind: 'heap', reason: 'the cache reached its cap: allocations of the window are being freed' }],
    [Math.floor(RECORDS * 0.8), { event: 'leak', id: 2, kind: 'heap', growth: 310e6, rate: 800, reason: 'heap: allocations of the last 2d stay alive while newer ones keep adding up', sites }],
    [Math.floor(RECORDS * 0.9), { event: 'memoryPressure', resource: 'heap', level: 1, ratio: 0.66, used: 2.8e9, limit: 4.29e9, reason: 'heap at 66 % of its limit', memoryLimit: 6 * 2 ** 30 }],
  ]);
  for (let k = 1; k <= 4; k++) events.set(Math.floor(RECORDS * (0.8 + k * 0.04)), { event: 'snapshot', file: `/srv/out/heapdump-${pid}-x-${k}.heapsnapshot`, bytes: 3e9, durationMs: 41000, trigger: 'signal' });
  let scavenges = 0;
  for (let i = 0; i < RECORDS; i++) {
    const t = Math.round(t0 + 5000 + i * every);
    const day = i / (RECORDS / 30);
    const leak = i > RECORDS * 0.6 ? (i - RECORDS * 0.6) * 6000 : 0;
    const used = Math.round(1.1e9 + 3e8 * Math.sin(day * 2 * Math.PI) + (i % 97) * 1.3e6 + leak);
    scavenges += 40 + (i % 7);
    write({
      event: 'stats', t, pid, num_full_gc: i + 1, num_inc_gc: 3 * i, heap_compactions: i + 1, usage_trend: (i % 13) * 1000 - 6000, estimated_base: used - 2e7, current_base: used, min: 1.05e9, max: used + 1e8,
      gcScavengeCount: scavenges, gcScavengeTime: scavenges * 1.1e6, gcMarkSweepCompactCount: i + 1, gcMarkSweepCompactTime: (i + 1) * 2.1e8, gcIncrementalMarkingCount: i, gcIncrementalMarkingTime: i * 3e7,
      gcProcessWeakCallbacksCount: 0, gcProcessWeakCallbacksTime: 0, gc_time: 2.1e8 + (i % 11) * 1e6, total_heap_size: used + 2e8, total_heap_size_executable: 5242880, total_physical_size: used + 1.9e8,
      total_available_size: 4.29e9 - used, used_heap_size: used, heap_size_limit: 4345298944, malloced_memory: 1.5e6, peak_malloced_memory: 9e6, external: 4.2e7 + (i % 31) * 1e5, array_buffers: 1.1e7 + (i % 17) * 2e4,
      rss: used + 4.5e8 + (i % 53) * 1e6, forced: false, gc_ts: t * 1e3, timestamp: new Date(t).toISOString(),
    });
    const extra = events.get(i);
    if (extra) write({ ...extra, t: t + 1, pid, ...(extra.event === 'leak' ? { start: new Date(t - 864e5).toISOString(), end: new Date(t).toISOString() } : {}) });
  }
  if (chunk.length) fs.writeSync(fd, chunk.join('\n') + '\n');
  fs.closeSync(fd);
  fs.renameSync(`${file}.tmp`, file);
}

if (!fs.existsSync(statsFile)) {
  process.stderr.write(`generating ${statsFile} (${RECORDS.toLocaleString('en-US')} records)…\n`);
  generate(statsFile);
}
const statsBytes = fs.statSync(statsFile).size;
const lines = spawnSync('wc', ['-l', statsFile], { encoding: 'utf8' }).stdout.trim().split(/\s+/)[0];

// 2. Building the page.
const page = path.join(dir, 'month-report.html');
const builds = [];
for (let i = 0; i < 3; i++) {
  fs.rmSync(page, { force: true });
  const run = await runOnce(process.execPath, [CLI, 'report', statsFile, '-o', page], { env: { NODE_OPTIONS: '' } });
  if (!run.ok) throw new Error(`leakwatch report failed: ${run.stderr}`);
  builds.push(run);
  process.stderr.write(`build ${i + 1}: ${(run.wallMs / 1000).toFixed(2)} s, ${size(run.rssBytes)}\n`);
}
const pageBytes = fs.statSync(page).size;

// 3. and 4. In the browser.
const browser = await Browser.launch();
const painted = `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))`;
async function openRounds(file) {
  const rows = [];
  for (let round = 0; round < ROUNDS; round++) {
    const tab = await browser.newPage();
    const loadMs = await tab.open(file);
    const m = await tab.evaluate(`(async () => {
      const drawn = performance.getEntriesByName('leakwatch-report-drawn')[0];
      const paint = await ${painted};
      return { drawn: drawn ? drawn.startTime : NaN, painted: paint, buckets: Number(document.getElementById('chart').getAttribute('data-in-view')) };
    })()`);
    // Interactions, each until the next painted frame.
    const zoom = await tab.evaluate(`(async () => { const t = performance.now(); document.getElementById('zoom-in').click(); await ${painted}; return performance.now() - t; })()`);
    const box = await tab.evaluate(`(() => { const c = document.getElementById('chart'); c.scrollIntoView(); const b = c.getBoundingClientRect(); return { x: b.left + b.width / 2, y: b.top + 120 }; })()`);
    await tab.evaluate(`(window.__lwHover = performance.now(), true)`);
    await tab.mouseMove(box.x, box.y);
    const hover = await tab.evaluate(`(async () => { await ${painted}; return performance.now() - window.__lwHover; })()`);
    const whole = await tab.evaluate(`(async () => { const t = performance.now(); document.getElementById('zoom-reset').click(); await ${painted}; return performance.now() - t; })()`);
    if (tab.errors.length) throw new Error(`page errors: ${tab.errors.join('\n')}`);
    rows.push({ loadMs, drawnMs: m.drawn, paintedMs: m.painted, buckets: m.buckets, zoom, hover, whole });
    await tab.close();
  }
  const med = (key) => median(rows.map((r) => r[key]));
  return { rows, loadMs: med('loadMs'), drawnMs: med('drawnMs'), paintedMs: med('paintedMs'), zoom: med('zoom'), hover: med('hover'), whole: med('whole'), buckets: rows[0].buckets };
}
const month = await openRounds(page);

process.stderr.write('running leakwatch demo for the typical page (20 s)…\n');
const demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-report-bench-demo-'));
const demo = spawnSync(process.execPath, [CLI, 'demo', '--out', demoDir], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
if (demo.status !== 0) throw new Error(`demo failed: ${demo.stderr}`);
const demoPage = path.join(demoDir, 'report.html');
const demoBytes = fs.statSync(demoPage).size;
const typical = await openRounds(demoPage);
await browser.close();
fs.rmSync(demoDir, { recursive: true, force: true });

const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : '—');
const cpu = os.cpus();
const out = `# report.html: building a month-long run's page, and opening it in a browser

\`npm run bench -- report\` (benches/report.bench.mjs), ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${browser.version.product} (headless), ${cpu[0].model.replace(/\s+/g, ' ').trim()}, ${cpu.length} cores, load ${os.loadavg()[0].toFixed(1)}:

\`\`\`
1. The input: one process's stats file, 30 days of full GCs as the agent writes them
| records | size | full-GC samples | verdicts | snapshots |
| --- | --- | --- | --- | --- |
| ${Number(lines).toLocaleString('en-US')} | ${size(statsBytes)} | ${RECORDS.toLocaleString('en-US')} | 2 (1 withdrawn) | 4 |

2. leakwatch report stats.jsonl -o report.html (a process; medians of 3)
| wall | peak RSS | page size | embedded timeline |
| --- | --- | --- | --- |
| ${ms(median(builds.map((b) => b.wallMs)))} | ${size(median(builds.map((b) => b.rssBytes)))} | ${size(pageBytes)} | ${month.buckets.toLocaleString('en-US')} buckets (min/max per 1/10,000 of the run) |

3. Opening the page from disk in headless Chromium (fresh tab, 1280x900; medians of ${ROUNDS})
| page | size | request → load event | → chart and flame graph drawn | → painted | zoom in | hover | whole run again |
| --- | --- | --- | --- | --- | --- | --- | --- |
| 30 days, ${RECORDS.toLocaleString('en-US')} samples | ${size(pageBytes)} | ${ms(month.loadMs)} | ${ms(month.drawnMs)} | ${ms(month.paintedMs)} | ${ms(month.zoom)} | ${ms(month.hover)} | ${ms(month.whole)} |
| leakwatch demo (20 s, 3 snapshots) | ${size(demoBytes)} | ${ms(typical.loadMs)} | ${ms(typical.drawnMs)} | ${ms(typical.paintedMs)} | ${ms(typical.zoom)} | ${ms(typical.hover)} | ${ms(typical.whole)} |
\`\`\`

"drawn" and "painted" count from the start of the navigation (the page's own
performance mark once its script has drawn both, and the second animation frame after
it); the interactions run from the click, or from just before the DevTools protocol's
mouse event (its round trip included), to the second animation frame after it. The
month's page is drawn from the lowest and highest value of each series per bucket, and
the chart keeps the lowest and highest of each pixel column of what is in view.
`;
fs.mkdirSync(path.join(root, 'benches', 'results'), { recursive: true });
fs.writeFileSync(path.join(root, 'benches', 'results', 'report.md'), out);
process.stdout.write(out);
process.stdout.write(`\n${table(['round', 'load', 'drawn', 'painted', 'zoom', 'hover', 'whole'], month.rows.map((r, i) => [i + 1, ms(r.loadMs), ms(r.drawnMs), ms(r.paintedMs), ms(r.zoom), ms(r.hover), ms(r.whole)]))}\n`);
