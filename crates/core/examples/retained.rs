//! Peak memory of `summary --retained` by phase: `retained FILE`.
//! Prints VmHWM (peak RSS) after reading the graph and after the analysis.
use leakwatch_core::snapshot::{graph_file, Analysed};

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
    let graph = match graph_file(std::path::Path::new(&path), None) {
        Ok(graph) => graph,
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
    let analysed = Analysed::new(graph);
    let summary = analysed.summary();
    println!("analysed: {} classes, peak RSS {} kB, {:?}", summary.classes.len(), peak(), started.elapsed());
}
