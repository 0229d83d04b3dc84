// Error codes: one test per code through the public interface (the JS `code` property;
// the CLI's exit status and one-line message), and one list of codes: lib/shared/errors.js,
// src/error.rs, index.d.ts and the README must name the same codes. Tests assert codes,
// never wording.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { cli, root } from './helpers.mjs';

const require = createRequire(import.meta.url);
const leakwatch = require('leakwatch');
const { CODES, leakwatchError } = require('../lib/shared/errors.js');
const native = require('../binding.js');

let dir;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-errors-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const NODE_TYPES = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'regexp', 'number', 'native', 'synthetic', 'concatenated string', 'sliced string', 'symbol', 'bigint', 'object shape'];
const EDGE_TYPES = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];

/**
 * A tiny, valid heap snapshot: a root holding one `Thing` object with id `id` (odd: a JS
 * object). `header` overrides fields of the snapshot header (to make it inconsistent).
 */
function snapshotFile(name, { id, header = {} }) {
  const snapshot = {
    snapshot: {
      meta: {
        node_fields: ['type', 'name', 'id', 'self_size', 'edge_count', 'trace_node_id', 'detachedness'],
        node_types: [NODE_TYPES, 'string', 'number', 'number', 'number', 'number', 'number'],
        edge_fields: ['type', 'name_or_index', 'to_node'],
        edge_types: [EDGE_TYPES, 'string_or_number', 'node'],
      },
      node_count: 2,
      edge_count: 1,
      ...header,
    },
    nodes: [9, 0, 1, 0, 1, 0, 0, 3, 1, id, 16, 0, 0, 0],
    edges: [2, 2, 7],
    strings: ['', 'Thing', 'x'],
  };
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(snapshot));
  return file;
}

/** `promise` rejects with `code` (and `file`, when given); returns the error. */
async function rejectsWith(promise, code, file) {
  let caught;
  await assert.rejects(promise, (error) => {
    caught = error;
    assert.ok(error instanceof Error, String(error));
    assert.equal(error.code, code, error.message);
    if (file !== undefined) assert.equal(error.file, file);
    return true;
  });
  return caught;
}

function throwsWith(fn, code) {
  assert.throws(fn, (error) => {
    assert.equal(error.code, code, error.message);
    return true;
  });
}

test('the synthetic snapshot is valid: the cases below fail for the reason they name', async () => {
  const summary = await leakwatch.summarize(snapshotFile('valid.heapsnapshot', { id: 11 }));
  assert.equal(summary.classes.find((c) => c.name === 'Thing').count, 1);
  assert.equal(summary.maxJsId, 11);
});

test('ERR_LEAKWATCH_NOT_FOUND: API and CLI', async () => {
  const missing = path.join(dir, 'missing.heapsnapshot');
  await rejectsWith(leakwatch.summarize(missing), 'ERR_LEAKWATCH_NOT_FOUND', missing);
  const r = await cli(['summary', missing]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^leakwatch: ${missing}: `));
});

test('ERR_LEAKWATCH_NOT_A_FILE: a directory', async () => {
  await rejectsWith(leakwatch.diffSnapshots(dir, dir), 'ERR_LEAKWATCH_NOT_A_FILE', dir);
  assert.equal((await cli(['summary', dir])).code, 1);
});

test('ERR_LEAKWATCH_IO: a file that cannot be opened (a symlink loop)', async () => {
  const loop = path.join(dir, 'loop.heapsnapshot');
  fs.symlinkSync(loop, loop);
  await rejectsWith(leakwatch.summarize(loop), 'ERR_LEAKWATCH_IO', loop);
  assert.equal((await cli(['summary', loop])).code, 1);
});

test('ERR_LEAKWATCH_TRUNCATED: the offset is where the file ends', async () => {
  const whole = fs.readFileSync(snapshotFile('whole.heapsnapshot', { id: 11 }));
  const file = path.join(dir, 'truncated.heapsnapshot');
  fs.writeFileSync(file, whole.subarray(0, whole.length - 20));
  const error = await rejectsWith(leakwatch.summarize(file), 'ERR_LEAKWATCH_TRUNCATED', file);
  assert.equal(error.offset, whole.length - 20);
  const r = await cli(['summary', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`byte ${whole.length - 20}\\b`));
});

test('ERR_LEAKWATCH_TRUNCATED: a file cut short while the CLI reads it (through a memory mapping) is reported, never a SIGBUS death', { timeout: 120000 }, async () => {
  // ~50 MB: a root holding 1.5 M objects, read in tens of milliseconds; cut to a third at
  // moments spread over the read. Either the read finished first (exit 0) or the cut is
  // reported (exit 1); without leakwatch's SIGBUS handler the process dies by the signal.
  const count = 1_500_000;
  const parts = [`{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[${JSON.stringify(NODE_TYPES)},"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[${JSON.stringify(EDGE_TYPES)},"string_or_number","node"]},"node_count":${count + 1},"edge_count":${count}},\n"nodes":[9,0,1,0,${count},0,0`];
  for (let i = 0; i < count; i++) parts.push(`\n,3,1,${2 * i + 3},16,0,0,0`);
  parts.push('],\n"edges":[');
  for (let i = 0; i < count; i++) parts.push(`${i ? '\n,' : ''}1,${i},${7 * (i + 1)}`);
  parts.push('],\n"strings":["","Thing"]}');
  const whole = Buffer.from(parts.join(''));
  const outcomes = [];
  for (let run = 0; run < 8; run++) {
    const file = path.join(dir, `cut-while-read-${run}.heapsnapshot`);
    fs.writeFileSync(file, whole);
    const reading = cli(['summary', file], { timeoutMs: 60000 });
    await new Promise((resolve) => setTimeout(resolve, 40 + 15 * run));
    fs.truncateSync(file, Math.floor(whole.length / 3));
    const r = await reading;
    assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
    if (r.code === 1) assert.match(r.stderr, /truncated|ends|expected/, r.stderr);
    else assert.equal(r.code, 0, r.stderr);
    outcomes.push(r.code);
    fs.rmSync(file);
  }
  assert.ok(outcomes.includes(1), `no run was cut short: ${outcomes}`);
});

test('the CLI keeps the default action of a SIGBUS another process sends (its handler is for faults in its own mappings)', { timeout: 60000 }, async () => {
  const fifo = path.join(dir, 'never-written.fifo');
  const made = spawnSync('mkfifo', [fifo]);
  if (made.status !== 0) return; // no mkfifo here: nothing to test
  // Blocked opening the pipe, after the handler was installed at start-up.
  const reading = cli(['summary', fifo], { timeoutMs: 30000 });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const pid = Number(spawnSync('pgrep', ['-f', `cli.js summary ${fifo}`], { encoding: 'utf8' }).stdout.trim().split('\n')[0]);
  assert.ok(pid > 0, 'the CLI process was not found');
  process.kill(pid, 'SIGBUS');
  const r = await reading;
  assert.equal(r.signal, 'SIGBUS', `exit ${r.code}: ${r.stderr}`);
});

test('ERR_LEAKWATCH_NOT_A_SNAPSHOT: JSON of another shape', async () => {
  const file = path.join(dir, 'package.json');
  fs.writeFileSync(file, JSON.stringify({ name: 'x', nodes: 'no' }));
  const error = await rejectsWith(leakwatch.summarize(file, { retained: true }), 'ERR_LEAKWATCH_NOT_A_SNAPSHOT', file);
  assert.ok(Number.isInteger(error.offset));
  assert.equal((await cli(['summary', '--retained', file])).code, 1);
});

test('ERR_LEAKWATCH_INCONSISTENT: a header that contradicts the arrays', async () => {
  const file = snapshotFile('inconsistent.heapsnapshot', { id: 11, header: { node_count: 5 } });
  const error = await rejectsWith(leakwatch.summarize(file), 'ERR_LEAKWATCH_INCONSISTENT', file);
  assert.equal(error.offset, fs.statSync(file).size);
  assert.equal((await cli(['summary', file])).code, 1);
});

test('ERR_LEAKWATCH_TOO_FEW_SNAPSHOTS: checked before any file is read', async () => {
  // The files do not exist: the count is what fails, not the reading.
  await rejectsWith(leakwatch.analyze([path.join(dir, 'a'), path.join(dir, 'b')]), 'ERR_LEAKWATCH_TOO_FEW_SNAPSHOTS');
  await rejectsWith(leakwatch.analyze([]), 'ERR_LEAKWATCH_TOO_FEW_SNAPSHOTS');
});

test('ERR_LEAKWATCH_OUT_OF_ORDER: names the later snapshot', async () => {
  const s1 = snapshotFile('o1.heapsnapshot', { id: 101 });
  const s2 = snapshotFile('o2.heapsnapshot', { id: 51 });
  const s3 = snapshotFile('o3.heapsnapshot', { id: 201 });
  const error = await rejectsWith(leakwatch.analyze([s1, s2, s3]), 'ERR_LEAKWATCH_OUT_OF_ORDER', s2);
  assert.ok(error.message.includes(s1) && error.message.includes(s2), error.message);
  const r = await cli(['analyze', s1, s2, s3]);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.startsWith('leakwatch: ') && r.stderr.includes(s2), r.stderr);
});

test('ERR_LEAKWATCH_SAME_SNAPSHOT: nothing allocated between S1 and S2', async () => {
  const s1 = snapshotFile('same1.heapsnapshot', { id: 101 });
  const s3 = snapshotFile('same3.heapsnapshot', { id: 201 });
  await rejectsWith(leakwatch.analyze([s1, s1, s3]), 'ERR_LEAKWATCH_SAME_SNAPSHOT', s1);
  assert.equal((await cli(['analyze', s1, s1, s3])).code, 1);
});

test('ERR_LEAKWATCH_STREAM_FINISHED: a finished stream takes no more chunks', () => {
  const stream = new native.SummaryStream();
  throwsWith(() => stream.push('not a snapshot'), 'ERR_LEAKWATCH_NOT_A_SNAPSHOT');
  throwsWith(() => stream.push('{'), 'ERR_LEAKWATCH_STREAM_FINISHED');
  throwsWith(() => stream.finish(), 'ERR_LEAKWATCH_STREAM_FINISHED');
  const truncated = new native.SummaryStream();
  truncated.push('{"snapshot":');
  throwsWith(() => truncated.finish(), 'ERR_LEAKWATCH_TRUNCATED');
});

test('ERR_LEAKWATCH_CHART_SIZE and ERR_LEAKWATCH_NO_RECORDS: leakwatch plot', async () => {
  const stats = path.join(dir, 'stats.jsonl');
  fs.writeFileSync(stats, JSON.stringify({ event: 'stats', t: 1, pid: 1, used_heap_size: 1e6, external: 0 }) + '\n');
  const input = { title: 't', points: [{ tMs: 0, usedHeapSize: 1, external: 0 }], leaks: [], snapshots: [] };
  throwsWith(() => native.renderChart(input, 'svg', 10, 10), 'ERR_LEAKWATCH_CHART_SIZE');
  const small = await cli(['plot', stats, '-o', path.join(dir, 'x.svg'), '--width', '10']);
  assert.equal(small.code, 1, small.stderr);
  assert.match(small.stderr, /^leakwatch: .*10x/);
  const empty = path.join(dir, 'empty.jsonl');
  fs.writeFileSync(empty, 'nothing useful\n');
  const none = await cli(['plot', empty, '-o', path.join(dir, 'y.svg')]);
  assert.equal(none.code, 1, none.stderr);
  assert.ok(none.stderr.includes(empty));
});

test('ERR_LEAKWATCH_NOTHING_TO_REPORT: leakwatch report of a directory leakwatch wrote nothing in', async () => {
  const empty = fs.mkdtempSync(path.join(dir, 'nothing-'));
  fs.writeFileSync(path.join(empty, 'notes.txt'), 'not a run\n');
  const r = await cli(['report', empty]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^leakwatch: .*\(ERR_LEAKWATCH_NOTHING_TO_REPORT\)\n$/);
  assert.ok(!fs.existsSync(path.join(empty, 'report.html')));
});

test('ERR_LEAKWATCH_BUSY: one snapshot at a time', async () => {
  const first = path.join(dir, 'first.heapsnapshot');
  const second = path.join(dir, 'second.heapsnapshot');
  // A worker thread holds the process-wide dump lock while it dumps a heap of its own.
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(
    `const leakwatch = require(${JSON.stringify(path.join(root, 'index.js'))});
     const { parentPort } = require('node:worker_threads');
     const keep = [];
     for (let i = 0; i < 600000; i++) keep.push({ i, s: 'item ' + i });
     parentPort.postMessage('dumping');
     leakwatch.writeSnapshot(${JSON.stringify(first)});`,
    { eval: true },
  );
  await new Promise((resolve) => worker.once('message', resolve));
  // The worker is inside its dump (seconds for its heap) well before this wakes: one try,
  // no race with a loop of this thread's own dumps (each slow with this file's heap).
  await new Promise((resolve) => setTimeout(resolve, 300));
  let refused = null;
  try {
    await leakwatch.writeSnapshotAsync(second);
  } catch (error) {
    refused = error;
  }
  await new Promise((resolve) => worker.once('exit', resolve));
  await rejectsWith(Promise.reject(refused), 'ERR_LEAKWATCH_BUSY');
  assert.ok(!fs.existsSync(second));
});

test('ERR_LEAKWATCH_ALREADY_ENDED: a HeapDiff ends once', () => {
  // Its temporary directory in this test's own scratch space, not in the shared /tmp
  // that memwatch-compat.test.mjs watches for leftovers.
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    const diff = new leakwatch.HeapDiff();
    diff.end();
    throwsWith(() => diff.end(), 'ERR_LEAKWATCH_ALREADY_ENDED');
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
});

test('ERR_LEAKWATCH_INVALID_OPTION: configure refuses what it does not know (a TypeError)', () => {
  for (const bad of [{ bogus: 1 }, { maxSnapshots: -1 }, { signal: 'usr2' }]) {
    assert.throws(() => leakwatch.configure(bad), (error) => error instanceof TypeError && error.code === 'ERR_LEAKWATCH_INVALID_OPTION');
  }
});

test('ERR_LEAKWATCH_INVALID_ARG: arguments of the wrong type (a TypeError)', async () => {
  await assert.rejects(leakwatch.analyze('a.heapsnapshot'), (error) => error instanceof TypeError && error.code === 'ERR_LEAKWATCH_INVALID_ARG');
  assert.throws(() => leakwatch.writeSnapshot(42), (error) => error instanceof TypeError && error.code === 'ERR_LEAKWATCH_INVALID_ARG');
});

test('ERR_LEAKWATCH_USAGE: the CLI exits 2', async () => {
  const r = await cli(['summary']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^leakwatch: summary: /);
});

test('ERR_LEAKWATCH_CANNOT_START: run of a command that does not exist exits 1 with the code', async () => {
  const out = path.join(dir, 'cannot-start');
  const r = await cli(['run', '--out', out, '--', path.join(dir, 'no-such-command')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^leakwatch: cannot start '.*no-such-command': .*\(ERR_LEAKWATCH_CANNOT_START\)$/m);
});

test('ERR_LEAKWATCH_INVALID_OPTION: run refuses an environment whose leakwatch settings the app would reject', async () => {
  const out = path.join(dir, 'bad-signal');
  const r = spawnSync(process.execPath, [path.join(root, 'cli.js'), 'run', '--out', out, '--', process.execPath, '-e', ''], { env: { ...process.env, LEAKWATCH_SIGNAL: 'SIGNOPE' }, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /LEAKWATCH_SIGNAL.*SIGNOPE.*\(ERR_LEAKWATCH_INVALID_OPTION\)/);
  assert.ok(!fs.existsSync(out), 'nothing started, nothing created');
});

test('leakwatchError builds registered codes only, with file/offset/cause properties', () => {
  const cause = new Error('inner');
  const error = leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', 'bad', { file: 'f', cause });
  assert.ok(error instanceof TypeError);
  assert.equal(error.code, 'ERR_LEAKWATCH_INVALID_OPTION');
  assert.equal(error.file, 'f');
  assert.equal(error.cause, cause);
  assert.throws(() => leakwatchError('ERR_LEAKWATCH_NO_SUCH_CODE', 'x'), TypeError);
});

// ---- one list of codes ----------------------------------------------------------------

const read = (file) => fs.readFileSync(path.join(root, file), 'utf8');
const codesIn = (text) => new Set(text.match(/ERR_LEAKWATCH_[A-Z_]+/g) || []);
const sorted = (set) => [...set].sort();

test('src/error.rs, lib/shared/errors.js, index.d.ts and the README list the same codes', async () => {
  // Loaded here, not at the top: the compiler in this process's heap would make the
  // snapshots other tests of this file take (HeapDiff) many times slower.
  const { default: ts } = await import('typescript');
  const registry = new Set(Object.keys(CODES));
  const rust = codesIn(read('src/error.rs'));
  assert.ok(rust.size >= 10, 'src/error.rs maps the core errors');
  for (const code of rust) assert.ok(registry.has(code), `${code} (src/error.rs) is missing from lib/shared/errors.js`);

  const dts = ts.createSourceFile('index.d.ts', read('index.d.ts'), ts.ScriptTarget.ES2022, true);
  const union = dts.statements.find((s) => ts.isTypeAliasDeclaration(s) && s.name.text === 'LeakwatchErrorCode');
  assert.ok(union && ts.isUnionTypeNode(union.type), 'index.d.ts declares the LeakwatchErrorCode union');
  const typed = new Set(union.type.types.map((t) => t.literal.text));
  assert.deepEqual(sorted(typed), sorted(registry), 'index.d.ts LeakwatchErrorCode');

  const readme = read('README.md');
  const table = readme.slice(readme.indexOf('## Error codes'));
  const documented = new Set([...table.matchAll(/^\| `(ERR_LEAKWATCH_[A-Z_]+)` \|/gm)].map((m) => m[1]));
  assert.deepEqual(sorted(documented), sorted(registry), 'README error code table');
});

test('every code leakwatch raises is registered', () => {
  const registry = new Set(Object.keys(CODES));
  const files = ['index.js', 'cli.js', ...fs.readdirSync(path.join(root, 'lib'), { recursive: true }).filter((f) => f.endsWith('.js')).map((f) => path.join('lib', f))];
  for (const file of files) {
    for (const code of codesIn(read(file))) assert.ok(registry.has(code), `${file} uses ${code}, which lib/shared/errors.js does not list`);
  }
});
