'use strict';
// Output directories and files that another local user cannot redirect: directories are
// created fresh (mode 0700) or accepted only when this user owns them and nobody else can
// write to them; files go through the native file protocol (complete or absent, 0600, a
// planted symlink replaced, never followed).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const native = require('./native');
const { leakwatchError } = require('./errors');

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

/**
 * Write `data` (a string or bytes) to `file` completely or not at all, mode 0600, never
 * through a link: the one file protocol every file leakwatch writes goes through
 * (crates/os/src/files.rs: an unnamed or hidden unpredictable partial, synced, then named;
 * a symlink at `file` is replaced, never followed). Returns `file`.
 */
function writeFileAtomic(file, data) {
  return native.writeFileAtomic(file, data).file;
}

module.exports = { makeTempDir, makePrivateDir, checkOwnedDir, writeFileAtomic };
