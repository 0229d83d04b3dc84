'use strict';
// A full garbage collection without --expose-gc: expose `gc` for one new context.
//
// The context is made when this module loads (with leakwatch, before any snapshot it can
// take; about 1 ms), never lazily on the first collection: a context made between two
// snapshots is a few hundred objects (its global, builtins, closures) allocated between
// them and kept for good, which `analyze` would blame as a leak.

const v8 = require('node:v8');
const vm = require('node:vm');

const collect = typeof globalThis.gc === 'function' ? globalThis.gc : exposeGc();

function exposeGc() {
  v8.setFlagsFromString('--expose-gc');
  try {
    return vm.runInNewContext('gc');
  } finally {
    // Leave the flag as we found it, so later contexts do not see a `gc` global.
    if (!process.execArgv.some((arg) => /^--expose[-_]gc$/.test(arg))) v8.setFlagsFromString('--no-expose-gc');
  }
}

function forceGc() {
  collect();
}

module.exports = { forceGc };
