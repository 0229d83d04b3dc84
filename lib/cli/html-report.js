'use strict';
// report.html: one self-contained page with the whole investigation of one process (the
// data of lib/cli/report-data.js). Tables, paths and text are rendered here, every value
// escaped (html`` escapes whatever it interpolates unless it is markup this module
// made); the chart and the flame graph are drawn in the browser by report-page/page.js
// from the same data, embedded as JSON with every '<' written \u003c so that no string
// in it can end the <script> element. The page loads nothing: its style and script are
// inlined, and its Content-Security-Policy allows only those two (by hash) and no
// network at all, so even markup that got through could neither run nor fetch.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const native = require('../shared/native');
const { leakwatchError } = require('../shared/errors');
const { writeFileAtomic } = require('../shared/secure-fs');
const { gather, inputsOfDir, duration } = require('./report-data');

const ASSETS = path.join(__dirname, 'report-page');

// ---- escaping -------------------------------------------------------------------------

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (value) => String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]);

/** Markup made here (never from data): html`` inserts it as it is. */
class Markup {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

function interpolate(value) {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(value);
}

/** A template tag: every interpolated value is escaped, except Markup (and arrays of it). */
function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => {
    out += interpolate(value) + strings[i + 1];
  });
  return new Markup(out);
}

/** JSON that is safe inside <script type="application/json">: no '<' (so no </script> or <!--), no line separators. */
function jsonForScript(data) {
  return JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

// ---- pieces ---------------------------------------------------------------------------

const size = (bytes) => (Number.isFinite(bytes) ? native.humanSize(Math.max(0, Math.round(bytes))) : '—');
const count = (n) => (Number.isFinite(n) ? n.toLocaleString('en-US') : '—');
const KIND_LABELS = { app: 'app', dependency: 'node_modules', internal: 'Node internals', engine: 'V8 (engine)', root: 'all' };

/** A shell word: quoted when it holds anything a shell would read. */
function shellWord(word) {
  const text = String(word);
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
const shellLine = (words) => words.map(shellWord).join(' ');

/** A node of a retainer path: class @id, and a string's (shortened or hidden) value. */
function nodeText(node) {
  const value = node.value ? (node.value.redacted ? ` ‹value hidden, ${count(node.value.length)} characters›` : ` "${node.value.text}"`) : '';
  return `${node.class} @${node.id}${value}`;
}

function edgeText(step) {
  // Element and hidden edges are named "[index]" already, as `analyze` prints them.
  if (step.edgeType === 'element' || step.edgeType === 'hidden') return step.edge;
  if (step.edgeType === 'context') return `${step.edge} (variable)`;
  return `.${step.edge}`;
}

/** A retainer path, root first, as a nested list: the edge that holds each next node. */
function pathList(group) {
  const steps = group.retainerPath;
  if (!steps.length) return html`<p>No retainer path: nothing reachable from a GC root holds it (held only weakly, or by the engine).</p>`;
  const half = Math.floor(steps.length / 2);
  const items = steps.map((step, i) => {
    const elided = group.retainerPathElided > 0 && i === half ? html`<li class="elided">… ${count(group.retainerPathElided)} more steps …</li>` : '';
    const head = i === 0 ? html`<span class="node">${nodeText(step.node)}</span>` : html`<span class="edge">${edgeText(step)}</span> → <span class="node">${nodeText(step.node)}</span>`;
    return html`${elided}<li>${head}</li>`;
  });
  return html`<ol class="path">${items}</ol>`;
}

function verdictSection(data) {
  const v = data.verdict;
  // The sentence's first words ("Leak", "Healthy", …) as a badge; the text reads the same.
  const [, prefix, rest] = /^([^:]*): ([^]*)$/.exec(v.sentence);
  const facts = [];
  if (v.culprit) {
    facts.push(html`<dt>Culprit</dt><dd><code>${v.culprit.class}</code>: ${count(v.culprit.count)} objects, ${size(v.culprit.retainedSize)} retained</dd>`);
    if (v.culprit.heldBy) {
      facts.push(
        html`<dt>Held by</dt><dd><code>${v.culprit.heldBy.edge}</code> (${v.culprit.heldBy.edgeType === 'context' ? 'a variable' : 'a property'}${v.culprit.heldBy.holder ? html` of <code>${v.culprit.heldBy.holder}</code>` : ''})</dd>`,
      );
    }
  }
  if (v.site) facts.push(html`<dt>Allocated in</dt><dd><code>${v.site.functionName}</code>${v.site.location ? html` at <code>${v.site.location}</code>` : ''}</dd>`);
  const leaks = data.leaks;
  const rows = leaks.map(
    (l) =>
      html`<tr><td class="num">${l.id ?? l.number}</td><td>${l.kind}</td><td class="num">${duration(l.tMs)}</td><td class="num">${l.growth === null ? '—' : size(l.growth)}</td><td>${
        l.withdrawn ? html`<span class="badge withdrawn">withdrawn</span> at ${duration(l.withdrawn.tMs)}: ${l.withdrawn.reason}` : html`<span class="badge standing">standing</span>`
      }</td><td>${l.reason}</td></tr>`,
  );
  return html`<section id="verdict" aria-labelledby="verdict-h">
<h2 id="verdict-h">1. Verdict</h2>
<p id="verdict-sentence" class="verdict status-${v.status}" data-status="${v.status}"><span class="badge status-${v.status}">${prefix}:</span> ${rest}</p>
${facts.length ? html`<dl class="facts">${facts}</dl>` : ''}
${
  v.withdrawn.length
    ? html`<h3>Withdrawn suspicions</h3><ul class="withdrawn">${v.withdrawn.map((w) => html`<li>Suspicion ${w.id}: ${w.text}</li>`)}</ul>`
    : ''
}
${
  leaks.length
    ? html`<h3>Leak verdicts of the detector</h3>
<table class="data"><caption>Every <code>leak</code> verdict the process raised, and whether it still stands</caption>
<thead><tr><th scope="col">#</th><th scope="col">Kind</th><th scope="col">Raised at</th><th scope="col">Growth</th><th scope="col">Status</th><th scope="col">Reason</th></tr></thead>
<tbody>${rows}</tbody></table>`
    : html`<p>The leak detector raised no verdict${data.timeline ? '' : ' (no stats file was given)'}.</p>`
}
</section>`;
}

function timelineSection(data) {
  const t = data.timeline;
  if (!t) {
    return html`<section id="timeline" aria-labelledby="timeline-h"><h2 id="timeline-h">2. Memory timeline</h2>
<p>No stats file was given, so there is no timeline: <code>leakwatch report</code> reads it from the run's <code>stats.jsonl</code>.</p></section>`;
  }
  const limits = [t.limits.heap ? html`heap limit ${size(t.limits.heap)}` : 'heap limit not recorded', t.limits.container ? html`container memory limit ${size(t.limits.container)}` : 'no container memory limit'];
  const points = t.t.length;
  const table =
    points <= 2000
      ? html`<details id="figures"><summary>The figures as a table (${count(points)} ${t.downsampled ? 'buckets' : 'samples'})</summary>
<table class="data figures"><caption>Memory after each full GC${t.downsampled ? ' (lowest–highest per bucket)' : ''}</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Heap used</th><th scope="col">Baseline</th><th scope="col">External</th><th scope="col">ArrayBuffers</th><th scope="col">RSS</th></tr></thead>
<tbody>${t.t.map((ms, i) => {
          const cell = (key) => {
            const s = t.series[key];
            return s.v ? size(s.v[i]) : `${size(s.lo[i])}–${size(s.hi[i])}`;
          };
          return html`<tr><td>${duration(ms)}</td><td>${cell('heap')}</td><td>${cell('baseline')}</td><td>${cell('external')}</td><td>${cell('arrayBuffers')}</td><td>${cell('rss')}</td></tr>`;
        })}</tbody></table></details>`
      : html`<p>${count(points)} buckets are too many for a table: the embedded JSON has them all (<code>timeline</code>).</p>`;
  return html`<section id="timeline" aria-labelledby="timeline-h">
<h2 id="timeline-h">2. Memory timeline</h2>
<p id="timeline-summary">${count(t.samples)} full-GC samples over ${duration(t.spanMs)}${t.forced ? html` (${count(t.forced)} of them forced by leakwatch)` : ''}${
    t.downsampled ? html`; embedded as the lowest and highest value of each series per ${duration(t.bucketMs)} (${count(points)} buckets)` : ''
  }; ${limits[0]}; ${limits[1]}.</p>
<div id="chart-controls" class="controls" hidden></div>
<div id="chart" class="chart" data-samples="${t.samples}"></div>
<p id="chart-tip" class="tip" role="status" aria-live="polite"></p>
<noscript><p>The chart is drawn by the page's script; <code>leakwatch plot</code> draws it as SVG or PNG.</p></noscript>
${table}
</section>`;
}

function groupRows(groups, n, withPaths, kind) {
  return groups.map((g, i) => {
    const id = `${kind}-${i + 1}`;
    const row = html`<tr id="${id}" class="${g.userClass ? 'user' : 'engine'}"><th scope="row"><code>${g.name}</code>${g.userClass ? '' : html` <span class="tag">engine</span>`}</th><td class="num">${count(
      g.count,
    )}</td><td class="num">${size(g.selfSize)}</td><td class="num">${size(g.retainedSize)}</td><td>${g.counts.map(count).join(' → ')}</td><td>${g.survivors
      .slice(1)
      .map(count)
      .join(' → ')}${g.survivorsShrank ? ' (shrank: evicted or expired)' : ''}</td></tr>`;
    if (!withPaths) return row;
    return html`${row}<tr class="path-row"><td colspan="6"><details id="${id}-path" data-suspect="${i + 1}"><summary>Retainer path of <code>${g.name}</code> @${g.representative.id} (${
      g.retainerPath.length + g.retainerPathElided
    } steps)</summary>${pathList(g)}</details></td></tr>`;
  });
}

function suspectsSection(data) {
  const a = data.analysis;
  let body;
  if (!a) {
    const why = data.analysisError
      ? html`<p class="error">The snapshot analysis failed: ${data.analysisError.message}${data.analysisError.code ? html` (<code>${data.analysisError.code}</code>)` : ''}.</p>`
      : html`<p>No snapshot analysis: it needs three snapshots of the process (${count(data.inputs.snapshots.length)} given).</p>`;
    body = why;
  } else {
    const n = a.snapshots.length;
    const head = html`<thead><tr><th scope="col">Class</th><th scope="col">Objects</th><th scope="col">Self size</th><th scope="col">Retained</th><th scope="col">Count in S1…S${n}</th><th scope="col">Survivors in S2…S${n}</th></tr></thead>`;
    body = html`<p>Objects allocated between snapshot 1 and 2 (ids ${count(a.idRange[0] + 1)}…${count(a.idRange[1])}) and still alive in snapshot ${n}, grouped by class; user classes first.
Each suspect expands to the path that keeps one of its objects alive, from a GC root.</p>
${
  a.suspects.length
    ? html`<table id="suspects-table" class="data"><caption>Leak suspects (${a.suspects.length})</caption>${head}<tbody>${groupRows(a.suspects, n, true, 'suspect')}</tbody></table>`
    : html`<p id="no-suspects">No leak suspects: nothing allocated between the first two snapshots kept growing.</p>`
}
${
  a.others.length
    ? html`<details><summary>Other survivors (${a.others.length}): not growing at every step, shrinking after S3, or too small to be a leak</summary>
<table class="data"><caption>Other survivors</caption>${head}<tbody>${groupRows(a.others, n, true, 'other')}</tbody></table></details>`
    : ''
}`;
  }
  return html`<section id="suspects" aria-labelledby="suspects-h"><h2 id="suspects-h">3. Suspects</h2>${body}${
    data.redacted ? html`<p class="note">String values are hidden (<code>--redact</code>).</p>` : html`<p class="note">String values are shortened to 40 characters; <code>--redact</code> hides them.</p>`
  }</section>`;
}

function sitesSection(data) {
  const s = data.sites;
  if (!s) {
    return html`<section id="sites" aria-labelledby="sites-h"><h2 id="sites-h">4. Leak sites</h2>
<p>No allocation sites: allocation sampling wrote no <code>.heapprofile</code> and reported no sites (it runs under <code>leakwatch run</code> and with <code>leakDetection</code>).</p></section>`;
  }
  const growth = s.growthFrom !== null || s.source !== 'profiles';
  const from =
    s.source === 'profiles'
      ? html`the newest of ${count(s.profiles.length)} sampling heap profile${s.profiles.length === 1 ? '' : 's'} (<code>${path.basename(s.profiles[s.profiles.length - 1])}</code>${
          s.growthFrom ? html`; growth since <code>${path.basename(s.growthFrom)}</code>` : ''
        })`
      : html`the allocation sampler's report in the last ${s.source}`;
  const rows = s.rows.map((r, i) => {
    const frames = r.stack.map((f) => html`<li class="k-${f.kind}"><code>${f.functionName || '(anonymous)'}</code> ${f.location ? html`<span class="loc">${f.location}</span>` : ''} <span class="tag">${KIND_LABELS[f.kind] || f.kind}</span></li>`);
    const more = r.stackFrames > r.stack.length ? html`<li>… ${count(r.stackFrames - r.stack.length)} more frames</li>` : '';
    return html`<tr class="k-${r.kind}"><td class="num">${i + 1}</td><th scope="row"><code>${r.functionName || '(anonymous)'}</code></th><td><span class="loc">${r.location || '(engine)'}</span></td><td>${
      KIND_LABELS[r.kind] || r.kind
    }</td><td class="num">${size(r.liveBytes)}</td>${growth ? html`<td class="num">${r.growthBytes > 0 ? `+${size(r.growthBytes)}` : '—'}</td>` : ''}<td class="num">${count(r.samples)}</td><td><details><summary>${count(
      r.stackFrames,
    )} frames</summary><ol class="stack">${frames}${more}</ol></details></td></tr>`;
  });
  return html`<section id="sites" aria-labelledby="sites-h"><h2 id="sites-h">4. Leak sites</h2>
<p>Where the live memory was allocated, from ${from}: ${size(s.totalBytes)} estimated live in ${count(s.samples)} samples, ${count(s.stacks)} stacks. Sizes are estimates from V8's sampling heap profiler;
line:column locate the function's definition; functions V8 inlined appear as their caller.</p>
<table id="sites-table" class="data"><caption>Allocation stacks${growth ? ', most growth first' : ', most live bytes first'}</caption>
<thead><tr><th scope="col">#</th><th scope="col">Function</th><th scope="col">Location</th><th scope="col">Code</th><th scope="col">Live</th>${
    growth ? html`<th scope="col">Growth</th>` : ''
  }<th scope="col">Samples</th><th scope="col">Stack (allocating frame first)</th></tr></thead>
<tbody>${rows}</tbody></table>
<h3 id="flame-h">Flame graph</h3>
<p>Callers above callees, from the root; the width of a frame is the live bytes allocated under it${
    growth ? ' (or, switched below, their growth)' : ''
  }. Frames are told apart by colour and by pattern: app code plain, <code>node_modules</code> striped, Node internals dotted, V8's own frames in grey italics. A dark strip along the bottom of a frame is the part of it that grew. Select a frame (click, or Tab and Enter) to zoom into it.</p>
<div id="flame-controls" class="controls" hidden></div>
<div id="flame" class="flame" aria-labelledby="flame-h"></div>
<p id="flame-tip" class="tip" role="status" aria-live="polite"></p>
<noscript><p>The flame graph is drawn by the page's script; the table above lists the same stacks.</p></noscript>
</section>`;
}

function environmentSection(data, file) {
  const p = data.process;
  const rows = [];
  const row = (name, value) => rows.push(html`<tr><th scope="row">${name}</th><td>${value}</td></tr>`);
  if (p) {
    row('Process', html`pid ${p.pid}${p.ppid ? ` (parent ${p.ppid})` : ''}, started ${p.startedAt}`);
    row('Node.js', p.node || 'not recorded');
    row('Node flags', p.execArgv === null ? 'not recorded (by the leakwatch that wrote the stats file)' : p.execArgv.length ? html`<code>${shellLine(p.execArgv)}</code>` : 'none');
    row('NODE_OPTIONS', p.nodeOptions === null ? 'not recorded' : p.nodeOptions ? html`<code>${p.nodeOptions}</code>` : 'empty');
    row('Heap limit', p.heapLimit ? size(p.heapLimit) : 'not recorded');
    row('Container memory limit', p.containerLimit ? size(p.containerLimit) : 'none found (or not recorded)');
    row('Script and arguments', p.argv ? html`<code>${shellLine(p.argv)}</code>` : 'not recorded');
    row('leakwatch in the process', p.leakwatch || 'not recorded');
  }
  if (data.command) row('Command watched', html`<code>${shellLine(data.command)}</code>`);
  row('leakwatch (this report)', html`${data.leakwatch}, ${data.generatedAt}`);
  if (data.otherProcesses.length) {
    row('Other processes in the stats file', data.otherProcesses.map((o) => `pid ${o.pid} (${o.samples} samples, ${o.snapshots} snapshots)`).join('; ') + ' — `leakwatch report --pid P` reports on one of them');
  }
  const inputs = data.inputs;
  const reproduce = [];
  const dir = inputs.dir;
  reproduce.push(['This page', shellLine(['leakwatch', 'report', ...(dir ? [dir] : [...(inputs.statsFile ? [inputs.statsFile] : []), ...inputs.snapshots, ...inputs.profiles]), ...(data.redacted ? ['--redact'] : []), '-o', file])]);
  if (inputs.statsFile) reproduce.push(['Memory timeline (SVG)', shellLine(['leakwatch', 'plot', inputs.statsFile, ...(p ? ['--pid', String(p.pid)] : []), '-o', 'memory.svg'])]);
  const analysed = data.analysis ? data.analysis.snapshots.map((s) => s.file) : inputs.snapshots;
  if (analysed.length >= 3) reproduce.push(['Suspects and retainer paths', shellLine(['leakwatch', 'analyze', ...analysed])]);
  if (inputs.profiles.length) reproduce.push(['Leak sites (live bytes)', shellLine(['leakwatch', 'sites', inputs.profiles[inputs.profiles.length - 1]])]);
  if (inputs.profiles.length > 1) reproduce.push(['Leak sites (growth)', shellLine(['leakwatch', 'sites', inputs.profiles[0], inputs.profiles[inputs.profiles.length - 1]])]);
  if (data.command) reproduce.push(['The run', shellLine(['leakwatch', 'run', ...(dir ? ['--out', dir] : []), '--', ...data.command])]);
  return html`<section id="environment" aria-labelledby="environment-h"><h2 id="environment-h">5. Environment and how to reproduce</h2>
<table class="data env"><caption>The process and the tools</caption><tbody>${rows}</tbody></table>
<h3>Each view from the command line</h3>
<table id="reproduce" class="data"><caption>Commands that print what this page shows</caption><thead><tr><th scope="col">View</th><th scope="col">Command</th></tr></thead>
<tbody>${reproduce.map(([view, command]) => html`<tr><th scope="row">${view}</th><td><code class="cmd">${command}</code></td></tr>`)}</tbody></table>
</section>`;
}

function dataSection(file) {
  const snippet = `node -e 'const h = require("fs").readFileSync(process.argv[1], "utf8"); const m = /<script id="leakwatch-data" type="application\\/json">([^]*?)<\\/script>/.exec(h); console.log(JSON.parse(m[1]).verdict)' ${shellWord(
    file,
  )}`;
  return html`<section id="data" aria-labelledby="data-h"><h2 id="data-h">6. The data behind this page</h2>
<p>Everything above is drawn from JSON embedded in this file, in <code>&lt;script id="leakwatch-data" type="application/json"&gt;</code> (<code>format: "leakwatch-report"</code>), for tools and CI. For example:</p>
<pre><code>${snippet}</code></pre></section>`;
}

// ---- the page -------------------------------------------------------------------------

let assets = null;
function loadAssets() {
  if (!assets) {
    const css = fs.readFileSync(path.join(ASSETS, 'page.css'), 'utf8');
    const js = fs.readFileSync(path.join(ASSETS, 'page.js'), 'utf8');
    const hash = (text) => `'sha256-${crypto.createHash('sha256').update(text, 'utf8').digest('base64')}'`;
    assets = { css, js, csp: `default-src 'none'; script-src ${hash(js)}; style-src ${hash(css)}; img-src 'none'; base-uri 'none'; form-action 'none'` };
  }
  return assets;
}

/** The page of `data` (from report-data's gather); `file` is where it will be written (named in its commands). */
function renderReport(data, file = 'report.html') {
  const { css, js, csp } = loadAssets();
  const who = data.process ? `pid ${data.process.pid}${data.process.argv && data.process.argv[0] ? ` (${path.basename(data.process.argv[0])})` : ''}` : 'snapshots';
  const status = { leak: 'leak', withdrawn: 'no standing leak', healthy: 'healthy', unknown: 'no verdict' }[data.verdict.status];
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="leakwatch ${data.leakwatch}">
<title>leakwatch report: ${who}: ${status}</title>
<style>${new Markup(css)}</style>
</head>
<body>
<header>
<h1>leakwatch report: ${who}</h1>
<nav aria-label="Sections"><ol>
<li><a href="#verdict">Verdict</a></li><li><a href="#timeline">Memory timeline</a></li><li><a href="#suspects">Suspects</a></li><li><a href="#sites">Leak sites</a></li><li><a href="#environment">Environment</a></li><li><a href="#data">Data</a></li>
</ol></nav>
</header>
<main>
${verdictSection(data)}
${timelineSection(data)}
${suspectsSection(data)}
${sitesSection(data)}
${environmentSection(data, file)}
${dataSection(file)}
</main>
<script id="leakwatch-data" type="application/json">${new Markup(jsonForScript(data))}</script>
<script>${new Markup(js)}</script>
</body>
</html>
`;
  return page.text;
}

/** Write the page (0600, complete or absent, never through a symlink). Returns {file, bytes}. */
function writePage(file, text) {
  const bytes = Buffer.from(text, 'utf8');
  try {
    writeFileAtomic(file, bytes);
  } catch (error) {
    throw leakwatchError('ERR_LEAKWATCH_IO', `${file}: cannot write the report: ${error.code === 'ENOENT' ? 'no such directory' : error.message}`, { file, cause: error });
  }
  return { file, bytes: bytes.length };
}

/** Gather, render and write: `inputs` as report-data's gather takes them. Returns {file, bytes, data}. */
async function writeReport(file, inputs, options = {}) {
  const data = await gather(inputs, options);
  return { ...writePage(file, renderReport(data, file)), data };
}

/**
 * For `leakwatch run` (and the demo), at the end: DIR/report.html of the process it
 * analysed (`main`), with the analysis it made. Never throws: a failure is logged.
 */
async function writeRunReport({ outDir, main, command, log }) {
  const file = path.join(outDir, 'report.html');
  try {
    const inputs = inputsOfDir(outDir);
    const options = { pid: main ? main.pid : undefined, command, warn: (line) => log(`report: ${line}`) };
    if (main && (main.analysis || main.analysisError)) {
      options.analysis = main.analysis || null;
      options.analysisError = main.analysisError || undefined;
    }
    const written = await writeReport(file, inputs, options);
    log(`report: ${file} (${size(written.bytes)}): ${written.data.verdict.sentence}`);
    return file;
  } catch (error) {
    log(`cannot write ${file}: ${error.message}${error.code ? ` (${error.code})` : ''}`);
    return null;
  }
}

module.exports = { renderReport, writeReport, writeRunReport, escapeHtml, jsonForScript, html, shellWord };
