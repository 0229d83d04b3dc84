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

pub use analysis::{suspects, Analysed, AnalyzeError, Group, NodeRef, PathStep, SuspectOptions, ThreeSnapshotReport};
pub use classes::is_internal_class;
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

pub fn diff_files(before: &Path, after: &Path) -> Result<HeapDiff, ReadError> {
    let a = id_table_file(before, None)?;
    let b = id_table_file(after, None)?;
    Ok(diff_tables(&a, &b))
}

pub fn graph_file(path: &Path, progress: Option<Progress>) -> Result<HeapGraph, ReadError> {
    read_file(path, GraphSink::new(), progress).and_then(|sink| {
        sink.into_graph().ok_or_else(|| ReadError::Invalid {
            path: path.display().to_string(),
            message: "no snapshot header".into(),
        })
    })
}
