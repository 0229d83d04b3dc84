'use strict';
// The stats file: JSON lines, one record per line ({event, t, pid, …}), appended by the agent
// (the statsFile option, LEAKWATCH_STATS_FILE) and read by the CLI (`leakwatch run`, `plot`,
// `report`). This module is its one owner, the format as well as the file:
// - SCHEMA: every kind of record, its fields in the order they are written, and the type
//   each is read as. Which fields a line has, and under which names, is decided here only:
//   the agent hands its events to the constructors below, which take the listed fields, and
//   the CLI reads lines through read(), never by the names in the file.
// - Constructors, one per kind (start, stats, leak, leakResolved, snapshot, growth,
//   memoryPressure, error; create(kind, payload) picks one by name): the header {event, t,
//   pid}, then the kind's fields taken from the event in schema order. A field the event has
//   and the schema does not is not written.
// - read(record or line): the typed view the CLI uses: the header, then each field of the
//   kind under its camelCase name (used_heap_size -> usedHeapSize), as its type or null
//   (a number is finite, an integer whole, …), typed when it is read. Lines that are not
//   records read as null.
// - The file: the agent appends through a RecordWriter (rotating by size, keeping one
//   rotated file `<file>.1`), `leakwatch run` follows it with a RecordTail, and `plot`,
//   `report` and run's summary stream it with readRecords, line by line, so a file of any
//   size is read in bounded memory. Both deliver records as parsed (read() types them).
// index.d.ts types the lines as StatsFileRecord; __test__/records.test.mjs checks that each
// event's fields all reach its record, in the order they were always written.

const fs = require('node:fs');
const { leakwatchError } = require('./errors');

// ---- the schema ---------------------------------------------------------------------

/** How a field is read: its value when it has the type, else null. */
const TYPES = Object.freeze({
  number: (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null),
  integer: (v) => (Number.isInteger(v) ? v : null),
  string: (v) => (typeof v === 'string' ? v : null),
  // Written as a Date, which JSON turns into its ISO string; read as that string.
  date: (v) => (typeof v === 'string' ? v : null),
  boolean: (v) => (typeof v === 'boolean' ? v : null),
  array: (v) => (Array.isArray(v) ? v : null),
  object: (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null),
});

/** Every record starts with these: the kind, when it was written (ms since the epoch), by which process. */
const HEADER = Object.freeze({ event: 'string', t: 'number', pid: 'integer' });
const HEADER_FIELDS = Object.entries(HEADER);

/**
 * Each kind of record and its fields, in the order they are written. The events behind them
 * are typed in index.d.ts (StatsEvent, LeakEvent, …); where their fields come from is noted.
 */
const SCHEMA = deepFreeze({
  // Once per process, when it opens the stats file (what report.html's environment shows).
  start: { argv: 'array', node: 'string', ppid: 'integer', execArgv: 'array', nodeOptions: 'string', leakwatch: 'string', memoryLimit: 'number' },
  // After each full GC (lib/agent/monitor.js).
  stats: {
    // Computed by the core's monitor (src/monitor.rs MonitorStats; memwatch's names).
    num_full_gc: 'number',
    num_inc_gc: 'number',
    heap_compactions: 'number',
    usage_trend: 'number',
    estimated_base: 'number',
    current_base: 'number',
    min: 'number',
    max: 'number',
    gcScavengeCount: 'number',
    gcScavengeTime: 'number',
    gcMarkSweepCompactCount: 'number',
    gcMarkSweepCompactTime: 'number',
    gcIncrementalMarkingCount: 'number',
    gcIncrementalMarkingTime: 'number',
    gcProcessWeakCallbacksCount: 'number',
    gcProcessWeakCallbacksTime: 'number',
    gc_time: 'number',
    // v8.getHeapStatistics() (V8's names).
    total_heap_size: 'number',
    total_heap_size_executable: 'number',
    total_physical_size: 'number',
    total_available_size: 'number',
    used_heap_size: 'number',
    heap_size_limit: 'number',
    malloced_memory: 'number',
    peak_malloced_memory: 'number',
    // process.memoryUsage(), and the GC itself.
    external: 'number',
    array_buffers: 'number',
    rss: 'number',
    forced: 'boolean',
    gc_ts: 'number',
    timestamp: 'date',
  },
  // A leak verdict (lib/agent/monitor.js toLeakEvent; `sites` added by index.js).
  leak: {
    id: 'integer',
    start: 'date',
    end: 'date',
    growth: 'number',
    reason: 'string',
    kind: 'string',
    rate: 'number',
    windowMs: 'number',
    samples: 'integer',
    forcedGcs: 'integer',
    baselineStart: 'number',
    baselineEnd: 'number',
    evidence: 'object',
    sites: 'array',
  },
  // A verdict withdrawn (lib/agent/monitor.js toResolvedEvent).
  leakResolved: { id: 'integer', kind: 'string', start: 'date', end: 'date', reason: 'string', evidence: 'object' },
  // A snapshot written (lib/agent/snapshots.js; pauseMs and viaInspector when the watchdog
  // wrote it, profile and sites when the sampler runs: index.js).
  snapshot: {
    file: 'string',
    bytes: 'number',
    durationMs: 'number',
    pauseMs: 'number',
    trigger: 'string',
    viaInspector: 'boolean',
    completedAt: 'date',
    profile: 'string',
    sites: 'array',
  },
  // The growth report against the previous snapshot (lib/agent/snapshots.js), without its full diff.
  growth: { file: 'string', previous: 'string', topBySize: 'array' },
  // Memory pressure (lib/agent/pressure.js): the level reached (src/pressure.rs
  // PressureLevel), then what the guard wrote.
  memoryPressure: {
    resource: 'string',
    level: 'integer',
    threshold: 'number',
    ratio: 'number',
    used: 'number',
    limit: 'number',
    rate: 'number',
    tMs: 'number',
    reason: 'string',
    // Optional in the binding, which sets it after the others when there is one.
    timeToLimitMs: 'number',
    heapLimit: 'number',
    memoryLimit: 'number',
    at: 'date',
    sites: 'array',
    leaks: 'integer',
    files: 'object',
    snapshot: 'string',
    snapshotSkipped: 'string',
  },
  // A failure the agent reported ('error' event or warning).
  error: { message: 'string', code: 'string' },
});

const KINDS = Object.freeze(Object.keys(SCHEMA));

function deepFreeze(object) {
  for (const value of Object.values(object)) if (value !== null && typeof value === 'object') deepFreeze(value);
  return Object.freeze(object);
}

/** `used_heap_size` -> `usedHeapSize`: a field's name in the typed view. */
const viewName = (field) => field.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

/** kind -> [[field, view name, type reader]], in schema order. */
const FIELDS = new Map(KINDS.map((kind) => [kind, Object.entries(SCHEMA[kind]).map(([field, type]) => [field, viewName(field), TYPES[type]])]));

// ---- constructors (the agent) -------------------------------------------------------

/**
 * A record of `kind`: the header, then the kind's fields from `payload` in schema order (a
 * field the payload lacks is left out of the line). `header` overrides the time and pid.
 */
function build(kind, payload, { t = Date.now(), pid = process.pid } = {}) {
  const record = { event: kind, t, pid };
  for (const [field] of FIELDS.get(kind)) record[field] = payload[field];
  return record;
}

/** This process's start: its command line, Node, and `info` ({leakwatch: version, memoryLimit}). */
const start = (info = {}, header) =>
  build(
    'start',
    { argv: process.argv.slice(1), node: process.version, ppid: process.ppid, execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS || '', ...info },
    header,
  );
const stats = (event, header) => build('stats', event, header);
const leak = (event, header) => build('leak', event, header);
const leakResolved = (event, header) => build('leakResolved', event, header);
const snapshot = (event, header) => build('snapshot', event, header);
const growth = (event, header) => build('growth', event, header);
const memoryPressure = (event, header) => build('memoryPressure', event, header);
/** A reported failure: its message and code. */
const error = (failure, header) => build('error', { message: failure && failure.message ? failure.message : String(failure), code: failure && failure.code }, header);

const CONSTRUCTORS = new Map(Object.entries({ start, stats, leak, leakResolved, snapshot, growth, memoryPressure, error }));

/** The record of an agent event of that name (its payload as emitted), or null: not a kind the stats file keeps. */
function create(kind, payload, header) {
  const make = CONSTRUCTORS.get(kind);
  return make === undefined ? null : make(payload, header);
}

// ---- the typed reader (the CLI) -----------------------------------------------------

const RAW = Symbol('leakwatch.record');

/**
 * A record as the CLI reads it: the header as fields, each field of its kind as a getter
 * (on the kind's prototype, below) that types the value when it is read, so reading a
 * record costs nothing for the fields nobody asks for (a month of stats records is read
 * twice by `plot` and `report`).
 */
class RecordView {
  constructor(parsed) {
    for (const [field, type] of HEADER_FIELDS) this[field] = TYPES[type](parsed[field]);
    this[RAW] = parsed;
  }

  /** Every field, typed, as a plain object (JSON.stringify, inspection). */
  toJSON() {
    const out = {};
    for (const field of Object.keys(HEADER)) out[field] = this[field];
    for (const [, name] of FIELDS.get(this.event) ?? []) out[name] = this[name];
    return out;
  }
}

/** kind -> its view class: a getter per field, under its view name. */
const VIEWS = new Map(
  KINDS.map((kind) => {
    const View = class extends RecordView {};
    for (const [field, name, as] of FIELDS.get(kind)) {
      Object.defineProperty(View.prototype, name, {
        get() {
          return as(this[RAW][field]);
        },
        enumerable: true,
      });
    }
    return [kind, View];
  }),
);

/**
 * The typed view of a record (as parsed, or a line of the file): {event, t, pid} (t a finite
 * number, pid a whole number, or null), then every field of its kind under its view name,
 * as its type or null. A kind this version does not know has the header only. Null when it
 * is not a record at all.
 */
function read(record) {
  const parsed = typeof record === 'string' ? parseRecord(record) : record;
  if (parsed === null || typeof parsed !== 'object' || typeof parsed.event !== 'string') return null;
  const View = VIEWS.get(parsed.event) ?? RecordView;
  return new View(parsed);
}

// ---- the file -----------------------------------------------------------------------

/** Rotate when the file would grow past this (statsFileMaxBytes); one rotated file is kept. */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** A line longer than this is not a record leakwatch wrote: skipped without being held. */
const MAX_LINE_BYTES = 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

const rotatedName = (file) => `${file}.1`;

/**
 * Every stats file leakwatch writes is opened here: append-only, 0600, never through a
 * symlink. `fresh` truncates (a new run) and drops a rotated file left by an earlier run.
 */
function openRecordFile(file, { fresh = false } = {}) {
  const { O_WRONLY, O_APPEND, O_CREAT, O_TRUNC, O_NOFOLLOW } = fs.constants;
  if (fresh) {
    try {
      fs.unlinkSync(rotatedName(file));
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
  }
  return fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | (fresh ? O_TRUNC : 0), 0o600);
}

/** Create (or empty) a stats file for a new run. */
function createRecordFile(file) {
  fs.closeSync(openRecordFile(file, { fresh: true }));
}

/**
 * Appends records to the stats file. When the next line would take the file past
 * `maxBytes` (0: never), the file is renamed to `<file>.1` (replacing the previous one)
 * and a new one started. Several processes may append to one file (a cluster): a writer
 * whose file was rotated by another process reopens the new one instead of rotating again.
 * A failure never stops recording for good: the record that failed is lost (the caller
 * reports the error), and the next append opens the file again.
 */
class RecordWriter {
  constructor(file, { maxBytes = DEFAULT_MAX_BYTES } = {}) {
    this.file = file;
    this.maxBytes = maxBytes;
    this.fd = openRecordFile(file);
    this.closed = false;
  }

  /** Append one record (throws on I/O errors; the caller reports them). */
  append(record) {
    if (this.closed) return;
    const line = Buffer.from(JSON.stringify(record) + '\n');
    try {
      if (this.fd === null) this.fd = openRecordFile(this.file);
      if (this.maxBytes > 0) this.rotateIfFull(line.length);
      fs.writeSync(this.fd, line);
    } catch (error) {
      // Start again from the name at the next record (a rotation half done, a full disk).
      this.closeFd();
      throw error;
    }
  }

  rotateIfFull(adding) {
    const mine = fs.fstatSync(this.fd);
    if (mine.size === 0 || mine.size + adding <= this.maxBytes) return;
    let current = null;
    try {
      current = fs.lstatSync(this.file);
    } catch {
      // gone: start a new one
    }
    // Still the file at that name: rotate it. Otherwise another writer already did.
    if (current && current.ino === mine.ino && current.dev === mine.dev) {
      try {
        fs.renameSync(this.file, rotatedName(this.file));
      } catch (error) {
        // Another writer renamed it between our lstat and our rename: it rotated first.
        if (error.code !== 'ENOENT') throw error;
      }
    }
    this.closeFd();
    this.fd = openRecordFile(this.file);
  }

  closeFd() {
    if (this.fd === null) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = null;
  }

  close() {
    this.closeFd();
    this.closed = true;
  }
}

/** A parsed line: a record object with a string `event`, or null (not a record). */
function parseRecord(text) {
  try {
    const record = JSON.parse(text);
    return record !== null && typeof record === 'object' && !Array.isArray(record) && typeof record.event === 'string' ? record : null;
  } catch {
    return null;
  }
}

/**
 * Bytes in, records out: splits on newlines across chunk boundaries (UTF-8 safe: lines are
 * decoded whole), skips blank lines, counts lines that are not records, and drops a line
 * longer than MAX_LINE_BYTES as it streams past instead of holding it.
 */
class RecordSplitter {
  constructor(onRecord) {
    this.onRecord = onRecord;
    this.parts = [];
    this.size = 0;
    this.overlong = false;
    this.records = 0;
    this.skipped = 0;
  }

  push(chunk) {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(10, start);
      if (newline === -1) break;
      this.line(chunk.subarray(start, newline));
      start = newline + 1;
    }
    // The caller reuses its buffer: keep a copy of the unfinished line.
    if (start < chunk.length) this.keep(Buffer.from(chunk.subarray(start)));
  }

  keep(part) {
    if (this.overlong) return;
    if (this.size + part.length > MAX_LINE_BYTES) {
      this.overlong = true;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(part);
    this.size += part.length;
  }

  line(tail) {
    if (this.overlong) {
      this.overlong = false;
      this.skipped += 1;
      return;
    }
    if (this.size + tail.length > MAX_LINE_BYTES) {
      this.parts = [];
      this.size = 0;
      this.skipped += 1;
      return;
    }
    const bytes = this.parts.length ? Buffer.concat([...this.parts, tail]) : tail;
    this.parts = [];
    this.size = 0;
    const text = bytes.toString('utf8');
    if (!text.trim()) return;
    const record = parseRecord(text);
    if (record === null) {
      this.skipped += 1;
      return;
    }
    this.records += 1;
    this.onRecord(record);
  }

  /** End of input: an unfinished last line counts (a complete record without its newline). */
  end() {
    if (this.overlong || this.size > 0) this.line(Buffer.alloc(0));
  }
}

/** Read `fd` from `position` to its end through `splitter`; returns the new position. */
function pump(fd, position, splitter, buffer) {
  let at = position;
  for (;;) {
    const n = fs.readSync(fd, buffer, 0, buffer.length, at);
    if (n === 0) return at;
    at += n;
    splitter.push(n === buffer.length ? buffer : buffer.subarray(0, n));
  }
}

/** An error naming the file in one line, with a leakwatch code (the OS code as `cause`). */
function readError(file, error) {
  const [code, why] = {
    ENOENT: ['ERR_LEAKWATCH_NOT_FOUND', 'no such file'],
    EISDIR: ['ERR_LEAKWATCH_NOT_A_FILE', 'is a directory, expected a JSON-lines stats file'],
    EACCES: ['ERR_LEAKWATCH_IO', 'permission denied'],
  }[error.code] || ['ERR_LEAKWATCH_IO', error.message];
  return leakwatchError(code, `${file}: ${why}`, { file, cause: error });
}

/**
 * Stream every record of a stats file, its rotated part `<file>.1` first, to
 * `onRecord(record)`. Returns {records, skipped} (skipped: lines that are not records).
 * Memory stays bounded whatever the file's size.
 */
function readRecords(file, onRecord) {
  const totals = { records: 0, skipped: 0 };
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  for (const name of [rotatedName(file), file]) {
    let fd;
    try {
      fd = fs.openSync(name, 'r');
    } catch (error) {
      if (name !== file && error.code === 'ENOENT') continue;
      throw readError(name, error);
    }
    try {
      const splitter = new RecordSplitter(onRecord);
      try {
        pump(fd, 0, splitter, buffer);
      } catch (error) {
        throw readError(name, error);
      }
      splitter.end();
      totals.records += splitter.records;
      totals.skipped += splitter.skipped;
    } finally {
      fs.closeSync(fd);
    }
  }
  return totals;
}

/**
 * Follows a stats file that other processes append to (and rotate): each poll(onRecord)
 * delivers the records written since the last one. A rotation between polls is noticed by
 * the file's inode changing: the rest of the old file is read from `<file>.1` first.
 */
class RecordTail {
  constructor(file) {
    this.file = file;
    this.ino = null;
    this.offset = 0;
    this.buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    this.splitter = null;
    this.skippedEarlier = 0;
    this.onRecord = () => {};
  }

  /** Lines seen so far that were not records. */
  get skipped() {
    return this.skippedEarlier + (this.splitter ? this.splitter.skipped : 0);
  }

  poll(onRecord) {
    this.onRecord = onRecord;
    let stat;
    try {
      stat = fs.statSync(this.file);
    } catch {
      return;
    }
    if (this.ino !== null && stat.ino !== this.ino) {
      this.finishRotated();
      this.start(stat.ino);
    } else if (this.ino === null) {
      this.start(stat.ino);
    } else if (stat.size < this.offset) {
      this.start(stat.ino); // truncated
    }
    this.offset = this.readFrom(this.file, this.offset, this.ino);
  }

  start(ino) {
    if (this.splitter) this.skippedEarlier += this.splitter.skipped;
    this.splitter = new RecordSplitter((record) => this.onRecord(record));
    this.ino = ino;
    this.offset = 0;
  }

  finishRotated() {
    this.readFrom(rotatedName(this.file), this.offset, this.ino);
    this.splitter.end();
  }

  /** Read `name` from `offset` if it is still the file with inode `ino`; returns the new offset. */
  readFrom(name, offset, ino) {
    let fd;
    try {
      fd = fs.openSync(name, 'r');
    } catch {
      return offset;
    }
    try {
      if (fs.fstatSync(fd).ino !== ino) return offset;
      return pump(fd, offset, this.splitter, this.buffer);
    } catch {
      return offset;
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The writer has gone: an unfinished last line is read as it is. */
  end(onRecord) {
    this.poll(onRecord);
    if (this.splitter) this.splitter.end();
  }
}

module.exports = {
  // the schema, its constructors and its reader
  HEADER,
  SCHEMA,
  KINDS,
  viewName,
  create,
  start,
  stats,
  leak,
  leakResolved,
  snapshot,
  growth,
  memoryPressure,
  error,
  read,
  // the file
  DEFAULT_MAX_BYTES,
  MAX_LINE_BYTES,
  rotatedName,
  openRecordFile,
  createRecordFile,
  RecordWriter,
  RecordTail,
  readRecords,
  parseRecord,
};
