// Whole-process measurement: run a command as its own process, record wall time and
// peak RSS. Peak RSS comes from GNU time (`/usr/bin/time -f '%e %M'`, %M = max resident
// set size in KiB of the measured process); wall time is measured here with a
// monotonic clock around the spawn (ms resolution; %e is only 10 ms), so it includes
// process start-up — that is what a user waits for.
//
// GNU time is required. On Debian/Ubuntu: `apt-get install -y time`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TIME_BIN = process.env.LEAKWATCH_BENCH_TIME || '/usr/bin/time';

// Children run in their own process group (so a timeout can kill GNU time *and* the
// measured process); remember them so Ctrl-C on the bench stops them as well.
const active = new Set();
let handlersInstalled = false;
function installSignalHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      for (const pid of active) killGroup(pid);
      process.exit(130);
    });
  }
}
function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}

export function checkTimeTool() {
  if (!fs.existsSync(TIME_BIN)) {
    throw new Error(`${TIME_BIN} (GNU time) not found; it measures peak RSS. Install it with: apt-get install -y time`);
  }
}

/**
 * Run `cmd args…` once. stdout goes to `stdoutFile` (or /dev/null), stderr is kept (tail).
 * Resolves to { ok, status, signal, wallMs, rssBytes, stderr, timedOut }.
 */
export function runOnce(cmd, args, { stdoutFile = '/dev/null', cwd, env, timeoutMs = 30 * 60_000 } = {}) {
  checkTimeTool();
  const timeFile = path.join(os.tmpdir(), `leakwatch-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const out = fs.openSync(stdoutFile, 'w');
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(TIME_BIN, ['-o', timeFile, '-f', '%e %M %U %S', cmd, ...args], {
      cwd,
      env: env ? { ...process.env, ...env } : process.env,
      stdio: ['ignore', out, 'pipe'],
      detached: true,
    });
    installSignalHandlers();
    active.add(child.pid);
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.length > 64_000) stderr = stderr.slice(-32_000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, timeoutMs);
    child.on('close', (status, signal) => {
      active.delete(child.pid);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      fs.closeSync(out);
      let rssBytes = NaN;
      let cpuMs = NaN;
      let timeStatus = status;
      try {
        const text = fs.readFileSync(timeFile, 'utf8');
        // GNU time writes "Command exited with non-zero status N" before the format line.
        const m = /Command exited with non-zero status (\d+)/.exec(text);
        if (m) timeStatus = Number(m[1]);
        const last = text.trim().split('\n').pop().trim().split(/\s+/);
        rssBytes = Number(last[1]) * 1024;
        // User + system CPU seconds of the whole process (all threads): steadier than wall
        // time on a loaded machine.
        cpuMs = (Number(last[2]) + Number(last[3])) * 1000;
      } catch {}
      fs.rmSync(timeFile, { force: true });
      resolve({ ok: !timedOut && status === 0 && signal === null, status: timeStatus, signal, wallMs, cpuMs, rssBytes, stderr, timedOut });
    });
  });
}

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Run each contender `runs` times, interleaved (A B C, A B C, …) so drifts in machine
 * load and page cache hit all of them alike. A contender that fails is not retried in
 * later rounds (it would fail again and only cost time); its result records the error.
 *
 * contenders: [{ name, cmd, args, stdoutFile?, env?, timeoutMs?, repeat? }]; `repeat` runs a
 * contender that many times in a row per round: more samples for a fast, noisy one (a
 * run of under a second moves by tens of percent with the machine's other work).
 * Returns Map name → { name, ok, runs:[…], wallMs (median), rssBytes (median), error }.
 */
export async function interleave(contenders, { runs = 3, onRun } = {}) {
  const results = new Map(contenders.map((c) => [c.name, { name: c.name, ok: true, runs: [], error: undefined }]));
  for (let round = 0; round < runs; round++) {
    for (const c of contenders) {
      const r = results.get(c.name);
      for (let k = 0; k < (c.repeat || 1) && r.ok; k++) {
        const run = await runOnce(c.cmd, c.args, c);
        r.runs.push(run);
        if (onRun) onRun(c, round, run);
        if (!run.ok) {
          r.ok = false;
          r.error = describeFailure(run);
        }
      }
    }
  }
  for (const r of results.values()) {
    const good = r.runs.filter((x) => x.ok);
    r.wallMs = median(good.map((x) => x.wallMs));
    r.rssBytes = median(good.map((x) => x.rssBytes));
    r.cpuMs = median(good.map((x) => x.cpuMs));
    // For a failure, still say how long and how much memory it took to fail.
    r.failWallMs = r.ok ? undefined : r.runs[r.runs.length - 1].wallMs;
    r.failRssBytes = r.ok ? undefined : r.runs[r.runs.length - 1].rssBytes;
  }
  return results;
}

function describeFailure(run) {
  if (run.timedOut) return `killed after ${(run.wallMs / 1000).toFixed(0)} s: did not exit (hung or too slow)`;
  const lines = run.stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const interesting = lines.find((l) => /Error|error:|FATAL|heap out of memory|Cannot create/i.test(l) && !/^at /.test(l));
  const why = interesting || lines[lines.length - 1] || '';
  return `exit ${run.status ?? run.signal}${why ? `: ${why}` : ''}`;
}

/** Read a file fully once (discarding the data) so the first timed run does not pay for the disk. */
export async function warmPageCache(file) {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 << 20);
    while ((await fh.read(buf, 0, buf.length, null)).bytesRead > 0);
  } finally {
    await fh.close();
  }
}
