'use strict';
// The stats file: JSON lines, one record per line ({event, t, pid, …}; the record union is
// typed in index.d.ts as StatsFileRecord). This module is its one owner: the agent appends
// through a RecordWriter (rotating by size, keeping one rotated file `<file>.1`), `leakwatch
// run` follows it with a RecordTail, and `leakwatch plot` and run's summary read it with
// readRecords, streaming line by line, so a file of any size is read in bounded memory.

const fs = require('node:fs');
const { leakwatchError } = require('./errors');

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

module.exports = { DEFAULT_MAX_BYTES, MAX_LINE_BYTES, rotatedName, openRecordFile, createRecordFile, RecordWriter, RecordTail, readRecords, parseRecord };
