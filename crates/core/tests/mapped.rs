//! Files read through a memory mapping (what the `leakwatch` command does after
//! `mapped::enable()`) give exactly what reading the same bytes gives, fail the same way,
//! and a file truncated while it is mapped is reported as truncated instead of killing
//! the process with SIGBUS. Its own test binary: enabling mappings is process-wide.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use leakwatch_core::snapshot::mapped::{self, Mapping};
use leakwatch_core::snapshot::meta::Meta;
use leakwatch_core::snapshot::scanner::SnapshotSink;
use leakwatch_core::snapshot::summary::EdgeCount;
use leakwatch_core::snapshot::{
    read_bytes, read_file_with, GraphSink, ReadError, ReadMode, SnapshotErrorKind, SplitSink, SummarySink,
};
use std::path::{Path, PathBuf};

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    common::temp_file("mapped", name, bytes)
}

fn enabled() {
    assert!(mapped::enable(), "the SIGBUS handler could not be installed");
}

#[test]
fn mapped_files_read_like_their_bytes() {
    enabled();
    let real = real_snapshot();
    let path = temp_file("real.heapsnapshot", real);
    let file = std::fs::File::open(&path).unwrap();
    assert!(Mapping::new(&file, real.len() as u64).is_some(), "the file was not mapped");
    let expected = summary(real).unwrap();
    let graph = read_bytes(real, GraphSink::new()).map(|s| arrays(&s.into_graph().unwrap())).unwrap();
    for mode in [ReadMode::Serial, ReadMode::Parallel] {
        let read = read_file_with(&path, SummarySink::new(), None, mode).map(SummarySink::into_summary);
        assert_eq!(read.as_ref().ok(), Some(&expected), "{mode:?}");
        let read = read_file_with(&path, GraphSink::new(), None, mode).map(|s| arrays(&s.into_graph().unwrap()));
        assert_eq!(read.as_ref().ok(), Some(&graph), "{mode:?}");
    }
}

#[test]
fn mapped_files_fail_like_their_bytes() {
    enabled();
    for (name, bytes) in broken_snapshots() {
        let path = temp_file(&format!("{name}.heapsnapshot"), &bytes);
        let expected = summary(&bytes).expect_err(name);
        for mode in [ReadMode::Serial, ReadMode::Parallel] {
            match read_file_with(&path, SummarySink::new(), None, mode) {
                Err(ReadError::Snapshot { error, .. }) => assert_eq!(error, expected, "{name} {mode:?}"),
                other => panic!("{name} {mode:?}: {:?}", other.map(|_| ())),
            }
        }
    }
}

/// The handler itself: pages past the new end of a truncated file read as zeros, and the
/// mapping knows it was cut short.
#[test]
fn a_mapping_whose_file_is_truncated_reads_zeros_and_says_so() {
    enabled();
    let bytes = vec![b'7'; 64 << 10];
    let path = temp_file("cut.bin", &bytes);
    let file = std::fs::File::open(&path).unwrap();
    let mapping = Mapping::new(&file, bytes.len() as u64).unwrap();
    assert_eq!(mapping.bytes()[100], b'7');
    assert!(!mapping.shrunk());
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(8 << 10).unwrap();
    // Without the handler this access kills the test process with SIGBUS.
    let tail = &mapping.bytes()[(16 << 10)..];
    assert!(tail.iter().all(|&b| b == 0));
    assert!(mapping.shrunk());
    // The bytes before the cut are still the file's.
    assert_eq!(mapping.bytes()[100], b'7');
}

/// A sink that truncates its file when the first node arrives: the rest of the file is
/// gone while the reader is in the middle of it, deterministically. It keeps nothing: only
/// the reader's error matters.
#[derive(Default)]
struct Truncating {
    path: Option<PathBuf>,
    keep: u64,
}

impl SnapshotSink for Truncating {
    fn on_meta(&mut self, _meta: &Meta, _size_hint: Option<u64>) -> Result<(), String> {
        Ok(())
    }
    fn on_node(&mut self, _record: &[u64]) -> Result<(), String> {
        if let Some(path) = self.path.take() {
            std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(self.keep).unwrap();
        }
        Ok(())
    }
}

impl SplitSink for Truncating {
    type Edges = EdgeCount;
    fn absorb_edges(&mut self, _earlier: EdgeCount) {}
}

fn truncated_while_read(path: &Path, keep: u64, mode: ReadMode) -> ReadError {
    let sink = Truncating { path: Some(path.to_path_buf()), keep };
    read_file_with(path, sink, None, mode).map(|_| ()).expect_err("a file truncated while read was accepted")
}

#[test]
fn a_file_truncated_while_it_is_read_is_reported_as_truncated() {
    enabled();
    let real = real_snapshot();
    let text = std::str::from_utf8(real).unwrap();
    let edges_at = text.find("\"edges\":[").unwrap() as u64;
    // Cut in the nodes (far past the first page the reader is in) and in the edges.
    for (name, keep) in [("nodes", edges_at / 2), ("edges", edges_at + 20_000)] {
        for mode in [ReadMode::Serial, ReadMode::Parallel] {
            let path = temp_file(&format!("cut-{name}.heapsnapshot"), real);
            match truncated_while_read(&path, keep, mode) {
                ReadError::Snapshot { error, .. } => {
                    assert_eq!(error.kind, SnapshotErrorKind::Truncated, "{name} {mode:?}: {error}");
                    assert_eq!(error.offset, keep, "{name} {mode:?}: {error}");
                }
                other => panic!("{name} {mode:?}: {other}"),
            }
        }
    }
}
