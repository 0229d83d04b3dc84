//! Rust results -> JS objects. Field names follow the public contract: camelCase for
//! leakwatch's own shapes, memwatch's exact names for the HeapDiff shape.

use leakwatch_core::format::human_size;
use leakwatch_core::snapshot::{ClassStat, HeapDiff, Summary};
use napi_derive::napi;

#[napi(object)]
pub struct JsClassStat {
    pub name: String,
    pub count: f64,
    pub self_size: f64,
    pub retained_size: Option<f64>,
}

#[napi(object, js_name = "Summary")]
pub struct JsSummary {
    pub file: String,
    pub nodes: f64,
    pub edges: f64,
    pub total_size: f64,
    /// Largest odd node id: objects allocated later have larger ids.
    pub max_js_id: f64,
    pub classes: Vec<JsClassStat>,
}

pub fn to_js_class(c: ClassStat) -> JsClassStat {
    JsClassStat {
        name: c.name,
        count: c.count as f64,
        self_size: c.self_size as f64,
        retained_size: c.retained_size.map(|r| r as f64),
    }
}

pub fn to_js_summary(file: &str, s: Summary) -> JsSummary {
    JsSummary {
        file: file.to_string(),
        nodes: s.nodes as f64,
        edges: s.edges as f64,
        total_size: s.total_size as f64,
        max_js_id: f64::from(s.max_js_id),
        classes: s.classes.into_iter().map(to_js_class).collect(),
    }
}

#[napi(object, js_name = "HeapDiffTotals")]
pub struct JsHeapTotals {
    pub nodes: f64,
    #[napi(js_name = "size_bytes")]
    pub size_bytes: f64,
    pub size: String,
}

#[napi(object, js_name = "HeapDiffDetail")]
pub struct JsClassChange {
    pub what: String,
    #[napi(js_name = "size_bytes")]
    pub size_bytes: f64,
    pub size: String,
    #[napi(js_name = "+")]
    pub allocated: f64,
    #[napi(js_name = "-")]
    pub freed: f64,
}

#[napi(object, js_name = "HeapDiffChange")]
pub struct JsChange {
    #[napi(js_name = "size_bytes")]
    pub size_bytes: f64,
    pub size: String,
    #[napi(js_name = "freed_nodes")]
    pub freed_nodes: f64,
    #[napi(js_name = "allocated_nodes")]
    pub allocated_nodes: f64,
    pub details: Vec<JsClassChange>,
}

#[napi(object, js_name = "HeapDiffResult")]
pub struct JsHeapDiff {
    pub before: JsHeapTotals,
    pub after: JsHeapTotals,
    pub change: JsChange,
}

pub fn to_js_diff(d: HeapDiff) -> JsHeapDiff {
    let totals = |nodes: u64, bytes: u64| JsHeapTotals {
        nodes: nodes as f64,
        size_bytes: bytes as f64,
        size: human_size(i128::from(bytes)),
    };
    JsHeapDiff {
        before: totals(d.before.nodes, d.before.size_bytes),
        after: totals(d.after.nodes, d.after.size_bytes),
        change: JsChange {
            size_bytes: d.size_bytes as f64,
            size: human_size(i128::from(d.size_bytes)),
            freed_nodes: d.freed_nodes as f64,
            allocated_nodes: d.allocated_nodes as f64,
            details: d
                .details
                .into_iter()
                .map(|c| JsClassChange {
                    size: human_size(i128::from(c.size_bytes)),
                    what: c.what,
                    size_bytes: c.size_bytes as f64,
                    allocated: c.allocated as f64,
                    freed: c.freed as f64,
                })
                .collect(),
        },
    }
}
