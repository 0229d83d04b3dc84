// A real leak's verdict keeps standing while it leaks (issue 20: no flapping), followed for
// three minutes in a real process with memwatch's usage (a 'leak' listener alone): re-reports
// keep the verdict's id, no 'leakResolved', activeLeaks() lists it at exit. Its own file so
// that the test matrix (scripts/node-matrix.mjs) can leave its three minutes to npm test's
// Node: the lifecycle is the Rust core's, the same on every Node line; the other lifecycle
// tests run on every line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { root, spawnNode } from './helpers.mjs';

const { readRecords } = createRequire(import.meta.url)('../lib/shared/records.js');
const LEAKS = path.join(root, '__test__', 'fixtures', 'leaks');
const LISTENER = path.join(LEAKS, '_listener.js');

function records(file) {
  const out = [];
  readRecords(file, (r) => out.push(r));
  return out;
}

const scratch = () => fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-lifecycle-'));

test("a real leak's verdict stands for three minutes: re-reports keep its id, it is never withdrawn", { timeout: 240000 }, async () => {
  const dir = scratch();
  const statsFile = path.join(dir, 'stats.jsonl');
  // memwatch's usage: a 'leak' listener and nothing else.
  const app = spawnNode(['-r', LISTENER, path.join(LEAKS, 'steady-leak.js')], {
    LEAKWATCH_FIXTURE_FULL_RUN: '1',
    LEAKWATCH_FIXTURE_RUN_MS: '180000',
    LEAKWATCH_STATS_FILE: statsFile,
    LEAKWATCH_SIGNAL: 'off',
    LEAKWATCH_PRINT_ACTIVE: '1',
  });
  const r = await app.closed;
  assert.equal(r.code, 0, r.stderr);
  const all = records(statsFile);
  const leaks = all.filter((x) => x.event === 'leak');
  assert.ok(leaks.length >= 1, r.stderr);
  assert.ok(leaks[0].t - all[0].t <= 30000, `reported at ${(leaks[0].t - all[0].t) / 1000} s`);
  assert.deepEqual([...new Set(leaks.map((l) => l.id))], [leaks[0].id], 'one verdict, re-reported');
  assert.deepEqual(all.filter((x) => x.event === 'leakResolved'), [], 'never withdrawn while it leaks');
  assert.ok(all.at(-1).t - all[0].t >= 175000, 'followed for three minutes');
  assert.match(r.stdout, new RegExp(`active leaks: \\[\\{"id":${leaks[0].id},"kind":"heap"\\}\\]`));
  fs.rmSync(dir, { recursive: true, force: true });
  });
