// `npm run bench -- metrics`: what leakwatch's fleet metrics cost (issue 21), each part in a
// fresh child process of the Node running this:
//
// 1. A scrape at 100 series: rendering leakwatch's page (its families with 77 leak-site
//    series: 100 series, 126 sample lines with the histograms' buckets), against prom-client
//    rendering a registry of the same 100 series (one gauge, 100 label sets): CPU per scrape,
//    median of rounds, and the ratio.
// 2. A scrape end to end: the process serving LEAKWATCH_METRICS fetches its own /metrics
//    2,000 times; the baseline is the same process fetching a plain handler on the same
//    server library (node:http) as often. The difference is what a scrape costs the app.
// 3. The state over 10^6 full GCs (and as many sampler reads, and 1,000 site replacements):
//    time per update and the heap and RSS before and after: bounded, not growing.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LEAKWATCH = path.join(root, 'index.js');

function child(script, env = {}, execArgv = []) {
  const r = spawnSync(process.execPath, [...execArgv, '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', LW: LEAKWATCH, ROOT: root, ...env } });
  if (r.status !== 0) throw new Error(`bench child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const RENDER = `
  const native = require(process.env.ROOT + '/lib/shared/native');
  const client = require('prom-client');
  const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const m = new native.Metrics(77);
  m.observeGc({ tMs: Date.now(), baseline: 5e7, growthPerSec: 1e5, heapUsed: 5.2e7, heapLimit: 4e9, external: 3e6, arrayBuffers: 1e6, rss: 1.2e8, containerLimit: 2e9 });
  m.leakRaised('heap');
  for (let i = 0; i < 10; i++) { m.snapshotWritten(i / 3, 1e7); m.samplerRead(i / 1000); }
  m.setSites(Array.from({ length: 77 }, (_, i) => ({ function: 'handler' + i, location: '/srv/app/routes/r' + i + '.js:' + (10 + i), liveBytes: 1e5 * (i + 1) })));
  const page = m.render();
  const series = page.split('\\n').filter((l) => l && !l.startsWith('#') && !l.includes('_bucket') && !l.includes('_sum') && !l.includes('_count{') && !/_count /.test(l)).length + 2;
  const registry = new client.Registry();
  const gauge = new client.Gauge({ name: 'app_series', help: 'x', labelNames: ['function', 'location'], registers: [registry] });
  for (let i = 0; i < series; i++) gauge.set({ function: 'handler' + i, location: '/srv/app/routes/r' + i + '.js:' + (10 + i) }, i);
  const N = 2000;
  const time = async (fn) => { const c = process.cpuUsage(); for (let i = 0; i < N; i++) await fn(); const d = process.cpuUsage(c); return (d.user + d.system) / N; };
  const lw = [], pc = [];
  (async () => {
    for (let round = 0; round < 7; round++) {
      lw.push(await time(() => m.render()));
      pc.push(await time(() => registry.metrics()));
    }
    console.log(JSON.stringify({ series, lines: page.trim().split('\\n').filter((l) => !l.startsWith('#')).length, bytes: page.length, leakwatch: median(lw), promClient: median(pc) }));
  })();
`;

const END_TO_END = `
  const http = require('node:http');
  const lw = require(process.env.LW);
  const N = 2000;
  const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  lw.configure({ metrics: { port: 0, maxSites: 64 }, growthReport: false });
  const plain = http.createServer((req, res) => res.end('ok\\n')).listen(0, '127.0.0.1');
  const keep = [];
  for (let i = 0; i < 20000; i++) keep.push({ i, s: 'v' + i });
  lw.gc();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (port, route) => new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port, path: route, agent }, (res) => { let n = 0; res.on('data', (d) => (n += d.length)); res.on('end', () => resolve(n)); }).on('error', reject));
  setTimeout(async () => {
    const port = lw.exporter.address().port;
    const plainPort = plain.address().port;
    const run = async (p, route) => { const c = process.cpuUsage(); let bytes = 0; for (let i = 0; i < N; i++) bytes = await get(p, route); const d = process.cpuUsage(c); return { us: (d.user + d.system) / N, bytes }; };
    const a = [], b = [];
    let bytes = 0;
    for (let round = 0; round < 5; round++) {
      const m = await run(port, '/metrics');
      bytes = m.bytes;
      a.push(m.us);
      b.push((await run(plainPort, '/')).us);
    }
    console.log(JSON.stringify({ metrics: median(a), plain: median(b), bytes }));
    process.exit(0);
  }, 300);
`;

const STATE = `
  const { MetricsExporter } = require(process.env.ROOT + '/lib/agent/metrics');
  const sampler = { running: true, topSites: (n) => Array.from({ length: Math.min(n, 20) }, (_, j) => ({ functionName: 'f' + globalThis.round + '-' + j, location: 'a.js:' + j, liveBytes: j })) };
  const exporter = new MetricsExporter({ report: (e) => { throw e; }, sampler });
  exporter.setMaxSites(10);
  const stats = (i) => ({ estimated_base: 5e7 + i, usage_trend: 10, used_heap_size: 5e7 + i, heap_size_limit: 4e9, external: 1e6, array_buffers: 1e5, rss: 1e8 });
  const measure = () => { global.gc(); return { heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss }; };
  globalThis.round = 0;
  for (let i = 0; i < 10000; i++) { exporter.observe('stats', stats(i)); exporter.samplerRead(0.5); }
  exporter.families();
  const before = measure();
  const started = process.hrtime.bigint();
  const N = 1000000;
  for (let i = 0; i < N; i++) {
    exporter.observe('stats', stats(i));
    exporter.samplerRead(i % 7);
    if (i % 1000 === 0) { globalThis.round = i; exporter.refreshSites(); }
    if (i % 100000 === 0) exporter.observe('leak', { kind: 'heap' });
  }
  const ns = Number(process.hrtime.bigint() - started) / N;
  const after = measure();
  const series = exporter.families().reduce((n, f) => n + f.samples.length, 0);
  console.log(JSON.stringify({ ns, before, after, series }));
`;

const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
const load = os.loadavg()[0].toFixed(1);
console.log(`# Fleet metrics: the cost of a scrape and of the state\n\n\`npm run bench -- metrics\` (benches/metrics.bench.mjs), ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus()[0].model.trim()}, ${os.cpus().length} cores, load ${load}:\n`);
console.log('```');
const r = child(RENDER);
console.log(`1. Rendering a page of ${r.series} series (${r.lines} sample lines with histogram buckets, ${(r.bytes / 1024).toFixed(1)} KB), 7 rounds of 2,000, median CPU per scrape`);
console.log('| renderer | CPU per scrape | ratio |\n| --- | --- | --- |');
console.log(`| prom-client 15 registry.metrics(), same series (baseline) | ${r.promClient.toFixed(1)} µs | 1.00 |`);
console.log(`| leakwatch Metrics.render() | ${r.leakwatch.toFixed(1)} µs | ${(r.leakwatch / r.promClient).toFixed(2)} |`);
const e = child(END_TO_END);
console.log(`\n2. A scrape end to end (the app's CPU: node:http server and client in one process, keep-alive, 5 rounds of 2,000, median)`);
console.log('| request | CPU per request | ratio |\n| --- | --- | --- |');
console.log(`| a plain handler on node:http (baseline) | ${e.plain.toFixed(1)} µs | 1.00 |`);
console.log(`| leakwatch /metrics (${(e.bytes / 1024).toFixed(1)} KB) | ${e.metrics.toFixed(1)} µs | ${(e.metrics / e.plain).toFixed(2)} |`);
console.log(`| what a scrape adds | ${(e.metrics - e.plain).toFixed(1)} µs | |`);
const s = child(STATE, {}, ['--expose-gc']);
console.log(`\n3. The state over 10^6 full GCs, 10^6 sampler reads, 1,000 site replacements, 10 verdicts`);
console.log('| per update | heap before → after | RSS before → after | series at the end |\n| --- | --- | --- | --- |');
console.log(`| ${(s.ns / 1000).toFixed(2)} µs | ${mb(s.before.heap)} → ${mb(s.after.heap)} | ${mb(s.before.rss)} → ${mb(s.after.rss)} | ${s.series} |`);
console.log('```');
