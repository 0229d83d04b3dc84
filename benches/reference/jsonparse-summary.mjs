// Reference summary: the plain approach — read the whole file, JSON.parse it, walk the
// flat nodes array by the field names in snapshot.meta. Prints the same JSON shape as
// `leakwatch summary --json`. Used by benches/summary.bench.mjs both as a contender and
// as the correctness oracle. On files above ~512 MB readFileSync(…, 'utf8') throws
// (V8's maximum string length), which the bench records as "fails".
//
//   node --max-old-space-size=12000 benches/reference/jsonparse-summary.mjs FILE
import fs from 'node:fs';

const file = process.argv[2];
const heap = JSON.parse(fs.readFileSync(file, 'utf8'));
const meta = heap.snapshot.meta;
const fields = meta.node_fields;
const width = fields.length;
const TYPE = fields.indexOf('type');
const NAME = fields.indexOf('name');
const ID = fields.indexOf('id');
const SELF = fields.indexOf('self_size');
const types = meta.node_types[TYPE];
const strings = heap.strings;
const nodes = heap.nodes;

// DevTools Summary grouping: objects and native nodes by name, everything else by type.
const fixed = types.map((t) => (t === 'object' || t === 'native' ? null : t === 'hidden' ? '(system)' : t === 'code' ? '(compiled code)' : `(${t})`));
const classes = new Map();
let totalSize = 0;
let maxJsId = 0;
for (let i = 0; i < nodes.length; i += width) {
  const label = fixed[nodes[i + TYPE]];
  const name = label === null ? strings[nodes[i + NAME]] : label;
  const self = nodes[i + SELF];
  const id = nodes[i + ID];
  totalSize += self;
  if (id % 2 === 1 && id > maxJsId) maxJsId = id;
  const c = classes.get(name);
  if (c) {
    c.count++;
    c.selfSize += self;
  } else classes.set(name, { name, count: 1, selfSize: self });
}
const list = [...classes.values()].sort((a, b) => b.selfSize - a.selfSize || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
process.stdout.write(
  JSON.stringify({ file, nodes: nodes.length / width, edges: heap.edges.length / meta.edge_fields.length, totalSize, maxJsId, classes: list }, null, 2) + '\n',
);
