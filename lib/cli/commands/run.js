'use strict';
const path = require('node:path');
const { runWatched, formatSummary, exitLikeApp, DEFAULT_KILL_AFTER_MS, DEFAULT_SNAPSHOTS } = require('../run');
const { parseDuration } = require('./duration');
const { positiveInt } = require('./options');

function stamp() {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

module.exports = {
  help: `Usage: leakwatch run [options] -- <command> [args…]

Run an app with leakwatch preloaded (NODE_OPTIONS=--require leakwatch/register, so
'node app.js', 'npm start' and the like all work). leakwatch records every 'stats'
sample, takes heap snapshots on a schedule and when a leak is detected, analyses them
with the three-snapshot technique once it has them all, charts memory over time, and
writes report.html: the whole investigation on one page ('leakwatch report --help').
The app's output, exit code and signals pass through; leakwatch reports on stderr.
Ctrl-C stops the app and still reports what was found so far.

Every process that loads leakwatch (a cluster's primary and workers, npm and the app it
starts) is listed with its own samples and verdict. Snapshots go to each process for
which its leakwatch has a leak verdict standing (a single process: on the schedule
whatever it does), or to --pid.
If the command never loads leakwatch (not Node, or NODE_OPTIONS cleared), run says so.

Options:
  --snapshots N      how many snapshots to take (default ${DEFAULT_SNAPSHOTS}; 3 is the least the
                     analysis needs; the 4th shows whether what survived from the
                     first interval stays (a leak) or shrinks (a cache evicting, a
                     store expiring entries), so a healthy cache is not blamed)
  --every D          time between scheduled snapshots (default 30s; e.g. 10s, 2m); an
                     app whose heap swings (batches built and dropped) is snapshotted
                     right after a full GC near its low point, waiting up to one more D
  --duration D       stop the app (SIGTERM) after D (default: run until it exits);
                     run then exits 0 if the app stopped as asked
  --kill-after D     SIGKILL the app if it still runs D after that SIGTERM (default 10s);
                     also the grace given to the app's other processes still running
                     when its main process has exited (they get SIGTERM, then SIGKILL)
  --pid P            snapshot and analyse only process P (one of the app's processes)
  --no-leak-snapshot do not take a snapshot when a leak is detected
  --out DIR          where stats.jsonl, snapshots, memory.svg and report.html go
                     (default ./leakwatch-<date>-<time>); created 0700, or, if it
                     exists, used only when you own it and others cannot write to it
  --warmup D         leak detector warm-up (default 5s)`,
  options: {
    snapshots: { type: 'string' },
    every: { type: 'string' },
    duration: { type: 'string' },
    'kill-after': { type: 'string' },
    pid: { type: 'string' },
    'no-leak-snapshot': { type: 'boolean' },
    out: { type: 'string' },
    warmup: { type: 'string' },
  },
  check({ positionals, values }) {
    if (positionals.length === 0) return 'expected a command to run, after --';
    if (values.snapshots !== undefined && !(positiveInt(values.snapshots) >= 0)) return '--snapshots expects a whole number';
    if (values.pid !== undefined && !(positiveInt(values.pid) > 0)) return '--pid expects a process id';
    for (const key of ['every', 'duration', 'warmup', 'kill-after']) {
      if (values[key] !== undefined && parseDuration(values[key]) === undefined) return `--${key} expects a duration like 30s, 2m or 500ms`;
    }
  },
  async run({ positionals: [command, ...args], values }) {
    const result = await runWatched({
      command,
      args,
      outDir: path.resolve(values.out || `leakwatch-${stamp()}`),
      snapshots: values.snapshots === undefined ? DEFAULT_SNAPSHOTS : positiveInt(values.snapshots),
      everyMs: values.every === undefined ? 30000 : parseDuration(values.every),
      durationMs: values.duration === undefined ? 0 : parseDuration(values.duration),
      killAfterMs: values['kill-after'] === undefined ? DEFAULT_KILL_AFTER_MS : parseDuration(values['kill-after']),
      pid: values.pid === undefined ? undefined : positiveInt(values.pid),
      snapshotOnLeak: !values['no-leak-snapshot'],
      detector: values.warmup === undefined ? {} : { warmupMs: parseDuration(values.warmup) },
    });
    try {
      process.stderr.write(`leakwatch: ${formatSummary(result)}\n`);
    } catch (error) {
      // Whatever the stats file held, the app's exit code still passes through.
      process.stderr.write(`leakwatch: cannot summarise the run: ${error.message}\n`);
    }
    exitLikeApp(result);
    return process.exitCode;
  },
};
