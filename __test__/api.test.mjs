// The public API is one list: what `require('leakwatch')` offers, what `import` offers and
// what index.d.ts declares must be the same names. Adding an export to one of the three
// and not the others fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import ts from 'typescript';
import { root } from './helpers.mjs';

const require = createRequire(import.meta.url);
const sorted = (names) => [...new Set(names)].sort();

/** The CommonJS export's public members: its own enumerable functions (methods, HeapDiff). */
function commonJsNames() {
  const leakwatch = require('leakwatch');
  return sorted(Object.keys(leakwatch).filter((name) => typeof leakwatch[name] === 'function' && name !== 'default'));
}

/** index.d.ts: the named value exports, and the members of the Leakwatch interface. */
function declaredNames() {
  const file = path.join(root, 'index.d.ts');
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const exported = (node) => node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const values = [];
  let members = [];
  for (const statement of source.statements) {
    if (ts.isVariableStatement(statement) && exported(statement)) {
      for (const declaration of statement.declarationList.declarations) values.push(declaration.name.text);
    } else if (ts.isClassDeclaration(statement) && exported(statement) && statement.name) {
      values.push(statement.name.text);
    } else if (ts.isInterfaceDeclaration(statement) && statement.name.text === 'Leakwatch') {
      members = statement.members
        .filter((m) => m.name && (ts.isMethodSignature(m) || (ts.isPropertySignature(m) && m.type && ts.isTypeQueryNode(m.type))))
        .map((m) => m.name.text)
        .filter((name) => !['on', 'once'].includes(name));
    }
  }
  return { values: sorted(values), members: sorted(members) };
}

test('require, import and index.d.ts offer the same API', async () => {
  const esm = await import('leakwatch');
  const esmNames = sorted(Object.keys(esm).filter((name) => name !== 'default'));
  const cjsNames = commonJsNames();
  const { values, members } = declaredNames();
  assert.deepEqual(esmNames, cjsNames, 'index.mjs named exports vs require("leakwatch")');
  assert.deepEqual(values, cjsNames, 'index.d.ts exported values vs require("leakwatch")');
  assert.deepEqual(members, cjsNames, 'index.d.ts Leakwatch interface vs require("leakwatch")');
  assert.equal(esm.default, require('leakwatch'), 'the default export is the CommonJS export');
  for (const name of esmNames) assert.equal(typeof esm[name], 'function', name);
});

test('named exports work detached (bound), as memwatch/heapdump code uses them', async () => {
  const { humanSize, stop, configure } = await import('leakwatch');
  assert.equal(humanSize(1_866_465), '1.78 mb');
  assert.equal(typeof configure({}).checkResources, 'boolean');
  stop();
});

test('the generated binding types use the JS names (no Js* aliases)', () => {
  const binding = fs.readFileSync(path.join(root, 'binding.d.ts'), 'utf8');
  assert.doesNotMatch(binding, /\bJs[A-Z]\w*/, 'binding.d.ts mentions a Rust-side Js* name');
  assert.match(binding, /export interface ClassStat\b/);
});
