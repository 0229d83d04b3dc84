//! Reading and analysing V8 `.heapsnapshot` files.

pub mod analysis;
pub mod checked;
pub mod classes;
pub mod diff;
pub mod dominators;
pub mod error;
pub mod graph;
pub mod meta;
pub mod read;
pub mod scanner;
pub mod summary;

pub use analysis::{
    check_sentinels, shrank_after_s3, suspects, Analysed, AnalyzeError, Group, NodeRef, PathStep, SuspectOptions,
    ThreeSnapshotReport,
};
pub use classes::{is_internal_class, ID_SENTINEL_CLASS};
pub use diff::{diff_tables, ClassChange, HeapDiff, IdTable, IdTableSink};
pub use error::{ReadError, SnapshotError};
pub use graph::{GraphSink, HeapGraph};
pub use read::{
    read_bytes, read_file, read_file_with, ChunkReader, EdgeSide, Progress, ReadMode, SplitSink, PARALLEL_MIN_BYTES,
};
pub use summary::{ClassStat, Summary, SummarySink};

use std::path::Path;

pub fn summarize_file(path: &Path, progress: Option<Progress>) -> Result<Summary, ReadError> {
    read_file(path, SummarySink::new(), progress).map(SummarySink::into_summary)
}

pub fn id_table_file(path: &Path, progress: Option<Progress>) -> Result<IdTable, ReadError> {
    read_file(path, IdTableSink::default(), progress).map(IdTableSink::into_table)
}

/// Compare two snapshots of one process by object id; refuses when V8 renumbered the
/// objects in between (leakwatch's id sentinel changed id).
pub fn diff_files(before: &Path, after: &Path) -> Result<HeapDiff, ReadError> {
    let a = id_table_file(before, None)?;
    let b = id_table_file(after, None)?;
    if let (Some(earlier_id), Some(later_id)) = (a.id_sentinel(), b.id_sentinel()) {
        if earlier_id != later_id {
            return Err(ReadError::Renumbered {
                earlier: before.display().to_string(),
                later: after.display().to_string(),
                earlier_id,
                later_id,
            });
        }
    }
    Ok(diff_tables(&a, &b))
}

/// Summaries of the snapshots before the last one, for the analysis: S1 plain; S2 with
/// the objects allocated after S1 counted per class; S3… with those allocated between S1
/// and S2 (the survivors of that window) counted per class.
pub fn summarize_series(files: &[std::path::PathBuf]) -> Result<Vec<Summary>, ReadError> {
    let mut summaries: Vec<Summary> = Vec::with_capacity(files.len());
    for file in files {
        let sink = match summaries.as_slice() {
            [] => SummarySink::new(),
            [s1] => SummarySink::with_window(s1.max_js_id, u32::MAX),
            [s1, s2, ..] => SummarySink::with_window(s1.max_js_id, s2.max_js_id),
        };
        summaries.push(read_file(file, sink, None).map(SummarySink::into_summary)?);
    }
    Ok(summaries)
}

pub fn graph_file(path: &Path, progress: Option<Progress>) -> Result<HeapGraph, ReadError> {
    read_file(path, GraphSink::new(), progress).and_then(|sink| {
        sink.into_graph().ok_or_else(|| ReadError::Invalid {
            path: path.display().to_string(),
            message: "no snapshot header".into(),
        })
    })
}
