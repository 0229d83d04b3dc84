//! The napi binding: converts values and schedules work off the main thread.
//! All logic lives in `leakwatch-core`; nothing here may panic into Node.

mod convert;
mod signals;

use convert::{to_js_diff, to_js_summary, JsHeapDiff, JsSummary};
use leakwatch_core::snapshot::{self, ChunkReader, IdTable, SummarySink};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// Run `work`, turning both errors and panics into a JS error: a panic inside a
/// libuv worker would otherwise abort the host process.
fn guarded<T>(work: impl FnOnce() -> std::result::Result<T, String>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(Error::new(Status::GenericFailure, message)),
        Err(_) => Err(Error::new(Status::GenericFailure, "leakwatch: internal error (panic) while analysing a snapshot")),
    }
}

pub struct SummarizeTask {
    path: PathBuf,
}

impl Task for SummarizeTask {
    type Output = snapshot::Summary;
    type JsValue = JsSummary;

    fn compute(&mut self) -> Result<Self::Output> {
        guarded(|| snapshot::summarize_file(&self.path, None).map_err(|e| e.to_string()))
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(to_js_summary(&self.path.display().to_string(), output))
    }
}

/// Per-class count and self size of a `.heapsnapshot` file, computed off the main thread.
#[napi(ts_return_type = "Promise<Summary>")]
pub fn summarize(path: String) -> AsyncTask<SummarizeTask> {
    AsyncTask::new(SummarizeTask { path: path.into() })
}

#[napi(catch_unwind)]
pub fn summarize_sync(path: String) -> Result<JsSummary> {
    let mut task = SummarizeTask { path: path.into() };
    let output = task.compute()?;
    Ok(to_js_summary(&task.path.display().to_string(), output))
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

/// The id table of one heap (every node's id, class and size), kept in Rust memory so
/// that it never shows up in the JS heap it describes. Used by `HeapDiff`.
#[napi]
pub struct HeapIds {
    table: IdTable,
}

#[napi]
impl HeapIds {
    /// Read a snapshot file into an id table (synchronously: memwatch's HeapDiff is sync).
    #[napi(factory, catch_unwind)]
    pub fn from_file(path: String) -> Result<HeapIds> {
        let table = guarded(|| snapshot::id_table_file(path.as_ref(), None).map_err(|e| e.to_string()))?;
        Ok(HeapIds { table })
    }

    #[napi(getter)]
    pub fn nodes(&self) -> f64 {
        self.table.rows.len() as f64
    }

    /// memwatch's diff of this (earlier) heap against a later one.
    #[napi(catch_unwind)]
    pub fn diff(&self, after: &HeapIds) -> JsHeapDiff {
        to_js_diff(snapshot::diff_tables(&self.table, &after.table))
    }
}

/// Read a snapshot from chunks pushed one at a time (e.g. from `v8.getHeapSnapshot()`),
/// keeping only per-class totals: memory grows with distinct classes, not the heap.
#[napi]
pub struct SummaryStream {
    reader: Option<ChunkReader<SummarySink>>,
}

#[napi]
impl SummaryStream {
    #[napi(constructor)]
    pub fn new() -> Self {
        SummaryStream { reader: Some(ChunkReader::new(SummarySink::new())) }
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
