// Benchmark peers (other tools we compare against) live in a scratch folder outside the
// repository, installed with `npm install --no-save --prefix <dir>` — never added to the
// project's package.json or package-lock.json. Each peer gets its own prefix
// (<PEERS_DIR>/<name>/): an `npm install --no-save` prunes every package of its prefix
// that the prefix's package.json does not list, so peers sharing one prefix (or anyone
// else installing into it) would uninstall each other. An install is skipped when the
// package is already present (delete the folder, or set LEAKWATCH_BENCH_PEERS, to start over).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PEERS_DIR = process.env.LEAKWATCH_BENCH_PEERS || '/tmp/leakwatch-bench-peers';

// name → { spec, env }: extra environment for the install.
export const PEERS = {
  // memlab pulls in puppeteer; its Chromium download is not needed to read snapshots.
  '@memlab/core': { spec: '@memlab/core', env: { PUPPETEER_SKIP_DOWNLOAD: '1', PUPPETEER_SKIP_CHROMIUM_DOWNLOAD: '1' } },
};

/** The install prefix of one peer: <PEERS_DIR>/<name with '/' → '__', no '@'>. */
export function peerPrefix(name) {
  return path.join(PEERS_DIR, name.replace(/^@/, '').replace(/\//g, '__'));
}

function packageDir(name) {
  return path.join(peerPrefix(name), 'node_modules', ...name.split('/'));
}

/** Directory of an installed peer package (installing it first if missing). Throws on failure. */
export function ensurePeer(name) {
  const peer = PEERS[name];
  if (!peer) throw new Error(`unknown benchmark peer '${name}'`);
  const dir = packageDir(name);
  if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  const prefix = peerPrefix(name);
  fs.mkdirSync(prefix, { recursive: true });
  // A package.json of its own keeps npm from walking up into some other project.
  const own = path.join(prefix, 'package.json');
  if (!fs.existsSync(own)) fs.writeFileSync(own, JSON.stringify({ name: 'leakwatch-bench-peer', private: true }, null, 2));
  process.stderr.write(`[peers] npm install --no-save --prefix ${prefix} ${peer.spec}\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', prefix, peer.spec], {
    stdio: ['ignore', 2, 2], // npm's chatter to stderr: stdout is the bench report
    env: { ...process.env, ...peer.env },
  });
  if (result.status !== 0 || !fs.existsSync(path.join(dir, 'package.json'))) {
    throw new Error(`could not install benchmark peer ${peer.spec} into ${prefix} (npm exit ${result.status})`);
  }
  return dir;
}

/** Installed version of a peer, or undefined. */
export function peerVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(packageDir(name), 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** require() a peer from its own prefix (installing it first if missing). */
export function requirePeer(name) {
  ensurePeer(name);
  return createRequire(path.join(peerPrefix(name), 'package.json'))(name);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const name of process.argv.length > 2 ? process.argv.slice(2) : Object.keys(PEERS)) {
    const dir = ensurePeer(name);
    console.log(`${name}@${peerVersion(name) ?? '?'}\t${dir}`);
  }
}
