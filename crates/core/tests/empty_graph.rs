//! A snapshot with no nodes at all (valid JSON, empty arrays): the full-graph analyses
//! must give an answer, not panic (issue 14, item 9).

mod common;

use common::*;
use leakwatch_core::snapshot::{
    read_bytes, retained_summary, suspects, Analysed, AnalyzeError, GraphSink, SummarySink, SuspectOptions,
};

fn empty_snapshot() -> Vec<u8> {
    Builder::new(true, vec![], &[]).build()
}

#[test]
fn retained_summary_of_an_empty_snapshot_is_empty() {
    let graph = read_bytes(&empty_snapshot(), GraphSink::new()).expect("reads").into_graph().expect("has a header");
    assert_eq!(graph.node_count(), 0);
    let summary = Analysed::new(graph).summary();
    let lean = read_bytes(&empty_snapshot(), GraphSink::without_edge_names()).unwrap().into_graph().unwrap();
    assert_eq!(retained_summary(lean), summary);
    assert_eq!(summary.nodes, 0);
    assert_eq!(summary.edges, 0);
    assert_eq!(summary.total_size, 0);
    assert!(summary.classes.is_empty());
}

#[test]
fn three_snapshot_analysis_with_an_empty_last_snapshot_is_a_clean_error() {
    let bytes = empty_snapshot();
    let earlier = read_bytes(&bytes, SummarySink::new()).expect("reads").into_summary();
    let last = Analysed::new(read_bytes(&bytes, GraphSink::new()).expect("reads").into_graph().expect("header"));
    // No ids at all: nothing was allocated between S1 and S2, a typed error (not a panic).
    let error = suspects(&[earlier.clone(), earlier], &last, &SuspectOptions::default()).err();
    assert_eq!(error, Some(AnalyzeError::NothingBetween));
}
