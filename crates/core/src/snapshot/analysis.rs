//! Analyses over the full graph: retained sizes per class (`summary --retained`) and
//! the three-snapshot technique (`analyze`): objects of the last snapshot allocated
//! between the first and the second, grouped by class, with a retainer path each.

use super::classes::is_internal_class;
use super::dominators::{
    immediate_dominators, path_to_root, retained_sizes, shortest_retainers, GraphView, RetainerTree,
};
use super::graph::HeapGraph;
use super::summary::{ClassStat, Summary};
use rustc_hash::FxHashMap;

/// The graph with everything the analyses need computed once.
pub struct Analysed {
    pub graph: HeapGraph,
    pub retained: Vec<u64>,
    pub idom: Vec<u32>,
    pub retainers: RetainerTree,
    /// Dense class index of every node, and the class names.
    pub node_class: Vec<u32>,
    pub class_names: Vec<String>,
}

impl Analysed {
    pub fn new(graph: HeapGraph) -> Self {
        let (idom, retained, retainers) = {
            let view = GraphView {
                first_edge: &graph.first_edge,
                edge_target: &graph.edge_to,
                edge_kind: &graph.edge_kind,
                weak_kind: graph.weak_edge_type(),
                self_size: &graph.self_size,
            };
            let synthetic = graph.node_types.iter().position(|t| t == "synthetic").map(|t| t as u8);
            let is_system_root = |node: u32| Some(graph.node_kind[node as usize]) == synthetic;
            // The dominator tree and the shortest paths only read the graph: one core each.
            std::thread::scope(|scope| {
                let retainers = scope.spawn(|| shortest_retainers(&view, is_system_root));
                let idom = immediate_dominators(&view);
                let retained = retained_sizes(&view, &idom);
                let retainers = retainers.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (idom, retained, retainers)
            })
        };
        let (node_class, class_names) = classify(&graph);
        Analysed { graph, retained, idom, retainers, node_class, class_names }
    }

    /// Summary with retained sizes. A class's retained size counts each of its objects
    /// once: objects dominated by another object of the same class are not added again
    /// (as DevTools does).
    pub fn summary(&self) -> Summary {
        let everything = |_: u32| true;
        let (counts, self_sizes, retained) = self.class_totals(everything);
        let mut classes: Vec<ClassStat> = (0..self.class_names.len())
            .filter(|&c| counts[c] > 0)
            .map(|c| ClassStat {
                name: self.class_names[c].clone(),
                count: counts[c],
                self_size: self_sizes[c],
                retained_size: Some(retained[c]),
            })
            .collect();
        classes.sort_by(|a, b| b.self_size.cmp(&a.self_size).then_with(|| a.name.cmp(&b.name)));
        let g = &self.graph;
        Summary {
            nodes: g.node_count() as u64,
            edges: g.edge_count() as u64,
            total_size: g.self_size.iter().sum(),
            max_js_id: g.max_js_id(),
            classes,
        }
    }

    /// Per class: count, self size and non-overlapping retained size of the nodes `member`
    /// accepts. Walks the dominator tree once, tracking which classes are open on the path.
    fn class_totals(&self, member: impl Fn(u32) -> bool) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
        let classes = self.class_names.len();
        let (mut counts, mut self_sizes, mut retained) =
            (vec![0u64; classes], vec![0u64; classes], vec![0u64; classes]);
        let children = DominatorChildren::new(&self.idom);
        let mut open = vec![0u32; classes];
        // (node, entered): a node is pushed once to enter and once to leave.
        let mut stack: Vec<(u32, bool)> = vec![(0, false)];
        while let Some((node, leaving)) = stack.pop() {
            let is_member = member(node);
            let class = self.node_class[node as usize] as usize;
            if leaving {
                if is_member {
                    open[class] -= 1;
                }
                continue;
            }
            if is_member {
                counts[class] += 1;
                self_sizes[class] += self.graph.self_size[node as usize];
                if open[class] == 0 {
                    retained[class] += self.retained[node as usize];
                }
                open[class] += 1;
            }
            stack.push((node, true));
            for &child in children.of(node) {
                stack.push((child, false));
            }
        }
        (counts, self_sizes, retained)
    }

    /// The shortest path from the root to `node`, as (edge label, edge type, node) steps.
    pub fn retainer_path(&self, node: u32) -> Vec<PathStep> {
        // Walking the BFS tree back only needs the edge ranges, not weakness or sizes.
        let view = GraphView {
            first_edge: &self.graph.first_edge,
            edge_target: &self.graph.edge_to,
            edge_kind: &[],
            weak_kind: None,
            self_size: &self.graph.self_size,
        };
        let Some(edges) = path_to_root(&view, &self.retainers, node) else { return Vec::new() };
        edges
            .into_iter()
            .map(|edge| {
                let target = self.graph.edge_to[edge as usize];
                PathStep {
                    edge: self.graph.edge_label(edge as usize),
                    edge_type: self.graph.edge_type(edge as usize).to_string(),
                    node: self.describe(target),
                }
            })
            .collect()
    }

    pub fn describe(&self, node: u32) -> NodeRef {
        let g = &self.graph;
        NodeRef {
            class: self.class_names[self.node_class[node as usize] as usize].clone(),
            name: g.node_name(node).chars().take(80).collect(),
            node_type: g.node_type(node).to_string(),
            id: g.node_id[node as usize],
            self_size: g.self_size[node as usize],
            retained_size: self.retained[node as usize],
        }
    }
}

/// Children lists of the dominator tree in CSR form.
struct DominatorChildren {
    first: Vec<u32>,
    nodes: Vec<u32>,
}

impl DominatorChildren {
    fn new(idom: &[u32]) -> Self {
        let n = idom.len();
        let mut first = vec![0u32; n + 1];
        for (node, &parent) in idom.iter().enumerate() {
            if node != 0 && (parent as usize) < n {
                first[parent as usize + 1] += 1;
            }
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut fill = first.clone();
        let mut nodes = vec![0u32; first[n] as usize];
        for (node, &parent) in idom.iter().enumerate() {
            if node != 0 && (parent as usize) < n {
                nodes[fill[parent as usize] as usize] = node as u32;
                fill[parent as usize] += 1;
            }
        }
        DominatorChildren { first, nodes }
    }

    fn of(&self, node: u32) -> &[u32] {
        &self.nodes[self.first[node as usize] as usize..self.first[node as usize + 1] as usize]
    }
}

/// Dense class indexes for every node of the graph.
fn classify(graph: &HeapGraph) -> (Vec<u32>, Vec<String>) {
    let mut index: FxHashMap<&str, u32> = FxHashMap::default();
    let mut names = Vec::new();
    let node_class = (0..graph.node_count() as u32)
        .map(|node| {
            let name = graph.class_name(node);
            *index.entry(name).or_insert_with(|| {
                names.push(name.to_string());
                names.len() as u32 - 1
            })
        })
        .collect();
    (node_class, names)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRef {
    pub class: String,
    pub name: String,
    pub node_type: String,
    pub id: u32,
    pub self_size: u64,
    pub retained_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStep {
    /// Property name, `[index]` for elements, variable name for context edges.
    pub edge: String,
    pub edge_type: String,
    /// The node this edge leads to.
    pub node: NodeRef,
}

/// Thresholds that separate a leak from the few objects any live app keeps.
#[derive(Debug, Clone)]
pub struct SuspectOptions {
    pub min_count: u64,
    pub min_retained: u64,
}

impl Default for SuspectOptions {
    fn default() -> Self {
        SuspectOptions { min_count: 20, min_retained: 8 * 1024 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    /// Objects of the last snapshot allocated between the first and second snapshot.
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
    pub user_class: bool,
    /// The class's total count rose from every snapshot to the next.
    pub grew_every_step: bool,
    /// Count of the class in each snapshot, in order.
    pub counts: Vec<u64>,
    pub representative: NodeRef,
    pub retainer_path: Vec<PathStep>,
    pub suspect: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreeSnapshotReport {
    /// (maxJsId of S1, maxJsId of S2]: DevTools' "allocated between" filter.
    pub id_range: (u32, u32),
    /// Every group of surviving objects: suspects first (user classes before engine
    /// internals), then the rest; within each, by retained size.
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnalyzeError {
    TooFewSnapshots(usize),
    /// 1-based positions of two snapshots whose ids go backwards.
    OutOfOrder {
        earlier: usize,
        later: usize,
    },
    /// Snapshots 1 and 2 have the same largest id: nothing was allocated between them.
    NothingBetween,
}

impl std::fmt::Display for AnalyzeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnalyzeError::TooFewSnapshots(n) => write!(f, "analyze needs at least 3 snapshots of one process, in the order they were taken (got {n})"),
            AnalyzeError::OutOfOrder { earlier, later } => write!(
                f,
                "snapshot {later} has lower object ids than snapshot {earlier}: the snapshots are out of order or come from different processes (take them in order from one process)"
            ),
            AnalyzeError::NothingBetween => write!(
                f,
                "no object was allocated between snapshot 1 and snapshot 2 (the same snapshot twice?): take them some time apart"
            ),
        }
    }
}

/// The three-snapshot technique. `earlier` are summaries of S1..S(n-1) in order; `last`
/// is the full analysis of Sn.
pub fn suspects(
    earlier: &[Summary],
    last: &Analysed,
    options: &SuspectOptions,
) -> Result<ThreeSnapshotReport, AnalyzeError> {
    if earlier.len() < 2 {
        return Err(AnalyzeError::TooFewSnapshots(earlier.len() + 1));
    }
    let mut max_ids: Vec<u32> = earlier.iter().map(|s| s.max_js_id).collect();
    max_ids.push(last.graph.max_js_id());
    for k in 1..max_ids.len() {
        if max_ids[k] < max_ids[k - 1] {
            return Err(AnalyzeError::OutOfOrder { earlier: k, later: k + 1 });
        }
    }
    let (low, high) = (max_ids[0], max_ids[1]);
    if low == high {
        return Err(AnalyzeError::NothingBetween);
    }
    let ids = &last.graph.node_id;
    let between = |node: u32| {
        let id = ids[node as usize];
        id > low && id <= high
    };
    let (counts, self_sizes, retained) = last.class_totals(between);
    let representative = representatives(last, &between);
    let per_snapshot_counts = class_counts_over_time(earlier, last);
    let mut ranked: Vec<(Group, u32)> = (0..last.class_names.len())
        .filter_map(|class| {
            let node = representative[class]?;
            let name = last.class_names[class].clone();
            let history = per_snapshot_counts.get(&name).cloned().unwrap_or_default();
            let grew_every_step = history.windows(2).all(|w| w[1] > w[0]);
            // The class grew while the survivors were allocated and never shrank after:
            // a leak that ran between S1 and S2 and stopped still counts.
            let kept_growth =
                history.len() >= 2 && history[1] > history[0] && history[1..].windows(2).all(|w| w[1] >= w[0]);
            let user_class = !is_internal_class(&name);
            // Engine internals churn in any live process (JIT code, shapes, feedback):
            // they must hold much more before they count as a leak.
            let min_retained =
                if user_class { options.min_retained } else { options.min_retained.saturating_mul(INTERNAL_FACTOR) };
            let suspect = kept_growth && counts[class] >= options.min_count && retained[class] >= min_retained;
            let group = Group {
                user_class,
                name,
                count: counts[class],
                self_size: self_sizes[class],
                retained_size: retained[class],
                grew_every_step,
                counts: history,
                representative: last.describe(node),
                retainer_path: Vec::new(),
                suspect,
            };
            Some((group, node))
        })
        .collect();
    ranked.sort_by(|(a, _), (b, _)| {
        b.suspect
            .cmp(&a.suspect)
            .then(b.user_class.cmp(&a.user_class))
            .then(b.retained_size.cmp(&a.retained_size))
            .then_with(|| a.name.cmp(&b.name))
    });
    // Paths only where someone will read them: suspects and the first few others.
    let groups = ranked
        .into_iter()
        .enumerate()
        .map(|(rank, (mut group, node))| {
            if group.suspect || rank < 10 {
                group.retainer_path = last.retainer_path(node);
            }
            group
        })
        .collect();
    Ok(ThreeSnapshotReport { id_range: (low, high), groups })
}

/// How many times more an engine-internal class must retain than a user class to be a suspect.
pub const INTERNAL_FACTOR: u64 = 8;

/// One object per class to show a retainer path for: one held the way most objects of
/// its class are held (same holder class and edge type), the largest such. A path
/// through some incidental holder would mislead.
fn representatives(last: &Analysed, member: &impl Fn(u32) -> bool) -> Vec<Option<u32>> {
    let g = &last.graph;
    let holder = |node: u32| -> Option<(u32, u8)> {
        let edge = *last.retainers.parent_edge.get(node as usize)?;
        if edge == u32::MAX {
            return None;
        }
        let source = g.first_edge.partition_point(|&first| first <= edge).checked_sub(1)?;
        Some((last.node_class[source], g.edge_kind[edge as usize]))
    };
    let mut tally: FxHashMap<(u32, (u32, u8)), u64> = FxHashMap::default();
    for node in (0..g.node_count() as u32).filter(|&n| member(n)) {
        if let Some(key) = holder(node) {
            *tally.entry((last.node_class[node as usize], key)).or_default() += 1;
        }
    }
    let mut usual: Vec<Option<((u32, u8), u64)>> = vec![None; last.class_names.len()];
    for (&(class, key), &count) in &tally {
        let slot = &mut usual[class as usize];
        if slot.is_none_or(|(best_key, best)| count > best || (count == best && key < best_key)) {
            *slot = Some((key, count));
        }
    }
    let mut chosen: Vec<Option<u32>> = vec![None; last.class_names.len()];
    for node in (0..g.node_count() as u32).filter(|&n| member(n)) {
        let class = last.node_class[node as usize] as usize;
        let typical = usual[class].is_none_or(|(key, _)| holder(node) == Some(key));
        let larger = chosen[class].is_none_or(|c| last.retained[node as usize] > last.retained[c as usize]);
        if typical && larger {
            chosen[class] = Some(node);
        }
    }
    chosen
}

/// Count of every class in each snapshot (earlier summaries, then the last graph).
fn class_counts_over_time(earlier: &[Summary], last: &Analysed) -> FxHashMap<String, Vec<u64>> {
    let snapshots = earlier.len() + 1;
    let mut history: FxHashMap<String, Vec<u64>> = FxHashMap::default();
    for (k, summary) in earlier.iter().enumerate() {
        for class in &summary.classes {
            history.entry(class.name.clone()).or_insert_with(|| vec![0; snapshots])[k] += class.count;
        }
    }
    let mut last_counts = vec![0u64; last.class_names.len()];
    for &class in &last.node_class {
        last_counts[class as usize] += 1;
    }
    for (class, count) in last_counts.into_iter().enumerate() {
        history.entry(last.class_names[class].clone()).or_insert_with(|| vec![0; snapshots])[snapshots - 1] += count;
    }
    history
}
