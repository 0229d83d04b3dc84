//! The one conversion of core errors into JS errors. Each kind of failure gets one stable
//! `code` here (listed again, for JS, in `lib/shared/errors.js`: `__test__/errors.test.mjs`
//! checks that the two lists agree), plus `file` and `offset` where they apply; the
//! message stays human. Add a kind: one variant, one arm in `code`.

use leakwatch_core::plot::PlotError;
use leakwatch_core::sampling::ProfileError;
use leakwatch_core::snapshot::{
    AnalyzeError, AnalyzeFilesError, ReadError, SentinelMismatch, SnapshotError, SnapshotErrorKind,
};
use leakwatch_os::FileError;
use napi::bindgen_prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Everything the binding can fail with.
#[derive(Debug)]
pub enum Failure {
    Read(ReadError),
    Analyze(AnalyzeFilesError),
    /// A snapshot pushed in chunks (no file).
    Stream(SnapshotError),
    /// One of the two snapshots of a `DiffStream` ("first" or "second").
    DiffStream {
        which: &'static str,
        error: SnapshotError,
    },
    /// `push`/`finish` on a stream reader that has already finished or failed, or
    /// called out of order.
    StreamFinished,
    Plot(PlotError),
    /// A `.heapprofile` (or a profile read from the inspector) that cannot be used; `name`
    /// is the file, or what the profile was.
    Profile {
        name: String,
        error: ProfileError,
    },
    /// V8's sampling profiler cannot be driven natively here (the inspector route is used).
    NativeSampling(String),
    /// An argument of the wrong shape from JS.
    InvalidArg(&'static str),
    /// Writing a file (`leakwatch_os::files`): an operating-system failure keeps its errno
    /// name as its code, as Node's fs errors do.
    File(FileError),
    /// A bug in leakwatch: a panic caught at the boundary.
    Panic,
}

impl From<ReadError> for Failure {
    fn from(error: ReadError) -> Self {
        Failure::Read(error)
    }
}

impl From<AnalyzeFilesError> for Failure {
    fn from(error: AnalyzeFilesError) -> Self {
        Failure::Analyze(error)
    }
}

fn snapshot_code(kind: SnapshotErrorKind) -> &'static str {
    match kind {
        SnapshotErrorKind::Truncated => "ERR_LEAKWATCH_TRUNCATED",
        SnapshotErrorKind::NotASnapshot => "ERR_LEAKWATCH_NOT_A_SNAPSHOT",
        SnapshotErrorKind::Inconsistent => "ERR_LEAKWATCH_INCONSISTENT",
        SnapshotErrorKind::SplitMismatch => "ERR_LEAKWATCH_INTERNAL",
    }
}

fn sentinel_code(mismatch: &SentinelMismatch) -> &'static str {
    match mismatch {
        SentinelMismatch::Renumbered { .. } => "ERR_LEAKWATCH_RENUMBERED",
        SentinelMismatch::DifferentProcesses { .. } => "ERR_LEAKWATCH_DIFFERENT_PROCESSES",
        SentinelMismatch::Ambiguous { .. } => "ERR_LEAKWATCH_AMBIGUOUS_SENTINEL",
    }
}

impl Failure {
    /// The stable code: what programs branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Read(error) | Failure::Analyze(AnalyzeFilesError::Read(error)) => match error {
                ReadError::NotFound { .. } => "ERR_LEAKWATCH_NOT_FOUND",
                ReadError::NotAFile { .. } => "ERR_LEAKWATCH_NOT_A_FILE",
                ReadError::Io { .. } => "ERR_LEAKWATCH_IO",
                ReadError::Snapshot { error, .. } => snapshot_code(error.kind),
                ReadError::Internal { .. } => "ERR_LEAKWATCH_INTERNAL",
                ReadError::Sentinel { mismatch, .. } => sentinel_code(mismatch),
            },
            Failure::Stream(error) | Failure::DiffStream { error, .. } => snapshot_code(error.kind),
            Failure::Panic => "ERR_LEAKWATCH_INTERNAL",
            Failure::Analyze(AnalyzeFilesError::Analyze { error, .. }) => match error {
                AnalyzeError::TooFewSnapshots(_) => "ERR_LEAKWATCH_TOO_FEW_SNAPSHOTS",
                AnalyzeError::OutOfOrder { .. } => "ERR_LEAKWATCH_OUT_OF_ORDER",
                AnalyzeError::NothingBetween => "ERR_LEAKWATCH_SAME_SNAPSHOT",
                AnalyzeError::Sentinel(mismatch) => sentinel_code(mismatch),
            },
            Failure::StreamFinished => "ERR_LEAKWATCH_STREAM_FINISHED",
            Failure::Plot(PlotError::SizeOutOfRange { .. }) => "ERR_LEAKWATCH_CHART_SIZE",
            Failure::Plot(PlotError::Render(_)) => "ERR_LEAKWATCH_INTERNAL",
            Failure::Profile { error, .. } => match error {
                ProfileError::Truncated { .. } => "ERR_LEAKWATCH_PROFILE_TRUNCATED",
                ProfileError::InvalidJson { .. } => "ERR_LEAKWATCH_PROFILE_INVALID",
                ProfileError::NotAProfile { .. } | ProfileError::TooLarge { .. } => "ERR_LEAKWATCH_NOT_A_PROFILE",
            },
            Failure::NativeSampling(_) => "ERR_LEAKWATCH_SAMPLING_FALLBACK",
            Failure::InvalidArg(_) => "ERR_LEAKWATCH_INVALID_ARG",
            Failure::File(error) => match error {
                FileError::Io { .. } => error.errno_code().unwrap_or("EIO"),
                FileError::Incomplete { .. } | FileError::Replaced { .. } => "ERR_LEAKWATCH_INCOMPLETE",
            },
        }
    }

    fn file(&self) -> Option<&str> {
        match self {
            Failure::Read(error) => Some(error.path()),
            Failure::Analyze(error) => error.file(),
            Failure::Profile { name, .. } => Some(name),
            _ => None,
        }
    }

    fn offset(&self) -> Option<u64> {
        match self {
            Failure::Read(error) | Failure::Analyze(AnalyzeFilesError::Read(error)) => error.offset(),
            Failure::Stream(error) | Failure::DiffStream { error, .. } => Some(error.offset),
            _ => None,
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Read(error) => error.to_string(),
            Failure::Analyze(error) => error.to_string(),
            Failure::Stream(error) => format!("heap snapshot stream: not a valid heap snapshot: {error}"),
            Failure::DiffStream { which, error } => {
                format!("{which} heap snapshot stream: not a valid heap snapshot: {error}")
            }
            Failure::StreamFinished => "stream reader already finished, or called out of order".into(),
            Failure::Plot(error) => error.to_string(),
            Failure::Profile { name, error } => format!("{name}: {error}"),
            Failure::NativeSampling(reason) => format!(
                "allocation sampling: V8's sampler cannot be read natively here ({reason}); reading it through the inspector, which forces a full GC per read"
            ),
            Failure::InvalidArg(message) => (*message).to_string(),
            Failure::File(error) => error.to_string(),
            Failure::Panic => "leakwatch: internal error (panic) while analysing a snapshot".into(),
        }
    }

    /// The JS error: an `Error` with `code`, and `file` / `offset` where they apply.
    pub fn into_js(self, env: &Env) -> Error {
        let build = || -> Result<Error> {
            let mut error = env.create_error(Error::from_reason(self.message()))?;
            error.set_named_property("code", self.code())?;
            if let Some(file) = self.file() {
                error.set_named_property("file", file)?;
            }
            if let Some(offset) = self.offset() {
                error.set_named_property("offset", offset as f64)?;
            }
            Ok(Error::from(error.to_unknown()))
        };
        // Building can only fail while the environment is going away: the plain message then.
        build().unwrap_or_else(|_| Error::from_reason(self.message()))
    }
}

/// Run `work`, turning a panic into `Failure::Panic`: a panic inside a libuv worker
/// would otherwise abort the host process.
pub fn guarded<T>(work: impl FnOnce() -> std::result::Result<T, Failure>) -> std::result::Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or(Err(Failure::Panic))
}
