// Peer summary with @memlab/core: load the snapshot with memlab's parser, then compute
// the same per-class count/self size as `leakwatch summary --json` by walking
// snapshot.nodes.forEach. memlab comes from the scratch peers folder (benches/lib/peers.mjs),
// never from the project's dependencies.
//
//   node --max-old-space-size=12000 benches/reference/memlab-summary.mjs FILE
import { requirePeer } from '../lib/peers.mjs';

const file = process.argv[2];
const { utils, config } = requirePeer('@memlab/core');
config.muteConsole = true; // memlab's progress lines would mix with our JSON on stdout

let snapshot;
try {
  snapshot = await utils.getSnapshotFromFile(file, { buildNodeIdIndex: false });
} catch (error) {
  process.stderr.write(`memlab: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
}
if (!snapshot) {
  process.stderr.write('memlab: getSnapshotFromFile returned nothing\n');
  process.exit(1);
}

const fixed = (t) => (t === 'object' || t === 'native' ? null : t === 'hidden' ? '(system)' : t === 'code' ? '(compiled code)' : `(${t})`);
const classes = new Map();
let nodes = 0;
let totalSize = 0;
let maxJsId = 0;
snapshot.nodes.forEach((node) => {
  const type = node.type;
  const name = fixed(type) ?? node.name;
  const self = node.self_size;
  const id = node.id;
  nodes++;
  totalSize += self;
  if (id % 2 === 1 && id > maxJsId) maxJsId = id;
  const c = classes.get(name);
  if (c) {
    c.count++;
    c.selfSize += self;
  } else classes.set(name, { name, count: 1, selfSize: self });
});
let edges = 0;
snapshot.edges.forEach(() => {
  edges++;
});
const list = [...classes.values()].sort((a, b) => b.selfSize - a.selfSize || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
process.stdout.write(JSON.stringify({ file, nodes, edges, totalSize, maxJsId, classes: list }, null, 2) + '\n');
