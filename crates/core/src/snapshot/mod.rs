//! Reading and analysing V8 `.heapsnapshot` files.

pub mod analysis;
pub mod checked;
pub mod classes;
pub mod diff;
pub mod dominators;
pub mod error;
pub mod graph;
#[cfg(target_os = "linux")]
pub mod mapped;
#[cfg(not(target_os = "linux"))]
#[path = "mapped_none.rs"]
pub mod mapped;
pub mod meta;
pub mod read;
pub mod scanner;
pub mod sentinel;
pub mod summary;

pub use analysis::{
    large_enough, retained_summary, shrank_after_s3, suspects, Analysed, AnalyzeError, Group, NodeRef, PathStep,
    SuspectOptions, ThreeSnapshotReport, MIN_SNAPSHOTS, PATH_KEEP,
};
pub use classes::is_internal_class;
pub use diff::{diff_tables, ClassChange, HeapDiff, IdTable, IdTableSink};
pub use error::{ReadError, SnapshotError, SnapshotErrorKind};
pub use graph::{GraphSink, HeapGraph};
pub use read::{
    read_bytes, read_file, read_file_with, ChunkReader, EdgeSide, Progress, ReadMode, SplitSink, PARALLEL_MIN_BYTES,
};
pub use sentinel::{check_sentinels, sentinel_token, IdSentinel, SentinelMismatch, ID_SENTINEL_PREFIX};
pub use summary::{ClassStat, Summary, SummarySink};

use std::path::{Path, PathBuf};

/// Per-class count and self size of a file, streamed in memory proportional to the
/// number of classes; with `retained`, also retained sizes (full graph and dominators).
pub fn summarize_file(path: &Path, retained: bool, progress: Option<Progress>) -> Result<Summary, ReadError> {
    if retained {
        read_graph(path, GraphSink::without_edge_names(), progress).map(retained_summary)
    } else {
        read_file(path, SummarySink::new(), progress).map(SummarySink::into_summary)
    }
}

pub fn id_table_file(path: &Path, progress: Option<Progress>) -> Result<IdTable, ReadError> {
    read_file(path, IdTableSink::default(), progress).map(IdTableSink::into_table)
}

/// Compare two snapshots of one process by object id; refuses when leakwatch's id sentinel
/// says they cannot be (V8 renumbered the objects in between, they come from different
/// processes, or the sentinel is ambiguous).
pub fn diff_files(before: &Path, after: &Path) -> Result<HeapDiff, ReadError> {
    let a = id_table_file(before, None)?;
    let b = id_table_file(after, None)?;
    check_sentinels(&[a.id_sentinel(), b.id_sentinel()]).map_err(|mismatch| ReadError::Sentinel {
        files: [before.display().to_string(), after.display().to_string()],
        mismatch,
    })?;
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
        // Ids and classes need no edges: the edges array is skipped unparsed.
        let (sink, edges) = read::read_file_without_edges(file, sink)?;
        summaries.push(Summary { edges, ..sink.into_summary() });
    }
    Ok(summaries)
}

pub fn graph_file(path: &Path, progress: Option<Progress>) -> Result<HeapGraph, ReadError> {
    read_graph(path, GraphSink::new(), progress)
}

fn read_graph<const EDGE_NAMES: bool>(
    path: &Path,
    sink: GraphSink<EDGE_NAMES>,
    progress: Option<Progress>,
) -> Result<HeapGraph, ReadError> {
    read_file(path, sink, progress).and_then(|sink| {
        sink.into_graph().ok_or_else(|| ReadError::Snapshot {
            path: path.display().to_string(),
            error: SnapshotError::at(0, "no snapshot header"),
        })
    })
}

/// One snapshot of an analysis: what identifies it in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzedSnapshot {
    pub file: String,
    pub nodes: u64,
    pub max_js_id: u32,
}

/// The three-snapshot technique over files: each snapshot, and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAnalysis {
    pub snapshots: Vec<AnalyzedSnapshot>,
    pub report: ThreeSnapshotReport,
}

/// Why [`analyze_files`] failed: a file could not be read, or the snapshots cannot be
/// compared (`files` names them in the message).
#[derive(Debug)]
pub enum AnalyzeFilesError {
    Read(ReadError),
    Analyze { error: AnalyzeError, files: Vec<String> },
}

impl AnalyzeFilesError {
    /// The file the problem is about: the unreadable one, or the later of two out of order.
    pub fn file(&self) -> Option<&str> {
        match self {
            AnalyzeFilesError::Read(error) => Some(error.path()),
            AnalyzeFilesError::Analyze { error, files } => {
                let position = match error {
                    AnalyzeError::TooFewSnapshots(_) => return None,
                    AnalyzeError::OutOfOrder { later, .. } => *later,
                    AnalyzeError::Sentinel(mismatch) => mismatch.later(),
                    AnalyzeError::NothingBetween => 2,
                };
                files.get(position - 1).map(String::as_str)
            }
        }
    }
}

impl std::fmt::Display for AnalyzeFilesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnalyzeFilesError::Read(error) => error.fmt(f),
            AnalyzeFilesError::Analyze { error, files } => {
                f.write_str(&error.describe(|k| files.get(k - 1).cloned().unwrap_or_else(|| format!("snapshot {k}"))))
            }
        }
    }
}

impl std::error::Error for AnalyzeFilesError {}

impl From<ReadError> for AnalyzeFilesError {
    fn from(error: ReadError) -> Self {
        AnalyzeFilesError::Read(error)
    }
}

/// The three-snapshot technique over S1..Sn (n >= [`MIN_SNAPSHOTS`], in the order they
/// were taken, from one process): S1..S(n-1) are summarised (streamed), Sn is read as a
/// full graph. The number of snapshots is checked before any file is read.
pub fn analyze_files(files: &[PathBuf], options: &SuspectOptions) -> Result<FileAnalysis, AnalyzeFilesError> {
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let failed = |error| AnalyzeFilesError::Analyze { error, files: names.clone() };
    AnalyzeError::check_count(files.len()).map_err(failed)?;
    let (earlier, last) = files.split_at(files.len() - 1);
    // The earlier snapshots give only ids and class counts: read them on another core
    // while the last one is read and analysed.
    let (summaries, analysed) = std::thread::scope(|scope| {
        let earlier = scope.spawn(|| summarize_series(earlier));
        let analysed = graph_file(&last[0], None).map(Analysed::new);
        (earlier.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), analysed)
    });
    let (summaries, analysed) = (summaries?, analysed?);
    let report = analysis::rank(&summaries, &analysed, options).map_err(failed)?;
    let mut snapshots: Vec<AnalyzedSnapshot> = summaries
        .iter()
        .zip(&names)
        .map(|(s, file)| AnalyzedSnapshot { file: file.clone(), nodes: s.nodes, max_js_id: s.max_js_id })
        .collect();
    snapshots.push(AnalyzedSnapshot {
        file: names[names.len() - 1].clone(),
        nodes: analysed.graph.node_count() as u64,
        max_js_id: analysed.graph.max_js_id(),
    });
    Ok(FileAnalysis { snapshots, report })
}
