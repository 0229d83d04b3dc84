// A real Prometheus server (Debian's `prometheus` package) scrapes three services preloaded
// with leakwatch/register and LEAKWATCH_METRICS: one leaking, one healthy, one cluster. Its
// HTTP API then shows what an alert or a dashboard would see. Without the server the test is
// skipped with one line; `.ci/run` installs it (apt-get install -y prometheus).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root, sleep, freePort, spawnNode } from './helpers.mjs';

const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => fs.existsSync(p));
const SERVICE = path.join(root, '__test__', 'fixtures', 'metrics', 'service.cjs');
const REGISTER = path.join(root, 'register.js');
const RATE = 200 * 1024;
const skip = PROMETHEUS ? false : 'prometheus is not installed: apt-get install -y prometheus (as .ci/run does) to run this test';

/** The instant vector of `query` as [{metric: {labels}, value: number}]. */
async function query(port, promql) {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = await res.json();
  if (body.status !== 'success') throw new Error(`${promql}: ${JSON.stringify(body)}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

async function until(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last && last.ok) return last;
    } catch (error) {
      last = String(error);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(1000);
  }
}

test('a real Prometheus scrapes leakwatch: the leaking service at 1, the healthy one at 0, the growth rate near the truth, a cluster per worker', { skip, timeout: 240000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-prometheus-'));
  const [leakyPort, healthyPort, clusterPort, promPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const service = (mode, port, extra = {}) => spawnNode(['--expose-gc', '-r', REGISTER, SERVICE], { MODE: mode, RATE: String(RATE), LEAKWATCH_METRICS: `127.0.0.1:${port}`, LEAKWATCH_QUIET: '1', ...extra });
  const apps = [service('leaky', leakyPort), service('healthy', healthyPort), service('healthy', clusterPort, { CLUSTER: '2' })];
  const config = path.join(dir, 'prometheus.yml');
  const job = (name, port) => `  - job_name: ${name}\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`;
  fs.writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${job('leaky', leakyPort)}${job('healthy', healthyPort)}${job('cluster', clusterPort)}`);
  const server = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (d) => (log = (log + d).slice(-4000)));
  t.after(async () => {
    server.kill('SIGTERM');
    await Promise.all(apps.map((a) => a.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Every target up.
  await until('all three targets up', 60000, async () => {
    const up = await query(promPort, 'up');
    return { ok: up.length === 3 && up.every((r) => r.value === 1), up, log: log.slice(-500) };
  });
  // The leaking service's verdict, as an alert rule would query it.
  const verdict = await until('the leaking service at leakwatch_leaks_active{kind="heap"} 1', 150000, async () => {
    const active = await query(promPort, 'leakwatch_leaks_active{kind="heap"}');
    const byJob = Object.fromEntries(active.filter((r) => r.metric.job !== 'cluster').map((r) => [r.metric.job, r.value]));
    return { ok: byJob.leaky === 1, byJob, active };
  });
  assert.equal(verdict.byJob.healthy, 0, 'the healthy service has no verdict');
  const clusterActive = verdict.active.filter((r) => r.metric.job === 'cluster');
  assert.ok(clusterActive.every((r) => r.value === 0), 'nor the healthy cluster');
  const [growth] = await query(promPort, 'leakwatch_heap_baseline_growth_bytes_per_second{job="leaky"}');
  assert.ok(Math.abs(growth.value - RATE) <= 0.3 * RATE, `baseline growth ${growth.value} B/s within 30 % of the true ${RATE} B/s`);
  const [raised] = await query(promPort, 'sum(leakwatch_leaks_total{job="leaky"})');
  assert.ok(raised.value >= 1);
  // The cluster's processes are separate series, told apart by `worker`.
  const workers = await until('three processes of the cluster', 30000, async () => {
    const rows = await query(promPort, 'count by (worker) (leakwatch_heap_used_after_gc_bytes{job="cluster"})');
    return { ok: rows.length === 3, names: rows.map((r) => r.metric.worker).sort() };
  });
  assert.deepEqual(workers.names, ['1', '2', 'primary']);
  // A site series names the leaking code.
  const sites = await query(promPort, 'leakwatch_leak_site_live_bytes{job="leaky"}');
  assert.ok(sites.length >= 1 && sites.length <= 10);
  assert.ok(sites.some((s) => s.metric.location.includes('service.cjs')), JSON.stringify(sites.map((s) => s.metric)));
});
