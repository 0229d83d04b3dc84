// Benchmark peers (other tools we compare against) live in a scratch folder outside the
// repository, installed with `npm install --no-save --prefix <dir>` — never added to the
// project's package.json or package-lock.json. An install is skipped when the package is
// already present (delete the folder, or set LEAKWATCH_BENCH_PEERS, to start over).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const PEERS_DIR = process.env.LEAKWATCH_BENCH_PEERS || '/tmp/leakwatch-bench-peers';

// name → { spec, env }: extra environment for the install.
export const PEERS = {
  // memlab pulls in puppeteer; its Chromium download is not needed to read snapshots.
  '@memlab/core': { spec: '@memlab/core', env: { PUPPETEER_SKIP_DOWNLOAD: '1', PUPPETEER_SKIP_CHROMIUM_DOWNLOAD: '1' } },
};

/** Directory of an installed peer package (installing it first if missing). Throws on failure. */
export function ensurePeer(name) {
  const peer = PEERS[name];
  if (!peer) throw new Error(`unknown benchmark peer '${name}'`);
  const dir = path.join(PEERS_DIR, 'node_modules', ...name.split('/'));
  if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  fs.mkdirSync(PEERS_DIR, { recursive: true });
  // A package.json of its own keeps npm from walking up into some other project.
  const own = path.join(PEERS_DIR, 'package.json');
  if (!fs.existsSync(own)) fs.writeFileSync(own, JSON.stringify({ name: 'leakwatch-bench-peers', private: true }, null, 2));
  process.stderr.write(`[peers] npm install --no-save --prefix ${PEERS_DIR} ${peer.spec}\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', PEERS_DIR, peer.spec], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...peer.env },
  });
  if (result.status !== 0 || !fs.existsSync(path.join(dir, 'package.json'))) {
    throw new Error(`could not install benchmark peer ${peer.spec} into ${PEERS_DIR} (npm exit ${result.status})`);
  }
  return dir;
}

/** Installed version of a peer, or undefined. */
export function peerVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(PEERS_DIR, 'node_modules', ...name.split('/'), 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) {
  for (const name of process.argv.length > 2 ? process.argv.slice(2) : Object.keys(PEERS)) {
    const dir = ensurePeer(name);
    console.log(`${name}@${peerVersion(name) ?? '?'}\t${dir}`);
  }
}
