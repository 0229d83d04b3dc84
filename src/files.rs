//! Snapshot files that are complete or absent, even if the process dies while writing:
//! an unnamed file (`O_TMPFILE`) in the target directory, written through
//! `/proc/self/fd/N`, and given its name only once complete (`linkat`). Until then no
//! directory entry exists, and the kernel frees the blocks when the process dies.
//! Linux only; elsewhere (or on file systems without `O_TMPFILE`) JS falls back to a
//! hidden partial name renamed when complete.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::ffi::CString;
use std::os::unix::fs::MetadataExt;

fn c_path(path: &str) -> Result<CString> {
    CString::new(path).map_err(|_| Error::from_reason(format!("invalid path (NUL byte): {path}")))
}

/// The last OS error as a JS error whose `code` is the errno name (as Node's fs errors).
fn os_error(env: &Env, what: &str, path: &str) -> Error {
    io_error(env, &std::io::Error::last_os_error(), what, path)
}

/// An I/O error as a JS error whose `code` is the errno name (as Node's fs errors).
pub(crate) fn io_error(env: &Env, error: &std::io::Error, what: &str, path: &str) -> Error {
    // Named and worded as Node's own fs errors, so callers handle both alike.
    let (code, text) = match error.raw_os_error() {
        Some(libc::ENOENT) => ("ENOENT", "no such file or directory"),
        Some(libc::EACCES) => ("EACCES", "permission denied"),
        Some(libc::EPERM) => ("EPERM", "operation not permitted"),
        Some(libc::ENOSPC) => ("ENOSPC", "no space left on device"),
        Some(libc::EROFS) => ("EROFS", "read-only file system"),
        Some(libc::EEXIST) => ("EEXIST", "file already exists"),
        Some(libc::ENOTDIR) => ("ENOTDIR", "not a directory"),
        Some(libc::EDQUOT) => ("EDQUOT", "disk quota exceeded"),
        _ => ("EIO", "i/o error"),
    };
    let message = format!("{code}: {text}, {what} '{path}' ({error})");
    let js = JsError::from(Error::new(code, message)).into_unknown(*env);
    Error::from(js)
}

/// An unnamed 0600 file open for writing in `dir`, or null where the system or the file
/// system cannot make one (the caller then uses a named partial file).
#[napi(catch_unwind)]
pub fn tmpfile_open(env: Env, dir: String) -> Result<Option<i32>> {
    #[cfg(target_os = "linux")]
    {
        let path = c_path(&dir)?;
        // SAFETY: a plain open(2) of a NUL-terminated path.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC, 0o600) };
        if fd >= 0 {
            return Ok(Some(fd));
        }
        match std::io::Error::last_os_error().raw_os_error() {
            // Not supported by this kernel or file system.
            Some(libc::EOPNOTSUPP) | Some(libc::EISDIR) | Some(libc::EINVAL) => Ok(None),
            _ => Err(os_error(&env, "open", &dir)),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (env, dir);
        Ok(None)
    }
}

/// Give the unnamed file `fd` the name `path` (fails with EEXIST if `path` exists).
#[napi(catch_unwind)]
pub fn tmpfile_link(env: Env, fd: i32, path: String) -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        let from = c_path(&format!("/proc/self/fd/{fd}"))?;
        let to = c_path(&path)?;
        // SAFETY: linkat(2) with NUL-terminated paths; AT_SYMLINK_FOLLOW resolves the
        // /proc magic link to the open file itself.
        let done = unsafe {
            libc::linkat(libc::AT_FDCWD, from.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_SYMLINK_FOLLOW)
        };
        if done == 0 {
            Ok(())
        } else {
            Err(os_error(&env, "link", &path))
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (env, fd, path);
        Err(Error::from_reason("unnamed files are Linux-only"))
    }
}

/// Close the unnamed file's descriptor [`tmpfile_open`] gave. Natively: in a worker thread
/// Node tracks the descriptors its `fs` opened, and closing any other through `fs` prints
/// "File descriptor N closed but not opened in unmanaged mode".
#[napi(catch_unwind)]
pub fn tmpfile_close(fd: i32) {
    if fd >= 0 {
        // SAFETY: closing a descriptor tmpfile_open returned, which only its caller uses.
        unsafe { libc::close(fd) };
    }
}

/// Close every descriptor of this process still open on the file at `path` except
/// `keep`: what Node's `v8.writeHeapSnapshot()` leaves open when a write fails (ENOSPC,
/// EIO), which would keep a failed partial's blocks allocated until the process exits.
/// Only leakwatch's own partial file is ever passed. Linux only (a no-op elsewhere).
#[napi(catch_unwind)]
pub fn close_descriptors_on(path: String, keep: Option<i32>) {
    if let Ok(meta) = std::fs::metadata(&path) {
        close_descriptors_of(meta.dev(), meta.ino(), keep);
    }
}

/// Close every descriptor of this process open on the file (dev, ino), except `keep`:
/// also what a thread torn down mid-dump left open on its partial (its own, and V8's
/// writer), see `signals::release_if_owner`.
pub(crate) fn close_descriptors_of(dev: u64, ino: u64, keep: Option<i32>) {
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else { return };
    let fds: Vec<i32> = entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect();
    for fd in fds.into_iter().filter(|&fd| Some(fd) != keep) {
        if std::fs::metadata(format!("/proc/self/fd/{fd}")).is_ok_and(|m| m.dev() == dev && m.ino() == ino) {
            // SAFETY: closing a descriptor that refers to leakwatch's own partial file,
            // which nothing else in the process has open.
            unsafe { libc::close(fd) };
        }
    }
}
