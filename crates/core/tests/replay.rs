//! The detector on real processes' inputs: traces recorded from the leak corpus
//! (`__test__/fixtures/leaks/`, `LEAKWATCH_BENCH_TRACES=<dir> npm run bench -- detection`) on a
//! loaded 2-core machine, replayed through the rules as they are now and judged as the
//! detection bench judges a live run. Each was chosen for what it once got wrong or nearly
//! wrong: a service of 25 MB bursts suspected on the few KB/s a healthy process keeps at
//! start (`periodic-bursts`), the demo app missed when its first full GCs after warm-up came
//! late (`demo`), an LRU whose suspicion was withdrawn late (`lru-slow-fill`), a leak under a
//! cache's churn (`late-leak`), and the corpus's other shapes beside them.
//!
//! File names: `<case>-<usage>-<take>.jsonl`.

use leakwatch_core::monitor::trace::{replay, Decision};
use leakwatch_core::monitor::MemoryKind;
use std::collections::BTreeSet;
use std::path::Path;

enum Truth {
    /// A leak of this kind that starts at `starts_ms`, reported by `deadline_ms`.
    Leak { kind: MemoryKind, starts_ms: f64, deadline_ms: f64 },
    /// Healthy; its memory stops growing at `stops_ms`.
    Healthy { stops_ms: f64 },
}

/// The corpus's truth (`__test__/fixtures/leaks/corpus.mjs`: the deadline, 10 s + the
/// time to leak 1 MiB rounded up to 5 s, from when the leak starts).
fn truth(case: &str) -> Truth {
    use MemoryKind::{External, Heap};
    let leak = |kind, starts_ms, deadline_ms| Truth::Leak { kind, starts_ms, deadline_ms };
    let healthy = |stops_ms| Truth::Healthy { stops_ms };
    match case {
        "steady-leak" | "sawtooth-leak" | "demo" => leak(Heap, 0.0, 20_000.0),
        "string-accumulation" => leak(Heap, 0.0, 25_000.0),
        "buffer-leak-1mb" => leak(External, 0.0, 15_000.0),
        "late-leak" => leak(Heap, 30_000.0, 50_000.0),
        "warmup-spike" => healthy(3_000.0),
        "lru-slow-fill" => healthy(25_000.0),
        "ttl-store" => healthy(22_000.0),
        "config-reload" => healthy(42_000.0),
        "large-stable-heap" => healthy(5_000.0),
        "batch-worker" | "periodic-bursts" => healthy(0.0),
        other => panic!("no truth for {other}"),
    }
}

/// What is wrong with the replayed decisions, or None.
fn judge(case: &str, text: &str) -> Option<String> {
    let run = replay(text).expect("a trace of JSON lines");
    let since = |t: f64| t - run.start_ms;
    let leaks: Vec<_> = run
        .decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Leak { at_ms, verdict } => Some((since(*at_ms), verdict)),
            Decision::Resolved(_) => None,
        })
        .collect();
    let resolved: Vec<_> = run
        .decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Resolved(r) => Some(r),
            Decision::Leak { .. } => None,
        })
        .collect();
    let ids: BTreeSet<u32> = leaks.iter().map(|(_, v)| v.id).collect();
    let withdrawn: BTreeSet<u32> = resolved.iter().map(|r| r.id).collect();
    let summary = || {
        let mut lines: Vec<String> = leaks
            .iter()
            .map(|(at, v)| {
                format!(
                    "{:.1}s #{} {:?} [{:.1}-{:.1}] {}",
                    at / 1e3,
                    v.id,
                    v.kind,
                    since(v.start_ms) / 1e3,
                    since(v.end_ms) / 1e3,
                    v.reason
                )
            })
            .collect();
        lines.extend(
            resolved.iter().map(|r| format!("{:.1}s withdrawn #{}: {}", since(r.resolved_ms) / 1e3, r.id, r.reason)),
        );
        lines.join("\n  ")
    };
    match truth(case) {
        Truth::Leak { kind, starts_ms, deadline_ms } => {
            let Some((at, verdict)) = leaks.iter().find(|(_, v)| since(v.end_ms) > starts_ms) else {
                return Some(format!("not reported:\n  {}", summary()));
            };
            if verdict.kind != kind {
                return Some(format!("reported as {:?}:\n  {}", verdict.kind, summary()));
            }
            if *at > deadline_ms {
                return Some(format!(
                    "reported at {:.1}s, after {:.0}s:\n  {}",
                    at / 1e3,
                    deadline_ms / 1e3,
                    summary()
                ));
            }
            withdrawn.contains(&verdict.id).then(|| format!("withdrawn while it leaks:\n  {}", summary()))
        }
        Truth::Healthy { stops_ms } => {
            if let Some(id) = ids.iter().find(|id| !withdrawn.contains(id)) {
                return Some(format!("#{id} still standing at the end:\n  {}", summary()));
            }
            for id in &ids {
                let of_id = leaks.iter().filter(|(_, v)| v.id == *id);
                let first_end = of_id.clone().map(|(_, v)| since(v.end_ms)).fold(f64::INFINITY, f64::min);
                if first_end > stops_ms + 300.0 {
                    return Some(format!("#{id} raised on growth after {:.0}s:\n  {}", stops_ms / 1e3, summary()));
                }
                let raised = of_id.clone().map(|(at, _)| *at).fold(f64::INFINITY, f64::min);
                let r = resolved.iter().find(|r| r.id == *id).expect("withdrawn");
                let window = of_id.map(|(_, v)| v.window_ms).fold(r.trailing_window_ms, f64::max);
                if since(r.resolved_ms) - stops_ms.max(raised) > window + 3_000.0 {
                    return Some(format!("#{id} withdrawn late:\n  {}", summary()));
                }
            }
            None
        }
    }
}

#[test]
fn recorded_processes_get_the_right_verdicts_in_time() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("traces");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("the traces").map(|e| e.expect("an entry").path()).collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let mut wrong = Vec::new();
    for file in &files {
        let name = file.file_stem().and_then(|s| s.to_str()).expect("a name");
        // <case>-<usage>-<take>
        let mut parts: Vec<&str> = name.rsplitn(3, '-').collect();
        parts.reverse();
        let [case, usage, _take] = parts[..] else { panic!("{name}: not <case>-<usage>-<take>") };
        assert!(usage == "register" || usage == "listener", "{name}");
        let text = std::fs::read_to_string(file).expect("readable");
        if let Some(why) = judge(case, &text) {
            wrong.push(format!("{name}: {why}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_trace_that_is_not_json_is_an_error_and_calls_before_the_monitor_are_skipped() {
    assert!(replay("{\"m\":\"new\",\"a\":[{},0]}\nnot json\n").unwrap_err().contains("line 2"));
    let run = replay("{\"m\":\"recordFullGc\",\"a\":[{\"tMs\":1,\"usedHeapSize\":1}]}\n").expect("skipped");
    assert!(run.decisions.is_empty());
}
