// The published typings compile against code written the way memwatch/heapdump users write it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

test('index.d.ts type-checks a realistic usage file under --strict', () => {
  const tsc = path.join(root, 'node_modules', '.bin', 'tsc');
  const result = spawnSync(
    tsc,
    ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck', 'false', path.join(root, '__test__/fixtures/types-usage.ts')],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});
