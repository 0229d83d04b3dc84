// Peer analysis with @memlab/core, the counterpart of `leakwatch analyze` / `leakwatch
// summary --retained` for benches/analyze.bench.mjs. memlab comes from the scratch peers
// folder (benches/lib/peers.mjs), never from the project's dependencies.
//
//   node --max-old-space-size=12000 benches/reference/memlab-analyze.mjs FILE
//   node --max-old-space-size=12000 benches/reference/memlab-analyze.mjs S1 S2 S3 [...]
//
// Work done (memlab's own API, the same steps as its `find-leaks` / `preparePathFinder`):
//   * with several files: `utils.getSnapshotNodeIdsFromFile` (memlab's lightweight id-only
//     parse) of S1 and S2 → the "allocated between S1 and S2" id range (DevTools' filter);
//   * `utils.getSnapshotFromFile` of the last file (full graph);
//   * `new TraceFinder().annotateShortestPaths(snapshot)` (shortest path to a GC root for
//     every node);
//   * `finder.calculateAllNodesRetainedSizes(snapshot)` (dominator tree + retained sizes).
// Output (JSON on stdout): node/edge counts, phase timings, the top retainers (objects with
// the largest retained size, with memlab's path to a GC root for the first), and — with
// several files — the objects of the last snapshot allocated between S1 and S2 grouped by
// class (count, self size, summed retained size, memlab path of one representative).
import { requirePeer } from '../lib/peers.mjs';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: memlab-analyze.mjs FILE | S1 S2 S3 [...]\n');
  process.exit(2);
}
const { utils, config, TraceFinder } = requirePeer('@memlab/core');
config.muteConsole = true; // memlab's progress lines would mix with our JSON on stdout

const phases = {};
async function phase(name, fn) {
  const t = performance.now();
  const r = await fn();
  phases[name] = Math.round(performance.now() - t);
  return r;
}
function fail(what, error) {
  process.stderr.write(`memlab: ${what}: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
}

// Largest odd (JS object) id of each earlier snapshot, from memlab's id-only parse.
let idRange = null;
if (files.length > 1) {
  const maxOdd = [];
  for (const [i, file] of files.slice(0, 2).entries()) {
    const ids = await phase(`ids S${i + 1}`, () => utils.getSnapshotNodeIdsFromFile(file, {})).catch((e) => fail(`ids of ${file}`, e));
    let max = 0;
    ids.forEach((id) => {
      if (id % 2 === 1 && id > max) max = id;
    });
    maxOdd.push(max);
  }
  idRange = [maxOdd[0], maxOdd[1]];
}

const last = files[files.length - 1];
const snapshot = await phase('load', () => utils.getSnapshotFromFile(last, { buildNodeIdIndex: true })).catch((e) => fail(`load ${last}`, e));
if (!snapshot) fail(`load ${last}`, 'getSnapshotFromFile returned nothing');
const finder = new TraceFinder();
await phase('shortest paths', () => finder.annotateShortestPaths(snapshot));
await phase('dominators + retained sizes', () => finder.calculateAllNodesRetainedSizes(snapshot));

const t0 = performance.now();
function describe(node) {
  return { name: node.name, type: node.type, id: node.id, selfSize: node.self_size, retainedSize: node.retainedSize };
}
function pathOf(node) {
  // memlab's path is a list of { node, edge (from this node to the next), next }.
  const steps = [];
  let via = null;
  for (let p = finder.getPathToGCRoots(snapshot, node); p; p = p.next) {
    steps.push({ edge: via, node: `${p.node.name} (${p.node.type}) @${p.node.id}` });
    via = p.edge ? `${p.edge.name_or_index} (${p.edge.type})` : null;
  }
  return steps;
}

// Top retainers: largest retained sizes among non-synthetic nodes (roots are synthetic).
const TOP = 10;
const top = [];
let nodes = 0;
const suspects = new Map();
snapshot.nodes.forEach((node) => {
  nodes++;
  if (idRange && node.id > idRange[0] && node.id <= idRange[1]) {
    const key = `${node.name} (${node.type})`;
    let s = suspects.get(key);
    if (!s) suspects.set(key, (s = { name: node.name, type: node.type, count: 0, selfSize: 0, retainedSize: 0, representative: node }));
    s.count++;
    s.selfSize += node.self_size;
    s.retainedSize += node.retainedSize;
  }
  if (node.type === 'synthetic') return;
  const r = node.retainedSize;
  if (top.length < TOP || r > top[top.length - 1].retainedSize) {
    top.push(describe(node));
    top.sort((a, b) => b.retainedSize - a.retainedSize);
    if (top.length > TOP) top.pop();
  }
});
let edges = 0;
snapshot.edges.forEach(() => {
  edges++;
});
const topPath = top.length ? pathOf(snapshot.getNodeById(top[0].id)) : [];
const suspectList = [...suspects.values()]
  .sort((a, b) => b.retainedSize - a.retainedSize)
  .slice(0, 15)
  .map((s, i) => ({ name: s.name, type: s.type, count: s.count, selfSize: s.selfSize, retainedSize: s.retainedSize, ...(i < 3 ? { path: pathOf(s.representative) } : {}) }));
phases.report = Math.round(performance.now() - t0);

process.stdout.write(
  JSON.stringify({ files, nodes, edges, phases, idRange, topRetainers: top, topRetainerPath: topPath, suspects: idRange ? suspectList : undefined }, null, 2) + '\n',
);
