//! Writing files, for JS: `leakwatch_os::files` does the work (complete or absent, 0600,
//! never through a link, a completeness check per kind); this file converts arguments and
//! errors, and calls the JS writer where V8 must write (a heap snapshot).

use crate::error::Failure;
use crate::signals::env_id;
use leakwatch_os::files::{FileKind, Partial, WriteError, Written};
use leakwatch_os::lock::DUMP_LOCK;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::Path;

/// A file written and named.
#[napi(object, object_from_js = false)]
pub struct WrittenFile {
    pub file: String,
    pub bytes: f64,
    /// Its identity: retention deletes only the very files this process wrote.
    pub dev: f64,
    pub ino: f64,
}

fn to_js(written: Written) -> WrittenFile {
    WrittenFile {
        file: written.path.display().to_string(),
        bytes: written.bytes as f64,
        dev: written.dev as f64,
        ino: written.ino as f64,
    }
}

fn kind_of(kind: Option<&str>) -> std::result::Result<FileKind, Failure> {
    FileKind::parse(kind.unwrap_or("other"))
        .ok_or(Failure::InvalidArg("the file kind must be 'heapsnapshot', 'heapprofile' or 'other'"))
}

/// Write `file` (kind `heapsnapshot`, `heapprofile` or `other`) through the one file
/// protocol: `write(path, fd)` fills the partial file, opening `path` (as
/// `v8.writeHeapSnapshot` does) or writing to `fd`; it returns false when it has nothing to
/// write after all (the result is then null). The file gets its name only once complete
/// (its kind's check) and synced; on any failure, the writer's exception included, nothing
/// is left behind. While this environment holds the dump lock, its partial is cleaned up
/// should the environment go away mid-write. Errors: the writer's, `ERR_LEAKWATCH_INCOMPLETE`,
/// or an operating-system failure coded by its errno name (`ENOSPC`, `EACCES`, …).
#[napi(
    catch_unwind,
    ts_args_type = "file: string, kind: 'heapsnapshot' | 'heapprofile' | 'other', write: (path: string, fd: number) => boolean | void"
)]
pub fn write_file_with(
    env: Env,
    file: String,
    kind: String,
    write: Function<'_, FnArgs<(String, i32)>, Unknown<'_>>,
) -> Result<Option<WrittenFile>> {
    let kind = kind_of(Some(&kind)).map_err(|f| f.into_js(&env))?;
    let writer = |partial: &Partial| -> Result<bool> {
        let path = partial.write_path().display().to_string();
        let returned = write.call((path, partial.fd()).into())?;
        Ok(!matches!(returned.get_type()?, ValueType::Boolean) || returned.coerce_to_bool()?)
    };
    match DUMP_LOCK.write_file(env_id(&env), Path::new(&file), kind, None, writer) {
        Ok(written) => Ok(written.map(to_js)),
        Err(WriteError::File(error)) => Err(Failure::File(error).into_js(&env)),
        // The writer's exception, still pending: it reaches the caller as it was thrown.
        Err(WriteError::Writer(error)) => Err(error),
    }
}

/// Write `data` to `file` completely or not at all (mode 0600, never through a link): the
/// same protocol as [`write_file_with`], and the length written is checked too.
#[napi(
    catch_unwind,
    ts_args_type = "file: string, data: string | Uint8Array, kind?: 'heapsnapshot' | 'heapprofile' | 'other'"
)]
pub fn write_file_atomic(
    env: Env,
    file: String,
    data: Either<String, &[u8]>,
    kind: Option<String>,
) -> Result<WrittenFile> {
    let kind = kind_of(kind.as_deref()).map_err(|f| f.into_js(&env))?;
    let bytes = match &data {
        Either::A(text) => text.as_bytes(),
        Either::B(bytes) => bytes,
    };
    DUMP_LOCK
        .write_bytes(env_id(&env), Path::new(&file), bytes, kind)
        .map(to_js)
        .map_err(|e| Failure::File(e).into_js(&env))
}
