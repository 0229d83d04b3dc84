// Memory pressure (issue 22): before a leak kills the process, leakwatch has written the
// sampler's profile, a report and the figures (0600, complete), names the leaking code, and
// `leakwatch run` tells the story after the death. Real processes that really die: of V8's
// heap limit (--max-old-space-size), and of a container's memory limit where this machine
// lets the test make a cgroup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { cli, jsonLines, root, start } from './helpers.mjs';

const require = createRequire(import.meta.url);
const leakwatch = require('../index.js');
const FIXTURES = path.join(root, '__test__', 'fixtures', 'pressure');
const OOM_APP = path.join(FIXTURES, 'oom-app.cjs');
const REGISTER = path.join(root, 'register.js');
// Where the fixture allocates (the line of `responses.push` in rememberResponse).
const LEAK_LINE = fs
  .readFileSync(OOM_APP, 'utf8')
  .split('\n')
  .findIndex((line) => line.includes('function rememberResponse')) + 1;

let scratch;
before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-pressure-test-'));
});
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Run `node ...args` with `env` until it exits; {code, signal, stdout, stderr}. */
function runNode(args, { env = {}, wrap = null, timeoutMs = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const [command, argv] = wrap ? wrap([process.execPath, ...args]) : [process.execPath, args];
    const child = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not end in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * The evidence files of the first level reported for `resource` in `dir`, by extension: level
 * 1's, or level 2's when the first reading past level 1 was already past level 2 (the heap
 * after GC moves in steps; the guard then reports the higher level only).
 */
function evidence(dir, resource) {
  for (const level of [1, 2]) {
    const files = fs.readdirSync(dir).filter((n) => n.startsWith('leakwatch-pressure-') && n.includes(`-${resource}${level}.`));
    if (files.length) return Object.fromEntries(files.map((n) => [path.extname(n).slice(1), path.join(dir, n)]));
  }
  return {};
}

/** Every file leakwatch wrote is 0600; no partial or empty file anywhere in `dir`. */
function assertPrivateAndWhole(dir) {
  for (const name of fs.readdirSync(dir)) {
    const stat = fs.statSync(path.join(dir, name));
    assert.ok(!name.startsWith('.'), `no partial file left: ${name}`);
    assert.ok(stat.size > 0, `${name} is not empty`);
    if (name.startsWith('leakwatch-pressure-')) assert.equal(stat.mode & 0o777, 0o600, `${name} is 0600`);
  }
}

/** The .heapprofile names the leaking function at its line; `leakwatch sites` reads it too. */
async function assertNamesTheLeak(profile) {
  const parsed = JSON.parse(fs.readFileSync(profile, 'utf8'));
  assert.ok(parsed.head && Array.isArray(parsed.samples), 'a sampling heap profile');
  const sites = await cli(['sites', '--json', profile]);
  assert.equal(sites.code, 0, sites.stderr);
  const top = JSON.parse(sites.stdout).sites[0];
  assert.equal(top.functionName, 'rememberResponse', sites.stdout.slice(0, 400));
  assert.equal(path.basename(top.file), 'oom-app.cjs');
  assert.equal(top.line, LEAK_LINE);
}

test(`${process.version}: an app that leaks until V8's heap limit has its evidence written before it dies`, { timeout: 240_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'heap-'));
  const result = await runNode(['--max-old-space-size=96', '--require', REGISTER, OOM_APP], { env: { LEAKWATCH_SNAPSHOT_DIR: dir } });
  assert.match(result.stderr, /JavaScript heap out of memory/, 'the app died of heap OOM');
  assert.ok(result.signal === 'SIGABRT' || result.code === 134, `aborted (${result.code}, ${result.signal})`);
  assert.match(result.stderr, /leakwatch: memory pressure: the heap after GC is at \d+ % of the heap limit \(.* of 96\.00 mb\)/);
  const first = evidence(dir, 'heap');
  assert.deepEqual(Object.keys(first).sort(), ['heapprofile', 'json', 'txt'], `level 1's files (${fs.readdirSync(dir)})`);
  assertPrivateAndWhole(dir);
  await assertNamesTheLeak(first.heapprofile);
  const report = fs.readFileSync(first.txt, 'utf8');
  assert.match(report, /of the heap limit/);
  assert.match(report, new RegExp(`rememberResponse\` at .*oom-app\\.cjs:${LEAK_LINE}:`), report);
  assert.match(report, /no heap snapshot: snapshotOnPressure is off/);
  const figures = JSON.parse(fs.readFileSync(first.json, 'utf8'));
  assert.equal(figures.pressure.resource, 'heap');
  assert.equal(figures.pressure.limit, 96 * 1024 * 1024, 'the old generation limit, not heap_size_limit');
  assert.ok(figures.pressure.ratio >= 0.65 && figures.pressure.ratio < 1);
  assert.ok(figures.stats && figures.stats.used_heap_size > 0, 'the last stats');
});

test('leakwatch run on an app that dies of heap OOM prints what was written before, with the site', { timeout: 240_000 }, async () => {
  const out = path.join(scratch, 'run-oom');
  const { done } = start(['run', '--out', out, '--every', '10m', '--no-leak-snapshot', '--', process.execPath, '--max-old-space-size=96', OOM_APP], { timeoutMs: 220_000 });
  const result = await done;
  assert.ok(result.code === 134 || result.signal === 'SIGABRT', `run exits like the app (${result.code}, ${result.signal})`);
  assert.match(result.stderr, /the app died of heap out-of-memory near its 96\.00 mb heap limit after \d+ s/, result.stderr.slice(-3000));
  assert.match(result.stderr, /at \d+ % of its heap limit leakwatch wrote .*leakwatch-pressure-\d+-\w+-heap[12]\.txt, .*\.heapprofile/);
  assert.match(result.stderr, new RegExp(`\`rememberResponse\` at .*oom-app\\.cjs:${LEAK_LINE}:\\d+ held [\\d.]+ mb`));
});

test('a healthy app whose cache sits past the first threshold gets one pressure report, with a snapshot when there is room', { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'healthy-'));
  const child = spawn(process.execPath, ['--max-old-space-size=96', path.join(FIXTURES, 'healthy-cache.cjs')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', LW_PATH: path.join(root, 'index.js'), OUT_DIR: dir, CACHE_MB: '40', RUN_MS: '15000' },
  });
  const lines = jsonLines(child.stdout);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.ok(lines.some((l) => l.done), `ran to the end: ${JSON.stringify(lines).slice(0, 500)}`);
  assert.deepEqual(lines.filter((l) => l.error), [], 'no error');
  const events = lines.filter((l) => l.resource);
  assert.equal(events.length, 1, `one report for a cache that stays full, not one per GC: ${events.map((e) => e.reason).join('; ')}`);
  const [event] = events;
  assert.equal(event.level, 1);
  assert.ok(event.ratio >= 0.3 && event.ratio < 0.95, event.reason);
  assert.ok(event.snapshot && fs.existsSync(event.snapshot), `a snapshot fits in the memory available: ${event.snapshotSkipped}`);
  const summary = await leakwatch.summarize(event.snapshot);
  assert.ok(summary.nodes > 1000, 'a whole snapshot');
  assertPrivateAndWhole(dir);
});

test("a 'memoryPressure' listener alone starts the guard", { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'listener-'));
  const script = `
    const lw = require(${JSON.stringify(path.join(root, 'index.js'))});
    lw.configure({ snapshotDir: ${JSON.stringify(dir)}, memoryPressure: { heap: [0.2, 0.9] } });
    lw.on('memoryPressure', (e) => { console.log(JSON.stringify({ level: e.level, resource: e.resource, report: e.files.report })); process.exit(0); });
    globalThis.keep = Array.from({ length: 300000 }, (_, i) => ({ i, s: 'kept ' + i }));
    setInterval(() => lw.gc(), 100);
    setTimeout(() => { console.log(JSON.stringify({ none: true })); process.exit(1); }, 20000);`;
  const result = await runNode(['--max-old-space-size=64', '-e', script]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const event = JSON.parse(result.stdout.trim());
  assert.equal(event.resource, 'heap');
  assert.ok(fs.existsSync(event.report), 'its report written');
});

test('memoryPressure thresholds are validated; false turns the guard off', () => {
  for (const bad of [{ heap: [0.9, 0.5] }, { heap: [0.5] }, { memory: [0, 2] }, { cooldownMs: -1 }, { bogus: 1 }, 'yes']) {
    assert.throws(() => leakwatch.configure({ memoryPressure: bad }), { code: 'ERR_LEAKWATCH_INVALID_OPTION' }, JSON.stringify(bad));
  }
  leakwatch.configure({ memoryPressure: { heap: [0.5, 0.6] } });
  leakwatch.configure({ memoryPressure: false });
  assert.throws(() => leakwatch.configure({ snapshotOnPressure: 'yes' }), { code: 'ERR_LEAKWATCH_INVALID_OPTION' });
});

/**
 * A child memory cgroup limited to `bytes` that this process may create (root, a writable
 * cgroup v2 with the memory controller, or cgroup v1's memory hierarchy); null when this
 * machine does not allow it, with the reason in `why`.
 */
function memoryCgroup(bytes, why) {
  if (process.getuid?.() !== 0) return (why.push('not root'), null);
  const name = `leakwatch-test-${process.pid}`;
  const v2 = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'].find((dir) => {
    try {
      return fs.readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory');
    } catch {
      return false;
    }
  });
  const attempts = [];
  if (v2) attempts.push({ dir: path.join(v2, name), limits: ['memory.max', 'memory.swap.max'] });
  attempts.push({ dir: path.join('/sys/fs/cgroup/memory', name), limits: ['memory.limit_in_bytes', 'memory.memsw.limit_in_bytes'] });
  for (const { dir, limits } of attempts) {
    try {
      fs.mkdirSync(dir);
    } catch (error) {
      why.push(`${dir}: ${error.code}`);
      continue;
    }
    try {
      fs.writeFileSync(path.join(dir, limits[0]), String(bytes));
      try {
        fs.writeFileSync(path.join(dir, limits[1]), limits[1] === 'memory.swap.max' ? '0' : String(bytes));
      } catch {
        // no swap accounting: nothing to limit
      }
      return { procs: path.join(dir, 'cgroup.procs'), remove: () => fs.rmdirSync(dir) };
    } catch (error) {
      why.push(`${dir}/${limits[0]}: ${error.code}`);
      fs.rmdirSync(dir);
    }
  }
  return null;
}

test("an app that leaks until its container's memory limit has its evidence written before the kernel kills it", { timeout: 240_000 }, async (t) => {
  const why = [];
  const cgroup = memoryCgroup(200 * 1024 * 1024, why);
  if (!cgroup) {
    t.skip(`cannot make a memory cgroup here (${why.join('; ')}): run as root with a writable cgroup v2 (memory controller) or v1 memory hierarchy`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(scratch, 'cgroup-'));
  try {
    const result = await runNode(['--require', REGISTER, OOM_APP], {
      env: { LEAKWATCH_SNAPSHOT_DIR: dir, LEAKWATCH_OPTIONS: JSON.stringify({ snapshotOnPressure: true }), LEAK_MB_PER_S: '8' },
      // Into the cgroup, then exec: the app is the process the limit applies to.
      wrap: ([node, ...args]) => ['/bin/sh', ['-c', `echo $$ > "$0" && exec "$@"`, cgroup.procs, node, ...args]],
    });
    assert.ok(result.signal === 'SIGKILL' || result.code === 137, `killed at the limit (${result.code}, ${result.signal}): ${result.stderr.slice(-1000)}`);
    const first = evidence(dir, 'memory');
    assert.deepEqual(Object.keys(first).sort(), ['heapprofile', 'json', 'txt'], `level 1's files (${fs.readdirSync(dir)}); stderr: ${result.stderr.slice(-1500)}`);
    assertPrivateAndWhole(dir);
    await assertNamesTheLeak(first.heapprofile);
    const report = fs.readFileSync(first.txt, 'utf8');
    assert.match(report, /of the container's memory limit \(.* of 200\.00 mb\)/, report);
    assert.match(report, /no heap snapshot: .* of memory available, and writing one needs about 13x the used heap/, report);
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.heapsnapshot')), [], 'no snapshot attempted without room');
  } finally {
    cgroup.remove();
  }
});
