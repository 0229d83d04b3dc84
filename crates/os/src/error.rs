//! What writing a file can fail with. The JS codes are given in the napi crate
//! (`src/error.rs`); operating-system failures keep their errno name, as Node's fs errors do.

use crate::files::FileKind;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum FileError {
    /// A system call failed: `op` on `path` (what the message names).
    Io { op: &'static str, path: PathBuf, error: std::io::Error },
    /// The written file fails its kind's completeness check (V8 does not report write errors).
    Incomplete { kind: FileKind, bytes: u64 },
    /// The hidden partial name no longer holds the file leakwatch created.
    Replaced { file: PathBuf, partial: PathBuf },
}

impl FileError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        FileError::Io { op, path: path.into(), error }
    }

    /// The errno name of an operating-system failure ("ENOSPC"), as Node's fs errors have it.
    pub fn errno_code(&self) -> Option<&'static str> {
        match self {
            FileError::Io { error, .. } => Some(errno_name(error).0),
            _ => None,
        }
    }
}

/// The errno name and Node's wording of it; `EIO` for anything not listed.
pub fn errno_name(error: &std::io::Error) -> (&'static str, &'static str) {
    match error.raw_os_error() {
        Some(libc::ENOENT) => ("ENOENT", "no such file or directory"),
        Some(libc::EACCES) => ("EACCES", "permission denied"),
        Some(libc::EPERM) => ("EPERM", "operation not permitted"),
        Some(libc::ENOSPC) => ("ENOSPC", "no space left on device"),
        Some(libc::EROFS) => ("EROFS", "read-only file system"),
        Some(libc::EEXIST) => ("EEXIST", "file already exists"),
        Some(libc::ENOTDIR) => ("ENOTDIR", "not a directory"),
        Some(libc::EISDIR) => ("EISDIR", "illegal operation on a directory"),
        Some(libc::EDQUOT) => ("EDQUOT", "disk quota exceeded"),
        Some(libc::EFBIG) => ("EFBIG", "file too large"),
        Some(libc::ELOOP) => ("ELOOP", "too many symbolic links encountered"),
        Some(libc::EMFILE) => ("EMFILE", "too many open files"),
        Some(libc::ENAMETOOLONG) => ("ENAMETOOLONG", "name too long"),
        Some(libc::EXDEV) => ("EXDEV", "cross-device link not permitted"),
        _ if error.kind() == std::io::ErrorKind::InvalidInput => ("EINVAL", "invalid argument"),
        _ => ("EIO", "i/o error"),
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Worded as Node's own fs errors, so callers handle both alike.
            FileError::Io { op, path, error } => {
                let (code, text) = errno_name(error);
                write!(f, "{code}: {text}, {op} '{}' ({error})", path.display())
            }
            FileError::Incomplete { kind, bytes } => {
                write!(f, "the {} is incomplete after {bytes} bytes (is the disk full?)", kind.describe())
            }
            FileError::Replaced { file, partial } => write!(
                f,
                "cannot write heap snapshot {}: its partial file {} was replaced by another",
                file.display(),
                partial.display()
            ),
        }
    }
}

impl std::error::Error for FileError {}
