// The stats file's schema (lib/shared/records.js): the agent's constructors write every field
// of each event, in the order the agent always wrote them (a line is `{event, t, pid,
// ...event}`, as before the schema existed), and the CLI's typed reader gives them back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const records = require('../lib/shared/records.js');
const native = require('../lib/shared/native.js');
const { GcMonitor } = require('../lib/agent/monitor.js');
const { Snapshots } = require('../lib/agent/snapshots.js');
const { PressureGuard } = require('../lib/agent/pressure.js');

const HEADER = { t: 1767225600000, pid: 4242 };
/** The line as the agent wrote it before the schema: the header, then the whole event. */
const legacy = (event, payload) => JSON.stringify({ event, ...HEADER, ...payload });
const line = (record) => JSON.stringify(record);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-records-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

/** The events a GcMonitor emits for one full GC, its native part answering `leaks` and `resolutions`. */
function monitorEvents({ leaks = [], resolutions = [] } = {}) {
  const events = [];
  const monitor = new GcMonitor({ emit: (event, payload) => events.push([event, payload]), report: (error) => assert.fail(error), options: {} });
  if (leaks.length || resolutions.length) {
    const real = monitor.native;
    monitor.native = {
      recordFullGc: (...args) => ({ stats: real.recordFullGc(...args).stats, leaks }),
      takeResolutions: () => resolutions,
    };
  }
  monitor.onFullGc({ duration: 1.5, detail: { flags: 0 } });
  return events;
}

test('stats: every field of the event, in its order', () => {
  const [[event, stats]] = monitorEvents();
  assert.equal(event, 'stats');
  assert.equal(line(records.stats(stats, HEADER)), legacy('stats', stats));
  assert.equal(line(records.create('stats', stats, HEADER)), legacy('stats', stats));
});

test('leak and leakResolved: every field of the events, in their order', () => {
  // The binding's MonitorLeak and MonitorResolution, every field set.
  const leak = {
    id: 3,
    kind: 'heap',
    startMs: 1000,
    endMs: 9000,
    growth: 5e6,
    rate: 6e5,
    windowMs: 8000,
    samples: 9,
    forcedGcs: 1,
    baselineStart: 2e7,
    baselineEnd: 2.5e7,
    evidence: { rule: 'adaptive', signals: ['survival'], survival: { readingAtMs: 9000, cohorts: 4, retainedBytes: 4e6, oldRetention: 0.9, recentBytes: 1e6, olderLostBytes: 0 } },
    reason: 'sampled allocations survive',
  };
  const resolution = {
    id: 3,
    kind: 'heap',
    raisedMs: 9000,
    resolvedMs: 20000,
    plateauBytes: 2.6e7,
    stoppedMs: 12000,
    freedShare: 0.5,
    trailingRate: 0,
    trailingWindowMs: 8000,
    fillMs: 3000,
    nextRequiredMs: 4500,
    fillBytes: 1e6,
    nextOutgrowBytes: 2e6,
    reason: 'the heap stopped growing',
  };
  const events = new Map(monitorEvents({ leaks: [leak], resolutions: [resolution] }));
  const raised = { ...events.get('leak'), sites: [{ functionName: 'grow', location: 'app.js:1:1', stack: [] }] }; // the verdict's sites (the core attaches them)
  assert.equal(line(records.leak(raised, HEADER)), legacy('leak', raised));
  assert.equal(line(records.leakResolved(events.get('leakResolved'), HEADER)), legacy('leakResolved', events.get('leakResolved')));
});

test('snapshot and growth: the fields of the events (growth without its diff)', async () => {
  const events = [];
  const config = { checkResources: false, busyReportAfterMs: 600000, maxSnapshots: 0, growthReport: false };
  const snapshots = new Snapshots({ emit: (event, payload) => events.push([event, payload]), report: (error) => assert.fail(error), config: () => config });
  snapshots.write(path.join(dir, 'a.heapsnapshot'), 'api');
  snapshots.write(path.join(dir, 'b.heapsnapshot'), 'api');
  await snapshots.growthQueue;
  const [first] = events.filter(([event]) => event === 'snapshot').map(([, payload]) => payload);
  assert.equal(line(records.snapshot(first, HEADER)), legacy('snapshot', first));
  // With what index.js adds when the sampler runs.
  const sampled = { ...first, profile: path.join(dir, 'a.heapprofile'), sites: [] };
  assert.equal(line(records.snapshot(sampled, HEADER)), legacy('snapshot', sampled));
  // The watchdog's: the same fields (its order puts completedAt after the trigger now).
  const { completedAt, ...info } = first;
  const watchdog = { ...info, pauseMs: 3, completedAt, trigger: 'signal', viaInspector: true };
  assert.deepEqual(JSON.parse(line(records.snapshot(watchdog, HEADER))), JSON.parse(legacy('snapshot', watchdog)));

  const [[, growth]] = events.filter(([event]) => event === 'growth');
  assert.ok(growth.diff && growth.topByCount, 'the event has its diff');
  assert.equal(line(records.growth(growth, HEADER)), JSON.stringify({ event: 'growth', ...HEADER, file: growth.file, previous: growth.previous, topBySize: growth.topBySize }));
});

test('memoryPressure: the level the core reports, then what the guard wrote', () => {
  const level = (() => {
    const guard = new native.PressureGuard();
    for (let i = 0; i < 20; i++) {
      const reached = guard.observeHeap(i * 1000, 40e6 + i * 5e6, 100e6);
      if (reached) return reached;
    }
  })();
  assert.ok(level && level.timeToLimitMs > 0, 'a growing heap: the level has its time to the limit');
  const events = [];
  const guard = new PressureGuard({
    emit: (event, payload) => events.push(payload),
    report: (error) => assert.fail(error),
    config: () => ({ snapshotDir: dir, snapshotOnPressure: false }),
    sampler: { running: false, route: null, topSites: () => [] },
    context: () => ({ stats: null, leaks: [] }),
    snapshot: () => null,
  });
  guard.handle(level, null);
  const [event] = events;
  assert.equal(event.pid, process.pid);
  const header = { ...HEADER, pid: process.pid };
  assert.equal(line(records.memoryPressure(event, header)), JSON.stringify({ event: 'memoryPressure', ...header, ...event }));
  // A level without a time to the limit (the heap is not growing) has no such field.
  const flat = { ...level };
  delete flat.timeToLimitMs;
  const still = { ...flat, heapLimit: 1, memoryLimit: 0, at: new Date(0), pid: process.pid, sites: [], leaks: 0, files: {}, snapshot: null, snapshotSkipped: 'off' };
  assert.equal(line(records.memoryPressure(still, header)), JSON.stringify({ event: 'memoryPressure', ...header, ...still }));
});

test('start and error: the fields the agent always wrote', () => {
  const start = records.start({ leakwatch: '9.9.9', memoryLimit: 0 }, HEADER);
  assert.equal(
    line(start),
    legacy('start', { argv: process.argv.slice(1), node: process.version, ppid: process.ppid, execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS || '', leakwatch: '9.9.9', memoryLimit: 0 }),
  );
  const failure = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
  assert.equal(line(records.error(failure, HEADER)), legacy('error', { message: 'disk full', code: 'ENOSPC' }));
  assert.equal(line(records.create('error', 'plain', HEADER)), legacy('error', { message: 'plain', code: undefined }));
  // Without a header: now, this process.
  const before = Date.now();
  const now = records.error(failure);
  assert.ok(now.t >= before && now.t <= Date.now());
  assert.equal(now.pid, process.pid);
});

test('create() knows exactly the kinds of the schema', () => {
  assert.deepEqual([...records.KINDS].sort(), ['error', 'growth', 'leak', 'leakResolved', 'memoryPressure', 'snapshot', 'start', 'stats']);
  for (const kind of records.KINDS) assert.equal(records.create(kind, {}, HEADER).event, kind);
  for (const kind of ['newListener', 'constructor', '__proto__', 'toString']) assert.equal(records.create(kind, {}, HEADER), null);
});

test('read(): the typed view, fields under their camelCase names, null where the type is wrong', () => {
  const [[, stats]] = monitorEvents();
  const view = records.read(JSON.parse(line(records.stats(stats, HEADER))));
  assert.equal(view.event, 'stats');
  assert.equal(view.t, HEADER.t);
  assert.equal(view.pid, HEADER.pid);
  assert.equal(view.usedHeapSize, stats.used_heap_size);
  assert.equal(view.arrayBuffers, stats.array_buffers);
  assert.equal(view.estimatedBase, stats.estimated_base);
  assert.equal(view.forced, false);
  assert.equal(view.timestamp, stats.timestamp.toISOString());
  for (const field of Object.keys(records.SCHEMA.stats)) assert.ok(records.viewName(field) in view, field);
  // As a plain object: every field, typed.
  const plain = view.toJSON();
  assert.deepEqual(Object.keys(plain), ['event', 't', 'pid', ...Object.keys(records.SCHEMA.stats).map(records.viewName)]);
  assert.equal(plain.usedHeapSize, stats.used_heap_size);
  assert.equal(JSON.stringify(view), JSON.stringify(plain));

  // A line as text; a record of an older or hand-made file, with fields missing or mistyped.
  const leak = records.read(JSON.stringify({ event: 'leak', t: 5, pid: 7, kind: 'heap', growth: 'lots', id: 1.5, sites: {}, evidence: [] }));
  assert.deepEqual(
    { kind: leak.kind, growth: leak.growth, id: leak.id, sites: leak.sites, evidence: leak.evidence, reason: leak.reason, start: leak.start },
    { kind: 'heap', growth: null, id: null, sites: null, evidence: null, reason: null, start: null },
  );
  assert.deepEqual(records.read({ event: 'stats', t: Infinity, pid: '7' }).t, null);
  assert.deepEqual(records.read({ event: 'stats', t: Infinity, pid: '7' }).pid, null);
  // A kind this version does not know: the header only.
  assert.deepEqual(records.read({ event: 'constructor', t: 1, pid: 2, x: 3 }).toJSON(), { event: 'constructor', t: 1, pid: 2 });
  assert.deepEqual(records.read({ event: '__proto__', t: 1, pid: 2 }).toJSON(), { event: '__proto__', t: 1, pid: 2 });
  assert.equal(records.read({ event: 'constructor', t: 1, pid: 2, x: 3 }).x, undefined);
  // Not records.
  for (const bad of ['not json', '[1]', 'null', '{"t":1}', '{"event":3}', null, 42]) assert.equal(records.read(bad), null, String(bad));
});

test('a record written and read back through the file', () => {
  const file = path.join(dir, 'stats.jsonl');
  records.createRecordFile(file);
  const writer = new records.RecordWriter(file);
  const [[, stats]] = monitorEvents();
  writer.append(records.start({ leakwatch: '1.0.0', memoryLimit: 0 }));
  writer.append(records.stats(stats));
  writer.close();
  const seen = [];
  const totals = records.readRecords(file, (raw) => seen.push(records.read(raw)));
  assert.deepEqual(totals, { records: 2, skipped: 0 });
  assert.deepEqual(
    seen.map((r) => [r.event, r.pid]),
    [
      ['start', process.pid],
      ['stats', process.pid],
    ],
  );
  assert.equal(seen[0].leakwatch, '1.0.0');
  assert.deepEqual(seen[0].argv, process.argv.slice(1));
  assert.equal(seen[1].usedHeapSize, stats.used_heap_size);
});
