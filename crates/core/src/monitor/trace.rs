//! Replaying a detector trace: every call a process made into its leak monitor, as JSON lines
//! (`{"m": method, "a": [arguments]}`, the binding's method and field names; written by
//! `benches/lib/detector-trace.cjs`), fed to a fresh [`Monitor`] with the rules as they are
//! now. Real processes' inputs, replayed in milliseconds: what the rules are tuned on and
//! tested against (`tests/replay.rs`, `examples/replay.rs`), instead of one live run at a time.
//! Calls the trace holds the answer to (`takeResolutions`) and unknown methods are skipped;
//! a line that is not JSON is an error.

use super::{DetectorConfig, DetectorOptions, GcKind, HeapSample, LeakResolution, LeakVerdict, Monitor};
use crate::survival::{CohortSurvival, SurvivalReading};
use serde_json::Value;

/// What the replayed monitor decided, in order, with when (ms on the trace's clock).
#[derive(Debug, Clone)]
pub enum Decision {
    Leak { at_ms: f64, verdict: LeakVerdict },
    Resolved(LeakResolution),
}

/// A replayed trace: the monitor's start (ms on the trace's clock) and its decisions.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    pub start_ms: f64,
    pub decisions: Vec<Decision>,
}

fn num(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// The binding's detector options (`DetectorOptions`, camelCase, all optional) over the
/// rule's defaults.
fn config(options: &Value) -> Result<DetectorConfig, String> {
    let options: DetectorOptions = serde_json::from_value(options.clone()).map_err(|e| e.to_string())?;
    Ok(DetectorConfig::from(&options))
}

fn gc_kind(kind: Option<&str>) -> GcKind {
    match kind {
        Some("minor") => GcKind::Minor,
        Some("major") => GcKind::Major,
        Some("incremental") => GcKind::Incremental,
        _ => GcKind::WeakCallbacks,
    }
}

fn reading(r: &Value) -> SurvivalReading {
    let cohorts = r["cohorts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| CohortSurvival {
            start_ms: num(c, "startMs"),
            end_ms: num(c, "endMs"),
            first_bytes: num(c, "firstBytes"),
            peak_bytes: num(c, "peakBytes"),
            live_bytes: num(c, "liveBytes"),
        })
        .collect();
    SurvivalReading { at_ms: num(r, "atMs"), cohorts }
}

/// Replays the trace `text`. Calls before the monitor's construction are ignored.
pub fn replay(text: &str) -> Result<Replay, String> {
    let mut out = Replay::default();
    let mut monitor: Option<Monitor> = None;
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let call: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let args = &call["a"];
        let method = call["m"].as_str().unwrap_or("");
        if method == "new" {
            out.start_ms = args[1].as_f64().unwrap_or(0.0);
            let config = config(&args[0]).map_err(|e| format!("line {}: {e}", n + 1))?;
            monitor = Some(Monitor::new(config, out.start_ms));
            continue;
        }
        let Some(m) = monitor.as_mut() else { continue };
        let verdicts = match method {
            "configure" => {
                m.set_config(config(&args[0]).map_err(|e| format!("line {}: {e}", n + 1))?);
                continue;
            }
            "recordGcs" => {
                for tally in args[0].as_array().into_iter().flatten() {
                    let count = num(tally, "count");
                    if count >= 1.0 && count.is_finite() {
                        m.record_gcs(gc_kind(tally["kind"].as_str()), count as u64, num(tally, "totalMs"));
                    }
                }
                continue;
            }
            "shouldProbe" => {
                let arg = |i: usize| args[i].as_f64().unwrap_or(f64::NAN);
                m.should_probe(arg(0), arg(1), arg(2));
                continue;
            }
            "recordFullGc" => {
                let s = &args[0];
                let sample = HeapSample {
                    t_ms: num(s, "tMs"),
                    forced: s["forced"].as_bool().unwrap_or(false),
                    used_heap_size: num(s, "usedHeapSize"),
                    external: num(s, "external"),
                };
                // The GC's duration: the second argument (older traces: a field of the sample).
                let duration = args[1].as_f64().unwrap_or_else(|| num(s, "gcDurationMs"));
                let (_, leaks) = m.record_full_gc(sample, duration);
                leaks.into_iter().map(|v| (sample.t_ms, v)).collect::<Vec<_>>()
            }
            "observeSurvival" => {
                let r = reading(&args[0]);
                m.observe_survival(&r).into_iter().map(|v| (r.at_ms, v)).collect()
            }
            _ => continue,
        };
        // As the agent emits them: withdrawals first, then new verdicts.
        out.decisions.extend(m.take_resolutions().into_iter().map(Decision::Resolved));
        out.decisions.extend(verdicts.into_iter().map(|(at_ms, verdict)| Decision::Leak { at_ms, verdict }));
    }
    Ok(out)
}
