// The published layout, as a user gets it: `npm pack` the main package with the
// optionalDependencies `napi pre-publish` adds at release (one per napi.targets entry, named
// as napi names them), and this platform's package (npm/<platform>/ with the built binary
// copied in, as `napi artifacts` does in the release workflow); install both tarballs into a
// fresh app with `npm install --ignore-scripts --offline` and an empty cache (nothing may
// come from a registry, and no install script may be needed), then use leakwatch there the
// three ways users do:
// require, the `leakwatch` command, and a SIGUSR2 dump. Also the error on a platform
// without a binary, through the real generated loader (process.platform/arch overridden
// by a --require preload).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root, until } from './helpers.mjs';

import { parseTriple } from '@napi-rs/cli';

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
// What `napi pre-publish` puts in the published package.json: `${name}-${platformArchABI}`
// at the package's version for every target (see resolveRootOptionalDependencies in
// @napi-rs/cli).
const PLATFORMS = pkg.napi.targets.map((t) => parseTriple(t).platformArchABI);
const OPTIONAL = Object.fromEntries(PLATFORMS.map((p) => [`${pkg.name}-${p}`, pkg.version]));
// This host in napi-rs's naming (the release workflow runs this test on every target).
const ABI = { linux: process.report.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl', win32: '-msvc' };
const PLATFORM = `${process.platform}-${process.arch}${ABI[process.platform] ?? ''}`;
const BINARY = `${pkg.napi.binaryName}.${PLATFORM}.node`;
const skip = fs.existsSync(path.join(root, BINARY)) ? false : `no ${BINARY} built for this host (npm run build)`;

let dir;
let app;

function run(command, args, options = {}) {
  // npm and npx are .cmd scripts on Windows (their arguments here need no quoting).
  const shell = process.platform === 'win32' && (command === 'npm' || command === 'npx');
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, shell, ...options });
  if (result.error) throw result.error;
  return result;
}

function npm(args, cwd) {
  // An empty cache of our own: the install must need nothing that is not in the tarballs.
  const r = run('npm', [...args, '--cache', path.join(dir, 'npm-cache'), '--no-audit', '--no-fund', '--loglevel=error'], { cwd });
  assert.equal(r.status, 0, `npm ${args.join(' ')} in ${cwd}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs `node [-r preload] -e code` in the app; the code prints one JSON line. */
function nodeInApp(code, { preload, env } = {}) {
  const args = [...(preload ? ['-r', preload] : []), '-e', code];
  const r = run(process.execPath, args, { cwd: app, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const FAKE_PLATFORM = `'use strict';
// Test preload: make the loader see another platform.
const [platform, arch] = process.env.FAKE_PLATFORM.split('-');
Object.defineProperty(process, 'platform', { value: platform });
Object.defineProperty(process, 'arch', { value: arch });
`;
const REPORT_LOAD_ERROR = `try { require('leakwatch'); console.log(JSON.stringify({ loaded: true })); }
catch (e) { console.log(JSON.stringify({ code: e.code, platform: e.platform, supported: e.supported, message: e.message })); }`;

before(
  () => {
    if (skip) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leakwatch-package-'));
    // --ignore-scripts: packing must not depend on `prepare` (which would build from source).
    const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root));
    fs.writeFileSync(path.join(dir, 'main-files.json'), JSON.stringify(packed.files.map((f) => f.path)));
    // The release's main package: the packed files, plus the optionalDependencies.
    const stage = path.join(dir, 'stage');
    fs.mkdirSync(stage);
    assert.equal(run('tar', ['-xzf', path.join(dir, packed.filename), '-C', stage]).status, 0);
    const manifest = path.join(stage, 'package', 'package.json');
    fs.writeFileSync(manifest, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifest, 'utf8')), optionalDependencies: OPTIONAL }, null, 2));
    fs.rmSync(path.join(dir, packed.filename));
    const [main] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], path.join(stage, 'package')));
    const platformDir = path.join(dir, 'platform');
    fs.cpSync(path.join(root, 'npm', PLATFORM), platformDir, { recursive: true });
    fs.copyFileSync(path.join(root, BINARY), path.join(platformDir, BINARY));
    const [platformPkg] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], platformDir));
    app = path.join(dir, 'app');
    fs.mkdirSync(app);
    // The platform package as a tarball dependency of the app: the main package's optional
    // dependency on it (same name, matching version) is then met without a registry; the
    // other platforms' packages are optional and skipped.
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({
        name: 'app',
        private: true,
        dependencies: { [pkg.name]: `file:../${main.filename}`, [platformPkg.name]: `file:../${platformPkg.filename}` },
      }),
    );
    npm(['install', '--ignore-scripts', '--offline'], app);
    fs.writeFileSync(path.join(dir, 'fake-platform.js'), FAKE_PLATFORM);
  },
  { timeout: 120_000 },
);

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('one npm/<platform> package per napi target, as the loader expects them', () => {
  const dirs = fs.readdirSync(path.join(root, 'npm')).sort();
  assert.deepEqual(dirs, [...PLATFORMS].sort());
  // Added at release by `napi pre-publish`: committed, they would break `npm ci` until the
  // platform packages exist on the registry (npm cannot lock a package it cannot fetch).
  assert.equal(pkg.optionalDependencies, undefined);
  for (const d of dirs) {
    const p = JSON.parse(fs.readFileSync(path.join(root, 'npm', d, 'package.json'), 'utf8'));
    assert.equal(p.name, `${pkg.name}-${d}`);
    assert.equal(p.version, pkg.version, `${d}: same version as the main package`);
    assert.equal(p.main, `${pkg.napi.binaryName}.${d}.node`);
    assert.deepEqual(p.files, [p.main]);
    const [platform, arch, abi] = d.split('-');
    assert.deepEqual(p.os, [platform]);
    assert.deepEqual(p.cpu, [arch]);
    if (platform === 'linux') assert.deepEqual(p.libc, [abi === 'musl' ? 'musl' : 'glibc']);
  }
  // The loader is the generated one and looks for exactly these packages.
  const loader = fs.readFileSync(path.join(root, 'binding.js'), 'utf8');
  for (const name of Object.keys(OPTIONAL)) assert.ok(loader.includes(`require('${name}')`), `binding.js loads ${name}`);
});

test('the main package has no install script and no binary', { skip }, () => {
  const files = JSON.parse(fs.readFileSync(path.join(dir, 'main-files.json'), 'utf8'));
  assert.deepEqual(files.filter((f) => f.endsWith('.node')), []);
  for (const f of ['binding.js', 'index.js', 'cli.js', 'lib/shared/native.js', 'examples/leaky-app.js']) assert.ok(files.includes(f), f);
  const installed = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', pkg.name, 'package.json'), 'utf8'));
  assert.deepEqual(installed.optionalDependencies, OPTIONAL);
  for (const hook of ['preinstall', 'install', 'postinstall']) assert.equal(installed.scripts?.[hook], undefined, hook);
  assert.equal(fs.existsSync(path.join(app, 'node_modules', pkg.name, BINARY)), false);
});

test("require('leakwatch') in the app loads the binary from the platform package", { skip }, () => {
  const out = nodeInApp(`const lw = require('leakwatch');
    console.log(JSON.stringify({ size: lw.humanSize(2048), addons: Object.keys(require.cache).filter((k) => k.endsWith('.node')) }));`);
  assert.equal(out.size, '2.00 kb');
  assert.deepEqual(out.addons, [path.join(fs.realpathSync(app), 'node_modules', `${pkg.name}-${PLATFORM}`, BINARY)]);
});

test('a SIGUSR2 dump in the app, then `npx leakwatch summary` on it', { skip: skip || (process.platform === 'win32' && 'no signals on Windows'), timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, ['-e', "require('leakwatch'); globalThis.kept = new Array(1000).fill({}); console.log('ready'); setInterval(() => {}, 1000);"], {
    cwd: app,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LEAKWATCH_QUIET: '1' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    await new Promise((resolve, reject) => {
      child.stdout.once('data', resolve);
      child.once('exit', (code) => reject(new Error(`app exited (${code}): ${stderr}`)));
    });
    child.kill('SIGUSR2');
    const snapshot = await until(() => fs.readdirSync(app).find((f) => /^heapdump-.*\.heapsnapshot$/.test(f)), 45_000, `the snapshot (${stderr})`);
    assert.equal(child.exitCode, null, 'the app survives the dump');
    const r = run('npx', ['--no-install', 'leakwatch', 'summary', snapshot, '--json'], { cwd: app });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.ok(summary.nodes > 1000, r.stdout.slice(0, 300));
  } finally {
    child.kill('SIGKILL');
  }
});

test('on a platform without a binary, the error names it and the two ways out', { skip }, () => {
  const preload = path.join(dir, 'fake-platform.js');
  const out = nodeInApp(REPORT_LOAD_ERROR, { preload, env: { FAKE_PLATFORM: 'linux-riscv64' } });
  assert.equal(out.code, 'ERR_LEAKWATCH_NO_BINARY');
  assert.equal(out.platform, 'linux-riscv64-gnu');
  assert.deepEqual(out.supported, PLATFORMS);
  assert.ok(out.message.includes('linux-riscv64-gnu'), out.message);
  for (const p of out.supported) assert.ok(out.message.includes(p), `names supported platform ${p}: ${out.message}`);
  assert.ok(out.message.includes('npm install') && out.message.includes('npm run build'), `says how to build from source: ${out.message}`);

  // The command reports it as an error (exit 1), and its help still works.
  const bin = path.join(app, 'node_modules', pkg.name, 'cli.js');
  const env = { ...process.env, FAKE_PLATFORM: 'linux-riscv64' };
  const cli = run(process.execPath, ['-r', preload, bin, 'summary', 'x.heapsnapshot'], { cwd: app, env });
  assert.equal(cli.status, 1);
  assert.match(cli.stderr, /linux-riscv64-gnu/);
  assert.equal(run(process.execPath, ['-r', preload, bin, '--help'], { cwd: app, env }).status, 0);
});

test('on a supported platform whose package is missing, the error names the package', { skip }, () => {
  const out = nodeInApp(REPORT_LOAD_ERROR, { preload: path.join(dir, 'fake-platform.js'), env: { FAKE_PLATFORM: 'darwin-arm64' } });
  assert.equal(out.code, 'ERR_LEAKWATCH_NO_BINARY');
  assert.equal(out.platform, 'darwin-arm64');
  assert.ok(out.message.includes(`${pkg.name}-darwin-arm64`), out.message);
});

test('a platform package whose binary cannot be loaded gives the same error code', { skip }, () => {
  // Last: this breaks the install.
  fs.writeFileSync(path.join(app, 'node_modules', `${pkg.name}-${PLATFORM}`, BINARY), 'not a shared object');
  const out = nodeInApp(REPORT_LOAD_ERROR);
  assert.equal(out.code, 'ERR_LEAKWATCH_NO_BINARY');
  assert.equal(out.platform, PLATFORM);
  assert.ok(out.message.includes(`${pkg.name}-${PLATFORM}`), out.message);
});
