// memwatch / @airbnb/node-memwatch compatibility through the public API: the expectations
// of @airbnb/node-memwatch's own test suite (main.test.js), plus what leakwatch adds
// (64-bit-safe stats, no observer without listeners, throwing listeners contained,
// HeapDiff leaves no temporary files, endAsync, ESM import).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import leakwatchEsm, { HeapDiff as EsmHeapDiff, gc as esmGc } from '../index.mjs';

const require = createRequire(import.meta.url);
const leakwatch = require('../index.js');

const STATS_FIELDS = [
  // memwatch / memwatch-next
  'num_full_gc', 'num_inc_gc', 'heap_compactions', 'usage_trend', 'estimated_base', 'current_base', 'min', 'max',
  // @airbnb/node-memwatch
  'gc_ts', 'gcScavengeCount', 'gcScavengeTime', 'gcMarkSweepCompactCount', 'gcMarkSweepCompactTime',
  'gcIncrementalMarkingCount', 'gcIncrementalMarkingTime', 'gcProcessWeakCallbacksCount', 'gcProcessWeakCallbacksTime',
  'total_heap_size', 'total_heap_size_executable', 'total_physical_size', 'total_available_size', 'used_heap_size',
  'heap_size_limit', 'malloced_memory', 'peak_malloced_memory', 'gc_time',
  // leakwatch
  'external', 'array_buffers', 'rss',
];

const nextStats = () => new Promise((resolve) => leakwatch.once('stats', resolve));
const heapDiffDirs = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('leakwatch-heapdiff-'));

test('no listener, no GC observer', () => {
  assert.equal(leakwatch.listenerCount('stats') + leakwatch.listenerCount('leak'), 0);
  assert.equal(leakwatch.monitor.running, false);
});

test('the library exports memwatch functions (gc, HeapDiff, on, once, removeAllListeners …)', () => {
  for (const name of ['gc', 'HeapDiff', 'on', 'once', 'removeAllListeners', 'removeListener', 'emit', 'addListener']) {
    assert.equal(typeof leakwatch[name], 'function', name);
  }
  assert.ok(leakwatch instanceof (require('node:events')));
});

test('ESM default import is the same emitter', () => {
  assert.equal(leakwatchEsm, leakwatch);
  assert.equal(EsmHeapDiff, leakwatch.HeapDiff);
  assert.equal(typeof esmGc, 'function');
});

test('gc() causes a stats event with every memwatch field as a finite number', async () => {
  const stats = nextStats();
  leakwatch.gc();
  const s = await stats;
  assert.equal(typeof s, 'object');
  for (const field of STATS_FIELDS) {
    assert.equal(typeof s[field], 'number', `${field}: ${s[field]}`);
    assert.ok(Number.isFinite(s[field]), `${field}: ${s[field]}`);
  }
  // Non-negative where memwatch's unsigned counters wrapped; only usage_trend is signed.
  for (const field of STATS_FIELDS.filter((f) => f !== 'usage_trend')) assert.ok(s[field] >= 0, `${field}: ${s[field]}`);
  assert.ok(s.num_full_gc >= 1 && s.gcMarkSweepCompactCount >= 1);
  assert.ok(s.heap_size_limit > s.used_heap_size && s.used_heap_size > 0);
  assert.ok(s.min <= s.current_base && s.current_base <= s.max);
  assert.equal(s.forced, true);
  assert.ok(s.timestamp instanceof Date);
});

test('stats figures above 4 GiB stay exact numbers (no 32-bit wrap)', async () => {
  // heap_size_limit is commonly > 4 GiB on 64-bit machines; it must not wrap negative.
  const stats = nextStats();
  leakwatch.gc();
  const s = await stats;
  assert.ok(Number.isSafeInteger(Math.round(s.heap_size_limit)));
  assert.ok(s.heap_size_limit > 0 && s.total_available_size > 0);
  assert.ok(Number.isSafeInteger(s.gc_ts) || s.gc_ts > 2 ** 32, 'gc_ts is a 64-bit timestamp');
});

test('with a listener the observer runs; removing the last one stops it', () => {
  const listener = () => {};
  leakwatch.on('stats', listener);
  assert.equal(leakwatch.monitor.running, true);
  leakwatch.removeListener('stats', listener);
  assert.equal(leakwatch.monitor.running, false);
  leakwatch.once('leak', listener);
  assert.equal(leakwatch.monitor.running, true);
  leakwatch.removeAllListeners('leak');
  assert.equal(leakwatch.monitor.running, false);
});

test('removeAllListeners() with no argument (memwatch style) stops observing, and listeners added later still work', async () => {
  leakwatch.on('stats', () => {});
  leakwatch.removeAllListeners();
  assert.equal(leakwatch.monitor.running, false);
  const stats = nextStats();
  assert.equal(leakwatch.monitor.running, true);
  leakwatch.gc();
  assert.equal(typeof (await stats).num_full_gc, 'number');
  assert.equal(leakwatch.monitor.running, false, 'once listener gone: observer stopped');
});

test("a throwing 'stats' listener does not crash the process: it becomes an 'error' event", async () => {
  const boom = new Error('listener bug');
  const errors = [];
  const onError = (error) => errors.push(error);
  leakwatch.on('error', onError);
  // (A throw ends that emit, as with any EventEmitter: this listener goes first so it runs.)
  const after = nextStats();
  leakwatch.on('stats', () => {
    throw boom;
  });
  leakwatch.gc();
  await after;
  await new Promise((resolve) => setImmediate(resolve));
  leakwatch.removeAllListeners('stats');
  leakwatch.removeListener('error', onError);
  assert.deepEqual(errors, [boom]);
});

test("a throwing 'stats' listener with no 'error' listener becomes a process warning", async () => {
  const warning = new Promise((resolve) => process.once('warning', resolve));
  leakwatch.on('stats', () => {
    throw new Error('listener bug 2');
  });
  leakwatch.gc();
  const w = await warning;
  leakwatch.removeAllListeners('stats');
  assert.equal(w.name, 'LeakwatchWarning');
  assert.match(w.message, /listener bug 2/);
});

function LeakingClass() {}

test('HeapDiff detects 100 new LeakingClass objects', () => {
  const arr = [];
  const hd = new leakwatch.HeapDiff();
  for (let i = 0; i < 100; i++) arr.push(new LeakingClass());
  const diff = hd.end();
  assert.ok(Array.isArray(diff.change.details));
  const leaking = diff.change.details.find((d) => d.what === 'LeakingClass');
  assert.ok(leaking, 'LeakingClass is in the diff');
  assert.ok(leaking['+'] >= 100, JSON.stringify(leaking));
  assert.ok(leaking['+'] - leaking['-'] > 0);
  assert.equal(arr.length, 100);
});

test('HeapDiff result has the memwatch shape', () => {
  const arr = [];
  const hd = new leakwatch.HeapDiff();
  for (let i = 0; i < 100; i++) arr.push(new LeakingClass());
  const diff = hd.end();
  for (const side of ['before', 'after']) {
    assert.equal(typeof diff[side].nodes, 'number');
    assert.equal(typeof diff[side].size_bytes, 'number');
    assert.equal(typeof diff[side].size, 'string');
  }
  const { change } = diff;
  for (const field of ['size_bytes', 'freed_nodes', 'allocated_nodes']) assert.equal(typeof change[field], 'number', field);
  assert.equal(typeof change.size, 'string');
  assert.ok(change.details.length > 0);
  for (const d of change.details) {
    assert.equal(typeof d.what, 'string');
    assert.equal(typeof d.size_bytes, 'number');
    assert.equal(typeof d.size, 'string');
    assert.equal(typeof d['+'], 'number');
    assert.equal(typeof d['-'], 'number');
  }
});

test('a second end() throws', () => {
  const hd = new leakwatch.HeapDiff();
  assert.doesNotThrow(() => hd.end());
  assert.throws(() => hd.end());
});

test('HeapDiff() without new throws', () => {
  // memwatch's issue #30: `new require('memwatch').HeapDiff()`
  assert.throws(() => new (leakwatch.HeapDiff())());
  assert.throws(() => leakwatch.HeapDiff());
});

test('endAsync() resolves to the same diff shape, off the main thread', async () => {
  const arr = [];
  const hd = new leakwatch.HeapDiff();
  for (let i = 0; i < 100; i++) arr.push(new LeakingClass());
  const diff = await hd.endAsync();
  const leaking = diff.change.details.find((d) => d.what === 'LeakingClass');
  assert.ok(leaking && leaking['+'] >= 100, JSON.stringify(leaking));
  await assert.rejects(hd.endAsync());
  assert.throws(() => hd.end());
});

test('HeapDiff leaves no temporary files behind', async () => {
  const before = new Set(heapDiffDirs());
  const a = new leakwatch.HeapDiff();
  a.end();
  const b = new leakwatch.HeapDiff();
  await b.endAsync();
  const c = new leakwatch.HeapDiff();
  c.end();
  assert.throws(() => c.end());
  const leftover = heapDiffDirs().filter((name) => !before.has(name));
  assert.deepEqual(leftover, []);
});

test('after all that, no listener is left and the observer is off', () => {
  assert.equal(leakwatch.listenerCount('stats') + leakwatch.listenerCount('leak'), 0);
  assert.equal(leakwatch.monitor.running, false);
});
