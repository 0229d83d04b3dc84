// `leakwatch analyze` (the three-snapshot technique) through the CLI and the JS API, on
// real snapshots of child processes:
// - fixtures/cli/three-snapshots.cjs: LeakedThing objects go into the module-level array
//   `leakyData` between S1 and S2 (and keep going), FreedThing objects allocated between
//   S1 and S2 are dropped before S3, LateThing objects are allocated after S2 only;
// - fixtures/cli/seed-example.cjs: the seed article's own app, snapshots 2 s apart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { cli as runCli } from './helpers.mjs';

const cli = (args, options = {}) => runCli(args, { timeoutMs: 30000, ...options });
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const THREE = path.join(here, 'fixtures', 'cli', 'three-snapshots.cjs');
const SEED = path.join(here, 'fixtures', 'cli', 'seed-example.cjs');
const leakwatch = createRequire(import.meta.url)('leakwatch');

const LEAK_COUNT = 3000; // as in three-snapshots.cjs
let scratch;
const trio = {}; // mode -> [s1, s2, s3]
let seed; // {files, lengths}


async function fixture(script, args) {
  const { stdout } = await promisify(execFile)(process.execPath, [script, ...args], { timeout: 30000 });
  return JSON.parse(stdout);
}

before(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-analyze-test-'));
  const modes = ['leak', 'oneoff', 'steady'];
  const dirs = modes.map((mode) => fs.mkdirSync(path.join(scratch, mode), { recursive: true }) && path.join(scratch, mode));
  const [seedResult, ...trios] = await Promise.all([
    fixture(SEED, [fs.mkdtempSync(path.join(scratch, 'seed-')), '2000']),
    ...modes.map((mode, i) => fixture(THREE, [dirs[i], mode])),
  ]);
  seed = seedResult;
  modes.forEach((mode, i) => (trio[mode] = trios[i].files));
  assert.equal(trios[0].leaked, LEAK_COUNT + 1000);
});
after(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

const names = (groups) => groups.map((g) => g.name);
const userSuspects = (analysis) => analysis.suspects.filter((s) => s.userClass);

test('analyze --json: exactly LeakedThing (3,000, its exact count) is a user-class suspect, held by leakyData', { timeout: 30000 }, async () => {
  const { code, stdout, stderr } = await cli(['analyze', ...trio.leak, '--json']);
  assert.equal(code, 0, stderr);
  const analysis = JSON.parse(stdout);
  assert.deepEqual(Object.keys(analysis).sort(), ['idRange', 'others', 'snapshots', 'suspects']);
  assert.deepEqual(names(userSuspects(analysis)), ['LeakedThing']);
  const leaked = analysis.suspects[0];
  assert.equal(leaked.name, 'LeakedThing', 'user classes rank first');
  assert.equal(leaked.count, LEAK_COUNT, 'only the objects allocated between S1 and S2');
  assert.equal(leaked.userClass, true);
  assert.equal(leaked.grewEveryStep, true);
  assert.deepEqual(leaked.counts, [0, LEAK_COUNT, LEAK_COUNT + 1000]);
  assert.equal(leaked.selfSize, LEAK_COUNT * leaked.representative.selfSize);
  assert.ok(leaked.retainedSize >= leaked.selfSize);
  // FreedThing (dead by S3) and LateThing (born after S2) are not survivors of the range at all.
  for (const absent of ['FreedThing', 'LateThing']) {
    assert.ok(!names(analysis.suspects).includes(absent), `${absent} is not a suspect`);
    assert.ok(!names(analysis.others).includes(absent), `${absent} is not among the survivors`);
  }
  // The path: ends with [i] in the array held by the `leakyData` variable, from a root.
  const path = leaked.retainerPath;
  assert.ok(path.length >= 2);
  const last = path.at(-1);
  assert.equal(last.edgeType, 'element');
  assert.match(last.edge, /^\[\d+\]$/);
  assert.equal(last.node.class, 'LeakedThing');
  assert.equal(last.node.id, leaked.representative.id);
  const holder = path.at(-2);
  assert.equal(holder.edge, 'leakyData');
  assert.equal(holder.edgeType, 'context');
  assert.equal(holder.node.class, 'Array');
  for (const step of path) {
    assert.deepEqual(Object.keys(step).sort(), ['edge', 'edgeType', 'node']);
    assert.deepEqual(Object.keys(step.node).sort(), ['class', 'id', 'name', 'retainedSize', 'selfSize', 'type']);
    assert.notEqual(step.edgeType, 'weak', 'weak edges do not retain');
  }
  // Shape of the rest of the document.
  assert.equal(analysis.snapshots.length, 3);
  analysis.snapshots.forEach((s, i) => {
    assert.equal(s.file, trio.leak[i]);
    assert.ok(s.nodes > 0);
  });
  assert.deepEqual(analysis.idRange, [analysis.snapshots[0].maxJsId, analysis.snapshots[1].maxJsId]);
  assert.ok(analysis.idRange[0] < leaked.representative.id && leaked.representative.id <= analysis.idRange[1]);
  for (const group of [...analysis.suspects, ...analysis.others]) {
    for (const key of ['name', 'count', 'selfSize', 'retainedSize', 'userClass', 'grewEveryStep', 'counts', 'representative', 'retainerPath']) {
      assert.ok(key in group, `${group.name} has ${key}`);
    }
    assert.equal(group.counts.length, 3);
  }
});

test('analyze table names LeakedThing, its count and the leakyData variable; --fail-on-leak exits 3', { timeout: 30000 }, async () => {
  const [table, failing] = await Promise.all([cli(['analyze', ...trio.leak]), cli(['analyze', ...trio.leak, '--fail-on-leak'])]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^Leak suspects \(\d+\), user classes first:$/m);
  assert.match(table.stdout, /^LeakedThing\s+3000\s+/m);
  assert.match(table.stdout, /^Retainer path of LeakedThing @\d+:$/m);
  assert.match(table.stdout, /leakyData \(variable\) → Array @\d+\n\s+└─ \[\d+\] → LeakedThing @\d+/);
  assert.doesNotMatch(table.stdout, /FreedThing|LateThing/);
  assert.equal(failing.code, 3, failing.stderr);
  assert.equal(failing.stdout, table.stdout, '--fail-on-leak still prints the report');
});

test('a non-leaking trio: no suspects, --fail-on-leak exits 0', { timeout: 30000 }, async () => {
  const [json, failing] = await Promise.all([cli(['analyze', ...trio.steady, '--json']), cli(['analyze', ...trio.steady, '--fail-on-leak'])]);
  assert.equal(json.code, 0, json.stderr);
  const analysis = JSON.parse(json.stdout);
  assert.deepEqual(analysis.suspects, [], `suspects of a steady process: ${JSON.stringify(analysis.suspects.map((s) => [s.name, s.count, s.counts]))}`);
  assert.ok(!names(analysis.others).includes('LeakedThing'));
  assert.equal(failing.code, 0, failing.stderr);
  assert.match(failing.stdout, /^No leak suspects/m);
});

test('the JS API analyze() gives the CLI document, and honours minCount / minRetained', { timeout: 30000 }, async () => {
  const api = await leakwatch.analyze(trio.leak);
  const cliJson = JSON.parse((await cli(['analyze', ...trio.leak, '--json'])).stdout);
  assert.deepEqual(api, cliJson);
  const strict = await leakwatch.analyze(trio.leak, { minCount: LEAK_COUNT + 1 });
  assert.ok(!names(strict.suspects).includes('LeakedThing'), 'fewer objects than minCount: not a suspect');
  assert.ok(names(strict.others).includes('LeakedThing'), '…but still listed among the survivors');
  const big = await leakwatch.analyze(trio.leak, { minRetained: 1e12 });
  assert.deepEqual(big.suspects, []);
  const viaCli = JSON.parse((await cli(['analyze', ...trio.leak, '--json', '--min-count', String(LEAK_COUNT + 1)])).stdout);
  assert.deepEqual(names(viaCli.suspects), names(strict.suspects));
  await assert.rejects(leakwatch.analyze('not-an-array'), TypeError);
});

// The issue's own scenario, read literally: LeakedThing objects are leaked between S1 and
// S2 only (0 → 3000 → 3000). DevTools' "allocated between S1 and S2, alive in S3" shows
// exactly them: a class that grew while they were allocated and never shrank after is a
// suspect even if the leak paused after S2.
test('a leak between S1 and S2 only is still reported (issue 5 scenario, literally)', { timeout: 30000 }, async () => {
  const analysis = await leakwatch.analyze(trio.oneoff);
  const leaked = analysis.others.find((g) => g.name === 'LeakedThing') || analysis.suspects.find((g) => g.name === 'LeakedThing');
  assert.ok(leaked, 'LeakedThing survives the range');
  assert.equal(leaked.count, LEAK_COUNT);
  assert.deepEqual(leaked.counts, [0, LEAK_COUNT, LEAK_COUNT]);
  assert.equal(analysis.suspects[0]?.name, 'LeakedThing', `suspects: ${JSON.stringify(analysis.suspects.map((s) => [s.name, s.count, s.counts]))}`);
});

test('snapshots out of order or from another process: exit 1 with a clear message', { timeout: 30000 }, async () => {
  const [s1, s2, s3] = trio.leak;
  const runs = await Promise.all([
    cli(['analyze', s3, s2, s1]),
    cli(['analyze', s2, s1, s3]),
    cli(['analyze', s1, s3, s2]),
    cli(['analyze', s1, s2, s3, s1]),
  ]);
  for (const r of runs) {
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^leakwatch: .*out of order/);
  }
  await assert.rejects(leakwatch.analyze([s3, s2, s1]), /out of order/);
});

test('fewer than three snapshots: usage error, exit 2', { timeout: 30000 }, async () => {
  const [two, one] = await Promise.all([cli(['analyze', trio.leak[0], trio.leak[1]]), cli(['analyze', trio.leak[0]])]);
  for (const r of [two, one]) {
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^leakwatch: analyze: expected at least three snapshot files/);
  }
  await assert.rejects(leakwatch.analyze(trio.leak.slice(0, 2)), /at least 3 snapshots/);
});

test("the seed's example: SimpleClass is the top suspect, its exact count, leakyData on its path", { timeout: 30000 }, async () => {
  const [l1, l2] = seed.lengths;
  const { code, stdout, stderr } = await cli(['analyze', ...seed.files, '--json', '--fail-on-leak']);
  assert.equal(code, 3, stderr);
  const analysis = JSON.parse(stdout);
  const top = analysis.suspects[0];
  assert.equal(top.name, 'SimpleClass', `suspects: ${JSON.stringify(analysis.suspects.map((s) => [s.name, s.count, s.counts]))}`);
  assert.equal(top.count, l2 - l1, 'the SimpleClass objects pushed between S1 and S2');
  assert.ok(top.count > 100, `the app leaked ${top.count} objects in 2 s`);
  assert.ok(top.retainerPath.some((step) => step.edge === 'leakyData' && step.edgeType === 'context'), JSON.stringify(top.retainerPath.map((s) => s.edge)));
  assert.equal(top.retainerPath.at(-1).node.class, 'SimpleClass');
  assert.deepEqual(names(userSuspects(analysis)), ['SimpleClass']);
});

// Four snapshots under `leakwatch run` (its default): healthy caches are not blamed.
const CACHE_APP = path.join(here, 'fixtures', 'cli', 'cache-app.cjs');

/** `leakwatch run` (default snapshot count) of the cache app; resolves {files, stderr, code}. */
async function runCacheApp(mode) {
  const out = fs.mkdtempSync(path.join(scratch, `run-${mode}-`));
  const every = 3000;
  const r = await cli(['run', '--every', `${every / 1000}s`, '--no-leak-snapshot', '--out', out, '--', process.execPath, CACHE_APP, mode, String(every)], { timeoutMs: 60000 });
  const files = fs
    .readdirSync(out)
    .filter((n) => n.endsWith('.heapsnapshot'))
    .sort((a, b) => Number(/-(\d+)\.heapsnapshot$/.exec(a)[1]) - Number(/-(\d+)\.heapsnapshot$/.exec(b)[1]))
    .map((n) => path.join(out, n));
  return { ...r, files };
}

for (const [mode, cls] of [
  ['lru', 'CacheEntry'],
  ['ttl', 'Session'],
]) {
  test(`leakwatch run (4 snapshots by default): a ${mode === 'lru' ? 'bounded cache that fills, then evicts' : 'TTL session store'} is not a suspect`, { timeout: 70000 }, async () => {
    const r = await runCacheApp(mode);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.files.length, 4, r.stderr);
    assert.match(r.stderr, /suspects: none/, r.stderr);
    const four = await leakwatch.analyze(r.files);
    assert.deepEqual(names(userSuspects(four)), []);
    const group = four.others.find((g) => g.name === cls);
    if (group) {
      // Still some of them (a partial eviction): the survivor counts show why.
      assert.equal(group.survivorsShrank, true);
      assert.equal(group.survivors.length, 4);
      assert.ok(group.survivors[3] < 0.9 * group.survivors[2], JSON.stringify(group.survivors));
    }
    // What the fourth snapshot buys: with only the first three, the healthy cache is blamed.
    const three = await leakwatch.analyze(r.files.slice(0, 3));
    assert.equal(userSuspects(three)[0] && userSuspects(three)[0].name, cls);
  });
}

test('leakwatch run --help says it takes 4 snapshots by default and why', async () => {
  const { code, stdout } = await cli(['run', '--help']);
  assert.equal(code, 0);
  assert.match(stdout, /--snapshots N +how many snapshots to take \(default 4;/);
  assert.match(stdout, /cache evicting/);
});

test('leakwatch run: the same cache without its bound: its entries are the suspect, with the cache on the path', { timeout: 70000 }, async () => {
  const r = await runCacheApp('unbounded');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.files.length, 4, r.stderr);
  assert.match(r.stderr, /suspects: CacheEntry \(200\)/, r.stderr);
  const analysis = await leakwatch.analyze(r.files);
  const [top] = userSuspects(analysis);
  assert.equal(top.name, 'CacheEntry');
  assert.equal(top.count, 200); // exactly those added between S1 and S2
  assert.deepEqual(top.survivors, [0, 200, 200, 200]);
  assert.equal(top.survivorsShrank, false);
  assert.ok(top.retainerPath.some((step) => step.edge === 'cache'), JSON.stringify(top.retainerPath.map((s) => s.edge)));
  // The CLI shows the survivors per snapshot.
  const { stdout } = await cli(['analyze', ...r.files]);
  assert.match(stdout, /CacheEntry .*200 → 200 → 200/);
});

// Issue 26, item 14: a retainer path through a very long chain, and a class with a very
// long name (snapshots written by leakwatch in a real app).
test('a retainer path through a 100,000-long chain is elided in the middle; a 100 KB class name is clipped in rows, whole in JSON', { timeout: 90000 }, async () => {
  const out = fs.mkdtempSync(path.join(scratch, 'chain-'));
  const CHAIN = 100_000;
  const NAME = 100_000; // V8 writes the first 1,024 characters of it into the snapshot
  const { files } = await fixture(path.join(here, 'fixtures', 'cli', 'long-chain.cjs'), [out, String(CHAIN), String(NAME)]);
  const [text, json] = await Promise.all([cli(['analyze', ...files]), cli(['analyze', ...files, '--json'])]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.split('\n');
  assert.ok(lines.length < 200, `${lines.length} lines`);
  assert.ok(Math.max(...lines.map((l) => l.length)) < 400, 'no line carries the whole class name');
  assert.match(text.stdout, /^LongN+… +500 /m);
  const elided = /… ([\d,]+) more steps …/.exec(text.stdout);
  assert.ok(elided, text.stdout.slice(0, 3000));
  assert.match(text.stdout, /\.leaked → Array @\d+\n\s+└─ \[\d+\] → LongN+… @\d+/);
  const top = JSON.parse(json.stdout).suspects[0];
  assert.ok(top.name.length >= 1024 && /^LongN+$/.test(top.name), `JSON keeps the name as the snapshot has it (${top.name.length} characters)`);
  assert.equal(top.retainerPath.length, 20);
  assert.equal(top.retainerPathElided, Number(elided[1].replace(/,/g, '')));
  assert.ok(top.retainerPathElided > CHAIN - 100, String(top.retainerPathElided));
  assert.equal(top.retainerPath.at(-1).node.class, top.name);
  // summary and diff tables clip it too.
  for (const args of [['summary', files[2]], ['diff', files[0], files[2]]]) {
    const r = await cli(args);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Math.max(...r.stdout.split('\n').map((l) => l.length)) < 400, `${args[0]}: a line carries the whole class name`);
    assert.match(r.stdout, /LongN+…/);
  }
});

// Issue 26, item 12: a healthy batch worker under real leakwatch (its monitor forcing
// collections, the first between S1 and S2), four snapshots between batches.
test('a healthy batch worker with four snapshots between batches: no suspect (leakwatch does not blame itself)', { timeout: 90000 }, async () => {
  const out = fs.mkdtempSync(path.join(scratch, 'batch-'));
  const { files } = await fixture(path.join(here, 'fixtures', 'cli', 'batch-snapshots.cjs'), [out, '4', '500']);
  const { code, stdout, stderr } = await cli(['analyze', ...files, '--json', '--fail-on-leak']);
  assert.equal(code, 0, stderr);
  const analysis = JSON.parse(stdout);
  assert.deepEqual(
    analysis.suspects.map((s) => [s.name, s.count, s.retainedSize]),
    [],
    JSON.stringify(analysis.suspects.map((s) => [s.name, s.retainerPath.map((p) => p.edge).join('.')])),
  );
});
