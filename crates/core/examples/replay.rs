//! Replays detector traces (`benches/lib/detector-trace.cjs` writes them; see
//! `leakwatch_core::monitor::trace`) through the detector as it is now, and prints each
//! verdict and withdrawal.
//!
//! `cargo run --release -p leakwatch-core --example replay -- [--json] <trace.jsonl>...`
//! (`--json`: one JSON line per decision, times in ms since the monitor started, for scripts
//! that judge a whole corpus against its truth).

use leakwatch_core::monitor::trace::{replay, Decision};
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let as_json = args.iter().any(|a| a == "--json");
    for path in args.iter().filter(|a| *a != "--json") {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(2);
            }
        };
        let run = match replay(&text) {
            Ok(run) => run,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(2);
            }
        };
        if !as_json {
            println!("== {path}");
        }
        let since = |t: f64| t - run.start_ms;
        for decision in run.decisions {
            let (event, text) = match decision {
                Decision::Leak { at_ms, verdict: v } => (
                    json!({
                        "event": "leak", "atMs": since(at_ms), "id": v.id, "kind": format!("{:?}", v.kind).to_lowercase(),
                        "startMs": since(v.start_ms), "endMs": since(v.end_ms), "windowMs": v.window_ms, "reason": v.reason,
                    }),
                    format!(
                        "{:7.1}s leak #{} {:?} [{:.1}-{:.1}] {}",
                        since(at_ms) / 1e3,
                        v.id,
                        v.kind,
                        since(v.start_ms) / 1e3,
                        since(v.end_ms) / 1e3,
                        v.reason
                    ),
                ),
                Decision::Resolved(r) => (
                    json!({
                        "event": "leakResolved", "atMs": since(r.resolved_ms), "id": r.id,
                        "trailingWindowMs": r.trailing_window_ms, "reason": r.reason,
                    }),
                    format!("{:7.1}s resolved #{} {}", since(r.resolved_ms) / 1e3, r.id, r.reason),
                ),
            };
            if as_json {
                let mut event = event;
                event["trace"] = path.as_str().into();
                println!("{event}");
            } else {
                println!("{text}");
            }
        }
    }
}
