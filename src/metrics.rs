//! Fleet metrics as a JS class: JS passes what happened (a full GC's figures, a verdict, a
//! snapshot, a sampler read, the top sites) and gets the exposition text or the families for
//! prom-client and OpenTelemetry (`leakwatch_core::metrics`).

// Imported under their JS names: binding.d.ts names a type of another crate as it is written here.
use leakwatch_core::metrics::{self as core, GcFigures as MetricsGcFigures, SiteFigure as MetricsSite};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;

/// The leak-site series kept by default, and at most (`leakwatch_core::metrics`).
#[napi]
pub const METRICS_DEFAULT_MAX_SITES: u32 = core::DEFAULT_MAX_SITES as u32;
#[napi]
pub const METRICS_MAX_SITES: u32 = core::MAX_SITES as u32;

/// One process's families (`familiesJson()` of its Metrics) and the labels that tell it apart.
#[napi(object)]
pub struct MetricsGroup {
    pub labels: Option<HashMap<String, String>>,
    pub families: String,
}

#[napi]
pub struct Metrics {
    inner: core::Metrics,
}

#[napi]
impl Metrics {
    #[napi(constructor, catch_unwind)]
    pub fn new(max_sites: Option<u32>) -> Self {
        Metrics { inner: core::Metrics::new(max_sites.map_or(core::DEFAULT_MAX_SITES, |n| n as usize)) }
    }

    #[napi(catch_unwind)]
    pub fn set_max_sites(&mut self, max_sites: u32) {
        self.inner.set_max_sites(max_sites as usize);
    }

    #[napi(catch_unwind)]
    pub fn observe_gc(&mut self, figures: MetricsGcFigures) {
        self.inner.observe_gc(figures);
    }

    /// A verdict raised ('heap' or 'external'); false for another kind.
    #[napi(catch_unwind)]
    pub fn leak_raised(&mut self, kind: String) -> bool {
        self.inner.leak_raised(&kind)
    }

    /// A standing verdict withdrawn.
    #[napi(catch_unwind)]
    pub fn leak_resolved(&mut self, kind: String) -> bool {
        self.inner.leak_resolved(&kind)
    }

    /// The verdicts standing now of one kind (replaces the count).
    #[napi(catch_unwind)]
    pub fn set_leaks_active(&mut self, kind: String, count: u32) -> bool {
        self.inner.set_leaks_active(&kind, u64::from(count))
    }

    /// A memory-pressure report ('heap' or 'memory', level 1 or 2).
    #[napi(catch_unwind)]
    pub fn pressure(&mut self, resource: String, level: u32) -> bool {
        self.inner.pressure(&resource, level)
    }

    #[napi(catch_unwind)]
    pub fn snapshot_written(&mut self, seconds: f64, bytes: f64) {
        self.inner.snapshot_written(seconds, bytes);
    }

    #[napi(catch_unwind)]
    pub fn sampler_read(&mut self, seconds: f64) {
        self.inner.sampler_read(seconds);
    }

    /// Replace the leak-site series (the top `maxSites` by live bytes are kept).
    #[napi(catch_unwind)]
    pub fn set_sites(&mut self, sites: Vec<MetricsSite>) {
        self.inner.set_sites(sites);
    }

    /// The families with series now, as JSON: `[{name, otel, unit, type, help, samples:
    /// [{labels: [[name, value]], value: number | {bounds, counts, sum, count}}]}]`.
    #[napi(catch_unwind)]
    pub fn families_json(&self) -> String {
        self.inner.families_json()
    }

    /// This process's text exposition.
    #[napi(catch_unwind)]
    pub fn render(&self) -> String {
        self.inner.render()
    }
}

/// The text exposition of several processes (a cluster's primary and workers), each family
/// once, every series labelled with its group's labels (sorted by name).
#[napi(catch_unwind)]
pub fn render_metrics(groups: Vec<MetricsGroup>) -> Result<String> {
    let groups: Vec<(Vec<(String, String)>, String)> = groups
        .into_iter()
        .map(|g| {
            let mut labels: Vec<(String, String)> = g.labels.unwrap_or_default().into_iter().collect();
            labels.sort();
            (labels, g.families)
        })
        .collect();
    core::render_json(groups.iter().map(|(l, f)| (l.clone(), f.as_str())).collect())
        .map_err(|reason| Error::new(Status::InvalidArg, reason))
}

/// One metric family's definition.
#[napi(object)]
pub struct MetricDefinition {
    /// Prometheus name (base units; counters end in `_total`).
    pub name: String,
    /// OpenTelemetry instrument name and UCUM unit.
    pub otel: String,
    pub unit: String,
    /// 'gauge', 'counter' or 'histogram'.
    #[napi(js_name = "type")]
    pub kind: String,
    pub help: String,
    /// A histogram's bucket upper bounds (empty for other types).
    pub buckets: Vec<f64>,
}

/// Every family leakwatch exports, in exposition order.
#[napi(catch_unwind)]
pub fn metric_definitions() -> Vec<MetricDefinition> {
    core::DEFINITIONS
        .iter()
        .map(|d| MetricDefinition {
            name: d.name.into(),
            otel: d.otel.into(),
            unit: d.unit.into(),
            kind: d.kind.as_str().into(),
            help: d.help.into(),
            buckets: d.buckets().to_vec(),
        })
        .collect()
}
