// The watchdog (issue 9): a main thread stuck in a busy loop gets its dump on every Node
// version (run this file under each), object ids survive watchdog dumps, and snapshots
// renumbered behind leakwatch's back are refused, never compared. Real child processes
// (__test__/fixtures/dumps/app.cjs), real signals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { cli, sleep, until } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const APP = path.join(here, 'fixtures', 'dumps', 'app.cjs');
const LEAKWATCH = path.join(here, '..', 'index.js');
const leakwatch = createRequire(import.meta.url)(LEAKWATCH);
const OWN_FILE = /^heapdump-\d+-\d{8}T\d{6}Z-\d+\.heapsnapshot$/;

let scratch;
before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-watchdog-test-'));
});
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** The fixture app; stdout JSON lines collected in `messages`. */
function startApp(cwd, execArgv = []) {
  const app = { messages: [], stderr: '' };
  app.child = spawn(process.execPath, [...execArgv, APP], { cwd, env: { ...process.env, NODE_OPTIONS: '', LW_PATH: LEAKWATCH, LEAKWATCH_QUIET: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let buffered = '';
  app.child.stdout.setEncoding('utf8').on('data', (chunk) => {
    buffered += chunk;
    for (let nl; (nl = buffered.indexOf('\n')) >= 0; buffered = buffered.slice(nl + 1)) app.messages.push(JSON.parse(buffered.slice(0, nl)));
  });
  app.child.stderr.setEncoding('utf8').on('data', (chunk) => (app.stderr += chunk));
  app.exit = new Promise((resolve) => app.child.on('exit', (code, signal) => resolve({ code, signal })));
  app.waitFor = (type, since = 0, timeout = 20_000) => until(() => app.messages.slice(since).find((m) => m.type === type), timeout, `'${type}' (stderr: ${app.stderr})`);
  app.command = (cmd, args = {}) => app.child.stdin.write(JSON.stringify({ cmd, ...args }) + '\n');
  app.ask = (cmd, reply, args) => {
    const since = app.messages.length;
    app.command(cmd, args);
    return app.waitFor(reply, since);
  };
  app.dump = () => {
    const since = app.messages.length;
    process.kill(app.child.pid, 'SIGUSR2');
    return app.waitFor('snapshot', since);
  };
  /** A dump by the watchdog while the main thread spins for `ms`. */
  app.stuckDump = async (ms) => {
    const since = app.messages.length;
    app.command('busy', { ms });
    const { start } = await app.waitFor('busy-start', since);
    process.kill(app.child.pid, 'SIGUSR2');
    const file = await until(() => fs.readdirSync(cwd).find((n) => OWN_FILE.test(n) && !app.seen.has(n)), ms - 500, 'the watchdog dump while the loop runs');
    const whileStuck = app.messages.slice(since).every((m) => m.type !== 'busy-end');
    const { end } = await app.waitFor('busy-end', since, ms + 20_000);
    const info = await app.waitFor('snapshot', since);
    app.seen.add(file);
    return { info, file: path.join(cwd, file), whileStuck, start, end };
  };
  app.seen = new Set();
  return app;
}

async function close(app) {
  app.child.stdin.end();
  const timer = setTimeout(() => app.child.kill('SIGKILL'), 5000);
  const status = await app.exit;
  clearTimeout(timer);
  return status;
}

/** The id of the one object of leakwatch's id sentinel class (LeakwatchIdSentinel_<token>) in a snapshot file. */
function sentinelId(file) {
  const snapshot = JSON.parse(fs.readFileSync(file, 'utf8'));
  const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta;
  const [type, name, id] = ['type', 'name', 'id'].map((f) => fields.indexOf(f));
  const found = [];
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    if (types[snapshot.nodes[i + type]] === 'object' && /^LeakwatchIdSentinel_[0-9a-f]{32}$/.test(snapshot.strings[snapshot.nodes[i + name]])) found.push(snapshot.nodes[i + id]);
  }
  assert.equal(found.length, 1, `one sentinel in ${file}`);
  return found[0];
}

test(`${process.version}: a main thread stuck in a busy loop gets its dump (complete, 0600) before the loop ends; exit stays quiet`, { timeout: 60_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'busy-'));
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    const { info, file, whileStuck, end } = await app.stuckDump(8000);
    assert.ok(whileStuck, 'the file must appear while the loop runs');
    assert.equal(info.file, file);
    assert.equal(info.viaInspector, true);
    assert.ok(info.completedAt < end, 'completed before the loop ended');
    const stat = fs.statSync(file);
    assert.equal(stat.mode & 0o777, 0o600);
    assert.equal(stat.size, info.bytes);
    const tail = fs.readFileSync(file, 'latin1').slice(-16);
    assert.match(tail, /\]\}\s*$/);
    assert.deepEqual(fs.readdirSync(cwd).filter((n) => n.endsWith('.partial')), []);
    assert.ok((await leakwatch.summarize(file)).nodes > 1000);
    // By its 'snapshot' event the watchdog has let go: a signal right after it is served.
    const next = await app.dump();
    assert.equal(next.viaInspector, false);
    // The watchdog's session stays connected; process.exit() must not make Node wait for it.
    app.command('exit');
    assert.deepEqual(await app.exit, { code: 0, signal: null });
    assert.doesNotMatch(app.stderr, /Waiting for the debugger/);
  } finally {
    await close(app);
  }
});

test('main-thread dump, watchdog dump while stuck, main-thread dump: ids kept, analyze exact, growth only what changed', { timeout: 90_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'ids-'));
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    const first = await app.dump();
    app.seen.add(path.basename(first.file));
    await app.ask('grow', 'grown', { count: 400 });
    const since = app.messages.length;
    const stuck = await app.stuckDump(6000);
    const growth = await app.waitFor('growth', since);
    const third = await app.dump();
    const files = [first.file, stuck.file, third.file];
    // A long-lived object keeps its id across all three, and after leakwatch.stop() too
    // (the watchdog's session must outlive it).
    await app.ask('stop', 'stopped');
    const fourth = await app.dump();
    const ids = [...files, fourth.file].map(sentinelId);
    assert.equal(new Set(ids).size, 1, `sentinel ids ${ids}`);
    // The three-snapshot analysis names the class that leaked between S1 and S2, exactly.
    const analysis = await leakwatch.analyze(files);
    const top = analysis.suspects.find((s) => s.userClass);
    assert.equal(top && top.name, 'LeakyThing');
    assert.equal(top.count, 400);
    assert.ok(top.retainerPath.some((step) => step.edge === 'leaked'));
    // The growth report after the watchdog dump: the 400 new objects, not the whole heap.
    assert.equal(growth.file, stuck.file);
    assert.equal(growth.previous, first.file);
    const leaky = growth.topByCount.find((d) => d.what === 'LeakyThing');
    assert.equal(leaky && leaky.added, 400);
    const diff = await leakwatch.diffSnapshots(first.file, stuck.file);
    assert.ok(diff.change.freed_nodes < diff.before.nodes / 4, `freed ${diff.change.freed_nodes} of ${diff.before.nodes}: the ids were renumbered`);
  } finally {
    await close(app);
  }
});

test('ids renumbered behind leakwatch (a session enabled the heap profiler, then detached): analyze and growth refuse, CLI exit 1', { timeout: 90_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'renumbered-'));
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    const first = await app.dump();
    await app.ask('grow', 'grown', { count: 400 });
    await app.ask('renumber', 'renumbered');
    const since = app.messages.length;
    const second = await app.dump();
    // The growth report of the process itself refuses (an 'error' event, never a wrong report).
    const refusal = await app.waitFor('error', since);
    assert.equal(refusal.code, 'ERR_LEAKWATCH_RENUMBERED');
    assert.equal(app.messages.slice(since).filter((m) => m.type === 'growth').length, 0);
    const third = await app.dump();
    const files = [first.file, second.file, third.file];
    assert.notEqual(sentinelId(first.file), sentinelId(second.file));
    await assert.rejects(leakwatch.analyze(files), (error) => error.code === 'ERR_LEAKWATCH_RENUMBERED' && error.message.includes(path.basename(second.file)) && error.message.includes(path.basename(first.file)));
    await assert.rejects(leakwatch.diffSnapshots(first.file, second.file), { code: 'ERR_LEAKWATCH_RENUMBERED' });
    for (const args of [['analyze', ...files], ['diff', first.file, second.file]]) {
      const r = await cli(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /renumbered/);
      assert.equal(r.stdout, '');
    }
    // Snapshots after the renumbering compare fine among themselves.
    assert.equal((await leakwatch.diffSnapshots(second.file, third.file)).change.details.length >= 0, true);
  } finally {
    await close(app);
  }
});

/** `analyze` of `files` and `diff` of the first two through the CLI and the API: all refuse with `code`. */
async function assertRefused(files, code, message) {
  await assert.rejects(leakwatch.analyze(files), (error) => error.code === code && message.test(error.message));
  await assert.rejects(leakwatch.diffSnapshots(files[0], files[1]), (error) => error.code === code && message.test(error.message));
  for (const args of [['analyze', ...files], ['diff', files[0], files[1]]]) {
    const r = await cli(args);
    assert.equal(r.code, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
}

test('an app with its own LeakwatchIdSentinel class cannot switch the renumbering check off: analyze and diff refuse, CLI exit 1', { timeout: 90_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'lookalikes-'));
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    await app.ask('lookalikes', 'lookalikes', { count: 5 });
    const first = await app.dump();
    await app.ask('grow', 'grown', { count: 400 });
    await app.ask('renumber', 'renumbered');
    const second = await app.dump();
    await app.ask('grow', 'grown', { count: 400 });
    const third = await app.dump();
    await assertRefused([first.file, second.file, third.file], 'ERR_LEAKWATCH_RENUMBERED', /renumbered/);
  } finally {
    await close(app);
  }
});

test('copies of the sentinel make it ambiguous: analyze and diff refuse (ERR_LEAKWATCH_AMBIGUOUS_SENTINEL), never skip the check', { timeout: 90_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'copies-'));
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    await app.ask('copySentinel', 'copied', { count: 3 });
    const files = [];
    for (let k = 0; k < 3; k++) {
      await app.ask('grow', 'grown', { count: 400 });
      files.push((await app.dump()).file);
    }
    await assertRefused(files, 'ERR_LEAKWATCH_AMBIGUOUS_SENTINEL', /4 objects look like leakwatch's id sentinel/);
  } finally {
    await close(app);
  }
});

test('snapshots of two processes: analyze and diff say so (ERR_LEAKWATCH_DIFFERENT_PROCESSES), not "renumbered"', { timeout: 90_000 }, async () => {
  const apps = [startApp(fs.mkdtempSync(path.join(scratch, 'process-a-'))), startApp(fs.mkdtempSync(path.join(scratch, 'process-b-')))];
  try {
    await Promise.all(apps.map((app) => app.waitFor('ready')));
    const [a1, b1] = [await apps[0].dump(), await apps[1].dump()];
    await apps[0].ask('grow', 'grown', { count: 400 });
    const a2 = await apps[0].dump();
    await assertRefused([a1.file, b1.file, a2.file], 'ERR_LEAKWATCH_DIFFERENT_PROCESSES', /come from different processes/);
    // One process's own snapshots still compare.
    assert.ok((await leakwatch.diffSnapshots(a1.file, a2.file)).change.allocated_nodes >= 400);
  } finally {
    await Promise.all(apps.map(close));
  }
});

test('a process killed in the middle of a dump leaves no file at all (no partial, no 0-byte file)', { timeout: 60_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'killed-'));
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    await app.ask('grow', 'grown', { count: 400_000 }); // a dump of this heap takes a while
    process.kill(app.child.pid, 'SIGUSR2');
    // The dump is under way once the process has a file open in its directory.
    const writing = () => {
      try {
        return fs.readdirSync(`/proc/${app.child.pid}/fd`).some((fd) => {
          try {
            return fs.readlinkSync(`/proc/${app.child.pid}/fd/${fd}`).startsWith(cwd + path.sep);
          } catch {
            return false;
          }
        });
      } catch {
        return false;
      }
    };
    await until(writing, 20_000, 'the dump to start', 2);
    assert.deepEqual(fs.readdirSync(cwd), [], 'nothing is visible while the dump is written');
    app.child.kill('SIGKILL');
    await app.exit;
    assert.deepEqual(fs.readdirSync(cwd), [], 'a process that dies mid-dump leaves nothing behind');
  } finally {
    await close(app);
  }
});

test('with a debugger active (node --inspect) the watchdog does not pause the main thread: the dump waits, with a coded error', { timeout: 60_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'inspect-'));
  const app = startApp(cwd, ['--inspect=127.0.0.1:0']);
  try {
    await app.waitFor('ready');
    const since = app.messages.length;
    app.command('busy', { ms: 4000 });
    await app.waitFor('busy-start', since);
    process.kill(app.child.pid, 'SIGUSR2');
    await until(() => /the watchdog does not pause/.test(app.stderr), 3500, 'the notice on stderr while the loop runs');
    assert.deepEqual(fs.readdirSync(cwd), [], 'no dump while the main thread is stuck under a debugger');
    const { end } = await app.waitFor('busy-end', since);
    const error = await app.waitFor('error', since);
    assert.equal(error.code, 'ERR_LEAKWATCH_DEBUGGER_ATTACHED');
    // The main thread serves the request itself once its loop is free.
    const info = await app.waitFor('snapshot', since);
    assert.equal(info.viaInspector, false);
    assert.ok(info.completedAt >= end);
    assert.ok(fs.existsSync(info.file));
    app.command('exit');
    assert.deepEqual(await app.exit, { code: 0, signal: null });
  } finally {
    await close(app);
  }
});

test("an app that goes idle right after its stuck loop still gets the watchdog dump's 'snapshot' event, then exits", { timeout: 60_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'natural-'));
  const script = `
    const lw = require(${JSON.stringify(LEAKWATCH)});
    lw.configure({ snapshotDir: ${JSON.stringify(cwd)}, growthReport: false });
    lw.on('snapshot', (info) => console.log(JSON.stringify({ file: info.file, viaInspector: info.viaInspector, pauseMs: info.pauseMs })));
    setTimeout(() => {
      process.kill(process.pid, 'SIGUSR2');
      const end = Date.now() + 5000;
      while (Date.now() < end);
    }, 800);`;
  const child = spawn(process.execPath, ['-e', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const status = await new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  assert.deepEqual(status, { code: 0, signal: null }, stderr);
  const lines = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(lines.length, 1, `one 'snapshot' event before exit; stdout: ${stdout}; stderr: ${stderr}`);
  assert.equal(lines[0].viaInspector, true);
  assert.ok(lines[0].pauseMs >= 0);
  assert.ok(fs.existsSync(lines[0].file));
});

// Hardening round 3 (issue 26, items 2, 6, 9, 14): the dump lock never stays taken, no dump
// goes unreported, no signal is dropped without a word.

/** Resolves when `app` has written `count` own snapshots in `dir` and reported as many. */
async function dumpsServed(app, cwd, since, count, timeout = 30_000) {
  await until(() => fs.readdirSync(cwd).filter((n) => OWN_FILE.test(n)).length >= count, timeout, `${count} snapshot files (stderr: ${app.stderr})`);
  return until(() => app.messages.slice(since).filter((m) => m.type === 'snapshot').length >= count && app.messages.slice(since).filter((m) => m.type === 'snapshot'), timeout, `${count} 'snapshot' events (stderr: ${app.stderr})`);
}

/** After a native block: signals and writeSnapshot() keep working. */
async function assertDumpsStillWork(app, cwd) {
  const before = fs.readdirSync(cwd).filter((n) => OWN_FILE.test(n)).length;
  const info = await app.dump();
  assert.ok(fs.existsSync(info.file), 'a later SIGUSR2 is served');
  const written = await app.ask('writeAsync', 'written-async', { filename: path.join(cwd, 'api.heapsnapshot') });
  assert.equal(written.error, undefined, `writeSnapshotAsync works (${JSON.stringify(written.error)})`);
  assert.equal(fs.readdirSync(cwd).filter((n) => OWN_FILE.test(n)).length, before + 1);
}

test('item 2: a dump signal while the main thread is blocked in pbkdf2Sync is served after it, and dumps keep working', { timeout: 90_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'pbkdf2-'));
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    await sleep(700); // the watchdog registers itself
    const since = app.messages.length;
    app.command('pbkdf2', { ms: 3000 });
    await app.waitFor('blocked', since);
    process.kill(app.child.pid, 'SIGUSR2');
    const { end } = await app.waitFor('unblocked', since, 60_000);
    // The app is idle now: the request the watchdog holds must still be served.
    const [info] = await dumpsServed(app, cwd, since, 1);
    assert.ok(info.completedAt >= end, 'dumped once the main thread was back');
    assert.deepEqual(app.messages.slice(since).filter((m) => m.type === 'error'), [], 'nothing to report: the main thread answered within the pause timeout');
    await assertDumpsStillWork(app, cwd);
    app.command('exit');
    assert.deepEqual(await app.exit, { code: 0, signal: null });
  } finally {
    await close(app);
  }
});

test('item 2: a main thread blocked reading a FIFO: reported while blocked, the dump is served when it returns, and dumps keep working', { timeout: 90_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'fifo-'));
  const fifo = path.join(scratch, `fifo-${process.pid}`);
  spawnSync('mkfifo', [fifo]);
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    await sleep(700);
    const since = app.messages.length;
    app.command('readFifo', { path: fifo });
    await app.waitFor('blocked', since);
    process.kill(app.child.pid, 'SIGUSR2');
    // The watchdog's pause timeout is 10 s from the request: said on stderr during the block.
    await until(() => /blocked in native code/.test(app.stderr), 30_000, 'the notice on stderr while blocked');
    assert.equal(app.messages.slice(since).filter((m) => m.type === 'unblocked').length, 0, 'still blocked');
    assert.deepEqual(fs.readdirSync(cwd).filter((n) => OWN_FILE.test(n)), [], 'no dump while blocked');
    fs.writeFileSync(fifo, 'go');
    const { end } = await app.waitFor('unblocked', since);
    const error = await app.waitFor('error', since);
    assert.equal(error.code, 'ERR_LEAKWATCH_NOT_PAUSED');
    const [info] = await dumpsServed(app, cwd, since, 1);
    assert.ok(info.completedAt >= end);
    assert.equal(info.viaInspector, false, 'the main thread served it itself');
    await assertDumpsStillWork(app, cwd);
    app.command('exit');
    assert.deepEqual(await app.exit, { code: 0, signal: null });
  } finally {
    await close(app);
    fs.rmSync(fifo, { force: true });
  }
});

test('item 2: a request handed back while blocked in native code is handed to the watchdog again once the thread is in a JS loop', { timeout: 120_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'fifo-busy-'));
  const fifo = path.join(scratch, `fifo-busy-${process.pid}`);
  spawnSync('mkfifo', [fifo]);
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    await sleep(700);
    const since = app.messages.length;
    app.command('readFifoThenBusy', { path: fifo, ms: 40_000 });
    await app.waitFor('blocked', since);
    process.kill(app.child.pid, 'SIGUSR2');
    await until(() => /blocked in native code/.test(app.stderr), 30_000, 'the hand-back while blocked');
    fs.writeFileSync(fifo, 'go');
    await app.waitFor('busy-start', since);
    // More signals while the loop runs: the pending request goes to the watchdog again
    // (10 s after it was handed back), which can pause a JS loop.
    const storm = setInterval(() => process.kill(app.child.pid, 'SIGUSR2'), 1000);
    try {
      const file = await until(() => fs.readdirSync(cwd).find((n) => OWN_FILE.test(n)), 30_000, `a watchdog dump during the loop (stderr: ${app.stderr})`);
      assert.equal(app.messages.slice(since).filter((m) => m.type === 'busy-end').length, 0, `${file} was written while the loop still ran`);
    } finally {
      clearInterval(storm);
    }
  } finally {
    app.child.kill('SIGKILL');
    await app.exit;
    fs.rmSync(fifo, { force: true });
  }
});

test('item 6: a storm of dump signals during one stuck loop: every watchdog dump is reported', { timeout: 90_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'stuck-storm-'));
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    const since = app.messages.length;
    app.command('busy', { ms: 9000 });
    await app.waitFor('busy-start', since);
    const storm = setInterval(() => process.kill(app.child.pid, 'SIGUSR2'), 250);
    await app.waitFor('busy-end', since, 60_000);
    clearInterval(storm);
    await sleep(3000); // the last hand-over finishes
    const files = fs.readdirSync(cwd).filter((n) => OWN_FILE.test(n));
    assert.ok(files.length >= 2, `the watchdog dumped more than once during the loop (${files.length})`);
    const events = await dumpsServed(app, cwd, since, files.length);
    assert.deepEqual(events.map((e) => path.basename(e.file)).sort(), [...files].sort(), 'one snapshot event per file');
  } finally {
    await close(app);
  }
});

test("item 9: a dump signal that arrives while a worker thread's own dump holds the lock is served after it, and a writeSnapshot() right then is not refused", { timeout: 120_000 }, async () => {
  const cwd = fs.mkdtempSync(path.join(scratch, 'worker-lock-'));
  const app = startApp(cwd);
  try {
    await app.waitFor('ready');
    // The signal must land while the worker dumps; retried if it came too late.
    for (let attempt = 1; ; attempt++) {
      const since = app.messages.length;
      app.command('workerDump', { mb: 30, thenWrite: true });
      await app.waitFor('worker-dump-start', since, 30_000);
      const sent = Date.now();
      process.kill(app.child.pid, 'SIGUSR2');
      const end = await app.waitFor('worker-dump-end', since, 60_000);
      assert.equal(end.error, null);
      if (sent >= end.t && attempt < 3) continue;
      assert.ok(sent < end.t, 'the signal arrived during the worker dump');
      // The signal's dump and writeSnapshot()'s, in either order (whichever got the lock first).
      const info = await until(() => app.messages.slice(since).find((m) => m.type === 'snapshot' && m.trigger === 'signal'), 30_000, `the signal's snapshot (stderr: ${app.stderr})`);
      assert.ok(info.completedAt >= end.t, 'served once the worker released the lock');
      assert.equal(path.dirname(info.file), cwd);
      // writeSnapshot() right as the worker's dump ended, with the signal's request pending:
      // the pending request is served first, then the call; neither is refused.
      const written = await app.waitFor('written-after-worker', since);
      assert.equal(written.error, null, JSON.stringify(written.error));
      assert.ok(fs.existsSync(written.file));
      break;
    }
    assert.doesNotMatch(app.stderr, /unmanaged mode/, "item 14: a worker's dump closes its descriptors quietly");
  } finally {
    await close(app);
  }
});
