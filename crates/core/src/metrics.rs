//! Fleet metrics: what leakwatch knows about a process (its post-GC baseline and growth, the
//! verdicts standing and raised, snapshots, sampler reads, the top leak sites), as metric
//! families with one definition each, rendered in the Prometheus text exposition format
//! (0.0.4) or handed to JS for prom-client's and OpenTelemetry's own instruments.
//!
//! Only what the runtime metrics of prom-client (`nodejs_*`, `process_*`) and OpenTelemetry
//! (`v8js.*`, `process.*`) do not already export is here: those sample the heap at scrape
//! time, full of garbage; these are the figures after full GCs, and the verdicts on them.
//!
//! State is bounded whatever the process's life: fixed counters, two fixed histograms and at
//! most `max_sites` site series, replaced at each update (never accumulated), so a month of
//! scrapes sees the same number of series as the first.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The Prometheus metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Type {
    Gauge,
    Counter,
    Histogram,
}

impl Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Gauge => "gauge",
            Type::Counter => "counter",
            Type::Histogram => "histogram",
        }
    }
}

/// One metric family: its Prometheus name (base units, counters end in `_total`), its
/// OpenTelemetry instrument name and UCUM unit, and what it means.
#[derive(Debug, Clone, Copy)]
pub struct Definition {
    pub name: &'static str,
    pub otel: &'static str,
    pub unit: &'static str,
    pub kind: Type,
    pub help: &'static str,
}

macro_rules! definitions {
    ($($id:ident: $kind:ident, $name:literal, $otel:literal, $unit:literal, $help:literal;)*) => {
        /// Which family.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(clippy::enum_variant_names)]
        pub enum Id { $($id),* }
        /// Every family, in exposition order; `Id as usize` indexes it.
        pub const DEFINITIONS: &[Definition] = &[
            $(Definition { name: $name, otel: $otel, unit: $unit, kind: Type::$kind, help: $help }),*
        ];
    };
}

definitions! {
    HeapBaseline: Gauge, "leakwatch_heap_baseline_bytes", "leakwatch.heap.baseline", "By",
        "Post-full-GC heap baseline (smoothed heap used after full GCs), bytes.";
    HeapGrowth: Gauge, "leakwatch_heap_baseline_growth_bytes_per_second", "leakwatch.heap.baseline.growth", "By/s",
        "Growth rate of the heap after full GCs (Theil-Sen slope over the detector's window), bytes per second; negative when it shrinks.";
    HeapAfterGc: Gauge, "leakwatch_heap_used_after_gc_bytes", "leakwatch.heap.used_after_gc", "By",
        "V8 heap used right after the last full GC, bytes.";
    HeapLimit: Gauge, "leakwatch_heap_limit_bytes", "leakwatch.heap.limit", "By",
        "V8 heap size limit (heap_size_limit), bytes.";
    HeapLimitRatio: Gauge, "leakwatch_heap_limit_ratio", "leakwatch.heap.limit.utilization", "1",
        "Heap used after the last full GC divided by the heap size limit.";
    ExternalAfterGc: Gauge, "leakwatch_external_after_gc_bytes", "leakwatch.external.after_gc", "By",
        "External memory (Buffers, native objects held by JS) after the last full GC, bytes.";
    ArrayBuffersAfterGc: Gauge, "leakwatch_array_buffers_after_gc_bytes", "leakwatch.array_buffers.after_gc", "By",
        "ArrayBuffer and Buffer memory after the last full GC, bytes (part of external).";
    ContainerLimit: Gauge, "leakwatch_container_memory_limit_bytes", "leakwatch.container.memory.limit", "By",
        "The container's memory limit (cgroup memory.max or memory.limit_in_bytes), bytes; absent when unlimited.";
    ContainerRatio: Gauge, "leakwatch_container_memory_ratio", "leakwatch.container.memory.utilization", "1",
        "Resident set size at the last full GC divided by the container's memory limit; absent when unlimited.";
    LastFullGc: Gauge, "leakwatch_last_full_gc_timestamp_seconds", "leakwatch.gc.last_full", "s",
        "When the last full GC was observed, seconds since the epoch (the figures above are as of then).";
    LeaksActive: Gauge, "leakwatch_leaks_active", "leakwatch.leaks.active", "{leak}",
        "Leak verdicts standing now, by kind (heap or external); back to 0 when a verdict is withdrawn.";
    LeaksTotal: Counter, "leakwatch_leaks_total", "leakwatch.leaks", "{leak}",
        "Leak verdicts raised, by kind.";
    PressureTotal: Counter, "leakwatch_memory_pressure_total", "leakwatch.memory_pressure", "{report}",
        "Memory-pressure reports (evidence written before an out-of-memory death), by resource and level.";
    SnapshotsTotal: Counter, "leakwatch_snapshots_total", "leakwatch.snapshots", "{snapshot}",
        "Heap snapshots written.";
    SnapshotDuration: Histogram, "leakwatch_snapshot_duration_seconds", "leakwatch.snapshot.duration", "s",
        "Time to write a heap snapshot (the process is paused meanwhile), seconds.";
    SnapshotSize: Gauge, "leakwatch_snapshot_size_bytes", "leakwatch.snapshot.size", "By",
        "Size of the last heap snapshot written, bytes.";
    SamplerReadsTotal: Counter, "leakwatch_sampler_reads_total", "leakwatch.sampler.reads", "{read}",
        "Reads of the allocation sampler's profile.";
    SamplerPause: Histogram, "leakwatch_sampler_read_pause_seconds", "leakwatch.sampler.read.pause", "s",
        "Main-thread time of one allocation-sampler read, seconds.";
    SiteLiveBytes: Gauge, "leakwatch_leak_site_live_bytes", "leakwatch.leak_site.live", "By",
        "Live bytes allocated by the top leak sites (function and location), replaced at every sampler read: at most maxSites series.";
}

impl Id {
    pub fn definition(self) -> &'static Definition {
        &DEFINITIONS[self as usize]
    }
}

impl Definition {
    /// A histogram's bucket upper bounds (`+Inf` implied); empty for other types.
    pub fn buckets(&self) -> &'static [f64] {
        if self.name == Id::SnapshotDuration.definition().name {
            SNAPSHOT_BUCKETS
        } else if self.name == Id::SamplerPause.definition().name {
            PAUSE_BUCKETS
        } else {
            &[]
        }
    }
}

/// Upper bounds of the snapshot-duration buckets (seconds): a small heap to a multi-GB one.
pub const SNAPSHOT_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];
/// Upper bounds of the sampler-pause buckets (seconds).
pub const PAUSE_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
/// Default and hard cap on the leak-site series.
pub const DEFAULT_MAX_SITES: usize = 10;
pub const MAX_SITES: usize = 100;
/// Label values are clipped to this many characters (a function name can be anything).
const MAX_LABEL_CHARS: usize = 120;

/// A fixed-bucket histogram (cumulative counts are computed when rendered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Upper bounds, ascending; `+Inf` is implied.
    pub bounds: Vec<f64>,
    /// Observations per bucket (not cumulative); one more than `bounds` (the `+Inf` bucket).
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    pub fn new(bounds: &[f64]) -> Self {
        Histogram { bounds: bounds.to_vec(), counts: vec![0; bounds.len() + 1], sum: 0.0, count: 0 }
    }

    pub fn observe(&mut self, value: f64) {
        if !value.is_finite() || value < 0.0 {
            return;
        }
        let at = self.bounds.iter().position(|&b| value <= b).unwrap_or(self.bounds.len());
        self.counts[at] = self.counts[at].saturating_add(1);
        self.sum += value;
        self.count = self.count.saturating_add(1);
    }

    /// (upper bound, cumulative count) including `+Inf`.
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut total = 0u64;
        let mut out: Vec<(f64, u64)> = Vec::with_capacity(self.counts.len());
        for (i, &c) in self.counts.iter().enumerate() {
            total = total.saturating_add(c);
            out.push((self.bounds.get(i).copied().unwrap_or(f64::INFINITY), total));
        }
        out
    }
}

/// A sample's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Histogram(Histogram),
}

/// One series of a family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub labels: Vec<(String, String)>,
    pub value: Value,
}

/// A family with its current series (families with none are left out: absent, not zero,
/// is how Prometheus shows "not known").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Family {
    pub name: String,
    pub otel: String,
    pub unit: String,
    #[serde(rename = "type")]
    pub kind: Type,
    pub help: String,
    pub samples: Vec<Sample>,
}

/// The figures of one full GC the metrics keep (from the `stats` event; bytes, `containerLimit`
/// 0 when unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "MetricsGcFigures"))]
pub struct GcFigures {
    /// Milliseconds since the epoch.
    pub t_ms: f64,
    pub baseline: f64,
    pub growth_per_sec: f64,
    pub heap_used: f64,
    pub heap_limit: f64,
    pub external: f64,
    pub array_buffers: f64,
    pub rss: f64,
    /// The container's memory limit; 0 or less when there is none.
    pub container_limit: f64,
}

/// One leak site as a gauge: its live bytes.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object, js_name = "MetricsSite"))]
pub struct SiteFigure {
    pub function: String,
    pub location: String,
    pub live_bytes: f64,
}

/// Which memory a verdict is about (the `kind` label).
pub const LEAK_KINDS: [&str; 2] = ["heap", "external"];
/// The pressure counter's labels.
pub const PRESSURE_RESOURCES: [&str; 2] = ["heap", "memory"];
pub const PRESSURE_LEVELS: [u32; 2] = [1, 2];

/// The metrics state of one process.
#[derive(Debug, Clone)]
pub struct Metrics {
    gc: Option<GcFigures>,
    leaks_active: [u64; 2],
    leaks_total: [u64; 2],
    pressure_total: [[u64; 2]; 2],
    snapshots_total: u64,
    snapshot_duration: Histogram,
    snapshot_size: Option<f64>,
    sampler_reads: u64,
    sampler_pause: Histogram,
    sites: Vec<SiteFigure>,
    max_sites: usize,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_SITES)
    }
}

fn kind_index(kind: &str) -> Option<usize> {
    LEAK_KINDS.iter().position(|k| *k == kind)
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_LABEL_CHARS) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

impl Metrics {
    pub fn new(max_sites: usize) -> Self {
        Metrics {
            gc: None,
            leaks_active: [0; 2],
            leaks_total: [0; 2],
            pressure_total: [[0; 2]; 2],
            snapshots_total: 0,
            snapshot_duration: Histogram::new(SNAPSHOT_BUCKETS),
            snapshot_size: None,
            sampler_reads: 0,
            sampler_pause: Histogram::new(PAUSE_BUCKETS),
            sites: Vec::new(),
            max_sites: max_sites.min(MAX_SITES),
        }
    }

    pub fn set_max_sites(&mut self, max_sites: usize) {
        self.max_sites = max_sites.min(MAX_SITES);
        self.sites.truncate(self.max_sites);
    }

    /// After a full GC.
    pub fn observe_gc(&mut self, figures: GcFigures) {
        self.gc = Some(figures);
    }

    /// A verdict was raised; false for an unknown kind.
    pub fn leak_raised(&mut self, kind: &str) -> bool {
        let Some(i) = kind_index(kind) else { return false };
        self.leaks_total[i] = self.leaks_total[i].saturating_add(1);
        self.leaks_active[i] = self.leaks_active[i].saturating_add(1);
        true
    }

    /// A standing verdict was withdrawn (its evidence went away); false for an unknown kind.
    pub fn leak_resolved(&mut self, kind: &str) -> bool {
        let Some(i) = kind_index(kind) else { return false };
        self.leaks_active[i] = self.leaks_active[i].saturating_sub(1);
        true
    }

    /// The verdicts standing now, by kind (what the detector says; replaces the count).
    pub fn set_leaks_active(&mut self, kind: &str, count: u64) -> bool {
        let Some(i) = kind_index(kind) else { return false };
        self.leaks_active[i] = count;
        true
    }

    pub fn pressure(&mut self, resource: &str, level: u32) -> bool {
        let (Some(r), Some(l)) =
            (PRESSURE_RESOURCES.iter().position(|x| *x == resource), PRESSURE_LEVELS.iter().position(|x| *x == level))
        else {
            return false;
        };
        self.pressure_total[r][l] = self.pressure_total[r][l].saturating_add(1);
        true
    }

    pub fn snapshot_written(&mut self, seconds: f64, bytes: f64) {
        self.snapshots_total = self.snapshots_total.saturating_add(1);
        self.snapshot_duration.observe(seconds);
        if let Some(bytes) = finite(bytes).filter(|b| *b >= 0.0) {
            self.snapshot_size = Some(bytes);
        }
    }

    pub fn sampler_read(&mut self, seconds: f64) {
        self.sampler_reads = self.sampler_reads.saturating_add(1);
        self.sampler_pause.observe(seconds);
    }

    /// Replace the site series with the top `max_sites` of `sites` (by live bytes).
    pub fn set_sites(&mut self, mut sites: Vec<SiteFigure>) {
        sites.retain(|s| s.live_bytes.is_finite());
        sites.sort_by(|a, b| b.live_bytes.total_cmp(&a.live_bytes));
        sites.truncate(self.max_sites);
        for site in &mut sites {
            site.function = clip(&site.function);
            site.location = clip(&site.location);
        }
        // Two sites that clip to the same labels would be a duplicate series: keep the first.
        let mut seen: Vec<(String, String)> = Vec::with_capacity(sites.len());
        sites.retain(|s| {
            let key = (s.function.clone(), s.location.clone());
            let fresh = !seen.contains(&key);
            if fresh {
                seen.push(key);
            }
            fresh
        });
        self.sites = sites;
    }

    /// Every family that has series now, in definition order.
    pub fn families(&self) -> Vec<Family> {
        let mut out = Vec::with_capacity(DEFINITIONS.len());
        let mut push = |id: Id, samples: Vec<Sample>| {
            if samples.is_empty() {
                return;
            }
            let d = id.definition();
            out.push(Family {
                name: d.name.into(),
                otel: d.otel.into(),
                unit: d.unit.into(),
                kind: d.kind,
                help: d.help.into(),
                samples,
            });
        };
        let one = |value: Option<f64>| {
            value.and_then(finite).map(|v| vec![Sample { labels: vec![], value: Value::Number(v) }]).unwrap_or_default()
        };
        let g = self.gc;
        let positive = |v: f64| (v > 0.0).then_some(v);
        push(Id::HeapBaseline, one(g.map(|g| g.baseline)));
        push(Id::HeapGrowth, one(g.map(|g| g.growth_per_sec)));
        push(Id::HeapAfterGc, one(g.map(|g| g.heap_used)));
        push(Id::HeapLimit, one(g.and_then(|g| positive(g.heap_limit))));
        push(Id::HeapLimitRatio, one(g.and_then(|g| positive(g.heap_limit).map(|l| g.heap_used / l))));
        push(Id::ExternalAfterGc, one(g.map(|g| g.external)));
        push(Id::ArrayBuffersAfterGc, one(g.map(|g| g.array_buffers)));
        push(Id::ContainerLimit, one(g.and_then(|g| positive(g.container_limit))));
        push(
            Id::ContainerRatio,
            one(g.and_then(|g| positive(g.container_limit).and_then(|l| positive(g.rss).map(|r| r / l)))),
        );
        push(Id::LastFullGc, one(g.and_then(|g| positive(g.t_ms)).map(|t| t / 1000.0)));
        let by_kind = |counts: &[u64; 2]| {
            LEAK_KINDS
                .iter()
                .zip(counts)
                .map(|(k, &n)| Sample { labels: vec![("kind".into(), (*k).into())], value: Value::Number(n as f64) })
                .collect()
        };
        push(Id::LeaksActive, by_kind(&self.leaks_active));
        push(Id::LeaksTotal, by_kind(&self.leaks_total));
        let mut pressure = Vec::with_capacity(4);
        for (r, resource) in PRESSURE_RESOURCES.iter().enumerate() {
            for (l, level) in PRESSURE_LEVELS.iter().enumerate() {
                pressure.push(Sample {
                    labels: vec![("resource".into(), (*resource).into()), ("level".into(), level.to_string())],
                    value: Value::Number(self.pressure_total[r][l] as f64),
                });
            }
        }
        push(Id::PressureTotal, pressure);
        push(Id::SnapshotsTotal, one(Some(self.snapshots_total as f64)));
        push(
            Id::SnapshotDuration,
            vec![Sample { labels: vec![], value: Value::Histogram(self.snapshot_duration.clone()) }],
        );
        push(Id::SnapshotSize, one(self.snapshot_size));
        push(Id::SamplerReadsTotal, one(Some(self.sampler_reads as f64)));
        push(Id::SamplerPause, vec![Sample { labels: vec![], value: Value::Histogram(self.sampler_pause.clone()) }]);
        push(
            Id::SiteLiveBytes,
            self.sites
                .iter()
                .map(|s| Sample {
                    labels: vec![("function".into(), s.function.clone()), ("location".into(), s.location.clone())],
                    value: Value::Number(s.live_bytes),
                })
                .collect(),
        );
        out
    }

    /// `families()` as JSON (what a cluster worker sends its primary; what JS adapters read).
    pub fn families_json(&self) -> String {
        serde_json::to_string(&self.families()).unwrap_or_else(|_| "[]".into())
    }

    /// This process's families in the text exposition format.
    pub fn render(&self) -> String {
        render(&[Group { labels: vec![], families: self.families() }])
    }
}

/// The families of one process, with the labels that tell it from the others (a cluster's
/// `worker`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub labels: Vec<(String, String)>,
    pub families: Vec<Family>,
}

/// `render` of groups whose families come as JSON (`Metrics::families_json`).
pub fn render_json(groups: Vec<(Vec<(String, String)>, &str)>) -> Result<String, String> {
    let mut parsed = Vec::with_capacity(groups.len());
    for (labels, families) in groups {
        let families = serde_json::from_str(families).map_err(|e| format!("metrics families: {e}"))?;
        parsed.push(Group { labels, families });
    }
    Ok(render(&parsed))
}

/// Whether `name` is a valid Prometheus label name.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && !name.starts_with("__")
}

fn escape_label(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn number(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{value}");
    }
}

fn labels(sets: &[&[(String, String)]], extra: Option<(&str, String)>, out: &mut String) {
    let mut first = true;
    for (name, value) in sets
        .iter()
        .flat_map(|s| s.iter())
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(extra.as_ref().map(|(n, v)| (*n, v.as_str())))
    {
        if !is_label_name(name) {
            continue;
        }
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        escape_label(value, out);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
}

/// The text exposition (format 0.0.4) of several processes' families: each family once (HELP
/// and TYPE), its series from every group with that group's labels first. Families are in
/// order of first appearance; a family whose type differs from the first seen is skipped in
/// the later groups (a version mismatch across a cluster must not produce an invalid page).
pub fn render(groups: &[Group]) -> String {
    let mut order: Vec<(&str, Type, &str)> = Vec::new();
    for group in groups {
        for family in &group.families {
            if !order.iter().any(|(n, _, _)| *n == family.name) {
                order.push((&family.name, family.kind, &family.help));
            }
        }
    }
    let mut out = String::with_capacity(4096);
    for (name, kind, help) in order {
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        escape_help(help, &mut out);
        out.push_str("\n# TYPE ");
        out.push_str(name);
        out.push(' ');
        out.push_str(kind.as_str());
        out.push('\n');
        for group in groups {
            let Some(family) = group.families.iter().find(|f| f.name == name && f.kind == kind) else { continue };
            for sample in &family.samples {
                let sets: [&[(String, String)]; 2] = [&group.labels, &sample.labels];
                match &sample.value {
                    Value::Number(v) => {
                        out.push_str(name);
                        labels(&sets, None, &mut out);
                        out.push(' ');
                        number(*v, &mut out);
                        out.push('\n');
                    }
                    Value::Histogram(h) => {
                        for (bound, count) in h.cumulative() {
                            out.push_str(name);
                            out.push_str("_bucket");
                            let mut le = String::new();
                            number(bound, &mut le);
                            labels(&sets, Some(("le", le)), &mut out);
                            let _ = writeln!(out, " {count}");
                        }
                        out.push_str(name);
                        out.push_str("_sum");
                        labels(&sets, None, &mut out);
                        out.push(' ');
                        number(h.sum, &mut out);
                        out.push('\n');
                        out.push_str(name);
                        out.push_str("_count");
                        labels(&sets, None, &mut out);
                        let _ = writeln!(out, " {}", h.count);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> GcFigures {
        GcFigures {
            t_ms: 1_700_000_000_000.0,
            baseline: 50e6,
            growth_per_sec: 102_400.0,
            heap_used: 52e6,
            heap_limit: 200e6,
            external: 3e6,
            array_buffers: 1e6,
            rss: 120e6,
            container_limit: 0.0,
        }
    }

    #[test]
    fn definitions_are_valid_and_unique() {
        for (i, d) in DEFINITIONS.iter().enumerate() {
            assert!(d.name.starts_with("leakwatch_") && is_label_name(d.name), "{}", d.name);
            assert_eq!(d.kind == Type::Counter, d.name.ends_with("_total"), "{}", d.name);
            assert!(d.otel.starts_with("leakwatch."), "{}", d.otel);
            assert!(!DEFINITIONS[..i].iter().any(|o| o.name == d.name || o.otel == d.otel), "{}", d.name);
        }
        assert_eq!(Id::SiteLiveBytes.definition().name, "leakwatch_leak_site_live_bytes");
        for d in DEFINITIONS {
            assert_eq!(d.kind == Type::Histogram, !d.buckets().is_empty(), "{}", d.name);
        }
    }

    #[test]
    fn nothing_known_before_the_first_gc_but_the_counters() {
        let text = Metrics::default().render();
        assert!(!text.contains("leakwatch_heap_baseline_bytes"));
        assert!(text.contains("leakwatch_leaks_active{kind=\"heap\"} 0\n"));
        assert!(text.contains("leakwatch_snapshots_total 0\n"));
    }

    #[test]
    fn gc_figures_ratios_and_the_unlimited_container() {
        let mut m = Metrics::default();
        m.observe_gc(figures());
        let text = m.render();
        assert!(text.contains("leakwatch_heap_baseline_bytes 50000000\n"));
        assert!(text.contains("leakwatch_heap_baseline_growth_bytes_per_second 102400\n"));
        assert!(text.contains("leakwatch_heap_limit_ratio 0.26\n"));
        assert!(text.contains("leakwatch_last_full_gc_timestamp_seconds 1700000000\n"));
        assert!(!text.contains("leakwatch_container_memory"), "no limit, no series");
        m.observe_gc(GcFigures { container_limit: 240e6, ..figures() });
        assert!(m.render().contains("leakwatch_container_memory_ratio 0.5\n"));
    }

    #[test]
    fn verdicts_stand_until_withdrawn_and_are_counted() {
        let mut m = Metrics::default();
        assert!(m.leak_raised("heap"));
        assert!(m.leak_raised("heap"));
        assert!(!m.leak_raised("disk"));
        assert!(m.leak_resolved("heap"));
        let text = m.render();
        assert!(text.contains("leakwatch_leaks_active{kind=\"heap\"} 1\n"));
        assert!(text.contains("leakwatch_leaks_total{kind=\"heap\"} 2\n"));
        assert!(text.contains("leakwatch_leaks_active{kind=\"external\"} 0\n"));
        m.leak_resolved("heap");
        m.leak_resolved("heap");
        assert!(m.render().contains("leakwatch_leaks_active{kind=\"heap\"} 0\n"), "never below zero");
    }

    #[test]
    fn histograms_are_cumulative_with_inf_sum_and_count() {
        let mut m = Metrics::default();
        m.snapshot_written(0.3, 1e6);
        m.snapshot_written(7.0, 2e6);
        m.snapshot_written(1000.0, 3e6);
        m.snapshot_written(f64::NAN, f64::NAN);
        let text = m.render();
        assert!(text.contains("leakwatch_snapshot_duration_seconds_bucket{le=\"0.25\"} 0\n"));
        assert!(text.contains("leakwatch_snapshot_duration_seconds_bucket{le=\"0.5\"} 1\n"));
        assert!(text.contains("leakwatch_snapshot_duration_seconds_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("leakwatch_snapshot_duration_seconds_bucket{le=\"300\"} 2\n"));
        assert!(text.contains("leakwatch_snapshot_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("leakwatch_snapshot_duration_seconds_sum 1007.3\n"));
        assert!(text.contains("leakwatch_snapshot_duration_seconds_count 3\n"));
        assert!(text.contains("leakwatch_snapshots_total 4\n"), "a written snapshot counts even without its figures");
        assert!(text.contains("leakwatch_snapshot_size_bytes 3000000\n"));
    }

    #[test]
    fn sites_are_bounded_replaced_escaped_and_unique() {
        let mut m = Metrics::new(3);
        let site = |f: &str, b: f64| SiteFigure { function: f.into(), location: "a.js:1".into(), live_bytes: b };
        m.set_sites((0..50).map(|i| site(&format!("f{i}"), i as f64)).collect());
        assert_eq!(m.families().iter().find(|f| f.name == "leakwatch_leak_site_live_bytes").unwrap().samples.len(), 3);
        assert!(m.render().contains("leakwatch_leak_site_live_bytes{function=\"f49\",location=\"a.js:1\"} 49\n"));
        m.set_sites(vec![site("say \"hi\"\\\n", 1.0), site(&"x".repeat(500), 2.0), site(&"x".repeat(600), 1.5)]);
        let text = m.render();
        assert!(!text.contains("f49"), "replaced, not accumulated");
        assert!(text.contains("function=\"say \\\"hi\\\"\\\\\\n\""), "{text}");
        assert_eq!(
            text.matches("leakwatch_leak_site_live_bytes{").count(),
            2,
            "clipped to the same labels: one series"
        );
        m.set_sites(vec![]);
        assert!(!m.render().contains("leakwatch_leak_site_live_bytes"), "no sites, no family");
    }

    #[test]
    fn groups_render_each_family_once_with_their_labels() {
        let mut a = Metrics::default();
        a.observe_gc(figures());
        a.leak_raised("heap");
        let b = Metrics::default();
        let group = |w: &str, m: &Metrics| Group { labels: vec![("worker".into(), w.into())], families: m.families() };
        // Through JSON, as a cluster worker sends them.
        let json = serde_json::to_string(&group("1", &a)).unwrap();
        let back: Group = serde_json::from_str(&json).unwrap();
        assert_eq!(back, group("1", &a));
        let text = render(&[group("primary", &b), back]);
        assert_eq!(text.matches("# TYPE leakwatch_leaks_active gauge").count(), 1);
        assert!(text.contains("leakwatch_leaks_active{worker=\"1\",kind=\"heap\"} 1\n"));
        assert!(text.contains("leakwatch_leaks_active{worker=\"primary\",kind=\"heap\"} 0\n"));
        assert!(text.contains("leakwatch_heap_baseline_bytes{worker=\"1\"} 50000000\n"));
        assert!(text.contains("leakwatch_sampler_read_pause_seconds_bucket{worker=\"primary\",le=\"+Inf\"} 0\n"));
        // A label name Prometheus would reject is left out rather than breaking the page.
        let bad = Group { labels: vec![("0bad".into(), "x".into())], families: b.families() };
        assert!(!render(&[bad]).contains("0bad"));
    }

    #[test]
    fn state_is_bounded_over_a_million_updates() {
        let mut m = Metrics::default();
        for i in 0..1_000_000u32 {
            m.observe_gc(GcFigures { t_ms: f64::from(i), ..figures() });
            m.sampler_read(f64::from(i % 100) / 1000.0);
            if i % 1000 == 0 {
                m.set_sites(
                    (0..20)
                        .map(|j| SiteFigure { function: format!("f{i}-{j}"), location: "x".into(), live_bytes: 1.0 })
                        .collect(),
                );
            }
        }
        let series: usize = m.families().iter().map(|f| f.samples.len()).sum();
        assert!(series < 40, "{series}");
        assert_eq!(m.sampler_pause.counts.len(), PAUSE_BUCKETS.len() + 1);
    }
}
