// Fleet metrics (issue 21) through their real interfaces: /metrics served by
// `leakwatch/register` with LEAKWATCH_METRICS in real processes, a cluster's workers behind
// one endpoint, an app's own prom-client registry, OpenTelemetry's official SDK and OTLP/HTTP
// exporter to a receiver here, and Prometheus' own `promtool` on every page (where it is
// installed; a real Prometheus server scraping is __test__/prometheus.test.mjs).
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { root, until, sleep, freePort, spawnNode, parseExposition } from './helpers.mjs';

const require = createRequire(import.meta.url);
const leakwatch = require('../index.js');
const FIXTURES = path.join(root, '__test__', 'fixtures', 'metrics');
const SERVICE = path.join(FIXTURES, 'service.cjs');
const REGISTER = path.join(root, 'register.js');
const RATE = 200 * 1024;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-metrics-test-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => fs.existsSync(p));

/** `promtool check metrics` on `text`: its complaints ('' when it accepts the page), or null without promtool. */
function promtool(text) {
  if (!PROMTOOL) return null;
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}` || `exit ${r.status}`;
}

/** promtool accepts the page, or complains only of families that are not leakwatch's (prom-client's own lint findings). */
function checkWithPromtool(t, text) {
  const complaints = promtool(text);
  if (complaints === null) return t.diagnostic('promtool is not installed: the page was not checked by it (apt-get install prometheus, or run .ci/run)');
  const ours = complaints
    .split('\n')
    .filter((line) => line.trim() && !/^(nodejs|process)_\w+ /.test(line));
  assert.deepEqual(ours, [], `promtool check metrics:\n${complaints}\n${text}`);
}

async function scrape(port, route = '/metrics') {
  const res = await fetch(`http://127.0.0.1:${port}${route}`);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** Scrape until `check(values)` is truthy; the last page on timeout, in the error. */
async function scrapeUntil(port, check, timeoutMs, what) {
  let last = '';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      last = (await scrape(port)).text;
      const values = parseExposition(last);
      const found = check(values);
      if (found) return { values, text: last };
    } catch (error) {
      last = String(error);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last page:\n${last}`);
    await sleep(500);
  }
}

function service(mode, port, extra = {}) {
  return spawnNode(['--expose-gc', '-r', REGISTER, SERVICE], { MODE: mode, RATE: String(RATE), LEAKWATCH_METRICS: `127.0.0.1:${port}`, LEAKWATCH_QUIET: '1', ...extra });
}

describe('metrics', { concurrency: true }, () => {
  test('LEAKWATCH_METRICS: a leaking service shows its verdict and a baseline growth near the true rate; a healthy one stays at 0; promtool accepts the pages', { timeout: 150000 }, async (t) => {
    const [leakyPort, healthyPort] = [await freePort(), await freePort()];
    const leaky = service('leaky', leakyPort);
    const healthy = service('healthy', healthyPort);
    t.after(() => Promise.all([leaky.stop(), healthy.stop()]));
    const { values, text } = await scrapeUntil(leakyPort, (v) => v.get('leakwatch_leaks_active{kind="heap"}') === 1, 120000, 'the heap verdict of the leaking service');
    assert.equal(values.get('leakwatch_leaks_total{kind="heap"}') >= 1, true);
    const growth = values.get('leakwatch_heap_baseline_growth_bytes_per_second');
    assert.ok(Math.abs(growth - RATE) <= 0.3 * RATE, `growth ${growth} B/s is within 30 % of the true ${RATE} B/s`);
    assert.ok(values.get('leakwatch_heap_limit_ratio') > 0 && values.get('leakwatch_heap_limit_ratio') < 1);
    assert.equal(values.get('leakwatch_heap_limit_ratio'), values.get('leakwatch_heap_used_after_gc_bytes') / values.get('leakwatch_heap_limit_bytes'));
    const sites = values.series('leakwatch_leak_site_live_bytes');
    assert.ok(sites.length >= 1 && sites.length <= 10, text);
    assert.ok(sites.some((s) => s.labels.location.includes('service.cjs')), `a site in the service's code\n${text}`);
    assert.ok(values.get('leakwatch_sampler_reads_total') > 0);
    checkWithPromtool(t, text);

    const page = await scrape(healthyPort);
    assert.equal(page.status, 200);
    assert.equal(page.type, 'text/plain; version=0.0.4; charset=utf-8');
    const h = parseExposition(page.text);
    assert.equal(h.get('leakwatch_leaks_active{kind="heap"}'), 0, page.text);
    assert.equal(h.get('leakwatch_leaks_total{kind="heap"}'), 0, page.text);
    assert.ok(h.get('leakwatch_heap_used_after_gc_bytes') > 0);
    checkWithPromtool(t, page.text);
    assert.equal((await scrape(healthyPort, '/other')).status, 404);
  });

  test("a cluster: the primary's endpoint shows every worker's series, labelled", { timeout: 60000 }, async (t) => {
    const port = await freePort();
    const app = service('healthy', port, { CLUSTER: '2' });
    t.after(() => app.stop());
    const { values, text } = await scrapeUntil(port, (v) => v.series('leakwatch_heap_used_after_gc_bytes').length === 3, 40000, 'three processes with a full GC each');
    const workers = values
      .series('leakwatch_heap_used_after_gc_bytes')
      .map((s) => s.labels.worker)
      .sort();
    assert.deepEqual(workers, ['1', '2', 'primary']);
    assert.equal(values.series('leakwatch_leaks_active').length, 6, 'two kinds per process');
    assert.equal(text.match(/^# TYPE leakwatch_leaks_active /gm).length, 1, 'each family once');
    checkWithPromtool(t, text);
  });

  test('a port in use is an ERR_LEAKWATCH_METRICS_LISTEN error event (or a warning), never a crash', { timeout: 30000 }, async () => {
    const blocker = http.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.on('listening', resolve));
    const { port } = blocker.address();
    try {
      const script = `
        const leakwatch = require(${JSON.stringify(root)});
        leakwatch.on('error', (e) => console.log('error event', e.code));
        leakwatch.configure({ metrics: ${port} });
        setTimeout(() => console.log('still running'), 500);`;
      const withListener = spawnNode(['-e', script]);
      const r = await withListener.closed;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /error event ERR_LEAKWATCH_METRICS_LISTEN\nstill running/);
      // No code at all: the variable, and no listener: a process warning.
      const bare = spawnNode(['-r', REGISTER, '-e', "setTimeout(() => console.log('still running'), 500)"], { LEAKWATCH_METRICS: `127.0.0.1:${port}` });
      const b = await bare.closed;
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stdout, /still running/);
      assert.match(b.stderr, /LeakwatchWarning: leakwatch metrics: cannot listen on 127\.0\.0\.1:\d+: listen EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });

  test('the endpoint never keeps an app alive, and binds to loopback unless told', { timeout: 30000 }, async () => {
    const port = await freePort();
    const app = spawnNode(['-r', REGISTER, '-e', "setTimeout(() => console.log('done'), 300)"], { LEAKWATCH_METRICS: String(port) });
    const r = await app.closed;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'done\n');
    const script = `
      const leakwatch = require(${JSON.stringify(root)});
      leakwatch.configure({ metrics: ${port} });
      setTimeout(() => { console.log(JSON.stringify(leakwatch.exporter.address())); process.exit(0); }, 300);`;
    const s = await spawnNode(['-e', script]).closed;
    assert.equal(JSON.parse(s.stdout).address, '127.0.0.1', s.stderr);
  });

  test("an app's own prom-client registry gets leakwatch's series beside its own, no name twice; promtool accepts it", { timeout: 30000 }, async (t) => {
    const r = await spawnNode([path.join(FIXTURES, 'prom-client-app.cjs')]).closed;
    assert.equal(r.code, 0, r.stderr);
    const { names, page } = JSON.parse(r.stdout);
    const types = [...page.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    assert.equal(new Set(types).size, types.length, 'no family twice');
    for (const name of ['app_requests_total', 'nodejs_heap_size_used_bytes', 'process_resident_memory_bytes', 'leakwatch_heap_used_after_gc_bytes', 'leakwatch_leaks_active', 'leakwatch_snapshot_duration_seconds']) {
      assert.ok(types.includes(name), `${name} on the page`);
    }
    assert.ok(names.every((n) => n.startsWith('leakwatch_')) && names.length === require('../lib/shared/native').metricDefinitions().length);
    const values = parseExposition(page);
    assert.equal(values.get('app_requests_total'), 3);
    assert.ok(values.get('leakwatch_heap_used_after_gc_bytes') > 0, 'the forced GC was observed');
    assert.equal(values.get('leakwatch_sampler_read_pause_seconds_bucket{le="+Inf"}'), values.get('leakwatch_sampler_read_pause_seconds_count'));
    checkWithPromtool(t, page);
  });

  test("OpenTelemetry: the official SDK's OTLP/HTTP exporter carries leakwatch's instruments with their values", { timeout: 60000 }, async (t) => {
    const received = [];
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({ type: req.headers['content-type'], path: req.url, body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    t.after(() => receiver.close());
    const snapshot = path.join(scratch, 'otel.heapsnapshot');
    const app = spawnNode(['--expose-gc', path.join(FIXTURES, 'otel-app.cjs')], { OTLP_URL: `http://127.0.0.1:${receiver.address().port}/v1/metrics`, SNAPSHOT: snapshot });
    t.after(() => app.stop());
    const metricsOf = (request) => JSON.parse(request.body).resourceMetrics.flatMap((rm) => rm.scopeMetrics.filter((s) => s.scope.name === 'leakwatch').flatMap((s) => s.metrics));
    const find = (metrics, name) => metrics.find((m) => m.name === name);
    const latest = await until(
      () => {
        for (let i = received.length - 1; i >= 0; i--) {
          const metrics = metricsOf(received[i]);
          const snaps = find(metrics, 'leakwatch.snapshots');
          if (snaps && Number(snaps.sum.dataPoints[0].asDouble ?? snaps.sum.dataPoints[0].asInt) === 1 && find(metrics, 'leakwatch.heap.used_after_gc')) return metrics;
        }
        return null;
      },
      45000,
      'an export after the snapshot',
      100,
    );
    assert.match(received[0].type, /application\/json/);
    const { names } = JSON.parse(app.out.stdout.split('\n')[0]);
    assert.ok(names.includes('leakwatch_heap_used_after_gc_bytes'));
    const limit = find(latest, 'leakwatch.heap.limit');
    assert.equal(limit.unit, 'By');
    assert.ok(Number(limit.gauge.dataPoints[0].asDouble) > 1e6);
    const used = Number(find(latest, 'leakwatch.heap.used_after_gc').gauge.dataPoints[0].asDouble);
    assert.ok(used > 1e6 && used < Number(limit.gauge.dataPoints[0].asDouble));
    const active = find(latest, 'leakwatch.leaks.active').gauge.dataPoints;
    assert.deepEqual(active.map((p) => p.attributes.find((a) => a.key === 'kind').value.stringValue).sort(), ['external', 'heap']);
    const duration = find(latest, 'leakwatch.snapshot.duration');
    assert.equal(duration.unit, 's');
    assert.equal(Number(duration.histogram.dataPoints[0].count), 1, 'the snapshot recorded once');
    assert.ok(duration.histogram.dataPoints[0].sum > 0);
    assert.ok(fs.existsSync(snapshot));
  });

  test('the metrics option is validated; a bad LEAKWATCH_METRICS is a warning and the app runs', { timeout: 30000 }, async () => {
    for (const bad of ['nonsense', 'host:99999', -1, { port: 80, extra: 1 }, { maxSites: 1000 }, []]) {
      assert.throws(() => leakwatch.configure({ metrics: bad }), { code: 'ERR_LEAKWATCH_INVALID_OPTION' }, JSON.stringify(bad));
    }
    const r = await spawnNode(['-r', REGISTER, '-e', "console.log('ran')"], { LEAKWATCH_METRICS: 'localhost:http' }).closed;
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'ran\n');
    assert.match(r.stderr, /LEAKWATCH_METRICS="localhost:http": leakwatch option metrics must be/);
  });
});
