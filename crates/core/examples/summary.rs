fn main() {
    let path = std::env::args().nth(1).expect("path");
    let t = std::time::Instant::now();
    match leakwatch_core::snapshot::summarize_file(std::path::Path::new(&path), None) {
        Ok(s) => {
            println!("nodes {} edges {} size {} maxid {} in {:?}", s.nodes, s.edges, s.total_size, s.max_js_id, t.elapsed());
            for c in s.classes.iter().take(10) { println!("{:>10} {:>12} {}", c.count, c.self_size, c.name); }
        }
        Err(e) => println!("error: {e}"),
    }
}
