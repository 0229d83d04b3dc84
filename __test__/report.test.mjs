// report.html end to end: written by `leakwatch demo` and `leakwatch run` (a leaking app,
// a healthy one, one whose heap is full of markup), and by `leakwatch report DIR|FILES…`;
// then opened from disk in a real headless Chromium driven over its DevTools protocol
// (__test__/browser.mjs): no console error, no request but the page itself, the verdict,
// the suspect and its retainer path (expanded with the keyboard), the sites table and
// the flame graph, one chart point per full-GC sample, and no heap text run as markup.
// Screenshots of every page are kept (their folder is printed as a diagnostic).
// Without a Chromium the browser checks skip, saying why; the rest still runs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { start, cli, root } from './helpers.mjs';
import { Browser, browserSkipReason } from './browser.mjs';

const STEADY = path.join(root, 'examples', 'steady-app.js');
const HOSTILE = path.join(root, '__test__', 'fixtures', 'report', 'hostile-app.js');
const HOSTILE_CLASS = '<img src=x onerror="window.__pwned=1;document.title=\'pwned\'">';
const HOSTILE_KEY = '<svg onload="window.__pwned=2">';
const HOSTILE_TEXT = '</script><script>window.__pwned=3;docum'; // the first 39 characters: the page shows 40 at most
const VERSION = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const SKIP = browserSkipReason();

let scratch;
let shots;
let browser = null;
before(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-report-test-'));
  // Kept after the tests: the screenshots are part of their output.
  shots = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-report-screenshots-'));
  if (!SKIP) browser = await Browser.launch();
});
after(async () => {
  if (browser) await browser.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

const outDir = (name) => fs.mkdtempSync(path.join(scratch, `${name}-`));
const records = (file) =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const escapeRe = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The JSON a page embeds, read as a tool would read it. */
function embedded(html) {
  const m = /<script id="leakwatch-data" type="application\/json">([^]*?)<\/script>/.exec(html);
  assert.ok(m, 'the page embeds its data');
  return JSON.parse(m[1]);
}

/** What every page must be: self-contained, private, small; returns {html, data}. */
function checkFile(file) {
  const stat = fs.statSync(file);
  assert.equal(stat.mode & 0o777, 0o600, `${file} is private`);
  assert.ok(stat.size < 2 * 1024 * 1024, `${file}: ${stat.size} bytes, under 2 MB`);
  const html = fs.readFileSync(file, 'utf8');
  assert.doesNotMatch(html, /<(link|img|iframe|object|embed)\b/i, 'no element that loads anything');
  assert.doesNotMatch(html, /<script\b[^>]*\bsrc=/i, 'no external script');
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:|\/\/)/i, 'no network address');
  assert.equal((html.match(/<script\b/g) || []).length, 2, 'the data and the page script, nothing else');
  const data = embedded(html);
  assert.equal(data.format, 'leakwatch-report');
  assert.equal(data.leakwatch, VERSION);
  return { html, data };
}

/**
 * Open `file` in the headless browser and run `checks(page, data)`; then the checks every
 * page passes: no errors, no request but the file, nothing injected ran. Saves a screenshot.
 */
async function inBrowser(t, file, name, checks) {
  await t.test('in a headless browser', { skip: SKIP || false }, async (tt) => {
    const page = await browser.newPage();
    try {
      await page.open(file);
      assert.equal(await page.evaluate(`document.documentElement.getAttribute('data-report-ready')`), 'true', `the page's script ran to its end; errors: ${page.errors.join('\n')}`);
      await checks(page);
      const shot = await page.screenshot(path.join(shots, `${name}.png`));
      tt.diagnostic(`screenshot: ${shot}`);
      const state = await page.evaluate(`({
        pwned: window.__pwned === undefined ? null : window.__pwned,
        title: document.title,
        images: document.querySelectorAll('img, image, iframe, object, embed').length,
        scripts: document.scripts.length,
        handlers: [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => e.tagName + ' ' + a.name)),
      })`);
      assert.deepEqual(state, { pwned: null, title: state.title, images: 0, scripts: 2, handlers: [] }, 'nothing from the data became markup or ran');
      assert.match(state.title, /^leakwatch report: /);
      assert.deepEqual(page.errors, [], 'no console errors, exceptions or blocked loads');
      assert.deepEqual(page.requests, [pathToFileURL(file).href], 'no request but the page itself');
    } finally {
      await page.close();
    }
  });
}

/** Checks of the timeline: one point per full-GC sample of the process, the marks. */
async function checkChart(page, data, statsFile) {
  const samples = records(statsFile).filter((r) => r.event === 'stats' && r.pid === data.process.pid).length;
  assert.ok(samples >= 2, `${samples} samples`);
  assert.equal(data.timeline.samples, samples);
  const chart = await page.evaluate(`({
    points: document.querySelectorAll('#chart svg circle.sample').length,
    drawn: Number(document.getElementById('chart').getAttribute('data-drawn-samples')),
    series: [...document.querySelectorAll('#chart svg path[data-series]')].map((p) => p.getAttribute('data-series')),
    snapshotMarks: document.querySelectorAll('#chart svg line.mark-snapshot').length,
  })`);
  assert.equal(chart.points, samples, 'one chart point per full-GC sample');
  assert.equal(chart.drawn, samples);
  for (const series of ['heap', 'baseline', 'external', 'arrayBuffers', 'rss']) assert.ok(chart.series.includes(series), `draws ${series}`);
  assert.equal(chart.snapshotMarks, data.snapshots.length);
  // Hover: the values of the sample under the mouse.
  const at = await page.evaluate(`(() => { const c = document.querySelector('#chart svg circle.sample'); c.scrollIntoView(); const b = c.getBoundingClientRect(); return { x: b.left + b.width / 2, y: b.top + b.height / 2 }; })()`);
  await page.mouseMove(at.x, at.y);
  assert.match(await page.evaluate(`document.getElementById('chart-tip').textContent`), /^At .*heap used after GC \d.*RSS \d/);
}

describe('report.html', { concurrency: true }, () => {
  test('leakwatch demo writes report.html: a leak of SimpleClass, held by leakyData, allocated in leakMemory; report DIR and report FILES agree', { timeout: 150000 }, async (t) => {
    const dir = outDir('demo');
    const r = await start(['demo', '--out', dir], { timeoutMs: 90000 }).done;
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(dir, 'report.html');
    assert.match(r.stderr, new RegExp(`^leakwatch: report: ${escapeRe(file)} \\(.*\\): Leak: `, 'm'), 'run names the page');
    const { html, data } = checkFile(file);
    assert.equal(data.verdict.status, 'leak');
    assert.equal(data.verdict.culprit.class, 'SimpleClass');
    assert.equal(data.verdict.culprit.heldBy.edge, 'leakyData');
    assert.equal(data.verdict.site.functionName, 'leakMemory');
    assert.match(data.verdict.sentence, /^Leak: [\d,]+ SimpleClass objects .* held by 'leakyData', allocated in leakMemory at .*leaky-app\.js:\d+:\d+/);
    assert.equal(data.process.node, process.version);
    assert.equal(data.process.leakwatch, VERSION, 'the start record names the agent');
    assert.ok(Array.isArray(data.process.execArgv));
    assert.match(data.process.nodeOptions, /register\.js/);
    assert.equal(data.sites.rows[0].functionName, 'leakMemory');
    assert.ok(data.sites.rows[0].growthBytes > 0, 'the leak site grew between the first and the last profile');
    assert.equal(data.sites.profiles.length, 3);
    assert.ok(html.includes('leakwatch analyze '), 'the commands that reproduce the views');

    // The same from the directory, and from the files, later.
    const stats = path.join(dir, 'stats.jsonl');
    const snapshots = data.inputs.snapshots;
    const profiles = data.inputs.profiles;
    assert.equal(snapshots.length, 3);
    const again = path.join(dir, 'again.html');
    const fromFiles = path.join(dir, 'files.html');
    const [byDir, byFiles] = await Promise.all([
      cli(['report', dir, '-o', again], { timeoutMs: 60000 }),
      cli(['report', stats, ...snapshots, ...profiles, '--output', fromFiles], { timeoutMs: 60000 }),
    ]);
    assert.equal(byDir.code, 0, byDir.stderr);
    assert.match(byDir.stdout, new RegExp(`^wrote ${escapeRe(again)} \\(.*\\): Leak: `));
    assert.equal(byFiles.code, 0, byFiles.stderr);
    for (const other of [again, fromFiles]) {
      const { data: d } = checkFile(other);
      assert.equal(d.verdict.status, 'leak', other);
      assert.deepEqual(d.verdict.culprit, data.verdict.culprit, other);
      assert.deepEqual(d.verdict.site, data.verdict.site, other);
      assert.equal(d.timeline.samples, data.timeline.samples);
    }

    // A snapshot cut short: the directory's page says so (the rest stands); the files' command fails with its code.
    const cut = outDir('demo-cut');
    for (const name of fs.readdirSync(dir)) if (!name.endsWith('.html')) fs.copyFileSync(path.join(dir, name), path.join(cut, name));
    const copies = snapshots.map((s) => path.join(cut, path.basename(s)));
    fs.truncateSync(copies[1], 100000);
    const [cutDir, cutFiles] = await Promise.all([cli(['report', cut], { timeoutMs: 60000 }), cli(['report', ...copies, '-o', path.join(cut, 'files.html')], { timeoutMs: 60000 })]);
    assert.equal(cutDir.code, 0, cutDir.stderr);
    assert.match(cutDir.stderr, /^leakwatch: report: the analysis of 3 snapshots failed: .*\(ERR_LEAKWATCH_TRUNCATED\)$/m);
    const { html: cutHtml, data: cutData } = checkFile(path.join(cut, 'report.html'));
    assert.equal(cutData.analysisError.code, 'ERR_LEAKWATCH_TRUNCATED');
    assert.equal(cutData.analysis, null);
    assert.ok(cutHtml.includes('The snapshot analysis failed'));
    assert.equal(cutFiles.code, 1);
    assert.match(cutFiles.stderr, /\(ERR_LEAKWATCH_TRUNCATED\)\n$/);
    assert.ok(!fs.existsSync(path.join(cut, 'files.html')));

    await inBrowser(t, file, 'demo', async (page) => {
      assert.equal(await page.evaluate(`document.getElementById('verdict-sentence').textContent`), data.verdict.sentence);
      const suspect = await page.evaluate(`({
        name: document.querySelector('#suspects-table tbody tr th').textContent,
        cells: [...document.querySelectorAll('#suspects-table tbody tr:first-child td')].map((td) => td.textContent),
        open: document.getElementById('suspect-1-path').open,
      })`);
      assert.equal(suspect.name, 'SimpleClass');
      assert.match(suspect.cells[0], /^[\d,]+$/);
      assert.equal(suspect.open, false, 'the path starts folded');
      // Expanded with the keyboard: focus its summary, press Enter.
      await page.evaluate(`document.querySelector('#suspect-1-path > summary').focus()`);
      await page.press('Enter');
      const expanded = await page.evaluate(`({ open: document.getElementById('suspect-1-path').open, text: document.querySelector('#suspect-1-path ol.path').innerText })`);
      assert.equal(expanded.open, true);
      assert.match(expanded.text, /leakyData \(variable\) → Array @\d+\n.*\[\d+\] → SimpleClass @\d+/);

      const sites = await page.evaluate(`({
        rows: [...document.querySelectorAll('#sites-table tbody tr')].map((tr) => tr.querySelector('th').textContent),
        frames: [...document.querySelectorAll('#flame svg g.frame')].map((g) => [g.getAttribute('data-name'), g.getAttribute('data-kind'), g.querySelector('rect.pattern') !== null]),
      })`);
      assert.equal(sites.rows[0], 'leakMemory');
      assert.ok(sites.frames.some(([name, kind]) => name === 'leakMemory' && kind === 'app'), JSON.stringify(sites.frames));
      assert.ok(sites.frames.some(([, kind, patterned]) => kind === 'internal' && patterned), 'Node internals carry a pattern, not only a colour');
      // A frame zoomed into with the keyboard.
      await page.evaluate(`document.querySelector('#flame g.frame[data-name="leakMemory"]').focus()`);
      await page.press('Enter');
      assert.equal(await page.evaluate(`document.getElementById('flame-reset').hidden`), false, 'zoomed into the frame');
      assert.match(await page.evaluate(`document.getElementById('flame-tip').textContent`), /^leakMemory — .*leaky-app\.js.* — app code — .* live/);

      await checkChart(page, data, stats);
      assert.ok(await page.evaluate(`document.querySelectorAll('#chart svg line.mark-leak').length`) >= 1, 'the leak verdict is marked');
      // Zoom on a range: fewer samples in view.
      await page.evaluate(`document.getElementById('zoom-in').click()`);
      const inView = await page.evaluate(`Number(document.getElementById('chart').getAttribute('data-in-view'))`);
      assert.ok(inView < data.timeline.samples, `${inView} samples in view after zooming in`);
    });
  });

  test('leakwatch run of a healthy app: report.html says so, with no suspects', { timeout: 120000 }, async (t) => {
    const dir = outDir('steady');
    const r = await start(['run', '--snapshots', '3', '--every', '3s', '--duration', '14s', '--out', dir, '--', process.execPath, STEADY]).done;
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(dir, 'report.html');
    const { data } = checkFile(file);
    assert.equal(data.verdict.status, 'healthy', data.verdict.sentence);
    assert.match(data.verdict.sentence, /^Healthy: no leak verdict in \d+ full-GC samples over .*; the snapshot analysis \(3 snapshots\) found no leak suspect\.$/);
    assert.deepEqual(data.analysis.suspects, []);
    assert.match(r.stderr, /^leakwatch: report: .*report\.html \(.*\): Healthy: /m);
    await inBrowser(t, file, 'steady', async (page) => {
      assert.equal(await page.evaluate(`document.getElementById('verdict-sentence').textContent`), data.verdict.sentence);
      assert.equal(await page.evaluate(`document.getElementById('verdict-sentence').getAttribute('data-status')`), 'healthy');
      assert.match(await page.evaluate(`document.getElementById('no-suspects').textContent`), /^No leak suspects/);
      assert.equal(await page.evaluate(`document.getElementById('suspects-table')`), null);
      assert.ok(await page.evaluate(`document.querySelectorAll('#sites-table tbody tr').length`) > 0, 'the sites table');
      assert.ok(await page.evaluate(`document.querySelectorAll('#flame svg g.frame').length`) > 0, 'the flame graph');
      await checkChart(page, data, path.join(dir, 'stats.jsonl'));
    });
  });

  test('markup in the heap (class name, property name, string value) is shown as text, never run; --redact hides the values', { timeout: 120000 }, async (t) => {
    const dir = outDir('hostile');
    const r = await start(['run', '--snapshots', '3', '--every', '3s', '--duration', '12s', '--out', dir, '--', process.execPath, HOSTILE]).done;
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(dir, 'report.html');
    const { html, data } = checkFile(file);
    const suspect = data.analysis.suspects.find((s) => s.name === HOSTILE_CLASS);
    assert.ok(suspect, `the hostile class is a suspect: ${data.analysis.suspects.map((s) => s.name).join(', ')}`);
    assert.ok(
      suspect.retainerPath.some((step) => step.edge === HOSTILE_KEY),
      'held by the hostile property',
    );
    const value = [...data.analysis.suspects, ...data.analysis.others].find((s) => s.representative.value && s.representative.name.startsWith(HOSTILE_TEXT));
    assert.ok(value, 'a leaked string value is shown (shortened)');
    assert.ok(value.representative.value.length > 70, 'the length of the whole value is kept');
    assert.ok(value.representative.name.length <= 40);
    // In the file, the markup exists only escaped: as entities in the HTML, as \u003c in the JSON.
    for (const raw of [HOSTILE_CLASS, HOSTILE_KEY, '</script><script>window.__pwned']) assert.ok(!html.includes(raw), `${raw} appears only escaped`);
    assert.ok(html.includes('&lt;img src=x onerror=&quot;window.__pwned=1'), 'escaped in the HTML');
    assert.ok(html.includes('\\u003cimg src=x onerror='), 'escaped in the JSON');

    const redactedFile = path.join(dir, 'redacted.html');
    const redacted = await cli(['report', dir, '--redact', '-o', redactedFile], { timeoutMs: 60000 });
    assert.equal(redacted.code, 0, redacted.stderr);
    const { html: redactedHtml, data: redactedData } = checkFile(redactedFile);
    assert.equal(redactedData.redacted, true);
    assert.ok(!redactedHtml.includes('__pwned=3'), 'no string value in the redacted page, in any form');
    assert.ok(redactedHtml.includes('__pwned=1'), 'class names stay');
    const hidden = [...redactedData.analysis.suspects, ...redactedData.analysis.others].find((s) => s.representative.value);
    assert.deepEqual({ ...hidden.representative.value, length: 0 }, { text: '', length: 0, redacted: true });

    await inBrowser(t, file, 'hostile', async (page) => {
      await page.evaluate(`document.querySelectorAll('details').forEach((d) => (d.open = true))`);
      const text = await page.evaluate(`document.body.innerText`);
      assert.ok(text.includes(HOSTILE_CLASS), 'the class name reads as text');
      assert.ok(text.includes(HOSTILE_KEY), 'the property name reads as text');
      assert.ok(text.includes(HOSTILE_TEXT), 'the string value reads as text');
      assert.equal(await page.evaluate(`document.getElementById('verdict-sentence').textContent`), data.verdict.sentence);
    });
    await inBrowser(t, redactedFile, 'hostile-redacted', async (page) => {
      await page.evaluate(`document.querySelectorAll('details').forEach((d) => (d.open = true))`);
      const text = await page.evaluate(`document.body.innerText`);
      assert.ok(!text.includes('__pwned=3'));
      assert.match(text, /‹value hidden, \d+ characters›/);
    });
  });

  test('verdicts withdrawn and standing, from a stats file alone; a long run is embedded per bucket and still zooms', { timeout: 60000 }, async (t) => {
    const dir = outDir('lifecycle');
    const t0 = Date.UTC(2026, 0, 1);
    const pid = 4242;
    const site = {
      functionName: 'fill',
      location: '/srv/app/cache.js:10:3',
      liveBytes: 4e6,
      windowBytes: 3e6,
      growthBytes: 3e6,
      samples: 120,
      growing: true,
      stack: [
        { functionName: 'fill', location: '/srv/app/cache.js:10:3', kind: 'app' },
        { functionName: 'get', location: '/srv/app/node_modules/lru/index.js:5:1', kind: 'dependency' },
        { functionName: 'listOnTimeout', location: 'node:internal/timers:1:1', kind: 'internal' },
      ],
    };
    const hostileReason = '</script><script>window.__pwned=4</script> the cache stopped growing';
    const lines = (samples, leaks) => {
      const out = [{ event: 'start', t: t0, pid, argv: ['/srv/app/server.js', '--port', '8080'], node: 'v22.1.0', ppid: 1, execArgv: ['--max-old-space-size=512'], nodeOptions: '', leakwatch: VERSION, memoryLimit: 1073741824 }];
      for (let i = 0; i < samples; i++) {
        out.push({ event: 'stats', t: t0 + 1000 + i * 1000, pid, used_heap_size: 20e6 + (i % 7) * 1e5 + i * 100, estimated_base: 20e6 + i * 90, external: 2e6, array_buffers: 1e5, rss: 80e6 + i * 50, heap_size_limit: 536870912 });
      }
      return [...out, ...leaks].sort((a, b) => a.t - b.t);
    };
    const write = (name, list) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, list.map((r) => JSON.stringify(r)).join('\n') + '\n');
      return file;
    };
    const raised = { event: 'leak', t: t0 + 14000, pid, id: 1, kind: 'heap', start: new Date(t0 + 4000).toISOString(), end: new Date(t0 + 14000).toISOString(), growth: 5e6, rate: 5e5, reason: 'heap grew', sites: [site] };
    const resolvedRecord = { event: 'leakResolved', t: t0 + 26000, pid, id: 1, kind: 'heap', start: raised.start, end: new Date(t0 + 26000).toISOString(), reason: hostileReason };
    const standing = { ...raised, id: 2, kind: 'external', t: t0 + 20000, reason: 'external grew' };
    const withdrawnFile = write('withdrawn.jsonl', lines(30, [raised, resolvedRecord]));
    const bothFile = write('both.jsonl', lines(30, [raised, resolvedRecord, standing]));
    const oldFile = write('old.jsonl', lines(30, [{ ...raised, id: undefined }]));
    const longFile = write('long.jsonl', lines(25000, [raised]));

    const run = (input, out) => cli(['report', input, '-o', path.join(dir, out)], { timeoutMs: 30000 });
    const results = await Promise.all([run(withdrawnFile, 'withdrawn.html'), run(bothFile, 'both.html'), run(oldFile, 'old.html'), run(longFile, 'long.html')]);
    for (const res of results) assert.equal(res.code, 0, res.stderr);

    const withdrawn = checkFile(path.join(dir, 'withdrawn.html')).data;
    assert.equal(withdrawn.verdict.status, 'withdrawn');
    assert.equal(withdrawn.verdict.sentence, `No standing leak: 1 suspicion was withdrawn: heap leak suspected at 14 s, withdrawn at 26 s: ${hostileReason}.`);
    const both = checkFile(path.join(dir, 'both.html')).data;
    assert.equal(both.verdict.status, 'leak');
    assert.match(both.verdict.sentence, /^Leak: the external kept growing \(verdict at 20 s: \+4\.77 mb, 488\.28 kb\/s\), allocated in fill at \/srv\/app\/cache\.js:10:3; no snapshot analysis/);
    assert.deepEqual(
      both.verdict.withdrawn.map((w) => w.id),
      [1],
      'the withdrawn suspicion is shown apart',
    );
    const old = checkFile(path.join(dir, 'old.html')).data;
    assert.equal(old.verdict.status, 'leak', 'a leak without an id (an older stats file) stands');
    const long = checkFile(path.join(dir, 'long.html')).data;
    assert.equal(long.timeline.samples, 25000);
    assert.equal(long.timeline.downsampled, true);
    assert.ok(long.timeline.t.length <= 10000);

    await inBrowser(t, path.join(dir, 'withdrawn.html'), 'withdrawn', async (page) => {
      assert.equal(await page.evaluate(`document.getElementById('verdict-sentence').textContent`), withdrawn.verdict.sentence);
      assert.equal(await page.evaluate(`document.querySelectorAll('#chart svg circle.sample').length`), 30);
      assert.equal(await page.evaluate(`document.querySelectorAll('#chart svg line.mark-withdrawn').length`), 1);
      assert.equal(await page.evaluate(`document.querySelectorAll('#chart svg line.mark-leak').length`), 1);
      const flame = await page.evaluate(`[...document.querySelectorAll('#flame svg g.frame')].map((g) => g.getAttribute('data-kind'))`);
      assert.deepEqual([...new Set(flame)].sort(), ['app', 'dependency', 'internal', 'root']);
      assert.match(await page.evaluate(`document.getElementById('environment').innerText`), /Node flags\t--max-old-space-size=512\n[^]*Container memory limit\t1\.00 gb\n/);
    });
    await inBrowser(t, path.join(dir, 'both.html'), 'standing-and-withdrawn', async (page) => {
      assert.match(await page.evaluate(`document.querySelector('ul.withdrawn').textContent`), /^Suspicion 1: heap leak suspected at 14 s, withdrawn at 26 s: <\/script>/);
    });
    await inBrowser(t, path.join(dir, 'long.html'), 'long', async (page) => {
      const before = await page.evaluate(`({ points: document.querySelectorAll('#chart svg circle.sample').length, inView: Number(document.getElementById('chart').getAttribute('data-in-view')), heap: document.querySelector('#chart svg path.s-heap').getAttribute('d').split('L').length })`);
      assert.equal(before.points, 0, 'too many samples to draw one by one');
      assert.equal(before.inView, long.timeline.t.length);
      assert.ok(before.heap <= 2 * 1300, `the heap line has at most two points per pixel column (${before.heap})`);
      await page.evaluate(`document.getElementById('chart').focus()`);
      for (let i = 0; i < 4; i++) await page.press('+');
      const after = await page.evaluate(`Number(document.getElementById('chart').getAttribute('data-in-view'))`);
      assert.ok(after < before.inView / 8, `zoomed in with the keyboard: ${after} buckets in view`);
    });
  });

  test('leakwatch report: usage and input errors', { timeout: 60000 }, async () => {
    const dir = outDir('errors');
    const stats = path.join(dir, 'a.jsonl');
    fs.writeFileSync(stats, 'not a record\n');
    const [none, missing, twoStats, mixed, empty, badPid] = await Promise.all([
      cli(['report']),
      cli(['report', path.join(dir, 'no-such.jsonl'), '-o', path.join(dir, 'x.html')]),
      cli(['report', stats, path.join(dir, 'b.jsonl')]),
      cli(['report', dir, stats]),
      cli(['report', stats, '-o', path.join(dir, 'y.html')]),
      cli(['report', dir, '--pid', 'abc']),
    ]);
    assert.equal(none.code, 2);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\(ERR_LEAKWATCH_NOT_FOUND\)\n$/);
    assert.equal(twoStats.code, 2);
    assert.match(twoStats.stderr, /at most one stats file/);
    assert.equal(mixed.code, 2);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /\(ERR_LEAKWATCH_NO_RECORDS\)\n$/);
    assert.equal(badPid.code, 2);
    assert.ok(!fs.existsSync(path.join(dir, 'x.html')) && !fs.existsSync(path.join(dir, 'y.html')), 'no page for bad input');
  });
});
