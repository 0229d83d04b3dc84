//! Reading a snapshot from a file (large buffered reads) or from pushed chunks.

use super::checked::{Checked, EdgeChecks};
use super::error::{ReadError, SnapshotError, SnapshotErrorKind};
use super::mapped::Mapping;
use super::meta::Meta;
use super::scanner::{Kernel, Parser, ReadPlan, SnapshotSink};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Big enough that syscalls vanish from the profile, small enough to stay in L2/L3.
const READ_BLOCK: usize = 1 << 20;

/// Called with (bytes read, total bytes) as a file is read.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Files at least this big are read by two threads (see [`ReadMode::Parallel`]).
pub const PARALLEL_MIN_BYTES: u64 = 32 << 20;

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// One thread, start to end.
    Serial,
    /// Two threads over the same file: one reads everything but the edges array, the
    /// other only the edges array (the biggest part of a snapshot). Each array is parsed
    /// and checked by exactly one thread; the whole-file checks run after both.
    Parallel,
    /// Parallel for files of at least [`PARALLEL_MIN_BYTES`].
    Auto,
}

/// The part of a sink that takes the edges, so that they can be read on another core.
pub trait EdgeSide: Send + Default {
    fn on_meta(&mut self, _meta: &Meta, _size_hint: Option<u64>) {}
    fn on_edge(&mut self, record: &[u64]);
}

/// A sink whose edges can be gathered separately and handed over before `on_end`.
/// `Default` gives a fresh sink when a file must be read again.
pub trait SplitSink: SnapshotSink + Default {
    type Edges: EdgeSide;
    /// The edges before the ones this sink received itself (the edge reader takes the
    /// first part of the edges array, this sink's own reader the rest).
    fn absorb_edges(&mut self, earlier: Self::Edges);
}

/// Run `sink` over the file at `path`, checked for consistency, and return it.
pub fn read_file<S: SplitSink>(path: &Path, sink: S, progress: Option<Progress>) -> Result<S, ReadError> {
    read_file_with(path, sink, progress, ReadMode::Auto)
}

pub fn read_file_with<S: SplitSink>(
    path: &Path,
    sink: S,
    progress: Option<Progress>,
    mode: ReadMode,
) -> Result<S, ReadError> {
    read_file_using(path, sink, progress, mode, Kernel::Auto)
}

/// [`read_file_with`] with a chosen number-scanning kernel (benchmarks, tests).
pub fn read_file_using<S: SplitSink>(
    path: &Path,
    sink: S,
    mut progress: Option<Progress>,
    mode: ReadMode,
    kernel: Kernel,
) -> Result<S, ReadError> {
    let name = path.display().to_string();
    let (file, total) = open_snapshot(path, &name)?;
    let mapping = Mapping::new(&file, total);
    let parallel = match mode {
        ReadMode::Serial => false,
        ReadMode::Parallel => true,
        ReadMode::Auto => total >= PARALLEL_MIN_BYTES,
    };
    let result = if parallel {
        let (split, nodes_end) = find_edge_split(&file, total);
        let open = || Source::new(&file, mapping.as_ref());
        match read_parallel(open, total, sink, &mut progress, (split, nodes_end), kernel) {
            // Not laid out the way V8 writes it: read again, edges in one piece.
            Err(Failure::Snapshot(e)) if split.is_some() && e.kind == SnapshotErrorKind::SplitMismatch => {
                read_parallel(open, total, S::default(), &mut progress, (None, nodes_end), kernel)
            }
            other => other,
        }
    } else {
        let plan = ReadPlan { kernel, ..ReadPlan::default() };
        let mut parser = Parser::with_plan(Checked::new(sink), Some(total), plan);
        let source = Source::new(&file, mapping.as_ref());
        pump(source, &mut parser, total, &mut progress, &AtomicBool::new(false), None)
            .and_then(|()| parser.finish().map(Checked::into_inner).map_err(Failure::Snapshot))
    };
    unless_shrunk(mapping.as_ref(), &file, total, result).map_err(|e| e.named(&name))
}

/// A file truncated under its mapping reads as zeros past its new end (the rest of its
/// last page, and the pages after it through the SIGBUS handler): whatever the parser
/// made of them, the truncation is what to report. The size is the open file's
/// (`fstat`), not the path's: a file deleted or renamed over while it was read was
/// still read whole.
fn unless_shrunk<T>(
    mapping: Option<&Mapping>,
    file: &File,
    total: u64,
    result: Result<T, Failure>,
) -> Result<T, Failure> {
    let Some(mapping) = mapping else { return result };
    let now = file.metadata().map_or(0, |m| m.len());
    if now >= total && !mapping.shrunk() {
        return result;
    }
    Err(Failure::Snapshot(SnapshotError::new(
        SnapshotErrorKind::Truncated,
        now.min(total),
        format!("the file was truncated while it was read ({total} bytes when opened, {now} now)"),
    )))
}

/// Where a reader gets its bytes: the file, read in blocks at the reader's own offset
/// (`pread`, so that readers share one descriptor), or a mapping of it.
enum Source<'f> {
    Read {
        file: &'f File,
        at: u64,
        block: Vec<u8>,
    },
    /// `released`: the bytes before it are done with and no longer mapped in (the
    /// parser keeps nothing of a block once it asks for the next one).
    Mapped {
        mapping: &'f Mapping,
        at: usize,
        released: usize,
    },
}

/// A mapped reader lets go of what it has read every this many bytes, so that the
/// process's resident size stays small (the pages stay in the page cache).
const RELEASE_EVERY: usize = 4 << 20;

impl<'f> Source<'f> {
    /// A reader from the start of the file: through its mapping when there is one.
    fn new(file: &'f File, mapping: Option<&'f Mapping>) -> Self {
        match mapping {
            Some(mapping) => Source::Mapped { mapping, at: 0, released: 0 },
            None => Source::Read { file, at: 0, block: vec![0u8; READ_BLOCK] },
        }
    }

    fn seek(&mut self, to: u64) {
        match self {
            Source::Read { at, .. } => *at = to,
            Source::Mapped { mapping, at, released } => {
                mapping.release(*released..*at);
                *at = usize::try_from(to).unwrap_or(usize::MAX).min(mapping.bytes().len());
                *released = *at;
            }
        }
    }

    /// The next bytes (a block, or a block's worth of the mapping); empty at the end.
    fn next(&mut self) -> Result<&[u8], Failure> {
        match self {
            Source::Read { file, at, block } => loop {
                match file.read_at(block, *at) {
                    Ok(n) => {
                        *at += n as u64;
                        return Ok(&block[..n]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Failure::Io(e)),
                }
            },
            Source::Mapped { mapping, at, released } => {
                let from = *at;
                if from >= *released + RELEASE_EVERY {
                    mapping.release(*released..from);
                    *released = from;
                }
                let bytes = mapping.bytes();
                *at = bytes.len().min(from + READ_BLOCK);
                Ok(&bytes[from..*at])
            }
        }
    }
}

/// Open a file the CLI or the API reads: a regular file, or an error naming it (missing,
/// a directory, a FIFO, a device, a socket). The open never blocks (a FIFO with no
/// writer), and the type is that of the file opened, not of what the path named before.
/// Returns the file and its size when opened.
pub fn open_regular(path: &Path, name: &str) -> Result<(File, u64), ReadError> {
    let io = |error: std::io::Error| ReadError::io(name, error);
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(ReadError::NotAFile { path: name.to_string(), found: file_kind(&metadata.file_type()) });
    }
    Ok((file, metadata.len()))
}

/// What a non-regular file is, for messages.
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// The whole content of a small regular file (see [`open_regular`]), at most `max`
/// bytes: `Ok(Err(size))` when it is bigger, without reading it. Reads the size it had
/// when opened, at most.
pub fn read_small_file(path: &Path, max: u64) -> Result<Result<Vec<u8>, u64>, ReadError> {
    let name = path.display().to_string();
    let (file, total) = open_regular(path, &name)?;
    if total > max {
        return Ok(Err(total));
    }
    let mut bytes = vec![0u8; total as usize];
    let mut at = 0usize;
    while at < bytes.len() {
        match file.read_at(&mut bytes[at..], at as u64) {
            Ok(0) => break, // shrank meanwhile: the parser reports what is missing
            Ok(n) => at += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::io(&name, e)),
        }
    }
    bytes.truncate(at);
    Ok(Ok(bytes))
}

/// Open a snapshot file for reading: its size, or an error naming it (not a regular
/// file, an empty file).
fn open_snapshot(path: &Path, name: &str) -> Result<(File, u64), ReadError> {
    let (file, total) = open_regular(path, name)?;
    if total == 0 {
        return Err(ReadError::Snapshot {
            path: name.to_string(),
            error: SnapshotError::new(SnapshotErrorKind::Truncated, 0, "the file is empty, expected a heap snapshot"),
        });
    }
    Ok((file, total))
}

/// Read a file's header, nodes and strings, checked, skipping the edges array unparsed
/// (a scan for its `]`): for what needs no edges, as `analyze` of the snapshots before
/// the last (their ids and classes). Returns the sink and the nodes' edge count total.
pub fn read_file_without_edges<S: SnapshotSink>(path: &Path, sink: S) -> Result<(S, u64), ReadError> {
    let name = path.display().to_string();
    let (file, total) = open_snapshot(path, &name)?;
    let mapping = Mapping::new(&file, total);
    let plan = ReadPlan { skip_edges: true, ..ReadPlan::default() };
    let mut parser = Parser::with_plan(Checked::without_edges(sink), Some(total), plan);
    let source = Source::new(&file, mapping.as_ref());
    let result = pump(source, &mut parser, total, &mut None, &AtomicBool::new(false), None)
        .and_then(|()| parser.finish().map_err(Failure::Snapshot));
    let checked = unless_shrunk(mapping.as_ref(), &file, total, result).map_err(|e| e.named(&name))?;
    let edges = checked.edges_claimed();
    Ok((checked.into_inner(), edges))
}

/// Where to cut the edges array between the two readers so that both finish together:
/// the main reader takes the header, the nodes, the edges after the cut and the strings
/// (it seeks past the edges before the cut); the edge reader the edges before it. Node
/// records cost more per byte than edge records (about 1.2× with AVX2: more checks, the
/// class table), so the edge reader takes 9/16 of the file's size: `start + total * 9 /
/// 16` with the edges starting at `start`, moved to the next record boundary ("\n," as
/// V8 writes between records). A cut must land in the edges array, not in the arrays
/// after it (V8's "locations" are numbers too, the strings may be most of the file): the
/// records after it must have the shape of the array's first records, or the cut moves
/// back towards `start`. The edge reader
/// verifies the boundary and that its array does not end before it (otherwise the
/// file is read again with the edges in one piece).
///
/// Also returns where the nodes array ends (its `]`, when only white space and one
/// comma separate it from the `"edges":` key): the edge reader jumps there instead of
/// reading the nodes only to skip them. The main reader parses every byte before it.
fn find_edge_split(file: &File, total: u64) -> (Option<u64>, Option<u64>) {
    let Some(start) = find_edges_key(file, total) else { return (None, None) };
    let mut block = vec![0u8; 64 << 10];
    let first_records = sample(file, &mut block, start).and_then(|bytes| {
        let open = memchr::memchr(b'[', &bytes)?;
        record_shape(&bytes[open + 1..])
    });
    let mut split = None;
    if let Some(shape) = first_records {
        let mut reach = total / 16 * 9;
        while split.is_none() && reach >= total / 16 {
            split = sample(file, &mut block, start + reach).and_then(|bytes| {
                let at = memchr::memmem::find(&bytes, b"\n,")? + 2;
                (record_shape(&bytes[at..]) == Some(shape)).then_some(start + reach + at as u64)
            });
            reach /= 2;
        }
    }
    let before = start.saturating_sub(64);
    let nodes_end = file.read_at(&mut block[..(start - before) as usize], before).ok().and_then(|n| {
        let bytes = &block[..n];
        let mut at = bytes.len();
        let mut comma = false;
        while at > 0 {
            at -= 1;
            match bytes[at] {
                b' ' | b'\n' | b'\r' | b'\t' => {}
                b',' if !comma => comma = true,
                b']' if comma => return Some(before + at as u64),
                _ => return None,
            }
        }
        None
    });
    (split, nodes_end)
}

/// Commas per record of the 16 number records at the start of `bytes`, each ended by
/// "\n," as V8 writes them; `None` unless all 16 are digits and commas with the same count.
fn record_shape(bytes: &[u8]) -> Option<usize> {
    let mut shape = None;
    let mut rest = bytes;
    for _ in 0..16 {
        let end = memchr::memmem::find(rest, b"\n,")?;
        let record = &rest[..end];
        if record.is_empty() || !record.iter().all(|&b| b.is_ascii_digit() || b == b',') {
            return None;
        }
        let commas = memchr::memchr_iter(b',', record).count();
        if shape.is_some_and(|s| s != commas) {
            return None;
        }
        shape = Some(commas);
        rest = &rest[end + 2..];
    }
    shape
}

/// Offset of the `"edges":` key (it occurs once in a snapshot: quotes inside strings are
/// escaped, and no other value is followed by a colon). The nodes array before it is a
/// quarter of the file or more and its records all have one shape, so the key is found by
/// bisection: a 64 KB sample at the midpoint holds node records (search after it), or not
/// (search before it), or the key. A file where that fails is searched from the start.
fn find_edges_key(file: &File, total: u64) -> Option<u64> {
    let key = memchr::memmem::Finder::new(b"\"edges\":");
    let mut block = vec![0u8; 64 << 10];
    let head = sample(file, &mut block, 0)?;
    if let Some(at) = key.find(&head) {
        return Some(at as u64);
    }
    let mut bisect = || {
        let nodes_at = memchr::memmem::find(&head, b"\"nodes\":[")? + b"\"nodes\":[".len();
        let node_shape = record_shape(&head[nodes_at..])?;
        let (mut inside, mut beyond) = (nodes_at as u64, total);
        while beyond - inside > block.len() as u64 / 2 {
            let mid = inside + (beyond - inside) / 2;
            let bytes = sample(file, &mut block, mid)?;
            if let Some(at) = key.find(&bytes) {
                return Some(mid + at as u64);
            }
            let after = memchr::memmem::find(&bytes, b"\n,").map(|at| at + 2);
            if after.and_then(|at| record_shape(&bytes[at..])) == Some(node_shape) {
                inside = mid;
            } else {
                beyond = mid;
            }
        }
        let bytes = sample(file, &mut block, inside)?;
        key.find(&bytes).map(|at| inside + at as u64)
    };
    bisect().or_else(|| search_key(file, &key))
}

/// The first `key` in the file, read in 4 MB blocks from the start.
fn search_key(file: &File, key: &memchr::memmem::Finder) -> Option<u64> {
    let mut block = vec![0u8; 4 << 20];
    let mut offset = 0;
    loop {
        let n = read_full_at(file, &mut block, offset)?;
        if let Some(at) = key.find(&block[..n]) {
            return Some(offset + at as u64);
        }
        if n < block.len() {
            return None; // the end of the file
        }
        // Overlap so that a key across two blocks is found.
        offset += (n - key.needle().len()) as u64;
    }
}

/// The bytes at `offset`, up to `block`'s length (fewer at the end of the file).
fn sample(file: &File, block: &mut [u8], offset: u64) -> Option<Vec<u8>> {
    read_full_at(file, block, offset).map(|n| block[..n].to_vec())
}

/// `read_at` until `block` is full or the file ends; the bytes read.
fn read_full_at(file: &File, block: &mut [u8], offset: u64) -> Option<usize> {
    let mut filled = 0;
    while filled < block.len() {
        match file.read_at(&mut block[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(filled)
}

fn read_parallel<'m, S: SplitSink>(
    open: impl Fn() -> Source<'m> + Sync,
    total: u64,
    sink: S,
    progress: &mut Option<Progress>,
    (split, nodes_end): (Option<u64>, Option<u64>),
    kernel: Kernel,
) -> Result<S, Failure> {
    let cancel = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let edges = scope.spawn(|| read_edges::<S::Edges>(open(), total, (split, nodes_end), kernel, &cancel));
        let plan = ReadPlan { skip_edges: true, edge_split: split, kernel, ..ReadPlan::default() };
        let mut parser = Parser::with_plan(Checked::new(sink), Some(total), plan);
        let main = pump(open(), &mut parser, total, progress, &cancel, None);
        // An error past the cut may only mean the cut was not a record boundary, which
        // the edge reader is about to find out: let it finish then.
        let past_cut = matches!((&main, split), (Err(Failure::Snapshot(e)), Some(cut)) if e.offset >= cut);
        if main.is_err() && !past_cut {
            cancel.store(true, Ordering::Relaxed);
        }
        let edges = edges.join().unwrap_or_else(|_| Err(Failure::Internal("the edge reader panicked")));
        match (main, edges) {
            (Err(a), Err(b)) => Err(Failure::earliest(a, b)),
            // The input ended in the nodes: the main reader's parser says where and why.
            (Ok(()), Err(Failure::Cancelled)) => {
                Err(parser.finish().err().map_or(Failure::Internal("the edge reader stopped early"), Failure::Snapshot))
            }
            (Err(a), Ok(_)) | (Ok(()), Err(a)) => Err(a),
            (Ok(()), Ok((checks, edges))) => {
                parser.sink_mut().add_edges(checks);
                parser.sink_mut().inner_mut().absorb_edges(edges);
                parser.finish().map(Checked::into_inner).map_err(Failure::Snapshot)
            }
        }
    })
}

/// A reading failure before the file name is attached.
enum Failure {
    Io(std::io::Error),
    Snapshot(SnapshotError),
    /// Stopped because the other reader failed: that failure is the one to report.
    Cancelled,
    Internal(&'static str),
}

impl Failure {
    fn named(self, path: &str) -> ReadError {
        match self {
            Failure::Io(error) => ReadError::io(path, error),
            Failure::Snapshot(error) => ReadError::Snapshot { path: path.to_string(), error },
            Failure::Cancelled => {
                ReadError::Internal { path: path.to_string(), message: "reading was cancelled".into() }
            }
            Failure::Internal(message) => ReadError::Internal { path: path.to_string(), message: message.into() },
        }
    }

    /// What a single reader would have met first (`b`, the edge reader, on a tie: it
    /// read the edges that the main reader only skipped).
    fn earliest(a: Failure, b: Failure) -> Failure {
        match (&a, &b) {
            (Failure::Cancelled, _) => b,
            (_, Failure::Cancelled) => a,
            (Failure::Snapshot(x), Failure::Snapshot(y)) if y.offset <= x.offset => b,
            (Failure::Io(_), _) => a,
            (_, Failure::Io(_)) => b,
            _ => a,
        }
    }
}

/// Feed the file to the parser in large blocks until the end, or until the parser
/// has read its part, or another reader failed. `jump`: where the nodes array ends, to
/// seek to once the parser is skipping that array (the edge reader).
fn pump<S: SnapshotSink>(
    mut source: Source,
    parser: &mut Parser<S>,
    total: u64,
    progress: &mut Option<Progress>,
    cancel: &AtomicBool,
    mut jump: Option<u64>,
) -> Result<(), Failure> {
    while !parser.stopped() {
        if let Some(to) = jump.filter(|&to| parser.skipping_nodes() && to > parser.bytes_read()) {
            source.seek(to);
            parser.jump_to(to);
            jump = None;
        }
        if let Some(to) = parser.split_jump() {
            source.seek(to);
            parser.jump_to(to);
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(Failure::Cancelled);
        }
        let bytes = source.next()?;
        if bytes.is_empty() {
            break;
        }
        parser.push(bytes).map_err(Failure::Snapshot)?;
        if let Some(report) = progress.as_mut() {
            report(parser.bytes_read(), total);
        }
    }
    Ok(())
}

/// The second reader: skips the nodes, parses and checks the edges up to the split
/// (or all of them), stops.
fn read_edges<E: EdgeSide>(
    source: Source,
    total: u64,
    (split, nodes_end): (Option<u64>, Option<u64>),
    kernel: Kernel,
    cancel: &AtomicBool,
) -> Result<(EdgeChecks, E), Failure> {
    let plan = ReadPlan { skip_nodes: true, stop_after_edges: true, edge_split: split, kernel, ..ReadPlan::default() };
    let mut parser = Parser::with_plan(EdgeReader::<E>::default(), Some(total), plan);
    let result = pump(source, &mut parser, total, &mut None, cancel, nodes_end);
    if result.is_err() {
        cancel.store(true, Ordering::Relaxed);
    }
    result?;
    // Not stopped: the input ended before the edges did; finish() says where and why,
    // unless it ended in the nodes, which the main reader parses and reports.
    let stopped = parser.stopped();
    let in_nodes = parser.skipping_nodes();
    let reader = parser.finish().map_err(|e| if in_nodes { Failure::Cancelled } else { Failure::Snapshot(e) })?;
    if !stopped {
        return Err(Failure::Snapshot(SnapshotError::new(
            SnapshotErrorKind::Truncated,
            total,
            "the file ends before the \"edges\" array",
        )));
    }
    Ok((reader.checks, reader.edges))
}

#[derive(Default)]
struct EdgeReader<E> {
    checks: EdgeChecks,
    edges: E,
}

impl<E: EdgeSide> SnapshotSink for EdgeReader<E> {
    fn on_meta(&mut self, meta: &Meta, size_hint: Option<u64>) -> Result<(), String> {
        self.checks = EdgeChecks::new(meta);
        self.edges.on_meta(meta, size_hint);
        Ok(())
    }

    fn on_node(&mut self, _record: &[u64]) -> Result<(), String> {
        Err("internal: the edge reader was given a node".into())
    }

    #[inline(always)]
    fn on_edge(&mut self, record: &[u64]) -> Result<(), String> {
        self.checks.check(record)?;
        self.edges.on_edge(record);
        Ok(())
    }
}

/// Run `sink` over an in-memory snapshot (tests, fuzzing).
pub fn read_bytes<S: SnapshotSink>(bytes: &[u8], sink: S) -> Result<S, SnapshotError> {
    read_bytes_using(bytes, sink, Kernel::Auto)
}

/// [`read_bytes`] with a chosen number-scanning kernel (tests compare them).
pub fn read_bytes_using<S: SnapshotSink>(bytes: &[u8], sink: S, kernel: Kernel) -> Result<S, SnapshotError> {
    let plan = ReadPlan { kernel, ..ReadPlan::default() };
    let mut parser = Parser::with_plan(Checked::new(sink), Some(bytes.len() as u64), plan);
    parser.push(bytes)?;
    parser.finish().map(Checked::into_inner)
}

/// A snapshot arriving in chunks (e.g. from `v8.getHeapSnapshot()`), size unknown.
pub struct ChunkReader<S: SnapshotSink> {
    parser: Parser<Checked<S>>,
}

impl<S: SnapshotSink> ChunkReader<S> {
    pub fn new(sink: S) -> Self {
        Self::using(sink, Kernel::Auto)
    }

    /// With a chosen number-scanning kernel (tests compare them).
    pub fn using(sink: S, kernel: Kernel) -> Self {
        let plan = ReadPlan { kernel, ..ReadPlan::default() };
        ChunkReader { parser: Parser::with_plan(Checked::new(sink), None, plan) }
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<(), SnapshotError> {
        self.parser.push(chunk)
    }

    pub fn bytes_read(&self) -> u64 {
        self.parser.bytes_read()
    }

    pub fn finish(self) -> Result<S, SnapshotError> {
        self.parser.finish().map(Checked::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(name: &str, bytes: &[u8]) -> File {
        let dir = std::env::temp_dir().join(format!("leakwatch-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        File::open(path).unwrap()
    }

    /// A snapshot-like text with `nodes` records made by `record(i)`, then the edges.
    fn text(nodes: usize, record: impl Fn(usize) -> String) -> String {
        let body: Vec<String> = (0..nodes).map(record).collect();
        let edges = "1,2,7\n,".repeat(20_000);
        format!(
            "{{\"snapshot\":{{\"node_count\":{nodes}}},\n\"nodes\":[{}],\n\"edges\":[{edges}1,2,7],\n\"strings\":[\"a\"]}}",
            body.join("\n,")
        )
    }

    #[test]
    fn the_edges_key_is_found_by_bisection_or_by_reading_from_the_start() {
        let cases = [
            // Node records of one shape, ids growing (longer records later): bisection.
            ("uniform", text(200_000, |i| format!("3,{i},{},64,2,0,0", 2 * i + 1))),
            // Records of varying shape (not V8's): the search from the start.
            ("ragged", text(200_000, |i| if i % 3 == 0 { format!("{i}") } else { format!("3,{i},{}", i * 2) })),
            // A key in the first sample.
            ("small", text(10, |i| format!("3,{i},1,64,2,0,0"))),
        ];
        for (name, text) in cases {
            let expected = text.find("\"edges\":").unwrap() as u64;
            assert_eq!(find_edges_key(&file_with(name, text.as_bytes()), text.len() as u64), Some(expected), "{name}");
        }
        let no_key = text(50_000, |i| format!("3,{i},1,64,2,0,0")).replace("\"edges\":", "\"other\":");
        assert_eq!(find_edges_key(&file_with("no-key", no_key.as_bytes()), no_key.len() as u64), None);
    }
}
