// Snapshots on SIGUSR2 and on demand (issue 4), tested on real child processes with real
// signals: each test spawns __test__/fixtures/dumps/app.cjs, which loads leakwatch, prints
// its events as JSON lines and obeys commands on stdin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, until as waitUntil } from './helpers.mjs';

const until = (probe, timeoutMs, what) => waitUntil(probe, timeoutMs, what, 25);
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const APP = path.join(here, 'fixtures', 'dumps', 'app.cjs');
const LEAKWATCH = path.join(root, 'index.js');
const leakwatch = createRequire(import.meta.url)(LEAKWATCH);

const OWN_FILE = /^heapdump-\d+-\d{8}T\d{6}Z-\d+\.heapsnapshot$/;
let scratch;

before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-snapshots-test-'));
  fs.chmodSync(scratch, 0o755); // reachable by the unprivileged child of the EACCES test
});
after(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** A fresh directory under the scratch folder (the child's cwd and snapshot dir). */
function freshDir(name) {
  const dir = fs.mkdtempSync(path.join(scratch, `${name}-`));
  fs.chmodSync(dir, 0o755);
  return dir;
}

const snapshotsIn = (dir) => fs.readdirSync(dir).filter((n) => OWN_FILE.test(n)).sort(bySequence);
const partialsIn = (dir) => fs.readdirSync(dir).filter((n) => n.endsWith('.partial'));
const sequence = (name) => Number(/-(\d+)\.heapsnapshot$/.exec(name)[1]);
const bySequence = (a, b) => sequence(a) - sequence(b);


/** The fixture app as a child process; its stdout JSON lines are collected in `messages`. */
class App {
  constructor({ cwd, env = {}, uid, gid }) {
    this.messages = [];
    this.stderr = '';
    this.child = spawn(process.execPath, [APP], {
      cwd,
      uid,
      gid,
      env: { ...process.env, NODE_OPTIONS: '', LW_PATH: LEAKWATCH, LEAKWATCH_QUIET: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.pid = this.child.pid;
    let buffered = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          this.messages.push(JSON.parse(line));
        } catch {
          this.messages.push({ type: 'stdout', line });
        }
      }
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk) => (this.stderr += chunk));
    this.child.stdin.on('error', () => {}); // the child may be gone (killed on purpose)
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.exited = null;
    this.exit.then((status) => (this.exited = status));
  }

  get alive() {
    return this.exited === null;
  }

  /** Messages of `type` received so far (from index `since`). */
  all(type, since = 0) {
    return this.messages.slice(since).filter((m) => m.type === type);
  }

  /** The first message of `type` (matching `where`) at or after index `since`. */
  async waitFor(type, { since = 0, where = () => true, timeout = 15_000 } = {}) {
    return until(
      () => {
        const found = this.messages.slice(since).find((m) => m.type === type && where(m));
        if (found) return found;
        if (!this.alive) throw new Error(`the app exited (${JSON.stringify(this.exited)}) while waiting for '${type}'; stderr: ${this.stderr}`);
        return null;
      },
      timeout,
      `'${type}' from the app (got: ${this.messages.map((m) => m.type).join(', ')}; stderr: ${this.stderr.slice(-500)})`,
    );
  }

  ready() {
    return this.waitFor('ready');
  }

  command(cmd, args = {}) {
    this.child.stdin.write(JSON.stringify({ cmd, ...args }) + '\n');
  }

  /** Send a command and wait for its reply. */
  async ask(cmd, reply, args = {}, timeout) {
    const since = this.messages.length;
    this.command(cmd, args);
    return this.waitFor(reply, { since, timeout });
  }

  /** A real signal, as `kill -USR2 <pid>` sends it. */
  signal(name = 'SIGUSR2') {
    process.kill(this.pid, name);
  }

  /** Signal and wait for the resulting 'snapshot' event. */
  async dump() {
    const since = this.messages.length;
    this.signal();
    return this.waitFor('snapshot', { since });
  }

  async close() {
    if (!this.alive) return this.exited;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    const status = await this.exit;
    clearTimeout(timer);
    return status;
  }
}

/** Run `body(app)` with an app started in `dir`; the app is always closed afterwards. */
async function withApp(options, body) {
  const app = new App(options);
  try {
    await app.ready();
    return await body(app);
  } finally {
    await app.close();
  }
}

function assertWholeSnapshot(file) {
  const stat = fs.statSync(file);
  assert.equal(stat.mode & 0o777, 0o600, `${file} must be created 0600`);
  const tail = Buffer.alloc(16);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, tail, 0, 16, stat.size - 16);
  fs.closeSync(fd);
  assert.match(tail.toString('latin1'), /\]\}\s*$/, 'a complete snapshot ends with "]}"');
  return stat;
}

test('kill -USR2 writes a 0600 snapshot into the snapshot dir that the engine can read', { timeout: 30_000 }, async () => {
  const cwd = freshDir('signal');
  const dir = freshDir('signal-dir');
  await withApp({ cwd, env: { LEAKWATCH_SNAPSHOT_DIR: dir } }, async (app) => {
    const info = await app.dump();
    assert.equal(info.trigger, 'signal');
    assert.equal(path.dirname(info.file), dir);
    assert.match(path.basename(info.file), new RegExp(`^heapdump-${app.pid}-\\d{8}T\\d{6}Z-1\\.heapsnapshot$`));
    assert.deepEqual(snapshotsIn(dir), [path.basename(info.file)]);
    assert.deepEqual(fs.readdirSync(cwd), [], 'nothing written to cwd when snapshotDir is set');
    assert.deepEqual(partialsIn(dir), []);
    const stat = assertWholeSnapshot(info.file);
    assert.equal(stat.size, info.bytes);
    const summary = await leakwatch.summarize(info.file);
    assert.ok(summary.nodes > 1000, `parsed ${summary.nodes} nodes`);
    assert.ok(summary.classes.some((c) => c.name === 'Object'));
    assert.ok(app.alive);
  });
});

test('growth report after the second dump names the class the app grew (event and stderr)', { timeout: 30_000 }, async () => {
  const cwd = freshDir('growth');
  await withApp({ cwd, env: { LEAKWATCH_QUIET: '0' } }, async (app) => {
    const first = await app.dump();
    await app.ask('grow', 'grown', { count: 20_000 });
    const since = app.messages.length;
    const second = await app.dump();
    const growth = await app.waitFor('growth', { since });
    assert.equal(growth.previous, first.file);
    assert.equal(growth.file, second.file);
    assert.equal(growth.topByCount[0].what, 'LeakyThing', `top grower by count: ${JSON.stringify(growth.topByCount.slice(0, 3))}`);
    assert.ok(growth.topByCount[0].added - growth.topByCount[0].removed >= 20_000);
    assert.ok(growth.topBySize.some((d) => d.what === 'LeakyThing'));
    await until(() => /LeakyThing: \+\d+ objects/.test(app.stderr), 5000, 'the growth report on stderr');
    assert.match(app.stderr, new RegExp(`${path.basename(second.file)} vs ${path.basename(first.file)}`));
  });
});

for (const order of ['app listener before leakwatch', 'app listener after leakwatch']) {
  test(`survives process.on('SIGUSR2') add then remove (${order}); the app's listener gets the signal`, { timeout: 40_000 }, async () => {
    const cwd = freshDir('dance');
    const env = order.startsWith('app listener before') ? { APP_LISTENER_FIRST: '1' } : {};
    await withApp({ cwd, env }, async (app) => {
      let dumps = 0;
      if (env.APP_LISTENER_FIRST) {
        const since = app.messages.length;
        await app.dump();
        dumps++;
        await app.waitFor('app-signal', { since });
        // What is left is leakwatch's own listener, which keeps libuv's handler installed.
        assert.equal((await app.ask('unlisten', 'unlistened')).listeners, 1);
      } else {
        await app.dump();
        dumps++;
        assert.equal((await app.ask('listen', 'listening')).listeners, 2);
        const since = app.messages.length;
        await app.dump();
        dumps++;
        await app.waitFor('app-signal', { since });
        assert.equal((await app.ask('unlisten', 'unlistened')).listeners, 1);
      }
      // The app's last listener is gone: the signal must still dump, not terminate.
      await app.dump();
      dumps++;
      assert.ok(app.alive, 'the signal after the last app listener went must not kill the process');
      // Add and remove again, then once more without any listener.
      await app.ask('listen', 'listening');
      const since = app.messages.length;
      await app.dump();
      dumps++;
      await app.waitFor('app-signal', { since });
      await app.ask('unlisten', 'unlistened');
      await app.dump();
      dumps++;
      assert.ok(app.alive);
      assert.equal((await app.ask('ping', 'pong')).appSignals, env.APP_LISTENER_FIRST ? 2 : 2);
      assert.equal(snapshotsIn(cwd).length, dumps);
    });
  });
}

test('NODE_HEAPDUMP_OPTIONS=nosignal: no dump; the app keeps its own SIGUSR2 listener', { timeout: 20_000 }, async () => {
  const cwd = freshDir('nosignal');
  await withApp({ cwd, env: { NODE_HEAPDUMP_OPTIONS: 'nosignal', APP_LISTENER_FIRST: '1' } }, async (app) => {
    app.signal();
    await app.waitFor('app-signal');
    await sleep(1500); // longer than stuckAfterMs: not even the watchdog may dump
    assert.deepEqual(fs.readdirSync(cwd), []);
    assert.equal(app.all('snapshot').length, 0);
    // writeSnapshot still works: only the signal is off.
    const written = await app.ask('write', 'written');
    assert.equal(written.error, null);
    assert.ok(fs.existsSync(written.file));
  });
});

test('signal off (LEAKWATCH_SIGNAL=off) and no app listener: SIGUSR2 keeps its default action (terminate)', { timeout: 20_000 }, async () => {
  const cwd = freshDir('signal-off');
  const app = new App({ cwd, env: { LEAKWATCH_SIGNAL: 'off' } });
  await app.ready();
  app.signal();
  const status = await Promise.race([app.exit, sleep(5000).then(() => 'still running')]);
  await app.close();
  assert.deepEqual(status, { code: null, signal: 'SIGUSR2' });
  assert.deepEqual(fs.readdirSync(cwd), []);
});


test('a main thread stuck in a 10 s busy loop still gets its dump, completed while it is stuck', { timeout: 40_000 }, async () => {
  const cwd = freshDir('busy');
  // Options changed at run time reach the watchdog too: it dumps where the main thread would.
  const moved = path.join(cwd, 'moved');
  fs.mkdirSync(moved);
  await withApp({ cwd }, async (app) => {
    const since = app.messages.length;
    app.command('configure', { options: { snapshotDir: moved } });
    await app.waitFor('configured', { since });
    app.command('busy', { ms: 10_000 });
    const { start } = await app.waitFor('busy-start', { since, timeout: 5000 });
    app.signal();
    const signalledAt = Date.now();
    // Watch the directory from outside while the app is stuck.
    const name = await until(() => snapshotsIn(moved)[0], 9000, 'the snapshot file while the loop runs');
    const appearedAt = Date.now();
    assert.equal(app.all('busy-end', since).length, 0, 'the file must appear before the loop ends');
    const { end } = await app.waitFor('busy-end', { since, timeout: 15_000 });
    const info = await app.waitFor('snapshot', { since });
    assert.equal(info.file, path.join(moved, name));
    assert.equal(info.viaInspector, true);
    assert.equal(info.trigger, 'signal');
    assert.ok(info.completedAt < end, `completed at +${info.completedAt - start} ms, loop ended at +${end - start} ms`);
    assert.ok(appearedAt < end);
    assert.ok(fs.statSync(info.file).mtimeMs < end);
    assert.ok(appearedAt - signalledAt < 6000, `dump took ${appearedAt - signalledAt} ms after the signal`);
    assertWholeSnapshot(info.file);
    assert.deepEqual(partialsIn(moved), []);
    assert.deepEqual(snapshotsIn(cwd), []);
    const summary = await leakwatch.summarize(info.file);
    assert.ok(summary.nodes > 1000);
    // Afterwards the main thread answers signals itself again.
    const next = await app.dump();
    assert.equal(next.viaInspector, false);
    assert.equal(snapshotsIn(moved).length, 2);
  });
});

test('writeSnapshot(filename, cb) keeps heapdump semantics; writeSnapshotAsync resolves with the info', { timeout: 30_000 }, async () => {
  const cwd = freshDir('api');
  await withApp({ cwd }, async (app) => {
    // Explicit (relative) file name: returned, passed to the callback, called asynchronously.
    const named = await app.ask('write', 'written', { filename: 'mine.heapsnapshot' });
    assert.equal(named.error, null);
    assert.equal(named.sync, false, 'the callback runs asynchronously');
    assert.equal(named.returned, named.file);
    assert.equal(named.file, path.join(cwd, 'mine.heapsnapshot'));
    assertWholeSnapshot(named.file);
    // Callback only: a default heapdump-<pid>-<time>-<seq> name in the current directory.
    const unnamed = await app.ask('write', 'written');
    assert.equal(unnamed.error, null);
    assert.equal(unnamed.returned, unnamed.file);
    assert.equal(path.dirname(unnamed.file), cwd);
    assert.match(path.basename(unnamed.file), new RegExp(`^heapdump-${app.pid}-\\d{8}T\\d{6}Z-\\d+\\.heapsnapshot$`));
    assertWholeSnapshot(unnamed.file);
    // No callback at all: still returns the name of a complete file.
    const bare = await app.ask('writeNoCallback', 'written-no-callback');
    assertWholeSnapshot(bare.returned);
    // Promise form.
    const promised = await app.ask('writeAsync', 'written-async', { filename: path.join(cwd, 'promised.heapsnapshot') });
    assert.equal(promised.info.file, path.join(cwd, 'promised.heapsnapshot'));
    assert.equal(promised.info.trigger, 'api');
    assert.equal(promised.info.bytes, assertWholeSnapshot(promised.info.file).size);
    assert.ok(promised.info.durationMs > 0);
    // Every dump was announced with trigger 'api'.
    const events = app.all('snapshot');
    assert.equal(events.length, 4);
    assert.ok(events.every((e) => e.trigger === 'api'));
    // A missing directory: the callback gets the error, nothing is thrown; the promise rejects.
    const missing = await app.ask('write', 'written', { filename: path.join(cwd, 'no', 'such', 'dir.heapsnapshot') });
    assert.equal(missing.error.code, 'ENOENT');
    assert.match(missing.error.message, /cannot write (a )?heap snapshot .*no\/such.*no such file or directory/);
    const rejected = await app.ask('writeAsync', 'written-async', { filename: path.join(cwd, 'no', 'such.heapsnapshot') });
    assert.equal(rejected.error.code, 'ENOENT');
    assert.deepEqual(partialsIn(cwd), []);
  });
});

test('unwritable directory: clear EACCES error to the callback and the error event, no partial file', { timeout: 30_000 }, async () => {
  const cwd = freshDir('unwritable');
  const locked = path.join(cwd, 'locked');
  fs.mkdirSync(locked);
  // root ignores directory permissions: run the app as an unprivileged user then.
  const asRoot = process.getuid && process.getuid() === 0;
  if (asRoot) fs.chmodSync(cwd, 0o777);
  fs.chmodSync(locked, 0o555);
  const identity = asRoot ? { uid: 65534, gid: 65534 } : {};
  await withApp({ cwd, env: { LEAKWATCH_SNAPSHOT_DIR: locked }, ...identity }, async (app) => {
    const written = await app.ask('write', 'written');
    assert.equal(written.error.code, 'EACCES');
    assert.match(written.error.message, new RegExp(`cannot write heap snapshot ${locked}/heapdump-.*permission denied`));
    assert.equal(path.dirname(written.file), locked);
    // The signal path reports through the 'error' event and keeps the process alive.
    const since = app.messages.length;
    app.signal();
    const error = await app.waitFor('error', { since });
    assert.equal(error.code, 'EACCES');
    assert.ok(app.alive);
    assert.deepEqual(fs.readdirSync(locked), []);
  });
  // Without an 'error' listener the failure becomes a process warning, never an exception.
  await withApp({ cwd, env: { LEAKWATCH_SNAPSHOT_DIR: locked, NO_ERROR_LISTENER: '1' }, ...identity }, async (app) => {
    app.signal();
    const warning = await app.waitFor('warning');
    assert.equal(warning.name, 'LeakwatchWarning');
    assert.equal(warning.code, 'EACCES');
    assert.match(warning.message, /permission denied/);
    assert.equal((await app.ask('ping', 'pong')).type, 'pong');
  });
  assert.deepEqual(fs.readdirSync(locked), []);
});

/** Files under `dir` that process `pid` still has open (deleted ones included). */
function openFilesUnder(pid, dir) {
  const open = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith(dir + '/')) open.push(target);
    } catch {
      // closed meanwhile
    }
  }
  return open;
}

/** A 1 MB tmpfs (or a loop-mounted image when tmpfs is refused); null with the reason if neither works. */
function mountTinyDisk(dir) {
  const tmpfs = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', dir], { encoding: 'utf8' });
  if (tmpfs.status === 0) return { kind: '1 MB tmpfs', unmount: () => spawnSync('umount', [dir]) };
  const image = `${dir}.img`;
  const steps = [
    ['truncate', ['-s', '2M', image]],
    ['mkfs.ext4', ['-q', '-F', image]],
    ['mount', ['-o', 'loop', image, dir]],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) {
      fs.rmSync(image, { force: true });
      return { skip: `cannot mount a tiny disk: tmpfs: ${(tmpfs.stderr || tmpfs.error?.message || '').trim()}; loop image: ${cmd}: ${(r.stderr || r.error?.message || '').trim()}` };
    }
  }
  return {
    kind: '2 MB loop-mounted ext4 image',
    unmount: () => {
      spawnSync('umount', [dir]);
      fs.rmSync(image, { force: true });
    },
  };
}

test('full disk: refused up front with ERR_LEAKWATCH_NO_DISK; when forced, a clear error and no partial file', { timeout: 40_000 }, async (t) => {
  const cwd = freshDir('full-disk');
  const disk = path.join(cwd, 'disk');
  fs.mkdirSync(disk);
  const mounted = mountTinyDisk(disk);
  if (mounted.skip) {
    t.skip(mounted.skip);
    return;
  }
  try {
    t.diagnostic(`using a ${mounted.kind}`);
    await withApp({ cwd, env: { LEAKWATCH_SNAPSHOT_DIR: disk } }, async (app) => {
      // The resource check sees less free disk than the used heap.
      const refused = await app.ask('write', 'written');
      assert.equal(refused.error.code, 'ERR_LEAKWATCH_NO_DISK');
      assert.match(refused.error.message, /not enough free disk in .*disk for a heap snapshot: [\d.]+ (bytes|kb|mb|gb) free, expected at least [\d.]+ (bytes|kb|mb|gb)/);
      let since = app.messages.length;
      app.signal();
      assert.equal((await app.waitFor('error', { since })).code, 'ERR_LEAKWATCH_NO_DISK');
      assert.deepEqual(fs.readdirSync(disk).filter((n) => n !== 'lost+found'), []);
      // Without the check, V8 runs into ENOSPC (which it does not report): the tail check catches it.
      await app.ask('configure', 'configured', { options: { checkResources: false } });
      const failed = await app.ask('write', 'written');
      assert.ok(['ERR_LEAKWATCH_INCOMPLETE', 'ENOSPC'].includes(failed.error.code), JSON.stringify(failed.error));
      assert.match(failed.error.message, /incomplete|no space/i);
      since = app.messages.length;
      app.signal();
      const error = await app.waitFor('error', { since });
      assert.ok(['ERR_LEAKWATCH_INCOMPLETE', 'ENOSPC'].includes(error.code), JSON.stringify(error));
      assert.deepEqual(fs.readdirSync(disk).filter((n) => n !== 'lost+found'), [], 'no final and no partial file left');
      // Node's writer leaves its descriptor open on a write error; leakwatch must close it,
      // or the deleted partial file would keep the disk full until the process exits.
      assert.deepEqual(openFilesUnder(app.pid, disk), []);
      assert.ok(fs.statfsSync(disk).bfree * fs.statfsSync(disk).bsize > 900_000, 'the space was given back');
      assert.ok(app.alive);
    });
    // The watchdog (stuck main thread) runs into the full disk too: error after the loop, nothing left behind.
    await withApp({ cwd, env: { LEAKWATCH_SNAPSHOT_DIR: disk, LEAKWATCH_OPTIONS: JSON.stringify({ checkResources: false, stuckAfterMs: 300 }) } }, async (app) => {
      const since = app.messages.length;
      app.command('busy', { ms: 3000 });
      await app.waitFor('busy-start', { since });
      app.signal();
      await app.waitFor('busy-end', { since });
      const error = await app.waitFor('error', { since });
      assert.equal(error.code, 'ENOSPC', JSON.stringify(error));
      assert.match(error.message, /cannot write heap snapshot .*no space left on device/);
      assert.equal(app.all('snapshot').length, 0);
      assert.deepEqual(fs.readdirSync(disk).filter((n) => n !== 'lost+found'), []);
      assert.deepEqual(openFilesUnder(app.pid, disk), []);
    });
  } finally {
    mounted.unmount();
  }
});

test('a storm of 50 signals: no crash, one or a few dumps, and the process keeps dumping', { timeout: 30_000 }, async () => {
  const cwd = freshDir('storm');
  await withApp({ cwd }, async (app) => {
    for (let i = 0; i < 50; i++) app.signal();
    await app.waitFor('snapshot');
    await sleep(2000);
    assert.ok(app.alive);
    const dumps = snapshotsIn(cwd).length;
    assert.ok(dumps >= 1 && dumps <= 3, `${dumps} dumps for 50 signals`);
    assert.equal(app.all('snapshot').length, dumps);
    assert.equal(app.all('error').length, 0, JSON.stringify(app.all('error')));
    assert.deepEqual(partialsIn(cwd), []);
    await app.dump();
    assert.equal(snapshotsIn(cwd).length, dumps + 1);
    assert.equal((await app.ask('ping', 'pong')).type, 'pong');
  });
});

test('maxSnapshots keeps the newest of leakwatch\'s own files (with their .heapprofile) and never touches other files', { timeout: 40_000 }, async () => {
  const cwd = freshDir('retention');
  const foreign = ['heapdump-1700000000.123456.heapsnapshot', 'Heap.20240101.000000.1.0.001.heapsnapshot', 'notes.txt', 'heapdump-1-20240101T000000Z-1.heapsnapshot.bak', 'other.heapprofile'];
  for (const name of foreign) fs.writeFileSync(path.join(cwd, name), 'not mine');
  const profiles = () => fs.readdirSync(cwd).filter((n) => n.endsWith('.heapprofile') && n !== 'other.heapprofile').sort();
  await withApp({ cwd, env: { LEAKWATCH_OPTIONS: JSON.stringify({ maxSnapshots: 2, sampling: true }) } }, async (app) => {
    const files = [];
    for (let i = 0; i < 4; i++) {
      const since = app.messages.length;
      files.push((await app.dump()).file);
      if (i > 0) await app.waitFor('growth', { since });
    }
    const kept = await until(() => (snapshotsIn(cwd).length === 2 ? snapshotsIn(cwd) : null), 5000, 'retention to leave two files');
    assert.deepEqual(kept, files.slice(2).map((f) => path.basename(f)));
    // Leak sites go with their snapshot: without that, a long-lived process fills its disk.
    const sites = files.slice(2).map((f) => path.basename(f).replace(/\.heapsnapshot$/, '.heapprofile')).sort();
    await until(() => JSON.stringify(profiles()) === JSON.stringify(sites), 5000, 'the kept snapshots\' profiles, and only those');
    for (const name of foreign) assert.equal(fs.readFileSync(path.join(cwd, name), 'utf8'), 'not mine');
  });
});

test('two copies of leakwatch in one process: one dump per signal, both APIs work', { timeout: 30_000 }, async () => {
  const copy = freshDir('second-copy');
  for (const name of ['index.js', 'package.json', 'binding.js']) fs.copyFileSync(path.join(root, name), path.join(copy, name));
  for (const name of fs.readdirSync(root).filter((n) => n.endsWith('.node'))) fs.copyFileSync(path.join(root, name), path.join(copy, name));
  fs.cpSync(path.join(root, 'lib'), path.join(copy, 'lib'), { recursive: true });
  const cwd = freshDir('two-copies');
  await withApp({ cwd, env: { LW_PATH2: path.join(copy, 'index.js') } }, async (app) => {
    for (let i = 1; i <= 2; i++) {
      await app.dump();
      await sleep(1500); // time for a second (wrong) dump by the other copy or its watchdog
      assert.equal(snapshotsIn(cwd).length, i);
    }
    assert.deepEqual(new Set(app.all('snapshot').map((m) => m.copy)), new Set([1]));
    const viaSecond = await app.ask('write', 'written', { copy: 2, filename: 'second.heapsnapshot' });
    assert.equal(viaSecond.error, null);
    assertWholeSnapshot(viaSecond.file);
    assert.ok(app.alive);
  });
});

test('leakwatch required inside a worker thread: no crash, the main thread still answers signals', { timeout: 30_000 }, async () => {
  const cwd = freshDir('worker');
  await withApp({ cwd }, async (app) => {
    const loaded = await app.ask('worker', 'worker-loaded');
    assertWholeSnapshot(loaded.file); // writeSnapshot inside the worker snapshots the worker
    const info = await app.dump();
    assert.equal(info.trigger, 'signal');
    await sleep(1500);
    assert.equal(app.all('worker-snapshot').filter((m) => m.trigger === 'signal').length, 0, 'the worker never answers the signal');
    assert.equal(snapshotsIn(cwd).length, 1);
    const since = app.messages.length;
    app.command('stopWorker');
    assert.equal((await app.waitFor('worker-exit', { since })).code, 0);
    await app.dump();
    assert.equal(snapshotsIn(cwd).length, 2);
    assert.equal(app.all('worker-error').length, 0);
    assert.ok(app.alive);
  });
});
