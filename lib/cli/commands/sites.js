'use strict';
// `leakwatch sites`: allocation sites from saved sampling heap profiles (.heapprofile).
const native = require('../../shared/native');
const { positiveInt } = require('./options');
const { formatSites } = require('../../shared/sites-report');

module.exports = {
  help: `Usage: leakwatch sites <file.heapprofile> [--top N] [--depth N] [--json]
       leakwatch sites <before.heapprofile> <after.heapprofile> [--top N] [--depth N] [--json]

Allocation sites from V8's sampling heap profile (the .heapprofile files leakwatch writes
next to each snapshot when allocation sampling is on, or that DevTools' Memory panel
saves). With one file: the allocation stacks holding the most live bytes. With two
files of one process: the stacks whose live bytes grew from the first to the second.
Sizes are estimates from samples (V8 scales each sample to the bytes it stands for).
Line:column locate the function's definition, not the allocating statement; functions
V8 inlined are reported as their caller.

Options:
  --top N     show the N largest sites (default 10; 0 = all)
  --depth N   frames per site: the allocating function and its callers (default 8)
  --json      print {totalBytes, samples, sites:[{functionName, location, liveBytes,
              growthBytes, windowBytes, samples, stack, folded}]}`,
  options: { top: { type: 'string' }, depth: { type: 'string' }, json: { type: 'boolean' } },
  check({ positionals, values }) {
    if (positionals.length < 1 || positionals.length > 2) return 'expected one or two .heapprofile files';
    if (values.top !== undefined && positiveInt(values.top) === undefined) return `--top expects a whole number, got '${values.top}'`;
    if (values.depth !== undefined && !(positiveInt(values.depth) >= 1)) return `--depth expects a whole number of frames (1 or more), got '${values.depth}'`;
  },
  run({ positionals, values }) {
    const top = values.top === undefined ? 10 : positiveInt(values.top);
    const depth = values.depth === undefined ? 8 : positiveInt(values.depth);
    // Read natively with the file checks of every command (regular files only: not
    // /dev/zero, a FIFO, a directory; of a bounded size); errors carry their stable code
    // (ERR_LEAKWATCH_NOT_FOUND, …_NOT_A_FILE, …_PROFILE_TRUNCATED, …_NOT_A_PROFILE, …).
    const report = native.profileSites(positionals, depth, top);
    if (values.json) {
      process.stdout.write(JSON.stringify({ files: positionals, ...report }, null, 2) + '\n');
      return 0;
    }
    const two = positionals.length === 2;
    const heading = two
      ? `${positionals[1]} vs ${positionals[0]}: ${report.sites.length ? 'allocation sites that grew' : 'no allocation site grew'}`
      : `${positionals[0]}: ${native.humanSize(report.totalBytes)} estimated live in ${report.samples} samples; largest allocation sites`;
    process.stdout.write(`${heading}\n\n${formatSites(report.sites, { growth: two })}\n`);
    return 0;
  },
};
