'use strict';
const leakwatch = require('../../shared/analysis');
const { table } = require('../table');
const { positiveInt } = require('./options');

module.exports = {
  help: `Usage: leakwatch summary <file.heapsnapshot> [--top N] [--retained] [--json]

Per-class count and self size of one heap snapshot, grouped as in Chrome DevTools'
Summary view (objects by constructor; engine internals as (string), (array), …).
The file may be '-' (stdin) or a pipe (e.g. <(zcat snap.gz)): it is read as a stream.

Options:
  --top N       show the N largest classes (default 25; 0 = all)
  --retained    also compute retained sizes (builds the full graph and dominator tree;
                needs a regular file, not a pipe)
  --json        print {file, nodes, edges, totalSize, classes:[{name, count, selfSize}]}
                (all classes unless --top is given)`,
  options: { top: { type: 'string' }, retained: { type: 'boolean' }, json: { type: 'boolean' } },
  check({ positionals, values }) {
    if (positionals.length !== 1) return 'expected exactly one snapshot file';
    if (values.top !== undefined && positiveInt(values.top) === undefined) return `--top expects a whole number, got '${values.top}'`;
  },
  async run({ positionals: [file], values }) {
    const top = values.top === undefined ? 25 : positiveInt(values.top);
    const summary = await leakwatch.summarize(file, { retained: values.retained, progress: require('../progress').progressReporter(file) });
    if (values.json) {
      // --top applies to the JSON too when given; without it, every class is listed.
      const document = values.top === undefined || top === 0 ? summary : { ...summary, classes: summary.classes.slice(0, top) };
      process.stdout.write(JSON.stringify(document, null, 2) + '\n');
      return 0;
    }
    const shown = top === 0 ? summary.classes : summary.classes.slice(0, top);
    const headers = ['Class', 'Count', 'Self size', ...(values.retained ? ['Retained size'] : [])];
    const rows = shown.map((c) => [
      c.name,
      c.count,
      leakwatch.humanSize(c.selfSize),
      ...(values.retained ? [leakwatch.humanSize(c.retainedSize ?? 0)] : []),
    ]);
    process.stdout.write(
      `${file}: ${summary.nodes} nodes, ${summary.edges} edges, ${leakwatch.humanSize(summary.totalSize)} in ${summary.classes.length} classes\n\n` +
        table(headers, rows) +
        (shown.length < summary.classes.length ? `\n… ${summary.classes.length - shown.length} more classes (--top 0 shows all)` : '') +
        '\n',
    );
    return 0;
  },
};
