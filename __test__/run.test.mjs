// `leakwatch run`, `leakwatch plot` and `leakwatch demo` end to end: real apps under
// watch (examples/leaky-app.js, examples/steady-app.js, tiny inline apps), real signals.
// The runs take 14–20 s each, so they run concurrently.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { until as waitUntil, start, alive, root } from './helpers.mjs';

const until = (probe, timeoutMs, what) => waitUntil(probe, timeoutMs, what, 50);

const LEAKY = path.join(root, 'examples', 'leaky-app.js');
const STEADY = path.join(root, 'examples', 'steady-app.js');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let scratch;
before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-run-test-'));
});
after(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

const outDir = (name) => fs.mkdtempSync(path.join(scratch, `${name}-`));
const records = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** An SVG document whose tags balance (a cheap well-formedness check, no XML parser). */
function assertSvg(text, label) {
  assert.match(text, /^(<\?xml[^>]*>\s*)?<svg\b[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `${label}: starts with <svg xmlns=…>`);
  assert.match(text.trimEnd(), /<\/svg>$/, `${label}: ends with </svg>`);
  const stack = [];
  for (const [, closing, name, selfClosing] of text.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name, `${label}: </${name}> closes what it opened`);
    else stack.push(name);
  }
  assert.deepEqual(stack, [], `${label}: every tag is closed`);
  assert.ok(/<(path|polyline|line)\b/.test(text), `${label}: draws something`);
}

describe('leakwatch run / plot / demo', { concurrency: true }, () => {
  test('run on the leaking app: stats samples, a valid SVG chart, SimpleClass held by leakyData; then plot', { timeout: 90000 }, async () => {
    const dir = outDir('leaky');
    const r = await start(['run', '--snapshots', '3', '--every', '3s', '--duration', '14s', '--out', dir, '--', process.execPath, LEAKY]).done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^leaky-app: pid \d+/m, "the app's stdout passes through");
    assert.match(r.stdout, /leaky-app: stopping with \d+ objects in leakyData/, 'the app got SIGTERM after --duration and said so');
    const stats = records(path.join(dir, 'stats.jsonl'));
    const samples = stats.filter((x) => x.event === 'stats');
    assert.ok(samples.length >= 2, `${samples.length} stats samples`);
    for (const s of samples) assert.ok(Number.isFinite(s.used_heap_size) && s.used_heap_size > 0 && Number.isFinite(s.t));
    assert.equal(stats.filter((x) => x.event === 'snapshot').length, 3);
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.heapsnapshot')).length, 3);
    assertSvg(fs.readFileSync(path.join(dir, 'memory.svg'), 'utf8'), 'memory.svg');
    assert.match(r.stderr, /^Leak suspects \(\d+\), user classes first:$/m);
    assert.match(r.stderr, /^SimpleClass\s+\d+/m);
    assert.match(r.stderr, /leakyData \(variable\) → Array @\d+\n\s+└─ \[\d+\] → SimpleClass @\d+/);
    assert.match(r.stderr, /^ {2}SimpleClass is held by 'leakyData'$/m);
    assert.match(r.stderr, /^ {2}suspects: SimpleClass \(\d+\)/m, 'SimpleClass is the top suspect');
    assert.match(r.stderr, /chart: .*memory\.svg/);

    // plot, on what the run recorded
    const svg = path.join(dir, 'again.svg');
    const png = path.join(dir, 'again.png');
    const [toSvg, toPng, missing, noOutput] = await Promise.all([
      start(['plot', path.join(dir, 'stats.jsonl'), '-o', svg]).done,
      start(['plot', path.join(dir, 'stats.jsonl'), '--output', png, '--title', 'leaky']).done,
      start(['plot', path.join(dir, 'no-such.jsonl'), '-o', path.join(dir, 'x.svg')]).done,
      start(['plot', path.join(dir, 'stats.jsonl')]).done,
    ]);
    assert.equal(toSvg.code, 0, toSvg.stderr);
    assert.match(toSvg.stdout, new RegExp(`^wrote .*again\\.svg: ${samples.length} full-GC samples, \\d+ leak events, 3 snapshots\\n$`));
    assertSvg(fs.readFileSync(svg, 'utf8'), 'again.svg');
    assert.equal(toPng.code, 0, toPng.stderr);
    const pngBytes = fs.readFileSync(png);
    assert.deepEqual(pngBytes.subarray(0, 8), PNG_SIGNATURE);
    assert.ok(pngBytes.length > 1000);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `leakwatch: ${path.join(dir, 'no-such.jsonl')}: no such file (ERR_LEAKWATCH_NOT_FOUND)\n`);
    assert.ok(!fs.existsSync(path.join(dir, 'x.svg')));
    assert.equal(noOutput.code, 2);
  });

  test('run on the steady app: no suspects', { timeout: 90000 }, async () => {
    const dir = outDir('steady');
    const r = await start(['run', '--snapshots', '3', '--every', '3s', '--duration', '14s', '--out', dir, '--', process.execPath, STEADY]).done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^steady-app: pid \d+/m);
    assert.equal(records(path.join(dir, 'stats.jsonl')).filter((x) => x.event === 'snapshot').length, 3, r.stderr);
    // On failure the message shows leakwatch's whole report (the analysis table included).
    assert.match(r.stderr, /^No leak suspects/m, r.stderr);
    assert.match(r.stderr, /^ {2}suspects: none$/m, r.stderr);
    assert.doesNotMatch(r.stderr, /Leak suspects \(/, r.stderr);
    assertSvg(fs.readFileSync(path.join(dir, 'memory.svg'), 'utf8'), 'steady memory.svg');
  });

  test("the app's stdout, stderr and exit code pass through unchanged", { timeout: 30000 }, async () => {
    const dir = outDir('passthrough');
    const app = `process.stdout.write('to stdout: ünïcödé\\nno newline at the end');
process.stderr.write('to stderr: line 1\\nline 2\\n');
process.exitCode = 7;`;
    const r = await start(['run', '--out', dir, '--', process.execPath, '-e', app]).done;
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, 'to stdout: ünïcödé\nno newline at the end', 'stdout is exactly the app\'s: leakwatch reports on stderr');
    assert.ok(r.stderr.startsWith('to stderr: line 1\nline 2\n'), r.stderr);
    assert.match(r.stderr, /leakwatch: the app exited with code 7 after/);
  });

  test('an app killed by a signal: leakwatch reports, then dies of the same signal', { timeout: 30000 }, async () => {
    const dir = outDir('signalled');
    const r = await start(['run', '--out', dir, '--', process.execPath, '-e', "setTimeout(() => process.kill(process.pid, 'SIGHUP'), 200)"]).done;
    assert.equal(r.code, null, r.stderr);
    assert.equal(r.signal, 'SIGHUP');
    assert.match(r.stderr, /the app was stopped by SIGHUP/);
  });

  test('SIGINT to leakwatch run stops the app and still prints a summary', { timeout: 60000 }, async () => {
    const dir = outDir('sigint');
    const run = start(['run', '--snapshots', '3', '--every', '2s', '--out', dir, '--', process.execPath, LEAKY], { timeoutMs: 40000 });
    const appPid = Number((await until(() => /leaky-app: pid (\d+)/.exec(run.out.stdout), 20000, 'the app to start'))[1]);
    await until(() => /snapshot 1 written/.test(run.out.stderr), 20000, 'the first snapshot');
    run.child.kill('SIGINT'); // to leakwatch only, not the process group
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted: stopping the app/);
    assert.match(r.stderr, /the app was stopped by SIGINT after/);
    assert.match(r.stderr, /snapshots: .*heapdump-\d+-.*-1\.heapsnapshot/);
    assert.match(r.stderr, /chart: .*memory\.svg/);
    assert.ok(!alive(appPid), 'the app is gone');
  });

  test('SIGTERM to leakwatch run passes on to the app instead of orphaning it', { timeout: 60000 }, async () => {
    const dir = outDir('sigterm');
    const run = start(['run', '--out', dir, '--', process.execPath, STEADY], { timeoutMs: 20000 });
    const appPid = Number((await until(() => /steady-app: pid (\d+)/.exec(run.out.stdout), 20000, 'the app to start'))[1]);
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.match(r.stdout, /steady-app: stopping after \d+ objects/, 'the app got SIGTERM');
    assert.equal(r.code, 0, r.stderr); // the app's own exit code
    assert.match(r.stderr, /got SIGTERM: passing it to the app/);
    assert.match(r.stderr, /the app exited with code 0/);
    await until(() => !alive(appPid), 5000, 'the app to be gone');
  });

  test('leakwatch demo finishes in under 40 s and names SimpleClass and leakyData', { timeout: 60000 }, async () => {
    const dir = outDir('demo');
    const r = await start(['demo', '--out', dir], { timeoutMs: 55000 }).done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < 40000, `took ${r.ms} ms`);
    assert.match(r.stderr, /SimpleClass/);
    assert.match(r.stderr, /leakyData/);
    assert.match(r.stderr, /demo: found the culprit: SimpleClass objects kept in 'leakyData'/);
    assert.ok(fs.existsSync(path.join(dir, 'memory.svg')));
  });
});
