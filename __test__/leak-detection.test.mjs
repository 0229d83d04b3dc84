// A representative subset of the leak fixture corpus (__test__/fixtures/leaks/, cases marked
// `ci`) under `node -r ./register.js` with LEAKWATCH_STATS_FILE, two at a time: every leaking
// program is reported with the right memory kind and the evidence it rests on, and no healthy
// program raises an alarm in its (shortened) run. The leaks run with leakwatch's allocation
// sampler (survival readings) and with sampling off (the phase-robust fallback).
// No timing asserts beyond "reported / not reported within the run" (the bench measures delays).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { CASES, runAll } from './fixtures/leaks/corpus.mjs';

const SUBSET = CASES.filter((c) => c.ci);
// Healthy runs: 24 s (past warm-up, several detector windows). Leaks end after their report,
// at the latest after 40 s: this test asks whether, not how soon (the bench measures that;
// a loaded host or a newer V8 with fewer natural GCs can take longer than the targets).
const envFor = (testCase) => ({ LEAKWATCH_FIXTURE_MAX_MS: testCase.truth === 'leak' ? '40000' : '24000' });
// Heap cases with survival readings; the external leak (which the sampler cannot see) and
// one heap leak on the post-GC figures alone.
const FIGURES_ONLY = new Set(['external-leak', 'steady-leak']);
const jobs = [
  ...SUBSET.filter((c) => c.kind !== 'external').map((testCase) => ({ testCase, survival: true, env: envFor(testCase) })),
  ...SUBSET.filter((c) => FIGURES_ONLY.has(c.name)).map((testCase) => ({ testCase, survival: false, env: { LEAKWATCH_FIXTURE_MAX_MS: '40000' } })),
];
let results;
before(async () => {
  results = await runAll(jobs, { concurrency: 3 });
}, { timeout: 120_000 });

const resultOf = (name, survival) => results[jobs.findIndex((j) => j.testCase.name === name && j.survival === survival)];
const describeRun = (r) =>
  `${r.name}: exit ${r.code ?? r.signal} after ${r.wallMs} ms, ${r.stats.length} stats, leaks ${JSON.stringify(r.leaks.map((l) => [l.kind, Math.round(l.atMs), l.reason, l.evidence]))}, stderr ${JSON.stringify(r.stderr.slice(0, 400))}`;

for (const testCase of SUBSET) {
  if (testCase.truth === 'leak') {
    for (const survival of [true, false].filter((on) => jobs.some((j) => j.testCase === testCase && j.survival === on))) {
      test(`${testCase.name}: ${testCase.what} is reported as a ${testCase.kind} leak (${survival ? 'with survival readings' : 'post-GC figures only'})`, () => {
        const r = resultOf(testCase.name, survival);
        assert.equal(r.code, 0, describeRun(r));
        assert.ok(r.leaks.length >= 1, `no leak event: ${describeRun(r)}`);
        const first = r.leaks[0];
        assert.equal(first.kind, testCase.kind, describeRun(r));
        assert.deepEqual(r.leaks.filter((l) => l.kind !== testCase.kind), [], `wrong kind too: ${describeRun(r)}`);
        assert.ok(first.growth > 0 && first.rate > 0, describeRun(r));
        assert.ok(new Date(first.end) > new Date(first.start), describeRun(r));
        // What the verdict rests on.
        const { evidence } = first;
        assert.equal(evidence.rule, 'adaptive');
        assert.ok(evidence.windowMs > 0, describeRun(r));
        if (survival && testCase.kind === 'heap') {
          assert.equal(evidence.signals[0], 'survival', describeRun(r));
          const { oldRetention, retainedBytes, olderLostBytes } = evidence.survival;
          assert.ok(oldRetention >= 0.7 && retainedBytes > 0, describeRun(r));
          // Growth, not replacement: what older allocations lost is a minor part of it.
          assert.ok(olderLostBytes >= 0 && olderLostBytes <= 0.75 * retainedBytes, describeRun(r));
        } else {
          assert.ok(evidence.signals.includes(`${testCase.kind}-after-gc`), describeRun(r));
          assert.equal(evidence.survival, null);
        }
        // register.js prints the verdict on stderr.
        assert.match(r.stderr, new RegExp(`leakwatch: possible ${testCase.kind} leak: `));
      });
    }
  } else {
    test(`${testCase.name}: ${testCase.what} raises no alarm`, () => {
      const r = resultOf(testCase.name, true);
      assert.equal(r.code, 0, describeRun(r));
      assert.deepEqual(r.leaks, [], describeRun(r));
      assert.doesNotMatch(r.stderr, /possible .* leak/, describeRun(r));
      assert.ok(r.wallMs >= 20_000, describeRun(r));
    });
  }
}

test('the stats file holds one JSON line per full GC, with memwatch fields', () => {
  const busy = resultOf('batch-worker', true);
  assert.ok(busy.stats.length >= 3, describeRun(busy));
  for (const s of busy.stats) {
    for (const field of ['num_full_gc', 'usage_trend', 'current_base', 'used_heap_size', 'external', 'gc_time', 'total_heap_size', 'rss']) {
      assert.ok(Number.isFinite(s[field]), `${field} in ${JSON.stringify(s)}`);
    }
  }
  const counts = busy.stats.map((s) => s.num_full_gc);
  assert.deepEqual(counts, [...counts].sort((a, b) => a - b), 'num_full_gc only grows');
});

test('a sampler read into the detector: a profile that does not parse is refused with its code and changes nothing; a good one is taken', async () => {
  const { createRequire } = await import('node:module');
  const native = createRequire(import.meta.url)('../lib/shared/native.js');
  const monitor = new native.Monitor(undefined, 0);
  monitor.startSampling({ interval: 4096 }, 0);
  assert.throws(() => monitor.ingestProfile('{"head": {"callFrame": ', 1, true), { code: 'ERR_LEAKWATCH_PROFILE_TRUNCATED' });
  assert.throws(() => monitor.ingestProfile('{"samples": 7}', 1, true), { code: 'ERR_LEAKWATCH_NOT_A_PROFILE' });
  assert.equal(monitor.samplerFootprint().reads, 0);
  const root = { callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, selfSize: 0, id: 1, children: [] };
  assert.deepEqual(monitor.ingestProfile(JSON.stringify({ head: root, samples: [] }), 2, true), { samples: 0, leaks: [] });
  assert.equal(monitor.samplerFootprint().reads, 1);
  // Without sampling started, a read is not taken.
  monitor.stopSampling();
  assert.deepEqual(monitor.ingestProfile(JSON.stringify({ head: root, samples: [] }), 3, true), { samples: 0, leaks: [] });
  assert.equal(monitor.samplerFootprint().reads, 0);
});
