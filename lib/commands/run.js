'use strict';
const path = require('node:path');
const { runWatched, formatSummary, exitLikeApp, DEFAULT_SNAPSHOTS } = require('../run');
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
with the three-snapshot technique once it has them all, and charts memory over time.
The app's output, exit code and signals pass through; leakwatch reports on stderr.
Ctrl-C stops the app and still reports what was found so far.

Options:
  --snapshots N      how many snapshots to take (default ${DEFAULT_SNAPSHOTS}; 3 is the least the
                     analysis needs; the 4th shows whether what survived from the
                     first interval stays (a leak) or shrinks (a cache evicting, a
                     store expiring entries), so a healthy cache is not blamed)
  --every D          time between scheduled snapshots (default 30s; e.g. 10s, 2m)
  --duration D       stop the app (SIGTERM) after D (default: run until it exits)
  --no-leak-snapshot do not take a snapshot when a leak is detected
  --out DIR          where stats.jsonl, snapshots and memory.svg go
                     (default ./leakwatch-<date>-<time>)
  --warmup D         leak detector warm-up (default 5s)`,
  options: {
    snapshots: { type: 'string' },
    every: { type: 'string' },
    duration: { type: 'string' },
    'no-leak-snapshot': { type: 'boolean' },
    out: { type: 'string' },
    warmup: { type: 'string' },
  },
  check({ positionals, values }) {
    if (positionals.length === 0) return 'expected a command to run, after --';
    if (values.snapshots !== undefined && !(positiveInt(values.snapshots) >= 0)) return '--snapshots expects a whole number';
    for (const key of ['every', 'duration', 'warmup']) {
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
      snapshotOnLeak: !values['no-leak-snapshot'],
      detector: values.warmup === undefined ? {} : { warmupMs: parseDuration(values.warmup) },
    });
    process.stderr.write(`leakwatch: ${formatSummary(result)}\n`);
    exitLikeApp(result);
    return process.exitCode;
  },
};
