// Benchmark: `leakwatch analyze` (three-snapshot technique: full graph, dominators,
// retained sizes, retainer paths) and `leakwatch summary --retained`, against memlab, in
// the same run, each contender a whole process (wall time, peak RSS), median of N runs,
// interleaved. Issue 5.
//
//   A. three ~100 MB snapshots of one leaking process (benches/lib/leak-series.mjs; the
//      process leaks `LeakedRecord` objects into the module-level array `leakedRecords`
//      and makes garbage):
//        leakwatch            node cli.js analyze S1 S2 S3 --json
//        memlab core          benches/reference/memlab-analyze.mjs S1 S2 S3 (@memlab/core:
//                             id-only parse of S1/S2, load S3, TraceFinder shortest paths,
//                             dominators + retained sizes, suspects by class)
//        memlab find-leaks    memlab find-leaks --baseline S1 --target S2 --final S3
//        … --trace-all-objects  the same, without memlab's browser-oriented leak filter
//   B. the cached ~1 GB snapshot (benches/lib/snapshots.mjs):
//        leakwatch            node cli.js summary FILE --retained --json
//        memlab core          benches/reference/memlab-analyze.mjs FILE
// Prints a table (wall, peak RSS, ratios, targets) and what each tool reports for the same
// inputs, and saves it as benches/results/analyze.md.
//
// Environment: LEAKWATCH_BENCH_RUNS (default 3; the 1 GB part uses the same),
// LEAKWATCH_BENCH_DIR, LEAKWATCH_BENCH_PEERS, LEAKWATCH_BENCH_NO_MEMLAB=1,
// LEAKWATCH_BENCH_ROOT=DIR (benchmark DIR/cli.js), LEAKWATCH_BENCH_NO_1GB=1 (part A only).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTimeTool, interleave, warmPageCache } from './lib/measure.mjs';
import { LEAK_ARRAY, LEAK_CLASS, ensureLeakSeries } from './lib/leak-series.mjs';
import { PEERS_DIR, ensurePeer, peerVersion } from './lib/peers.mjs';
import { ratio, seconds, size, table } from './lib/report.mjs';
import { BENCH_DIR, ensureSnapshot } from './lib/snapshots.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LW_ROOT = path.resolve(process.env.LEAKWATCH_BENCH_ROOT || ROOT);
const RESULTS = path.join(ROOT, 'benches', 'results', 'analyze.md');
const RUNS = Math.max(1, Number(process.env.LEAKWATCH_BENCH_RUNS) || 3);
// leakwatch runs this many times in a row per round (its runs are short and move most
// with the machine's other work; the peers' take seconds to minutes).
const LW_REPEAT = Math.max(1, Number(process.env.LEAKWATCH_BENCH_LW_REPEAT) || 3);
const OUT_DIR = path.join(BENCH_DIR, 'out');
const BIG_HEAP = '--max-old-space-size=12000';
const LW_TIMEOUT_MS = 3 * 60_000;
const PEER_TIMEOUT_MS = 20 * 60_000;
// Issue 15: A ≥ 12× memlab at ≤ ½ its peak RSS; B (summary --retained of ~1 GB) ≥ 15×
// memlab with a peak RSS ≤ 1.0× the file.
const TARGETS = { speedup: 12, memShare: 0.5, oneGbMs: 8000, oneGbSpeedup: 15, oneGbRssOfFile: 1.0 };
// The memlab CLI (package `memlab`) in a prefix of its own, as benches/lib/peers.mjs does
// for @memlab/core. Its install scripts (puppeteer's browser download) are not needed here.
const MEMLAB_CLI_PREFIX = path.join(PEERS_DIR, 'memlab');
// Its bin is `#!/usr/bin/env -S node --expose-gc --max-old-space-size=4096`; run it with the
// same flags but the larger heap every peer gets here.
const MEMLAB_CLI_BIN = path.join(MEMLAB_CLI_PREFIX, 'node_modules', 'memlab', 'bin', 'memlab');

function log(message) {
  process.stderr.write(`[analyze] ${message}\n`);
}

/** Install the `memlab` CLI package if missing; returns { ok, note, version }. */
function ensureMemlabCli() {
  const pkg = path.join(MEMLAB_CLI_PREFIX, 'node_modules', 'memlab', 'package.json');
  if (!fs.existsSync(pkg)) {
    fs.mkdirSync(MEMLAB_CLI_PREFIX, { recursive: true });
    const own = path.join(MEMLAB_CLI_PREFIX, 'package.json');
    if (!fs.existsSync(own)) fs.writeFileSync(own, JSON.stringify({ name: 'leakwatch-bench-peer', private: true }, null, 2));
    log(`npm install --no-save --prefix ${MEMLAB_CLI_PREFIX} memlab`);
    const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', MEMLAB_CLI_PREFIX, 'memlab'], {
      stdio: ['ignore', 2, 2],
      env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: '1', PUPPETEER_SKIP_CHROMIUM_DOWNLOAD: '1' },
    });
    if (r.status !== 0 || !fs.existsSync(pkg)) return { ok: false, note: `could not install the memlab CLI (npm exit ${r.status})` };
  }
  const version = JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
  if (!fs.existsSync(MEMLAB_CLI_BIN)) return { ok: false, note: `memlab ${version} installed but ${MEMLAB_CLI_BIN} is missing` };
  return { ok: true, version };
}

const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** memlab find-leaks as a whole process, with a fresh --work-dir each run (memlab keeps state there). */
function findLeaksContender(name, files, workDir, extra = []) {
  const memlab = [process.execPath, '--expose-gc', BIG_HEAP, MEMLAB_CLI_BIN, 'find-leaks', '--baseline', files[0], '--target', files[1], '--final', files[2], '--work-dir', workDir, ...extra];
  return {
    name,
    cmd: '/bin/sh',
    // `exec`: the measured process is memlab's node itself (rm/mkdir are negligible).
    args: ['-c', `rm -rf ${shq(workDir)} && mkdir -p ${shq(workDir)} && exec ${memlab.map(shq).join(' ')}`],
    stdoutFile: path.join(OUT_DIR, `analyze-${name.replace(/\W+/g, '-')}.txt`),
    cwd: ROOT,
    timeoutMs: PEER_TIMEOUT_MS,
    workDir,
  };
}

// ---- what the tools report ----

// eslint-disable-next-line no-control-regex -- ANSI escapes are what it strips
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/** memlab find-leaks: its "Alive objects allocated in target page" table, leak count, clusters. */
function parseFindLeaks(contender, result) {
  const out = { table: [], found: undefined, clusters: [] };
  let text = '';
  try {
    text = stripAnsi(fs.readFileSync(contender.stdoutFile, 'utf8'));
  } catch {}
  const lastRun = result.runs[result.runs.length - 1];
  text += '\n' + stripAnsi(lastRun ? lastRun.stderr : '');
  for (const m of text.matchAll(/│\s*\d+\s*│\s*'([^']*)'\s*│\s*'([^']*)'\s*│\s*(\d+)\s*│\s*'([^']*)'\s*│/g)) {
    out.table.push({ name: m[1], type: m[2], count: Number(m[3]), retained: m[4] });
  }
  const found = /MemLab found (\d+) leak/.exec(text);
  if (found) out.found = Number(found[1]);
  try {
    const leaks = stripAnsi(fs.readFileSync(path.join(contender.workDir, 'data', 'out', 'leaks.txt'), 'utf8'));
    for (const block of leaks.split(/(?=--Similar leaks in this run: )/).slice(1)) {
      const n = /--Similar leaks in this run: (\d+)--/.exec(block);
      const r = /--Retained size of leaked objects: ([^-]+)--/.exec(block);
      const steps = block.split('\n').filter((l) => /--->/.test(l)).map((l) => l.trim());
      out.clusters.push({ count: Number(n[1]), retained: r ? r[1].trim() : '?', tail: steps.slice(-2) });
    }
  } catch {}
  return out;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** leakwatch's retainer path, compressed to `edge → Class` steps. */
function lwPath(steps) {
  return (steps || []).map((s) => `${s.edge} → ${s.node.class ?? s.node.name}`).join(' ');
}
/** memlab's path (from memlab-analyze.mjs), the same way, without the synthetic root. */
function mlPath(steps) {
  return (steps || [])
    .filter((s) => s.edge)
    .map((s) => `${s.edge.replace(/ \(\w+\)$/, '')} → ${s.node.replace(/ \([^)]*\) @\d+$/, '') || '(' + s.node.replace(/^ \(([^)]*)\).*/, '$1') + ')'}`)
    .join(' ');
}

// ---- report helpers ----

function cell(r, field) {
  if (!r) return 'n/a';
  if (!r.ok) return 'fails';
  return field === 'wall' ? seconds(r.wallMs) : size(r.rssBytes);
}

function rowsFor(part, res) {
  const lw = res.get('leakwatch');
  return [...res.values()].map((r) => {
    const isLw = r.name === 'leakwatch';
    const timeX = r.ok && lw.ok ? r.wallMs / lw.wallMs : NaN;
    const memX = r.ok && lw.ok ? lw.rssBytes / r.rssBytes : NaN;
    return [
      part,
      r.name,
      cell(r, 'wall'),
      r.ok && Number.isFinite(r.cpuMs) ? seconds(r.cpuMs) : 'n/a',
      cell(r, 'rss'),
      isLw ? '—' : r.ok ? ratio(timeX) : 'fails',
      isLw ? '—' : r.ok ? ratio(memX) : 'fails',
      r.runs.map((x) => (x.ok ? seconds(x.wallMs) : 'fail')).join(', '),
    ];
  });
}

function verdicts(res, lines, { oneGb = false, fileBytes } = {}) {
  const lw = res.get('leakwatch');
  if (!lw.ok) {
    lines.push(`    MISS  leakwatch failed: ${lw.error}`);
    return false;
  }
  let allMet = true;
  for (const r of res.values()) {
    if (r.name === 'leakwatch') continue;
    if (!r.ok) {
      lines.push(`    n/a   vs ${r.name}: it fails (${r.error})`);
      continue;
    }
    const x = r.wallMs / lw.wallMs;
    const m = lw.rssBytes / r.rssBytes;
    const speedup = oneGb ? TARGETS.oneGbSpeedup : TARGETS.speedup;
    const ok = x >= speedup && (oneGb || m <= TARGETS.memShare);
    allMet &&= ok;
    // Near the target, rounding could print "10.00×" for a miss: show three decimals then.
    const shown = Math.abs(x / speedup - 1) < 0.01 ? `${x.toFixed(3)}×` : ratio(x);
    const cpu = Number.isFinite(lw.cpuMs) && Number.isFinite(r.cpuMs) ? `; CPU ${seconds(lw.cpuMs)} vs ${seconds(r.cpuMs)}, ${ratio(r.cpuMs / lw.cpuMs)}` : '';
    const memory = oneGb ? `(${(m * 100).toFixed(0)}% of its peak RSS: ${size(lw.rssBytes)} vs ${size(r.rssBytes)})` : `at ≤ ${TARGETS.memShare * 100}% of its peak RSS (${(m * 100).toFixed(0)}%: ${size(lw.rssBytes)} vs ${size(r.rssBytes)})`;
    lines.push(
      `    ${ok ? 'MET ' : 'MISS'}  vs ${r.name}: ≥ ${speedup}× faster (${shown}${x >= speedup ? '' : `; leakwatch would need ≤ ${seconds(r.wallMs / speedup)}`}${cpu}) ${memory}`,
    );
  }
  if (oneGb && fileBytes) {
    const share = lw.rssBytes / fileBytes;
    const ok = share <= TARGETS.oneGbRssOfFile;
    allMet &&= ok;
    lines.push(`    ${ok ? 'MET ' : 'MISS'}  peak RSS ≤ ${TARGETS.oneGbRssOfFile.toFixed(1)}× the file: ${share.toFixed(2)}× (${size(lw.rssBytes)} for ${size(fileBytes)})`);
  }
  if (oneGb) {
    const ok = lw.wallMs < TARGETS.oneGbMs;
    allMet &&= ok;
    lines.push(`    ${ok ? 'MET ' : 'MISS'}  1 GB snapshot fully analysed (graph, dominators, retained sizes) in < ${seconds(TARGETS.oneGbMs)}: ${seconds(lw.wallMs)}`);
  }
  return allMet;
}

function failures(res, lines) {
  for (const r of res.values()) {
    if (!r.ok) lines.push(`  ${r.name} fails after ${seconds(r.failWallMs)} at ${size(r.failRssBytes)} RSS — ${r.error}`);
  }
}

async function main() {
  checkTimeTool();
  const loadStart = os.loadavg()[0];
  const addonStart = addonInfo();
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const series = ensureLeakSeries();
  const big = process.env.LEAKWATCH_BENCH_NO_1GB === '1' ? null : ensureSnapshot('1GB');

  let memlabOk = process.env.LEAKWATCH_BENCH_NO_MEMLAB !== '1';
  let memlabNote = memlabOk ? '' : 'skipped (LEAKWATCH_BENCH_NO_MEMLAB=1)';
  let cli = { ok: false, note: memlabNote };
  if (memlabOk) {
    try {
      ensurePeer('@memlab/core');
    } catch (error) {
      memlabOk = false;
      memlabNote = `unavailable: ${error.message}`;
    }
    cli = ensureMemlabCli();
  }

  const cliJs = path.join(LW_ROOT, 'cli.js');
  const memlabAnalyze = path.join(ROOT, 'benches/reference/memlab-analyze.mjs');
  const onRun = (tag) => (c, round, run) =>
    log(`  ${tag} round ${round + 1} ${c.name}: ${run.ok ? `${seconds(run.wallMs)}, ${size(run.rssBytes)}` : `failed after ${seconds(run.wallMs)} (exit ${run.status ?? run.signal})`}`);

  // ---- A: three ~100 MB snapshots ----
  const A = series.files;
  const listA = [
    { name: 'leakwatch', cmd: process.execPath, args: [cliJs, 'analyze', ...A, '--json'], stdoutFile: path.join(OUT_DIR, 'analyze-leakwatch.json'), cwd: LW_ROOT, timeoutMs: LW_TIMEOUT_MS, repeat: LW_REPEAT },
  ];
  if (memlabOk) {
    listA.push({ name: 'memlab core', cmd: process.execPath, args: [BIG_HEAP, memlabAnalyze, ...A], stdoutFile: path.join(OUT_DIR, 'analyze-memlab-core.json'), cwd: ROOT, timeoutMs: PEER_TIMEOUT_MS });
  }
  if (cli.ok) {
    listA.push(findLeaksContender('memlab find-leaks', A, path.join(OUT_DIR, 'memlab-work-default')));
    listA.push(findLeaksContender('find-leaks --trace-all-objects', A, path.join(OUT_DIR, 'memlab-work-all'), ['--trace-all-objects']));
  }
  log(`three snapshots ${A.map((f, i) => `${path.basename(f)} (${size(series.bytes[i])})`).join(', ')}: ${RUNS} rounds, interleaved…`);
  for (const f of A) await warmPageCache(f);
  for (const c of listA) fs.rmSync(c.stdoutFile, { force: true });
  const resA = await interleave(listA, { runs: RUNS, onRun: onRun('3×100MB') });

  // ---- B: one ~1 GB snapshot ----
  let resB;
  let listB;
  if (big) {
    listB = [
      { name: 'leakwatch', cmd: process.execPath, args: [cliJs, 'summary', big.file, '--retained', '--json'], stdoutFile: path.join(OUT_DIR, 'analyze-1GB-leakwatch.json'), cwd: LW_ROOT, timeoutMs: LW_TIMEOUT_MS, repeat: LW_REPEAT },
    ];
    if (memlabOk) {
      listB.push({ name: 'memlab core', cmd: process.execPath, args: [BIG_HEAP, memlabAnalyze, big.file], stdoutFile: path.join(OUT_DIR, 'analyze-1GB-memlab-core.json'), cwd: ROOT, timeoutMs: PEER_TIMEOUT_MS });
    }
    log(`${path.basename(big.file)} (${size(big.bytes)}): ${RUNS} rounds, interleaved…`);
    await warmPageCache(big.file);
    for (const c of listB) fs.rmSync(c.stdoutFile, { force: true });
    resB = await interleave(listB, { runs: RUNS, onRun: onRun('1GB') });
  }

  // ---- report ----
  const lines = [];
  const versions = `@memlab/core ${peerVersion('@memlab/core') ?? '?'}${memlabNote ? ` (${memlabNote})` : ''}, memlab CLI ${cli.ok ? cli.version : `n/a (${cli.note})`}`;
  lines.push(`leakwatch analyze benchmark — node ${process.version}, ${os.cpus().length} cores, ${RUNS} rounds (leakwatch ${RUNS * LW_REPEAT} runs, ${LW_REPEAT} a round; the others ${RUNS}; medians, interleaved), whole processes, ${new Date().toISOString()}`);
  lines.push(`peers: ${versions}`);
  // Someone may rebuild the addon meanwhile: say which build was measured (at the start and end).
  lines.push(`leakwatch native module: ${addonStart}${addonInfo() !== addonStart ? ` at the start, ${addonInfo()} at the end (REBUILT during the run)` : ''}`);
  lines.push(`load average (1 min): ${loadStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end (other work on this machine slows every contender alike, interleaving spreads it)`);
  lines.push(`A = ${A.map((f, i) => `${path.basename(f)} ${size(series.bytes[i])}`).join(', ')} (one process, ${series.meta.intervalMs / 1000} s apart)`);
  if (big) lines.push(`B = ${path.basename(big.file)} ${size(big.bytes)}`);
  lines.push('');
  const headers = ['Input', 'Contender', 'Wall', 'CPU', 'Peak RSS', 'memlab/LW time', 'LW/memlab RSS', 'Runs (wall)'];
  const rows = rowsFor('A 3×~100MB', resA);
  if (resB) rows.push(...rowsFor('B 1GB', resB));
  lines.push(table(headers, rows));
  lines.push('(memlab/LW time: higher = leakwatch faster, target ≥ 12× (A) and ≥ 15× (B); LW/memlab RSS: leakwatch peak RSS as a share of the peer\'s, target ≤ 0.50× (A); B: leakwatch peak RSS ≤ 1.0× the file; CPU = user + system time, median)');
  lines.push('A: leakwatch = cli.js analyze S1 S2 S3 --json; memlab core = memlab-analyze.mjs S1 S2 S3 (id-only parse of S1+S2, load S3, TraceFinder shortest paths, dominators + retained sizes)');
  lines.push('B: leakwatch = cli.js summary FILE --retained --json; memlab core = memlab-analyze.mjs FILE (load, shortest paths, dominators + retained sizes)');

  lines.push('');
  lines.push('A — three snapshots:');
  failures(resA, lines);
  lines.push('  targets:');
  verdicts(resA, lines);
  if (resB) {
    lines.push('B — 1 GB snapshot:');
    failures(resB, lines);
    lines.push('  targets:');
    verdicts(resB, lines, { oneGb: true, fileBytes: big.bytes });
  }

  // memlab phase timings (last run): what the whole-process time is made of.
  const phaseLine = (file) => {
    const j = readJson(file);
    return j && j.phases ? Object.entries(j.phases).map(([k, v]) => `${k} ${seconds(v)}`).join(', ') : undefined;
  };
  const phA = memlabOk && phaseLine(path.join(OUT_DIR, 'analyze-memlab-core.json'));
  const phB = big && memlabOk && phaseLine(path.join(OUT_DIR, 'analyze-1GB-memlab-core.json'));
  if (phA || phB) {
    lines.push('');
    lines.push('memlab core phases (last run, inside the process, excluding node start-up and module load):');
    if (phA) lines.push(`  A: ${phA}`);
    if (phB) lines.push(`  B: ${phB}`);
  }

  // ---- what the tools report ----
  lines.push('');
  lines.push(`What each tool reports — A (known leak: ${series.meta.leakedBetween1and2} ${LEAK_CLASS} objects pushed into \`${LEAK_ARRAY}\` between S1 and S2, plus ${GARBAGE_NOTE(series.meta)} TempBuffer objects (each with an array and a string) made and dropped):`);
  const lwA = readJson(listA[0].stdoutFile);
  let checkOk = false;
  if (lwA && Array.isArray(lwA.suspects)) {
    lines.push('  leakwatch analyze suspects (user classes first, then retained size):');
    lines.push(
      indent(
        table(
          ['Class', 'Count', 'Self', 'Retained', 'S1→S2→S3'],
          lwA.suspects.slice(0, 6).map((s) => [s.name, s.count, size(s.selfSize), size(s.retainedSize), (s.counts || []).join('→')]),
        ),
        4,
      ),
    );
    const top = lwA.suspects[0];
    if (top) lines.push(`    path of ${top.name}: (GC roots) ${lwPath(top.retainerPath)}`);
    const pathText = top ? lwPath(top.retainerPath) : '';
    checkOk = !!top && top.name === LEAK_CLASS && top.count === series.meta.leakedBetween1and2 && pathText.includes(LEAK_ARRAY);
    lines.push(
      `    check: ${checkOk ? 'MATCH' : 'MISMATCH'} — top suspect ${top ? `${top.name} ×${top.count}` : '(none)'}, expected ${LEAK_CLASS} ×${series.meta.leakedBetween1and2}, path ${pathText.includes(LEAK_ARRAY) ? 'names' : 'does NOT name'} \`${LEAK_ARRAY}\``,
    );
  } else lines.push('  leakwatch analyze: no output (failed)');
  const mlA = memlabOk && readJson(path.join(OUT_DIR, 'analyze-memlab-core.json'));
  if (mlA && mlA.suspects) {
    lines.push('  memlab core (same id filter, grouped by memlab name/type; retained = sum over objects, nested ones counted twice):');
    lines.push(indent(table(['Name (type)', 'Count', 'Self', 'Retained (sum)'], mlA.suspects.slice(0, 6).map((s) => [`${s.name || '""'} (${s.type})`, s.count, size(s.selfSize), size(s.retainedSize)])), 4));
    const rep = mlA.suspects.find((s) => s.name === LEAK_CLASS && s.path);
    if (rep) lines.push(`    memlab path of ${LEAK_CLASS}: ${mlPath(rep.path)}`);
  }
  for (const name of ['memlab find-leaks', 'find-leaks --trace-all-objects']) {
    const c = listA.find((x) => x.name === name);
    const r = resA.get(name);
    if (!c || !r) continue;
    const fl = parseFindLeaks(c, r);
    lines.push(`  ${name}: ${r.ok ? '' : `(failed: ${r.error}) `}"MemLab found ${fl.found ?? '?'} leak(s)"`);
    if (name === 'memlab find-leaks' && fl.table.length) {
      lines.push(`    its "Alive objects allocated in target page" table: ${fl.table.slice(0, 5).map((t) => `${t.name} (${t.type}) ×${t.count} ${t.retained}`).join('; ')}`);
    }
    for (const cl of fl.clusters.slice(0, 3)) lines.push(`    cluster ×${cl.count}, retained ${cl.retained}: … ${cl.tail.join(' ')}`);
  }
  lines.push(
    '  note: memlab is tuned for browser leaks — by default its leak filter keeps only detached DOM elements, unmounted React Fiber nodes, XHRs and user-tagged objects (over-sized ones only with --trace-object-size-above), so on a Node process it prints the allocated-between table but reports no leak; with --trace-all-objects it clusters surviving objects by retainer trace (from a sample of them, so cluster counts are below the real count). Its tables skip strings and numbers; leakwatch lists them after user classes.',
  );

  if (resB) {
    lines.push('');
    lines.push('What each tool reports — B (1 GB, one snapshot):');
    const lwB = readJson(listB[0].stdoutFile);
    const mlB = memlabOk && readJson(path.join(OUT_DIR, 'analyze-1GB-memlab-core.json'));
    if (lwB && lwB.classes) {
      const byRetained = [...lwB.classes].sort((a, b) => b.retainedSize - a.retainedSize).slice(0, 6);
      lines.push(`  leakwatch summary --retained: ${lwB.nodes} nodes, ${lwB.edges} edges; top classes by retained size:`);
      lines.push(indent(table(['Class', 'Count', 'Self', 'Retained'], byRetained.map((c) => [c.name, c.count, size(c.selfSize), size(c.retainedSize)])), 4));
    } else lines.push('  leakwatch summary --retained: no output (failed)');
    if (mlB) {
      lines.push(`  memlab core: ${mlB.nodes} nodes, ${mlB.edges} edges${lwB ? ` (${mlB.nodes === lwB.nodes && mlB.edges === lwB.edges ? 'same as leakwatch' : 'DIFFERENT from leakwatch'})` : ''}; top retainers (single objects):`);
      lines.push(indent(table(['Name (type)', 'Id', 'Self', 'Retained'], mlB.topRetainers.slice(0, 6).map((t) => [`${t.name || '""'} (${t.type})`, t.id, size(t.selfSize), size(t.retainedSize)])), 4));
      if (mlB.topRetainerPath) lines.push(`    memlab path of the top retainer: ${mlPath(mlB.topRetainerPath)}`);
    }
  }

  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(
    RESULTS,
    `# leakwatch analyze vs memlab\n\nGenerated by \`npm run bench -- analyze\` (benches/analyze.bench.mjs). Wall time and peak RSS of whole processes; see benches/README.md.\n\n\`\`\`text\n${text}\`\`\`\n`,
  );
  log(`saved ${path.relative(ROOT, RESULTS)}`);
  const bad = !resA.get('leakwatch').ok || (resB && !resB.get('leakwatch').ok) || !checkOk;
  process.exitCode = bad ? 1 : 0;
}

/** The built .node files of the leakwatch checkout being measured, with size and mtime. */
function addonInfo() {
  try {
    const found = fs.readdirSync(LW_ROOT).filter((f) => f.endsWith('.node'));
    if (!found.length) return '(no .node file)';
    return found
      .map((f) => {
        const st = fs.statSync(path.join(LW_ROOT, f));
        return `${f} ${size(st.size)} built ${st.mtime.toISOString()}`;
      })
      .join(', ');
  } catch (error) {
    return `(unreadable: ${error.message})`;
  }
}

function GARBAGE_NOTE(meta) {
  const g = meta.shots ? meta.shots[2].garbage : undefined;
  return g ? `${g}` : 'many';
}

function indent(text, n) {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

await main();
