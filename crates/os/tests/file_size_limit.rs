//! ENOSPC-like failures: a file-size limit (RLIMIT_FSIZE) makes writes fail with EFBIG
//! part-way, as a full disk fails them with ENOSPC. A test binary of its own: the limit is
//! process-wide.

mod common;

use common::{open_on, open_under, Scratch};
use leakwatch_os::files::{self, FileKind, Partial};
use leakwatch_os::FileError;
use std::io::Write;
use std::os::unix::fs::MetadataExt;

const LIMIT: u64 = 4096;

/// The limit, until dropped (the test harness may write its report to a file, too).
struct FileSizeLimit(libc::rlimit);

fn limit_file_size() -> FileSizeLimit {
    // SAFETY: ignoring SIGXFSZ (so that a write past the limit fails with EFBIG instead of
    // killing the process) and setting the soft limit, both with valid arguments.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let mut saved: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut saved), 0);
        let limit = libc::rlimit { rlim_cur: LIMIT as libc::rlim_t, rlim_max: saved.rlim_max };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
        FileSizeLimit(saved)
    }
}

impl Drop for FileSizeLimit {
    fn drop(&mut self) {
        // SAFETY: setting back the limit read before, a valid `rlimit`.
        unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &self.0) };
    }
}

#[test]
fn writes_that_run_out_of_room_leave_nothing_behind() {
    let dir = Scratch::new("fsize");
    let _limit = limit_file_size();

    // Our own write fails: the error keeps its errno name; no file, no descriptor.
    let big = vec![b'x'; 64 * 1024];
    let error = files::write_atomic(&dir.path("report.txt"), &big, FileKind::Other).err().unwrap();
    assert_eq!(error.errno_code(), Some("EFBIG"), "{error}");
    assert!(dir.names().is_empty());
    assert!(open_under(&dir.0).is_empty());

    // A writer that does not report its write error (V8): the completeness check catches
    // it, and the descriptor it left open is closed.
    let mut identity = None;
    let result = files::write_with(
        &dir.path("x.heapsnapshot"),
        FileKind::HeapSnapshot,
        None,
        |_| {},
        |partial: &Partial| {
            let mut writer = std::fs::OpenOptions::new().write(true).open(partial.write_path())?;
            let mut body = b"{\"snapshot\":{},\"strings\":[\"".to_vec();
            body.extend(std::iter::repeat_n(b'a', 64 * 1024));
            body.extend(b"\"]}");
            let _ = writer.write_all(&body); // ignored, as V8 does
            let meta = writer.metadata()?;
            identity = Some((meta.dev(), meta.ino()));
            std::mem::forget(writer);
            Ok::<_, std::io::Error>(true)
        },
    );
    match result {
        Err(files::WriteError::File(FileError::Incomplete { kind: FileKind::HeapSnapshot, bytes })) => {
            assert_eq!(bytes, LIMIT)
        }
        other => panic!("expected an incomplete snapshot, got {other:?}"),
    }
    let (dev, ino) = identity.unwrap();
    assert_eq!(open_on(dev, ino), 0);
    assert!(dir.names().is_empty());
    assert!(open_under(&dir.0).is_empty());

    // Within the limit all is well.
    let written = files::write_atomic(&dir.path("small.txt"), b"fits", FileKind::Other).unwrap();
    assert_eq!(written.bytes, 4);
    assert_eq!(std::fs::metadata(dir.path("small.txt")).unwrap().ino(), written.ino);
}
