// Public typings of leakwatch. Every shape that comes from Rust is generated (binding.d.ts, from
// the core's types): it is re-exported here as it is, or extended with what JS adds (Dates,
// snapshots' `sites`, Node's own heap figures).
import { EventEmitter } from 'node:events';
import type {
  AllocationFrame,
  AllocationSite,
  Analysis,
  AnalyzeOptions,
  ClassStat,
  DetectorOptions,
  HeapDiffDetail,
  HeapDiffResult,
  LeakEvidence as MonitorEvidence,
  LeakSurvivalEvidence,
  MonitorLeak,
  MonitorResolution,
  MonitorStats,
  NodeRef,
  PathStep,
  PressureLevel,
  PressureOptions,
  SamplerOptions,
  SiteRanking,
  SummarizeOptions,
  Summary,
  SurvivalReading,
  SuspectGroup,
} from './binding';

export type {
  AllocationFrame,
  AllocationSite,
  Analysis,
  AnalyzeOptions,
  ClassStat,
  DetectorOptions,
  HeapDiffDetail,
  HeapDiffResult,
  LeakSurvivalEvidence,
  NodeRef,
  PathStep,
  PressureLevel,
  PressureOptions,
  SiteRanking,
  SummarizeOptions,
  Summary,
  SurvivalReading,
  SuspectGroup,
};

/** The `code` of every error leakwatch raises or reports (lib/shared/errors.js; README "Error codes"). */
export type LeakwatchErrorCode =
  | 'ERR_LEAKWATCH_NOT_FOUND'
  | 'ERR_LEAKWATCH_NOT_A_FILE'
  | 'ERR_LEAKWATCH_IO'
  | 'ERR_LEAKWATCH_TRUNCATED'
  | 'ERR_LEAKWATCH_NOT_A_SNAPSHOT'
  | 'ERR_LEAKWATCH_INCONSISTENT'
  | 'ERR_LEAKWATCH_TOO_FEW_SNAPSHOTS'
  | 'ERR_LEAKWATCH_OUT_OF_ORDER'
  | 'ERR_LEAKWATCH_RENUMBERED'
  | 'ERR_LEAKWATCH_DIFFERENT_PROCESSES'
  | 'ERR_LEAKWATCH_AMBIGUOUS_SENTINEL'
  | 'ERR_LEAKWATCH_SAME_SNAPSHOT'
  | 'ERR_LEAKWATCH_STREAM_FINISHED'
  | 'ERR_LEAKWATCH_CHART_SIZE'
  | 'ERR_LEAKWATCH_INTERNAL'
  | 'ERR_LEAKWATCH_BUSY'
  | 'ERR_LEAKWATCH_NO_MEMORY'
  | 'ERR_LEAKWATCH_NO_DISK'
  | 'ERR_LEAKWATCH_INCOMPLETE'
  | 'ERR_LEAKWATCH_DEBUGGER_ATTACHED'
  | 'ERR_LEAKWATCH_NOT_PAUSED'
  | 'ERR_LEAKWATCH_WATCHDOG'
  | 'ERR_LEAKWATCH_UNSAFE_DIR'
  | 'ERR_LEAKWATCH_NOT_A_DIR'
  | 'ERR_LEAKWATCH_NEEDS_FILE'
  | 'ERR_LEAKWATCH_STREAM_TWICE'
  | 'ERR_LEAKWATCH_ALREADY_ENDED'
  | 'ERR_LEAKWATCH_CANNOT_START'
  | 'ERR_LEAKWATCH_SAMPLING_OFF'
  | 'ERR_LEAKWATCH_SAMPLING_UNAVAILABLE'
  | 'ERR_LEAKWATCH_SAMPLING_FOREIGN'
  | 'ERR_LEAKWATCH_SAMPLING_RESTARTED'
  | 'ERR_LEAKWATCH_SAMPLING_FAILED'
  | 'ERR_LEAKWATCH_SAMPLING_FALLBACK'
  | 'ERR_LEAKWATCH_METRICS_LISTEN'
  | 'ERR_LEAKWATCH_PEER_MISSING'
  | 'ERR_LEAKWATCH_PROFILE_TRUNCATED'
  | 'ERR_LEAKWATCH_PROFILE_INVALID'
  | 'ERR_LEAKWATCH_NOT_A_PROFILE'
  | 'ERR_LEAKWATCH_NO_BINARY'
  | 'ERR_LEAKWATCH_INVALID_OPTION'
  | 'ERR_LEAKWATCH_INVALID_ARG'
  | 'ERR_LEAKWATCH_NO_RECORDS'
  | 'ERR_LEAKWATCH_NO_SUCH_PID'
  | 'ERR_LEAKWATCH_NOTHING_TO_REPORT'
  | 'ERR_LEAKWATCH_USAGE';

/**
 * An error from leakwatch. `code` is stable; the message is for people. Operating-system
 * failures while writing a snapshot keep their own code (`ENOSPC`, `EACCES`, …).
 */
export interface LeakwatchError extends Error {
  code: LeakwatchErrorCode | (string & {});
  /** The file the error is about (snapshot, stats file, chart). */
  file?: string;
  /** Byte offset in `file` where a snapshot stopped making sense. */
  offset?: number;
  /** ERR_LEAKWATCH_INVALID_OPTION from the environment (a warning): the variables left out. */
  variables?: string[];
}

/**
 * The `stats` event, after each full (mark-sweep-compact) GC: the monitor's figures (memwatch's
 * names; times in nanoseconds as @airbnb/node-memwatch) and Node's own.
 */
export interface StatsEvent extends MonitorStats {
  // @airbnb/node-memwatch
  gc_ts: number;
  total_heap_size: number;
  total_heap_size_executable: number;
  total_physical_size: number;
  total_available_size: number;
  used_heap_size: number;
  heap_size_limit: number;
  malloced_memory: number;
  peak_malloced_memory: number;
  // leakwatch
  external: number;
  array_buffers: number;
  rss: number;
  /** The collection was forced (gc() or a confirmation probe). */
  forced: boolean;
  timestamp: Date;
}

/** What a `leak` verdict rests on: the rule that judged, the signals used, the window. */
export interface LeakEvidence extends Omit<MonitorEvidence, 'survival'> {
  /** The window the verdict covers, ms. */
  windowMs: number;
  /** Survival figures, when the allocation sampler supplied them. */
  survival: LeakSurvivalEvidence | null;
}

/** The `leak` event: memwatch's fields plus the figures behind the verdict. */
export interface LeakEvent extends Omit<MonitorLeak, 'startMs' | 'endMs' | 'evidence'> {
  start: Date;
  end: Date;
  evidence: LeakEvidence;
}

/**
 * A verdict withdrawn: what it rested on stopped holding (the figure levelled off for a whole
 * trailing window: a cache or a store that filled). `start` is when it was raised, `end` now.
 */
export interface LeakResolvedEvent extends Pick<MonitorResolution, 'id' | 'kind' | 'reason'> {
  start: Date;
  end: Date;
  evidence: Pick<MonitorResolution, 'freedShare' | 'trailingRate' | 'trailingWindowMs' | 'fillMs' | 'nextRequiredMs' | 'fillBytes' | 'nextOutgrowBytes'> & {
    /** The post-GC figure's level where growth stopped (its lower envelope), bytes. */
    plateau: number;
    /** When the figure reached it. */
    stoppedAt: Date;
  };
}

/** The sampler's own options (`interval`, `stackDepth`, `windowReads`; defaults: `samplerDefaults()`) and how JS reads it. */
export interface SamplingOptions extends Pick<SamplerOptions, 'interval' | 'stackDepth' | 'windowReads'> {
  /** Least time between profile reads. Default 2000. Native route: reads follow V8's natural full GCs (never forced, but on heaps where a forced GC is under maxProbePauseMs); inspector route: a read every period (stretched to 100x the last read's pause), each forcing a full GC. */
  readPeriodMs?: number;
  /**
   * How V8's sampler is read. 'auto' (default): natively (no GC; ~1 ms a read) once a self-check in this
   * process proves it exact, else the inspector, said once with ERR_LEAKWATCH_SAMPLING_FALLBACK.
   * 'native': natively or not at all (the default with a bare 'leak' listener). 'inspector': always the
   * inspector, whose every read forces a full, atomic GC (~1 s on a 750 MB heap).
   */
  route?: 'auto' | 'native' | 'inspector';
}

export interface SnapshotEvent {
  file: string;
  bytes: number;
  durationMs: number;
  trigger: 'signal' | 'api' | 'pressure';
  completedAt: Date;
  /** Taken through the inspector by the watchdog while the main thread was stuck. */
  viaInspector?: boolean;
  /** The sampling heap profile written next to the snapshot (`.heapprofile`, DevTools' Memory panel loads it), when sampling is on. */
  profile?: string;
  /** Top leak sites at the time of the dump, when sampling is on. */
  sites?: AllocationSite[];
  /** Watchdog dumps: ms from the request until the main thread was paused in the debugger. */
  pauseMs?: number;
}

/**
 * The heap after GC neared V8's limit, or resident memory neared the container's: what
 * leakwatch wrote at once into snapshotDir (0600, complete or absent), with the figures.
 * Each level is reported once (again only after the ratio fell 10 points below it and the
 * cooldown passed).
 */
export interface MemoryPressureEvent extends PressureLevel {
  /** The old generation's limit (--max-old-space-size, else heap_size_limit), bytes. */
  heapLimit: number;
  /** The container's memory limit, bytes; 0 when there is none. */
  memoryLimit: number;
  at: Date;
  pid: number;
  /** Top leak sites (allocation sampling), when it runs. */
  sites: AllocationSite[];
  /** Leak events raised before (the report lists the last five). */
  leaks: number;
  /** The files written (null when one could not be: see the 'error' event). */
  files: { profile: string | null; report: string | null; figures: string | null };
  /** A heap snapshot, with snapshotOnPressure and room for it; else null and why in snapshotSkipped. */
  snapshot: string | null;
  snapshotSkipped: string | null;
}

export interface GrowthEvent {
  previous: string;
  file: string;
  diff: HeapDiffResult;
  topBySize: HeapDiffDetail[];
  topByCount: HeapDiffDetail[];
}

/** Fields every line of the stats file has: `t` in ms since the epoch, the writing process. */
export interface StatsFileRecordBase {
  t: number;
  pid: number;
}

/**
 * One line of the stats file (JSON lines, written with the statsFile option or
 * LEAKWATCH_STATS_FILE, read by `leakwatch run`, `plot` and `report`). Dates are ISO strings.
 * When the file would exceed statsFileMaxBytes it is renamed to `<file>.1` (one kept).
 * The fields of each kind, in the order they are written, are listed once, in
 * lib/shared/records.js (SCHEMA).
 */
export type StatsFileRecord =
  | (StatsFileRecordBase & {
      event: 'start';
      argv: string[];
      node: string;
      ppid: number;
      /** Node's own flags (`process.execArgv`), NODE_OPTIONS, leakwatch's version, the container's memory limit (0: none). */
      execArgv: string[];
      nodeOptions: string;
      leakwatch: string;
      memoryLimit: number;
    })
  | (StatsFileRecordBase & Omit<StatsEvent, 'timestamp'> & { event: 'stats'; timestamp: string })
  | (StatsFileRecordBase & Omit<LeakEvent, 'start' | 'end'> & { event: 'leak'; start: string; end: string })
  | (StatsFileRecordBase & Omit<LeakResolvedEvent, 'start' | 'end' | 'evidence'> & { event: 'leakResolved'; start: string; end: string; evidence: Omit<LeakResolvedEvent['evidence'], 'stoppedAt'> & { stoppedAt: string } })
  | (StatsFileRecordBase & Omit<SnapshotEvent, 'completedAt'> & { event: 'snapshot'; completedAt: string })
  | (StatsFileRecordBase & Pick<GrowthEvent, 'file' | 'previous' | 'topBySize'> & { event: 'growth' })
  | (StatsFileRecordBase & Omit<MemoryPressureEvent, 'at'> & { event: 'memoryPressure'; at: string })
  | (StatsFileRecordBase & { event: 'error'; message: string; code?: string });

/** leakwatch's options; the leak detector's (`detector`, `warmupMs`, …) are `DetectorOptions`. */
export interface Options extends DetectorOptions {
  /** Where default-named snapshots go (env LEAKWATCH_SNAPSHOT_DIR). Default: the current directory. */
  snapshotDir?: string;
  /** Keep at most this many of the default-named snapshots this process wrote (never another process's or an earlier run's); 0 keeps all (env LEAKWATCH_MAX_SNAPSHOTS). */
  maxSnapshots?: number;
  /** Dump signal, or false for none (env LEAKWATCH_SIGNAL, NODE_HEAPDUMP_OPTIONS=nosignal). Chosen before install only. */
  signal?: string | false;
  /** Dump through the inspector from a worker when the main thread is stuck. Default true. */
  watchdog?: boolean;
  /** How long the main thread may take to answer a dump signal before the watchdog does. Default 1000. */
  stuckAfterMs?: number;
  /**
   * A dump refused because another has held the one-dump-at-a-time lock for longer than
   * this is reported (an 'error' event or a warning, code ERR_LEAKWATCH_BUSY), the dump
   * signal included. Default 600000 (10 minutes).
   */
  busyReportAfterMs?: number;
  /** Refuse to dump when free memory or disk is below the used heap. Default true. */
  checkResources?: boolean;
  /** Print per-constructor growth to stderr after each dump. Default true (env LEAKWATCH_QUIET=1 turns off). */
  growthReport?: boolean;
  /** Observe GCs even without 'stats'/'leak' listeners. */
  leakDetection?: boolean;
  /** Print 'leak' events to stderr. */
  reportLeaks?: boolean;
  /** Append every stats/leak/snapshot/growth event as JSON lines (env LEAKWATCH_STATS_FILE); see StatsFileRecord. */
  statsFile?: string;
  /** Rotate the stats file to `<statsFile>.1` (replacing the previous one) before it exceeds this many bytes; 0 never rotates. Default 64 MiB (env LEAKWATCH_STATS_FILE_MAX_BYTES). */
  statsFileMaxBytes?: number;
  /** Allocation sampling for leak sites: on with leakDetection unless false; true or options turn it on. */
  sampling?: boolean | SamplingOptions;
  /**
   * The memory-pressure guard, on with leak detection or sampling unless false: past 65 % and
   * 75 % of the heap limit (85 % and 95 % of a container's memory limit) it writes the
   * allocation profile, a report and the figures, and emits 'memoryPressure'. An object sets
   * the thresholds.
   */
  memoryPressure?: boolean | PressureOptions;
  /** On memory pressure, also a full heap snapshot when the memory available allows it (~13x the used heap). Default false. */
  snapshotOnPressure?: boolean;
  /**
   * Serve Prometheus' `/metrics` (text format 0.0.4): `'host:port'`, `':port'` or a port
   * (127.0.0.1), `true` (127.0.0.1:9464), or `{host, port, maxSites}` (maxSites: leak-site
   * series, default 10, at most 100). `LEAKWATCH_METRICS` sets it without code. In a cluster
   * the primary serves every worker's series (label `worker`); workers do not listen. A port
   * that cannot be bound is an ERR_LEAKWATCH_METRICS_LISTEN error event, never a throw.
   */
  metrics?: boolean | number | string | MetricsEndpoint;
}

export declare class HeapDiff {
  /** Snapshots the heap now. Throws when called without `new`. */
  constructor();
  /** Snapshots again and returns the per-class difference. A second call throws. */
  end(): HeapDiffResult;
  /** Like end(), with the comparison off the main thread. */
  endAsync(): Promise<HeapDiffResult>;
}

export interface MetricsEndpoint {
  /** Default 127.0.0.1: set '0.0.0.0' or '::' to be scraped from other hosts. */
  host?: string;
  /** Default 9464; 0 picks a free port. */
  port?: number;
  /** The top leak sites exported as `leakwatch_leak_site_live_bytes` series (default 10, at most 100). */
  maxSites?: number;
}

/** A prom-client Registry (prom-client is an optional peer: its type is not imported). */
export interface PrometheusRegistry {
  registerMetric(metric: unknown): void;
}

export interface OpenTelemetryOptions {
  /** An @opentelemetry/api MeterProvider; default: the global one (`metrics.getMeterProvider()`). */
  meterProvider?: { getMeter(name: string, version?: string): unknown };
}

export interface Leakwatch extends EventEmitter {
  on(event: 'stats', listener: (stats: StatsEvent) => void): this;
  on(event: 'leak', listener: (leak: LeakEvent) => void): this;
  on(event: 'leakResolved', listener: (resolved: LeakResolvedEvent) => void): this;
  on(event: 'snapshot', listener: (snapshot: SnapshotEvent) => void): this;
  on(event: 'growth', listener: (growth: GrowthEvent) => void): this;
  on(event: 'memoryPressure', listener: (pressure: MemoryPressureEvent) => void): this;
  on(event: 'error', listener: (error: LeakwatchError) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'stats', listener: (stats: StatsEvent) => void): this;
  once(event: 'leak', listener: (leak: LeakEvent) => void): this;
  once(event: 'leakResolved', listener: (resolved: LeakResolvedEvent) => void): this;
  once(event: 'snapshot', listener: (snapshot: SnapshotEvent) => void): this;
  once(event: 'growth', listener: (growth: GrowthEvent) => void): this;
  once(event: 'memoryPressure', listener: (pressure: MemoryPressureEvent) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;

  HeapDiff: typeof HeapDiff;
  readonly options: Readonly<Required<Pick<Options, 'maxSnapshots' | 'watchdog' | 'checkResources'>>> & Options;
  /** Change options; returns the options in force. Throws ERR_LEAKWATCH_INVALID_OPTION (invalid values in the environment only warn). */
  configure(options: Options): Options;
  /** Force a full garbage collection (no --expose-gc needed). Triggers 'stats'. */
  gc(): void;
  /** heapdump's API: write a snapshot (synchronously) and return its file name; callback(err, filename). */
  writeSnapshot(filename?: string, callback?: (error: LeakwatchError | null, filename: string) => void): string;
  writeSnapshot(callback: (error: LeakwatchError | null, filename: string) => void): string;
  writeSnapshotAsync(filename?: string): Promise<SnapshotEvent>;
  /** Per-class count and self size (and retained size with `{retained: true}`) of a snapshot file, off the main thread. */
  summarize(file: string, options?: SummarizeOptions): Promise<Summary>;
  /** `summarize(file, {...options, retained: true})`, kept for compatibility. */
  summarizeRetained(file: string, options?: Omit<SummarizeOptions, 'retained'>): Promise<Summary>;
  /** Per-class summary of this process's heap now, streamed from V8 without a file. */
  summarizeHeap(): Promise<Summary>;
  /** memwatch-style HeapDiff of two snapshot files, off the main thread. */
  diffSnapshots(before: string, after: string): Promise<HeapDiffResult>;
  /** The three-snapshot technique over S1…Sn (n >= 3, in order, one process). */
  analyze(files: string[], options?: AnalyzeOptions): Promise<Analysis>;
  /** Sizes as memwatch prints them: "1.78 mb". */
  humanSize(bytes: number): string;
  /** Leak sites now (a fresh profile read unless the last is under a second old); `all` lists every live stack. Rejects with ERR_LEAKWATCH_SAMPLING_OFF when sampling is off. */
  sites(options?: { limit?: number; all?: boolean }): Promise<SiteRanking>;
  /**
   * leakwatch's metrics in Prometheus' text format (0.0.4), for an app that serves /metrics
   * itself; in a cluster's primary, with every worker's series (label `worker`). The first
   * call starts observing GCs and judging leaks (as a 'leak' listener would).
   */
  metrics(): Promise<string>;
  /** The leak verdicts standing now: the latest 'leak' event of each (at most one per kind), until a 'leakResolved' withdraws it. */
  activeLeaks(): LeakEvent[];
  /** Add leakwatch's collectors to a prom-client registry (default: prom-client's global `register`); returns their names. */
  registerPrometheus(registry?: PrometheusRegistry): string[];
  /** leakwatch's instruments (`leakwatch.*`) on an OpenTelemetry MeterProvider (default: the global one); returns their Prometheus-style names. */
  registerOpenTelemetry(options?: OpenTelemetryOptions): string[];
  /** Stop observing GCs, the watchdog and allocation sampling. */
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
export declare const humanSize: Leakwatch['humanSize'];
export declare const stop: Leakwatch['stop'];
export declare const sites: Leakwatch['sites'];
export declare const metrics: Leakwatch['metrics'];
export declare const activeLeaks: Leakwatch['activeLeaks'];
export declare const registerPrometheus: Leakwatch['registerPrometheus'];
export declare const registerOpenTelemetry: Leakwatch['registerOpenTelemetry'];
