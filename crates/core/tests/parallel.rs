//! The two-thread file reader (one thread for the edges array, one for the rest) must
//! give exactly what the one-thread reader gives, and fail the same way.

mod common;

use common::*;
use leakwatch_core::snapshot::{read_file_with, GraphSink, IdTableSink, ReadMode, SummarySink};
use std::path::{Path, PathBuf};

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    common::temp_file("parallel", name, bytes)
}

fn both<T: PartialEq + std::fmt::Debug>(
    path: &Path,
    read: impl Fn(&Path, ReadMode) -> Result<T, String>,
) -> (Result<T, String>, Result<T, String>) {
    (read(path, ReadMode::Serial), read(path, ReadMode::Parallel))
}

/// The one-thread and two-thread readers give the same summary and the same graph.
fn assert_readers_agree(path: &Path) {
    let (serial, parallel) = both(path, summary_of);
    assert_eq!(serial, parallel);
    let graph = |mode| {
        read_file_with(path, GraphSink::new(), None, mode)
            .map(|s| arrays(&s.into_graph().unwrap()))
            .map_err(|e| e.to_string())
    };
    assert_eq!(graph(ReadMode::Serial), graph(ReadMode::Parallel));
}

fn summary_of(path: &Path, mode: ReadMode) -> Result<leakwatch_core::snapshot::Summary, String> {
    read_file_with(path, SummarySink::new(), None, mode).map(SummarySink::into_summary).map_err(|e| e.to_string())
}

#[test]
fn parallel_reading_equals_serial_on_a_real_snapshot() {
    let path = temp_file("real.heapsnapshot", real_snapshot());
    let (serial, parallel) = both(&path, summary_of);
    let serial = serial.unwrap();
    assert_eq!(serial.edges, parallel.as_ref().unwrap().edges);
    assert_eq!(Ok(serial.clone()), parallel);
    assert!(serial.classes.iter().any(|c| c.name == "Fixture" && c.count == FIXTURES));

    let ids = |mode| {
        read_file_with(&path, IdTableSink::default(), None, mode)
            .map(|s| id_rows(&s.into_table()))
            .map_err(|e| e.to_string())
    };
    assert_eq!(ids(ReadMode::Serial), ids(ReadMode::Parallel));

    let graph = |mode| {
        read_file_with(&path, GraphSink::new(), None, mode)
            .map(|s| arrays(&s.into_graph().unwrap()))
            .map_err(|e| e.to_string())
    };
    let serial_graph = graph(ReadMode::Serial).unwrap();
    assert!(!serial_graph.edge_to.is_empty());
    assert_eq!(Ok(serial_graph), graph(ReadMode::Parallel));
}

#[test]
fn parallel_reading_fails_like_serial() {
    for (name, bytes) in broken_snapshots() {
        let path = temp_file(&format!("{name}.heapsnapshot"), &bytes);
        let (serial, parallel) = both(&path, summary_of);
        assert!(serial.is_err(), "{name}: serial accepted a broken file");
        assert_eq!(serial, parallel, "{name}: the readers disagree");
    }
}

/// Newlines inside records (not how V8 writes) make the planned cut land mid-record:
/// the edge reader notices and the file is read again with the edges in one piece.
#[test]
fn a_cut_that_is_not_a_record_boundary_falls_back_and_still_agrees() {
    let real = real_snapshot();
    let text = std::str::from_utf8(real).unwrap();
    let start = text.find("\"edges\":[").unwrap() + "\"edges\":[".len();
    let end = start + text[start..].find(']').unwrap();
    let edges = text[start..end].replace("\n,", ",").replace(',', "\n,");
    let reshaped = format!("{}{}{}", &text[..start], edges, &text[end..]);
    let path = temp_file("newline-everywhere.heapsnapshot", reshaped.as_bytes());
    let (serial, _) = both(&path, summary_of);
    assert!(serial.is_ok(), "{serial:?}");
    assert_readers_agree(&path);
}

/// `analyze` reads the snapshots before the last without their edges array: the same
/// summary as a full read (edges counted from the nodes), and node or header errors
/// are still found; kernels agree when reading files too.
#[test]
fn reading_without_edges_summarizes_like_a_full_read() {
    use leakwatch_core::snapshot::read::read_file_using;
    use leakwatch_core::snapshot::scanner::Kernel;
    use leakwatch_core::snapshot::summary::summarize_without_edges;
    let real = real_snapshot();
    let path = temp_file("without-edges.heapsnapshot", real);
    let full = summary_of(&path, ReadMode::Serial).unwrap();
    assert_eq!(summarize_without_edges(&path).map_err(|e| e.to_string()), Ok(full.clone()));
    for kernel in Kernel::ALL {
        for mode in [ReadMode::Serial, ReadMode::Parallel] {
            let read = read_file_using(&path, SummarySink::new(), None, mode, kernel).map(SummarySink::into_summary);
            assert_eq!(read.map_err(|e| e.to_string()), Ok(full.clone()), "{kernel:?} {mode:?}");
        }
    }

    let text = std::str::from_utf8(real).unwrap();
    // A node type out of range is still an error.
    let nodes_at = text.find("\"nodes\":[").unwrap() + "\"nodes\":[".len();
    let bad_node = format!("{}999{}", &text[..nodes_at], &text[nodes_at + 1..]);
    let path = temp_file("without-edges-bad-node.heapsnapshot", bad_node.as_bytes());
    let error = summarize_without_edges(&path).unwrap_err().to_string();
    assert!(error.contains("type 999"), "{error}");
    // A header edge_count that the nodes' edge counts contradict is still an error.
    let count_at = text.find("\"edge_count\":").unwrap() + "\"edge_count\":".len();
    let bad_count = format!("{}1{}", &text[..count_at], &text[count_at..]);
    let path = temp_file("without-edges-bad-count.heapsnapshot", bad_count.as_bytes());
    let error = summarize_without_edges(&path).unwrap_err().to_string();
    assert!(error.contains("edge_count"), "{error}");
}

/// Replace the array after `key` (a `"name":` key) of `text` with `array`.
fn with_array(text: &str, key: &str, array: &str) -> String {
    let at = text.find(key).unwrap() + key.len();
    let end = at + text[at..].find(']').unwrap() + 1;
    format!("{}{}{}", &text[..at], array, &text[end..])
}

/// The main reader seeks past the edges before the cut. When the edges end before the
/// planned cut — here a "locations" array after them, as big as the rest of the file and
/// shaped like edge records, catches the cut — the edge reader meets the `]` before its
/// split, and the file is read again with the edges in one piece: nothing after the edges
/// is taken for edges.
#[test]
fn edges_that_end_before_the_cut_fall_back_and_still_agree() {
    let text = std::str::from_utf8(real_snapshot()).unwrap();
    let records = "7,8,9\n,".repeat(text.len() / 6);
    let decoy = format!("[{records}7,8,9]");
    let bytes = with_array(text, "\"locations\":", &decoy);
    let path = temp_file("edge-shaped-locations.heapsnapshot", bytes.as_bytes());
    assert_eq!(summary_of(&path, ReadMode::Serial).map(|s| s.edges), Ok(real_edges()));
    assert_readers_agree(&path);
}

/// Strings that are most of the file (V8 keeps up to 1 KiB of each distinct string): the
/// cut moves back into the edges, and both readers agree.
#[test]
fn strings_that_are_most_of_the_file_keep_the_cut_in_the_edges() {
    let text = std::str::from_utf8(real_snapshot()).unwrap();
    let at = text.find("\"strings\":[").unwrap() + "\"strings\":[".len();
    let padding: String = (0..text.len() / 500).map(|i| format!("\"{}{i}\",\n", "x".repeat(1000))).collect();
    let bytes = format!("{}{padding}{}", &text[..at], &text[at..]);
    let path = temp_file("string-heavy.heapsnapshot", bytes.as_bytes());
    assert_eq!(summary_of(&path, ReadMode::Serial).map(|s| s.edges), Ok(real_edges()));
    assert_readers_agree(&path);
}

fn real_edges() -> u64 {
    summary(real_snapshot()).unwrap().edges
}
