//! Time the streaming summary of a snapshot:
//! `summary FILE [serial|parallel|auto] [scalar|portable|sse2|avx2|avx512] [mapped]`.
use leakwatch_core::snapshot::read::read_file_using;
use leakwatch_core::snapshot::scanner::Kernel;
use leakwatch_core::snapshot::{ReadMode, SummarySink};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: summary FILE [serial|parallel|auto] [scalar|portable|sse2|avx2|avx512] [mapped]");
        std::process::exit(2);
    };
    let mode = match args.next().as_deref() {
        Some("serial") => ReadMode::Serial,
        Some("parallel") => ReadMode::Parallel,
        _ => ReadMode::Auto,
    };
    let kernel = match args.next().as_deref() {
        Some("scalar") => Kernel::Scalar,
        Some("portable") => Kernel::Portable,
        Some("sse2") => Kernel::Sse2,
        Some("avx2") => Kernel::Avx2,
        Some("avx512") => Kernel::Avx512,
        _ => Kernel::Auto,
    }
    .resolve();
    if args.next().as_deref() == Some("mapped") {
        leakwatch_core::snapshot::mapped::enable();
    }
    let started = std::time::Instant::now();
    match read_file_using(std::path::Path::new(&path), SummarySink::new(), None, mode, kernel) {
        Ok(sink) => {
            let s = sink.into_summary();
            println!(
                "{mode:?} {kernel:?}: {} nodes, {} edges, {} bytes, {} classes in {:?}",
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
