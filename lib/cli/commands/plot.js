'use strict';
const { plot } = require('../chart');
const { positiveInt } = require('./options');

module.exports = {
  help: `Usage: leakwatch plot <stats.jsonl> -o <chart.svg|chart.png> [--title T] [--pid P]

Chart heap used after each full GC over time, with external memory, the detector's
baseline, 'leak' events (red) and snapshots (grey). The input is the JSON-lines file
that 'leakwatch run' writes (or LEAKWATCH_STATS_FILE / the statsFile option); its
rotated part <file>.1 is read first when present. Files of any size are streamed: a
long run is drawn with the lowest and highest sample of each pixel column, and every
leak and snapshot mark is kept.

Options:
  -o, --output FILE   where to write the chart; .png for PNG, otherwise SVG (required)
  --title T           chart title
  --pid P             chart this process (default: the one with the most samples)
  --width W, --height H   size in pixels (default 1000x560)`,
  options: {
    output: { type: 'string', short: 'o' },
    title: { type: 'string' },
    pid: { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
  },
  check({ positionals, values }) {
    if (positionals.length !== 1) return 'expected one stats file (JSON lines)';
    if (!values.output) return 'missing -o <chart.svg>';
    for (const key of ['pid', 'width', 'height']) {
      if (values[key] !== undefined && positiveInt(values[key]) === undefined) return `--${key} expects a whole number`;
    }
  },
  run({ positionals: [file], values }) {
    const result = plot(file, values.output, {
      title: values.title,
      pid: values.pid === undefined ? undefined : positiveInt(values.pid),
      width: values.width === undefined ? undefined : positiveInt(values.width),
      height: values.height === undefined ? undefined : positiveInt(values.height),
    });
    process.stdout.write(
      `wrote ${result.output}: ${result.points} full-GC samples, ${result.leaks} leak events, ${result.snapshots} snapshots` +
        (result.drawn < result.points ? ` (drawn as ${result.drawn} points)` : '') +
        (result.skipped ? ` (${result.skipped} unreadable lines skipped)` : '') +
        '\n',
    );
    return 0;
  },
};
