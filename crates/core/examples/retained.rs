//! Peak memory of `summary --retained` by phase: `retained FILE [paths]`.
//! Prints VmHWM (peak RSS) after reading the graph and after the analysis. With `paths`,
//! the graph and analysis of `analyze`'s last snapshot (edge names, retainer paths).
use leakwatch_core::snapshot::{read_file, retained_summary, Analysed, GraphSink};

fn peak() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM")).and_then(|l| l.split_whitespace().nth(1).map(String::from))
        })
        .unwrap_or_default()
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: retained FILE");
        std::process::exit(2);
    };
    let started = std::time::Instant::now();
    let paths = std::env::args().nth(2).as_deref() == Some("paths");
    let path = std::path::Path::new(&path);
    let graph = if paths {
        read_file(path, GraphSink::new(), None).map(GraphSink::into_graph)
    } else {
        read_file(path, GraphSink::without_edge_names(), None).map(GraphSink::into_graph)
    };
    let graph = match graph {
        Ok(Some(graph)) => graph,
        Ok(None) => {
            eprintln!("error: no snapshot header");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "graph: {} nodes, {} edges, {} MB of arrays, peak RSS {} kB, {:?}",
        graph.node_count(),
        graph.edge_count(),
        graph.heap_bytes() >> 20,
        peak(),
        started.elapsed()
    );
    let summary = if paths { Analysed::new(graph).summary() } else { retained_summary(graph) };
    println!("analysed: {} classes, peak RSS {} kB, {:?}", summary.classes.len(), peak(), started.elapsed());
}
