'use strict';
// Output directories and files that another local user cannot redirect: directories are
// created fresh (mode 0700) or accepted only when this user owns them and nobody else can
// write to them; files are created with O_EXCL|O_NOFOLLOW, or written under a fresh random
// name and renamed over the final one (rename replaces a planted symlink, never follows it).

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { leakwatchError } = require('./errors');

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const EXCLUSIVE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/** A fresh private directory under the system temp dir: `<tmp>/<prefix>XXXXXX`, 0700. */
function makeTempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Refuse a directory another user could use to redirect leakwatch's files: it must be a
 * real directory (not a symlink), owned by this user, and not group/other-writable.
 */
function checkOwnedDir(dir) {
  let stat;
  try {
    stat = fs.lstatSync(dir);
  } catch (error) {
    throw leakwatchError('ERR_LEAKWATCH_NOT_A_DIR', `${dir}: ${error.message}`, { cause: error });
  }
  const uid = process.getuid();
  if (stat.isSymbolicLink()) {
    throw leakwatchError('ERR_LEAKWATCH_UNSAFE_DIR', `${dir} is a symbolic link; refusing to write through it (give the real directory)`, { path: dir });
  }
  if (!stat.isDirectory()) throw leakwatchError('ERR_LEAKWATCH_NOT_A_DIR', `${dir} exists and is not a directory`, { path: dir });
  if (stat.uid !== uid) {
    throw leakwatchError('ERR_LEAKWATCH_UNSAFE_DIR', `${dir} belongs to another user (uid ${stat.uid}); refusing to write there`, { path: dir });
  }
  if (stat.mode & 0o022) {
    throw leakwatchError('ERR_LEAKWATCH_UNSAFE_DIR', `${dir} can be written by other users (mode ${(stat.mode & 0o777).toString(8)}); refusing to write there`, { path: dir });
  }
  return dir;
}

/**
 * `dir` created fresh with mode 0700 (its parents as needed), or, if it already exists,
 * accepted only after checkOwnedDir. Returns the directory.
 */
function makePrivateDir(dir) {
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
    return dir;
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
  }
  return checkOwnedDir(dir);
}

/** Open a new file for writing, mode 0600: fails (EEXIST, ELOOP) rather than reuse or follow. */
function createExclusive(file, mode = 0o600) {
  return fs.openSync(file, EXCLUSIVE, mode);
}

/** A fresh hidden name next to `file` that nobody can predict. */
function freshName(file, suffix = 'tmp') {
  return path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(8).toString('hex')}.${suffix}`);
}

/**
 * Write `data` to `file` completely or not at all: into a fresh exclusive name (retrying
 * on a planted one), then renamed over `file`. Mode 0600.
 */
function writeFileAtomic(file, data) {
  for (let attempt = 0; ; attempt++) {
    const temporary = freshName(file);
    let fd;
    try {
      fd = createExclusive(temporary);
    } catch (error) {
      if (error.code === 'EEXIST' && attempt < 8) continue;
      throw error;
    }
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = null;
      fs.renameSync(temporary, file);
      return file;
    } catch (error) {
      if (fd !== null) fs.closeSync(fd);
      try {
        fs.unlinkSync(temporary);
      } catch {
        // never created or already renamed
      }
      throw error;
    }
  }
}

module.exports = { makeTempDir, makePrivateDir, checkOwnedDir, createExclusive, freshName, writeFileAtomic };
