// Verdicts with a lifecycle (issue 20), in real processes: a store that fills longer than the
// detector's window is suspected, then withdrawn with a reason (`leakResolved`), leaving
// nothing standing (`activeLeaks()`, the metrics gauge back to 0); `leakwatch run` lists it
// apart from standing leaks. (A real leak's verdict standing for three minutes:
// leak-lifecycle-long.test.mjs.)
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { root, sleep, start, freePort, spawnNode, parseExposition } from './helpers.mjs';

const { readRecords } = createRequire(import.meta.url)('../lib/shared/records.js');
const LEAKS = path.join(root, '__test__', 'fixtures', 'leaks');
const REGISTER = path.join(root, 'register.js');
const LISTENER = path.join(LEAKS, '_listener.js');

function records(file) {
  const out = [];
  try {
    readRecords(file, (r) => out.push(r));
  } catch {
    // not written yet
  }
  return out;
}

const scratch = () => fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-lifecycle-'));

describe('verdicts with a lifecycle', { concurrency: true }, () => {
  test('a session store filling for 25 s is suspected, then withdrawn with a reason; nothing stands, the gauge is back at 0', { timeout: 120000 }, async (t) => {
    const dir = scratch();
    const statsFile = path.join(dir, 'stats.jsonl');
    const port = await freePort();
    const app = spawnNode(['-r', REGISTER, '-r', LISTENER, path.join(LEAKS, 'ttl-store.js')], {
      TTL_MS: '25000',
      RUN_MS: '100000',
      LEAKWATCH_STATS_FILE: statsFile,
      LEAKWATCH_SIGNAL: 'off',
      LEAKWATCH_QUIET: '1',
      LEAKWATCH_METRICS: `127.0.0.1:${port}`,
      LEAKWATCH_PRINT_ACTIVE: '1',
    });
    t.after(() => app.stop());
    const deadline = Date.now() + 95000;
    let resolved;
    while (!(resolved = records(statsFile).find((r) => r.event === 'leakResolved')) && Date.now() < deadline) await sleep(500);
    const all = records(statsFile);
    const leaks = all.filter((r) => r.event === 'leak');
    assert.ok(leaks.length >= 1, `a store filling for 25 s is suspected (nothing tells it from a leak yet)\n${app.out.stderr}`);
    assert.ok(resolved, `the suspicion is withdrawn once the store holds its size\n${JSON.stringify(leaks.map((l) => l.reason))}`);
    assert.equal(resolved.id, leaks[0].id);
    assert.equal(resolved.kind, 'heap');
    assert.match(resolved.reason, /^growth stopped: the heap levelled off at [\d.]+ \w+ after growing for \d+s, .*a cache or a store that filled\?/);
    assert.ok(Date.parse(resolved.end) > Date.parse(resolved.start));
    assert.ok(resolved.evidence.nextRequiredMs >= 1.5 * resolved.evidence.fillMs - 1, JSON.stringify(resolved.evidence));
    assert.ok(resolved.evidence.fillBytes > 0 && resolved.evidence.nextOutgrowBytes >= 2 * resolved.evidence.fillBytes - 1, JSON.stringify(resolved.evidence));
    // What a dashboard sees now.
    const page = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    assert.equal(page.get('leakwatch_leaks_active{kind="heap"}'), 0);
    assert.equal(page.get('leakwatch_leaks_total{kind="heap"}'), 1);
    // Nothing raised again while the store keeps its size, and nothing stands at exit.
    process.kill(app.child.pid, 'SIGTERM');
    const closed = await app.closed;
    const later = records(statsFile).filter((r) => r.event === 'leak' && r.id !== leaks[0].id);
    assert.deepEqual(later, [], 'no new verdict on the same store');
    assert.match(closed.stdout, /active leaks: \[\]/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('leakwatch run lists a withdrawn suspicion apart from standing leaks, and counts only standing ones', { timeout: 150000 }, async () => {
    const dir = scratch();
    const r = await start(['run', '--snapshots', '0', '--no-leak-snapshot', '--duration', '70s', '--out', dir, '--', process.execPath, path.join(LEAKS, 'ttl-store.js')], {
      timeoutMs: 140000,
      env: { TTL_MS: '25000', RUN_MS: '100000' },
    }).done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /leak detected \(heap\)/);
    assert.match(r.stderr, /leak suspicion #1 \(heap\) withdrawn: growth stopped/);
    assert.match(r.stderr, /^ {2}leaks standing: none$/m);
    assert.match(r.stderr, /^ {2}withdrawn suspicion: heap, suspected at \d+ s, withdrawn at \d+ s: growth stopped: the heap levelled off/m);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
