//! The napi binding: converts values and schedules work off the main thread.
//! Decisions (analysis, detection, pressure, metrics) live in `leakwatch-core`; the
//! operating-system side (the file protocol, the dump lock, the dump signal) in
//! `leakwatch-os`. What is here needs Node or V8 itself: conversions, environments and
//! thread-safe functions, calling a JS writer, and V8's sampling profiler read through its
//! C++ API (`v8_sampling.rs`). Nothing here may panic into Node.

mod convert;
mod error;
mod files;
mod metrics;
mod monitor;
mod plot;
mod pressure;
mod sampling;
mod signals;
mod v8_sampling;

use convert::{to_js_analysis, to_js_diff, to_js_summary, AnalyzeOptions, JsAnalysis, JsHeapDiff, JsSummary};
use error::{guarded, Failure};
use leakwatch_core::snapshot::{
    self, ChunkReader, IdTable, IdTableSink, SnapshotError, SnapshotErrorKind, SummarySink,
};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::path::PathBuf;

/// What a task computes off the main thread: a result or a failure that `resolve`
/// turns into a coded JS error (building one needs the main thread's `Env`).
type Outcome<T> = std::result::Result<T, Failure>;

/// The promise's value, or its rejection with a coded error.
fn settle<T, J>(env: &Env, outcome: Outcome<T>, convert: impl FnOnce(T) -> J) -> Result<J> {
    outcome.map(convert).map_err(|failure| failure.into_js(env))
}

/// `(bytesRead, totalBytes)` callbacks while a file is read; weak, so it never keeps
/// the process alive, and non-blocking, so a slow main thread never stalls the reader.
type ProgressCallback = ThreadsafeFunction<(f64, f64), (), (f64, f64), Status, false, true>;

/// Report at most every this many bytes.
const PROGRESS_STEP: u64 = 16 << 20;

fn with_progress<T>(callback: &Option<ProgressCallback>, work: impl FnOnce(Option<snapshot::Progress>) -> T) -> T {
    match callback {
        None => work(None),
        Some(callback) => {
            let mut next = 0u64;
            let mut report = |done: u64, total: u64| {
                if done >= next || done == total {
                    next = done + PROGRESS_STEP;
                    callback.call((done as f64, total as f64), ThreadsafeFunctionCallMode::NonBlocking);
                }
            };
            work(Some(&mut report))
        }
    }
}

/// Per-class summary of a file: streamed, or with retained sizes from the full graph.
pub struct SummarizeTask {
    path: PathBuf,
    retained: bool,
    progress: Option<ProgressCallback>,
}

impl Task for SummarizeTask {
    type Output = Outcome<snapshot::Summary>;
    type JsValue = JsSummary;

    fn compute(&mut self) -> Result<Self::Output> {
        let (path, retained) = (&self.path, self.retained);
        Ok(guarded(|| Ok(with_progress(&self.progress, |p| snapshot::summarize_file(path, retained, p))?)))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        settle(&env, output, |summary| to_js_summary(&self.path.display().to_string(), summary))
    }
}

/// Options of `summarize`.
#[napi(object, object_to_js = false)]
pub struct SummarizeOptions {
    /// Also compute retained sizes (full graph and dominator tree; more memory and time).
    pub retained: Option<bool>,
    /// Called with `[bytesRead, totalBytes]` while the file is read.
    #[napi(ts_type = "(progress: [number, number]) => void")]
    pub progress: Option<ProgressCallback>,
}

/// Per-class count and self size (and retained size with `{retained: true}`) of a
/// `.heapsnapshot` file, computed off the main thread.
#[napi(ts_return_type = "Promise<Summary>")]
pub fn summarize(path: String, options: Option<SummarizeOptions>) -> AsyncTask<SummarizeTask> {
    let (retained, progress) = options.map_or((false, None), |o| (o.retained.unwrap_or(false), o.progress));
    AsyncTask::new(SummarizeTask { path: path.into(), retained, progress })
}

pub struct DiffTask {
    before: PathBuf,
    after: PathBuf,
}

impl DiffTask {
    fn run(&self) -> Outcome<snapshot::HeapDiff> {
        guarded(|| Ok(snapshot::diff_files(&self.before, &self.after)?))
    }
}

impl Task for DiffTask {
    type Output = Outcome<snapshot::HeapDiff>;
    type JsValue = JsHeapDiff;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(self.run())
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        settle(&env, output, to_js_diff)
    }
}

/// memwatch-style HeapDiff of two snapshot files, off the main thread.
#[napi(ts_return_type = "Promise<HeapDiffResult>")]
pub fn diff_snapshots(before: String, after: String) -> AsyncTask<DiffTask> {
    AsyncTask::new(DiffTask { before: before.into(), after: after.into() })
}

#[napi(catch_unwind)]
pub fn diff_snapshots_sync(env: Env, before: String, after: String) -> Result<JsHeapDiff> {
    settle(&env, DiffTask { before: before.into(), after: after.into() }.run(), to_js_diff)
}

/// Read a snapshot from chunks pushed one at a time (e.g. from `v8.getHeapSnapshot()`),
/// keeping only per-class totals: memory grows with distinct classes, not the heap.
#[napi]
pub struct SummaryStream {
    reader: Option<ChunkReader<SummarySink>>,
}

impl Default for SummaryStream {
    fn default() -> Self {
        SummaryStream { reader: Some(ChunkReader::new(SummarySink::new())) }
    }
}

#[napi]
impl SummaryStream {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    #[napi(catch_unwind)]
    pub fn push(&mut self, env: Env, chunk: Either<&[u8], String>) -> Result<()> {
        let bytes = match &chunk {
            Either::A(bytes) => *bytes,
            Either::B(text) => text.as_bytes(),
        };
        let outcome = match self.reader.as_mut() {
            None => Err(Failure::StreamFinished),
            Some(reader) => reader.push(bytes).map_err(Failure::Stream),
        };
        if outcome.is_err() {
            self.reader = None;
        }
        settle(&env, outcome, |()| ())
    }

    #[napi(catch_unwind)]
    pub fn finish(&mut self, env: Env) -> Result<JsSummary> {
        let outcome = match self.reader.take() {
            None => Err(Failure::StreamFinished),
            Some(reader) => reader.finish().map_err(Failure::Stream),
        };
        settle(&env, outcome, |sink| to_js_summary("(stream)", sink.into_summary()))
    }
}

/// A memwatch-style diff of two snapshots arriving in chunks (pipes, stdin): push the
/// first, call `nextSnapshot()`, push the second, then `finish()`. Keeps one row per node
/// (id, class, size) of each heap, as `diffSnapshots` does for files.
#[napi]
pub struct DiffStream {
    reader: Option<ChunkReader<IdTableSink>>,
    before: Option<IdTable>,
}

impl Default for DiffStream {
    fn default() -> Self {
        DiffStream { reader: Some(ChunkReader::new(IdTableSink::default())), before: None }
    }
}

#[napi]
impl DiffStream {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    #[napi(catch_unwind)]
    pub fn push(&mut self, env: Env, chunk: Either<&[u8], String>) -> Result<()> {
        let which = self.which();
        let bytes = match &chunk {
            Either::A(bytes) => *bytes,
            Either::B(text) => text.as_bytes(),
        };
        let outcome = match self.reader.as_mut() {
            None => Err(Failure::StreamFinished),
            Some(reader) => reader.push(bytes).map_err(|error| Failure::DiffStream { which, error }),
        };
        if outcome.is_err() {
            self.reader = None;
        }
        settle(&env, outcome, |()| ())
    }

    /// The first snapshot is complete: what is pushed next is the second.
    #[napi(catch_unwind)]
    pub fn next_snapshot(&mut self, env: Env) -> Result<()> {
        let outcome = if self.before.is_some() {
            Err(Failure::StreamFinished)
        } else {
            Self::table(self.reader.take(), "first").map(|table| {
                self.before = Some(table);
                self.reader = Some(ChunkReader::new(IdTableSink::default()));
            })
        };
        settle(&env, outcome, |()| ())
    }

    #[napi(catch_unwind)]
    pub fn finish(&mut self, env: Env) -> Result<JsHeapDiff> {
        let outcome = match self.before.take() {
            None => Err(Failure::StreamFinished),
            Some(before) => Self::table(self.reader.take(), "second").map(|after| (before, after)),
        };
        // Streams have no file names: the mismatch names them by position.
        let outcome = outcome.and_then(|(before, after)| {
            snapshot::check_sentinels(&[before.id_sentinel(), after.id_sentinel()]).map(|()| (before, after)).map_err(
                |mismatch| {
                    let files = ["first heap snapshot stream".to_string(), "second heap snapshot stream".to_string()];
                    Failure::Read(snapshot::ReadError::Sentinel { files, mismatch })
                },
            )
        });
        settle(&env, outcome, |(before, after)| to_js_diff(snapshot::diff_tables(&before, &after)))
    }
}

impl DiffStream {
    fn which(&self) -> &'static str {
        if self.before.is_some() {
            "second"
        } else {
            "first"
        }
    }

    fn table(reader: Option<ChunkReader<IdTableSink>>, which: &'static str) -> Outcome<IdTable> {
        let reader = reader.ok_or(Failure::StreamFinished)?;
        if reader.bytes_read() == 0 {
            let error = SnapshotError::new(SnapshotErrorKind::Truncated, 0, "empty, expected a heap snapshot");
            return Err(Failure::DiffStream { which, error });
        }
        reader.finish().map(IdTableSink::into_table).map_err(|error| Failure::DiffStream { which, error })
    }
}

/// Read snapshot files through memory mappings from now on, in this process: for the
/// `leakwatch` command only (its own process). Installs a SIGBUS handler that turns a
/// file truncated while it is read into a truncation error; a library inside someone's
/// app never calls this and keeps reading with read(). False: not available, read() stays.
#[napi(catch_unwind)]
pub fn enable_mapped_reads() -> bool {
    snapshot::mapped::enable()
}

/// Sizes as memwatch prints them ("1.78 mb"), shared by the CLI and reports.
#[napi]
pub fn human_size(bytes: f64) -> String {
    leakwatch_core::format::human_size(bytes as i128)
}

pub struct AnalyzeTask {
    files: Vec<PathBuf>,
    options: snapshot::SuspectOptions,
}

impl Task for AnalyzeTask {
    type Output = Outcome<snapshot::FileAnalysis>;
    type JsValue = JsAnalysis;

    fn compute(&mut self) -> Result<Self::Output> {
        Ok(guarded(|| Ok(snapshot::analyze_files(&self.files, &self.options)?)))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        settle(&env, output, to_js_analysis)
    }
}

/// The three-snapshot technique over S1..Sn (n >= 3, in order, one process).
#[napi(ts_return_type = "Promise<Analysis>")]
pub fn analyze(files: Vec<String>, options: Option<AnalyzeOptions>) -> AsyncTask<AnalyzeTask> {
    let defaults = snapshot::SuspectOptions::default();
    let options = options.unwrap_or_default();
    AsyncTask::new(AnalyzeTask {
        files: files.into_iter().map(PathBuf::from).collect(),
        options: snapshot::SuspectOptions {
            min_count: options.min_count.map_or(defaults.min_count, |n| n as u64),
            min_retained: options.min_retained.map_or(defaults.min_retained, |n| n as u64),
        },
    })
}
