// The snapshot engine through the JS API: promises off the main thread, errors as
// rejections (never throws into the caller), and the in-process streamed summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import leakwatch from 'leakwatch';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-engine-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function snapshotOfChild(name, count) {
  const file = path.join(dir, name);
  const script = `class Tracked { constructor(i) { this.i = i; } }
globalThis.keep = Array.from({ length: ${count} }, (_, i) => new Tracked(i));
require('v8').writeHeapSnapshot(${JSON.stringify(file)});`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return file;
}

test('summarize resolves with exact counts', async () => {
  const file = snapshotOfChild('tracked.heapsnapshot', 4321);
  const pending = leakwatch.summarize(file);
  assert.ok(pending instanceof Promise, 'the work is asynchronous');
  const summary = await pending;
  assert.equal(summary.file, file);
  assert.equal(summary.classes.find((c) => c.name === 'Tracked').count, 4321);
  assert.ok(summary.nodes > 4321 && summary.edges > 0 && summary.totalSize > 0);
  assert.ok(summary.maxJsId % 2 === 1, 'max JS id is odd');
});

test('summarize reports progress as [bytesRead, totalBytes] ending at the file size', async () => {
  const file = snapshotOfChild('progress.heapsnapshot', 10);
  const seen = [];
  await leakwatch.summarize(file, { progress: (p) => seen.push(p) });
  await new Promise((resolve) => setImmediate(resolve));
  const size = fs.statSync(file).size;
  assert.ok(seen.length > 0);
  assert.deepEqual(seen.at(-1), [size, size]);
});

test('bad input rejects with a message naming the file and the byte offset', async () => {
  const truncated = path.join(dir, 'truncated.heapsnapshot');
  const good = fs.readFileSync(snapshotOfChild('whole.heapsnapshot', 10));
  fs.writeFileSync(truncated, good.subarray(0, 5000));
  await assert.rejects(leakwatch.summarize(truncated), (error) => {
    assert.match(error.message, /truncated\.heapsnapshot: not a valid heap snapshot: byte \d+: /);
    return true;
  });
  await assert.rejects(leakwatch.summarize(path.join(dir, 'missing.heapsnapshot')), /missing\.heapsnapshot: no such file/);
  await assert.rejects(leakwatch.summarize(dir), /is a directory/);
  await assert.rejects(leakwatch.diffSnapshots(truncated, truncated), /byte \d+/);
  await assert.rejects(leakwatch.analyze('not-an-array'), TypeError);
});

test('diffSnapshots counts + and - by object id between two heaps of one process', async () => {
  const a = path.join(dir, 'a.heapsnapshot');
  const b = path.join(dir, 'b.heapsnapshot');
  const script = `const v8 = require('v8');
class Kept {} class Dropped {} class Added {}
globalThis.kept = Array.from({ length: 100 }, () => new Kept());
let dropped = Array.from({ length: 70 }, () => new Dropped());
v8.writeHeapSnapshot(${JSON.stringify(a)});
dropped = null;
globalThis.added = Array.from({ length: 250 }, () => new Added());
v8.writeHeapSnapshot(${JSON.stringify(b)});`;
  assert.equal(spawnSync(process.execPath, ['-e', script]).status, 0);
  const diff = await leakwatch.diffSnapshots(a, b);
  const detail = (name) => diff.change.details.find((d) => d.what === name);
  assert.equal(detail('Added')['+'], 250);
  assert.equal(detail('Added')['-'], 0);
  assert.equal(detail('Dropped')['-'], 70);
  assert.equal(detail('Kept'), undefined, 'unchanged objects are not listed');
  assert.equal(typeof diff.change.size, 'string');
});

test('summarizeHeap streams this process heap from V8 into Rust without a file', async () => {
  class LiveThing {}
  globalThis.liveThings = Array.from({ length: 777 }, () => new LiveThing());
  // A temp dir of this test's own: other test processes share the system one.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-live-heap-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  let summary;
  try {
    summary = await leakwatch.summarizeHeap();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  assert.equal(summary.classes.find((c) => c.name === 'LiveThing').count, 777);
  assert.equal(summary.file, '(live heap)');
  assert.deepEqual(fs.readdirSync(tmp), [], 'no temporary file left behind');
  fs.rmdirSync(tmp);
  delete globalThis.liveThings;
});
