'use strict';
// `leakwatch report`: report.html from a run's output directory, or from files.
const fs = require('node:fs');
const path = require('node:path');
const native = require('../../shared/native');
const { writeReport } = require('../html-report');
const { inputsOfDir } = require('../report-data');
const { positiveInt } = require('./options');

function isDir(file) {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

module.exports = {
  help: `Usage: leakwatch report <dir> [-o report.html] [--pid P] [--redact]
       leakwatch report <files…> [-o report.html] [--pid P] [--redact]

One self-contained HTML page with the whole investigation of one process: the verdict in
one sentence (standing leaks, withdrawn suspicions, or healthy) with the culprit, what
holds it and where it was allocated; the memory timeline (heap after each full GC,
external, arrayBuffers, RSS, the limits, snapshot and verdict marks; hover, zoom); the
suspects of the three-snapshot analysis with their retainer paths; the leak sites as a
table and a flame graph; the environment and the commands that reproduce each view.
The data is embedded as JSON (<script id="leakwatch-data" type="application/json">).
The page loads nothing from the network and runs no text taken from the heap.

'leakwatch run' and 'leakwatch demo' write DIR/report.html themselves. With a directory
(a 'leakwatch run' output), its stats.jsonl, snapshots and .heapprofile files are read
and the page is written to <dir>/report.html. With files, each is taken by its name:
*.heapsnapshot (three or more, oldest first, are analysed), *.heapprofile (the newest
gives the sites, the oldest their growth), anything else is the stats file (one); the
page goes to ./report.html.

Options:
  -o, --output FILE   where to write the page (0600; replaced whole, never through a symlink)
  --pid P             report on this process of the stats file (default: the one
                      snapshotted most, else the one with the most samples)
  --redact            hide string values taken from the heap (they are shortened to 40
                      characters otherwise); class and property names stay`,
  options: {
    output: { type: 'string', short: 'o' },
    pid: { type: 'string' },
    redact: { type: 'boolean' },
  },
  check({ positionals, values }) {
    if (positionals.length === 0) return 'expected a run directory, or snapshot, .heapprofile and stats files';
    if (values.pid !== undefined && !(positiveInt(values.pid) > 0)) return '--pid expects a process id';
    if (positionals.length > 1 && positionals.some(isDir)) return `expected one directory, or files (not both): ${positionals.find(isDir)} is a directory`;
    if (positionals.length > 1 || !isDir(positionals[0])) {
      const stats = positionals.filter((f) => !f.endsWith('.heapsnapshot') && !f.endsWith('.heapprofile'));
      if (stats.length > 1) return `expected at most one stats file, got ${stats.join(', ')} (snapshots end in .heapsnapshot, profiles in .heapprofile)`;
    }
  },
  async run({ positionals, values }) {
    let inputs;
    let output;
    if (positionals.length === 1 && isDir(positionals[0])) {
      inputs = inputsOfDir(positionals[0]);
      output = values.output || path.join(positionals[0], 'report.html');
    } else {
      inputs = {
        dir: null,
        statsFile: positionals.find((f) => !f.endsWith('.heapsnapshot') && !f.endsWith('.heapprofile')) || null,
        snapshots: positionals.filter((f) => f.endsWith('.heapsnapshot')),
        profiles: positionals.filter((f) => f.endsWith('.heapprofile')),
        fromDir: false,
      };
      output = values.output || 'report.html';
    }
    const written = await writeReport(output, inputs, {
      pid: values.pid === undefined ? undefined : positiveInt(values.pid),
      redact: Boolean(values.redact),
      warn: (line) => process.stderr.write(`leakwatch: report: ${line}\n`),
    });
    process.stdout.write(`wrote ${written.file} (${native.humanSize(written.bytes)}): ${written.data.verdict.sentence}\n`);
    return 0;
  },
};
