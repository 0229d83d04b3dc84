//! The analyses on hand-built heaps of one "process" over time: leakwatch's id sentinel
//! (renumbering is refused), and the survivors of the S1→S2 window over four snapshots
//! (a leak keeps them, an evicting cache loses them).

mod common;

use common::*;
use leakwatch_core::snapshot::{
    check_sentinels, diff_files, large_enough, sentinel_token, shrank_after_s3, summarize_series, suspects, Analysed,
    AnalyzeError, IdSentinel, ReadError, SentinelMismatch, Summary, SuspectOptions, PATH_KEEP,
};

const TOKEN_A: &str = "LeakwatchIdSentinel_0123456789abcdef0123456789abcdef";
const TOKEN_B: &str = "LeakwatchIdSentinel_fedcba9876543210fedcba9876543210";

/// The legacy sentinel (no token) with this id.
fn legacy(id: u32) -> IdSentinel {
    IdSentinel::One { token: String::new(), id }
}

const STRINGS: [&str; 5] = ["", "(root)", "Store", "Entry", "LeakwatchIdSentinel"];

/// A root holding a `Store` (which holds `Entry` objects with these ids) and, when given,
/// leakwatch's id sentinel.
fn heap(sentinel: Option<u64>, entries: &[u64]) -> Vec<u8> {
    let mut root_edges = vec![e("element", 1, 1)];
    if sentinel.is_some() {
        root_edges.push(e("element", 2, 2));
    }
    let store_edges = (0..entries.len() as u64).map(|i| e("element", i, 3 + i)).collect();
    let mut nodes = vec![n("synthetic", 1, 1, 0, root_edges), n("object", 2, 3, 16, store_edges)];
    // The sentinel's slot is always there (unreachable without the root edge) to keep ordinals fixed.
    nodes.push(n("object", if sentinel.is_some() { 4 } else { 2 }, sentinel.unwrap_or(5), 8, vec![]));
    nodes.extend(entries.iter().map(|&id| n("object", 3, id, 100, vec![])));
    Builder::new(true, nodes, &STRINGS).build()
}

fn ids(from: u64, count: u64) -> Vec<u64> {
    (0..count).map(|i| from + 2 * i).collect()
}

fn analyse(snapshots: &[Vec<u8>]) -> Result<Vec<leakwatch_core::snapshot::Group>, AnalyzeError> {
    let dir = std::env::temp_dir().join(format!("leakwatch-analysis-test-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<_> = snapshots
        .iter()
        .enumerate()
        .map(|(k, bytes)| {
            let file = dir.join(format!("s{}.heapsnapshot", k + 1));
            std::fs::write(&file, bytes).unwrap();
            file
        })
        .collect();
    let (last, earlier) = files.split_last().unwrap();
    let summaries = summarize_series(earlier).unwrap();
    let analysed = Analysed::new(leakwatch_core::snapshot::graph_file(last, None).unwrap());
    let result = suspects(&summaries, &analysed, &SuspectOptions { min_count: 1, min_retained: 0 });
    std::fs::remove_dir_all(&dir).unwrap();
    result.map(|report| report.groups)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn entry(groups: &[leakwatch_core::snapshot::Group]) -> &leakwatch_core::snapshot::Group {
    groups.iter().find(|g| g.name == "Entry").expect("an Entry group")
}

#[test]
fn the_sentinel_is_found_in_summaries_id_tables_and_graphs() {
    let bytes = heap(Some(51), &ids(101, 3));
    assert_eq!(summary(&bytes).unwrap().id_sentinel, legacy(51));
    assert_eq!(id_table(&bytes).unwrap().id_sentinel(), legacy(51));
    assert_eq!(Analysed::new(graph(&bytes).unwrap()).id_sentinel(), legacy(51));
    let without = heap(None, &ids(101, 3));
    assert_eq!(summary(&without).unwrap().id_sentinel, IdSentinel::Absent);
    assert_eq!(id_table(&without).unwrap().id_sentinel(), IdSentinel::Absent);
}

#[test]
fn only_the_prefix_and_32_lowercase_hex_digits_make_a_sentinel_class() {
    assert_eq!(sentinel_token(TOKEN_A), Some("0123456789abcdef0123456789abcdef"));
    assert_eq!(sentinel_token("LeakwatchIdSentinel"), Some(""));
    for other in [
        "LeakwatchIdSentinel_",
        "LeakwatchIdSentinel_0123",
        "LeakwatchIdSentinel_0123456789ABCDEF0123456789abcdef",
        "LeakwatchIdSentinelX",
        "Entry",
    ] {
        assert_eq!(sentinel_token(other), None, "{other}");
    }
}

#[test]
fn the_tokened_sentinel_wins_over_an_apps_own_class_and_copies_are_ambiguous() {
    // The app's own `LeakwatchIdSentinel` objects do not hide the real one…
    let found = IdSentinel::from_classes([("LeakwatchIdSentinel", 5, 7), (TOKEN_A, 1, 51), ("Entry", 9, 9)]);
    assert_eq!(found, IdSentinel::One { token: TOKEN_A[20..].to_string(), id: 51 });
    // …but without it they make the legacy check ambiguous, as do copies of the real one
    // or two tokens in one heap.
    assert_eq!(IdSentinel::from_classes([("LeakwatchIdSentinel", 5, 7)]), IdSentinel::Ambiguous { count: 5 });
    assert_eq!(IdSentinel::from_classes([(TOKEN_A, 3, 51)]), IdSentinel::Ambiguous { count: 3 });
    assert_eq!(IdSentinel::from_classes([(TOKEN_A, 1, 51), (TOKEN_B, 1, 53)]), IdSentinel::Ambiguous { count: 2 });
    assert_eq!(IdSentinel::from_classes([("Entry", 9, 9)]), IdSentinel::Absent);
}

#[test]
fn sentinels_must_agree_where_present() {
    let a = |id| IdSentinel::from_classes([(TOKEN_A, 1, id)]);
    let b = |id| IdSentinel::from_classes([(TOKEN_B, 1, id)]);
    assert_eq!(check_sentinels(&[a(51), IdSentinel::Absent, a(51), a(51)]), Ok(()));
    assert_eq!(check_sentinels(&[IdSentinel::Absent, IdSentinel::Absent, IdSentinel::Absent]), Ok(()));
    assert_eq!(check_sentinels(&[legacy(51), legacy(51)]), Ok(()));
    assert_eq!(
        check_sentinels(&[a(51), a(51), a(9001), a(9001)]),
        Err(SentinelMismatch::Renumbered { earlier: 2, later: 3, earlier_id: 51, later_id: 9001 })
    );
    // Another process: another token, whatever the ids.
    assert_eq!(check_sentinels(&[a(51), b(51)]), Err(SentinelMismatch::DifferentProcesses { earlier: 1, later: 2 }));
    assert_eq!(
        check_sentinels(&[legacy(51), a(51)]),
        Err(SentinelMismatch::DifferentProcesses { earlier: 1, later: 2 })
    );
    // An ambiguous sentinel refuses; it is never skipped.
    assert_eq!(
        check_sentinels(&[a(51), IdSentinel::Ambiguous { count: 4 }, a(51)]),
        Err(SentinelMismatch::Ambiguous { at: 2, count: 4 })
    );
}

#[test]
fn survivors_shrink_only_when_a_later_snapshot_lost_a_material_share() {
    assert!(!shrank_after_s3(&[0, 10, 10])); // three snapshots: nothing to compare with
    assert!(!shrank_after_s3(&[0, 10, 10, 10]));
    assert!(!shrank_after_s3(&[0, 100, 100, 95])); // a few freed: still a leak's shape
    assert!(shrank_after_s3(&[0, 100, 100, 40]));
    assert!(shrank_after_s3(&[0, 100, 100, 100, 0]));
}

#[test]
fn a_leak_keeps_its_survivors_and_stays_a_suspect() {
    let s1 = ids(101, 10);
    let s2 = [s1.clone(), ids(201, 10)].concat();
    let s3 = [s2.clone(), ids(301, 10)].concat();
    let s4 = [s3.clone(), ids(401, 10)].concat();
    let groups =
        analyse(&[heap(Some(51), &s1), heap(Some(51), &s2), heap(Some(51), &s3), heap(Some(51), &s4)]).unwrap();
    let leak = entry(&groups);
    assert!(leak.suspect);
    assert_eq!(leak.survivors, vec![0, 10, 10, 10]);
    assert!(!leak.survivors_shrank);
    assert_eq!(leak.count, 10);
    assert_eq!(groups[0].name, "Entry");
}

#[test]
fn a_cache_that_evicts_its_oldest_entries_is_not_a_suspect_with_four_snapshots() {
    // Capacity 20: S3 still holds the entries made between S1 and S2; S4 has evicted the
    // oldest seven of them.
    let s1 = ids(101, 10);
    let s2 = [s1.clone(), ids(201, 10)].concat();
    let s3 = [ids(201, 10), ids(301, 10)].concat();
    let s4 = [ids(215, 3), ids(301, 10), ids(401, 7)].concat();
    let three = analyse(&[heap(Some(51), &s1), heap(Some(51), &s2), heap(Some(51), &s3)]).unwrap();
    assert!(entry(&three).suspect, "with three snapshots the filling cache looks like a leak");
    let four = analyse(&[heap(Some(51), &s1), heap(Some(51), &s2), heap(Some(51), &s3), heap(Some(51), &s4)]).unwrap();
    let cache = entry(&four);
    assert!(!cache.suspect);
    assert!(cache.survivors_shrank);
    assert_eq!(cache.survivors, vec![0, 10, 10, 3]);
    // All of them evicted: nothing of the window is left to blame.
    let s4 = [ids(301, 10), ids(401, 10)].concat();
    let gone = analyse(&[heap(Some(51), &s1), heap(Some(51), &s2), heap(Some(51), &s3), heap(Some(51), &s4)]).unwrap();
    assert!(gone.iter().all(|g| !g.suspect));
}

#[test]
fn renumbered_snapshots_are_refused_by_the_analysis_and_the_diff() {
    let s1 = ids(101, 10);
    let s2 = [s1.clone(), ids(201, 10)].concat();
    // After a renumbering every id is new, and larger: without the sentinel this would pass.
    let s3: Vec<u64> = s2.iter().map(|id| id + 10_000).chain(ids(20_301, 10)).collect();
    let error = analyse(&[heap(Some(51), &s1), heap(Some(51), &s2), heap(Some(10_051), &s3)]).unwrap_err();
    assert_eq!(
        error,
        AnalyzeError::Sentinel(SentinelMismatch::Renumbered { earlier: 2, later: 3, earlier_id: 51, later_id: 10_051 })
    );

    let dir = std::env::temp_dir().join(format!("leakwatch-diff-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.heapsnapshot"), dir.join("b.heapsnapshot"));
    std::fs::write(&a, heap(Some(51), &s2)).unwrap();
    std::fs::write(&b, heap(Some(10_051), &s3)).unwrap();
    let refused = diff_files(&a, &b).unwrap_err();
    assert!(
        matches!(
            refused,
            ReadError::Sentinel { mismatch: SentinelMismatch::Renumbered { earlier_id: 51, later_id: 10_051, .. }, .. }
        ),
        "{refused}"
    );
    // Same sentinel: compared as before.
    std::fs::write(&b, heap(Some(51), &s3)).unwrap();
    assert!(diff_files(&a, &b).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn summaries_of_a_series_count_the_window_per_class() {
    let dir = std::env::temp_dir().join(format!("leakwatch-series-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let s1 = ids(101, 4);
    let s2 = [s1.clone(), ids(201, 6)].concat();
    let s3 = [ids(203, 5), ids(301, 3)].concat();
    let files: Vec<_> = [&s1, &s2, &s3]
        .iter()
        .enumerate()
        .map(|(k, entries)| {
            let file = dir.join(format!("{k}.heapsnapshot"));
            std::fs::write(&file, heap(Some(51), entries)).unwrap();
            file
        })
        .collect();
    let series: Vec<Summary> = summarize_series(&files).unwrap();
    assert!(series[0].in_window.is_empty());
    assert_eq!(series[1].in_window, vec![("Entry".to_string(), 6)]);
    assert_eq!(series[2].in_window, vec![("Entry".to_string(), 5)]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `summary --retained` reads the graph without edge names and frees columns as it goes:
/// the same summary as the full analysis, retained sizes included.
#[test]
fn the_lean_retained_summary_equals_the_full_analysis() {
    use leakwatch_core::snapshot::{read_bytes, retained_summary, GraphSink};
    let bytes = real_snapshot();
    let full = Analysed::new(graph(bytes).unwrap()).summary();
    let lean_graph = read_bytes(bytes, GraphSink::without_edge_names()).unwrap().into_graph().unwrap();
    assert!(lean_graph.edge_name.is_empty());
    assert_eq!(lean_graph.edge_to, graph(bytes).unwrap().edge_to);
    let lean = retained_summary(lean_graph);
    assert!(full.classes.iter().any(|c| c.retained_size.is_some_and(|r| r > c.self_size)));
    assert_eq!(lean, full);
}

#[test]
fn a_long_retainer_path_keeps_its_ends_and_counts_what_it_left_out() {
    // root → Store → Entry → Entry → … : 60 steps from the root to the last Entry.
    let chain = 60u64;
    let mut nodes = vec![n("synthetic", 1, 1, 0, vec![e("element", 1, 1)])];
    for k in 1..=chain {
        let next = if k < chain { vec![e("property", 3, k + 1)] } else { vec![] };
        nodes.push(n("object", if k == 1 { 2 } else { 3 }, 1 + 2 * k, 16, next));
    }
    let analysed = Analysed::new(graph(&Builder::new(true, nodes, &STRINGS).build()).unwrap());
    let (steps, elided) = analysed.retainer_path(chain as u32);
    assert_eq!(steps.len(), 2 * PATH_KEEP);
    assert_eq!(elided, chain - 2 * PATH_KEEP as u64);
    assert_eq!(steps[0].node.class, "Store");
    assert_eq!(steps.last().unwrap().node.id, 1 + 2 * chain as u32);
    // A short path is whole.
    let (short, none) = analysed.retainer_path(5);
    assert_eq!((short.len(), none), (5, 0));
}

#[test]
fn a_few_dozen_objects_holding_a_sliver_of_the_heap_and_its_growth_are_noise() {
    const MB: u64 = 1 << 20;
    // The healthy batch worker's leftovers: 26 objects, 26 KB, in a 3.8 MB heap that grew 300 KB.
    assert!(!large_enough(26, 26 * 1024, 38 * MB / 10, 300 * 1024));
    // Many small objects, a few big ones, or most of the growth: large enough.
    assert!(large_enough(400, 16 * 1024, 4 * MB, 300 * 1024));
    assert!(large_enough(30, 30 * MB, 500 * MB, 0));
    assert!(large_enough(50, 5 * MB, 2048 * MB, 6 * MB));
    // A heap that shrank gives no growth to be a share of.
    assert!(!large_enough(50, 20 * 1024, 4 * MB, 0));
}
