'use strict';
// The native addon, through the loader `napi build` generates (binding.js): the binary
// next to it in a source checkout, else the per-platform package (leakwatch-<platform>,
// an optional dependency). Every module takes the addon from here, so that when no binary
// fits, the error names this platform and the ways out instead of the loader's generic one.

const fs = require('node:fs');
const path = require('node:path');
const { leakwatchError } = require('./errors');

/** The platform in napi-rs's naming: linux-x64-gnu, linux-arm64-musl, darwin-arm64, win32-x64-msvc. */
function platformId() {
  const { platform, arch } = process;
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  if (platform !== 'linux') return `${platform}-${arch}`;
  let glibc = true;
  try {
    glibc = Boolean(process.report.getReport().header.glibcVersionRuntime);
  } catch {
    // no report: assume glibc, as the loader does
  }
  return `${platform}-${arch}-${glibc ? 'gnu' : 'musl'}`;
}

/** The loader's error about `packageName` (its errors are chained through `cause`), or its own message. */
function loadFailure(error, packageName) {
  for (let e = error && error.cause; e; e = e.cause) {
    if (String(e.message).includes(packageName)) return e.message;
  }
  return error && error.message;
}

function noBinaryError(cause) {
  const pkg = require('../../package.json');
  // The published package lists one optional dependency per platform (`napi pre-publish`
  // adds them at release); a source checkout has the packages' folders under npm/.
  let supported = [];
  try {
    supported = pkg.optionalDependencies
      ? Object.keys(pkg.optionalDependencies).map((name) => name.slice(`${pkg.name}-`.length))
      : fs.readdirSync(path.join(__dirname, '..', '..', 'npm')).sort();
  } catch {
    // neither: a damaged install; the message still names this platform
  }
  const platform = platformId();
  const packageName = `${pkg.name}-${platform}`;
  const fromSource =
    'build it from source (needs a Rust toolchain, https://rustup.rs): clone the leakwatch repository, run `npm install` in it ' +
    '(which builds the addon; `npm run build` rebuilds it), then install that folder in your app: `npm install /path/to/leakwatch`.';
  let message;
  if (!supported.includes(platform)) {
    message =
      `no prebuilt leakwatch native addon for ${platform} (Node ${process.version}). Two ways out:\n` +
      `  - run on a supported platform: ${supported.join(', ')};\n` +
      `  - or ${fromSource}`;
  } else {
    let installed = false;
    try {
      require.resolve(`${packageName}/package.json`);
      installed = true;
    } catch {
      // not installed
    }
    message = installed
      ? `the leakwatch native addon for ${platform} (package ${packageName}) is installed but could not be loaded: ${loadFailure(cause, packageName)}\n` +
        `  Reinstall it (remove node_modules and package-lock.json, then npm install), or ${fromSource}`
      : `the leakwatch native addon for ${platform} comes in the optional dependency ${packageName}, which is not installed ` +
        `(installed with --omit=optional or --no-optional, or npm's bug https://github.com/npm/cli/issues/4828).\n` +
        `  Reinstall with optional dependencies (remove node_modules and package-lock.json, then npm install), or ${fromSource}`;
  }
  return leakwatchError('ERR_LEAKWATCH_NO_BINARY', message, { platform, supported, cause });
}

let binding;
try {
  binding = require('../../binding.js');
} catch (cause) {
  throw noBinaryError(cause);
}

module.exports = binding;
