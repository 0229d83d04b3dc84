'use strict';
const leakwatch = require('../../shared/analysis');
const { positiveInt } = require('./options');
const { formatAnalysis } = require('../report');

module.exports = {
  help: `Usage: leakwatch analyze <s1> <s2> <s3> [more…] [--top N] [--json] [--fail-on-leak]

The three-snapshot technique: snapshots of one process, in the order they were taken.
Objects of the last snapshot that were allocated between the first and the second
(DevTools' "Objects allocated between S1 and S2") and are still alive are grouped by
class. Classes that also grew at every step and hold enough memory are leak suspects,
user classes first, then engine internals ((string), (array), …), by retained size,
each with the retainer path of one object back to a GC root.
With four or more snapshots, a class whose survivors (objects allocated between S1
and S2) shrink materially after S3 is not a suspect: a cache evicting its oldest
entries or a store expiring sessions loses them, a leak keeps them. The survivor
counts per snapshot are shown. A suspect is also large next to the heap: at least
100 objects, or 1 % of the last heap, or 25 % of the heap's growth since S1.
Snapshots in which V8 renumbered the objects (a debugger detached in between), of
different processes, or with a copied id sentinel are refused (exit 1). Retainer
paths longer than 20 steps show their first and last 10.

Options:
  --top N            show at most N groups (default 10; 0 = all)
  --min-count N      a suspect has at least N surviving objects (default 20)
  --min-retained B   …and retains at least B bytes (default 8192; 8× that for
                     engine internals, which churn in any live process)
  --json             print {snapshots, idRange, suspects:[{name, count, selfSize,
                     retainedSize, counts, survivors, survivorsShrank,
                     retainerPath:[{edge, node}], retainerPathElided, …}],
                     others:[…]}
  --fail-on-leak     exit with status 3 when a user-class suspect is found (for CI)`,
  options: {
    top: { type: 'string' },
    'min-count': { type: 'string' },
    'min-retained': { type: 'string' },
    json: { type: 'boolean' },
    'fail-on-leak': { type: 'boolean' },
  },
  check({ positionals, values }) {
    if (positionals.length < 3) return 'expected at least three snapshot files, oldest first';
    for (const key of ['top', 'min-count', 'min-retained']) {
      if (values[key] !== undefined && positiveInt(values[key]) === undefined) return `--${key} expects a whole number, got '${values[key]}'`;
    }
  },
  async run({ positionals, values }) {
    const top = values.top === undefined ? 10 : positiveInt(values.top);
    const options = {};
    if (values['min-count'] !== undefined) options.minCount = positiveInt(values['min-count']);
    if (values['min-retained'] !== undefined) options.minRetained = positiveInt(values['min-retained']);
    const analysis = await leakwatch.analyze(positionals, options);
    const leaked = analysis.suspects.some((s) => s.userClass);
    if (values.json) process.stdout.write(JSON.stringify(analysis, null, 2) + '\n');
    else process.stdout.write(formatAnalysis(analysis, top));
    return values['fail-on-leak'] && leaked ? 3 : 0;
  },
};
