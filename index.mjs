// ESM entry: `import leakwatch from 'leakwatch'` and named imports.
import { createRequire } from 'node:module';

const leakwatch = createRequire(import.meta.url)('./index.js');

export default leakwatch;
export const HeapDiff = leakwatch.HeapDiff;
export const gc = leakwatch.gc.bind(leakwatch);
export const writeSnapshot = leakwatch.writeSnapshot.bind(leakwatch);
export const writeSnapshotAsync = leakwatch.writeSnapshotAsync.bind(leakwatch);
export const summarize = leakwatch.summarize.bind(leakwatch);
export const summarizeRetained = leakwatch.summarizeRetained.bind(leakwatch);
export const summarizeHeap = leakwatch.summarizeHeap.bind(leakwatch);
export const diffSnapshots = leakwatch.diffSnapshots.bind(leakwatch);
export const analyze = leakwatch.analyze.bind(leakwatch);
export const configure = leakwatch.configure.bind(leakwatch);
export const sites = leakwatch.sites.bind(leakwatch);
