//! Errors from reading a snapshot: always a byte offset and what was expected there.

use std::fmt;

/// A snapshot could not be read. `offset` is the byte position in the input where the
/// problem was noticed (for whole-file checks, the end of the section that failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError {
    pub offset: u64,
    pub message: String,
}

impl SnapshotError {
    pub fn at(offset: u64, message: impl Into<String>) -> Self {
        SnapshotError { offset, message: message.into() }
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
    Io {
        path: String,
        error: std::io::Error,
    },
    Snapshot {
        path: String,
        error: SnapshotError,
    },
    Invalid {
        path: String,
        message: String,
    },
    /// The same long-lived object (leakwatch's id sentinel) has different ids in two
    /// snapshots of one process: V8 renumbered every object in between (an inspector
    /// session went away), so comparing the two by id would give wrong answers.
    Renumbered {
        earlier: String,
        later: String,
        earlier_id: u32,
        later_id: u32,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { path, error } => write!(f, "{path}: {}", describe_io(error)),
            ReadError::Snapshot { path, error } => {
                write!(f, "{path}: not a valid heap snapshot: {error}")
            }
            ReadError::Invalid { path, message } => write!(f, "{path}: {message}"),
            ReadError::Renumbered { earlier, later, earlier_id, later_id } => write!(
                f,
                "{later}: V8 renumbered every object since {earlier} (leakwatch's id sentinel was @{earlier_id}, is @{later_id}), \
                 so the two cannot be compared by object id. Likely cause: an inspector session (a debugger, or a profiler \
                 that enabled the heap profiler) detached between the two snapshots. Take new snapshots, in order, after it detached."
            ),
        }
    }
}

impl std::error::Error for ReadError {}

fn describe_io(error: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match error.kind() {
        NotFound => "no such file".to_string(),
        PermissionDenied => "permission denied".to_string(),
        IsADirectory => "is a directory, expected a .heapsnapshot file".to_string(),
        _ => error.to_string(),
    }
}
