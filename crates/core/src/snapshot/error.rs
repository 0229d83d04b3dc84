//! Errors from reading a snapshot: what kind of problem, the byte offset, and a
//! human message. Callers decide on the kind, never on the message text.

use std::fmt;

/// What is wrong with the input. One variant per way a caller may want to react; the
/// napi binding maps each to one stable JS error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotErrorKind {
    /// The input ends before the snapshot does (an interrupted or still-running dump).
    Truncated,
    /// Not laid out like a V8 heap snapshot: JSON syntax, keys, header, limits.
    NotASnapshot,
    /// Well-formed, but its parts contradict each other (counts, indexes, types).
    Inconsistent,
    /// Internal to the two-thread reader: the planned split of the edges array is not
    /// between two records. The reader then reads the file again; never reported.
    SplitMismatch,
}

/// A snapshot could not be read. `offset` is the byte position in the input where the
/// problem was noticed (for whole-file checks, the end of the section that failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError {
    pub kind: SnapshotErrorKind,
    pub offset: u64,
    pub message: String,
}

impl SnapshotError {
    /// Input that is not a heap snapshot (the most common kind, hence the short name).
    pub fn at(offset: u64, message: impl Into<String>) -> Self {
        Self::new(SnapshotErrorKind::NotASnapshot, offset, message)
    }

    pub fn new(kind: SnapshotErrorKind, offset: u64, message: impl Into<String>) -> Self {
        SnapshotError { kind, offset, message: message.into() }
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for SnapshotError {}

/// An error with the file it concerns, as the CLI and the JS API report it.
#[derive(Debug)]
pub enum ReadError {
    NotFound {
        path: String,
    },
    /// A directory or other non-file (a pipe, a device) where a file was expected;
    /// `found` says which ("a directory", …).
    NotAFile {
        path: String,
        found: &'static str,
    },
    /// Any other failure to open or read the file (permissions, I/O errors).
    Io {
        path: String,
        error: std::io::Error,
    },
    Snapshot {
        path: String,
        error: SnapshotError,
    },
    /// A bug in leakwatch (a reader thread panicked), not a problem with the file.
    Internal {
        path: String,
        message: String,
    },
    /// Two snapshots leakwatch's id sentinel says cannot be compared by object id (V8
    /// renumbered every object in between, they come from different processes, or the
    /// sentinel is ambiguous): comparing them would give wrong answers.
    Sentinel {
        files: [String; 2],
        mismatch: super::sentinel::SentinelMismatch,
    },
}

impl ReadError {
    /// From an error opening or reading `path`.
    pub fn io(path: &str, error: std::io::Error) -> Self {
        let path = path.to_string();
        match error.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotFound { path },
            std::io::ErrorKind::IsADirectory => ReadError::NotAFile { path, found: "a directory" },
            _ => ReadError::Io { path, error },
        }
    }

    pub fn path(&self) -> &str {
        match self {
            ReadError::NotFound { path }
            | ReadError::NotAFile { path, .. }
            | ReadError::Io { path, .. }
            | ReadError::Snapshot { path, .. }
            | ReadError::Internal { path, .. } => path,
            ReadError::Sentinel { files, mismatch } => &files[mismatch.later().clamp(1, 2) - 1],
        }
    }

    /// Byte offset in the file where the problem was noticed, for snapshot errors.
    pub fn offset(&self) -> Option<u64> {
        match self {
            ReadError::Snapshot { error, .. } => Some(error.offset),
            _ => None,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotFound { path } => write!(f, "{path}: no such file"),
            ReadError::NotAFile { path, found } => write!(f, "{path}: is {found}, expected a regular file"),
            ReadError::Io { path, error } => match error.kind() {
                std::io::ErrorKind::PermissionDenied => write!(f, "{path}: permission denied"),
                _ => write!(f, "{path}: {error}"),
            },
            ReadError::Snapshot { path, error } => write!(f, "{path}: not a valid heap snapshot: {error}"),
            ReadError::Internal { path, message } => write!(f, "{path}: internal error: {message}"),
            ReadError::Sentinel { files, mismatch } => {
                f.write_str(&mismatch.describe(|k| files[k.clamp(1, 2) - 1].clone()))
            }
        }
    }
}

impl std::error::Error for ReadError {}
