// Allocation sampling (leak sites), through real child processes: the leak's function is
// the top site with its caller, garbage and a full cache are not sites, SIGUSR2 writes a
// DevTools .heapprofile that `leakwatch sites` reads, bad files exit 1 with a code, and
// object ids survive the sampler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root, cli, until, sleep, jsonLines } from './helpers.mjs';

const APP = path.join(root, '__test__', 'fixtures', 'sampling', 'app.cjs');
const IDS = path.join(root, '__test__', 'fixtures', 'sampling', 'ids.cjs');
// Frequent reads and a fine interval so a few seconds of a small heap are enough.
const FAST = JSON.stringify({ readPeriodMs: 300, interval: 16384 });

function startApp(args, { env = {}, cwd } = {}) {
  const child = spawn(process.execPath, [APP, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = jsonLines(child.stdout);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const ask = async (command, key) => {
    const before = lines.length;
    child.stdin.write(command + '\n');
    return until(() => lines.slice(before).find((l) => key in l || 'error' in l), 60000, `${command} answer (stderr: ${stderr})`);
  };
  return { child, lines, ask, stderr: () => stderr };
}

test('the leak is the top site, named with its file, function and caller; garbage and a full cache are not sites', { timeout: 120000 }, async () => {
  const app = startApp([FAST]);
  try {
    await until(() => app.lines.find((l) => l.ready), 20000, 'the app to start');
    let answer;
    // Reads every 300 ms; the window is 6 reads. Ask until the sampler has had enough.
    for (let attempt = 0; attempt < 40; attempt++) {
      await sleep(500);
      answer = await app.ask('sites', 'sites');
      if (answer.sites && answer.stats.reads >= 12 && answer.sites.sites.length) break;
    }
    assert.ok(!answer.error, answer.error);
    const { sites } = answer.sites;
    assert.ok(sites.length > 0, 'no leak site found');
    const top = sites[0];
    assert.equal(top.functionName, 'rememberRequest', JSON.stringify(sites.map((s) => s.folded), null, 1));
    assert.equal(top.file, APP);
    assert.match(top.location, /app\.cjs:\d+:\d+$/);
    assert.ok(top.growing && top.windowBytes > 0 && top.growthBytes > 0 && top.liveBytes >= top.windowBytes);
    const own = top.stack.findIndex((f) => f.functionName === 'rememberRequest');
    assert.equal(top.stack[own + 1].functionName, 'handleRequest', 'its caller is next in the stack');
    assert.ok(top.stack.some((f) => f.kind === 'internal'), 'node:internal frames are kept');
    assert.ok(top.folded.some((line) => /node:internal/.test(line)), 'and folded when shown');
    const names = sites.map((s) => s.functionName);
    assert.ok(!names.includes('renderPage'), `garbage is not a leak site: ${names}`);
    assert.ok(!names.includes('cacheInsert'), `a full bounded cache is not a growing site: ${names}`);
    assert.ok(answer.stats.maxReadMs > 0);
  } finally {
    app.child.kill('SIGKILL');
  }
});

test('SIGUSR2 writes a DevTools .heapprofile next to the snapshot, and `leakwatch sites` reads it; bad files exit 1 with a code', { timeout: 120000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-sampling-'));
  const app = startApp([FAST], { cwd: dir });
  try {
    await until(() => app.lines.find((l) => l.ready), 20000, 'the app to start');
    await sleep(1500);
    process.kill(app.child.pid, 'SIGUSR2');
    const profile = await until(() => fs.readdirSync(dir).find((f) => /^heapdump-.*\.heapprofile$/.test(f)), 60000, 'the .heapprofile');
    await until(() => fs.readdirSync(dir).some((f) => f === profile.replace(/\.heapprofile$/, '.heapsnapshot')), 60000, 'the snapshot next to it');
    const file = path.join(dir, profile);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith('.partial')), 'no partial file left');
    // DevTools' format: a head node tree with callFrame/selfSize/id/children, and samples.
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(parsed.head.callFrame.functionName, '(root)');
    for (const key of ['url', 'lineNumber', 'columnNumber', 'scriptId']) assert.ok(key in parsed.head.callFrame, key);
    assert.ok(Array.isArray(parsed.head.children) && typeof parsed.head.selfSize === 'number' && typeof parsed.head.id === 'number');
    assert.ok(parsed.samples.length > 0);
    for (const key of ['size', 'nodeId', 'ordinal']) assert.equal(typeof parsed.samples[0][key], 'number', key);

    const json = await cli(['sites', file, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.ok(report.totalBytes > 0 && report.sites.length > 0);
    assert.ok(report.sites.some((s) => s.functionName === 'rememberRequest' && s.file === APP), JSON.stringify(report.sites.map((s) => s.functionName)));
    const text = await cli(['sites', file, '--top', '3']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /`rememberRequest` at .*app\.cjs:\d+:\d+, called from `handleRequest`/);

    // A second dump: `sites A B` lists what grew in between; the leak did.
    process.kill(app.child.pid, 'SIGUSR2');
    const second = await until(() => fs.readdirSync(dir).filter((f) => f.endsWith('.heapprofile')).sort().find((f) => f !== profile), 60000, 'the second profile');
    const grew = await cli(['sites', file, path.join(dir, second), '--json']);
    assert.equal(grew.code, 0, grew.stderr);
    const growth = JSON.parse(grew.stdout);
    assert.ok(growth.sites.every((s) => s.growthBytes > 0));
    assert.ok(growth.sites.some((s) => s.functionName === 'rememberRequest'), JSON.stringify(growth.sites.map((s) => s.functionName)));

    // Truncated, foreign: one line naming the problem with its code, exit 1.
    const cut = path.join(dir, 'cut.heapprofile');
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 500));
    const truncated = await cli(['sites', cut]);
    assert.equal(truncated.code, 1);
    assert.match(truncated.stderr, /ERR_LEAKWATCH_PROFILE_TRUNCATED/);
    assert.equal(truncated.stderr.trim().split('\n').length, 1);
    const foreign = await cli(['sites', path.join(root, 'package.json')]);
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /ERR_LEAKWATCH_NOT_A_PROFILE/);
    assert.equal(foreign.stderr.trim().split('\n').length, 1);
  } finally {
    app.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The id of the one `IdMarker` object in a (small) snapshot. */
function markerId(file) {
  const snapshot = JSON.parse(fs.readFileSync(file, 'utf8'));
  const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta;
  const [type, name, id] = ['type', 'name', 'id'].map((f) => fields.indexOf(f));
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    if (types[snapshot.nodes[i + type]] === 'object' && snapshot.strings[snapshot.nodes[i + name]] === 'IdMarker') return snapshot.nodes[i + id];
  }
  return null;
}

test('object ids stay the same in snapshots taken before and after the sampler started and read', { timeout: 120000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-ids-'));
  try {
    const child = spawn(process.execPath, [IDS, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, err);
    const result = JSON.parse(out.trim());
    assert.ok(result.reads >= 3, `the sampler read ${result.reads} times`);
    assert.ok(result.userSaw > 0, "a user's session sees the shared profile");
    const before = markerId(path.join(dir, 'before.heapsnapshot'));
    const after = markerId(path.join(dir, 'after.heapsnapshot'));
    assert.ok(before !== null);
    assert.equal(after, before);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sites() rejects with a code when sampling is off', async () => {
  const { default: leakwatch } = await import('../index.js');
  await assert.rejects(leakwatch.sites(), { code: 'ERR_LEAKWATCH_SAMPLING_OFF' });
});

test('each settled read (right after a full GC) is judged by the detector, its verdicts handed to onLeaks; others are not', async () => {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const { Sampler } = require('../lib/agent/sampler.js');
  const { forceGc } = require('../lib/agent/gc.js');
  const judged = [];
  const readings = [];
  const sampler = new Sampler({ onLeaks: (leaks) => judged.push(leaks), options: { interval: 16384, readPeriodMs: 3600000 } });
  sampler.start();
  try {
    const kept = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20000; i++) kept.push({ i, text: `kept-${round}-${i}` });
      forceGc();
      readings.push(sampler.read({ settled: true }));
    }
    // A read between full GCs (dead objects may still hold samples) is not judged.
    sampler.read();
    assert.equal(sampler.stats.reads, 4);
    assert.equal(judged.length, 3);
    assert.ok(judged.every((leaks) => Array.isArray(leaks)));
    const last = readings[2];
    assert.deepEqual(Object.keys(last).sort(), ['atMs', 'cohorts']);
    assert.equal(last.cohorts.length, 3);
    for (const c of last.cohorts) assert.deepEqual(Object.keys(c).sort(), ['endMs', 'firstBytes', 'liveBytes', 'peakBytes', 'startMs']);
    // Kept allocations: each interval's cohort holds bytes, and still holds most of them
    // later (the array's outgrown backing stores die).
    assert.ok(last.cohorts[1].firstBytes > 0 && last.cohorts[1].liveBytes >= 0.5 * last.cohorts[1].firstBytes, JSON.stringify(last.cohorts));
    assert.ok(last.cohorts[0].endMs <= last.cohorts[1].startMs + 1e-6 && last.atMs === last.cohorts[2].endMs);
    kept.length = 0;
  } finally {
    sampler.stop();
  }
});

test("another session's sampling: leakwatch waits while it runs, and restarts after someone stops its own", async () => {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const { Sampler } = require('../lib/agent/sampler.js');
  const inspector = require('node:inspector');
  const user = new inspector.Session();
  globalThis.keepUserSession = user; // never disconnected: that would renumber object ids
  user.connect();
  const post = (method, params = {}) => {
    let out;
    user.post(method, params, (error, result) => (out = { error, result }));
    return out;
  };
  const reported = [];
  const sampler = new Sampler({ report: (e) => reported.push(e.code), options: { interval: 16384, readPeriodMs: 3600000 } });
  try {
    // The user's profiler runs first: leakwatch does not read a profile of unknown settings.
    assert.ok(!post('HeapProfiler.startSampling', { samplingInterval: 4096 }).error);
    sampler.start();
    assert.equal(sampler.read(), null);
    assert.deepEqual(reported, ['ERR_LEAKWATCH_SAMPLING_FOREIGN']);
    // It stops: leakwatch starts its own at the next read.
    assert.ok(!post('HeapProfiler.stopSampling').error);
    assert.ok(sampler.read() !== null);
    // The user stops leakwatch's (shared) profiler: noticed, restarted, a new epoch.
    assert.ok(!post('HeapProfiler.stopSampling').error);
    assert.equal(sampler.read(), null);
    assert.deepEqual(reported, ['ERR_LEAKWATCH_SAMPLING_FOREIGN', 'ERR_LEAKWATCH_SAMPLING_RESTARTED']);
    assert.equal(sampler.stats.restarts, 1);
    assert.ok(sampler.read() !== null);
    assert.ok(!post('HeapProfiler.getSamplingProfile').error, 'the user sees the shared profile');
  } finally {
    sampler.stop();
  }
});
