// Files and configuration (issue 26, items 4, 5, 7, 8, 10), through the real interfaces:
// real processes sharing a snapshot directory and a stats file, the CLI as a child
// process on hostile inputs, a file renamed over or deleted while the CLI reads it (the
// read held in its open(2) by strace, so that this happens mid-read every time), and
// real apps preloading leakwatch/register with configuration typos.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, root, cli, until } from './helpers.mjs';

const LEAKWATCH = path.join(root, 'index.js');
const REGISTER = path.join(root, 'register.js');

let scratch;
before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-files-test-'));
});
after(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

/** A child node process: {child, out, done}; done resolves {code, signal, stdout, stderr}. */
function node(args, { env = {}, timeoutMs = 90000, command = process.execPath } = {}) {
  const child = spawn(command, args, { cwd: scratch, stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, NODE_OPTIONS: '', ...env } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += d));
  child.stderr.on('data', (d) => (out.stderr += d));
  child.stdin.on('error', () => {});
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      reject(new Error(`${args.join(' ')} timed out after ${timeoutMs} ms\nstdout:\n${out.stdout}\nstderr:\n${out.stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ...out });
    });
  });
  return { child, out, done };
}

function script(name, text) {
  const file = path.join(scratch, name);
  fs.writeFileSync(file, text);
  return file;
}

// ---- item 4 ---------------------------------------------------------------------------

// Waits for "go" on stdin (the test plants files first), writes 4 snapshots under default
// names, waits until retention has run after the last, and prints the files it wrote.
const DUMPER = `
const fs = require('node:fs');
const path = require('node:path');
const leakwatch = require(${JSON.stringify(LEAKWATCH)});
const dir = process.env.LEAKWATCH_SNAPSHOT_DIR;
const mine = () => fs.readdirSync(dir).filter((n) => n.startsWith('heapdump-' + process.pid + '-') && n.endsWith('.heapsnapshot'));
// Each dump after the first ends with a growth report or an error (its previous file gone).
const retained = [];
const errors = [];
leakwatch.on('growth', () => retained.push(1));
leakwatch.on('error', (error) => (errors.push(error.code + ': ' + error.message), retained.push(1)));
console.log('ready ' + process.pid);
process.stdin.once('data', async () => {
  const files = [];
  for (let i = 0; i < 4; i++) {
    files.push((await leakwatch.writeSnapshotAsync()).file);
    // Retention runs after each growth report (a file is kept for the next one).
    if (i > 0) while (retained.length < i) await new Promise((r) => setTimeout(r, 20));
  }
  const deadline = Date.now() + 30000;
  // Files of the earlier run planted with this pid count as mine() until the fix: stop at 2 of ours.
  while (files.filter((f) => fs.existsSync(f)).length > 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  console.log(JSON.stringify({ pid: process.pid, files: files.map((f) => path.basename(f)), left: mine(), errors }));
  process.exit(0);
});
`;

test('item 4: two processes with maxSnapshots 2 in one directory each keep their own 2; an earlier run\'s snapshot and a matching symlink survive', { timeout: 120000 }, async () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'retention-'));
  const app = script('dumper.cjs', DUMPER);
  const env = { LEAKWATCH_SNAPSHOT_DIR: dir, LEAKWATCH_MAX_SNAPSHOTS: '2', LEAKWATCH_QUIET: '1', LEAKWATCH_SIGNAL: 'off' };
  const apps = [node([app], { env }), node([app], { env })];
  await until(() => apps.every((a) => a.out.stdout.includes('ready')), 30000, 'both apps loaded');
  // An earlier run with the pid of one of them (pids are reused: every container's app is
  // pid 1), old; and a link with a default name, pointing to a file that is not a snapshot.
  const [pidA] = apps.map((a) => a.child.pid);
  const earlier = path.join(dir, `heapdump-${pidA}-20200101T000000Z-1.heapsnapshot`);
  fs.writeFileSync(earlier, 'an earlier run');
  fs.utimesSync(earlier, new Date('2020-01-01'), new Date('2020-01-01'));
  const target = path.join(scratch, 'link-target.txt');
  fs.writeFileSync(target, 'linked');
  const link = path.join(dir, `heapdump-${pidA}-20200101T000000Z-2.heapsnapshot`);
  fs.symlinkSync(target, link);
  fs.lutimesSync(link, new Date('2020-01-01'), new Date('2020-01-01'));
  for (const a of apps) a.child.stdin.write('go\n');
  const results = await Promise.all(apps.map((a) => a.done));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const reports = results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()));
  const left = fs.readdirSync(dir).sort();
  for (const { pid, files, errors } of reports) {
    assert.deepEqual(errors, [], `pid ${pid}`);
    for (const file of files.slice(2)) assert.ok(left.includes(file), `pid ${pid} lost its newest snapshot ${file}; left: ${left.join(', ')}`);
    for (const file of files.slice(0, 2)) assert.ok(!left.includes(file), `pid ${pid} kept ${file} beyond maxSnapshots`);
  }
  assert.equal(fs.readFileSync(earlier, 'utf8'), 'an earlier run');
  assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the symlink was deleted');
  assert.equal(fs.readFileSync(target, 'utf8'), 'linked');
  assert.equal(left.length, 6, left.join(', '));
});

// ---- item 5 ---------------------------------------------------------------------------

// Forces `ROUNDS` full GCs (a 'stats' record each), says "looped", waits for "go", then
// writes one last record and says "final".
const RECORDER = `
const leakwatch = require(${JSON.stringify(LEAKWATCH)});
const ROUNDS = Number(process.argv[2]);
const nextStats = () => new Promise((resolve) => leakwatch.once('stats', resolve));
(async () => {
  for (let i = 0; i < ROUNDS; i++) {
    const seen = nextStats();
    leakwatch.gc();
    await seen;
  }
  console.log('looped');
  process.stdin.once('data', async () => {
    const since = Date.now();
    const seen = nextStats();
    leakwatch.gc();
    await seen; // recorded before it is emitted
    // Read back at once: the other processes' idle GCs (V8's memory reducer) may rotate the
    // shared file twice more before the test could read it, which would drop the record
    // without anything having stopped recording.
    const fs = require('node:fs');
    const file = process.env.LEAKWATCH_STATS_FILE;
    const lines = [file + '.1', file].flatMap((name) => { try { return fs.readFileSync(name, 'utf8').split('\\n'); } catch { return []; } });
    const found = lines.some((line) => { try { const r = JSON.parse(line); return r.pid === process.pid && r.event === 'stats' && r.t >= since; } catch { return false; } });
    console.log(found ? 'final: recorded' : 'final: missing');
    process.exit(0);
  });
})();
`;

test('item 5: 8 processes sharing one stats file rotated every 2 records all keep recording through each other\'s rotations', { timeout: 240000 }, async () => {
  const dir = fs.mkdtempSync(path.join(scratch, 'shared-stats-'));
  const file = path.join(dir, 'stats.jsonl');
  const app = script('recorder.cjs', RECORDER);
  // A 'stats' record is ~850 bytes: about 800 rotations among the 8.
  const env = { LEAKWATCH_STATS_FILE: file, LEAKWATCH_STATS_FILE_MAX_BYTES: '2000', LEAKWATCH_SIGNAL: 'off', LEAKWATCH_QUIET: '1' };
  const apps = Array.from({ length: 8 }, () => node([app, '200'], { env, timeoutMs: 200000 }));
  await until(() => apps.every((a) => a.out.stdout.includes('looped')), 200000, 'every process through its rounds', 50);
  assert.ok(fs.existsSync(`${file}.1`), 'the file was rotated');
  const records = () =>
    [`${file}.1`, file].flatMap((name) =>
      fs
        .readFileSync(name, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    );
  // One by one, each process writes a last record and reads it back from the file: it is
  // there, so none stopped.
  for (const { child, done } of apps) {
    child.stdin.write('go\n');
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    // A failed rotation would be reported: there is none.
    assert.doesNotMatch(r.stderr, /LeakwatchWarning|ENOENT/, r.stderr);
    assert.match(r.stdout, /final: recorded/, `pid ${child.pid} stopped recording`);
  }
  assert.ok(records().length > 0);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

// ---- item 7 ---------------------------------------------------------------------------

/** `leakwatch sites ...args`; killed (and failed) if its resident memory passes 512 MB. */
async function sites(args) {
  const run = node([CLI, 'sites', ...args], { timeoutMs: 60000 });
  let peakKb = 0;
  const watch = setInterval(() => {
    try {
      const hwm = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${run.child.pid}/status`, 'utf8'));
      peakKb = Math.max(peakKb, Number(hwm[1]));
      if (peakKb > 512 * 1024) process.kill(-run.child.pid, 'SIGKILL');
    } catch {
      // exited
    }
  }, 20);
  try {
    const r = await run.done;
    assert.ok(peakKb <= 512 * 1024, `leakwatch sites ${args.join(' ')} reached ${peakKb} kB resident`);
    return r;
  } finally {
    clearInterval(watch);
  }
}

const PROFILE = (selfSize, sampleSize) =>
  JSON.stringify({
    head: {
      callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 },
      selfSize: 0,
      id: 1,
      children: [{ callFrame: { functionName: 'leak', scriptId: '3', url: 'file:///app/a.js', lineNumber: 3, columnNumber: 13 }, selfSize, id: 2, children: [] }],
    },
    samples: [{ size: sampleSize, nodeId: 2, ordinal: 5 }],
  });

describe('item 7: leakwatch sites refuses what is not a bounded regular .heapprofile, with a code', () => {
  const refused = async (args, code, says) => {
    const r = await sites(args);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`\\(${code}\\)\\n$`));
    if (says) assert.match(r.stderr, says);
    assert.equal(r.stdout, '');
  };

  test('/dev/zero and /dev/urandom: ERR_LEAKWATCH_NOT_A_FILE, at once, in bounded memory', async () => {
    await refused(['/dev/zero'], 'ERR_LEAKWATCH_NOT_A_FILE', /character device/);
    await refused(['/dev/urandom'], 'ERR_LEAKWATCH_NOT_A_FILE', /character device/);
  });

  test('a FIFO no one writes to, a directory, a missing file: NOT_A_FILE / NOT_FOUND like every command', async () => {
    const fifo = path.join(scratch, 'never.heapprofile');
    spawnSync('mkfifo', [fifo]);
    await refused([fifo], 'ERR_LEAKWATCH_NOT_A_FILE', /named pipe/);
    await refused([scratch], 'ERR_LEAKWATCH_NOT_A_FILE', /directory/);
    await refused([path.join(scratch, 'missing.heapprofile')], 'ERR_LEAKWATCH_NOT_FOUND');
    // The same codes as summary gives for the same inputs.
    assert.match((await cli(['summary', scratch])).stderr, /\(ERR_LEAKWATCH_NOT_A_FILE\)/);
    assert.match((await cli(['summary', path.join(scratch, 'missing.heapprofile')])).stderr, /\(ERR_LEAKWATCH_NOT_FOUND\)/);
  });

  test('a file far bigger than any profile is refused without being read', async () => {
    const big = path.join(scratch, 'huge.heapprofile');
    const fd = fs.openSync(big, 'w');
    fs.ftruncateSync(fd, 1024 * 1024 * 1024); // sparse: no disk used
    fs.closeSync(fd);
    await refused([big], 'ERR_LEAKWATCH_NOT_A_PROFILE', /1073741824 bytes/);
  });

  test('hostile sizes (negative, 1.7e308, beyond any process) are refused, not printed as sizes', async () => {
    const cases = [
      ['negative-node', PROFILE(-65600, 32800), /selfSize of node 2 is -65600/],
      ['huge-node', PROFILE(1.7e308, 32800), /selfSize of node 2 is 1\.7e308/],
      ['negative-sample', PROFILE(65600, -32800), /size of the sample of node 2 is -32800/],
      ['petabyte-sample', PROFILE(65600, 1e15), /size of the sample/],
    ];
    for (const [name, text, says] of cases) {
      const file = path.join(scratch, `${name}.heapprofile`);
      fs.writeFileSync(file, text);
      await refused([file], 'ERR_LEAKWATCH_NOT_A_PROFILE', says);
    }
    // A sane profile still reads.
    const good = path.join(scratch, 'good.heapprofile');
    fs.writeFileSync(good, PROFILE(65600, 32800));
    const r = await sites([good, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).sites[0].liveBytes, 65600);
  });
});

// ---- item 8 ---------------------------------------------------------------------------

function straceWorks() {
  const r = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', 'true']);
  return r.status === 0;
}

/** The pid of a process with `file` open (its /proc/<pid>/fd links name it), or null. */
function openedBy(file) {
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let fds;
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === file) return { pid: Number(pid), fd };
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
}

describe('item 8: a file renamed over or deleted while the CLI reads it was read whole: no truncation error', () => {
  let snapshot;
  let expected;
  before(async () => {
    snapshot = path.join(scratch, 'whole.heapsnapshot');
    spawnSync(process.execPath, ['-e', `require('v8').writeHeapSnapshot(${JSON.stringify(snapshot)})`]);
    const r = await cli(['summary', snapshot, '--json']);
    assert.equal(r.code, 0, r.stderr);
    expected = JSON.parse(r.stdout);
  });

  for (const [what, change] of [
    ['renamed over by a small file', (file) => (fs.writeFileSync(`${file}.new`, '{}'), fs.renameSync(`${file}.new`, file))],
    ['deleted', (file) => fs.unlinkSync(file)],
  ]) {
    test(`summary of a snapshot ${what} mid-read`, { timeout: 120000 }, async (t) => {
      if (!straceWorks()) return t.skip('strace cannot trace here (not installed, or ptrace not permitted)');
      const file = path.join(scratch, `read-${what.split(' ')[0]}.heapsnapshot`);
      fs.copyFileSync(snapshot, file);
      // strace holds the CLI for 4 s as it returns from opening this file (and only this
      // file): the file is open, nothing of it read yet.
      const run = node(['-f', '-qq', '-o', '/dev/null', '-P', file, '-e', 'trace=openat', '-e', 'inject=openat:delay_exit=4000000', process.execPath, CLI, 'summary', file, '--json'], { command: 'strace' });
      const holder = await until(() => openedBy(file), 60000, 'the CLI to open the file', 10);
      change(file);
      // Still open, and no longer the file at that name: the change happened mid-read.
      assert.match(fs.readlinkSync(`/proc/${holder.pid}/fd/${holder.fd}`), /\(deleted\)$/);
      const r = await run.done;
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual({ ...JSON.parse(r.stdout), file: null }, { ...expected, file: null });
    });
  }
});

// ---- item 10 --------------------------------------------------------------------------

const PRELOADED = `
const leakwatch = require(${JSON.stringify(LEAKWATCH)});
let apiThrows = null;
try {
  leakwatch.configure({ futureOption: 1 });
} catch (error) {
  apiThrows = error.code;
}
const { maxSnapshots, statsFileMaxBytes, signal, leakDetection } = leakwatch.options;
console.log(JSON.stringify({ ran: true, apiThrows, maxSnapshots, statsFileMaxBytes, signal, leakDetection }));
`;

describe('item 10: a configuration typo under --require leakwatch/register warns once and the app runs', () => {
  const cases = [
    ['LEAKWATCH_OPTIONS with an unknown option', { LEAKWATCH_OPTIONS: JSON.stringify({ futureOption: 1, maxSnapshots: 3 }) }, 'LEAKWATCH_OPTIONS', { maxSnapshots: 3 }],
    ['LEAKWATCH_OPTIONS that is not JSON', { LEAKWATCH_OPTIONS: '{maxSnapshots: 3' }, 'LEAKWATCH_OPTIONS', { maxSnapshots: 0 }],
    ['LEAKWATCH_MAX_SNAPSHOTS=abc', { LEAKWATCH_MAX_SNAPSHOTS: 'abc', LEAKWATCH_STATS_FILE_MAX_BYTES: '4096' }, 'LEAKWATCH_MAX_SNAPSHOTS', { maxSnapshots: 0, statsFileMaxBytes: 4096 }],
    ['a fractional byte count', { LEAKWATCH_STATS_FILE_MAX_BYTES: '1.5' }, 'LEAKWATCH_STATS_FILE_MAX_BYTES', { statsFileMaxBytes: 64 * 1024 * 1024 }],
    ['a signal name that is not one', { LEAKWATCH_SIGNAL: 'usr2' }, 'LEAKWATCH_SIGNAL', { signal: 'SIGUSR2' }],
  ];
  for (const [what, env, variable, applied] of cases) {
    test(what, { timeout: 60000 }, async () => {
      const app = script('preloaded.cjs', PRELOADED);
      const r = await node(['--require', REGISTER, app], { env: { LEAKWATCH_QUIET: '1', ...env } }).done;
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').pop());
      assert.equal(out.ran, true);
      // The valid values apply, the invalid one falls back to its default; leak detection is on.
      for (const [key, value] of Object.entries(applied)) assert.equal(out[key], value, key);
      assert.equal(out.leakDetection, true);
      // The API still throws.
      assert.equal(out.apiThrows, 'ERR_LEAKWATCH_INVALID_OPTION');
      // One warning, with the code and the variable; no stack trace.
      assert.equal(r.stderr.match(/ERR_LEAKWATCH_INVALID_OPTION/g)?.length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`\\[ERR_LEAKWATCH_INVALID_OPTION\\].*${variable}`));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  }
});
