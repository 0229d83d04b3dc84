#!/usr/bin/env node
'use strict';
// `prepare` hook: npm runs it for the repository's own `npm install` (and for git
// installs), never for the published tarball, whose binary comes from a per-platform
// package (see README, "Install"). Builds the native addon unless an up-to-date one is
// present. Set LEAKWATCH_SKIP_BUILD=1 to skip, LEAKWATCH_FORCE_BUILD=1 to always build.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const SOURCES = ['Cargo.toml', 'Cargo.lock', 'build.rs', 'src', 'crates/core/src', 'crates/core/Cargo.toml'];

function newestMtime(entry) {
  const full = path.join(root, entry);
  let stat;
  try {
    stat = fs.statSync(full);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...fs.readdirSync(full).map((name) => newestMtime(path.join(entry, name))));
}

function builtAddon() {
  const name = fs.readdirSync(root).find((file) => /^leakwatch\..+\.node$/.test(file));
  return name ? fs.statSync(path.join(root, name)).mtimeMs : 0;
}

if (process.env.LEAKWATCH_SKIP_BUILD) process.exit(0);
const built = builtAddon();
if (!process.env.LEAKWATCH_FORCE_BUILD && built > 0 && built >= Math.max(...SOURCES.map(newestMtime))) {
  console.log('leakwatch: native addon is up to date');
  process.exit(0);
}
const napi = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi');
if (!fs.existsSync(napi)) {
  console.error('leakwatch: no prebuilt addon and no @napi-rs/cli to build one; install with dev dependencies (npm install) and a Rust toolchain');
  process.exit(1);
}
console.log('leakwatch: building the native addon (cargo, release)…');
const result = spawnSync(napi, ['build', '--platform', '--release', '--js', 'binding.js', '--dts', 'binding.d.ts'], { cwd: root, stdio: 'inherit' });
process.exit(result.status === null ? 1 : result.status);
