// Public typings of leakwatch. Result shapes come from the native binding (binding.d.ts).
import { EventEmitter } from 'node:events';
import type {
  Analysis,
  AnalyzeOptions,
  HeapDiffResult,
  NodeRef,
  PathStep,
  Summary,
  SuspectGroup,
  HeapDiffDetail,
  JsClassStat,
} from './binding';

export type { Analysis, AnalyzeOptions, HeapDiffResult, HeapDiffDetail, NodeRef, PathStep, Summary, SuspectGroup, JsClassStat as ClassStat };

/** The `stats` event, after each full (mark-sweep-compact) GC. Times in nanoseconds as @airbnb/node-memwatch. */
export interface StatsEvent {
  // memwatch / memwatch-next
  num_full_gc: number;
  num_inc_gc: number;
  heap_compactions: number;
  /** Signed slope of the post-GC baseline, bytes per second. */
  usage_trend: number;
  estimated_base: number;
  current_base: number;
  min: number;
  max: number;
  // @airbnb/node-memwatch
  gc_ts: number;
  gcScavengeCount: number;
  gcScavengeTime: number;
  gcMarkSweepCompactCount: number;
  gcMarkSweepCompactTime: number;
  gcIncrementalMarkingCount: number;
  gcIncrementalMarkingTime: number;
  gcProcessWeakCallbacksCount: number;
  gcProcessWeakCallbacksTime: number;
  total_heap_size: number;
  total_heap_size_executable: number;
  total_physical_size: number;
  total_available_size: number;
  used_heap_size: number;
  heap_size_limit: number;
  malloced_memory: number;
  peak_malloced_memory: number;
  gc_time: number;
  // leakwatch
  external: number;
  array_buffers: number;
  rss: number;
  /** The collection was forced (gc() or a confirmation probe). */
  forced: boolean;
  timestamp: Date;
}

/** What a `leak` verdict rests on. */
export interface LeakEvidence {
  /** The rule that judged ('adaptive' by default; 'legacy' is leakwatch 0.1's). */
  rule: 'adaptive' | 'legacy';
  /**
   * The signals used: 'survival' (sampled allocations of the window stay alive while newer
   * ones keep adding up), 'heap-after-gc' / 'external-after-gc' (the post-GC figure rose),
   * 'forced-gcs' (GCs leakwatch forced are among the samples).
   */
  signals: Array<'survival' | 'heap-after-gc' | 'external-after-gc' | 'forced-gcs'>;
  /** The window the verdict covers, ms. */
  windowMs: number;
  /** Survival figures, when the allocation sampler supplied them. */
  survival: {
    /** performance.now() of the sampler's read the verdict used. */
    readingAtMs: number;
    /** Allocation intervals (cohorts) in the window. */
    cohorts: number;
    /** Estimated bytes they still hold. */
    retainedBytes: number;
    /** Share of its settled size the older half of the window still holds (≥ 0.9 for a leak). */
    oldRetention: number;
    /** Estimated bytes the newest third of the window holds. */
    recentBytes: number;
  } | null;
}

/** The `leak` event: memwatch's fields plus the figures behind the verdict. */
export interface LeakEvent {
  start: Date;
  end: Date;
  /** Bytes the post-GC baseline grew over the window. */
  growth: number;
  reason: string;
  kind: 'heap' | 'external';
  /** Bytes per second. */
  rate: number;
  windowMs: number;
  /** Full-GC samples the verdict rests on. */
  samples: number;
  /** How many of them came from confirmation GCs leakwatch forced. */
  forcedGcs: number;
  /** Lower envelope of the post-GC figure at the start and end of the window. */
  baselineStart: number;
  baselineEnd: number;
  evidence: LeakEvidence;
}

export interface SnapshotEvent {
  file: string;
  bytes: number;
  durationMs: number;
  trigger: 'signal' | 'api';
  completedAt: Date;
  /** Taken through the inspector by the watchdog while the main thread was stuck. */
  viaInspector?: boolean;
}

export interface GrowthEvent {
  previous: string;
  file: string;
  diff: HeapDiffResult;
  topBySize: HeapDiffDetail[];
  topByCount: HeapDiffDetail[];
}

export interface Options {
  /** Where default-named snapshots go (env LEAKWATCH_SNAPSHOT_DIR). Default: the current directory. */
  snapshotDir?: string;
  /** Keep at most this many of leakwatch's own snapshots; 0 keeps all (env LEAKWATCH_MAX_SNAPSHOTS). */
  maxSnapshots?: number;
  /** Dump signal, or false for none (env LEAKWATCH_SIGNAL, NODE_HEAPDUMP_OPTIONS=nosignal). Chosen before install only. */
  signal?: string | false;
  /** Dump through the inspector from a worker when the main thread is stuck. Default true. */
  watchdog?: boolean;
  /** How long the main thread may take to answer a dump signal before the watchdog does. Default 1000. */
  stuckAfterMs?: number;
  /** Refuse to dump when free memory or disk is below the used heap. Default true. */
  checkResources?: boolean;
  /** Print per-constructor growth to stderr after each dump. Default true (env LEAKWATCH_QUIET=1 turns off). */
  growthReport?: boolean;
  /** Observe GCs even without 'stats'/'leak' listeners. */
  leakDetection?: boolean;
  /** Print 'leak' events to stderr. */
  reportLeaks?: boolean;
  /** Append every stats/leak/snapshot/growth event as JSON lines (env LEAKWATCH_STATS_FILE). */
  statsFile?: string;
  /** Leak rule: 'adaptive' (default; survival of sampled allocations when the sampler runs, phase-robust post-GC figures otherwise) or 'legacy' (leakwatch 0.1's rule). */
  detector?: 'adaptive' | 'legacy';
  /** Leak detector: ignore the first ms after start (default 3000; legacy 5000). */
  warmupMs?: number;
  /** Leak detector: evidence must span at least this long (default 9000; legacy 12000). */
  minDurationMs?: number;
  /** Leak detector: full-GC samples needed by the figures rule (default 4; legacy 3). */
  minSamples?: number;
  /** Leak detector: growth needed in bytes (default 1 MiB)… */
  minGrowthBytes?: number;
  /** …and as a share of the baseline (default 0.01). */
  minGrowthRatio?: number;
  /** Leak detector: look back at most this far (default 120000). */
  maxWindowMs?: number;
  /** Minimum ms between forced confirmation GCs; 0 never forces one (default 3000; legacy 8000). */
  probeIntervalMs?: number;
}

export declare class HeapDiff {
  /** Snapshots the heap now. Throws when called without `new`. */
  constructor();
  /** Snapshots again and returns the per-class difference. A second call throws. */
  end(): HeapDiffResult;
  /** Like end(), with the comparison off the main thread. */
  endAsync(): Promise<HeapDiffResult>;
}

export interface Leakwatch extends EventEmitter {
  on(event: 'stats', listener: (stats: StatsEvent) => void): this;
  on(event: 'leak', listener: (leak: LeakEvent) => void): this;
  on(event: 'snapshot', listener: (snapshot: SnapshotEvent) => void): this;
  on(event: 'growth', listener: (growth: GrowthEvent) => void): this;
  on(event: 'error', listener: (error: Error & { code?: string }) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'stats', listener: (stats: StatsEvent) => void): this;
  once(event: 'leak', listener: (leak: LeakEvent) => void): this;
  once(event: 'snapshot', listener: (snapshot: SnapshotEvent) => void): this;
  once(event: 'growth', listener: (growth: GrowthEvent) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;

  HeapDiff: typeof HeapDiff;
  readonly options: Readonly<Required<Pick<Options, 'maxSnapshots' | 'watchdog' | 'checkResources'>>> & Options;
  /** Change options; returns the options in force. */
  configure(options: Options): Options;
  /** Force a full garbage collection (no --expose-gc needed). Triggers 'stats'. */
  gc(): void;
  /** heapdump's API: write a snapshot (synchronously) and return its file name; callback(err, filename). */
  writeSnapshot(filename?: string, callback?: (error: (Error & { code?: string }) | null, filename: string) => void): string;
  writeSnapshot(callback: (error: (Error & { code?: string }) | null, filename: string) => void): string;
  writeSnapshotAsync(filename?: string): Promise<SnapshotEvent>;
  /** Per-class count and self size of a snapshot file, off the main thread. */
  summarize(file: string, options?: { progress?: (progress: [number, number]) => void }): Promise<Summary>;
  /** Summary with retained sizes (full graph and dominator tree). */
  summarizeRetained(file: string, options?: { progress?: (progress: [number, number]) => void }): Promise<Summary>;
  /** Per-class summary of this process's heap now, streamed from V8 without a file. */
  summarizeHeap(): Promise<Summary>;
  /** memwatch-style HeapDiff of two snapshot files, off the main thread. */
  diffSnapshots(before: string, after: string): Promise<HeapDiffResult>;
  /** The three-snapshot technique over S1…Sn (n >= 3, in order, one process). */
  analyze(files: string[], options?: AnalyzeOptions): Promise<Analysis>;
  /** Sizes as memwatch prints them: "1.78 mb". */
  humanSize(bytes: number): string;
  /** Stop observing GCs and stop the watchdog. */
  stop(): void;
}

declare const leakwatch: Leakwatch;
export default leakwatch;
export declare const gc: Leakwatch['gc'];
export declare const writeSnapshot: Leakwatch['writeSnapshot'];
export declare const writeSnapshotAsync: Leakwatch['writeSnapshotAsync'];
export declare const summarize: Leakwatch['summarize'];
export declare const summarizeRetained: Leakwatch['summarizeRetained'];
export declare const summarizeHeap: Leakwatch['summarizeHeap'];
export declare const diffSnapshots: Leakwatch['diffSnapshots'];
export declare const analyze: Leakwatch['analyze'];
export declare const configure: Leakwatch['configure'];
