'use strict';
// `leakwatch plot`: the JSON-lines record of a run -> a chart (drawn in Rust by plotters).

const fs = require('node:fs');
const path = require('node:path');
const native = require('./native');

/** The stats file's text, or an error that names the file in one line. */
function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    const why = { ENOENT: 'no such file', EISDIR: 'is a directory, expected a JSON-lines stats file', EACCES: 'permission denied' }[error.code];
    throw new Error(`${file}: ${why || error.message}`);
  }
}

/** Parse a stats file; bad lines are counted, not fatal (a run may end mid-line). */
function readRecords(file) {
  const records = [];
  let skipped = 0;
  for (const line of readText(file).split('\n')) {
    if (!line.trim()) continue;
    try {
      const record = JSON.parse(line);
      if (record && typeof record.event === 'string') records.push(record);
      else skipped += 1;
    } catch {
      skipped += 1;
    }
  }
  return { records, skipped };
}

/** The process to chart: the given pid, else the one with the most stats samples. */
function mainPid(records) {
  const counts = new Map();
  for (const r of records) if (r.event === 'stats') counts.set(r.pid, (counts.get(r.pid) || 0) + 1);
  let best;
  for (const [pid, count] of counts) if (best === undefined || count > counts.get(best)) best = pid;
  return best;
}

function chartInput(records, { title, pid = mainPid(records) } = {}) {
  const mine = records.filter((r) => pid === undefined || r.pid === pid);
  const t0 = Math.min(...mine.map((r) => r.t));
  const stats = mine.filter((r) => r.event === 'stats');
  let snapshot = 0;
  return {
    title: title || `Memory after full GCs${pid !== undefined ? ` (pid ${pid})` : ''}`,
    points: stats.map((s) => ({
      tMs: s.t - t0,
      usedHeapSize: s.used_heap_size,
      external: s.external,
      baseline: s.estimated_base,
      forced: Boolean(s.forced),
    })),
    leaks: mine.filter((r) => r.event === 'leak').map((r) => ({ tMs: r.t - t0, label: `leak (${r.kind}): +${native.humanSize(r.growth)}` })),
    snapshots: mine.filter((r) => r.event === 'snapshot').map((r) => ({ tMs: r.t - t0, label: `S${++snapshot}` })),
  };
}

/** Write the chart of `statsFile` to `output` (.svg or .png). Returns what was drawn. */
function plot(statsFile, output, options = {}) {
  const { records, skipped } = readRecords(statsFile);
  if (records.length === 0) {
    throw new Error(`${statsFile}: no leakwatch records${skipped ? ` (${skipped} unreadable lines)` : ''}; expected the JSON-lines file written by 'leakwatch run' or LEAKWATCH_STATS_FILE`);
  }
  const input = chartInput(records, options);
  const format = path.extname(output).toLowerCase() === '.png' ? 'png' : 'svg';
  const bytes = native.renderChart(input, format, options.width, options.height);
  try {
    fs.writeFileSync(output, bytes);
  } catch (error) {
    throw new Error(`${output}: cannot write the chart: ${error.code === 'ENOENT' ? 'no such directory' : error.message}`);
  }
  return { output, format, points: input.points.length, leaks: input.leaks.length, snapshots: input.snapshots.length, skipped };
}

module.exports = { plot, readRecords, chartInput, mainPid };
