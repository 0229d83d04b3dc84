'use strict';
const leakwatch = require('../../shared/analysis');
const { table } = require('../table');
const { positiveInt } = require('./options');

module.exports = {
  help: `Usage: leakwatch diff <before.heapsnapshot> <after.heapsnapshot> [--top N] [--json]

Which classes grew between two snapshots of the same process, by object id:
'+' objects only in the second heap (allocated), '-' only in the first (freed).
Either file may be '-' (stdin) or a pipe (e.g. <(zcat before.gz)): read as a stream.

Options:
  --top N       show the N classes that grew most (default 25; 0 = all)
  --json        print memwatch's HeapDiff shape:
                {before:{nodes,size_bytes,size}, after:{…}, change:{size_bytes,size,
                 freed_nodes,allocated_nodes,details:[{what,size_bytes,size,'+','-'}]}}
                (all classes unless --top is given)`,
  options: { top: { type: 'string' }, json: { type: 'boolean' } },
  check({ positionals, values }) {
    if (positionals.length !== 2) return 'expected two snapshot files: <before> <after>';
    if (values.top !== undefined && positiveInt(values.top) === undefined) return `--top expects a whole number, got '${values.top}'`;
  },
  async run({ positionals: [before, after], values }) {
    const top = values.top === undefined ? 25 : positiveInt(values.top);
    const diff = await leakwatch.diffSnapshots(before, after);
    if (values.json) {
      // --top applies to the details when given; without it, every class is listed.
      const document = values.top === undefined || top === 0 ? diff : { ...diff, change: { ...diff.change, details: diff.change.details.slice(0, top) } };
      process.stdout.write(JSON.stringify(document, null, 2) + '\n');
      return 0;
    }
    const details = top === 0 ? diff.change.details : diff.change.details.slice(0, top);
    const rows = details.map((d) => [d.what, `+${d['+']}`, `-${d['-']}`, d.size]);
    process.stdout.write(
      `before: ${diff.before.nodes} nodes, ${diff.before.size}\n` +
        `after:  ${diff.after.nodes} nodes, ${diff.after.size}\n` +
        `change: ${diff.change.size} (+${diff.change.allocated_nodes} allocated, -${diff.change.freed_nodes} freed)\n\n` +
        table(['Class', 'New', 'Freed', 'Size change'], rows) +
        (details.length < diff.change.details.length ? `\n… ${diff.change.details.length - details.length} more classes (--top 0 shows all)` : '') +
        '\n',
    );
    return 0;
  },
};
