// `leakwatch summary` and `leakwatch diff` through the real command line (node cli.js …)
// and the JS API, on snapshots written by a child process with known contents
// (fixtures/cli/known-heap.cjs), checked against an independent plain-JS reference that
// JSON.parses the same files. Also: bad input, usage errors and --help for every command.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { cli as runCli } from './helpers.mjs';

const cli = (args, options = {}) => runCli(args, { timeoutMs: 20000, ...options });

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const FIXTURE = path.join(here, 'fixtures', 'cli', 'known-heap.cjs');
const leakwatch = createRequire(import.meta.url)('leakwatch');

let scratch;
let snap; // {before, after}


/**
 * The reference: per-class count and self size by plain JSON.parse, with DevTools'
 * class naming: object/native nodes by name, hidden -> (system), code -> (compiled code),
 * everything else -> (type).
 */
function reference(file) {
  const snapshot = JSON.parse(fs.readFileSync(file, 'utf8'));
  const meta = snapshot.snapshot.meta;
  const width = meta.node_fields.length;
  const types = meta.node_types[0];
  const TYPE = meta.node_fields.indexOf('type');
  const NAME = meta.node_fields.indexOf('name');
  const SIZE = meta.node_fields.indexOf('self_size');
  const ID = meta.node_fields.indexOf('id');
  const classes = new Map();
  let totalSize = 0;
  const sizesOf = new Map(); // class -> self sizes of its instances (for a few classes)
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + TYPE]];
    const name = snapshot.strings[snapshot.nodes[i + NAME]];
    const cls = type === 'object' || type === 'native' ? name : type === 'hidden' ? '(system)' : type === 'code' ? '(compiled code)' : `(${type})`;
    const size = snapshot.nodes[i + SIZE];
    const entry = classes.get(cls) || { count: 0, selfSize: 0, ids: [] };
    entry.count += 1;
    entry.selfSize += size;
    if (['Widget', 'Gadget', 'Item', 'Holder'].includes(cls)) {
      entry.ids.push(snapshot.nodes[i + ID]);
      if (!sizesOf.has(cls)) sizesOf.set(cls, new Set());
      sizesOf.get(cls).add(size);
    }
    classes.set(cls, entry);
    totalSize += size;
  }
  return { nodes: snapshot.nodes.length / width, edges: snapshot.edges.length / meta.edge_fields.length, totalSize, classes, sizesOf };
}

before(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-cli-test-'));
  const out = execFileSync(process.execPath, [FIXTURE, scratch], { timeout: 30000, encoding: 'utf8' });
  snap = JSON.parse(out);
  assert.equal(snap.widgets, 10500);
});
after(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

test('summary --json counts exactly what the reference counts, class by class', { timeout: 30000 }, async () => {
  const { code, stdout, stderr } = await cli(['summary', snap.before, '--json']);
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout);
  assert.deepEqual(Object.keys(summary).sort(), ['classes', 'edges', 'file', 'maxJsId', 'nodes', 'totalSize'].sort());
  assert.equal(summary.file, snap.before);
  const ref = reference(snap.before);
  assert.equal(summary.nodes, ref.nodes);
  assert.equal(summary.edges, ref.edges);
  assert.equal(summary.totalSize, ref.totalSize);
  assert.equal(summary.classes.length, ref.classes.size, 'same set of classes');
  for (const c of summary.classes) {
    assert.deepEqual(Object.keys(c).sort(), ['count', 'name', 'selfSize']);
    const r = ref.classes.get(c.name);
    assert.ok(r, `class ${c.name} is not in the reference`);
    assert.equal(c.count, r.count, `count of ${c.name}`);
    assert.equal(c.selfSize, r.selfSize, `self size of ${c.name}`);
  }
  const byName = new Map(summary.classes.map((c) => [c.name, c]));
  assert.equal(byName.get('Widget').count, 10000);
  assert.equal(byName.get('Gadget').count, 3000);
  assert.equal(byName.get('Item').count, 2000);
  assert.equal(byName.get('Holder').count, 1);
  // Sorted by self size, largest first.
  for (let i = 1; i < summary.classes.length; i++) assert.ok(summary.classes[i - 1].selfSize >= summary.classes[i].selfSize);
});

test('the JS API summarize() agrees with the CLI and the reference', { timeout: 30000 }, async () => {
  const summary = await leakwatch.summarize(snap.after);
  const ref = reference(snap.after);
  assert.equal(summary.nodes, ref.nodes);
  assert.equal(summary.totalSize, ref.totalSize);
  const byName = new Map(summary.classes.map((c) => [c.name, c]));
  for (const [name, r] of ref.classes) {
    assert.equal(byName.get(name)?.count, r.count, `count of ${name}`);
    assert.equal(byName.get(name)?.selfSize, r.selfSize, `self size of ${name}`);
  }
  assert.equal(byName.get('Widget').count, 10500);
  assert.equal(byName.get('Gadget').count, 2000);
});

test('summary table: header, aligned rows with human sizes, --top N limits rows', { timeout: 30000 }, async () => {
  const full = await cli(['summary', snap.before, '--top', '0']);
  assert.equal(full.code, 0, full.stderr);
  const lines = full.stdout.trimEnd().split('\n');
  assert.match(lines[0], new RegExp(`^${snap.before.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ nodes, \\d+ edges, .* in \\d+ classes$`));
  assert.match(lines[2], /^Class\s+Count\s+Self size$/);
  const widget = lines.find((l) => l.startsWith('Widget '));
  assert.match(widget, /^Widget\s+10000\s+312\.50 kb$/);
  // columns are aligned: every row starts its Count column at the same place as the header
  const countColumn = lines[2].indexOf('Count');
  for (const row of lines.slice(3)) assert.equal(row[countColumn - 1], ' ', `row not aligned: ${row}`);

  const top = await cli(['summary', snap.before, '--top', '3']);
  assert.equal(top.code, 0, top.stderr);
  const topLines = top.stdout.trimEnd().split('\n');
  const classes = reference(snap.before).classes.size;
  // title, blank, header, 3 rows, "… N more classes"
  assert.equal(topLines.length, 7, top.stdout);
  assert.equal(topLines[6], `… ${classes - 3} more classes (--top 0 shows all)`);
  const cells = (line) => line.trim().split(/\s{2,}/);
  assert.deepEqual(topLines.slice(3, 6).map(cells), lines.slice(3, 6).map(cells), '--top 3 shows the first three rows of the full table');
});

test('summary --json --top N keeps the N largest classes', { timeout: 30000 }, async () => {
  const { code, stdout, stderr } = await cli(['summary', snap.before, '--json', '--top', '4']);
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout);
  const all = await leakwatch.summarize(snap.before);
  assert.deepEqual(summary.classes, all.classes.slice(0, 4));
  assert.equal(summary.nodes, all.nodes, 'totals still describe the whole heap');
});

test('summary --retained adds retained sizes; a Holder of 2,000 48-byte Items retains at least 2,000 × 48 bytes', { timeout: 30000 }, async () => {
  const ref = reference(snap.before);
  assert.deepEqual([...ref.sizesOf.get('Item')], [48], 'every Item is 48 bytes in the file');
  const { code, stdout, stderr } = await cli(['summary', snap.before, '--retained', '--json']);
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout);
  for (const c of summary.classes) {
    assert.equal(typeof c.retainedSize, 'number', `${c.name} has a retained size`);
    assert.ok(c.retainedSize >= c.selfSize, `${c.name}: retained ${c.retainedSize} < self ${c.selfSize}`);
    assert.equal(c.count, ref.classes.get(c.name).count, `--retained keeps the counts of ${c.name}`);
  }
  const byName = new Map(summary.classes.map((c) => [c.name, c]));
  assert.ok(byName.get('Holder').retainedSize >= 2000 * 48, `Holder retains ${byName.get('Holder').retainedSize}`);
  // Items hold only small integers: they retain exactly themselves.
  assert.equal(byName.get('Item').retainedSize, 2000 * 48);
  assert.equal(byName.get('Widget').retainedSize, byName.get('Widget').selfSize);

  const table = await cli(['summary', snap.before, '--retained', '--top', '0']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^Class\s+Count\s+Self size\s+Retained size$/m);
  assert.match(table.stdout, /^Holder\s+1\s+\S+ bytes\s+1\d\d\.\d\d kb$/m);

  const api = await leakwatch.summarizeRetained(snap.before);
  assert.deepEqual(api.classes, summary.classes);
});

test('diff --json: memwatch HeapDiff shape, +500 Widget and -1000 Gadget exactly', { timeout: 30000 }, async () => {
  const { code, stdout, stderr } = await cli(['diff', snap.before, snap.after, '--json']);
  assert.equal(code, 0, stderr);
  const diff = JSON.parse(stdout);
  const [a, b] = [reference(snap.before), reference(snap.after)];
  assert.deepEqual(Object.keys(diff).sort(), ['after', 'before', 'change']);
  assert.deepEqual(Object.keys(diff.before).sort(), ['nodes', 'size', 'size_bytes']);
  assert.deepEqual(Object.keys(diff.change).sort(), ['allocated_nodes', 'details', 'freed_nodes', 'size', 'size_bytes']);
  assert.equal(diff.before.nodes, a.nodes);
  assert.equal(diff.after.nodes, b.nodes);
  assert.equal(diff.before.size_bytes, a.totalSize);
  assert.equal(diff.after.size_bytes, b.totalSize);
  assert.equal(diff.change.size_bytes, b.totalSize - a.totalSize);
  assert.match(diff.before.size, /^\d+(\.\d+)? (bytes|kb|mb|gb)$/);
  assert.equal(diff.after.nodes - diff.before.nodes, diff.change.allocated_nodes - diff.change.freed_nodes);
  const detail = (what) => diff.change.details.find((d) => d.what === what);
  for (const d of diff.change.details) assert.deepEqual(Object.keys(d).sort(), ['+', '-', 'size', 'size_bytes', 'what']);
  assert.deepEqual({ ...detail('Widget') }, { what: 'Widget', size_bytes: 500 * 32, size: '15.62 kb', '+': 500, '-': 0 });
  assert.equal(detail('Gadget')['+'], 0);
  assert.equal(detail('Gadget')['-'], 1000);
  assert.equal(detail('Gadget').size_bytes, -1000 * 32);
  // Item and Holder did not change: if listed at all, with zeros.
  for (const same of ['Item', 'Holder']) {
    const d = detail(same);
    if (d) assert.deepEqual([d['+'], d['-'], d.size_bytes], [0, 0, 0]);
  }
  // Ids: + and - against the reference's id sets.
  const idsA = new Set(a.classes.get('Widget').ids);
  assert.equal(b.classes.get('Widget').ids.filter((id) => !idsA.has(id)).length, 500);
  const idsB = new Set(b.classes.get('Gadget').ids);
  assert.equal(a.classes.get('Gadget').ids.filter((id) => !idsB.has(id)).length, 1000);

  const api = await leakwatch.diffSnapshots(snap.before, snap.after);
  assert.deepEqual(api, diff);
});

test('diff table: totals, +N/-M columns, --top', { timeout: 30000 }, async () => {
  const { code, stdout, stderr } = await cli(['diff', snap.before, snap.after, '--top', '0']);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^before: \d+ nodes, .+$/m);
  assert.match(stdout, /^after: {2}\d+ nodes, .+$/m);
  assert.match(stdout, /^change: .+ \(\+\d+ allocated, -\d+ freed\)$/m);
  assert.match(stdout, /^Class\s+New\s+Freed\s+Size change$/m);
  assert.match(stdout, /^Widget\s+\+500\s+-0\s+15\.62 kb$/m);
  assert.match(stdout, /^Gadget\s+\+0\s+-1000\s+-31\.25 kb$/m);
  const top = await cli(['diff', snap.before, snap.after, '--top', '2']);
  assert.equal(top.code, 0, top.stderr);
  const rows = top.stdout.split('\n').slice(4).filter((l) => l && !l.startsWith('…'));
  assert.equal(rows.length, 3, top.stdout); // header + 2
  assert.match(top.stdout, /… \d+ more classes \(--top 0 shows all\)/);
  const json = await cli(['diff', snap.before, snap.after, '--json', '--top', '2']);
  assert.equal(JSON.parse(json.stdout).change.details.length, 2);
});

// ---- bad input --------------------------------------------------------------------

/** Bad files, each with what the one-line message must say and the error's code. */
function badFiles() {
  const dir = fs.mkdtempSync(path.join(scratch, 'bad-'));
  const good = fs.readFileSync(snap.before);
  const write = (name, bytes) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  const dirPath = path.join(dir, 'a-directory.heapsnapshot');
  fs.mkdirSync(dirPath);
  return [
    { what: 'empty file', file: write('empty.heapsnapshot', ''), byte: 0, code: 'ERR_LEAKWATCH_TRUNCATED' },
    { what: 'truncated after 10 bytes', file: write('trunc10.heapsnapshot', good.subarray(0, 10)), byte: true, code: 'ERR_LEAKWATCH_TRUNCATED' },
    { what: 'truncated in the nodes array', file: write('trunc-mid.heapsnapshot', good.subarray(0, Math.floor(good.length / 3))), byte: Math.floor(good.length / 3), code: 'ERR_LEAKWATCH_TRUNCATED' },
    { what: 'truncated by one byte', file: write('trunc-1.heapsnapshot', good.subarray(0, good.length - 1)), byte: true, code: 'ERR_LEAKWATCH_TRUNCATED' },
    { what: 'not JSON', file: write('text.heapsnapshot', 'this is not a heap snapshot\n'), byte: 0, code: 'ERR_LEAKWATCH_NOT_A_SNAPSHOT' },
    { what: 'JSON that is not a snapshot', file: write('other.json', JSON.stringify({ hello: 'world', nodes: 'no' })), byte: true, code: 'ERR_LEAKWATCH_NOT_A_SNAPSHOT' },
    { what: 'a JSON array', file: write('array.json', '[1,2,3]'), byte: 0, code: 'ERR_LEAKWATCH_NOT_A_SNAPSHOT' },
    { what: 'a directory', file: dirPath, byte: false, says: /director/, code: 'ERR_LEAKWATCH_NOT_A_FILE' },
    { what: 'a missing path', file: path.join(dir, 'missing.heapsnapshot'), byte: false, says: /no such file|not found|does not exist/i, code: 'ERR_LEAKWATCH_NOT_FOUND' },
  ];
}

test('bad input: summary, summary --retained, diff and analyze exit 1 with one line naming the file (and the byte)', { timeout: 60000 }, async () => {
  const cases = badFiles();
  const runs = [];
  for (const c of cases) {
    runs.push([c, ['summary', c.file]]);
    runs.push([c, ['summary', '--retained', c.file]]);
    runs.push([c, ['diff', snap.before, c.file]]);
    runs.push([c, ['analyze', snap.before, snap.after, c.file]]);
  }
  const results = await Promise.all(runs.map(([, args]) => cli(args)));
  results.forEach((r, i) => {
    const [c, args] = runs[i];
    const label = `${c.what}: leakwatch ${args.join(' ')}`;
    assert.equal(r.code, 1, `${label} → exit ${r.code}\n${r.stderr}`);
    assert.equal(r.stdout, '', label);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${label}: one line, got:\n${r.stderr}`);
    assert.ok(lines[0].startsWith('leakwatch: '), label);
    assert.ok(lines[0].includes(c.file), `${label}: names the file: ${lines[0]}`);
    if (c.byte === true) assert.match(lines[0], /byte \d+/, label);
    else if (typeof c.byte === 'number') assert.match(lines[0], new RegExp(`byte ${c.byte}\\b`), label);
    if (c.says) assert.match(lines[0], c.says, label);
    assert.doesNotMatch(r.stderr, /panick|RUST_BACKTRACE|at .*\.js:\d+/, label);
  });
});

test('bad input through the JS API rejects with an Error naming the file', { timeout: 30000 }, async () => {
  for (const c of badFiles()) {
    await assert.rejects(leakwatch.summarize(c.file), (e) => e instanceof Error && e.message.includes(c.file), c.what);
    await assert.rejects(leakwatch.diffSnapshots(snap.before, c.file), (e) => e instanceof Error && e.message.includes(c.file), c.what);
  }
});

test('bad input through the JS API: a stable code, the file, and the byte offset where it applies', { timeout: 30000 }, async () => {
  for (const c of badFiles()) {
    const expected = (e) => {
      assert.equal(e.code, c.code, `${c.what}: ${e.message}`);
      assert.equal(e.file, c.file, c.what);
      if (typeof c.byte === 'number') assert.equal(e.offset, c.byte, c.what);
      else if (c.byte === true) assert.ok(Number.isInteger(e.offset), `${c.what}: offset ${e.offset}`);
      else assert.equal(e.offset, undefined, c.what);
      return true;
    };
    await assert.rejects(leakwatch.summarize(c.file), expected, c.what);
    await assert.rejects(leakwatch.summarize(c.file, { retained: true }), expected, c.what);
    await assert.rejects(leakwatch.diffSnapshots(snap.before, c.file), expected, c.what);
    await assert.rejects(leakwatch.analyze([snap.before, snap.after, c.file]), expected, c.what);
  }
});

// ---- usage ------------------------------------------------------------------------

test('usage errors exit 2 with a message on stderr and nothing on stdout', { timeout: 60000 }, async () => {
  const cases = [
    [],
    ['bogus'],
    ['summary'],
    ['summary', 'a', 'b'],
    ['summary', '--top', 'x', 'f'],
    ['summary', '--top', '-1', 'f'],
    ['summary', '--bogus', 'f'],
    ['summary', '--json=1', 'f'],
    ['diff', 'a'],
    ['diff', 'a', 'b', 'c'],
    ['diff', '--top', '1.5', 'a', 'b'],
    ['analyze', 'a', 'b'],
    ['analyze', 'a', 'b', 'c', '--min-count', 'x'],
    ['analyze', 'a', 'b', 'c', '--min-retained', '-5'],
    ['plot', 'stats.jsonl'],
    ['plot', '-o', 'x.svg'],
    ['plot', 'stats.jsonl', '-o', 'x.svg', '--width', 'wide'],
    ['run'],
    ['run', '--every', 'soon', '--', 'node', '-e', '0'],
    ['run', '--snapshots', 'many', '--', 'node', '-e', '0'],
    ['demo', 'extra'],
  ];
  const results = await Promise.all(cases.map((args) => cli(args)));
  results.forEach((r, i) => {
    const label = `leakwatch ${cases[i].join(' ')}`;
    assert.equal(r.code, 2, `${label} → exit ${r.code}\n${r.stderr}`);
    assert.equal(r.stdout, '', `${label}: stdout stays empty`);
    // No command at all prints the general usage; everything else says what is wrong first.
    assert.match(r.stderr, cases[i].length === 0 ? /^leakwatch — .*\n\nUsage:/ : /^leakwatch: /, label);
    assert.match(r.stderr, /Usage|--help/, label);
  });
});

test('--help for leakwatch and for each command: exit 0, usage on stdout', { timeout: 60000 }, async () => {
  const general = await cli(['--help']);
  assert.equal(general.code, 0);
  assert.equal(general.stderr, '');
  for (const name of ['summary', 'diff', 'analyze', 'plot', 'run', 'demo', 'report']) assert.match(general.stdout, new RegExp(`leakwatch ${name}\\b`));
  assert.match(general.stdout, /Exit codes: 0 ok, 1 error, 2 usage error, 3 leak found/);
  const version = await cli(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  const names = ['summary', 'diff', 'analyze', 'plot', 'run', 'demo', 'report'];
  const results = await Promise.all(names.flatMap((name) => [cli([name, '--help']), cli([name, '-h'])]));
  names.forEach((name, i) => {
    for (const r of results.slice(2 * i, 2 * i + 2)) {
      assert.equal(r.code, 0, `${name} --help`);
      assert.equal(r.stderr, '', `${name} --help`);
      assert.match(r.stdout, new RegExp(`^Usage: leakwatch ${name}\\b`));
    }
  });
  const expectations = {
    summary: ['--top', '--retained', '--json'],
    diff: ['--top', '--json'],
    analyze: ['--top', '--min-count', '--min-retained', '--json', '--fail-on-leak'],
    plot: ['--output', '--title', '--pid', '--width'],
    run: ['--snapshots', '--every', '--duration', '--out'],
    demo: ['--out'],
    report: ['--output', '--pid', '--redact'],
  };
  names.forEach((name, i) => {
    for (const option of expectations[name]) assert.ok(results[2 * i].stdout.includes(option), `${name} --help mentions ${option}`);
  });
});
