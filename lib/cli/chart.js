'use strict';
// `leakwatch plot`: the JSON-lines record of a run -> a chart (drawn in Rust by plotters).
// The stats file is streamed twice (lib/shared/records.js, whose typed reader gives each
// record's fields): once to find each process's samples and time span, once to gather what
// to draw. A long run is downsampled to the chart's pixel columns (the lowest and highest
// heap sample of each column), so memory stays bounded whatever the file's size; leak and
// snapshot marks are never dropped (marks that share a pixel column are drawn as one line
// labelled with all of them).

const path = require('node:path');
const native = require('../shared/native');
const { readRecords, read } = require('../shared/records');
const { leakwatchError } = require('../shared/errors');
const { writeFileAtomic } = require('../shared/secure-fs');

const DEFAULT_WIDTH = 1000;
/** Processes tracked per file (a file of garbage could name any number of pids). */
const MAX_PROCESSES = 4096;

/**
 * Pass 1: per process (pid), {pid, samples, forced, leaks, snapshots, first, last, argv}.
 * Returns {processes: Map, records, skipped}.
 */
function scanProcesses(statsFile) {
  const processes = new Map();
  const totals = readRecords(statsFile, (raw) => {
    const r = read(raw);
    if (r.t === null) return;
    let p = processes.get(r.pid);
    if (!p) {
      if (processes.size >= MAX_PROCESSES) return;
      p = { pid: r.pid, samples: 0, forced: 0, leaks: 0, snapshots: 0, first: r.t, last: r.t, argv: null };
      processes.set(r.pid, p);
    }
    p.first = Math.min(p.first, r.t);
    p.last = Math.max(p.last, r.t);
    if (r.event === 'stats') {
      p.samples += 1;
      if (r.forced) p.forced += 1;
    } else if (r.event === 'leak') p.leaks += 1;
    else if (r.event === 'snapshot') p.snapshots += 1;
    else if (r.event === 'start' && r.argv !== null) p.argv = r.argv;
  });
  return { processes, records: totals.records, skipped: totals.skipped };
}

/** The process to chart by default: the one with the most stats samples. */
function mainPid(processes) {
  let best;
  for (const p of processes.values()) if (best === undefined || p.samples > best.samples) best = p;
  return best && best.pid;
}

/**
 * Keeps at most two samples per pixel column (its lowest and highest heap value, in time
 * order) and one mark per column and kind, so the chart of a months-long run costs the
 * same as a minute's. Below two samples per column nothing is dropped.
 */
class Downsampler {
  constructor({ span, columns, keepAll }) {
    this.span = span;
    this.columns = columns;
    this.keepAll = keepAll;
    this.points = keepAll ? [] : new Array(columns).fill(null);
    this.leaks = new Map();
    this.snapshots = new Map();
  }

  column(tMs) {
    if (this.span <= 0) return 0;
    return Math.min(this.columns - 1, Math.max(0, Math.floor((tMs / this.span) * this.columns)));
  }

  addPoint(point) {
    if (this.keepAll) {
      this.points.push(point);
      return;
    }
    const c = this.column(point.tMs);
    const cell = this.points[c];
    if (cell === null) this.points[c] = { low: point, high: point };
    else if (point.usedHeapSize < cell.low.usedHeapSize) cell.low = point;
    else if (point.usedHeapSize > cell.high.usedHeapSize) cell.high = point;
  }

  addMark(kind, tMs, label) {
    const marks = this[kind];
    const c = this.column(tMs);
    const mark = marks.get(c);
    if (!mark) marks.set(c, { tMs, labels: [label], count: 1 });
    else {
      mark.count += 1;
      mark.last = label;
    }
  }

  result() {
    const points = this.keepAll
      ? this.points
      : this.points.filter(Boolean).flatMap(({ low, high }) => (low === high ? [low] : low.tMs <= high.tMs ? [low, high] : [high, low]));
    const marks = (kind, many) => [...this[kind].values()].map((m) => ({ tMs: m.tMs, label: m.count === 1 ? m.labels[0] : many(m) }));
    return {
      points,
      leaks: marks('leaks', (m) => `${m.count} leak events`),
      snapshots: marks('snapshots', (m) => `${m.labels[0]}…${m.last}`),
    };
  }
}

/** Pass 2: the chart input of one process, downsampled to `width` columns. */
function chartInput(statsFile, scan, { title, pid = mainPid(scan.processes), width = DEFAULT_WIDTH } = {}) {
  const proc = scan.processes.get(pid);
  if (pid !== undefined && !proc) {
    const known = [...scan.processes.keys()].slice(0, 20).join(', ');
    throw leakwatchError('ERR_LEAKWATCH_NO_SUCH_PID', `${statsFile}: no records of pid ${pid} (pids in the file: ${known || 'none'})`);
  }
  const t0 = proc ? proc.first : 0;
  const columns = Math.max(1, Math.round(width));
  const sampler = new Downsampler({ span: proc ? proc.last - proc.first : 0, columns, keepAll: !proc || proc.samples <= 2 * columns });
  let snapshot = 0;
  readRecords(statsFile, (raw) => {
    const r = read(raw);
    if (r.pid !== pid || r.t === null) return;
    const tMs = r.t - t0;
    if (r.event === 'stats') {
      sampler.addPoint({ tMs, usedHeapSize: r.usedHeapSize ?? NaN, external: r.external ?? NaN, baseline: r.estimatedBase ?? undefined, forced: Boolean(r.forced) });
    } else if (r.event === 'leak') {
      sampler.addMark('leaks', tMs, `leak (${r.kind}): +${native.humanSize(r.growth ?? 0)}`);
    } else if (r.event === 'snapshot') {
      sampler.addMark('snapshots', tMs, `S${++snapshot}`);
    }
  });
  const drawn = sampler.result();
  return {
    title: title || `Memory after full GCs${pid !== undefined ? ` (pid ${pid})` : ''}`,
    ...drawn,
    // The counts the chart states, when it draws fewer points than there were samples.
    sampleCount: proc ? proc.samples : 0,
    forcedCount: proc ? proc.forced : 0,
  };
}

/**
 * Write the chart of `statsFile` to `output` (.svg or .png). Returns what was drawn:
 * {output, format, pid, points (samples), drawn (points drawn), leaks, snapshots, skipped}.
 */
function plot(statsFile, output, options = {}) {
  const scan = options.scan || scanProcesses(statsFile);
  if (scan.records === 0) {
    const why = `no leakwatch records${scan.skipped ? ` (${scan.skipped} unreadable lines)` : ''}; expected the JSON-lines file written by 'leakwatch run' or LEAKWATCH_STATS_FILE`;
    throw leakwatchError('ERR_LEAKWATCH_NO_RECORDS', `${statsFile}: ${why}`, { file: statsFile });
  }
  const width = options.width || DEFAULT_WIDTH;
  const input = chartInput(statsFile, scan, { ...options, width });
  const format = path.extname(output).toLowerCase() === '.png' ? 'png' : 'svg';
  const bytes = native.renderChart(input, format, options.width, options.height);
  try {
    // A fresh 0600 file renamed into place: never written through a planted symlink.
    writeFileAtomic(output, bytes);
  } catch (error) {
    throw leakwatchError('ERR_LEAKWATCH_IO', `${output}: cannot write the chart: ${error.code === 'ENOENT' ? 'no such directory' : error.message}`, { file: output, cause: error });
  }
  const proc = scan.processes.get(options.pid === undefined ? mainPid(scan.processes) : options.pid);
  return {
    output,
    format,
    pid: proc && proc.pid,
    points: input.sampleCount,
    drawn: input.points.length,
    leaks: proc ? proc.leaks : 0,
    snapshots: proc ? proc.snapshots : 0,
    skipped: scan.skipped,
  };
}

module.exports = { plot, scanProcesses, chartInput, mainPid, Downsampler };
