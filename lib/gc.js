'use strict';
// A full garbage collection without --expose-gc: expose `gc` for one new context.

const v8 = require('node:v8');
const vm = require('node:vm');

let collect = typeof globalThis.gc === 'function' ? globalThis.gc : null;

function forceGc() {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc');
    // Leave the flag as we found it, so later contexts do not see a `gc` global.
    if (!process.execArgv.some((arg) => /^--expose[-_]gc$/.test(arg))) v8.setFlagsFromString('--no-expose-gc');
  }
  collect();
}

module.exports = { forceGc };
