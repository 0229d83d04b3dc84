//! Rust results -> JS objects. Field names follow the public contract: camelCase for
//! leakwatch's own shapes, memwatch's exact names for the HeapDiff shape.

use leakwatch_core::format::human_size;
use leakwatch_core::snapshot::{ClassStat, FileAnalysis, Group, HeapDiff, NodeRef, Summary};
use napi_derive::napi;

#[napi(object, js_name = "ClassStat")]
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

/// Options of `analyze`: what counts as a leak suspect.
#[napi(object)]
#[derive(Default)]
pub struct AnalyzeOptions {
    /// At least this many surviving objects (default 20).
    pub min_count: Option<u32>,
    /// At least this many retained bytes (default 8192).
    pub min_retained: Option<f64>,
}

#[napi(object, js_name = "NodeRef")]
pub struct JsNodeRef {
    pub class: String,
    pub name: String,
    #[napi(js_name = "type")]
    pub node_type: String,
    pub id: f64,
    pub self_size: f64,
    pub retained_size: f64,
}

#[napi(object, js_name = "PathStep")]
pub struct JsPathStep {
    pub edge: String,
    pub edge_type: String,
    pub node: JsNodeRef,
}

#[napi(object, js_name = "SuspectGroup")]
pub struct JsGroup {
    pub name: String,
    pub count: f64,
    pub self_size: f64,
    pub retained_size: f64,
    pub user_class: bool,
    pub grew_every_step: bool,
    pub counts: Vec<f64>,
    /// Objects of the class allocated between S1 and S2 still alive in each snapshot (0 in
    /// S1; in S2, all allocated after S1).
    pub survivors: Vec<f64>,
    /// Four or more snapshots: the survivors shrank materially after S3 (a cache evicting,
    /// sessions expiring): not a leak suspect.
    pub survivors_shrank: bool,
    pub representative: JsNodeRef,
    pub retainer_path: Vec<JsPathStep>,
    /// Steps left out of the middle of a long retainer path (between the first and the
    /// second half of the steps kept); 0 when the path is whole.
    pub retainer_path_elided: f64,
}

#[napi(object, js_name = "AnalyzedSnapshot")]
pub struct JsAnalyzedSnapshot {
    pub file: String,
    pub nodes: f64,
    pub max_js_id: f64,
}

#[napi(object, js_name = "Analysis")]
pub struct JsAnalysis {
    pub snapshots: Vec<JsAnalyzedSnapshot>,
    /// DevTools' filter: ids in (idRange[0], idRange[1]] were allocated between S1 and S2.
    pub id_range: Vec<f64>,
    /// Leak suspects: user classes first, then engine internals; by retained size.
    pub suspects: Vec<JsGroup>,
    /// Other objects allocated between S1 and S2 that survived, not growing like a leak.
    pub others: Vec<JsGroup>,
}

fn to_js_node(n: NodeRef) -> JsNodeRef {
    JsNodeRef {
        class: n.class,
        name: n.name,
        node_type: n.node_type,
        id: f64::from(n.id),
        self_size: n.self_size as f64,
        retained_size: n.retained_size as f64,
    }
}

fn to_js_group(g: Group) -> JsGroup {
    JsGroup {
        name: g.name,
        count: g.count as f64,
        self_size: g.self_size as f64,
        retained_size: g.retained_size as f64,
        user_class: g.user_class,
        grew_every_step: g.grew_every_step,
        counts: g.counts.into_iter().map(|c| c as f64).collect(),
        survivors: g.survivors.into_iter().map(|c| c as f64).collect(),
        survivors_shrank: g.survivors_shrank,
        representative: to_js_node(g.representative),
        retainer_path: g
            .retainer_path
            .into_iter()
            .map(|step| JsPathStep { edge: step.edge, edge_type: step.edge_type, node: to_js_node(step.node) })
            .collect(),
        retainer_path_elided: g.retainer_path_elided as f64,
    }
}

pub fn to_js_analysis(analysis: FileAnalysis) -> JsAnalysis {
    let FileAnalysis { snapshots, report } = analysis;
    let (suspects, others): (Vec<Group>, Vec<Group>) = report.groups.into_iter().partition(|g| g.suspect);
    JsAnalysis {
        snapshots: snapshots
            .into_iter()
            .map(|s| JsAnalyzedSnapshot { file: s.file, nodes: s.nodes as f64, max_js_id: f64::from(s.max_js_id) })
            .collect(),
        id_range: vec![f64::from(report.id_range.0), f64::from(report.id_range.1)],
        suspects: suspects.into_iter().map(to_js_group).collect(),
        others: others.into_iter().map(to_js_group).collect(),
    }
}
