//! Time the streaming summary of a snapshot: `summary FILE [serial|parallel]`.
use leakwatch_core::snapshot::{read_file_with, ReadMode, SummarySink};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: summary FILE [serial|parallel]");
        std::process::exit(2);
    };
    let mode = match args.next().as_deref() {
        Some("serial") => ReadMode::Serial,
        Some("parallel") => ReadMode::Parallel,
        _ => ReadMode::Auto,
    };
    let started = std::time::Instant::now();
    match read_file_with(std::path::Path::new(&path), SummarySink::new(), None, mode) {
        Ok(sink) => {
            let s = sink.into_summary();
            println!(
                "{mode:?}: {} nodes, {} edges, {} bytes, {} classes in {:?}",
                s.nodes,
                s.edges,
                s.total_size,
                s.classes.len(),
                started.elapsed()
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
