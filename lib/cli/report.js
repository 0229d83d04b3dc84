'use strict';
// Text renderings shared by the CLI commands and `leakwatch run`.

const native = require('../shared/native');
const { table, clip } = require('./table');

/**
 * A retainer path, root first, one step per line, as DevTools reads it. `elided` steps
 * were left out of the middle of a long path (the analysis keeps its two ends): one line
 * says how many.
 */
function formatPath(steps, elided = 0) {
  const lines = steps.map((step, i) => {
    const label = step.edgeType === 'element' || step.edgeType === 'hidden' ? step.edge : step.edgeType === 'context' ? `${step.edge} (variable)` : `.${step.edge}`;
    const node = `${clip(step.node.class)} @${step.node.id}`;
    // The first hop leaves V8's synthetic root: its edge name carries no meaning.
    if (i === 0) return node;
    return `${'  '.repeat(Math.min(i - 1, 12))}└─ ${clip(label)} → ${node}`;
  });
  if (elided > 0) lines.splice(steps.length / 2, 0, `${'  '.repeat(Math.min(steps.length / 2, 12))}… ${elided.toLocaleString('en-US')} more steps …`);
  return lines.join('\n');
}

/** Objects of the S1→S2 window still alive in S2, S3, … (a leak keeps them). */
function survivorsOf(group) {
  return group.survivors.slice(1).join(' → ');
}

function formatAnalysis(analysis, top) {
  const limit = (list) => (top === 0 ? list : list.slice(0, top));
  const h = native.humanSize;
  const out = [];
  const n = analysis.snapshots.length;
  out.push(`Objects allocated between snapshot 1 and 2 and still alive in snapshot ${n} (ids ${analysis.idRange[0] + 1}…${analysis.idRange[1]}):`);
  out.push('');
  if (analysis.suspects.length === 0) {
    out.push('No leak suspects: nothing allocated between the first two snapshots kept growing.');
  } else {
    out.push(`Leak suspects (${analysis.suspects.length}), user classes first:`);
    out.push('');
    const rows = limit(analysis.suspects).map((s) => [s.name, s.count, h(s.selfSize), h(s.retainedSize), s.counts.join(' → '), survivorsOf(s)]);
    out.push(table(['Class', 'Objects', 'Self size', 'Retained', `Count in S1…S${n}`, `Survivors in S2…S${n}`], rows));
    for (const s of limit(analysis.suspects).filter((x) => x.retainerPath.length > 0).slice(0, 3)) {
      out.push('');
      out.push(`Retainer path of ${clip(s.name)} @${s.representative.id}:`);
      out.push(formatPath(s.retainerPath, s.retainerPathElided));
    }
  }
  const others = limit(analysis.others);
  if (others.length > 0) {
    out.push('');
    out.push('Other survivors (not growing at every step, shrinking after S3, or too small to be a leak):');
    const rows = others.map((s) => [s.name, s.count, h(s.selfSize), h(s.retainedSize), survivorsOf(s) + (s.survivorsShrank ? '  (shrank: evicted/expired)' : '')]);
    out.push(table(['Class', 'Objects', 'Self size', 'Retained', `Survivors in S2…S${n}`], rows));
  }
  return out.join('\n') + '\n';
}

module.exports = { formatPath, formatAnalysis };
