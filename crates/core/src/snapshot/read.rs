//! Reading a snapshot from a file (large buffered reads) or from pushed chunks.

use super::checked::Checked;
use super::error::{ReadError, SnapshotError};
use super::scanner::{Parser, SnapshotSink};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Big enough that syscalls vanish from the profile, small enough to stay in L2/L3.
const READ_BLOCK: usize = 1 << 20;

/// Called with (bytes read, total bytes) as a file is read.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Run `sink` over the file at `path`, checked for consistency, and return it.
pub fn read_file<S: SnapshotSink>(path: &Path, sink: S, progress: Option<Progress>) -> Result<S, ReadError> {
    let name = path.display().to_string();
    let io = |error: std::io::Error| ReadError::Io { path: name.clone(), error };
    let mut file = File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if metadata.is_dir() {
        return Err(ReadError::Invalid { path: name, message: "is a directory, expected a .heapsnapshot file".into() });
    }
    let total = metadata.len();
    if total == 0 {
        return Err(ReadError::Snapshot { path: name, error: SnapshotError::at(0, "the file is empty, expected a heap snapshot") });
    }
    let mut parser = Parser::new(Checked::new(sink), Some(total));
    let mut block = vec![0u8; READ_BLOCK];
    let mut progress = progress;
    let snapshot_error = |error: SnapshotError| ReadError::Snapshot { path: name.clone(), error };
    loop {
        let n = match file.read(&mut block) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        parser.push(&block[..n]).map_err(snapshot_error)?;
        if let Some(report) = progress.as_mut() {
            report(parser.bytes_read(), total);
        }
    }
    parser.finish().map(Checked::into_inner).map_err(snapshot_error)
}

/// Run `sink` over an in-memory snapshot (tests, fuzzing).
pub fn read_bytes<S: SnapshotSink>(bytes: &[u8], sink: S) -> Result<S, SnapshotError> {
    let mut parser = Parser::new(Checked::new(sink), Some(bytes.len() as u64));
    parser.push(bytes)?;
    parser.finish().map(Checked::into_inner)
}

/// A snapshot arriving in chunks (e.g. from `v8.getHeapSnapshot()`), size unknown.
pub struct ChunkReader<S: SnapshotSink> {
    parser: Parser<Checked<S>>,
}

impl<S: SnapshotSink> ChunkReader<S> {
    pub fn new(sink: S) -> Self {
        ChunkReader { parser: Parser::new(Checked::new(sink), None) }
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
