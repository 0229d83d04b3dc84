// Hardening against a hostile local user and a hostile host app (issue 14, items 1–4, 9, 10),
// through the real interfaces: the CLI and the library in real child processes, real
// signals, and a second Unix user created here (skipped, with the reason, when it cannot be).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { CLI, root, sleep, until } from './helpers.mjs';

const require = createRequire(import.meta.url);
const LEAKWATCH = path.join(root, 'index.js');
const analysis = require(path.join(root, 'lib', 'shared', 'analysis.js'));

// The Node that runs this file: `npm run test:matrix` (scripts/node-matrix.mjs) runs it on every
// Node line users run (22, 24, 26; the addon is one N-API 9 binary for all). Paths of other
// Nodes written here only ever skipped.
const NODES = [['this node', process.execPath]];

let scratch;
let reachable; // where the second user can reach the shared directories
before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-harden-test-'));
  reachable = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-harden-shared-'));
  fs.chmodSync(reachable, 0o755);
});
after(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  if (reachable) fs.rmSync(reachable, { recursive: true, force: true });
});

/** Run a process to its end; resolves {code, signal, stdout, stderr}; killed (group) after timeoutMs. */
function run(command, args, { timeoutMs = 60000, input, ...options } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {});
    if (input) fs.createReadStream(input).pipe(child.stdin);
    else child.stdin.end();
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      reject(new Error(`${command} ${args.join(' ')} timed out after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid });
    });
  });
}

const cli = (args, options) => run(process.execPath, [CLI, ...args], options);

/** Run `script` (CommonJS) in `node` with leakwatch at LW; the last stdout line is JSON. */
async function nodeScript(node, script, { env = {}, args = [], timeoutMs = 60000 } = {}) {
  const file = path.join(scratch, `script-${process.hrtime.bigint()}.cjs`);
  fs.writeFileSync(file, script);
  const r = await run(node, [file, ...args], { timeoutMs, env: { ...process.env, NODE_OPTIONS: '', LW: LEAKWATCH, LEAKWATCH_QUIET: '1', ...env } });
  const last = r.stdout.trim().split('\n').pop();
  let result = null;
  try {
    result = JSON.parse(last);
  } catch {}
  return { ...r, result };
}

// ---------------------------------------------------------------------------
// A second Unix user who plants directories and symlinks.

let attacker = null;
let noAttacker = null;
function secondUser() {
  if (attacker || noAttacker) return attacker;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    noAttacker = 'not running as root: cannot create a second Unix user';
    return null;
  }
  const name = `lwharden${process.pid}`;
  const made = spawnSync('useradd', ['--no-create-home', '--shell', '/bin/sh', name], { encoding: 'utf8' });
  if (made.error || made.status !== 0) {
    noAttacker = `useradd failed: ${made.error ? made.error.message : made.stderr.trim()}`;
    return null;
  }
  const id = (flag) => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
  attacker = { name, uid: id('-u'), gid: id('-g') };
  return attacker;
}
after(() => {
  if (attacker) spawnSync('userdel', [attacker.name]);
});

/** Run a shell script as the second user; it must succeed. */
function asAttacker(script) {
  const r = spawnSync('sh', ['-c', script], { uid: attacker.uid, gid: attacker.gid, cwd: '/', encoding: 'utf8' });
  assert.equal(r.status, 0, `attacker script failed: ${r.stderr}`);
}

/** A root-owned file whose content must survive, and a sticky world-writable dir like /tmp. */
function victimAndShared(label) {
  const victim = path.join(scratch, `${label}-victim.txt`);
  fs.writeFileSync(victim, `precious ${label}\n`, { mode: 0o644 });
  const shared = fs.mkdtempSync(path.join(reachable, `${label}-`));
  fs.chmodSync(shared, 0o1777);
  return { victim, shared, original: fs.readFileSync(victim, 'utf8') };
}

const sq = (s) => `'${s.replace(/'/g, "'\\''")}'`;
const plantDir = (dir, victim) => `mkdir -p ${sq(dir)} && chmod 777 ${sq(dir)} && ln -s ${sq(victim)} ${sq(dir + '/stats.jsonl')} && ln -s ${sq(victim)} ${sq(dir + '/memory.svg')}`;

const SHORT_APP = ['--', process.execPath, '-e', 'setTimeout(() => {}, 300)'];

describe('item 1: output directories another user prepared are refused, files never written through links', () => {
  test('run --out <a directory another user owns, with links to a root file> is refused; the file is untouched', async (t) => {
    if (!secondUser()) return t.skip(noAttacker);
    const { victim, shared, original } = victimAndShared('out');
    const evil = path.join(shared, 'evil');
    asAttacker(plantDir(evil, victim));
    const r = await cli(['run', '--out', evil, '--duration', '5s', ...SHORT_APP]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ERR_LEAKWATCH_UNSAFE_DIR/);
    assert.equal(fs.readFileSync(victim, 'utf8'), original);
    assert.deepEqual(fs.readdirSync(evil).sort(), ['memory.svg', 'stats.jsonl']);
    // Owned by the other user but closed to others: still not ours to write in.
    asAttacker(`chmod 755 ${sq(evil)}`);
    const again = await cli(['run', '--out', evil, ...SHORT_APP]);
    assert.match(again.stderr, /ERR_LEAKWATCH_UNSAFE_DIR/);
    assert.equal(fs.readFileSync(victim, 'utf8'), original);
    fs.rmSync(shared, { recursive: true, force: true });
  });

  test('run with the default ./leakwatch-<date>-<time> in a shared /tmp-like dir: pre-created names are refused', async (t) => {
    if (!secondUser()) return t.skip(noAttacker);
    const { victim, shared, original } = victimAndShared('default');
    // Every name the run could pick in the next 40 seconds.
    const stamp = (ms) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    const now = Date.now();
    const names = Array.from({ length: 42 }, (_, i) => `leakwatch-${stamp(now + (i - 2) * 1000)}`);
    asAttacker(names.map((n) => plantDir(path.join(shared, n), victim)).join(' && '));
    const r = await cli(['run', '--duration', '5s', ...SHORT_APP], { cwd: shared });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /ERR_LEAKWATCH_UNSAFE_DIR/);
    assert.equal(fs.readFileSync(victim, 'utf8'), original);
    for (const n of names) assert.ok(fs.lstatSync(path.join(shared, n, 'stats.jsonl')).isSymbolicLink());
    fs.rmSync(shared, { recursive: true, force: true });
  });

  test('demo: its default directory is fresh and private, whatever /tmp/leakwatch-demo-<pid> holds', async (t) => {
    if (!secondUser()) return t.skip(noAttacker);
    const { victim, shared, original } = victimAndShared('demo');
    // The directories the old demo would have used for the next pids.
    let next;
    try {
      next = Number(fs.readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8')) + 1;
    } catch {
      next = process.pid + 1;
    }
    // The demo's temp dir is TMPDIR: a sticky, world-writable one of this test's own, so
    // that the system's /tmp (which other tests watch) is left alone.
    const tmp = path.join(shared, 'tmp');
    fs.mkdirSync(tmp);
    fs.chmodSync(tmp, 0o1777);
    const planted = Array.from({ length: 150 }, (_, i) => path.join(tmp, `leakwatch-demo-${next + i}`));
    asAttacker(planted.map((d) => plantDir(d, victim)).join(' && '));
    try {
      const child = spawn(process.execPath, [CLI, 'demo'], { cwd: root, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const outDir = await until(() => (/output in (\S+)\n/.exec(stderr) || [])[1], 20000, 'the demo to name its directory');
      // Let it write stats.jsonl and start the app, then stop it.
      await until(() => fs.existsSync(path.join(outDir, 'stats.jsonl')), 10000, 'stats.jsonl');
      process.kill(-child.pid, 'SIGKILL');
      assert.ok(!planted.includes(outDir), `${outDir} is one of the planted directories`);
      assert.equal(path.dirname(outDir), tmp);
      assert.match(path.basename(outDir), /^leakwatch-demo-[A-Za-z0-9]{6}$/);
      const stat = fs.lstatSync(outDir);
      assert.ok(stat.isDirectory());
      assert.equal(stat.uid, process.getuid());
      assert.equal(stat.mode & 0o777, 0o700);
      assert.equal(fs.lstatSync(path.join(outDir, 'stats.jsonl')).mode & 0o777, 0o600);
      assert.equal(fs.readFileSync(victim, 'utf8'), original);
      fs.rmSync(outDir, { recursive: true, force: true });
      // And an explicit --out prepared by the other user is refused.
      const evil = path.join(shared, 'evil');
      asAttacker(plantDir(evil, victim));
      const r = await cli(['demo', '--out', evil]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ERR_LEAKWATCH_UNSAFE_DIR/);
      assert.equal(fs.readFileSync(victim, 'utf8'), original);
    } finally {
      for (const d of planted) fs.rmSync(d, { recursive: true, force: true });
      fs.rmSync(shared, { recursive: true, force: true });
    }
  });

  test('plot -o <a symlink to another file> replaces the link with a new 0600 chart; the target is untouched', async () => {
    const dir = fs.mkdtempSync(path.join(scratch, 'plot-'));
    const victim = path.join(scratch, 'plot-victim.txt');
    fs.writeFileSync(victim, 'precious\n');
    const stats = path.join(dir, 'stats.jsonl');
    const t0 = Date.now();
    fs.writeFileSync(stats, [0, 1, 2].map((i) => JSON.stringify({ event: 'stats', t: t0 + i * 1000, pid: 1, used_heap_size: 1e6 * (i + 1), external: 0, estimated_base: 1e6 })).join('\n') + '\n');
    const chart = path.join(dir, 'memory.svg');
    fs.symlinkSync(victim, chart);
    const r = await cli(['plot', stats, '-o', chart]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
    const stat = fs.lstatSync(chart);
    assert.ok(stat.isFile());
    assert.equal(stat.mode & 0o777, 0o600);
    assert.match(fs.readFileSync(chart, 'utf8'), /<svg/);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['memory.svg', 'stats.jsonl']);
  });
});

// ---------------------------------------------------------------------------

test('item 2: names planted where the partial file would go neither block the dump nor get deleted', async () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'partial-'));
  const victim = path.join(scratch, 'partial-victim.txt');
  fs.writeFileSync(victim, 'precious\n');
  const r = await nodeScript(
    process.execPath,
    `
    const fs = require('node:fs'), path = require('node:path'), crypto = require('node:crypto');
    const [dir, victim] = process.argv.slice(2);
    const leakwatch = require(process.env.LW);
    // The name the partial file used to have (pid-based), planted as a link to a file.
    fs.symlinkSync(victim, path.join(dir, '.x.heapsnapshot.' + process.pid + '.partial'));
    // And a collision with the first random name: plant it, the dump must pick another.
    const realRandom = crypto.randomBytes;
    let forced = false;
    crypto.randomBytes = (n, ...rest) => {
      if (!forced && n === 8) { forced = true; return Buffer.alloc(8, 0xab); }
      return realRandom(n, ...rest);
    };
    fs.symlinkSync(victim, path.join(dir, '.x.heapsnapshot.' + 'ab'.repeat(8) + '.partial'));
    leakwatch.writeSnapshotAsync(path.join(dir, 'x.heapsnapshot')).then(
      (info) => console.log(JSON.stringify({ ok: true, bytes: info.bytes, forced })),
      (error) => console.log(JSON.stringify({ ok: false, code: error.code, message: error.message })),
    );
    `,
    { args: [dir, victim], env: { LEAKWATCH_SIGNAL: 'off' } },
  );
  assert.ok(r.result && r.result.ok, `dump failed: ${r.stdout} ${r.stderr}`);
  // On Linux the partial is an unnamed O_TMPFILE file (no name to plant: randomBytes is
  // never asked); elsewhere the colliding random name was skipped. Either way the planted
  // entries are left as they were and the dump succeeds.
  const names = fs.readdirSync(dir).sort();
  assert.deepEqual(names, [`.x.heapsnapshot.${'ab'.repeat(8)}.partial`, `.x.heapsnapshot.${r.pid}.partial`, 'x.heapsnapshot'].sort());
  for (const n of names.filter((n) => n.endsWith('.partial'))) assert.ok(fs.lstatSync(path.join(dir, n)).isSymbolicLink(), `${n} still the planted link`);
  assert.equal(fs.statSync(path.join(dir, 'x.heapsnapshot')).mode & 0o777, 0o600);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
});

// ---------------------------------------------------------------------------

const TOGGLER = `
const leakwatch = require(process.env.LW);
let dumps = 0, appSignals = 0, errors = [], failedDumps = 0;
leakwatch.on('snapshot', () => dumps++);
leakwatch.on('error', (e) => { failedDumps++; if (errors.length < 5) errors.push(e.code || e.message); });
const [mode, seconds] = process.argv.slice(2);
function appListener() { appSignals++; }
const end = Date.now() + Number(seconds) * 1000;
let toggles = 0;
function done() {
  console.log(JSON.stringify({ dumps, failedDumps, appSignals, toggles, errors, listeners: process.listenerCount('SIGUSR2') }));
  process.exit(0);
}
console.log('ready');
if (mode === 'storm') {
  // 200 add/remove pairs per millisecond.
  (function tick() {
    for (let i = 0; i < 200; i++) { process.on('SIGUSR2', appListener); process.removeListener('SIGUSR2', appListener); toggles++; }
    if (Date.now() < end) setTimeout(tick, 1); else setTimeout(done, 300);
  })();
} else {
  // One toggle per millisecond; now and then the app removes every listener of the signal.
  let on = false;
  const timer = setInterval(() => {
    toggles++;
    if (toggles % 50 === 0) { process.removeAllListeners('SIGUSR2'); on = false; }
    else if (on) { process.removeListener('SIGUSR2', appListener); on = false; }
    else { process.on('SIGUSR2', appListener); on = true; }
    if (Date.now() >= end) { clearInterval(timer); setTimeout(done, 300); }
  }, 1);
}
`;

for (const mode of ['storm', 'slow']) {
  test(`item 3: an app toggling its SIGUSR2 listener (${mode === 'storm' ? '200 pairs/ms' : '1 toggle/ms + removeAllListeners'}) under kill -USR2 every 20 ms survives and still dumps`, { timeout: 60000 }, async () => {
    const dir = fs.mkdtempSync(path.join(scratch, `toggle-${mode}-`));
    const file = path.join(scratch, `toggler-${mode}.cjs`);
    fs.writeFileSync(file, TOGGLER);
    // In the slow mode each answer to a signal fails fast (no such snapshot directory), so
    // that the main thread spends its time toggling, not dumping: the storm mode dumps.
    const snapshotDir = mode === 'storm' ? dir : path.join(dir, 'missing');
    const child = spawn(process.execPath, [file, mode, '5'], {
      env: { ...process.env, NODE_OPTIONS: '', LW: LEAKWATCH, LEAKWATCH_QUIET: '1', LEAKWATCH_SNAPSHOT_DIR: snapshotDir, LEAKWATCH_MAX_SNAPSHOTS: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let sent = 0;
    let status = null;
    exited.then((s) => (status = s));
    await until(() => stdout.includes('ready') || status, 20000, 'leakwatch loaded in the app');
    // Signals while the app toggles (it toggles for 5 s, then reports and exits).
    const stopAt = Date.now() + 5000;
    while (status === null && Date.now() < stopAt) {
      try {
        process.kill(child.pid, 'SIGUSR2');
        sent++;
      } catch {
        break;
      }
      await sleep(20);
    }
    const { code, signal } = await exited;
    assert.equal(signal, null, `killed by ${signal} after ${sent} signals\n${stderr}`);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout.trim().split('\n').pop());
    assert.ok(sent > 100, `only ${sent} signals sent`);
    assert.ok(result.toggles > 1000, `the app barely toggled: ${stdout}`);
    if (mode === 'storm') {
      assert.ok(result.dumps >= 1, `no dump: ${stdout}`);
    } else {
      // Every signal was answered (by a dump attempt that reports the missing directory).
      assert.ok(result.failedDumps >= 1, `no dump attempted: ${stdout}`);
      assert.ok(result.appSignals > 0, "the app's own listener never ran");
    }
  });
}

test('item 3: a process exiting under a storm of dump signals exits with its own code, never by the signal', { timeout: 120000 }, async () => {
  // At exit Node closes its signal handles and resets ignored signals to their default
  // action before the process is gone; without leakwatch's exit-time handler about half of
  // these runs died by SIGUSR2 instead of exiting with code 5.
  const dir = fs.mkdtempSync(path.join(scratch, 'exit-storm-'));
  const out = fs.mkdtempSync(path.join(scratch, 'exit-storm-out-'));
  const app = path.join(dir, 'app.js');
  fs.writeFileSync(app, "require(process.env.LW);\nsetTimeout(() => { process.exitCode = 5; }, 300);\n");
  const outcomes = [];
  for (let run = 0; run < 16; run++) {
    const child = spawn(process.execPath, [app], { env: { ...process.env, LW: LEAKWATCH, LEAKWATCH_QUIET: '1', LEAKWATCH_SNAPSHOT_DIR: out }, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal || code)));
    await sleep(250);
    const storm = setInterval(() => {
      try {
        process.kill(child.pid, 'SIGUSR2');
      } catch {}
    }, 5);
    // A storm that never stops keeps a process dumping (each signal after a dump asks for
    // another): after 10 s the storm ends and the process must still exit on its own.
    const calm = setTimeout(() => clearInterval(storm), 10000);
    const guard = setTimeout(() => child.kill('SIGKILL'), 40000);
    outcomes.push(await exited);
    clearInterval(storm);
    clearTimeout(calm);
    clearTimeout(guard);
    for (const name of fs.readdirSync(out)) fs.rmSync(path.join(out, name), { force: true });
  }
  assert.deepEqual(outcomes, outcomes.map(() => 5));
});

test('item 3: a dump signal the moment Node closes its last handle for it, at exit, does not kill the process', async () => {
  // Node closes its signal handles at exit (or the app removes every listener in its own
  // 'exit' listener), and libuv resets a signal to its default action (terminate) when its
  // last handle goes: leakwatch keeps a libuv handle of its own so that never happens. The
  // app's 'removeListener' listener runs right after Node closed the handle, and signals
  // itself; without leakwatch's handle this died by SIGUSR2 every time, on every Node.
  const dir = fs.mkdtempSync(path.join(scratch, 'exit-window-'));
  const app = path.join(dir, 'app.js');
  fs.writeFileSync(
    app,
    `require(process.env.LW);
process.on('removeListener', (event) => {
  if (event === 'SIGUSR2' && process.listenerCount('SIGUSR2') === 0) {
    process.kill(process.pid, 'SIGUSR2');
    console.log('signalled');
  }
});
process.on('exit', () => process.removeAllListeners('SIGUSR2'));
process.exitCode = 5;
`,
  );
  for (const [name, node] of NODES) {
    if (!fs.existsSync(node)) continue;
    const { code, signal, stdout, stderr } = await run(node, [app], { env: { ...process.env, LW: LEAKWATCH, LEAKWATCH_QUIET: '1', LEAKWATCH_SNAPSHOT_DIR: dir } });
    assert.deepEqual({ name, code, signal, stdout }, { name, code: 5, signal: null, stdout: 'signalled\n' }, stderr);
  }
});

// ---------------------------------------------------------------------------

const WORKER_DUMP = `
const fs = require('node:fs'), path = require('node:path');
const { Worker } = require('node:worker_threads');
const leakwatch = require(process.env.LW);
const dir = process.argv[2];
const events = [];
leakwatch.on('error', (e) => events.push({ type: 'error', code: e.code, message: e.message }));
leakwatch.on('snapshot', (s) => events.push({ type: 'snapshot', trigger: s.trigger, file: path.basename(s.file) }));
// A dump in progress: a named partial file, or (Linux, O_TMPFILE) a descriptor of this
// process on an unnamed file in the directory ("<dir>/#123 (deleted)").
const partials = () => {
  const named = fs.readdirSync(dir).filter((n) => n.endsWith('.partial'));
  const unnamed = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync('/proc/self/fd/' + fd);
      if (target.startsWith(dir + '/#')) unnamed.push(target);
    } catch {}
  }
  return [...new Set([...named, ...unnamed])];
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const worker = new Worker(\`
  const leakwatch = require(process.env.LW);
  const { parentPort, workerData } = require('node:worker_threads');
  const keep = [];
  for (let i = 0; i < 300000; i++) keep.push({ i, s: 'item ' + i, a: [i] });
  parentPort.postMessage('dumping');
  leakwatch.writeSnapshot(workerData.file);
  parentPort.postMessage('done');
\`, { eval: true, workerData: { file: path.join(dir, 'worker.heapsnapshot') } });
worker.on('error', () => {});
worker.once('message', async () => {
  const out = {};
  const t0 = Date.now();
  while (partials().length === 0 && Date.now() - t0 < 20000) await sleep(2);
  out.partialWhileDumping = partials().length;
  // While the worker holds the lock: refused, saying for how long; the signal is reported.
  await sleep(50);
  try { await leakwatch.writeSnapshotAsync(path.join(dir, 'refused.heapsnapshot')); out.refused = null; }
  catch (e) { out.refused = { code: e.code, busyForMs: e.busyForMs }; }
  process.kill(process.pid, 'SIGUSR2');
  await sleep(100);
  await worker.terminate();
  out.partialsAfterTerminate = partials();
  try { const info = await leakwatch.writeSnapshotAsync(path.join(dir, 'after.heapsnapshot')); out.after = { bytes: info.bytes }; }
  catch (e) { out.after = { code: e.code, message: e.message }; }
  process.kill(process.pid, 'SIGUSR2');
  const t1 = Date.now();
  while (!events.some((e) => e.type === 'snapshot' && e.trigger === 'signal') && Date.now() - t1 < 20000) await sleep(20);
  out.events = events;
  out.files = fs.readdirSync(dir).sort();
  console.log(JSON.stringify(out));
});
`;

for (const [label, node] of NODES) {
  test(`item 4 (${label}): a worker terminated mid-dump releases the lock and its partial; busy refusals are reported`, { timeout: 90000 }, async (t) => {
    if (!fs.existsSync(node)) return t.skip(`${node} is not installed`);
    const dir = fs.mkdtempSync(path.join(scratch, 'worker-'));
    const r = await nodeScript(node, WORKER_DUMP, { args: [dir], env: { LEAKWATCH_OPTIONS: JSON.stringify({ busyReportAfterMs: 1, watchdog: false }) }, timeoutMs: 80000 });
    assert.ok(r.result, `no result: ${r.stdout}\n${r.stderr}`);
    const out = r.result;
    assert.ok(out.partialWhileDumping >= 1, 'the worker was seen mid-dump');
    assert.equal(out.refused && out.refused.code, 'ERR_LEAKWATCH_BUSY');
    assert.ok(out.refused.busyForMs > 0, JSON.stringify(out.refused));
    assert.ok(out.events.some((e) => e.type === 'error' && e.code === 'ERR_LEAKWATCH_BUSY' && /signal/.test(e.message)), `the refused signal was not reported: ${JSON.stringify(out.events)}`);
    assert.deepEqual(out.partialsAfterTerminate, []);
    assert.ok(out.after && out.after.bytes > 0, `dump after the worker's end: ${JSON.stringify(out.after)}`);
    assert.ok(out.events.some((e) => e.type === 'snapshot' && e.trigger === 'signal'), `SIGUSR2 after the worker's end: ${JSON.stringify(out.events)}`);
    assert.ok(!out.files.some((n) => n.endsWith('.partial')), out.files.join(' '));
  });
}

// ---------------------------------------------------------------------------

describe('items 9 and 10: empty snapshots, pipes and stdin', () => {
  let s1;
  let s2;
  let empty;
  before(async () => {
    const dir = fs.mkdtempSync(path.join(scratch, 'snaps-'));
    const r = await run(process.execPath, [
      '-e',
      `const v8 = require('v8'); const keep = []; class Grows { constructor(i) { this.i = i; } }
       v8.writeHeapSnapshot(process.argv[1] + '/s1.heapsnapshot');
       for (let i = 0; i < 5000; i++) keep.push(new Grows(i));
       v8.writeHeapSnapshot(process.argv[1] + '/s2.heapsnapshot');`,
      dir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    s1 = path.join(dir, 's1.heapsnapshot');
    s2 = path.join(dir, 's2.heapsnapshot');
    // A well-formed snapshot with no nodes, edges or strings.
    const doc = JSON.parse(fs.readFileSync(s1, 'utf8'));
    Object.assign(doc.snapshot, { node_count: 0, edge_count: 0 });
    Object.assign(doc, { nodes: [], edges: [], strings: [] });
    empty = path.join(dir, 'empty.heapsnapshot');
    fs.writeFileSync(empty, JSON.stringify(doc));
  });

  test('item 9: summary --retained and summarizeRetained() of a snapshot with 0 nodes: an empty answer, no panic', async () => {
    const r = await cli(['summary', '--retained', '--json', empty]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /panic/);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.nodes, 0);
    assert.deepEqual(summary.classes, []);
    const api = await analysis.summarizeRetained(empty);
    assert.equal(api.nodes, 0);
    // analyze with an empty last snapshot: a clear error, not a panic.
    const a = await cli(['analyze', s1, s2, empty]);
    assert.equal(a.code, 1);
    assert.doesNotMatch(a.stderr, /panic/);
  });

  const withoutFile = (json) => {
    const doc = JSON.parse(json);
    delete doc.file;
    return doc;
  };

  test('item 10: summary reads stdin, a named pipe and process substitution as streams, same answer as the file', async (t) => {
    const expected = withoutFile((await cli(['summary', '--json', s1])).stdout);
    const stdin = await cli(['summary', '--json', '-'], { input: s1 });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.deepEqual(withoutFile(stdin.stdout), expected);
    const fifo = path.join(scratch, 'summary.fifo');
    spawnSync('mkfifo', [fifo]);
    const reading = cli(['summary', '--json', fifo]);
    const writer = spawn('sh', ['-c', `cat ${sq(s1)} > ${sq(fifo)}`]);
    const written = new Promise((resolve) => writer.on('exit', resolve));
    const viaFifo = await reading;
    await written;
    assert.equal(viaFifo.code, 0, viaFifo.stderr);
    assert.deepEqual(withoutFile(viaFifo.stdout), expected);
    if (spawnSync('bash', ['-c', 'true']).status !== 0) return t.skip('no bash for process substitution');
    const substituted = await run('bash', ['-c', `${sq(process.execPath)} ${sq(CLI)} summary --json <(cat ${sq(s1)})`]);
    assert.equal(substituted.code, 0, substituted.stderr);
    assert.deepEqual(withoutFile(substituted.stdout), expected);
  });

  test('item 10: diff reads a pipe and stdin as streams, same answer as the files', async () => {
    const expected = JSON.parse((await cli(['diff', '--json', s1, s2])).stdout);
    assert.ok(expected.change.details.some((d) => d.what === 'Grows' && d['+'] === 5000));
    const r = await run('bash', ['-c', `${sq(process.execPath)} ${sq(CLI)} diff --json <(cat ${sq(s1)}) -`], { input: s2 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), expected);
    const twice = await cli(['diff', '-', '-'], { input: s1 });
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /ERR_LEAKWATCH_STREAM_TWICE/);
  });

  test('item 10: summary --retained and analyze on a pipe say they need a file (and do not wait for a writer)', async () => {
    const fifo = path.join(scratch, 'nowriter.fifo');
    spawnSync('mkfifo', [fifo]);
    const retained = await cli(['summary', '--retained', fifo], { timeoutMs: 15000 });
    assert.equal(retained.code, 1);
    assert.match(retained.stderr, /ERR_LEAKWATCH_NEEDS_FILE/);
    const analyzed = await cli(['analyze', s1, fifo, s2], { timeoutMs: 15000 });
    assert.equal(analyzed.code, 1);
    assert.match(analyzed.stderr, /ERR_LEAKWATCH_NEEDS_FILE/);
    const stdin = await cli(['summary', '--retained', '-'], { input: s1, timeoutMs: 15000 });
    assert.match(stdin.stderr, /ERR_LEAKWATCH_NEEDS_FILE/);
    await assert.rejects(analysis.summarizeRetained(fifo), { code: 'ERR_LEAKWATCH_NEEDS_FILE' });
  });
});
