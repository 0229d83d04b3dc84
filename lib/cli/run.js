'use strict';
// `leakwatch run`: start an app with leakwatch preloaded, follow what it records
// (stats, leak, snapshot events as JSON lines, lib/shared/records.js), ask it for snapshots on a
// schedule with its dump signal, analyse them, and chart the run. The app's stdio, exit
// code and signals pass through unchanged; leakwatch talks on stderr.
//
// An app may be several processes (a cluster, `npm start` and the app it starts): every
// process that loads leakwatch writes a 'start' record and is followed on its own. The
// processes with a leak verdict standing (or the one chosen with `pid`) are snapshotted and
// analysed: the app's own detector judges, `run` only follows its verdicts.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const native = require('../shared/native');
const config = require('../agent/config');
const { leakwatchError } = require('../shared/errors');
const { plot, scanProcesses } = require('./chart');
const { createRecordFile, RecordTail, read } = require('../shared/records');
const { formatAnalysis } = require('./report');
const secureFs = require('../shared/secure-fs');

const REGISTER = path.join(__dirname, '..', '..', 'register.js');
const POLL_MS = 200;
/** While a snapshot waits for the heap's low point: the signal follows that GC this closely. */
const DUE_POLL_MS = 50;
/** A GC recorded this long after a request shows the main thread ran without serving it. */
const RAN_AFTER_MS = 1000;
// Four by default: with a fourth snapshot the analysis sees whether what survived from the
// S1→S2 window stays (a leak) or shrinks (a cache evicting, sessions expiring).
const DEFAULT_SNAPSHOTS = 4;
/** Grace between the SIGTERM at --duration and a SIGKILL (`killAfterMs`). */
const DEFAULT_KILL_AFTER_MS = 10000;
/** A snapshot waits for a heap after GC within this much of its recent low (at least; see LOW_WINDOW). */
const NEAR_LOW_BYTES = 1024 * 1024;
/** How many samples the first and the recent heap level are the lowest of. */
const LEVEL_SAMPLES = 2;
/**
 * A snapshot request unanswered this long (at least; see requestSnapshot), by a process that
 * has run JavaScript since (so is not writing it), is sent again.
 */
const MIN_RESEND_MS = 5000;
/**
 * Scheduled snapshots are taken at the heap's low point. Over the last LOW_WINDOW samples
 * of heap after GC, the heap "swings" when it fell back by at least SWING_BYTES and
 * SWING_RATIO of its lowest value (a transient batch built and dropped); a sample is then
 * near the low point when it is in the lowest LOW_FRACTION of the recent range (at least
 * within NEAR_LOW_BYTES of the minimum): at most a quarter of a transient is in the dump,
 * and a floor a slow leak raises across the window still qualifies. A heap that does not
 * swing (steady, or only growing) is snapshotted on time, as before.
 */
const LOW_WINDOW = 16;
const SWING_BYTES = 1024 * 1024;
const SWING_RATIO = 0.1;
const LOW_FRACTION = 0.25;
/** memoryPressure records kept per process: the first and the newest (each level is reported once per cooldown). */
const MAX_PRESSURE_RECORDS = 16;
/** Verdicts remembered per process (the oldest withdrawn ones go first). */
const MAX_VERDICTS = 32;
/** Processes followed per run (a fork bomb must not grow leakwatch's memory). */
const MAX_PROCESSES = 256;
/** Per-process charts besides memory.svg. */
const MAX_CHARTS = 8;
const { runSiteLines, describeSite } = require('../shared/sites-report');

function nodeOptionsWithRegister(existing) {
  const quoted = /\s/.test(REGISTER) ? `"${REGISTER}"` : REGISTER;
  return [existing, `--require ${quoted}`].filter(Boolean).join(' ');
}

/**
 * The dump signal the app's leakwatch will handle, decided by the app's own parser
 * (lib/agent/config.js) on the environment the app gets: a signal name, or null when that
 * environment turns the signal off (LEAKWATCH_SIGNAL=off, NODE_HEAPDUMP_OPTIONS=nosignal).
 * Settings the app would reject are an ERR_LEAKWATCH_INVALID_OPTION here, before it starts.
 */
function appSignal(env) {
  const { signal = config.DEFAULTS.signal } = config.validate(config.fromEnvironment(env));
  if (signal && !os.constants.signals[signal]) throw leakwatchError('ERR_LEAKWATCH_INVALID_OPTION', `LEAKWATCH_SIGNAL: unknown signal '${signal}'`);
  return signal || null;
}

/** Why the app handles no dump signal: the variables of `env` that can turn it off, as set. */
function signalOffBy(env) {
  return ['LEAKWATCH_SIGNAL', 'NODE_HEAPDUMP_OPTIONS']
    .filter((name) => env[name])
    .map((name) => `${name}=${env[name]}`)
    .join(', ');
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const HAS_PROC = fs.existsSync('/proc/self/stat');

/** /proc/<pid>/stat (Linux): {state, ppid, startTime}, or null (gone, or no /proc). */
function procStat(pid) {
  let stat;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses; starttime is field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], ppid: Number(fields[1]), startTime: fields[19] };
}

/**
 * Whether process `p` still runs: on Linux the same process (its start time: the pid was
 * not reused since) and not a zombie; elsewhere, whether its pid exists.
 */
function stillRuns(p) {
  if (!HAS_PROC) return isAlive(p.pid);
  const st = procStat(p.pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X' && (p.startTime === undefined || st.startTime === p.startTime);
}

/**
 * Whether `pid` is `ancestor` or runs below it, read from /proc (Linux): a pid named in the
 * stats file is signalled only then. Elsewhere, or for a process already gone, true.
 */
function isDescendant(pid, ancestor) {
  let at = pid;
  for (let hops = 0; hops < 64; hops++) {
    if (at === ancestor) return true;
    if (at <= 1) return false;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${at}/stat`, 'utf8');
    } catch {
      return hops > 0 ? false : true; // no /proc, or gone: nothing to signal
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses.
    at = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(at)) return false;
  }
  return false;
}

/**
 * What one process that loaded leakwatch recorded, kept small whatever the run's length.
 * Records arrive typed (lib/shared/records.js read()): a field is its type or null.
 */
class WatchedProcess {
  /** `record`: the process's start record. */
  constructor(record) {
    this.pid = record.pid;
    this.startT = record.t ?? Date.now();
    this.ppid = record.ppid ?? undefined;
    // Read while it is known to be the app's: the pid is signalled later only if it is still this process.
    this.startTime = procStat(this.pid)?.startTime;
    this.argv = record.argv !== null ? record.argv.filter((a) => typeof a === 'string').slice(0, 8) : [];
    this.samples = 0;
    this.firstLevel = []; // heap after GC, first samples
    this.recent = []; // heap after GC, last samples
    this.lastHeap = undefined;
    this.window = []; // heap after GC, last LOW_WINDOW samples
    this.due = null; // {at, why, low}: a scheduled snapshot waiting for the heap's low point
    this.leaks = 0; // leak events
    // id -> {id, kind, reason, raisedT, withdrawnT, withdrawnReason}: each verdict, standing
    // until a leakResolved record withdraws it (leak records without an id count as standing).
    this.verdicts = new Map();
    this.latestSites = null; // {event, sites} of the newest leak/snapshot record with sites
    this.pressure = []; // its memoryPressure records (at most two levels per resource, by design)
    this.snapshots = [];
    this.requested = 0;
    this.requestedAt = 0;
    this.ranSinceRequest = false; // a stats record stamped after the request came
    this.ranSeenAt = 0; // when run read that record
    this.lastDumpMs = 0;
    this.target = false;
    this.why = null; // why it is snapshotted
    this.alone = false; // snapshotted on the schedule only because it was the only process
    this.released = null; // why such a series stopped once other processes loaded leakwatch
    this.analysis = null;
    this.analysisError = null;
  }

  addSample(record) {
    this.samples += 1;
    const heap = record.usedHeapSize;
    if (heap === null) return;
    if (this.firstLevel.length < LEVEL_SAMPLES) this.firstLevel.push(heap);
    this.recent.push(heap);
    if (this.recent.length > LEVEL_SAMPLES) this.recent.shift();
    this.lastHeap = heap;
    this.window.push(heap);
    if (this.window.length > LOW_WINDOW) this.window.shift();
  }

  /**
   * Where the heap's recent low point is, when its heap after GC swings (see LOW_WINDOW):
   * {threshold, lo, hi}; null when it does not (any moment is as good as another).
   */
  lowPoint() {
    let top = -Infinity;
    let drop = 0;
    for (const heap of this.window) {
      top = Math.max(top, heap);
      drop = Math.max(drop, top - heap);
    }
    const lo = Math.min(...this.window);
    if (this.window.length < 2 || drop < Math.max(SWING_BYTES, lo * SWING_RATIO)) return null;
    const hi = Math.max(...this.window);
    return { threshold: lo + Math.max(NEAR_LOW_BYTES, LOW_FRACTION * (hi - lo)), lo, hi };
  }

  /** Heap after GC at the start and now (the lowest of a few samples: robust to a spike). */
  levels() {
    if (this.firstLevel.length === 0) return null;
    return { first: Math.min(...this.firstLevel), now: Math.min(...this.recent) };
  }

  /** A leak record: a new verdict, or the continuation of one standing. True when new. */
  raise(record) {
    const id = record.id ?? `event-${this.leaks}`;
    if (this.verdicts.has(id)) return false;
    this.verdicts.set(id, { id, kind: String(record.kind), reason: String(record.reason), raisedT: record.t, withdrawnT: null, withdrawnReason: null });
    if (this.verdicts.size > MAX_VERDICTS) {
      const oldest = [...this.verdicts.values()].find((v) => v.withdrawnT !== null) || this.verdicts.values().next().value;
      this.verdicts.delete(oldest.id);
    }
    return true;
  }

  /** A leakResolved record: the verdict it names, withdrawn (null when unknown). */
  withdraw(record) {
    const v = this.verdicts.get(record.id);
    if (!v || v.withdrawnT !== null) return null;
    v.withdrawnT = record.t;
    v.withdrawnReason = String(record.reason);
    return v;
  }

  standing() {
    return [...this.verdicts.values()].filter((v) => v.withdrawnT === null);
  }

  withdrawn() {
    return [...this.verdicts.values()].filter((v) => v.withdrawnT !== null);
  }

  /** Seconds since this process started, of a record's time. */
  at(t) {
    return `${Math.max(0, (t - this.startT) / 1000).toFixed(0)} s`;
  }

  label() {
    const script = this.argv.length ? this.argv.map((a) => (a.length > 40 ? `…${a.slice(-39)}` : a)).join(' ') : '?';
    return `pid ${this.pid} (${script})`;
  }
}

/**
 * Run `command args` under watch. Resolves with what was found:
 * {code, signal, statsFile, processes, snapshots, leaks, analysis, chart, charts,
 *  notLoaded, stoppedAtDuration, killed, interrupted, seconds}.
 */
function runWatched({
  command,
  args = [],
  outDir,
  snapshots = DEFAULT_SNAPSHOTS,
  everyMs = 30000,
  durationMs = 0,
  killAfterMs = DEFAULT_KILL_AFTER_MS,
  pid: chosenPid,
  snapshotOnLeak = true,
  log = (line) => process.stderr.write(`leakwatch: ${line}\n`),
  detector = {},
}) {
  const statsFile = path.join(outDir, 'stats.jsonl');
  const env = {
    ...process.env,
    NODE_OPTIONS: nodeOptionsWithRegister(process.env.NODE_OPTIONS),
    LEAKWATCH_STATS_FILE: statsFile,
    LEAKWATCH_SNAPSHOT_DIR: outDir,
    // The app's own stderr stays the app's: leakwatch reports from here instead.
    LEAKWATCH_QUIET: '1',
    LEAKWATCH_OPTIONS: JSON.stringify({ ...detector, reportLeaks: false }),
  };
  // The app inherits this environment, so it may listen to another signal than SIGUSR2, or
  // to none: it is sent exactly the one it handles (a SIGUSR2 it does not handle kills it).
  const dumpSignal = appSignal(env);
  // Fresh (0700) or owned by this user and closed to others; the stats file opened O_NOFOLLOW.
  secureFs.makePrivateDir(outDir);
  createRecordFile(statsFile);
  const started = Date.now();
  const child = spawn(command, args, { stdio: 'inherit', env });
  const tail = new RecordTail(statsFile);
  const processes = new Map(); // pid -> WatchedProcess, in start order
  const found = { statsFile, chosenPid, chart: null, charts: [], interrupted: false, stoppedAtDuration: false, killed: false, skipped: 0, signalOff: null };
  if (!dumpSignal) {
    found.signalOff = signalOffBy(env);
    if (snapshots > 0) {
      log(
        `the app handles no dump signal (${found.signalOff} in the environment), so run takes no snapshots, only samples and the chart;` +
          ' unset it, or set LEAKWATCH_SIGNAL=SIGUSR2, for this run to take them',
      );
    }
  }
  let stopping = false;
  let analyses = Promise.resolve();
  let killTimer = null;

  const several = () => processes.size > 1;
  const who = (p) => (several() ? ` of ${p.label()}` : '');

  const requestSnapshot = (p, why, note = '') => {
    if (stopping || !dumpSignal || !isAlive(p.pid) || !isDescendant(p.pid, child.pid)) return;
    if (p.requested > p.snapshots.length) {
      // One at a time per process. A request that produced neither a snapshot nor an
      // error (a signal that arrived while the process was busy dumping) is sent again, but
      // only once the process has recorded a GC since the request: a dump blocks its main
      // thread (or the watchdog pauses it), so while one is being written, however long it
      // takes, nothing is piled on it.
      const waited = Date.now() - p.requestedAt;
      // The record that shows the thread ran may be the first GC after a long dump, read a
      // moment before the dump's own 'snapshot' record: that one is given RAN_AFTER_MS to come.
      if (!p.ranSinceRequest || Date.now() - p.ranSeenAt < RAN_AFTER_MS || waited < Math.max(everyMs, 2 * p.lastDumpMs, MIN_RESEND_MS)) return;
      log(`snapshot ${p.requested}${who(p)} not written after ${(waited / 1000).toFixed(0)} s, while the process kept running: asking again`);
      p.requestedAt = Date.now();
      p.ranSinceRequest = false;
      signal(p);
      return;
    }
    if (p.requested >= snapshots) return;
    if (!p.target) {
      p.target = true;
      p.why = why;
    }
    p.requested += 1;
    p.requestedAt = Date.now();
    p.ranSinceRequest = false;
    p.due = null; // a leak event's snapshot is the one that was due
    log(`taking snapshot ${p.requested} of ${snapshots}${who(p)} (${why}${note})`);
    signal(p);
  };

  const signal = (p) => {
    try {
      process.kill(p.pid, dumpSignal);
    } catch (error) {
      log(`cannot signal pid ${p.pid}: ${error.message}`);
    }
  };

  /** Which processes a scheduled snapshot goes to. */
  const scheduled = () => {
    const alive = [...processes.values()].filter((p) => isAlive(p.pid));
    if (chosenPid !== undefined) return alive.filter((p) => p.pid === chosenPid).map((p) => [p, 'schedule']);
    // Which processes leak is the app's own detector's verdict (its leak records), never a
    // rule of run's: a verdict withdrawn (a cache that filled) no longer counts.
    const leaking = (p) => p.standing().length > 0;
    // A process snapshotted only because it was alone (a cluster's primary, or `npm start`,
    // whose app or workers loaded leakwatch after the first snapshot was due on a slow
    // machine) is no longer alone: its series stops unless a leak verdict stands for it, and
    // the snapshots it had stay on disk, said so in the summary.
    if (processes.size > 1) {
      for (const p of alive) {
        if (!p.alone || !p.target || leaking(p) || p.requested > p.snapshots.length) continue;
        p.target = false;
        p.alone = false;
        p.released = `${p.snapshots.length} snapshot${p.snapshots.length === 1 ? '' : 's'} while it was the only process, then stopped: ${processes.size} processes loaded leakwatch and it had no leak verdict`;
        log(`no more snapshots${who(p)}: ${processes.size} processes have loaded leakwatch and it has no leak verdict`);
      }
    }
    const chosen = alive.filter((p) => p.target || leaking(p));
    if (chosen.length) return chosen.map((p) => [p, p.target ? 'schedule' : 'schedule; a leak verdict stands']);
    // One process: snapshots on the schedule whatever its heap does (a steady app gets its
    // "no suspects"). Several: only those with a leak verdict; none yet, none now.
    if (processes.size !== 1 || alive.length !== 1) return [];
    if (!alive[0].target) alive[0].alone = true;
    return [[alive[0], 'schedule']];
  };

  const analyse = (p) => {
    const files = p.snapshots.map((s) => s.file);
    analyses = analyses.then(async () => {
      log(`analysing ${files.length} snapshots${who(p)}…`);
      try {
        p.analysis = await native.analyze(files, {});
        process.stderr.write((several() ? `\nAnalysis of ${p.label()}:\n` : '\n') + formatAnalysis(p.analysis, 10) + '\n');
      } catch (error) {
        p.analysisError = error;
        log(`analysis${who(p)} failed: ${error.message}`);
      }
    });
  };

  const onRecord = (raw) => {
    const record = read(raw);
    const pid = record.pid;
    if (pid === null || pid <= 0) return; // never signal what a garbage line names
    if (record.event === 'start') {
      // Only the app's own processes (a stray line naming another pid is not followed).
      if (!processes.has(pid) && processes.size < MAX_PROCESSES && isDescendant(pid, child.pid)) {
        processes.set(pid, new WatchedProcess(record));
        if (processes.size > 1) log(`${processes.size} processes have loaded leakwatch; newest: ${processes.get(pid).label()}`);
      }
      return;
    }
    const p = processes.get(pid);
    if (!p) return;
    if ((record.event === 'leak' || record.event === 'snapshot') && record.sites !== null && record.sites.length) {
      p.latestSites = { event: record.event, sites: record.sites.slice(0, 10) };
    }
    if (record.event === 'stats') {
      p.addSample(record);
      if (!p.ranSinceRequest && record.t > p.requestedAt + RAN_AFTER_MS) {
        p.ranSinceRequest = true;
        p.ranSeenAt = Date.now();
      }
      if (p.due && record.usedHeapSize !== null) takeDue(p, record.usedHeapSize);
    } else if (record.event === 'leak') {
      p.leaks += 1;
      const fresh = p.raise(record);
      log(`${fresh ? 'leak detected' : `leak #${record.id} continues`}${who(p)} (${record.kind}): ${record.reason}`);
      if (snapshotOnLeak && (chosenPid === undefined || chosenPid === pid)) requestSnapshot(p, 'leak event');
    } else if (record.event === 'leakResolved') {
      const v = p.withdraw(record);
      if (v) log(`leak suspicion #${v.id}${who(p)} (${v.kind}) withdrawn: ${v.withdrawnReason}`);
    } else if (record.event === 'memoryPressure') {
      // The first report, and the newest few (bounded however long the app runs).
      p.pressure.push(record);
      if (p.pressure.length > MAX_PRESSURE_RECORDS) p.pressure.splice(1, 1);
      log(`memory pressure${who(p)}: ${record.reason}`);
    } else if (record.event === 'error') {
      log(`the app's leakwatch${who(p)} reported: ${record.message}`);
      // A failed dump must not block the next scheduled one.
      if (p.requested > p.snapshots.length) p.requested -= 1;
    } else if (record.event === 'snapshot' && p.target && p.snapshots.length < snapshots) {
      p.snapshots.push(record);
      if (record.durationMs !== null) p.lastDumpMs = record.durationMs;
      const bytes = record.bytes !== null ? native.humanSize(record.bytes) : '?';
      const seconds = record.durationMs !== null ? (record.durationMs / 1000).toFixed(1) : '?';
      log(`snapshot ${p.snapshots.length} written${who(p)}: ${record.file} (${bytes} in ${seconds} s)`);
      if (record.durationMs > everyMs) {
        log(`snapshot ${p.snapshots.length}${who(p)} took ${seconds} s, longer than the interval between snapshots (--every ${(everyMs / 1000).toFixed(1)} s): the next one is asked for once it is due and this one is done, not piled up`);
      }
      if (p.snapshots.length === snapshots && snapshots >= 3) analyse(p);
    }
  };

  /**
   * A scheduled snapshot is due. A process whose heap swings (a transient batch built and
   * dropped) is signalled right after a full GC near its low point (see onRecord), waiting
   * at most one more interval (then taken anyway, and said so); others at once.
   */
  const due = (p, why) => {
    if (p.due || stopping || !dumpSignal) return;
    const low = p.requested === p.snapshots.length && p.requested < snapshots ? p.lowPoint() : null;
    if (!low) return requestSnapshot(p, why);
    p.due = { at: Date.now(), why, low };
    log(
      `snapshot ${p.requested + 1} of ${snapshots}${who(p)} is due; its heap after GC swings (${size(low.lo)}–${size(low.hi)}):` +
        ` waiting up to ${seconds(everyMs)} for a full GC near its low point (≤ ${size(low.threshold)})`,
    );
  };
  /** `heap` (after a full GC, or undefined at the deadline): take p's due snapshot now? */
  const takeDue = (p, heap) => {
    const { at, why, low } = p.due;
    if (heap !== undefined) {
      const now = p.lowPoint();
      if (heap > (now ? now.threshold : Infinity)) return;
      p.due = null;
      requestSnapshot(p, why, `; at the heap's low point: ${size(heap)} after a full GC`);
    } else if (Date.now() - at >= everyMs) {
      p.due = null;
      requestSnapshot(p, why, `; no full GC near the heap's low point (≤ ${size(low.threshold)}) in ${seconds(everyMs)}: taken anyway, it may hold transient objects`);
    }
  };

  let polledAt = 0;
  const poll = setInterval(() => {
    const waiting = [...processes.values()].filter((p) => p.due);
    if (waiting.length === 0 && Date.now() - polledAt < POLL_MS) return;
    polledAt = Date.now();
    tail.poll(onRecord);
    for (const p of waiting) if (p.due) takeDue(p, undefined);
  }, DUE_POLL_MS);
  // Snapshots on the schedule: at every `everyMs`, if the previous one is done.
  const schedule = setInterval(() => scheduled().forEach(([p, why]) => (p.requested > p.snapshots.length ? requestSnapshot(p, why) : due(p, why))), everyMs);
  const running = () => child.exitCode === null && child.signalCode === null;

  const stopTimer =
    durationMs > 0
      ? setTimeout(() => {
          stopping = true;
          clearInterval(schedule);
          found.stoppedAtDuration = true;
          log(`stopping the app after ${(durationMs / 1000).toFixed(0)} s (SIGTERM; SIGKILL if it still runs ${(killAfterMs / 1000).toFixed(0)} s later)`);
          child.kill('SIGTERM');
          killTimer = setTimeout(() => {
            if (!running()) return;
            found.killed = true;
            log(`the app ignored SIGTERM for ${(killAfterMs / 1000).toFixed(0)} s: killing it (SIGKILL)`);
            // Its processes that loaded leakwatch too (a child of npm or of a shell), found
            // while they are still the app's.
            const below = [...processes.values()].filter((p) => p.pid !== child.pid && isAlive(p.pid) && isDescendant(p.pid, child.pid));
            child.kill('SIGKILL');
            for (const p of below) process.kill(p.pid, 'SIGKILL');
          }, killAfterMs);
        }, durationMs)
      : null;

  // The app's processes left running after its main process exited, while run stops them.
  let leftovers = [];
  /** A signal to run while it stops the leftovers: it waits no longer for them. */
  const hurry = (signal) => {
    log(`got ${signal} while stopping the app's remaining processes: killing them (SIGKILL)`);
    leftovers.forEach((p) => stillRuns(p) && tryKill(p.pid, 'SIGKILL'));
  };
  const onInterrupt = () => {
    stopping = true;
    if (leftovers.length) return hurry('SIGINT');
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
    stopping = true;
    if (leftovers.length) return hurry(signal);
    log(`got ${signal}: passing it to the app, then reporting what was found so far`);
    if (running()) child.kill(signal);
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  process.on('SIGHUP', onTerminate);

  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      stopTimers();
      unhookSignals();
      reject(leakwatchError('ERR_LEAKWATCH_CANNOT_START', `cannot start '${command}': ${error.message}`, { cause: error }));
    });
    child.on('exit', async (code, signal) => {
      stopTimers();
      stopping = true;
      await stopLeftovers();
      unhookSignals();
      tail.end(onRecord);
      found.skipped = tail.skipped;
      for (const p of processes.values()) if (p.target && p.snapshots.length >= 3 && p.snapshots.length < snapshots) analyse(p);
      await analyses;
      const list = [...processes.values()];
      found.notLoaded = list.length === 0;
      if (!found.notLoaded) drawCharts(list);
      const targets = list.filter((p) => p.target);
      const main = targets.find((p) => p.analysis) || targets[0] || null;
      // report.html, the whole investigation on one page (lib/cli/html-report.js); one log line names it.
      if (!found.notLoaded) found.report = await require('./html-report').writeRunReport({ outDir, main, command: [command, ...args], log });
      resolve({
        ...found,
        processes: list,
        main,
        snapshots: targets.flatMap((p) => p.snapshots),
        // Verdicts standing at the end (withdrawn suspicions are listed apart, not counted).
        leaks: list.reduce((n, p) => n + p.standing().length, 0),
        withdrawn: list.reduce((n, p) => n + p.withdrawn().length, 0),
        analysis: main ? main.analysis : null,
        analysisError: main ? main.analysisError : null,
        code,
        signal,
        pid: child.pid,
        seconds: (Date.now() - started) / 1000,
      });
    });
  });

  /**
   * The app's main process has exited: every other process of it that run has seen (forked
   * workers a primary did not stop) and that still runs gets SIGTERM, then SIGKILL after
   * `killAfterMs`, so none is left behind writing to the stats file.
   */
  async function stopLeftovers() {
    const left = [...processes.values()].filter((p) => p.pid !== child.pid && stillRuns(p));
    if (left.length === 0) return;
    const pids = left.map((p) => p.pid);
    const named = pids.length > 10 ? `${pids.slice(0, 10).join(', ')}, …` : pids.join(', ');
    const grace = `${(killAfterMs / 1000).toFixed(0)} s`;
    log(`the app's main process has exited; ${left.length} of its processes still run (pid ${named}): stopping them (SIGTERM; SIGKILL if still running ${grace} later)`);
    const send = (list, sig) => list.forEach((p) => stillRuns(p) && tryKill(p.pid, sig));
    leftovers = left;
    send(left, 'SIGTERM');
    const stubborn = await waitGone(left, killAfterMs);
    if (stubborn.length === 0) return;
    log(`${stubborn.length} of them ignored SIGTERM for ${grace}: killing ${stubborn.length === 1 ? 'it' : 'them'} (SIGKILL)`);
    send(stubborn, 'SIGKILL');
    const still = await waitGone(stubborn, 5000);
    if (still.length) log(`pid ${still.map((p) => p.pid).join(', ')} still ${still.length === 1 ? 'runs' : 'run'} after SIGKILL`);
  }

  /** memory.svg: the main process; with several, memory-<pid>.svg for each that sampled. */
  function drawCharts(list) {
    try {
      const scan = scanProcesses(statsFile);
      const targets = list.filter((p) => p.target);
      const main = (targets.find((p) => p.analysis) || targets[0] || list.reduce((a, b) => (b.samples > a.samples ? b : a))).pid;
      found.chart = plot(statsFile, path.join(outDir, 'memory.svg'), { scan, pid: scan.processes.has(main) ? main : undefined }).output;
      if (list.length > 1) {
        for (const p of list.filter((x) => x.samples > 0).slice(0, MAX_CHARTS)) {
          found.charts.push({ pid: p.pid, file: plot(statsFile, path.join(outDir, `memory-${p.pid}.svg`), { scan, pid: p.pid }).output });
        }
      }
    } catch (error) {
      log(`cannot draw the chart: ${error.message}`);
    }
  }

  function stopTimers() {
    clearInterval(poll);
    clearInterval(schedule);
    if (stopTimer) clearTimeout(stopTimer);
    if (killTimer) clearTimeout(killTimer);
  }

  function unhookSignals() {
    process.removeListener('SIGINT', onInterrupt);
    process.removeListener('SIGTERM', onTerminate);
    process.removeListener('SIGHUP', onTerminate);
  }
}

/** Send `sig` to `pid`; a process that is gone meanwhile is not an error. */
function tryKill(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {}
}

/** Wait (polling) until none of `list` still runs, or `ms` passed; returns those that still run. */
async function waitGone(list, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = list.filter(stillRuns);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const size = (bytes) => native.humanSize(bytes);
const seconds = (ms) => `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;

// The summary printed when the app has exited: a list of sections, each (result) -> lines.
function outcomeSection(result) {
  const how = result.signal ? `was stopped by ${result.signal}` : `exited with code ${result.code}`;
  const lines = [`the app ${how} after ${result.seconds.toFixed(1)} s`];
  if (result.killed) lines.push('  it ignored SIGTERM at --duration and was killed (SIGKILL) after the grace period (--kill-after)');
  return lines;
}

/**
 * After an out-of-memory death (V8 aborts: SIGABRT; the kernel kills at the container's
 * limit: SIGKILL that run did not send), or whenever the guard reported pressure: what
 * leakwatch wrote before, and the allocation sites it named.
 */
function pressureSection(result) {
  if (result.notLoaded) return [];
  const main = result.processes.find((p) => p.pid === result.pid) || result.processes.find((p) => p.pressure.length) || null;
  const last = main && main.pressure.length ? main.pressure[main.pressure.length - 1] : null;
  const aborted = result.signal === 'SIGABRT' || result.code === 134;
  const killed = !result.stoppedAtDuration && !result.interrupted && (result.signal === 'SIGKILL' || result.code === 137);
  if (!last && !aborted && !killed) return [];
  const lines = [];
  const after = `after ${result.seconds.toFixed(0)} s`;
  if (aborted && (!last || last.resource === 'heap')) {
    lines.push(`  the app died of heap out-of-memory${last ? ` near its ${size(last.limit)} heap limit` : ' (V8 aborted; see its FATAL ERROR above)'} ${after}`);
  } else if (killed) {
    lines.push(`  the app was killed (SIGKILL) ${after}${last && last.resource === 'memory' ? `, at its container's memory limit (${size(last.limit)})` : ': by the kernel at its memory limit, or by someone else'}`);
  }
  if (!last) {
    lines.push("  leakwatch reported no memory pressure before: it writes its evidence from 65 % of the heap limit (85 % of a container's memory limit) while it observes GCs (leak detection or sampling on)");
    return lines;
  }
  const first = main.pressure[0];
  const files = [first.files && first.files.report, first.files && first.files.profile, first.snapshot].filter(Boolean);
  lines.push(`  at ${Math.round(first.ratio * 100)} % of its ${first.resource === 'heap' ? 'heap' : "container's memory"} limit leakwatch wrote ${files.length ? files.join(', ') : 'nothing (see its errors above)'}`);
  if (first.snapshotSkipped && first.snapshotSkipped !== 'snapshotOnPressure is off') lines.push(`  no heap snapshot: ${first.snapshotSkipped}`);
  const sites = last.sites ?? [];
  const rate = last.rate > 0 ? ` (the ${last.resource} grew ${size(last.rate)}/s)` : '';
  if (sites.length) {
    lines.push(`  where it was allocated${rate}:`);
    for (const site of sites.slice(0, 3)) lines.push(`    ${describeSite(site)} held ${size(site.liveBytes)}`);
  } else {
    lines.push(`  no allocation site was named yet${rate}: read the profile with leakwatch sites`);
  }
  return lines;
}

function notLoadedSection(result) {
  if (!result.notLoaded) return [];
  return [
    `  the command did not load leakwatch: no process it started wrote to ${result.statsFile}, so there are no samples, snapshots or chart.` +
      ' leakwatch is preloaded through NODE_OPTIONS (--require leakwatch/register), which only Node.js reads:' +
      ' a command that is not Node (python3, a shell builtin, a compiled binary), or a Node whose NODE_OPTIONS was cleared' +
      ' or overridden on the way (env -u NODE_OPTIONS, env -i, sudo, a script that sets its own NODE_OPTIONS) runs without it.',
  ];
}

function verdict(p) {
  const l = p.levels();
  const heap = l ? `heap after GC ${size(l.first)} → ${size(l.now)}` : 'no heap figures';
  const standing = p.standing().length;
  const withdrawn = p.withdrawn().length;
  const leaks = p.leaks ? `${p.leaks} leak event${p.leaks === 1 ? '' : 's'}` : 'no leak event';
  const suspicions = withdrawn ? `, ${withdrawn} suspicion${withdrawn === 1 ? '' : 's'} withdrawn` : '';
  const judged = standing > 0 ? 'leaking' : p.samples > LEVEL_SAMPLES ? 'no leak verdict' : 'too few samples to tell';
  return `${p.samples} full-GC samples, ${heap}, ${leaks}${suspicions}: ${judged}`;
}

function processesSection(result) {
  if (result.notLoaded) return [];
  const list = result.processes;
  const total = list.reduce((n, p) => n + p.samples, 0);
  const lines = [`  full-GC samples: ${total} in ${result.statsFile}${result.skipped ? ` (${result.skipped} unreadable lines skipped)` : ''}`];
  if (list.length > 1) {
    const targets = list.filter((p) => p.target);
    const which = result.chosenPid !== undefined ? `pid ${result.chosenPid} (--pid)` : targets.length ? `${targets.map((p) => `pid ${p.pid}`).join(', ')}` : 'none';
    lines.push(`  processes that loaded leakwatch: ${list.length}; snapshotted and analysed: ${which}`);
    for (const p of list) {
      const snap = p.target ? `${p.snapshots.length} snapshot${p.snapshots.length === 1 ? '' : 's'} (${p.why})` : result.chosenPid !== undefined ? 'not snapshotted (not --pid)' : p.released ? `not analysed: ${p.released}` : 'not snapshotted';
      const parent = list.some((q) => q.pid === p.ppid) ? ` [child of ${p.ppid}]` : '';
      lines.push(`    ${p.label()}${parent}: ${verdict(p)}; ${snap}`);
    }
  } else if (list.length === 1) {
    const [p] = list;
    const standing = p.standing();
    lines.push(standing.length ? `  leaks standing: ${standing.length} (first: ${standing[0].reason})` : `  leaks standing: none${p.leaks ? '' : ' (no leak events)'}`);
  }
  // Suspicions that resolved themselves, apart from standing leaks: they do not count.
  for (const p of list) {
    for (const v of p.withdrawn()) {
      lines.push(`  withdrawn suspicion${list.length > 1 ? ` (pid ${p.pid})` : ''}: ${v.kind}, suspected at ${p.at(v.raisedT)}, withdrawn at ${p.at(v.withdrawnT)}: ${v.withdrawnReason}`);
    }
  }
  if (result.chosenPid !== undefined && !list.some((p) => p.pid === result.chosenPid)) {
    lines.push(`  pid ${result.chosenPid} (--pid) never loaded leakwatch: nothing was snapshotted`);
  }
  return lines;
}

function snapshotsSection(result) {
  if (result.notLoaded) return [];
  return [`  snapshots: ${result.snapshots.length ? result.snapshots.map((s) => s.file).join(', ') : 'none'}`];
}

function analysisSection(result) {
  if (result.notLoaded) return [];
  const lines = [];
  const targets = result.processes.filter((p) => p.target);
  const several = result.processes.length > 1;
  for (const p of targets) {
    const of = several ? ` (pid ${p.pid})` : '';
    if (p.analysis) {
      const top = p.analysis.suspects[0];
      lines.push(`  suspects${of}: ${p.analysis.suspects.length ? p.analysis.suspects.map((s) => `${s.name} (${s.count})`).join(', ') : 'none'}`);
      if (top && top.retainerPath.length) {
        const held = [...top.retainerPath].reverse().find((step) => step.edgeType === 'context' || step.edgeType === 'property');
        if (held) lines.push(`  ${top.name} is held by '${held.edge}'${of}`);
      }
    } else if (p.snapshots.length < 3) {
      lines.push(`  analysis${of}: needs 3 snapshots, got ${p.snapshots.length} (use --every to take them sooner)`);
    }
  }
  if (targets.length === 0) {
    if (result.signalOff !== null) lines.push(`  analysis: no snapshot was taken: the app handles no dump signal (${result.signalOff})`);
    else if (several && result.chosenPid === undefined) lines.push("  analysis: no process had a leak verdict standing, so none was snapshotted (--pid P snapshots one)");
    else lines.push('  analysis: no snapshot was taken (the run ended before the first --every)');
  }
  return lines;
}

/** What allocation sampling names as leak sites, for each process that was analysed. */
function sitesSection(result) {
  if (result.notLoaded) return [];
  const several = result.processes.length > 1;
  const shown = result.processes.filter((p) => p.target || p.latestSites);
  return shown.flatMap((p) => runSiteLines({ latest: p.latestSites, analysis: p.analysis, of: several ? ` (pid ${p.pid})` : '' }));
}

function chartSection(result) {
  if (!result.chart) return [];
  return [`  chart: ${result.chart}${result.charts.length ? `; per process: ${result.charts.map((c) => c.file).join(', ')}` : ''}`];
}

/** Sections of the summary, in order; a new one is added here. */
const SUMMARY_SECTIONS = [outcomeSection, pressureSection, notLoadedSection, processesSection, snapshotsSection, analysisSection, sitesSection, chartSection];

function formatSummary(result) {
  return SUMMARY_SECTIONS.flatMap((section) => section(result)).join('\n');
}

/**
 * Exit like the app did: same code, or the same signal. When leakwatch itself stopped the
 * app at --duration, that is success (0) unless the app exited with an error code of its own.
 */
function exitLikeApp(result) {
  const stoppedByUs = result.stoppedAtDuration && !result.interrupted;
  if (stoppedByUs && (result.signal === 'SIGTERM' || result.signal === 'SIGKILL' || result.code === 143 || result.code === 137 || result.code === 0)) {
    process.exitCode = 0;
    return;
  }
  if (result.signal && !result.interrupted && result.signal !== 'SIGTERM') {
    process.kill(process.pid, result.signal);
    return;
  }
  if (result.signal) process.exitCode = 128 + (os.constants.signals[result.signal] || 0);
  else process.exitCode = result.code ?? 1;
}

module.exports = { runWatched, formatSummary, exitLikeApp, SUMMARY_SECTIONS, DEFAULT_KILL_AFTER_MS, DEFAULT_SNAPSHOTS };
