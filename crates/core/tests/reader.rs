//! Integration tests of the streaming snapshot reader: exact results on hand-built
//! snapshots, chunking equivalence, an independent serde_json reference on a real
//! node snapshot, and bad input that must give a located error, never a panic.

mod common;

use common::*;
use leakwatch_core::snapshot::{
    read_bytes, read_file, ChunkReader, GraphSink, IdTableSink, ReadError, SnapshotError, SnapshotErrorKind,
    SummarySink,
};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// 1. Exact results on hand-built snapshots.

fn check_sample(seven_fields: bool) {
    let b = sample(seven_fields);
    let bytes = b.build();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("\"node_count\":1.5e+01"), "header counts are written as floats");
    let s = summary(&bytes).unwrap_or_else(|e| panic!("sample ({} fields): {e}", b.width()));
    assert_eq!(summary_map(&s), sample_expected());
    assert_eq!(s.nodes, 15);
    assert_eq!(s.edges, b.edge_total() as u64);
    let total: u64 = sample_expected().values().map(|v| v.1).sum();
    assert!(total > u64::from(u32::MAX) * 2);
    assert_eq!(s.total_size, total);
    assert_eq!(s.max_js_id, 19);
    // Sorted by self size, largest first.
    assert!(s.classes.windows(2).all(|w| w[0].self_size >= w[1].self_size));
    assert_eq!(s.classes[0].name, "Foo");

    let g = graph(&bytes).unwrap();
    assert_eq!(g.node_count(), 15);
    assert_eq!(g.edge_count(), b.edge_total());
    assert_eq!(g.strings.get(4), "Café \u{1F600} lone\u{FFFD} end\u{FFFD}");
    assert_eq!(g.strings.get(5), "quote\" back\\ nl\n tab\t slash/");
    assert_eq!(g.class_name(12), "quote\" back\\ nl\n tab\t slash/");
    assert_eq!(g.class_name(5), "(system)");
    assert_eq!(g.class_name(6), "(compiled code)");
    assert_eq!(g.self_size[2], FOO_BIG);
    assert_eq!(g.edges_of(0), 0..3);
    assert_eq!(g.edge_to[..3], [1, 2, 3]);
    assert_eq!(g.edge_label(0), "[1]");
    assert_eq!(g.edge_label(2), "prop");
    assert!(g.is_weak(4));

    let t = id_table(&bytes).unwrap();
    assert_eq!(t.total_size, total);
    let rows = id_rows(&t);
    assert_eq!(rows.len(), 15);
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(rows[1], (2, "(system)".to_string(), 20));
}

#[test]
fn hand_built_seven_fields_exact_summary() {
    check_sample(true);
}

#[test]
fn hand_built_six_fields_exact_summary() {
    check_sample(false);
}

#[test]
fn six_and_seven_fields_agree_with_reference_parse() {
    // serde_json refuses lone surrogates, so use a variant without them.
    for seven in [true, false] {
        let mut b = sample(seven);
        b.strings[4] = r"Caf\u00e9 \ud83d\ude00".into();
        let bytes = b.build();
        let r = reference(&bytes);
        let s = summary(&bytes).unwrap();
        assert_eq!(summary_map(&s), r.classes);
        assert_eq!(arrays(&graph(&bytes).unwrap()), r.graph);
        assert_eq!(id_rows(&id_table(&bytes).unwrap()), r.id_rows);
    }
}

#[test]
fn integer_and_float_header_counts_both_accepted() {
    let mut b = sample(true);
    for (nc, ec) in [("15", "10"), ("15.0", "10.0"), ("1.5e1", "1e+01"), ("1.5E+01", "1.0e1")] {
        b.node_count = Some(nc.into());
        b.edge_count = Some(ec.into());
        assert_eq!(b.edge_total(), 10);
        summary(&b.build()).unwrap_or_else(|e| panic!("counts {nc}/{ec}: {e}"));
    }
}

#[test]
fn escapes_split_between_chunks_decode_the_same() {
    let bytes = sample(true).build();
    let whole = arrays(&graph(&bytes).unwrap());
    // Every cut position inside the strings array, one cut at a time.
    let start = String::from_utf8_lossy(&bytes).find("\"strings\"").unwrap();
    for cut in start..bytes.len() {
        let g = chunked(&bytes, GraphSink::new(), &[cut]).unwrap().into_graph().unwrap();
        assert_eq!(arrays(&g), whole, "cut at {cut}");
    }
}

// ---------------------------------------------------------------------------
// 2 + 3. Chunking equivalence and the serde_json reference on a real snapshot.

fn check_chunking(bytes: &[u8], seed: u64, slow_ok: bool) {
    let s = summary(bytes).unwrap();
    let t = id_rows(&id_table(bytes).unwrap());
    let g = arrays(&graph(bytes).unwrap());
    let mut rng = Rng::new(seed);
    let mut plans: Vec<(String, Vec<usize>)> = vec![
        ("2-byte".into(), cuts_every(bytes.len(), 2)),
        ("around quotes/backslashes/commas".into(), cuts_around_specials(bytes)),
    ];
    if slow_ok || bytes.len() < 100_000 {
        plans.push(("1-byte".into(), cuts_every(bytes.len(), 1)));
    }
    for round in 0..4 {
        plans.push((format!("random 1..64 #{round}"), cuts_random(bytes.len(), &mut rng, 64)));
    }
    for (name, cuts) in &plans {
        let cs = chunked(bytes, SummarySink::new(), cuts).unwrap().into_summary();
        assert_eq!(cs, s, "Summary differs with {name} chunks");
        let ct = id_rows(&chunked(bytes, IdTableSink::default(), cuts).unwrap().into_table());
        assert!(ct == t, "IdTable rows differ with {name} chunks");
        let cg = arrays(&chunked(bytes, GraphSink::new(), cuts).unwrap().into_graph().unwrap());
        assert!(cg == g, "HeapGraph arrays differ with {name} chunks");
    }
}

#[test]
fn chunking_equivalence_hand_built() {
    check_chunking(&sample(true).build(), 1, true);
    check_chunking(&sample(false).build(), 2, true);
}

#[test]
fn real_snapshot_chunked_equals_whole_and_reference() {
    let bytes = real_snapshot();
    let s = summary(bytes).unwrap();
    let fixture = s.classes.iter().find(|c| c.name == "Fixture").expect("a Fixture class");
    assert_eq!(fixture.count, FIXTURES);

    // Independent reference: a generic serde_json parse, classified by the same rules.
    let r = reference(bytes);
    assert_eq!(r.classes.get("Fixture").map(|c| c.0), Some(FIXTURES));
    assert_eq!(summary_map(&s), r.classes, "streaming summary differs from the serde_json reference");
    assert_eq!(s.nodes, r.node_count);
    assert_eq!(s.edges, r.edge_count);
    assert_eq!(s.total_size, r.total_size);
    assert_eq!(s.max_js_id, r.max_js_id);
    assert!(arrays(&graph(bytes).unwrap()) == r.graph, "graph arrays differ from the reference");
    assert!(id_rows(&id_table(bytes).unwrap()) == r.id_rows, "id table differs from the reference");

    check_chunking(bytes, 3, true);
}

#[test]
fn real_snapshot_through_read_file() {
    let bytes = real_snapshot();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lw-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("real.heapsnapshot");
    std::fs::write(&path, bytes).unwrap();
    let mut calls = 0;
    let mut last = (0, 0);
    let mut progress = |done: u64, total: u64| {
        calls += 1;
        last = (done, total);
    };
    let s = read_file(&path, SummarySink::new(), Some(&mut progress)).unwrap().into_summary();
    assert_eq!(s, summary(bytes).unwrap());
    assert!(calls >= 1);
    assert_eq!(last, (bytes.len() as u64, bytes.len() as u64));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------
// 4. Bad input: Err with a byte offset and what was expected; never a panic.

fn err(bytes: &[u8]) -> SnapshotError {
    // All three sinks must refuse it; return the summary's error.
    let a = summary(bytes).map(|_| ()).expect_err("summary accepted bad input");
    id_table(bytes).map(|_| ()).expect_err("id table accepted bad input");
    graph(bytes).map(|_| ()).expect_err("graph accepted bad input");
    let c = chunked(bytes, SummarySink::new(), &cuts_every(bytes.len(), 7)).map(|_| ()).expect_err("chunked accepted");
    assert_eq!(a.message, c.message, "chunked and whole report different problems");
    assert!(a.offset <= bytes.len() as u64, "offset {} beyond input length {}", a.offset, bytes.len());
    assert!(a.to_string().starts_with(&format!("byte {}: ", a.offset)));
    a
}

fn expect_err(bytes: &[u8], needle: &str) -> SnapshotError {
    let e = err(bytes);
    assert!(e.message.contains(needle), "expected {needle:?} in error, got: {e}");
    e
}

/// Callers branch on the kind of error, never on its message.
#[test]
fn errors_say_what_kind_of_problem_it_is() {
    let good = sample(true).build();
    let kind = |bytes: &[u8]| err(bytes).kind;
    assert_eq!(kind(&good[..good.len() / 2]), SnapshotErrorKind::Truncated);
    assert_eq!(kind(&good[..good.len() - 1]), SnapshotErrorKind::Truncated);
    assert_eq!(kind(b"[1,2,3]"), SnapshotErrorKind::NotASnapshot);
    assert_eq!(kind(b"{\"nodes\":[]}"), SnapshotErrorKind::NotASnapshot);
    let miscounted = replace_once(&good, "\"node_count\":1.5e+01", "\"node_count\":99");
    assert_eq!(kind(&miscounted), SnapshotErrorKind::Inconsistent);
}

fn replace_once(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.contains(from), "{from:?} not in snapshot");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn empty_input() {
    let e = expect_err(b"", "expected '{'");
    assert_eq!(e.offset, 0);
    let e = expect_err(b"  \n ", "expected '{'");
    assert_eq!(e.offset, 4);
}

#[test]
fn every_truncation_is_an_error() {
    for seven in [true, false] {
        let bytes = sample(seven).build();
        for len in 0..bytes.len() {
            let prefix = &bytes[..len];
            let e = summary(prefix).map(|_| ()).expect_err(&format!("prefix of {len} bytes accepted"));
            assert!(e.offset <= len as u64, "prefix {len}: offset {} past the end", e.offset);
            assert!(e.message.contains("expected"), "prefix {len}: {e}");
            assert!(graph(prefix).is_err() && id_table(prefix).is_err(), "prefix {len}");
        }
        assert!(summary(&bytes).is_ok());
    }
}

#[test]
fn not_json_and_not_a_snapshot() {
    let e = expect_err(b"hello world", "expected '{' starting a heap snapshot, found 'h'");
    assert_eq!(e.offset, 0);
    let e = expect_err(b"[]", "found '['");
    assert_eq!(e.offset, 0);
    let e = expect_err(b"{\"a\":1}", "no \"nodes\" array");
    assert_eq!(e.offset, 7);
    expect_err(b"{}", "no \"nodes\" array");
    let e = expect_err(b"{\"a\" 1}", "expected ':'");
    assert_eq!(e.offset, 5);
    expect_err(b"{\"snapshot\":{}}", "no \"meta\"");
    expect_err(b"{\"snapshot\":5,\"nodes\":[]}", "no \"meta\"");
    expect_err(b"{\"snapshot\":{\"meta\":{]}}", "not valid JSON");
    expect_err(b"\x00\xff\xfe", "found byte 0x00");
}

#[test]
fn misaligned_to_node() {
    let mut b = sample(true);
    b.nodes[0].edges[1].to = 2;
    let bytes = b.build();
    // Edge 1 points at ordinal 2 (offset 14); make it offset 15.
    let bad = replace_once(&bytes, "1,2,14", "1,2,15");
    let e = expect_err(&bad, "not a multiple of the 7 node fields");
    let edges_at = String::from_utf8_lossy(&bad).find("\"edges\"").unwrap() as u64;
    assert!(e.offset > edges_at, "offset {} should be inside the edges array (from {edges_at})", e.offset);
}

#[test]
fn to_node_past_the_last_node() {
    let mut b = sample(false);
    b.nodes[1].edges[0].to = 15; // there are 15 nodes: ordinal 15 does not exist
    expect_err(&b.build(), "points at node 15, but there are only 15 nodes");
}

#[test]
fn out_of_range_types_and_string_index() {
    let bytes = sample(true).build();
    // Node 3 is "3,3,7,4294967303,1,0,0": give it type 15 (there are 15 types: 0..14).
    let bad = replace_once(&bytes, "\n3,3,7,", "\n15,3,7,");
    expect_err(&bad, "node 3 has type 15, but meta lists 15 node types");
    // Edge type 7 (there are 7 edge types).
    let bad = replace_once(&bytes, "\n6,9,28", "\n7,9,28");
    expect_err(&bad, "has type 7, but meta lists 7 edge types");
    // A node name past the strings array.
    let mut b = sample(true);
    b.nodes[9].name = 99;
    expect_err(&b.build(), "refers to string 99, but the strings array holds 12");
    // A property edge name past the strings array.
    let mut b = sample(true);
    b.nodes[1].edges[0].name_or_index = 12;
    expect_err(&b.build(), "refers to string 12");
    // Ids, names and self sizes no V8 writes.
    let mut b = sample(true);
    b.nodes[2].id = 1 << 33;
    expect_err(&b.build(), "node 2 has id 8589934592, larger than V8 ever writes (2^32-1)");
    let mut b = sample(true);
    b.nodes[2].name = 1 << 33;
    expect_err(&b.build(), "node 2 names string 8589934592, more strings than a snapshot can hold");
    let mut b = sample(true);
    b.nodes[2].self_size = 1 << 63;
    expect_err(&b.build(), "node 2 has self size 9223372036854775808: the heap's total self size exceeds 2^63-1 bytes");
    // An element index past the strings array is fine: it is not a string index.
    let mut b = sample(true);
    b.nodes[0].edges[0].name_or_index = 1000;
    assert!(summary(&b.build()).is_ok());
}

#[test]
fn lying_header_counts_fail_fast_without_allocating() {
    let base = sample(true);
    let lie = 1_000_000_000_000u64;
    for (nodes, edges) in [(lie + 15, 10), (15, lie + 10)] {
        for text in [nodes.to_string(), sci(nodes)] {
            let mut b = base.clone();
            let edge_text = if edges == 10 { "1e+01".to_string() } else { sci(edges) };
            b.node_count = Some(if nodes == 15 { "15".to_string() } else { text.clone() });
            b.edge_count = Some(edge_text);
            let bytes = b.build();
            let started = Instant::now();
            let e = expect_err(&bytes, if nodes == 15 { "edge_count" } else { "node_count" });
            // Also pushed in chunks, where the size is unknown.
            for sink_run in 0..3 {
                let r = match sink_run {
                    0 => chunked(&bytes, GraphSink::new(), &[10, 100]).map(|_| ()),
                    1 => chunked(&bytes, IdTableSink::default(), &[10, 100]).map(|_| ()),
                    _ => read_bytes(&bytes, GraphSink::new()).map(|_| ()),
                };
                assert!(r.is_err());
            }
            assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
            assert!(e.message.contains(&format!("{}", nodes.max(edges))), "{e}");
        }
    }
}

#[test]
fn nodes_before_header() {
    let e = expect_err(b"{\"nodes\":[0,0,0,0,0,0],\"snapshot\":{}}", "comes before the \"snapshot\" header");
    assert_eq!(e.offset, 9);
    let bytes = sample(true).build();
    let text = String::from_utf8(bytes).unwrap();
    // Move the edges array before the nodes array.
    let nodes_at = text.find("\"nodes\"").unwrap();
    let edges_at = text.find("\"edges\"").unwrap();
    let tail_at = text.find("\"trace_function_infos\"").unwrap();
    let swapped =
        format!("{}{}{}{}", &text[..nodes_at], &text[edges_at..tail_at], &text[nodes_at..edges_at], &text[tail_at..]);
    expect_err(swapped.as_bytes(), "\"edges\" array comes before the \"nodes\" array");
}

#[test]
fn strings_before_nodes_is_refused_not_misread() {
    // V8 writes strings last; a reader that met them first would name classes "".
    let mut b = sample(true);
    b.strings[4] = r"Caf\u00e9".into(); // serde_json refuses lone surrogates
    let text = String::from_utf8(b.build()).unwrap();
    let nodes_at = text.find("\"nodes\"").unwrap();
    let strings_at = text.find("\"strings\"").unwrap();
    let moved =
        format!("{}{},\n{}}}", &text[..nodes_at], &text[strings_at..text.len() - 1], &text[nodes_at..strings_at - 2]);
    assert!(serde_json::from_str::<serde_json::Value>(&moved).is_ok(), "test input must be valid JSON");
    expect_err(moved.as_bytes(), "\"strings\" array comes before");
}

#[test]
fn trailing_garbage() {
    let mut bytes = sample(true).build();
    let len = bytes.len() as u64;
    bytes.extend_from_slice(b"\n \n");
    assert!(summary(&bytes).is_ok(), "trailing white space is fine");
    bytes.extend_from_slice(b"x");
    let e = expect_err(&bytes, "expected nothing more, found 'x'");
    assert_eq!(e.offset, len + 3);
    let mut twice = sample(true).build();
    twice.extend_from_slice(&sample(true).build());
    expect_err(&twice, "expected nothing more, found '{'");
}

#[test]
fn overlong_numbers() {
    let bytes = sample(true).build();
    let n25 = "1234567890123456789012345";
    let bad = replace_once(&bytes, "\n3,3,7,", &format!("\n3,3,{n25},"));
    let e = expect_err(&bad, "a number in the \"nodes\" array is too large");
    let at = String::from_utf8_lossy(&bad).find(n25).unwrap() as u64;
    assert_eq!(e.offset, at + 19, "offset of the 20th digit");
    // Values that fit in u64 but not in the fields' ranges.
    let bad = replace_once(&bytes, "\n3,3,7,", "\n3,3,4294967296,");
    expect_err(&bad, "id 4294967296");
    // Other number syntax V8 never writes in the arrays.
    for (from, to) in
        [("\n3,3,7,", "\n3,3,-7,"), ("\n3,3,7,", "\n3,3,7.0,"), ("\n3,3,7,", "\n3,3,7 7,"), ("\n3,3,7,", "\n3,3,7,,")]
    {
        let bad = replace_once(&bytes, from, to);
        expect_err(&bad, "expected a number, ',' or ']' in the \"nodes\" array");
    }
}

#[test]
fn summed_sizes_and_edge_counts_never_overflow() {
    // Two nodes each claiming 2^63 edges: the sum wraps to 0 in 64 bits, which
    // must not pass for "no edges".
    let bytes = format!(
        "{{\"snapshot\":{},\"nodes\":[3,0,1,0,{h},0,0,3,0,3,0,{h},0,0],\"edges\":[],\"strings\":[\"x\"]}}",
        header7(),
        h = 1u64 << 63
    );
    let e = err(bytes.as_bytes());
    assert!(e.message.contains("edge"), "{e}");
    // Self sizes whose total exceeds 64 bits (signed, for diffs) are refused.
    let big = (1u64 << 62) + 1;
    let bytes = format!(
        "{{\"snapshot\":{},\"nodes\":[3,0,1,{big},0,0,0,3,0,3,{big},0,0,0],\"edges\":[],\"strings\":[\"x\"]}}",
        header7()
    );
    let e = err(bytes.as_bytes());
    assert!(e.message.contains("self size"), "{e}");
    // Large but representable totals are summed exactly.
    let ok = (1u64 << 61) + 3;
    let bytes = format!(
        "{{\"snapshot\":{},\"nodes\":[3,0,1,{ok},0,0,0,3,0,3,{ok},0,0,0],\"edges\":[],\"strings\":[\"x\"]}}",
        header7()
    );
    let s = summary(bytes.as_bytes()).unwrap();
    assert_eq!(s.total_size, 2 * ok);
    assert_eq!(s.classes[0].self_size, 2 * ok);
}

fn header7() -> String {
    let mut b = sample(true);
    b.node_count = Some("2".into());
    b.edge_count = Some("0".into());
    b.header()
}

#[test]
fn long_keys_behave_the_same_whole_and_chunked() {
    let key = "k".repeat(300);
    let mut text = String::from_utf8(sample(true).build()).unwrap();
    text.insert_str(1, &format!("\"{key}\":1,"));
    let whole = summary(text.as_bytes()).map(|_| ());
    let pieces = chunked(text.as_bytes(), SummarySink::new(), &cuts_every(text.len(), 1)).map(|_| ());
    assert_eq!(whole.is_ok(), pieces.is_ok(), "whole: {whole:?}, 1-byte chunks: {pieces:?}");
}

#[test]
fn duplicate_sections_and_bad_strings() {
    let bytes = sample(true).build();
    expect_err(&replace_once(&bytes, "\"samples\"", "\"nodes\""), "duplicate \"nodes\" key");
    expect_err(&replace_once(&bytes, "\"Bar\"", "\"B\\ar\""), "expected a valid escape sequence");
    expect_err(&replace_once(&bytes, "\"Bar\"", "\"B\\u12g4\""), "expected 4 hex digits");
    expect_err(&replace_once(&bytes, "\"Bar\",", "\"Bar\",,"), "expected the rest of the \"strings\" array");
    expect_err(&replace_once(&bytes, "\"Bar\"", "3"), "expected the rest of the \"strings\" array");
    expect_err(&replace_once(&bytes, "\"nodes\":[", "\"nodes\":{"), "expected '[' starting the \"nodes\" array");
}

#[test]
fn chunk_reader_reports_offsets_across_chunks() {
    let mut bytes = sample(true).build();
    let len = bytes.len() as u64;
    bytes.extend_from_slice(b"!");
    let mut reader = ChunkReader::new(SummarySink::new());
    let mut failed = None;
    for (i, piece) in bytes.chunks(5).enumerate() {
        if let Err(e) = reader.push(piece) {
            failed = Some((i, e));
            break;
        }
    }
    let (_, e) = failed.expect("trailing '!' refused");
    assert_eq!(e.offset, len);
}

#[test]
fn read_file_errors_name_the_path() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("lw-paths-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let r = read_file(&dir, SummarySink::new(), None);
    let e = r.map(|_| ()).expect_err("a directory is not a snapshot");
    let msg = e.to_string();
    assert!(msg.contains(&dir.display().to_string()) && msg.contains("directory"), "{msg}");

    let missing = dir.join("no-such.heapsnapshot");
    let e = read_file(&missing, SummarySink::new(), None).map(|_| ()).expect_err("missing file");
    assert!(matches!(e, ReadError::NotFound { .. }));
    let msg = e.to_string();
    assert!(msg.contains(&missing.display().to_string()) && msg.contains("no such file"), "{msg}");

    let empty = dir.join("empty.heapsnapshot");
    std::fs::write(&empty, b"").unwrap();
    let msg = read_file(&empty, SummarySink::new(), None).map(|_| ()).unwrap_err().to_string();
    assert!(msg.contains(&empty.display().to_string()) && msg.contains("byte 0") && msg.contains("empty"), "{msg}");

    let truncated = dir.join("truncated.heapsnapshot");
    let bytes = sample(true).build();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let msg = read_file(&truncated, SummarySink::new(), None).map(|_| ()).unwrap_err().to_string();
    assert!(
        msg.contains(&truncated.display().to_string())
            && msg.contains(&format!("byte {}", bytes.len() / 2))
            && msg.contains("unexpected end of input"),
        "{msg}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
