'use strict';
// Allocation sites for people: shared by `leakwatch sites`, `leakwatch run` and the demo.
const path = require('node:path');
const native = require('./native');

function shortFile(file) {
  if (!path.isAbsolute(file)) return file;
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') ? relative : file;
}

/** `fn` at file:line:col, with the cwd stripped. */
function where(frame) {
  const file = frame.file || '';
  return file ? `${shortFile(file)}:${frame.line}:${frame.column}` : '(engine)';
}

/** The first app caller above the site's own frame, if any. */
function caller(site) {
  const own = site.stack.findIndex((f) => f.kind === 'app');
  return site.stack.slice(own + 1).find((f) => f.kind === 'app');
}

/** One line: "`leak` at examples/leaky-app.js:16:1, called from `tick` (…)". */
function describeSite(site) {
  const from = caller(site);
  return `\`${site.functionName}\` at ${where(site)}${from ? `, called from \`${from.functionName}\` (${where(from)})` : ''}`;
}

/** Numbered sites with sizes and their folded stacks. */
function formatSites(sites, { growth = false, indent = '  ', stackLines = 6 } = {}) {
  if (!sites.length) return `${indent}(none)`;
  return sites
    .map((site, i) => {
      const size = growth
        ? `+${native.humanSize(site.growthBytes)} (now ${native.humanSize(site.liveBytes)})`
        : site.growing
          ? `${native.humanSize(site.windowBytes)} survived the window, +${native.humanSize(site.growthBytes)}`
          : `${native.humanSize(site.liveBytes)} live`;
      const stack = site.folded.slice(0, stackLines).map((line) => `${indent}     ${line}`);
      if (site.folded.length > stackLines) stack.push(`${indent}     … ${site.folded.length - stackLines} more`);
      return `${indent}${i + 1}. ${describeSite(site)}: ${size}, ${site.samples} samples\n${stack.join('\n')}`;
    })
    .join('\n');
}

/**
 * For `leakwatch run`'s summary: the leak sites one process's sampler reported with its
 * newest snapshot or leak event that had some (`latest`), next to the top suspect of its
 * snapshot analysis. Returns summary lines.
 */
function runSiteLines({ latest, analysis, of = '' }, top = 3) {
  if (!latest) return [`  leak sites${of}: none reported by allocation sampling (yet)`];
  const lines = [`  leak sites${of} (allocation sampling, at ${latest.event === 'leak' ? 'the leak event' : 'the last snapshot'}):`];
  const suspect = analysis && analysis.suspects[0];
  latest.sites.slice(0, top).forEach((site, i) => {
    const what = i === 0 && suspect ? `${suspect.name} … ` : '';
    lines.push(`    ${what}allocated in ${describeSite(site)}: ${native.humanSize(site.windowBytes)} survived, +${native.humanSize(site.growthBytes)}`);
  });
  return lines;
}

module.exports = { formatSites, describeSite, where, runSiteLines };
