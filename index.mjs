// ESM entry: `import leakwatch from 'leakwatch'` and named imports of the same object's
// members (bound, so they work detached). Only re-exports; __test__/api.test.mjs checks
// that these names, index.js's and index.d.ts's agree.
import { createRequire } from 'node:module';

const leakwatch = createRequire(import.meta.url)('./index.js');

export default leakwatch;
export const {
  HeapDiff,
  configure,
  gc,
  writeSnapshot,
  writeSnapshotAsync,
  summarize,
  summarizeRetained,
  summarizeHeap,
  diffSnapshots,
  analyze,
  humanSize,
  stop,
  sites,
  activeLeaks,
  metrics,
  registerPrometheus,
  registerOpenTelemetry,
} = leakwatch;
