// Signal-to-file latency: time from `kill -USR2 <pid>` to a complete .heapsnapshot file,
// for leakwatch vs heapdump vs `node --heapsnapshot-signal=SIGUSR2`, on a process holding
// a ~100 MB heap, (1) idle and (2) stuck in a 20 s busy loop started just before the
// signal. Runs as `npm run bench -- signal-latency` or standalone
// (`node benches/signal-latency.bench.mjs`). Writes benches/results/signal-latency.md.
//
// Completion is detected from outside by polling the target's directory every 20 ms:
// leakwatch renames its file only when it is complete, so the final name appearing is the
// end; heapdump (heapdump-<sec>.<usec>.heapsnapshot) and Node (Heap.*.heapsnapshot) write
// in place, so their end is the first poll that saw the final size with the closing "]}",
// confirmed by the size staying the same for the next polls.
//
// Knobs: LEAKWATCH_BENCH_RUNS (default 3), LEAKWATCH_BENCH_HEAP_MB (100),
// LEAKWATCH_BENCH_BUSY_MS (20000), LEAKWATCH_BENCH_PEERS (scratch folder for heapdump),
// LEAKWATCH_BENCH_TMP (where targets write; default the OS temp dir).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEERS, ensurePeer, peerVersion } from './lib/peers.mjs';
import { seconds, ratio, size } from './lib/report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const TARGET = path.join(here, 'lib', 'signal-target.cjs');
const RUNS = Number(process.env.LEAKWATCH_BENCH_RUNS || 3);
const HEAP_MB = Number(process.env.LEAKWATCH_BENCH_HEAP_MB || 100);
const BUSY_MS = Number(process.env.LEAKWATCH_BENCH_BUSY_MS || 20_000);
const POLL_MS = 20;
const TIMEOUT_MS = BUSY_MS + 90_000;
const RESULTS = path.join(here, 'results', 'signal-latency.md');

const log = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

/**
 * heapdump is installed for the bench only, into its own prefix under the peers' scratch
 * folder (lib/peers.mjs), never into package.json. It builds with node-gyp.
 */
function ensureHeapdump() {
  PEERS.heapdump ??= { spec: 'heapdump', env: {} };
  const dir = ensurePeer('heapdump');
  if (!fs.existsSync(path.join(dir, 'build', 'Release', 'addon.node'))) throw new Error(`heapdump in ${dir} has no built addon`);
  return dir;
}

const CONTENDERS = {
  leakwatch: {
    label: 'leakwatch',
    args: [],
    env: () => ({ TOOL: 'leakwatch', LEAKWATCH_PATH: path.join(root, 'index.js'), LEAKWATCH_QUIET: '1' }),
    // Renamed into place when complete: a final name is a whole file.
    final: (name) => /^heapdump-\d+-\d{8}T\d{6}Z-\d+\.heapsnapshot$/.test(name),
    inPlace: false,
  },
  heapdump: {
    label: 'heapdump',
    args: [],
    env: () => ({ TOOL: 'heapdump', HEAPDUMP_PATH: heapdumpDir }),
    final: (name) => /^heapdump-\d+\.\d+\.heapsnapshot$/.test(name),
    inPlace: true,
  },
  node: {
    label: 'node --heapsnapshot-signal',
    args: ['--heapsnapshot-signal=SIGUSR2'],
    env: () => ({ TOOL: 'node' }),
    final: (name) => /^Heap\..*\.heapsnapshot$/.test(name),
    inPlace: true,
  },
};
let heapdumpDir = null;

function tailOf(file, bytes = 16) {
  const fd = fs.openSync(file, 'r');
  try {
    const { size: length } = fs.fstatSync(fd);
    const buffer = Buffer.alloc(Math.min(bytes, length));
    fs.readSync(fd, buffer, 0, buffer.length, length - buffer.length);
    return { length, tail: buffer.toString('latin1') };
  } finally {
    fs.closeSync(fd);
  }
}

/** Poll `dir` until the contender's file is complete; resolves {doneAt, file, bytes}. */
async function waitForCompleteFile(dir, contender, deadline) {
  let candidate = null; // {file, length, seenAt, stablePolls}
  for (;;) {
    const now = Date.now();
    if (now > deadline) throw new Error(`no complete snapshot in ${dir} after ${TIMEOUT_MS} ms`);
    const name = fs.readdirSync(dir).find(contender.final);
    if (name) {
      const file = path.join(dir, name);
      if (!contender.inPlace) return { doneAt: now, file, bytes: fs.statSync(file).size };
      const { length, tail } = tailOf(file);
      if (/\]\}\s*$/.test(tail)) {
        if (candidate && candidate.file === file && candidate.length === length) {
          if (++candidate.stablePolls >= 3) return { doneAt: candidate.seenAt, file, bytes: length };
        } else {
          candidate = { file, length, seenAt: now, stablePolls: 0 };
        }
      } else {
        candidate = null;
      }
    }
    await sleep(POLL_MS);
  }
}

/** One target process: build the heap, signal it (busy or idle), time the file. */
async function measure(key, scenario) {
  const contender = CONTENDERS[key];
  const dir = fs.mkdtempSync(path.join(process.env.LEAKWATCH_BENCH_TMP || os.tmpdir(), `leakwatch-signal-bench-${key}-`));
  const child = spawn(process.execPath, [...contender.args, TARGET], {
    cwd: dir,
    env: { ...process.env, NODE_OPTIONS: '', TARGET_MB: String(HEAP_MB), ...contender.env() },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const messages = [];
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      messages.push(JSON.parse(buffered.slice(0, newline)));
      buffered = buffered.slice(newline + 1);
    }
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let status = null;
  exited.then((s) => (status = s));
  const waitFor = async (type, timeout) => {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = messages.find((m) => m.type === type);
      if (found) return found;
      if (status) throw new Error(`${key} target exited (${JSON.stringify(status)}) before '${type}'`);
      if (Date.now() > deadline) throw new Error(`${key} target: no '${type}' within ${timeout} ms`);
      await sleep(10);
    }
  };
  try {
    const ready = await waitFor('ready', 60_000);
    await sleep(1000); // let start-up settle (and leakwatch's watchdog worker register)
    let loop = null;
    if (scenario === 'busy') {
      child.stdin.write(`busy ${BUSY_MS}\n`);
      loop = await waitFor('busy-start', 10_000);
    }
    const killedAt = Date.now();
    process.kill(child.pid, 'SIGUSR2');
    const done = await waitForCompleteFile(dir, contender, killedAt + TIMEOUT_MS);
    if (status) throw new Error(`${key} target died: ${JSON.stringify(status)}`);
    const { tail } = tailOf(done.file);
    if (!/\]\}\s*$/.test(tail)) throw new Error(`${key}: ${done.file} is not a complete snapshot`);
    const result = { latencyMs: done.doneAt - killedAt, bytes: done.bytes, heapUsed: ready.heapUsed };
    if (process.env.LEAKWATCH_BENCH_DEBUG) log(`  ${key} ${scenario}: killed at ${killedAt}, done at ${done.doneAt}; target said ${JSON.stringify(messages.slice(1))}`);
    if (loop) {
      // The loop is timed by the wall clock, so it ends at start + BUSY_MS; when the dump is
      // already done we stop here instead of waiting, else we take the end the target printed.
      const plannedEnd = loop.start + BUSY_MS;
      const end = done.doneAt < plannedEnd ? plannedEnd : (await waitFor('busy-end', TIMEOUT_MS)).end;
      result.loopEndMs = end - killedAt;
      result.beforeLoopEnd = done.doneAt < end;
    }
    return result;
  } finally {
    child.kill('SIGKILL');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function row(cells) {
  return `| ${cells.join(' | ')} |`;
}

async function main() {
  try {
    heapdumpDir = ensureHeapdump();
  } catch (error) {
    log(`heapdump unavailable, measured without it: ${error.message}`);
    delete CONTENDERS.heapdump;
  }
  const only = (variable, all) => (process.env[variable] ? all.filter((k) => process.env[variable].split(',').includes(k)) : all);
  const keys = only('LEAKWATCH_BENCH_TOOLS', Object.keys(CONTENDERS));
  const results = { idle: {}, busy: {} };
  for (const scenario of only('LEAKWATCH_BENCH_SCENARIOS', ['idle', 'busy'])) {
    for (const key of keys) results[scenario][key] = [];
    // Interleaved: leakwatch, heapdump, node, leakwatch, … so drift hits all alike.
    for (let run = 1; run <= RUNS; run++) {
      for (const key of keys) {
        const r = await measure(key, scenario);
        results[scenario][key].push(r);
        log(
          `[${scenario} ${run}/${RUNS}] ${CONTENDERS[key].label}: ${seconds(r.latencyMs)} (${size(r.bytes)} file, heap ${size(r.heapUsed)})` +
            (r.loopEndMs !== undefined ? `; loop ended ${seconds(r.loopEndMs)} after the signal; ${r.beforeLoopEnd ? 'done while stuck' : 'done after the loop'}` : ''),
        );
      }
    }
  }

  const med = (scenario, key) => median(results[scenario][key].map((r) => r.latencyMs));
  const base = (scenario) => (keys.includes('heapdump') ? med(scenario, 'heapdump') : NaN);
  const runsOf = (scenario, key) => results[scenario][key].map((r) => seconds(r.latencyMs)).join(', ');
  const everyRun = Object.values(results).flatMap((byTool) => Object.values(byTool).flat());
  const heap = median(everyRun.map((r) => r.heapUsed));
  const file = median(everyRun.map((r) => r.bytes));
  const ran = (scenario) => keys.length > 0 && results[scenario][keys[0]] !== undefined;
  const lines = [
    '# Signal-to-file latency',
    '',
    `Time from \`kill -USR2 <pid>\` to a complete snapshot file on a process holding a ${size(heap)} heap ` +
      `(snapshot ≈ ${size(file)}); median of ${RUNS} interleaved runs; polled every ${POLL_MS} ms. ` +
      `Node ${process.version}, heapdump ${peerVersion('heapdump') ?? 'not installed'}, ${os.cpus().length} cores, ${os.platform()} ${os.release()}, ` +
      `load average ${os.loadavg()[0].toFixed(2)} at the end. Generated by \`npm run bench -- signal-latency\` on ${new Date().toISOString()}.`,
    '',
  ];
  if (ran('idle')) {
    lines.push(
      '## Idle process',
      '',
      row(['tool', 'runs', 'median', 'vs heapdump']),
      row(['---', '---', '---:', '---:']),
      ...keys.map((k) => row([CONTENDERS[k].label, runsOf('idle', k), seconds(med('idle', k)), ratio(med('idle', k) / base('idle'))])),
      '',
    );
  }
  if (ran('busy')) {
    lines.push(
      `## Main thread stuck in a ${BUSY_MS / 1000} s busy loop started just before the signal`,
      '',
      row(['tool', 'runs', 'median', 'vs heapdump', 'loop ended (after signal)', 'completed while stuck']),
      row(['---', '---', '---:', '---:', '---:', '---']),
      ...keys.map((k) => {
        const rs = results.busy[k];
        const stuck = rs.filter((r) => r.beforeLoopEnd).length;
        const verdict = stuck === rs.length ? 'yes' : stuck === 0 ? 'no' : 'partly';
        return row([CONTENDERS[k].label, runsOf('busy', k), seconds(med('busy', k)), ratio(med('busy', k) / base('busy')), seconds(median(rs.map((r) => r.loopEndMs))), `${verdict} (${stuck}/${rs.length})`]);
      }),
      '',
    );
  }
  lines.push(
    '"vs heapdump" is the median divided by heapdump\'s: below 1× is faster. leakwatch\'s time includes its',
    'resource check, fsync and rename; heapdump and Node write in place (their end is the first poll that saw',
    'the final size ending in "]}").',
    '',
  );
  const verdicts = [];
  if (keys.includes('leakwatch') && keys.includes('heapdump') && ran('idle')) {
    const r = med('idle', 'leakwatch') / base('idle');
    verdicts.push(`idle: leakwatch ${r <= 1.05 ? 'MET' : 'MISSED'} "no slower than heapdump" (${ratio(r)}, 5% tolerance)`);
  }
  if (keys.includes('leakwatch') && ran('busy')) {
    const rs = results.busy.leakwatch;
    const stuck = rs.filter((r) => r.beforeLoopEnd).length;
    const idle = ran('idle') ? ` vs idle ${seconds(med('idle', 'leakwatch'))}` : '';
    verdicts.push(`busy: leakwatch ${stuck === rs.length ? 'MET' : 'MISSED'} "dump completes while the loop is still running" (${stuck}/${rs.length}); median ${seconds(med('busy', 'leakwatch'))}${idle}`);
  }
  if (verdicts.length) lines.push('## Targets', '', ...verdicts.map((v) => `- ${v}`), '');
  const markdown = lines.join('\n');
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, markdown);
  process.stdout.write(markdown);
  log(`written to ${path.relative(process.cwd(), RESULTS)}`);
}

main().catch((error) => {
  log(`signal-latency bench failed: ${error.stack || error.message}`);
  process.exit(1);
});
