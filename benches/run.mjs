// `npm run bench [-- NAME…]`: run every benches/*.bench.mjs in name order, or only the
// named ones (`npm run bench -- summary`). Each bench runs as its own node process with
// inherited output; the exit code is non-zero if any bench failed. Not part of `npm test`.
// See benches/README.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const all = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .map((f) => f.slice(0, -'.bench.mjs'.length))
  .sort();
const wanted = process.argv.slice(2).map((a) => a.replace(/\.bench\.mjs$/, '').replace(/^.*\//, ''));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown bench: ${unknown.join(', ')} (available: ${all.join(', ')})`);
  process.exit(2);
}
const selected = wanted.length ? all.filter((n) => wanted.includes(n)) : all;
let failed = 0;
for (const name of selected) {
  process.stderr.write(`\n=== bench: ${name} ===\n`);
  const r = spawnSync(process.execPath, [path.join(dir, `${name}.bench.mjs`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench ${name} exited with ${r.status ?? r.signal}\n`);
  }
}
process.exit(failed ? 1 : 0);
