//! The napi binding: converts values and schedules work off the main thread.
//! All logic lives in `leakwatch-core`; nothing here may panic into Node.

mod convert;
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
/// libuv worker would otherwise abort the host process.
fn guarded<T>(work: impl FnOnce() -> std::result::Result<T, String>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(Error::new(Status::GenericFailure, message)),
        Err(_) => {
            Err(Error::new(Status::GenericFailure, "leakwatch: internal error (panic) while analysing a snapshot"))
        }
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
}

impl Task for SummarizeTask {
    type Output = snapshot::Summary;
    type JsValue = JsSummary;

    fn compute(&mut self) -> Result<Self::Output> {
        let path = &self.path;
        let retained = self.retained;
        guarded(|| {
            with_progress(&self.progress, |p| {
                if retained {
                    snapshot::graph_file(path, p).map(|graph| snapshot::Analysed::new(graph).summary())
                } else {
                    snapshot::summarize_file(path, p)
                }
            })
            .map_err(|e| e.to_string())
        })
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(to_js_summary(&self.path.display().to_string(), output))
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
    AsyncTask::new(SummarizeTask { path: path.into(), retained: false, progress: on_progress })
}

/// Summary with retained sizes (full graph + dominator tree), off the main thread.
#[allow(clippy::type_complexity)]
#[napi(ts_return_type = "Promise<Summary>")]
pub fn summarize_retained(
    path: String,
    on_progress: Option<ThreadsafeFunction<(f64, f64), (), (f64, f64), Status, false, true>>,
) -> AsyncTask<SummarizeTask> {
    AsyncTask::new(SummarizeTask { path: path.into(), retained: true, progress: on_progress })
}

pub struct DiffTask {
    before: PathBuf,
    after: PathBuf,
}

impl Task for DiffTask {
    type Output = snapshot::HeapDiff;
    type JsValue = JsHeapDiff;

    fn compute(&mut self) -> Result<Self::Output> {
        guarded(|| snapshot::diff_files(&self.before, &self.after).map_err(|e| e.to_string()))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(to_js_diff(output))
    }
}

/// memwatch-style HeapDiff of two snapshot files, off the main thread.
#[napi(ts_return_type = "Promise<HeapDiffResult>")]
pub fn diff_snapshots(before: String, after: String) -> AsyncTask<DiffTask> {
    AsyncTask::new(DiffTask { before: before.into(), after: after.into() })
}

#[napi(catch_unwind)]
pub fn diff_snapshots_sync(before: String, after: String) -> Result<JsHeapDiff> {
    let mut task = DiffTask { before: before.into(), after: after.into() };
    task.compute().map(to_js_diff)
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
}

impl Task for AnalyzeTask {
    type Output = (Vec<snapshot::Summary>, snapshot::ThreeSnapshotReport, (u64, u32));
    type JsValue = JsAnalysis;

    fn compute(&mut self) -> Result<Self::Output> {
        let files = &self.files;
        let options = &self.options;
        guarded(|| {
            let (last, earlier) = files.split_last().ok_or("analyze needs at least 3 snapshots")?;
            if files.len() < 3 {
                return Err(snapshot::AnalyzeError::TooFewSnapshots(files.len()).to_string());
            }
            // The earlier snapshots give only ids and class counts (no edges needed): read
            // them on another core while the last one is read and analysed.
            let (summaries, analysed) = std::thread::scope(|scope| {
                let summaries = scope.spawn(|| {
                    earlier
                        .iter()
                        .map(|f| snapshot::summary::summarize_without_edges(f).map_err(|e| e.to_string()))
                        .collect::<std::result::Result<Vec<_>, _>>()
                });
                let analysed = snapshot::graph_file(last, None).map(snapshot::Analysed::new);
                let summaries = summaries.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (summaries, analysed)
            });
            let summaries = summaries?;
            let analysed = analysed.map_err(|e| e.to_string())?;
            let report = snapshot::suspects(&summaries, &analysed, options).map_err(|e| match e {
                snapshot::AnalyzeError::OutOfOrder { earlier, later } => format!(
                    "{} has lower object ids than {}: the snapshots are out of order or come from different processes (take them in order from one process)",
                    files[later - 1].display(),
                    files[earlier - 1].display()
                ),
                other => other.to_string(),
            })?;
            Ok((summaries, report, (analysed.graph.node_count() as u64, analysed.graph.max_js_id())))
        })
    }

    fn resolve(&mut self, _env: Env, (summaries, report, last_nodes): Self::Output) -> Result<Self::JsValue> {
        Ok(to_js_analysis(&self.files, &summaries, last_nodes, report))
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
