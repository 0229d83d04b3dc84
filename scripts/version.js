#!/usr/bin/env node
'use strict';
// `npm version` hook (runs after the bump, before the commit): the per-platform packages
// (npm/<platform>/package.json, via `napi version`) and the main package's
// optionalDependencies on them take the new version, and go into the version commit.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const file = path.join(root, 'package.json');
const napi = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'napi.cmd' : 'napi');
execFileSync(napi, ['version'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
for (const name of Object.keys(pkg.optionalDependencies || {})) pkg.optionalDependencies[name] = pkg.version;
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
execFileSync('git', ['add', 'package.json', 'package-lock.json', 'npm'], { cwd: root, stdio: 'inherit' });
