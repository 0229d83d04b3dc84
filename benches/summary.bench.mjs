// Benchmark: `leakwatch summary` (per-class count/self size of one heap snapshot) against
//   1. a plain JSON.parse script (benches/reference/jsonparse-summary.mjs), and
//   2. @memlab/core's parser + snapshot.nodes.forEach (benches/reference/memlab-summary.mjs),
// each as a whole process (wall time, peak RSS), median of N runs, interleaved, on cached
// snapshots of ~300 MB and ~1 GB (~2 GB too with LEAKWATCH_BENCH_2GB=1).
// On the ~300 MB file leakwatch's output is checked against the JSON.parse reference.
//
// Environment: LEAKWATCH_BENCH_RUNS (rounds, default 3), LEAKWATCH_BENCH_LW_REPEAT (leakwatch runs a round, default 3), LEAKWATCH_BENCH_2GB=1,
// LEAKWATCH_BENCH_DIR (snapshot cache, default /tmp/leakwatch-bench),
// LEAKWATCH_BENCH_PEERS (peer install folder, default /tmp/leakwatch-bench-peers),
// LEAKWATCH_BENCH_NO_MEMLAB=1 (skip the memlab contender),
// LEAKWATCH_BENCH_ROOT=DIR (run DIR/cli.js instead of this checkout's, e.g. a
// `git archive` of another commit with a built .node copied in).
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTimeTool, interleave, warmPageCache } from './lib/measure.mjs';
import { ensurePeer, peerVersion } from './lib/peers.mjs';
import { gbPerCpuSecond, percent, ratio, seconds, size, table } from './lib/report.mjs';
import { BENCH_DIR, benchSizes, ensureSnapshot } from './lib/snapshots.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LW_ROOT = path.resolve(process.env.LEAKWATCH_BENCH_ROOT || ROOT);
// A leakwatch summary takes seconds; a run that does not end in minutes is hung.
const LW_TIMEOUT_MS = 2 * 60_000;
const PEER_TIMEOUT_MS = 20 * 60_000;
const RUNS = Math.max(1, Number(process.env.LEAKWATCH_BENCH_RUNS) || 3);
// leakwatch runs this many times in a row per round (its runs are short and move most
// with the machine's other work; the peers' take seconds to minutes).
const LW_REPEAT = Math.max(1, Number(process.env.LEAKWATCH_BENCH_LW_REPEAT) || 3);
const OUT_DIR = path.join(BENCH_DIR, 'out');
const BIG_HEAP = '--max-old-space-size=12000';
// Issue 15: ≥ 12× the JSON.parse script; the ~1 GB file in ≤ 0.75 s wall at ≥ 1 GB/s of
// CPU per core (file bytes / (user + system CPU seconds of the whole process)).
const TARGETS = { jsonParse: 12, memlab: 20, rssOfFile: 0.25, oneGbMs: 750, cpuGBps: 1 };

function log(message) {
  process.stderr.write(`[summary] ${message}\n`);
}

function contenders(snap, memlabOk) {
  const out = (name) => path.join(OUT_DIR, `${snap.name}-${name}.json`);
  const list = [
    // The output (a few KB of JSON) goes to a file instead of /dev/null so it can be
    // checked; that costs nothing measurable.
    { name: 'leakwatch', cmd: process.execPath, args: [path.join(LW_ROOT, 'cli.js'), 'summary', snap.file, '--json'], stdoutFile: out('leakwatch'), cwd: LW_ROOT, timeoutMs: LW_TIMEOUT_MS, repeat: LW_REPEAT },
    { name: 'JSON.parse', cmd: process.execPath, args: [BIG_HEAP, path.join(ROOT, 'benches/reference/jsonparse-summary.mjs'), snap.file], stdoutFile: out('jsonparse'), cwd: ROOT, timeoutMs: PEER_TIMEOUT_MS },
  ];
  if (memlabOk) {
    list.push({ name: 'memlab', cmd: process.execPath, args: [BIG_HEAP, path.join(ROOT, 'benches/reference/memlab-summary.mjs'), snap.file], stdoutFile: out('memlab'), cwd: ROOT, timeoutMs: PEER_TIMEOUT_MS });
  }
  return list;
}

/** Compare leakwatch's summary JSON with the reference's; returns { match, detail }. */
function compare(leakwatchFile, referenceFile) {
  const a = JSON.parse(fs.readFileSync(leakwatchFile, 'utf8'));
  const b = JSON.parse(fs.readFileSync(referenceFile, 'utf8'));
  for (const key of ['nodes', 'edges', 'totalSize', 'maxJsId']) {
    if (a[key] !== b[key]) return { match: false, detail: `${key}: leakwatch ${a[key]} vs JSON.parse ${b[key]}` };
  }
  // Per-class rows, keyed by exact name; compared byte for byte as serialized JSON.
  const byName = (list) => new Map(list.map((c) => [c.name, JSON.stringify({ name: c.name, count: c.count, selfSize: c.selfSize })]));
  const la = byName(a.classes);
  const lb = byName(b.classes);
  const names = [...new Set([...lb.keys(), ...la.keys()])];
  // Report the biggest differing class first (reference order, then leakwatch-only names).
  for (const name of names) {
    if (la.get(name) !== lb.get(name)) {
      return { match: false, detail: `first differing class ${JSON.stringify(name)}: leakwatch ${la.get(name) ?? '(missing)'} vs JSON.parse ${lb.get(name) ?? '(missing)'}` };
    }
  }
  const sameOrder = JSON.stringify(a.classes) === JSON.stringify(b.classes);
  return {
    match: true,
    detail: `${a.classes.length} classes, ${a.nodes} nodes, ${a.edges} edges, total self size ${a.totalSize} equal${sameOrder ? '; same order' : '; order differs'}`,
  };
}

function cell(r, field) {
  if (!r) return 'n/a';
  if (!r.ok) return 'fails';
  return field === 'wall' ? seconds(r.wallMs) : size(r.rssBytes);
}

function ratioCell(r, lw, field) {
  if (!r || !lw || !lw.ok) return 'n/a';
  if (!r.ok) return 'fails';
  return field === 'wall' ? ratio(r.wallMs / lw.wallMs) : ratio(r.rssBytes / lw.rssBytes);
}

function verdict(ok, text) {
  return `${ok ? 'MET ' : 'MISS'}  ${text}`;
}

async function main() {
  checkTimeTool();
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const snaps = benchSizes().map((name) => ensureSnapshot(name));

  let memlabOk = process.env.LEAKWATCH_BENCH_NO_MEMLAB !== '1';
  let memlabNote = memlabOk ? '' : 'skipped (LEAKWATCH_BENCH_NO_MEMLAB=1)';
  if (memlabOk) {
    try {
      ensurePeer('@memlab/core');
    } catch (error) {
      memlabOk = false;
      memlabNote = `unavailable: ${error.message}`;
    }
  }

  const loadStart = os.loadavg()[0];
  const results = [];
  for (const snap of snaps) {
    log(`${path.basename(snap.file)} (${size(snap.bytes)}): ${RUNS} rounds, interleaved…`);
    await warmPageCache(snap.file);
    const list = contenders(snap, memlabOk);
    for (const c of list) fs.rmSync(c.stdoutFile, { force: true });
    const res = await interleave(list, {
      runs: RUNS,
      onRun: (c, round, run) => log(`  ${snap.name} round ${round + 1} ${c.name}: ${run.ok ? `${seconds(run.wallMs)}, ${size(run.rssBytes)}` : `failed after ${seconds(run.wallMs)}`}`),
    });
    let check;
    const lw = res.get('leakwatch');
    const jp = res.get('JSON.parse');
    if (lw.ok && jp.ok) check = compare(list[0].stdoutFile, list[1].stdoutFile);
    results.push({ snap, res, check });
  }

  // ---- report ----
  const lines = [];
  lines.push(`leakwatch summary benchmark — node ${process.version}, ${os.cpus().length} cores, ${RUNS} rounds (leakwatch ${RUNS * LW_REPEAT} runs, ${LW_REPEAT} a round; the others ${RUNS}; medians, interleaved), whole processes`);
  lines.push(`load average (1 min): ${loadStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end (other work on this machine slows every contender; CPU time is the steadier figure)`);
  lines.push(`contenders: leakwatch = node ${LW_ROOT === ROOT ? '' : `${LW_ROOT}/`}cli.js summary FILE --json; JSON.parse = benches/reference/jsonparse-summary.mjs; memlab = @memlab/core@${peerVersion('@memlab/core') ?? '?'} ${memlabNote}`.trimEnd());
  lines.push('');
  lines.push(
    table(
      ['File', 'Size', 'leakwatch', 'LW CPU', 'LW GB/s CPU', 'LW RSS', 'LW RSS/file', 'JSON.parse', 'JP RSS', 'JP/LW', 'memlab', 'ML RSS', 'ML/LW'],
      results.map(({ snap, res }) => {
        const lw = res.get('leakwatch');
        return [
          snap.name,
          size(snap.bytes),
          cell(lw, 'wall'),
          lw.ok ? seconds(lw.cpuMs) : 'n/a',
          lw.ok ? gbPerCpuSecond(snap.bytes, lw.cpuMs).toFixed(2) : 'n/a',
          cell(lw, 'rss'),
          lw.ok ? percent(lw.rssBytes / snap.bytes) : 'n/a',
          cell(res.get('JSON.parse'), 'wall'),
          cell(res.get('JSON.parse'), 'rss'),
          ratioCell(res.get('JSON.parse'), lw, 'wall'),
          cell(res.get('memlab'), 'wall'),
          cell(res.get('memlab'), 'rss'),
          ratioCell(res.get('memlab'), lw, 'wall'),
        ];
      }),
    ),
  );
  lines.push('(LW/JP/ML = leakwatch/JSON.parse/memlab; X/LW = wall-time ratio, higher = leakwatch faster; LW CPU = user + system time of the whole process, median; GB/s CPU = file size / LW CPU, i.e. per core)');

  for (const { snap, res, check } of results) {
    const lw = res.get('leakwatch');
    lines.push('');
    lines.push(`${path.basename(snap.file)} — ${size(snap.bytes)} (${snap.bytes} bytes)`);
    lines.push(
      table(
        ['Contender', 'Wall (median)', 'CPU (median)', 'Peak RSS (median)', 'RSS/file', 'Wall ratio vs leakwatch', 'RSS ratio vs leakwatch', 'Runs (wall)'],
        [...res.values()].map((r) => [
          r.name,
          r.ok ? seconds(r.wallMs) : 'fails',
          r.ok ? seconds(r.cpuMs) : 'fails',
          r.ok ? size(r.rssBytes) : 'fails',
          r.ok ? percent(r.rssBytes / snap.bytes) : '—',
          r.name === 'leakwatch' ? '1.00×' : ratioCell(r, lw, 'wall'),
          r.name === 'leakwatch' ? '1.00×' : ratioCell(r, lw, 'rss'),
          r.runs.map((x) => (x.ok ? seconds(x.wallMs) : 'fail')).join(', '),
        ]),
      ),
    );
    for (const r of res.values()) {
      if (!r.ok) lines.push(`  ${r.name} fails after ${seconds(r.failWallMs)} at ${size(r.failRssBytes)} RSS — ${r.error}`);
    }
    const jp = res.get('JSON.parse');
    const ml = res.get('memlab');
    lines.push('  targets:');
    if (lw.ok && jp && jp.ok) {
      const x = jp.wallMs / lw.wallMs;
      lines.push(`    ${verdict(x >= TARGETS.jsonParse, `JSON.parse/leakwatch ≥ ${TARGETS.jsonParse}×: ${ratio(x)}${x >= TARGETS.jsonParse ? '' : ` (short by ${ratio(TARGETS.jsonParse / x)}; leakwatch would need ≤ ${seconds(jp.wallMs / TARGETS.jsonParse)})`}`)}`);
    } else if (jp && !jp.ok) {
      lines.push(`    MET   JSON.parse/leakwatch ≥ ${TARGETS.jsonParse}×: JSON.parse cannot do this file at all (${jp.error})`);
    }
    if (lw.ok && ml && ml.ok) {
      const x = ml.wallMs / lw.wallMs;
      lines.push(`    ${verdict(x >= TARGETS.memlab, `memlab/leakwatch ≥ ${TARGETS.memlab}×: ${ratio(x)}${x >= TARGETS.memlab ? '' : ` (short by ${ratio(TARGETS.memlab / x)}; leakwatch would need ≤ ${seconds(ml.wallMs / TARGETS.memlab)})`}`)}`);
    } else if (ml && !ml.ok) {
      lines.push(`    MET   memlab/leakwatch ≥ ${TARGETS.memlab}×: memlab cannot do this file at all (${ml.error})`);
    } else if (!ml) {
      lines.push(`    n/a   memlab/leakwatch ≥ ${TARGETS.memlab}×: memlab ${memlabNote}`);
    }
    if (lw.ok) {
      const p = lw.rssBytes / snap.bytes;
      lines.push(`    ${verdict(p < TARGETS.rssOfFile, `leakwatch peak RSS < ${percent(TARGETS.rssOfFile)} of file: ${percent(p)} (${size(lw.rssBytes)})`)}`);
      if (snap.name === '1GB') {
        const ok = lw.wallMs <= TARGETS.oneGbMs;
        lines.push(`    ${verdict(ok, `1 GB in ≤ ${seconds(TARGETS.oneGbMs)}: ${seconds(lw.wallMs)}${ok ? '' : ` (over by ${seconds(lw.wallMs - TARGETS.oneGbMs)}, ${percent(lw.wallMs / TARGETS.oneGbMs - 1)})`}`)}`);
        const rate = gbPerCpuSecond(snap.bytes, lw.cpuMs);
        lines.push(`    ${verdict(rate >= TARGETS.cpuGBps, `≥ ${TARGETS.cpuGBps} GB/s of CPU per core: ${rate.toFixed(2)} GB/s (${seconds(lw.cpuMs)} CPU for ${size(snap.bytes)}, node start-up included)`)}`);
      }
    } else {
      lines.push(`    MISS  leakwatch failed: ${lw.error}`);
    }
    if (check) lines.push(`  correctness vs JSON.parse: ${check.match ? 'MATCH' : 'MISMATCH'} — ${check.detail}`);
    else if (snap.name === '300MB') lines.push('  correctness vs JSON.parse: NOT CHECKED (a contender failed)');
  }
  process.stdout.write(lines.join('\n') + '\n');
  // Keep the latest figures with the code, like the other benches.
  const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(
    path.join(resultsDir, 'summary.md'),
    `# leakwatch summary vs JSON.parse and memlab\n\nGenerated by \`npm run bench -- summary\` on ${new Date().toISOString()}, load average ${os.loadavg()[0].toFixed(2)}.\n\n\`\`\`text\n${lines.join('\n')}\n\`\`\`\n`,
  );
  const bad = results.some(({ res, check }) => !res.get('leakwatch').ok || (check && !check.match));
  process.exitCode = bad ? 1 : 0;
}

await main();
