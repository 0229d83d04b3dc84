'use strict';
// `leakwatch run`: start an app with leakwatch preloaded, follow what it records
// (stats, leak, snapshot events as JSON lines), ask it for snapshots on a schedule
// with its dump signal, analyse them, and chart the run. The app's stdio, exit code
// and signals pass through unchanged; leakwatch talks on stderr.

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const native = require('../binding.js');
const { plot } = require('./chart');
const { formatAnalysis } = require('./report');

const REGISTER = path.join(__dirname, '..', 'register.js');
const POLL_MS = 200;

/** Follows a JSON-lines file that another process appends to. */
class RecordTail {
  constructor(file) {
    this.file = file;
    this.offset = 0;
    this.rest = '';
  }

  read() {
    let fd;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return [];
    }
    try {
      const { size } = fs.fstatSync(fd);
      if (size <= this.offset) return [];
      const chunk = Buffer.alloc(size - this.offset);
      fs.readSync(fd, chunk, 0, chunk.length, this.offset);
      this.offset = size;
      const lines = (this.rest + chunk.toString('utf8')).split('\n');
      this.rest = lines.pop();
      return lines.flatMap((line) => {
        try {
          return line.trim() ? [JSON.parse(line)] : [];
        } catch {
          return [];
        }
      });
    } finally {
      fs.closeSync(fd);
    }
  }
}

function nodeOptionsWithRegister(existing) {
  const quoted = /\s/.test(REGISTER) ? `"${REGISTER}"` : REGISTER;
  return [existing, `--require ${quoted}`].filter(Boolean).join(' ');
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Run `command args` under watch. Resolves with what was found:
 * {code, signal, statsFile, chart, snapshots, leaks, analysis, interrupted}.
 */
// Four by default: with a fourth snapshot the analysis sees whether what survived from the
// S1→S2 window stays (a leak) or shrinks (a cache evicting, sessions expiring).
const DEFAULT_SNAPSHOTS = 4;

function runWatched({ command, args = [], outDir, snapshots = DEFAULT_SNAPSHOTS, everyMs = 30000, durationMs = 0, snapshotOnLeak = true, log = (line) => process.stderr.write(`leakwatch: ${line}\n`), detector = {} }) {
  fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const statsFile = path.join(outDir, 'stats.jsonl');
  fs.writeFileSync(statsFile, '', { mode: 0o600 });
  const env = {
    ...process.env,
    NODE_OPTIONS: nodeOptionsWithRegister(process.env.NODE_OPTIONS),
    LEAKWATCH_STATS_FILE: statsFile,
    LEAKWATCH_SNAPSHOT_DIR: outDir,
    // The app's own stderr stays the app's: leakwatch reports from here instead.
    LEAKWATCH_QUIET: '1',
    LEAKWATCH_OPTIONS: JSON.stringify({ ...detector, reportLeaks: false }),
  };
  const started = Date.now();
  const child = spawn(command, args, { stdio: 'inherit', env });
  const tail = new RecordTail(statsFile);
  const found = { statsFile, chart: null, snapshots: [], leaks: [], analysis: null, analysisError: null, interrupted: false };
  let target = null; // the newest process that loaded leakwatch (npm start: the app, not npm)
  let requested = 0;
  let analysing = null;

  const requestSnapshot = (why) => {
    if (requested >= snapshots || target === null || !isAlive(target)) return;
    if (requested > found.snapshots.length) return; // one at a time
    requested += 1;
    log(`taking snapshot ${requested} of ${snapshots} (${why})`);
    try {
      process.kill(target, 'SIGUSR2');
    } catch (error) {
      log(`cannot signal pid ${target}: ${error.message}`);
    }
  };

  const analyse = () => {
    const files = found.snapshots.map((s) => s.file);
    log(`analysing ${files.length} snapshots…`);
    analysing = native
      .analyze(files, {})
      .then((analysis) => {
        found.analysis = analysis;
        process.stderr.write('\n' + formatAnalysis(analysis, 10) + '\n');
      })
      .catch((error) => {
        found.analysisError = error;
        log(`analysis failed: ${error.message}`);
      });
  };

  const onRecord = (record) => {
    if (record.event === 'start') {
      target = record.pid;
    } else if (record.event === 'leak' && record.pid === target) {
      found.leaks.push(record);
      log(`leak detected (${record.kind}): ${record.reason}`);
      if (snapshotOnLeak) requestSnapshot('leak event');
    } else if (record.event === 'error' && record.pid === target) {
      log(`the app's leakwatch reported: ${record.message}`);
      // A failed dump must not block the next scheduled one.
      if (requested > found.snapshots.length) requested -= 1;
    } else if (record.event === 'snapshot' && record.pid === target) {
      found.snapshots.push(record);
      log(`snapshot ${found.snapshots.length} written: ${record.file} (${native.humanSize(record.bytes)} in ${(record.durationMs / 1000).toFixed(1)} s)`);
      if (found.snapshots.length === snapshots && !analysing) analyse();
    }
  };

  const poll = setInterval(() => tail.read().forEach(onRecord), POLL_MS);
  // Snapshots on the schedule: at every `everyMs`, if the previous one is done.
  const schedule = setInterval(() => requestSnapshot('schedule'), everyMs);
  const stopTimer = durationMs > 0 ? setTimeout(() => {
    log(`stopping the app after ${(durationMs / 1000).toFixed(0)} s`);
    child.kill('SIGTERM');
  }, durationMs) : null;

  const running = () => child.exitCode === null && child.signalCode === null;
  const onInterrupt = () => {
    if (found.interrupted && running()) {
      // A second Ctrl-C: the app ignored the first one.
      log('interrupted again: killing the app');
      child.kill('SIGKILL');
      return;
    }
    found.interrupted = true;
    log('interrupted: stopping the app, then reporting what was found so far');
    if (running()) child.kill('SIGINT');
  };
  // Without these, `kill <leakwatch>` (or a CI timeout, or a closed terminal) would end
  // leakwatch and leave the app running, orphaned: pass the signal on and still report.
  const onTerminate = (signal) => {
    log(`got ${signal}: passing it to the app, then reporting what was found so far`);
    if (running()) child.kill(signal);
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  process.on('SIGHUP', onTerminate);

  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      cleanup();
      reject(new Error(`cannot start '${command}': ${error.message}`));
    });
    child.on('exit', async (code, signal) => {
      cleanup();
      tail.read().forEach(onRecord);
      if (analysing) await analysing;
      else if (found.snapshots.length >= 3) {
        analyse();
        await analysing;
      }
      try {
        const chart = plot(statsFile, path.join(outDir, 'memory.svg'), {});
        found.chart = chart.output;
      } catch (error) {
        log(`cannot draw the chart: ${error.message}`);
      }
      resolve({ ...found, code, signal, seconds: (Date.now() - started) / 1000 });
    });
  });

  function cleanup() {
    clearInterval(poll);
    clearInterval(schedule);
    if (stopTimer) clearTimeout(stopTimer);
    process.removeListener('SIGINT', onInterrupt);
    process.removeListener('SIGTERM', onTerminate);
    process.removeListener('SIGHUP', onTerminate);
  }
}

/** The short summary printed when the app has exited. */
function formatSummary(result) {
  const lines = [];
  const how = result.signal ? `was stopped by ${result.signal}` : `exited with code ${result.code}`;
  lines.push(`the app ${how} after ${result.seconds.toFixed(1)} s`);
  const samples = fs.readFileSync(result.statsFile, 'utf8').split('\n').filter((l) => l.includes('"event":"stats"')).length;
  lines.push(`  full-GC samples: ${samples} in ${result.statsFile}`);
  lines.push(`  leak events: ${result.leaks.length}${result.leaks.length ? ` (first: ${result.leaks[0].reason})` : ''}`);
  lines.push(`  snapshots: ${result.snapshots.length ? result.snapshots.map((s) => s.file).join(', ') : 'none'}`);
  if (result.analysis) {
    const top = result.analysis.suspects[0];
    lines.push(`  suspects: ${result.analysis.suspects.length ? result.analysis.suspects.map((s) => `${s.name} (${s.count})`).join(', ') : 'none'}`);
    if (top && top.retainerPath.length) {
      const held = [...top.retainerPath].reverse().find((step) => step.edgeType === 'context' || step.edgeType === 'property');
      if (held) lines.push(`  ${top.name} is held by '${held.edge}'`);
    }
  } else if (result.snapshots.length < 3) {
    lines.push('  analysis: needs 3 snapshots (use --every to take them sooner)');
  }
  if (result.chart) lines.push(`  chart: ${result.chart}`);
  return lines.join('\n');
}

/** Exit like the app did: same code, or the same signal. */
function exitLikeApp(result) {
  if (result.signal && !result.interrupted && result.signal !== 'SIGTERM') {
    process.kill(process.pid, result.signal);
    return;
  }
  if (result.signal) process.exitCode = 128 + (require('node:os').constants.signals[result.signal] || 0);
  else process.exitCode = result.code ?? 1;
}

module.exports = { runWatched, formatSummary, exitLikeApp, RecordTail, DEFAULT_SNAPSHOTS };
