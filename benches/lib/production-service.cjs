'use strict';
// The service of benches/production.bench.mjs: an HTTP server on loopback with a large,
// stable live heap of small objects (records in a Map), slowly replaced, and some garbage
// per request. Environment:
//   HEAP_MB        live heap to build (records of ~200 bytes)
//   LW_MODE        none | memwatch (require('leakwatch').on('leak')) | register
//                  (require('leakwatch/register'): detection + sampling) | register-inspector
//                  (the same, with the sampler on the old inspector route)
//   LEAK_AT_MS     from this long after ready, each request also keeps LEAK_BYTES (default
//                  5 KB: 1 MB/s at 200 requests/s) in `rememberSession`
//   REPLACE_PER_REQ records replaced per request (default: 0.1 % of the records per second at
//                  200 requests/s)
// Prints JSON lines: {ready}, {leak} for each verdict, and on 'report\n' from stdin its
// figures: CPU time, peak RSS, sampler reads and their pauses, full GCs.
const http = require('node:http');
const v8 = require('node:v8');
const { performance, PerformanceObserver, constants } = require('node:perf_hooks');

const mode = process.env.LW_MODE || 'none';
const HEAP_MB = Number(process.env.HEAP_MB || 200);
const LEAK_AT_MS = process.env.LEAK_AT_MS ? Number(process.env.LEAK_AT_MS) : Infinity;
const LEAK_BYTES = Number(process.env.LEAK_BYTES || 5000);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

let leakwatch = null;
if (mode === 'memwatch') {
  leakwatch = require('../../index.js');
} else if (mode === 'register' || mode === 'register-inspector') {
  if (mode === 'register-inspector') process.env.LEAKWATCH_OPTIONS = JSON.stringify({ sampling: { route: 'inspector' } });
  process.env.LEAKWATCH_QUIET = '1';
  leakwatch = require('../../register.js');
}
let readyAt = Infinity;
if (leakwatch) {
  leakwatch.on('leak', (leak) => {
    const site = (leak.sites || [])[0];
    out({ leak: { atMs: performance.now() - readyAt, kind: leak.kind, reason: leak.reason, site: site ? `${site.functionName} ${site.location}` : null } });
  });
  leakwatch.on('error', (error) => out({ error: error.message, code: error.code }));
  if (process.env.LW_DEBUG) leakwatch.on('stats', (s) => out({ gc: { atMs: performance.now() - readyAt, heapMB: s.used_heap_size / 1048576, forced: s.forced, reads: leakwatch.sampler.stats.reads } }));
}

// Full GCs and their pauses, whoever caused them.
const gcs = { major: 0, majorMs: 0, maxMajorMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if ((e.detail ? e.detail.kind : e.kind) !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
    gcs.major += 1;
    gcs.majorMs += e.duration;
    gcs.maxMajorMs = Math.max(gcs.maxMajorMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });

// The live heap: records of ~200 bytes each.
const records = new Map();
let nextId = 0;
function makeRecord(id) {
  return { id, name: `user-${id}`, email: `u${id}@example.com`, tags: [id % 7, id % 13, id % 29], score: id * 0.5, updated: 0 };
}
const built = performance.now();
while (v8.getHeapStatistics().used_heap_size < HEAP_MB * 1024 * 1024) {
  for (let k = 0; k < 10000; k++) {
    records.set(nextId, makeRecord(nextId));
    nextId += 1;
  }
}
const RECORDS = records.size;
const REPLACE_PER_REQ = Number(process.env.REPLACE_PER_REQ || Math.max(1, Math.round((RECORDS * 0.001) / 200)));

function replaceRecords() {
  for (let k = 0; k < REPLACE_PER_REQ; k++) {
    const id = Math.floor(Math.random() * RECORDS);
    records.set(id, makeRecord(id));
  }
}

const sessions = [];
function rememberSession(request, index) {
  // The leak, when on: LEAK_BYTES kept per request, forever. An array of its own (8 bytes
  // an element): a repeated string would be shared by V8. The header work keeps the
  // function big enough not to be inlined into the handler (V8 would then name the
  // handler as the site: it counts inlined code as its caller).
  const headers = {};
  for (const [name, value] of Object.entries(request.headers)) {
    const key = name.toLowerCase().trim();
    if (key.startsWith('x-') || key === 'host' || key === 'user-agent') headers[key] = String(value).slice(0, 200);
    else if (key === 'cookie') headers.cookie = String(value).split(';').map((c) => c.trim().split('=')[0]).join(',');
  }
  const entry = { url: request.url, at: Date.now(), index, method: String(request.method).toUpperCase(), headers, payload: new Array(Math.max(1, Math.round((LEAK_BYTES - 400) / 8))).fill(index) };
  if (entry.url.length > 2048) entry.url = entry.url.slice(0, 2048);
  if (entry.method !== 'GET' && entry.method !== 'POST') entry.method = 'OTHER';
  if (!Number.isFinite(entry.at) || entry.payload.length === 0) throw new Error('bad session');
  sessions.push(entry);
  return sessions.length;
}

function render(request) {
  // ~20 KB of short-lived garbage per request.
  const rows = [];
  for (let k = 0; k < 100; k++) rows.push({ k, text: `${request.url}:${k}`, cells: [k, k * 2, k * 3] });
  return JSON.stringify({ ok: true, n: rows.length, first: rows[0].text }).length;
}

let served = 0;
const server = http.createServer((req, res) => {
  served += 1;
  replaceRecords();
  if (performance.now() - readyAt >= LEAK_AT_MS) rememberSession(req, served);
  const body = String(render(req));
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;

process.stdin.on('data', (chunk) => {
  if (!String(chunk).includes('report')) return;
  const usage = process.resourceUsage();
  out({
    report: {
      served,
      cpuUserMs: usage.userCPUTime / 1000,
      cpuSystemMs: usage.systemCPUTime / 1000,
      maxRssMB: usage.maxRSS / 1024,
      heapMB: v8.getHeapStatistics().used_heap_size / 1048576,
      gcs,
      sampler: leakwatch ? { ...leakwatch.sampler.stats } : null,
    },
  });
});

server.listen(0, '127.0.0.1', () => {
  readyAt = performance.now();
  out({ ready: { port: server.address().port, records: RECORDS, buildMs: readyAt - built, heapMB: v8.getHeapStatistics().used_heap_size / 1048576, replacePerRequest: REPLACE_PER_REQ } });
});
