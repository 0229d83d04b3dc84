// The native sampler (src/v8_sampling.rs, lib/agent/native-sampling.js): V8's sampling heap
// profiler read without a forced GC, on the real V8 of the Node that runs the test (the
// matrix runs it on 22, 24 and 26 too). The self-check passes here; reads find a known
// function at the same location as the inspector does; no read collects; a bare 'leak'
// listener turns sampling on natively; and a process with a heap of ~40 MB is never
// collected by leakwatch, while a leak in it is still found after V8's own full GCs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { root } from './helpers.mjs';

const require = createRequire(import.meta.url);

/** Runs `code` in a fresh node; resolves its JSON lines. */
function run(code, { timeoutMs = 90000, args = [] } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, '-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (status !== 0) return reject(new Error(`exit ${status}: ${err}`));
      resolve(out.split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    });
  });
}

test('the self-check passes on this Node and reads never collect', async () => {
  const [r] = await run(`
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    const { Sampler } = require('./lib/agent/sampler.js');
    let majors = 0;
    const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; });
    obs.observe({ entryTypes: ['gc'] });
    const warnings = [];
    const sampler = new Sampler({ report: (e) => warnings.push(e.code), options: { interval: 4096, readPeriodMs: 3600000 } });
    sampler.start();
    const kept = [];
    function keepRecords(n) { for (let i = 0; i < n; i++) kept.push({ i, text: 'record-' + i }); }
    const readings = [];
    // Everything allocated is kept: each read is as exact as after a full GC ('settled').
    for (let k = 0; k < 5; k++) { keepRecords(20000); readings.push(sampler.read({ settled: true })); }
    setTimeout(() => {
      const sites = sampler.ranking({ limit: 0, all: true }).sites;
      console.log(JSON.stringify({ route: sampler.stats.route, reads: sampler.stats.reads, majors, warnings,
        top: sites[0] && { name: sites[0].functionName, location: sites[0].location, live: sites[0].liveBytes },
        cohorts: readings[4].cohorts.length, maxReadMs: sampler.stats.maxReadMs }));
      sampler.stop();
      obs.disconnect();
    }, 200);
  `);
  assert.equal(r.route, 'native', JSON.stringify(r));
  assert.deepEqual(r.warnings, []);
  assert.equal(r.reads, 5);
  assert.equal(r.majors, 0, 'a native read must not collect');
  assert.equal(r.cohorts, 5);
  assert.equal(r.top.name, 'keepRecords');
  assert.match(r.top.location, /\[eval\]:\d+:\d+$|:\d+:\d+$/);
  // 100,000 small records kept: some MB estimated from the samples.
  assert.ok(r.top.live > 2e6, JSON.stringify(r.top));
});

test('native and inspector reads name the same function at the same location', async () => {
  const lines = await run(`
    const { Sampler } = require('./lib/agent/sampler.js');
    const kept = [];
    function allocateHere(n) { for (let i = 0; i < n; i++) kept.push({ i, text: 'x' + i }); }
    for (const route of ['inspector', 'auto']) {
      const sampler = new Sampler({ options: { interval: 4096, readPeriodMs: 3600000, route } });
      sampler.start();
      allocateHere(30000);
      sampler.read({ settled: true });
      const site = sampler.ranking({ limit: 0, all: true }).sites.find((s) => s.functionName === 'allocateHere');
      console.log(JSON.stringify({ route: sampler.stats.route, location: site && site.location, stack: site && site.stack.slice(0, 2).map((f) => f.functionName + '@' + f.location) }));
      sampler.stop();
    }
  `);
  assert.equal(lines[0].route, 'inspector');
  assert.equal(lines[1].route, 'native');
  assert.ok(lines[0].location, JSON.stringify(lines));
  assert.equal(lines[1].location, lines[0].location);
  assert.deepEqual(lines[1].stack, lines[0].stack);
});

test("a bare 'leak' listener samples natively; sampling: false or no listener does not", async () => {
  const [r] = await run(`
    const leakwatch = require('./index.js');
    const before = leakwatch.sampler.running;
    const listener = () => {};
    leakwatch.on('leak', listener);
    const withListener = { running: leakwatch.sampler.running, route: leakwatch.sampler.stats.route, monitor: leakwatch.monitor.running };
    leakwatch.off('leak', listener);
    const removed = leakwatch.sampler.running;
    leakwatch.configure({ sampling: false });
    leakwatch.on('leak', listener);
    const optedOut = leakwatch.sampler.running;
    leakwatch.stop();
    console.log(JSON.stringify({ before, withListener, removed, optedOut }));
  `);
  assert.deepEqual(r, { before: false, withListener: { running: true, route: 'native', monitor: true }, removed: false, optedOut: false });
});

test("on a 40 MB heap leakwatch never forces a GC, and still finds a leak and its site after V8's own full GCs", { timeout: 200000 }, async (t) => {
  const lines = await run(
    `
    const v8 = require('node:v8');
    const { PerformanceObserver, constants } = require('node:perf_hooks');
    const leakwatch = require('./index.js');
    const forced = [];
    let naturals = 0;
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) {
        if (e.detail.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
        if (e.detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) forced.push(e.duration); else naturals++;
      }
    }).observe({ entryTypes: ['gc'] });
    // A service's records, and the last 2 s of its requests in a ring buffer (~2 MB/s that
    // lives long enough to be promoted, then dies: what makes V8 run its own full GCs), and
    // a leak of ~1 MB/s in rememberSession.
    const records = new Map();
    globalThis.records = records;
    const makeRecord = (id) => ({ id, name: 'user-' + id, tags: [id % 7, id % 13] });
    let ids = 0;
    while (v8.getHeapStatistics().used_heap_size < 40 * 1048576) { records.set(ids, makeRecord(ids)); ids++; }
    const started = Date.now();
    let verdict = null;
    leakwatch.on('leak', (leak) => { verdict = verdict || { atMs: Date.now() - started, kind: leak.kind, sites: leak.sites.map((s) => s.folded.join(' < ')) }; });
    const sessions = [];
    // Big enough not to be inlined into its caller (V8 reports inlined code as the caller:
    // more than ~460 bytes of bytecode, like __test__/fixtures/sampling/app.cjs).
    function rememberSession(i) {
      const request = { id: i, at: Date.now(), method: i % 3 ? 'get' : 'post', url: '/items/' + i + '?q=' + (i % 97), headers: { Host: 'example', 'User-Agent': 'test', 'X-Id': String(i), Cookie: 'a=1; b=2' } };
      const headers = {};
      for (const [name, value] of Object.entries(request.headers)) {
        const key = name.toLowerCase().trim();
        if (key.startsWith('x-') || key === 'host' || key === 'user-agent') headers[key] = String(value).slice(0, 200);
        else if (key === 'cookie') headers.cookie = String(value).split(';').map((c) => c.trim().split('=')[0]).join(',');
      }
      const session = { id: request.id, at: request.at, method: request.method.toUpperCase(), url: request.url, headers, payload: new Array(250).fill(i) };
      if (session.url.length > 2048) session.url = session.url.slice(0, 2048);
      if (session.method !== 'GET' && session.method !== 'POST') session.method = 'OTHER';
      if (!Number.isFinite(session.at) || session.payload.length !== 250) throw new Error('bad session');
      sessions.push(session);
      return sessions.length;
    }
    const recent = new Array(4000);
    let i = 0;
    let r = 0;
    const timer = setInterval(() => {
      for (let k = 0; k < 4; k++) rememberSession(i++);
      for (let k = 0; k < 20; k++) recent[r++ % recent.length] = { at: Date.now(), body: new Array(120).fill(r) };
      for (let k = 0; k < 4; k++) { const id = Math.floor(Math.random() * ids); records.set(id, makeRecord(id)); }
      if (verdict || Date.now() - started > 150000) {
        clearInterval(timer);
        console.log(JSON.stringify({ verdict, forced, naturals, reads: leakwatch.sampler.stats.reads, route: leakwatch.sampler.stats.route }));
        leakwatch.stop();
      }
    }, 10);
  `,
    { timeoutMs: 190000 },
  );
  const r = lines[0];
  t.diagnostic(JSON.stringify(r));
  assert.equal(r.route, 'native');
  assert.deepEqual(r.forced, [], 'leakwatch forced a full GC on a 40 MB heap');
  assert.ok(r.verdict, `no verdict in 150 s (${r.naturals} natural full GCs, ${r.reads} reads)`);
  assert.equal(r.verdict.kind, 'heap');
  assert.match(r.verdict.sites[0], /^rememberSession /, JSON.stringify(r.verdict.sites));
});

test('a process that exits with the native sampler still running exits cleanly (V8 13.6 crashed in its teardown)', async () => {
  // run() rejects on any exit status but 0 (Node 24 died of SIGSEGV or SIGABRT here).
  const lines = await run(`
    const leakwatch = require('./index.js');
    leakwatch.on('leak', () => {});
    const kept = [];
    for (let i = 0; i < 50000; i++) kept.push({ i });
    console.log(JSON.stringify({ route: leakwatch.sampler.stats.route, running: leakwatch.sampler.running }));
  `);
  assert.deepEqual(lines, [{ route: 'native', running: true }]);
});

test('the native route can be refused: route inspector is honoured, and bad routes are rejected', () => {
  const { validateOptions } = require('../lib/agent/sampler.js');
  assert.equal(validateOptions({ route: 'native' }).route, 'native');
  assert.throws(() => validateOptions({ route: 'fast' }), /route must be one of 'auto', 'native', 'inspector'/);
});
