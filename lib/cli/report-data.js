'use strict';
// What report.html shows, as data (the page embeds it as JSON, and lib/cli/html-report.js
// renders it): one process's memory timeline, verdicts, snapshot analysis and allocation
// sites, gathered from the files a run leaves (the stats file, snapshots, .heapprofile
// files). The stats file is streamed twice, as `plot` does (lib/cli/chart.js), so a month of
// records is read in bounded memory; the timeline keeps every sample up to MAX_POINTS and
// beyond that the lowest and highest value of each series per 1/BUCKETS of the run.
//
// Everything taken from a heap (class names, property names, string values) stays data
// here: lib/cli/html-report.js escapes it. String values are shortened, or hidden (`redact`).

const fs = require('node:fs');
const path = require('node:path');
const native = require('../shared/native');
const { readRecords, read } = require('../shared/records');
const { scanProcesses, mainPid } = require('./chart');
const { leakwatchError } = require('../shared/errors');
const { clip } = require('./table');

const VERSION = require('../../package.json').version;
/** The shape of the embedded JSON: bumped when a field changes meaning or goes away. */
const FORMAT_VERSION = 1;

/** Samples embedded one by one; a longer run keeps min/max per bucket. */
const MAX_POINTS = 20000;
const BUCKETS = 10000;
/** Longest string value shown (heap strings: a page gets shared). */
const MAX_STRING = 40;
/** Longest class, property or function name kept in the page. */
const MAX_NAME = 200;
/** Records of each kind kept per process (a stats file of garbage stays bounded). */
const MAX_EVENTS = 500;
/** Frames per allocation stack read from a profile (V8 keeps at most 128). */
const STACK_DEPTH = 128;
/** Sites listed in the table, frames kept per listed site. */
const SITE_ROWS = 25;
const SITE_FRAMES = 32;
/** Flame graph: frames under this share of the total are left out; at most this many frames. */
const FLAME_MIN_SHARE = 0.001;
const FLAME_MAX_NODES = 3000;
/** Node types whose `name` is a value from the program (not a class or function name). */
const VALUE_TYPES = new Set(['string', 'concatenated string', 'sliced string', 'regexp']);
/** The series of the timeline: the key in the page and the stats record's field (its typed view: lib/shared/records.js). */
const SERIES = [
  ['heap', 'usedHeapSize'],
  ['baseline', 'estimatedBase'],
  ['external', 'external'],
  ['arrayBuffers', 'arrayBuffers'],
  ['rss', 'rss'],
];

const finite = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const size = (bytes) => native.humanSize(Math.max(0, Math.round(bytes)));
const iso = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);

/** "850 ms", "14 s", "3 min 20 s", "2 h 5 min", "3 d 4 h": a time since the process started. */
function duration(ms) {
  if (!Number.isFinite(ms)) return '?';
  if (ms === 0) return '0 s';
  const s = ms / 1000;
  if (s < 1) return `${Math.round(ms)} ms`;
  if (s < 10) return `${s.toFixed(1).replace(/\.0$/, '')} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const parts = [
    [86400, 'd'],
    [3600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  let rest = Math.round(s);
  const out = [];
  for (const [unit, name] of parts) {
    if (rest >= unit || out.length) {
      out.push(`${Math.floor(rest / unit)} ${name}`);
      rest %= unit;
    }
    if (out.length === 2) break;
  }
  return out.filter((p) => !p.startsWith('0 ')).join(' ');
}

/** A heap string as the page may show it: shortened, or hidden with `redact`. */
function shownValue(text, redact) {
  const value = String(text);
  return redact ? { text: '', length: value.length, redacted: true } : { text: clip(value, MAX_STRING), length: value.length, redacted: false };
}

/** A NodeRef for the page: string values shortened (or hidden), long names clipped. */
function nodeRef(node, redact) {
  const out = { ...node, class: clip(node.class, MAX_NAME) };
  if (VALUE_TYPES.has(node.type)) {
    out.value = shownValue(node.name, redact);
    out.name = out.value.text;
  } else {
    out.name = clip(node.name, MAX_NAME);
  }
  return out;
}

function group(g, redact) {
  return {
    ...g,
    name: clip(g.name, MAX_NAME),
    representative: nodeRef(g.representative, redact),
    retainerPath: g.retainerPath.map((step) => ({ edge: clip(step.edge, MAX_NAME), edgeType: step.edgeType, node: nodeRef(step.node, redact) })),
  };
}

/** The analysis as the page carries it (see nodeRef). */
function presentAnalysis(analysis, redact) {
  return {
    snapshots: analysis.snapshots,
    idRange: analysis.idRange,
    suspects: analysis.suspects.map((g) => group(g, redact)),
    others: analysis.others.map((g) => group(g, redact)),
  };
}

/** What holds a suspect: the nearest variable or property on its path (as `run` names it). */
function heldBy(suspect) {
  const step = [...suspect.retainerPath].reverse().find((s) => s.edgeType === 'context' || s.edgeType === 'property');
  if (!step) return null;
  const at = suspect.retainerPath.indexOf(step);
  const holder = at > 0 ? suspect.retainerPath[at - 1].node : null;
  return { edge: step.edge, edgeType: step.edgeType, holder: holder ? `${holder.class} @${holder.id}` : null };
}

// ---- the stats file -------------------------------------------------------------------

/**
 * Keeps the samples of one process: all of them when there are at most MAX_POINTS,
 * otherwise the lowest and highest value of each series per bucket (1/BUCKETS of the
 * process's time span), with the number of samples each bucket holds.
 */
class Timeline {
  constructor({ first, last, samples }) {
    this.first = first;
    this.span = Math.max(0, last - first);
    this.downsampled = samples > MAX_POINTS;
    this.points = [];
    this.buckets = this.downsampled ? new Map() : null;
    this.count = 0;
    this.forced = 0;
    this.heapLimit = null;
  }

  /** A stats record (typed: lib/shared/records.js read()). */
  add(record) {
    this.count += 1;
    if (record.forced) this.forced += 1;
    const limit = record.heapSizeLimit;
    if (limit) this.heapLimit = limit;
    const values = SERIES.map(([, field]) => record[field]);
    if (!this.downsampled) {
      this.points.push({ t: record.t, values });
      return;
    }
    const b = this.span > 0 ? Math.min(BUCKETS - 1, Math.floor(((record.t - this.first) / this.span) * BUCKETS)) : 0;
    const bucket = this.buckets.get(b);
    if (!bucket) {
      this.buckets.set(b, { t: record.t, n: 1, lo: [...values], hi: [...values] });
      return;
    }
    bucket.n += 1;
    bucket.t = Math.min(bucket.t, record.t);
    values.forEach((v, i) => {
      if (v === null) return;
      if (bucket.lo[i] === null || v < bucket.lo[i]) bucket.lo[i] = v;
      if (bucket.hi[i] === null || v > bucket.hi[i]) bucket.hi[i] = v;
    });
  }

  /** Columns for the page: t (ms since t0), and per series `v` (samples) or `lo`/`hi` (buckets). */
  result(t0) {
    const series = {};
    if (!this.downsampled) {
      const points = this.points.sort((a, b) => a.t - b.t);
      SERIES.forEach(([key], i) => (series[key] = { v: points.map((p) => p.values[i]) }));
      return { t: points.map((p) => p.t - t0), n: null, series };
    }
    const buckets = [...this.buckets.entries()].sort((a, b) => a[0] - b[0]).map(([, bucket]) => bucket);
    SERIES.forEach(([key], i) => (series[key] = { lo: buckets.map((b) => b.lo[i]), hi: buckets.map((b) => b.hi[i]) }));
    return { t: buckets.map((b) => b.t - t0), n: buckets.map((b) => b.n), series };
  }
}

/**
 * The process a report is about: `pid` if given; else the one whose files were given
 * (`hint`: the pid in their default names); else the one snapshotted most; else the one
 * sampled most.
 */
function choosePid(scan, pid, statsFile, hint) {
  if (pid !== undefined) {
    if (!scan.processes.has(pid)) {
      const known = [...scan.processes.keys()].slice(0, 20).join(', ');
      throw leakwatchError('ERR_LEAKWATCH_NO_SUCH_PID', `${statsFile}: no records of pid ${pid} (pids in the file: ${known || 'none'})`);
    }
    return pid;
  }
  if (hint !== undefined && scan.processes.has(hint)) return hint;
  let best;
  for (const p of scan.processes.values()) if (p.snapshots > 0 && (best === undefined || p.snapshots > best.snapshots)) best = p;
  return best ? best.pid : mainPid(scan.processes);
}

/** A site from a stats record, kept small: its first SITE_FRAMES frames. */
function recordSite(site) {
  if (!site || typeof site !== 'object' || !Array.isArray(site.stack)) return null;
  // The frame that names the site (the first app frame from the allocating end), for its kind.
  const named = site.stack.find((f) => f.functionName === site.functionName && f.location === site.location) || site.stack[0];
  return {
    functionName: clip(String(site.functionName ?? ''), MAX_NAME),
    location: String(site.location ?? ''),
    kind: named ? String(named.kind ?? 'app') : 'engine',
    liveBytes: finite(site.liveBytes) ?? 0,
    windowBytes: finite(site.windowBytes) ?? 0,
    growthBytes: finite(site.growthBytes) ?? 0,
    samples: finite(site.samples) ?? 0,
    growing: Boolean(site.growing),
    stack: site.stack.slice(0, SITE_FRAMES).map((f) => ({
      functionName: clip(String(f.functionName ?? ''), MAX_NAME),
      location: String(f.location ?? ''),
      kind: String(f.kind ?? 'app'),
    })),
    stackFrames: site.stack.length,
  };
}

/**
 * Everything the page needs from the stats file about one process: {pid, t0, process,
 * timeline, leaks, snapshots, marks, otherProcesses, skipped}.
 */
function readStats(statsFile, { pid, hint } = {}) {
  const scan = scanProcesses(statsFile);
  if (scan.records === 0) {
    const why = `no leakwatch records${scan.skipped ? ` (${scan.skipped} unreadable lines)` : ''}; expected the JSON-lines file written by 'leakwatch run' or LEAKWATCH_STATS_FILE`;
    throw leakwatchError('ERR_LEAKWATCH_NO_RECORDS', `${statsFile}: ${why}`, { file: statsFile });
  }
  const chosen = choosePid(scan, pid, statsFile, hint);
  const proc = scan.processes.get(chosen);
  const timeline = new Timeline(proc);
  let start = null;
  const leaks = [];
  const resolved = new Map();
  const snapshots = [];
  const pressure = [];
  let latestSites = null;
  let containerLimit = null;
  readRecords(statsFile, (raw) => {
    const r = read(raw);
    if (r.pid !== chosen || r.t === null) return;
    switch (r.event) {
      case 'stats':
        timeline.add(r);
        break;
      case 'start':
        if (!start) start = r;
        break;
      case 'leak':
        if (leaks.length < MAX_EVENTS) leaks.push(r);
        if (r.sites !== null && r.sites.length) latestSites = { event: 'leak', t: r.t, sites: r.sites.slice(0, SITE_ROWS) };
        break;
      case 'leakResolved':
        if (r.id !== null && !resolved.has(r.id) && resolved.size < MAX_EVENTS) resolved.set(r.id, r);
        break;
      case 'snapshot':
        if (snapshots.length < MAX_EVENTS) snapshots.push(r);
        if (r.sites !== null && r.sites.length) latestSites = { event: 'snapshot', t: r.t, sites: r.sites.slice(0, SITE_ROWS) };
        break;
      case 'memoryPressure':
        if (pressure.length < MAX_EVENTS) pressure.push(r);
        if (r.memoryLimit > 0) containerLimit = r.memoryLimit;
        break;
      default:
    }
  });
  const t0 = start ? start.t : proc.first;
  if (start && start.memoryLimit > 0) containerLimit = start.memoryLimit;
  const at = (t) => t - t0;

  const leakList = leaks.map((r, index) => {
    const done = r.id !== null ? resolved.get(r.id) : undefined;
    return {
      id: r.id,
      number: index + 1,
      kind: r.kind ?? 'heap',
      tMs: at(r.t),
      start: r.start,
      end: r.end,
      growth: r.growth,
      rate: r.rate,
      reason: r.reason ?? '',
      signals: r.evidence && Array.isArray(r.evidence.signals) ? r.evidence.signals.map(String) : [],
      sites: r.sites !== null ? r.sites.slice(0, 3).map(recordSite).filter(Boolean) : [],
      withdrawn: done ? { tMs: at(done.t), reason: done.reason ?? '', start: done.start, end: done.end } : null,
    };
  });
  const snapshotList = snapshots.map((r, i) => ({
    label: `S${i + 1}`,
    tMs: at(r.t),
    file: r.file,
    profile: r.profile,
    bytes: r.bytes,
    durationMs: r.durationMs,
    trigger: r.trigger,
  }));
  const marks = [
    ...snapshotList.map((s) => ({ kind: 'snapshot', tMs: s.tMs, label: s.label })),
    ...leakList.map((l) => ({ kind: 'leak', tMs: l.tMs, label: `leak ${l.id ?? l.number} (${l.kind})` })),
    ...leakList.filter((l) => l.withdrawn).map((l) => ({ kind: 'withdrawn', tMs: l.withdrawn.tMs, label: `withdrawn ${l.id ?? l.number}` })),
    ...pressure.map((r) => ({ kind: 'pressure', tMs: at(r.t), label: `${r.resource === 'memory' ? 'memory' : 'heap'} ${Math.round((r.ratio ?? 0) * 100)} %` })),
  ].sort((a, b) => a.tMs - b.tMs);

  const columns = timeline.result(t0);
  const heap = columns.series.heap;
  const heapValues = (heap.v || heap.lo).filter((v) => v !== null);
  return {
    pid: chosen,
    t0,
    process: {
      pid: chosen,
      ppid: start ? start.ppid : null,
      startedAt: iso(t0),
      argv: start && start.argv !== null ? start.argv.map(String) : proc.argv ? proc.argv.map(String) : null,
      node: start ? start.node : null,
      execArgv: start && start.execArgv !== null ? start.execArgv.map(String) : null,
      nodeOptions: start ? start.nodeOptions : null,
      leakwatch: start ? start.leakwatch : null,
      heapLimit: timeline.heapLimit,
      containerLimit,
    },
    timeline: {
      samples: timeline.count,
      forced: timeline.forced,
      downsampled: timeline.downsampled,
      bucketMs: timeline.downsampled ? timeline.span / BUCKETS : null,
      spanMs: Math.max(0, proc.last - t0),
      firstHeap: heapValues.length ? heapValues[0] : null,
      lastHeap: heapValues.length ? heapValues[heapValues.length - 1] : null,
      ...columns,
      limits: { heap: timeline.heapLimit, container: containerLimit },
      marks: marks.slice(0, 4 * MAX_EVENTS),
    },
    leaks: leakList,
    snapshots: snapshotList,
    latestSites,
    otherProcesses: [...scan.processes.values()].filter((p) => p.pid !== chosen).slice(0, 50).map((p) => ({ pid: p.pid, samples: p.samples, snapshots: p.snapshots, argv: p.argv })),
    skipped: scan.skipped,
  };
}

// ---- allocation sites -----------------------------------------------------------------

const frameKey = (f) => `${f.functionName}\u0000${f.location}`;
const stackKey = (site) => site.stack.map(frameKey).join('\n');

/** A flame graph of stacks (allocating frame first in each): width = live bytes, plus growth. */
function flameTree(liveSites, grownSites) {
  const root = { n: 'all live allocations', l: '', k: 'root', v: 0, g: 0, c: new Map() };
  const insert = (site, field, bytes) => {
    let node = root;
    node[field] += bytes;
    for (let i = site.stack.length - 1; i >= 0; i--) {
      const f = site.stack[i];
      const key = frameKey(f);
      let child = node.c.get(key);
      if (!child) {
        child = { n: clip(f.functionName || '(anonymous)', MAX_NAME), l: f.location, k: f.kind, v: 0, g: 0, c: new Map() };
        node.c.set(key, child);
      }
      child[field] += bytes;
      node = child;
    }
  };
  for (const site of liveSites) insert(site, 'v', site.liveBytes);
  for (const site of grownSites || []) insert(site, 'g', site.growthBytes);
  const min = Math.max(root.v, root.g) * FLAME_MIN_SHARE;
  let budget = FLAME_MAX_NODES;
  let dropped = 0;
  // Breadth first, biggest first, so the budget keeps what is widest.
  const out = { n: root.n, l: '', k: 'root', v: root.v, g: root.g, c: [] };
  const queue = [[root, out]];
  while (queue.length) {
    const [node, shown] = queue.shift();
    const children = [...node.c.values()].sort((a, b) => Math.max(b.v, b.g) - Math.max(a.v, a.g));
    for (const child of children) {
      if (Math.max(child.v, child.g) < min || budget <= 0) {
        dropped += 1;
        continue;
      }
      budget -= 1;
      const copy = { n: child.n, l: child.l, k: child.k, v: child.v, g: child.g, c: [] };
      shown.c.push(copy);
      queue.push([child, copy]);
    }
  }
  return { root: out, frames: FLAME_MAX_NODES - budget, dropped, minShare: FLAME_MIN_SHARE };
}

function siteRow(site, growth) {
  const row = recordSite(site);
  row.growthBytes = growth;
  row.growing = growth > 0;
  return row;
}

/**
 * Allocation sites from the profiles (oldest first): the newest one's stacks by live
 * bytes, with their growth since the oldest when there are two or more. Without profiles,
 * the sites the sampler reported in the latest leak or snapshot record.
 */
function readSites(profiles, latestSites) {
  if (profiles.length > 0) {
    const last = profiles[profiles.length - 1];
    const live = native.profileSites([last], STACK_DEPTH, 0);
    const grown = profiles.length > 1 ? native.profileSites([profiles[0], last], STACK_DEPTH, 0) : null;
    const growthOf = new Map(grown ? grown.sites.map((s) => [stackKey(s), s.growthBytes]) : []);
    const rows = live.sites.map((s) => siteRow(s, growthOf.get(stackKey(s)) ?? 0));
    if (grown) rows.sort((a, b) => b.growthBytes - a.growthBytes || b.liveBytes - a.liveBytes);
    return {
      source: 'profiles',
      profiles,
      growthFrom: grown ? profiles[0] : null,
      totalBytes: live.totalBytes,
      samples: live.samples,
      stacks: live.sites.length,
      rows: rows.slice(0, SITE_ROWS),
      flame: flameTree(live.sites, grown ? grown.sites : null),
    };
  }
  if (latestSites) {
    const sites = latestSites.sites.filter((s) => s && Array.isArray(s.stack));
    return {
      source: latestSites.event === 'leak' ? 'leak record' : 'snapshot record',
      profiles: [],
      growthFrom: null,
      totalBytes: sites.reduce((n, s) => n + (finite(s.liveBytes) ?? 0), 0),
      samples: sites.reduce((n, s) => n + (finite(s.samples) ?? 0), 0),
      stacks: sites.length,
      rows: sites.slice(0, SITE_ROWS).map(recordSite),
      flame: flameTree(
        sites.map((s) => ({ ...s, liveBytes: finite(s.liveBytes) ?? 0 })),
        sites.map((s) => ({ ...s, growthBytes: finite(s.growthBytes) ?? 0 })),
      ),
    };
  }
  return null;
}

// ---- the verdict ----------------------------------------------------------------------

/** "`leakMemory` at examples/leaky-app.js:16:20" for a site (location as recorded). */
function siteText(site) {
  return `${site.functionName || '(anonymous)'}${site.location ? ` at ${site.location}` : ''}`;
}

/**
 * The verdict in one sentence: standing leaks (or snapshot suspects), withdrawn
 * suspicions, or healthy; with the culprit, what holds it and where it was allocated.
 */
function verdictOf({ leaks, analysis, analysisError, sites, timeline }) {
  const standing = leaks.filter((l) => !l.withdrawn);
  const withdrawn = leaks.filter((l) => l.withdrawn);
  const suspect = analysis && analysis.suspects.length ? analysis.suspects[0] : null;
  const leakSite =
    (standing.length && standing[0].sites.find((s) => s.growing)) ||
    (sites && sites.rows.find((r) => r.growthBytes > 0)) ||
    (standing.length && standing[0].sites[0]) ||
    null;
  const culprit = suspect
    ? {
        class: suspect.name,
        count: suspect.count,
        retainedSize: suspect.retainedSize,
        heldBy: heldBy(suspect),
        site: leakSite ? { functionName: leakSite.functionName, location: leakSite.location } : null,
      }
    : null;
  const n = analysis ? analysis.snapshots.length : 0;
  const grew = (l) => (l.growth !== null ? `; the ${l.kind} grew ${size(l.growth)}${l.rate ? ` (${size(l.rate)}/s)` : ''}` : '');
  const withdrawnText = (l) => `${l.kind} leak suspected at ${duration(l.tMs)}, withdrawn at ${duration(l.withdrawn.tMs)}${l.withdrawn.reason ? `: ${l.withdrawn.reason}` : ''}`;
  let status;
  let sentence;
  if (suspect) {
    status = 'leak';
    const held = culprit.heldBy ? `, held by '${culprit.heldBy.edge}'` : '';
    const where = leakSite ? `, allocated in ${siteText(leakSite)}` : '';
    sentence =
      `Leak: ${suspect.count.toLocaleString('en-US')} ${suspect.name} objects allocated between S1 and S2 are still alive in S${n} ` +
      `(retaining ${size(suspect.retainedSize)})${held}${where}${standing.length ? grew(standing[0]) : ''}.`;
  } else if (standing.length) {
    status = 'leak';
    const l = standing[0];
    const why = analysisError ? `the snapshot analysis failed (${analysisError.code || analysisError.message})` : analysis ? 'the snapshot analysis found no suspect class' : 'no snapshot analysis names the objects (it needs 3 snapshots)';
    sentence =
      `Leak: the ${l.kind} kept growing (verdict at ${duration(l.tMs)}${l.growth !== null ? `: +${size(l.growth)}${l.rate ? `, ${size(l.rate)}/s` : ''}` : ''})` +
      `${leakSite ? `, allocated in ${siteText(leakSite)}` : ''}; ${why}.`;
    if (standing.length > 1) sentence = sentence.replace(/^Leak:/, `Leak (${standing.length} standing verdicts):`);
  } else if (withdrawn.length) {
    status = 'withdrawn';
    const more = withdrawn.length > 1 ? ` (and ${withdrawn.length - 1} more)` : '';
    sentence = `No standing leak: ${withdrawn.length} suspicion${withdrawn.length === 1 ? ' was' : 's were'} withdrawn: ${withdrawnText(withdrawn[0])}${more}.`;
  } else if (timeline && timeline.samples > 0) {
    status = 'healthy';
    const levels = timeline.firstHeap !== null ? `, heap after GC ${size(timeline.firstHeap)} → ${size(timeline.lastHeap)}` : '';
    const snaps = analysis ? `; the snapshot analysis (${n} snapshots) found no leak suspect` : analysisError ? '; the snapshot analysis failed' : '; no snapshot analysis (it needs 3 snapshots)';
    sentence = `Healthy: no leak verdict in ${timeline.samples.toLocaleString('en-US')} full-GC samples over ${duration(timeline.spanMs)}${levels}${snaps}.`;
  } else if (analysis) {
    status = 'healthy';
    sentence = `Healthy: the snapshot analysis (${n} snapshots) found no leak suspect.`;
  } else {
    status = 'unknown';
    sentence = 'No verdict: there are neither full-GC samples nor three snapshots to judge from.';
  }
  return {
    status,
    sentence,
    culprit,
    site: leakSite ? { functionName: leakSite.functionName, location: leakSite.location } : null,
    standing: standing.length,
    withdrawn: withdrawn.map((l) => ({ id: l.id ?? l.number, kind: l.kind, text: withdrawnText(l) })),
  };
}

// ---- inputs ---------------------------------------------------------------------------

/** `file` if it exists, else the file of that name in `dir` (a run directory that was moved). */
function locate(file, dir) {
  if (!file) return null;
  if (dir) {
    const moved = path.join(dir, path.basename(file));
    if (fs.existsSync(moved)) return moved;
  }
  return fs.existsSync(file) ? file : null;
}

/** heapdump-<pid>-<time>-<n>.<ext>: sorted by pid, then n. */
function dumpOrder(a, b) {
  const key = (f) => {
    const m = /^heapdump-(\d+)-.*-(\d+)\.[a-z]+$/.exec(path.basename(f));
    return m ? [Number(m[1]), Number(m[2])] : [Infinity, 0];
  };
  const [pa, na] = key(a);
  const [pb, nb] = key(b);
  return pa - pb || na - nb || a.localeCompare(b);
}

/**
 * The inputs of a run directory: its stats file, and the snapshots and profiles of the
 * process reported on (from the stats file's snapshot records, else the files present).
 */
function inputsOfDir(dir) {
  let stat;
  try {
    stat = fs.statSync(dir);
  } catch (error) {
    throw leakwatchError(error.code === 'ENOENT' ? 'ERR_LEAKWATCH_NOT_FOUND' : 'ERR_LEAKWATCH_IO', `${dir}: ${error.code === 'ENOENT' ? 'no such directory' : error.message}`, { file: dir, cause: error });
  }
  if (!stat.isDirectory()) throw leakwatchError('ERR_LEAKWATCH_NOT_A_DIR', `${dir} is not a directory`, { path: dir });
  const names = fs.readdirSync(dir);
  const statsFile = names.includes('stats.jsonl') ? path.join(dir, 'stats.jsonl') : null;
  const snapshots = names.filter((n) => n.endsWith('.heapsnapshot')).map((n) => path.join(dir, n));
  const profiles = names.filter((n) => n.endsWith('.heapprofile')).map((n) => path.join(dir, n));
  if (!statsFile && snapshots.length === 0 && profiles.length === 0) {
    throw leakwatchError('ERR_LEAKWATCH_NOTHING_TO_REPORT', `${dir}: no stats.jsonl, .heapsnapshot or .heapprofile file: not a 'leakwatch run' output directory`, { path: dir });
  }
  return { dir, statsFile, snapshots: snapshots.sort(dumpOrder), profiles: profiles.sort(dumpOrder), fromDir: true };
}

/** The pid in the default names of `files` (heapdump-<pid>-…), when they all name the same one. */
function pidOfFiles(files) {
  const pids = new Set(files.map((f) => (/^heapdump-(\d+)-/.exec(path.basename(f)) || [])[1]));
  return pids.size === 1 && !pids.has(undefined) ? Number([...pids][0]) : undefined;
}

/** Only the files of the process `pid` (by leakwatch's default names), when any are. */
function ofPid(files, pid) {
  const mine = files.filter((f) => path.basename(f).startsWith(`heapdump-${pid}-`));
  return mine.length ? mine : files;
}

/**
 * Gather the report's data. `inputs`: {dir, statsFile, snapshots, profiles, fromDir};
 * `analysis` (or `analysisError`): one already made of the snapshots (leakwatch run);
 * `command`: the command that was watched (argv), for the page's reproduce section.
 * Returns the data object the page embeds.
 */
async function gather(inputs, { pid, redact = false, analysis, analysisError, command = null, warn = () => {} } = {}) {
  const given = inputs.fromDir ? [] : [...inputs.snapshots, ...inputs.profiles];
  const stats = inputs.statsFile ? readStats(inputs.statsFile, { pid, hint: given.length ? pidOfFiles(given) : undefined }) : null;
  let snapshots = inputs.snapshots;
  let profiles = inputs.profiles;
  if (inputs.fromDir && stats) {
    // The process's own snapshots and profiles, in the order it wrote them.
    const recorded = stats.snapshots.map((s) => locate(s.file, inputs.dir)).filter(Boolean);
    const recordedProfiles = stats.snapshots.map((s) => locate(s.profile, inputs.dir)).filter(Boolean);
    snapshots = recorded.length ? recorded : ofPid(snapshots, stats.pid);
    profiles = recordedProfiles.length ? recordedProfiles : ofPid(profiles, stats.pid);
  }

  if (analysis === undefined && analysisError === undefined) {
    analysis = null;
    if (snapshots.length >= 3) {
      try {
        analysis = await native.analyze(snapshots, {});
      } catch (error) {
        if (!inputs.fromDir) throw error;
        analysisError = error;
        warn(`the analysis of ${snapshots.length} snapshots failed: ${error.message}${error.code ? ` (${error.code})` : ''}`);
      }
    }
  }
  let sites = null;
  try {
    sites = readSites(profiles, stats ? stats.latestSites : null);
  } catch (error) {
    if (!inputs.fromDir) throw error;
    warn(`cannot read the allocation profiles: ${error.message}${error.code ? ` (${error.code})` : ''}`);
  }
  const shown = analysis ? presentAnalysis(analysis, redact) : null;
  const leaks = stats ? stats.leaks : [];
  const verdict = verdictOf({ leaks, analysis: shown, analysisError, sites, timeline: stats ? stats.timeline : null });
  return {
    format: 'leakwatch-report',
    formatVersion: FORMAT_VERSION,
    generatedAt: new Date().toISOString(),
    leakwatch: VERSION,
    redacted: redact,
    inputs: {
      dir: inputs.dir || null,
      statsFile: inputs.statsFile || null,
      snapshots,
      profiles,
      skippedLines: stats ? stats.skipped : 0,
    },
    process: stats ? stats.process : null,
    command,
    otherProcesses: stats ? stats.otherProcesses : [],
    verdict,
    leaks,
    timeline: stats ? stats.timeline : null,
    snapshots: stats ? stats.snapshots : snapshots.map((file, i) => ({ label: `S${i + 1}`, tMs: null, file })),
    analysis: shown,
    analysisError: analysisError ? { code: analysisError.code || null, message: String(analysisError.message) } : null,
    sites,
  };
}

module.exports = { gather, inputsOfDir, readStats, readSites, verdictOf, duration, shownValue, MAX_POINTS, BUCKETS, MAX_STRING, FORMAT_VERSION };
