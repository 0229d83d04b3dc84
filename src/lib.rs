//! The napi binding: converts values and schedules work off the main thread.
//! All logic lives in `leakwatch-core`; nothing here may panic into Node.

mod convert;
mod files;
mod monitor;
mod plot;
mod signals;

use convert::{to_js_analysis, to_js_diff, to_js_summary, AnalyzeOptions, JsAnalysis, JsHeapDiff, JsSummary};
use leakwatch_core::snapshot::{self, ChunkReader, SummarySink};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// Run `work`, turning both errors and panics into a JS error: a panic inside a
/// libuv worker would otherwise abort the host process. The one place where errors
/// become JS errors: a typed core error's stable `code` (see [`convert::error_code`]) is
/// kept in `code` for the task's `reject` (napi's own Error carries only a status).
fn guarded<T>(code: &mut Option<&'static str>, work: impl FnOnce() -> std::result::Result<T, Failure>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(failure)) => {
            *code = failure.code;
            Err(Error::new(Status::GenericFailure, failure.message))
        }
        Err(_) => {
            Err(Error::new(Status::GenericFailure, "leakwatch: internal error (panic) while analysing a snapshot"))
        }
    }
}

/// An error on its way to JS: the message, and the stable code of a typed core error.
struct Failure {
    code: Option<&'static str>,
    message: String,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure { code: None, message }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Self {
        Failure { code: None, message: message.to_string() }
    }
}

impl From<snapshot::ReadError> for Failure {
    fn from(error: snapshot::ReadError) -> Self {
        Failure { code: convert::error_code(&error), message: error.to_string() }
    }
}

/// The JS error for `error`, with `code` as its `code` property when there is one.
fn with_code(env: &Env, code: Option<&'static str>, error: Error) -> Error {
    match code {
        Some(code) => Error::from(JsError::from(Error::new(code, error.reason.clone())).into_unknown(*env)),
        None => error,
    }
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
    code: Option<&'static str>,
}

impl Task for SummarizeTask {
    type Output = snapshot::Summary;
    type JsValue = JsSummary;

    fn compute(&mut self) -> Result<Self::Output> {
        let path = &self.path;
        let retained = self.retained;
        let progress = &self.progress;
        guarded(&mut self.code, || {
            with_progress(progress, |p| {
                if retained {
                    snapshot::graph_file(path, p).map(|graph| snapshot::Analysed::new(graph).summary())
                } else {
                    snapshot::summarize_file(path, p)
                }
            })
            .map_err(Failure::from)
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(to_js_summary(&self.path.display().to_string(), output))
    }

    fn reject(&mut self, env: Env, error: Error) -> Result<Self::JsValue> {
        Err(with_code(&env, self.code, error))
    }
}

/// Per-class count and self size of a `.heapsnapshot` file, computed off the main thread.
// The callback type is spelled out: an alias would leave an undeclared type in the .d.ts.
#[allow(clippy::type_complexity)]
#[napi(ts_return_type = "Promise<Summary>")]
pub fn summarize(
    path: String,
    on_progress: Option<ThreadsafeFunction<(f64, f64), (), (f64, f64), Status, false, true>>,
) -> AsyncTask<SummarizeTask> {
    AsyncTask::new(SummarizeTask { path: path.into(), retained: false, progress: on_progress, code: None })
}

/// Summary with retained sizes (full graph + dominator tree), off the main thread.
#[allow(clippy::type_complexity)]
#[napi(ts_return_type = "Promise<Summary>")]
pub fn summarize_retained(
    path: String,
    on_progress: Option<ThreadsafeFunction<(f64, f64), (), (f64, f64), Status, false, true>>,
) -> AsyncTask<SummarizeTask> {
    AsyncTask::new(SummarizeTask { path: path.into(), retained: true, progress: on_progress, code: None })
}

pub struct DiffTask {
    before: PathBuf,
    after: PathBuf,
    code: Option<&'static str>,
}

impl Task for DiffTask {
    type Output = snapshot::HeapDiff;
    type JsValue = JsHeapDiff;

    fn compute(&mut self) -> Result<Self::Output> {
        let (before, after) = (&self.before, &self.after);
        guarded(&mut self.code, || snapshot::diff_files(before, after).map_err(Failure::from))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(to_js_diff(output))
    }

    fn reject(&mut self, env: Env, error: Error) -> Result<Self::JsValue> {
        Err(with_code(&env, self.code, error))
    }
}

/// memwatch-style HeapDiff of two snapshot files, off the main thread.
#[napi(ts_return_type = "Promise<HeapDiffResult>")]
pub fn diff_snapshots(before: String, after: String) -> AsyncTask<DiffTask> {
    AsyncTask::new(DiffTask { before: before.into(), after: after.into(), code: None })
}

#[napi(catch_unwind)]
pub fn diff_snapshots_sync(env: Env, before: String, after: String) -> Result<JsHeapDiff> {
    let mut task = DiffTask { before: before.into(), after: after.into(), code: None };
    task.compute().map(to_js_diff).map_err(|error| with_code(&env, task.code, error))
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
    pub fn push(&mut self, chunk: Either<&[u8], String>) -> Result<()> {
        let reader = self.reader.as_mut().ok_or_else(|| Error::from_reason("SummaryStream already finished"))?;
        let bytes = match &chunk {
            Either::A(bytes) => *bytes,
            Either::B(text) => text.as_bytes(),
        };
        let result = reader.push(bytes);
        result.map_err(|e| {
            self.reader = None;
            Error::from_reason(format!("heap snapshot stream: not a valid heap snapshot: {e}"))
        })
    }

    #[napi(catch_unwind)]
    pub fn finish(&mut self) -> Result<JsSummary> {
        let reader = self.reader.take().ok_or_else(|| Error::from_reason("SummaryStream already finished"))?;
        let sink = reader
            .finish()
            .map_err(|e| Error::from_reason(format!("heap snapshot stream: not a valid heap snapshot: {e}")))?;
        Ok(to_js_summary("(stream)", sink.into_summary()))
    }
}

/// Sizes as memwatch prints them ("1.78 mb"), shared by the CLI and reports.
#[napi]
pub fn human_size(bytes: f64) -> String {
    leakwatch_core::format::human_size(bytes as i128)
}

pub struct AnalyzeTask {
    files: Vec<PathBuf>,
    options: snapshot::SuspectOptions,
    code: Option<&'static str>,
}

impl Task for AnalyzeTask {
    type Output = (Vec<snapshot::Summary>, snapshot::ThreeSnapshotReport, (u64, u32));
    type JsValue = JsAnalysis;

    fn compute(&mut self) -> Result<Self::Output> {
        let files = &self.files;
        let options = &self.options;
        guarded(&mut self.code, || {
            let (last, earlier) = files.split_last().ok_or("analyze needs at least 3 snapshots")?;
            if files.len() < 3 {
                return Err(snapshot::AnalyzeError::TooFewSnapshots(files.len()).to_string().into());
            }
            let summaries = snapshot::summarize_series(earlier)?;
            let analysed = snapshot::Analysed::new(snapshot::graph_file(last, None)?);
            let name = |k: usize| files[k - 1].display().to_string();
            let report = snapshot::suspects(&summaries, &analysed, options).map_err(|e| match e {
                snapshot::AnalyzeError::OutOfOrder { earlier, later } => Failure::from(format!(
                    "{} has lower object ids than {}: the snapshots are out of order or come from different processes (take them in order from one process)",
                    name(later),
                    name(earlier)
                )),
                snapshot::AnalyzeError::Renumbered { earlier, later, earlier_id, later_id } => {
                    Failure::from(snapshot::ReadError::Renumbered { earlier: name(earlier), later: name(later), earlier_id, later_id })
                }
                other => Failure::from(other.to_string()),
            })?;
            Ok((summaries, report, (analysed.graph.node_count() as u64, analysed.graph.max_js_id())))
        })
    }

    fn resolve(&mut self, _env: Env, (summaries, report, last_nodes): Self::Output) -> Result<Self::JsValue> {
        Ok(to_js_analysis(&self.files, &summaries, last_nodes, report))
    }

    fn reject(&mut self, env: Env, error: Error) -> Result<Self::JsValue> {
        Err(with_code(&env, self.code, error))
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
        code: None,
    })
}
