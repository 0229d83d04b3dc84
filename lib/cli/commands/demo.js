'use strict';
const path = require('node:path');
const { runWatched, formatSummary } = require('../run');
const { makeTempDir } = require('../../shared/secure-fs');
const { describeSite } = require('../../shared/sites-report');

const APP = path.join(__dirname, '..', '..', '..', 'examples', 'leaky-app.js');

module.exports = {
  help: `Usage: leakwatch demo [--out DIR]

Runs a bundled app that leaks like the one in "Debugging memory leaks in Node"
(SimpleClass objects kept in a 'leakyData' array) under 'leakwatch run' for about
20 seconds, then shows the leak event, the snapshots, the suspects with their retainer
path, and the chart; report.html in the output directory shows it all on one page.
Equivalent to:
  leakwatch run --snapshots 3 --every 4s --duration 20s -- node examples/leaky-app.js`,
  options: { out: { type: 'string' } },
  check({ positionals }) {
    if (positionals.length > 0) return `unexpected argument '${positionals[0]}' (the demo takes no arguments; use 'leakwatch run' to watch your own app)`;
  },
  async run({ values }) {
    // A fresh private directory nobody can predict (mkdtemp), or the user's own --out.
    const outDir = values.out ? path.resolve(values.out) : makeTempDir('leakwatch-demo-');
    process.stderr.write(`leakwatch: demo — watching ${path.relative(process.cwd(), APP) || APP} for 20 s; output in ${outDir}\n`);
    const result = await runWatched({ command: process.execPath, args: [APP], outDir, snapshots: 3, everyMs: 4000, durationMs: 20000 });
    process.stderr.write(`leakwatch: ${formatSummary(result)}\n`);
    const found = result.analysis && result.analysis.suspects.some((s) => s.name === 'SimpleClass');
    process.stderr.write(found ? "leakwatch: demo: found the culprit: SimpleClass objects kept in 'leakyData'.\n" : 'leakwatch: demo: the culprit was not identified (see above).\n');
    const latest = result.main && result.main.latestSites;
    const site = latest && latest.sites.find((s) => s.growing);
    if (site) process.stderr.write(`leakwatch: demo: allocated in ${describeSite(site)}.\n`);
    return found ? 0 : 1;
  },
};
