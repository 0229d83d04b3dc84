//! Fuzz-style property test of the snapshot reader: random mutations of valid
//! snapshots must give Ok or Err, never a panic; all sinks must agree on validity;
//! chunked reading must agree with whole reading; Ok graphs must be consistent; every
//! number-scanning kernel (SIMD windows, their portable twin) must give exactly what
//! the scalar reference gives: the same summary and graph, or the same error at the
//! same offset.
//!
//! Runs for `LEAKWATCH_FUZZ_SECS` seconds (default 3) from seed `LEAKWATCH_FUZZ_SEED`.
//! A panicking input is saved under the cargo target tmp dir and reported.

mod common;

use common::*;
use leakwatch_core::snapshot::read::read_bytes_using;
use leakwatch_core::snapshot::scanner::{classify_with, Kernel};
use leakwatch_core::snapshot::{ChunkReader, GraphSink, HeapGraph, Summary, SummarySink};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// Bytes that matter to a JSON/snapshot parser.
const SIGNIFICANT: &[u8] = b"\"\\,[]{}0123456789e.:-u \n";

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    let rounds = rng.range(1, 5);
    for _ in 0..rounds {
        if input.is_empty() {
            input.push(SIGNIFICANT[rng.range(0, SIGNIFICANT.len())]);
            continue;
        }
        let len = input.len();
        let at = rng.range(0, len);
        match rng.range(0, 8) {
            0 => input[at] ^= 1 << rng.range(0, 8),
            1 => input[at] = rng.next() as u8,
            2 | 3 => input.insert(at, SIGNIFICANT[rng.range(0, SIGNIFICANT.len())]),
            4 => {
                let n = rng.range(1, 9).min(len - at);
                input.drain(at..at + n);
            }
            5 => input.truncate(at),
            6 => {
                // Duplicate a slice somewhere else.
                let n = rng.range(1, 65).min(len - at);
                let slice = input[at..at + n].to_vec();
                let to = rng.range(0, len + 1);
                input.splice(to..to, slice);
            }
            _ => {
                // Replace a digit run with a big or odd number.
                let odd: [&[u8]; 6] = [
                    b"4294967296",
                    b"18446744073709551615",
                    b"99999999999999999999",
                    b"0",
                    b"1e+06",
                    b"9223372036854775808",
                ];
                let pick = odd[rng.range(0, odd.len())];
                let mut end = at;
                while end < len && input[end].is_ascii_digit() {
                    end += 1;
                }
                input.splice(at..end, pick.iter().copied());
            }
        }
    }
}

fn check_graph(g: &HeapGraph) {
    let n = g.node_count();
    assert_eq!(g.node_name.len(), n);
    assert_eq!(g.node_id.len(), n);
    assert_eq!(g.self_size.len(), n);
    assert_eq!(g.first_edge.len(), n + 1, "first_edge has node_count + 1 entries");
    assert_eq!(g.first_edge[0], 0);
    assert!(g.first_edge.windows(2).all(|w| w[0] <= w[1]), "first_edge is monotone");
    assert_eq!(*g.first_edge.last().unwrap() as usize, g.edge_count(), "edge counts add up");
    assert_eq!(g.edge_name.len(), g.edge_count());
    assert_eq!(g.edge_to.len(), g.edge_count());
    assert!(g.edge_to.iter().all(|&to| (to as usize) < n), "edge_to < node_count");
    assert!(g.node_kind.iter().all(|&k| (k as usize) < g.node_types.len()));
    assert!(g.edge_kind.iter().all(|&k| (k as usize) < g.edge_types.len()));
    assert!(g.node_name.iter().all(|&s| (s as usize) < g.strings.len()));
    for node in 0..n as u32 {
        let _ = g.class_name(node);
        for edge in g.edges_of(node) {
            let _ = g.edge_label(edge);
        }
    }
}

/// The window kernels, checked against `Kernel::Scalar` (the SIMD ones fall back to the
/// best the CPU has, so the list is valid everywhere).
fn window_kernels() -> impl Iterator<Item = Kernel> {
    Kernel::ALL.into_iter().filter(|&k| k != Kernel::Scalar).chain([Kernel::Auto])
}

fn summary_using(input: &[u8], kernel: Kernel) -> Result<Summary, String> {
    read_bytes_using(input, SummarySink::new(), kernel).map(SummarySink::into_summary).map_err(|e| format!("{e:?}"))
}

fn graph_using(input: &[u8], kernel: Kernel) -> Result<GraphArrays, String> {
    read_bytes_using(input, GraphSink::new(), kernel)
        .map(|s| arrays(&s.into_graph().expect("graph after Ok")))
        .map_err(|e| format!("{e:?}"))
}

/// Every kernel gives the scalar reference's summary and graph, or its exact error,
/// read whole and in chunks. Returns the number of comparisons made.
fn check_kernels(input: &[u8], cuts: &[usize]) -> u64 {
    let reference = summary_using(input, Kernel::Scalar);
    let reference_graph = graph_using(input, Kernel::Scalar);
    let chunked_with = |kernel| {
        let mut reader = ChunkReader::using(SummarySink::new(), kernel);
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            let cut = cut.min(input.len());
            if cut > start {
                reader.push(&input[start..cut]).map_err(|e| format!("{e:?}"))?;
                start = cut;
            }
        }
        reader.finish().map(SummarySink::into_summary).map_err(|e| format!("{e:?}"))
    };
    let chunked_reference = chunked_with(Kernel::Scalar);
    for kernel in window_kernels() {
        assert_eq!(summary_using(input, kernel), reference, "{kernel:?} summary differs from the scalar kernel's");
        assert!(graph_using(input, kernel) == reference_graph, "{kernel:?} graph differs from the scalar kernel's");
        assert_eq!(
            chunked_with(kernel),
            chunked_reference,
            "{kernel:?} chunked summary differs from the scalar kernel's"
        );
    }
    3 * window_kernels().count() as u64
}

/// Everything the property demands of one input. Panics on a violation.
fn check_input(input: &[u8], rng: &mut Rng) {
    let s = summary(input);
    let t = id_table(input);
    let g = graph(input);
    assert_eq!(
        s.is_ok(),
        t.is_ok(),
        "SummarySink and IdTableSink disagree: {:?} / {:?}",
        s.as_ref().err(),
        t.as_ref().err()
    );
    assert_eq!(
        s.is_ok(),
        g.is_ok(),
        "SummarySink and GraphSink disagree: {:?} / {:?}",
        s.as_ref().err(),
        g.as_ref().err()
    );
    let max_chunk = 1 + rng.range(0, 64);
    let cuts = cuts_random(input.len(), rng, max_chunk);
    // Chunks big enough for windows (and their ends) in the kernel comparison.
    let max_kernel_chunk = 64 + rng.range(0, 4096);
    let kernel_cuts = cuts_random(input.len(), rng, max_kernel_chunk);
    check_kernels(input, &kernel_cuts);
    let c = chunked(input, SummarySink::new(), &cuts).map(SummarySink::into_summary);
    match (&s, &c) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "chunked summary differs"),
        (Err(a), Err(b)) => {
            assert!(a.offset <= input.len() as u64, "offset {} past the end ({})", a.offset, input.len());
            assert!(b.offset <= input.len() as u64);
            assert!(!a.message.is_empty());
        }
        _ => panic!("whole and chunked disagree: {:?} / {:?}", s.as_ref().err(), c.as_ref().err()),
    }
    if let (Ok(s), Ok(t), Ok(g)) = (&s, &t, &g) {
        check_graph(g);
        assert_eq!(s.nodes as usize, g.node_count());
        assert_eq!(s.edges as usize, g.edge_count());
        assert_eq!(t.rows.len(), g.node_count());
        assert_eq!(s.classes.iter().map(|c| c.count).sum::<u64>(), s.nodes);
        assert_eq!(s.total_size, g.self_size.iter().sum::<u64>());
        assert_eq!(t.total_size, s.total_size);
        assert!(t.rows.windows(2).all(|w| w[0].0 <= w[1].0));
        // A chunked graph matches too.
        let cg = chunked(input, GraphSink::new(), &cuts).unwrap().into_graph().unwrap();
        assert!(arrays(&cg) == arrays(g), "chunked graph differs");
    }
}

/// A small but real snapshot: node's header and the first nodes of the real heap,
/// edges kept only between them, strings kept only as referenced.
fn reduced_real(bytes: &[u8], keep: usize) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let meta = &v["snapshot"]["meta"];
    let nw = meta["node_fields"].as_array().unwrap().len();
    let ew = meta["edge_fields"].as_array().unwrap().len();
    let field = |list: &str, f: &str| meta[list].as_array().unwrap().iter().position(|x| x == f).unwrap();
    let (n_name, n_edges) = (field("node_fields", "name"), field("node_fields", "edge_count"));
    let (e_type, e_name, e_to) =
        (field("edge_fields", "type"), field("edge_fields", "name_or_index"), field("edge_fields", "to_node"));
    let edge_types: Vec<&str> = meta["edge_types"][0].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let nums = |k: &str| -> Vec<u64> { v[k].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect() };
    let (nodes, edges) = (nums("nodes"), nums("edges"));
    let strings: Vec<&str> = v["strings"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    let keep = keep.min(nodes.len() / nw);
    let mut string_map: Vec<Option<u64>> = vec![None; strings.len()];
    let mut kept_strings: Vec<&str> = Vec::new();
    let mut map_string = |i: u64| -> u64 {
        *string_map[i as usize].get_or_insert_with(|| {
            kept_strings.push(strings[i as usize]);
            kept_strings.len() as u64 - 1
        })
    };
    let (mut out_nodes, mut out_edges) = (Vec::new(), Vec::new());
    let mut edge_at = 0;
    for node in 0..keep {
        let mut rec = nodes[node * nw..(node + 1) * nw].to_vec();
        rec[n_name] = map_string(rec[n_name]);
        let mut kept = 0;
        for e in 0..rec[n_edges] as usize {
            let mut erec = edges[(edge_at + e) * ew..(edge_at + e + 1) * ew].to_vec();
            if erec[e_to] as usize / nw >= keep {
                continue;
            }
            let kind = edge_types[erec[e_type] as usize];
            if kind != "element" && kind != "hidden" {
                erec[e_name] = map_string(erec[e_name]);
            }
            out_edges.push(erec);
            kept += 1;
        }
        edge_at += rec[n_edges] as usize;
        rec[n_edges] = kept;
        out_nodes.push(rec);
    }
    let mut header = v["snapshot"].clone();
    header["node_count"] = out_nodes.len().into();
    header["edge_count"] = out_edges.len().into();
    let rows = |recs: &[Vec<u64>]| {
        recs.iter().map(|r| r.iter().map(u64::to_string).collect::<Vec<_>>().join(",")).collect::<Vec<_>>().join(",\n")
    };
    let text = format!(
        "{{\"snapshot\":{},\n\"nodes\":[{}],\n\"edges\":[{}],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[],\n\"strings\":[{}]}}\n",
        serde_json::to_string(&header).unwrap(),
        rows(&out_nodes),
        rows(&out_edges),
        kept_strings.iter().map(|s| serde_json::to_string(s).unwrap()).collect::<Vec<_>>().join(",\n")
    );
    text.into_bytes()
}

#[test]
fn window_classifiers_agree_with_the_portable_one() {
    let mut rng = Rng::new(0x5eed_c1a5);
    let alphabet = b"0123456789,\n],  x\x80\xff\x2f\x3a";
    for round in 0..20_000 {
        let len = 64 + rng.range(0, 64);
        let buf: Vec<u8> = (0..len)
            .map(|_| if round % 2 == 0 { alphabet[rng.range(0, alphabet.len())] } else { rng.next() as u8 })
            .collect();
        let at = rng.range(0, len - 63);
        let reference = classify_with(Kernel::Portable, &buf, at).unwrap();
        for kernel in window_kernels().filter(|&k| k != Kernel::Portable) {
            assert_eq!(classify_with(kernel, &buf, at), Some(reference), "{kernel:?} at {at} of {buf:?}");
        }
    }
    assert_eq!(classify_with(Kernel::Scalar, b"0", 0), None, "the scalar kernel has no windows");
}

/// Numbers of every length up to 20 digits, in records of every width, separated by
/// "," or "\n,", with white space and wrong bytes here and there: every kernel agrees.
#[test]
fn kernels_agree_on_number_arrays_of_every_shape() {
    let real = real_snapshot();
    let base = reduced_real(real, 300);
    let text = std::str::from_utf8(&base).unwrap();
    let nodes_at = text.find("\"nodes\":[").unwrap() + "\"nodes\":[".len();
    let edges_at = text.find("\"edges\":[").unwrap() + "\"edges\":[".len();
    let mut rng = Rng::new(42);
    let mut compared = 0;
    for round in 0..400 {
        let mut input = base.clone();
        // Rewrite some numbers in the nodes or edges array with long or odd ones.
        let (from, to) = if round % 2 == 0 { (nodes_at, edges_at - 20) } else { (edges_at, edges_at + 4000) };
        for _ in 0..rng.range(1, 6) {
            let at = rng.range(from, to.min(input.len()));
            let digits = rng.range(1, 21);
            let mut number: Vec<u8> = (0..digits).map(|_| b'0' + rng.range(0, 10) as u8).collect();
            match rng.range(0, 6) {
                0 => number.push(b' '),
                1 => number.insert(0, b'\n'),
                2 => number.extend_from_slice(b"\n"),
                _ => {}
            }
            let mut end = at;
            while end < input.len() && input[end].is_ascii_digit() {
                end += 1;
            }
            input.splice(at..end, number);
        }
        let max_chunk = 64 + rng.range(0, 300);
        let cuts = cuts_random(input.len(), &mut rng, max_chunk);
        compared += check_kernels(&input, &cuts);
    }
    assert!(compared > 0);
    // The unmodified input reads the same with every kernel (and is valid).
    assert!(summary_using(&base, Kernel::Scalar).is_ok());
    check_kernels(&base, &[]);
    check_kernels(real, &cuts_every(real.len(), 1 << 16));
}

#[test]
fn fuzz_mutated_snapshots_never_panic() {
    let secs: f64 = std::env::var("LEAKWATCH_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let seed: u64 = std::env::var("LEAKWATCH_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x1ea4_5eed);
    let real = real_snapshot();
    let small_real = reduced_real(real, 300);
    let seeds: Vec<Vec<u8>> = vec![sample(true).build(), sample(false).build(), small_real, reduced_real(real, 40)];
    for s in &seeds {
        check_input(s, &mut Rng::new(7));
        assert!(summary(s).is_ok(), "seed inputs are valid");
    }

    let mut rng = Rng::new(seed);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let (mut inputs, mut ok, mut big) = (0u64, 0u64, 0u64);
    let mut input = Vec::new();
    let mut kernel_checks = 0u64;
    while Instant::now() < deadline {
        // Now and then mutate the full real snapshot (slow but real-sized).
        let full = inputs % 500 == 499;
        input.clear();
        input.extend_from_slice(if full { real } else { &seeds[rng.range(0, seeds.len())] });
        mutate(&mut rng, &mut input);
        let mut check_rng = Rng::new(rng.next());
        let result = catch_unwind(AssertUnwindSafe(|| check_input(&input, &mut check_rng)));
        if let Err(panic) = result {
            let path =
                std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-crash-{inputs}.heapsnapshot"));
            std::fs::write(&path, &input).unwrap();
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("input #{inputs} (seed {seed}) panicked: {msg}; saved to {}", path.display());
        }
        inputs += 1;
        big += full as u64;
        ok += summary(&input).is_ok() as u64;
        kernel_checks += 3 * window_kernels().count() as u64;
    }
    eprintln!(
        "fuzz: {inputs} inputs ({big} full-size, {ok} still valid, {kernel_checks} kernel-vs-scalar comparisons) in {:.1} s, seed {seed}",
        started.elapsed().as_secs_f64()
    );
    assert!(inputs >= 100, "the fuzz loop ran only {inputs} inputs");
}
