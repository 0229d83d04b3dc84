//! Files that are complete or absent, even if the process dies while writing them.
//!
//! A file is written as an unnamed file (`O_TMPFILE`) in its target directory and given its
//! name only once complete (`linkat`): until then no directory entry exists, and the kernel
//! frees the blocks when the process dies. Where the system or the file system cannot make
//! one, a hidden partial name nobody can predict ([`crate::names`]) is created exclusively,
//! mode 0600, without following links, and renamed when complete; only the file leakwatch
//! created is ever renamed or removed. Before it gets its name a file passes the
//! completeness check of its [`FileKind`] and is synced. A failed write leaves nothing
//! behind: the partial is removed and every descriptor of the process still open on it
//! (what Node's `v8.writeHeapSnapshot()` leaves open after a write error) is closed, so a
//! full disk does not stay full.

use crate::error::FileError;
use crate::names;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What a file holds, which says when it is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// V8's heap snapshot JSON: it ends with `]}` (the strings array closing the object).
    HeapSnapshot,
    /// A sampling heap profile (`.heapprofile`): one whole JSON object.
    HeapProfile,
    /// Anything else (reports, charts, pages): the bytes handed over, all of them.
    Other,
}

impl FileKind {
    /// The names JS passes: `heapsnapshot`, `heapprofile`, `other`.
    pub fn parse(name: &str) -> Option<FileKind> {
        match name {
            "heapsnapshot" => Some(FileKind::HeapSnapshot),
            "heapprofile" => Some(FileKind::HeapProfile),
            "other" => Some(FileKind::Other),
            _ => None,
        }
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            FileKind::HeapSnapshot => "heap snapshot",
            FileKind::HeapProfile => "heap profile",
            FileKind::Other => "file",
        }
    }
}

/// A file written and named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    /// The file's identity (retention deletes only the very files this process wrote).
    pub dev: u64,
    pub ino: u64,
}

/// What identifies a partial file to whoever must clean it up if its writer goes away:
/// its hidden name (none for an unnamed file) and its inode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialFile {
    pub name: Option<PathBuf>,
    pub dev: u64,
    pub ino: u64,
}

/// A file being written, not yet named: completed ([`Partial::complete`]) or abandoned
/// ([`Partial::abandon`], or when dropped), never left half-written under a name.
pub struct Partial {
    file: Option<File>,
    target: PathBuf,
    /// The hidden name (`None`: an unnamed `O_TMPFILE` file).
    name: Option<PathBuf>,
    dev: u64,
    ino: u64,
    done: bool,
}

/// How many fresh random names are tried when one is taken (or planted) before giving up.
const NAME_ATTEMPTS: usize = 8;

fn directory_of(target: &Path) -> &Path {
    match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// An unnamed 0600 file open for reading and writing in `dir`, or `None` where the system
/// or the file system cannot make one.
fn open_unnamed(dir: &Path) -> Result<Option<File>, FileError> {
    #[cfg(target_os = "linux")]
    {
        let opened = OpenOptions::new().read(true).write(true).custom_flags(libc::O_TMPFILE).mode(0o600).open(dir);
        match opened {
            Ok(file) => Ok(Some(file)),
            // Not supported by this kernel or file system.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)) => Ok(None),
            Err(e) => Err(FileError::io("open", dir, e)),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        Ok(None)
    }
}

/// A new 0600 file at `path`: fails (EEXIST) rather than reuse a name or follow a link.
pub fn create_exclusive(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(path)
}

/// `path` is still the regular file (dev, ino): never a link, never a file put in its place.
fn is_same_file(path: &Path, dev: u64, ino: u64) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file() && m.dev() == dev && m.ino() == ino)
}

impl Partial {
    /// Start writing the file that will be named `target`.
    pub fn begin(target: &Path) -> Result<Partial, FileError> {
        Self::begin_with(target, true, &mut || names::hidden_partial(target))
    }

    /// Start writing `target` under a hidden name only (where `O_TMPFILE` is unavailable),
    /// taking the names to try from `next_name`.
    pub fn begin_named(
        target: &Path,
        next_name: &mut dyn FnMut() -> std::io::Result<PathBuf>,
    ) -> Result<Partial, FileError> {
        Self::begin_with(target, false, next_name)
    }

    /// `unnamed`: try `O_TMPFILE` first; `next_name`: the hidden names to try.
    fn begin_with(
        target: &Path,
        unnamed: bool,
        next_name: &mut dyn FnMut() -> std::io::Result<PathBuf>,
    ) -> Result<Partial, FileError> {
        if unnamed {
            if let Some(file) = open_unnamed(directory_of(target))? {
                return Self::new(file, target, None);
            }
        }
        // A name taken meanwhile (or planted): try another, never touch it.
        let mut attempt = 0;
        loop {
            let name = next_name().map_err(|e| FileError::io("open", target, e))?;
            match create_exclusive(&name) {
                Ok(file) => return Self::new(file, target, Some(name)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt + 1 < NAME_ATTEMPTS => attempt += 1,
                Err(e) => return Err(FileError::io("open", name, e)),
            }
        }
    }

    fn new(file: File, target: &Path, name: Option<PathBuf>) -> Result<Partial, FileError> {
        let meta = file.metadata().map_err(|e| FileError::io("fstat", target, e))?;
        Ok(Partial {
            file: Some(file),
            target: target.to_path_buf(),
            name,
            dev: meta.dev(),
            ino: meta.ino(),
            done: false,
        })
    }

    /// The open file (read and write).
    pub fn file(&self) -> &File {
        self.file.as_ref().expect("a partial's file is open until it is completed or abandoned")
    }

    /// Its descriptor, open until the partial is completed or abandoned.
    pub fn fd(&self) -> RawFd {
        self.file().as_raw_fd()
    }

    /// What a writer that opens by path (V8) should open: on Linux the `/proc/self/fd` link
    /// of this very descriptor, so a hidden name swapped for a symlink is never followed;
    /// elsewhere the hidden name.
    pub fn write_path(&self) -> PathBuf {
        let link = PathBuf::from(format!("/proc/self/fd/{}", self.fd()));
        match &self.name {
            None => link,
            Some(name) => {
                if std::fs::metadata(&link).is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino) {
                    link
                } else {
                    name.clone()
                }
            }
        }
    }

    /// What the cleanup of a writer that went away needs ([`release`]).
    pub fn identity(&self) -> PartialFile {
        PartialFile { name: self.name.clone(), dev: self.dev, ino: self.ino }
    }

    /// Check the file is complete as `kind` (and, when given, exactly `expected` bytes long),
    /// sync it and give it its name, replacing an existing file as rename does. On failure the
    /// partial is abandoned: nothing is left behind.
    pub fn complete(mut self, kind: FileKind, expected: Option<u64>) -> Result<Written, FileError> {
        let written = self.finish(kind, expected)?;
        self.done = true;
        self.file = None; // closed
        Ok(written)
    }

    fn finish(&self, kind: FileKind, expected: Option<u64>) -> Result<Written, FileError> {
        let file = self.file();
        let bytes = file.metadata().map_err(|e| FileError::io("fstat", &self.target, e))?.len();
        let complete = is_complete(file, kind, bytes).map_err(|e| FileError::io("read", &self.target, e))?;
        if !complete || expected.is_some_and(|n| n != bytes) {
            return Err(FileError::Incomplete { kind, bytes });
        }
        file.sync_all().map_err(|e| FileError::io("fsync", &self.target, e))?;
        match &self.name {
            None => link_in_place(self.fd(), &self.target)?,
            Some(name) => {
                if !is_same_file(name, self.dev, self.ino) {
                    return Err(FileError::Replaced { file: self.target.clone(), partial: name.clone() });
                }
                std::fs::rename(name, &self.target).map_err(|e| FileError::io("rename", &self.target, e))?;
            }
        }
        Ok(Written { path: self.target.clone(), bytes, dev: self.dev, ino: self.ino })
    }

    /// Give up: close every descriptor of the process on the file, remove the hidden name
    /// if it still holds this file. An unnamed file is freed with its last descriptor.
    pub fn abandon(mut self) {
        self.abandon_now();
    }

    fn abandon_now(&mut self) {
        self.done = true;
        if let Some(file) = self.file.take() {
            close_descriptors_of(self.dev, self.ino, Some(file.as_raw_fd()));
            drop(file);
        }
        if let Some(name) = &self.name {
            if is_same_file(name, self.dev, self.ino) {
                let _ = std::fs::remove_file(name);
            }
        }
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            self.abandon_now();
        }
    }
}

/// Give the unnamed file open as `fd` the name `target`, replacing an existing file as
/// rename does (`linkat` refuses an existing name: link to a fresh hidden name, then rename).
fn link_in_place(fd: RawFd, target: &Path) -> Result<(), FileError> {
    #[cfg(target_os = "linux")]
    {
        match link_fd(fd, target) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(FileError::io("link", target, e)),
        }
        let mut attempt = 0;
        let temporary = loop {
            let name = names::hidden_partial(target).map_err(|e| FileError::io("link", target, e))?;
            match link_fd(fd, &name) {
                Ok(()) => break name,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt + 1 < NAME_ATTEMPTS => attempt += 1,
                Err(e) => return Err(FileError::io("link", &name, e)),
            }
        };
        std::fs::rename(&temporary, target).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            FileError::io("rename", target, e)
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = fd;
        Err(FileError::io("link", target, std::io::Error::from(std::io::ErrorKind::Unsupported)))
    }
}

#[cfg(target_os = "linux")]
fn link_fd(fd: RawFd, to: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let invalid = |_| std::io::Error::from(std::io::ErrorKind::InvalidInput);
    let from = CString::new(format!("/proc/self/fd/{fd}")).map_err(invalid)?;
    let to = CString::new(to.as_os_str().as_bytes()).map_err(invalid)?;
    // SAFETY: linkat(2) with two NUL-terminated paths that live across the call;
    // AT_SYMLINK_FOLLOW resolves the /proc magic link to the open file itself.
    let done =
        unsafe { libc::linkat(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_SYMLINK_FOLLOW) };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether `file` (`bytes` long) is complete as `kind`.
pub fn is_complete(file: &File, kind: FileKind, bytes: u64) -> std::io::Result<bool> {
    match kind {
        FileKind::HeapSnapshot => {
            // V8 writes without reporting write errors; a complete snapshot ends with "]}".
            let take = bytes.min(64);
            let mut tail = vec![0u8; take as usize];
            file.read_exact_at(&mut tail, bytes - take)?;
            Ok(ends_with_array_then_object(&tail))
        }
        FileKind::HeapProfile => {
            let mut check = JsonCompleteness::default();
            let mut buffer = vec![0u8; 64 * 1024];
            let mut at = 0u64;
            while at < bytes {
                let n = file.read_at(&mut buffer, at)?;
                if n == 0 {
                    break;
                }
                if !check.feed(&buffer[..n]) {
                    return Ok(false);
                }
                at += n as u64;
            }
            Ok(check.complete())
        }
        FileKind::Other => Ok(true),
    }
}

/// `]` then `}`, with only whitespace between and after.
fn ends_with_array_then_object(tail: &[u8]) -> bool {
    let trimmed = tail.trim_ascii_end();
    match trimmed.split_last() {
        Some((b'}', rest)) => rest.trim_ascii_end().last() == Some(&b']'),
        _ => false,
    }
}

/// A streaming check that bytes are one whole JSON object or array: brackets balanced and
/// matched outside strings, strings closed, nothing after the end but whitespace. Not a
/// parser (numbers and literals are not checked): what it catches is a file cut short.
/// No recursion, so a deep profile tree cannot overflow the stack.
#[derive(Default)]
pub struct JsonCompleteness {
    open: Vec<u8>,
    in_string: bool,
    escaped: bool,
    ended: bool,
    broken: bool,
}

impl JsonCompleteness {
    /// Feed the next bytes; false once they cannot be the start of a complete value.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            if self.broken {
                break;
            }
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => {}
                _ if self.ended => self.broken = true,
                b'{' | b'[' => self.open.push(b),
                b'}' | b']' => {
                    let opener = if b == b'}' { b'{' } else { b'[' };
                    if self.open.pop() != Some(opener) {
                        self.broken = true;
                    } else if self.open.is_empty() {
                        self.ended = true;
                    }
                }
                // A value must be an object or an array at the top level.
                _ if self.open.is_empty() => self.broken = true,
                b'"' => self.in_string = true,
                _ => {}
            }
        }
        !self.broken
    }

    /// All bytes fed: one whole value.
    pub fn complete(&self) -> bool {
        self.ended && !self.broken && !self.in_string
    }
}

/// Write `data` to `target` completely or not at all (mode 0600, never through a link).
/// `kind` adds its completeness check to the length check.
pub fn write_atomic(target: &Path, data: &[u8], kind: FileKind) -> Result<Written, FileError> {
    write_bytes_with(target, data, kind, |_| {})
}

/// [`write_atomic`], telling `register` about the partial as [`write_with`] does.
pub(crate) fn write_bytes_with(
    target: &Path,
    data: &[u8],
    kind: FileKind,
    register: impl FnMut(Option<&PartialFile>),
) -> Result<Written, FileError> {
    let written = write_with(target, kind, Some(data.len() as u64), register, |partial| {
        partial.file().write_all(data).map(|()| true)
    });
    match written {
        Ok(Some(written)) => Ok(written),
        Ok(None) => Err(FileError::Incomplete { kind, bytes: 0 }),
        Err(WriteError::File(error)) => Err(error),
        Err(WriteError::Writer(error)) => Err(FileError::io("write", target, error)),
    }
}

/// A failed [`write_with`]: the file protocol's own failure, or the writer's.
#[derive(Debug)]
pub enum WriteError<E> {
    File(FileError),
    Writer(E),
}

/// The protocol every file write goes through: begin a partial for `target`, tell
/// `register` about it (`Some`; `None` once it is named or gone), let `writer` fill it (by
/// its descriptor, [`Partial::file`], or by [`Partial::write_path`]), then complete it as
/// `kind` (and `expected` bytes long, when given). The writer returns false when it has nothing to write after all: the partial is
/// abandoned and the result is `None`. A writer's error abandons it too.
pub fn write_with<E>(
    target: &Path,
    kind: FileKind,
    expected: Option<u64>,
    mut register: impl FnMut(Option<&PartialFile>),
    writer: impl FnOnce(&Partial) -> Result<bool, E>,
) -> Result<Option<Written>, WriteError<E>> {
    let partial = Partial::begin(target).map_err(WriteError::File)?;
    register(Some(&partial.identity()));
    let outcome = match writer(&partial) {
        Ok(true) => partial.complete(kind, expected).map(Some).map_err(WriteError::File),
        Ok(false) => {
            partial.abandon();
            Ok(None)
        }
        Err(error) => {
            partial.abandon();
            Err(WriteError::Writer(error))
        }
    };
    register(None);
    outcome
}

/// Clean up after a writer that went away mid-write (a thread torn down): remove the
/// hidden name if it still holds that file, and close what the process still has open
/// on it (its own descriptor, and V8's writer's).
pub fn release(partial: &PartialFile) {
    if let Some(name) = &partial.name {
        if is_same_file(name, partial.dev, partial.ino) {
            let _ = std::fs::remove_file(name);
        }
    }
    close_descriptors_of(partial.dev, partial.ino, None);
}

/// Close every descriptor of this process open on the file (dev, ino), except `keep`.
/// Only leakwatch's own partial files are ever passed. Linux only (a no-op elsewhere).
pub fn close_descriptors_of(dev: u64, ino: u64, keep: Option<RawFd>) {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return };
    let fds: Vec<RawFd> = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    for fd in fds.into_iter().filter(|&fd| Some(fd) != keep) {
        if std::fs::metadata(format!("/proc/self/fd/{fd}")).is_ok_and(|m| m.dev() == dev && m.ino() == ino) {
            // SAFETY: closing a descriptor that refers to leakwatch's own partial file, which
            // nothing else in the process has open (a writer that failed left it behind).
            unsafe { libc::close(fd) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(bytes: &[u8]) -> bool {
        let mut check = JsonCompleteness::default();
        // Fed in two pieces: the state carries across.
        let (a, b) = bytes.split_at(bytes.len() / 2);
        check.feed(a) && check.feed(b) && check.complete()
    }

    #[test]
    fn json_completeness() {
        assert!(whole(b"{}"));
        assert!(whole(b" {\"a\":[1,{\"b\":\"]}\\\"{\"}]}\n"));
        assert!(!whole(b""));
        assert!(!whole(b"{\"a\":[1,2]"));
        assert!(!whole(b"{\"a\":\"]}"), "a string left open");
        assert!(!whole(b"{\"a\":[1}]"), "mismatched brackets");
        assert!(!whole(b"{} {}"), "something after the value");
        assert!(!whole(b"\"text\""), "not an object or array");
        // Deep nesting needs no recursion.
        let deep = [vec![b'['; 200_000], vec![b']'; 200_000]].concat();
        assert!(whole(&deep));
        assert!(!whole(&deep[..deep.len() - 1]));
    }

    #[test]
    fn snapshot_tail() {
        assert!(ends_with_array_then_object(b"\"strings\":[\"a\"]}"));
        assert!(ends_with_array_then_object(b"]\n}\n "));
        assert!(!ends_with_array_then_object(b"\"strings\":[\"a\""));
        assert!(!ends_with_array_then_object(b"}"));
        assert!(!ends_with_array_then_object(b""));
    }
}
