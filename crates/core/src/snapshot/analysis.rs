//! Analyses over the full graph: retained sizes per class (`summary --retained`) and
//! the three-snapshot technique (`analyze`): objects of the last snapshot allocated
//! between the first and the second, grouped by class, with a retainer path each.

use super::classes::{is_internal_class, COMPILED_CODE};
use super::dominators::{
    immediate_dominators, path_to_root, retained_sizes, shortest_retainers, DominatorInput, GraphView, RetainerTree,
};
use super::graph::HeapGraph;
use super::sentinel::{check_sentinels, IdSentinel, SentinelMismatch};
use super::summary::{ClassStat, Summary};
use rustc_hash::FxHashMap;

fn graph_view(graph: &HeapGraph) -> GraphView<'_> {
    GraphView {
        first_edge: &graph.first_edge,
        edge_target: &graph.edge_to,
        edge_kind: &graph.edge_kind,
        weak_kind: graph.weak_edge_type(),
        self_size: &graph.self_size,
    }
}

/// Shortest retainer paths from the root, user roots (the global object) before system ones.
fn retainer_tree(graph: &HeapGraph, view: &GraphView) -> RetainerTree {
    let synthetic = graph.node_types.iter().position(|t| t == "synthetic").map(|t| t as u8);
    shortest_retainers(view, |node: u32| Some(graph.node_kind[node as usize]) == synthetic)
}

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
    /// Dominators, retained sizes, classes and shortest retainer paths: the dominator
    /// tree on this core, the rest on a second one meanwhile.
    pub fn new(graph: HeapGraph) -> Self {
        let (idom, retained, (node_class, class_names), retainers) = {
            let view = graph_view(&graph);
            std::thread::scope(|scope| {
                let side = scope.spawn(|| (classify(&graph), retainer_tree(&graph, &view)));
                let idom = immediate_dominators(&view);
                let retained = retained_sizes(&view, &idom);
                let (classes, retainers) = side.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (idom, retained, classes, retainers)
            })
        };
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
            id_sentinel: self.id_sentinel(),
            in_window: Vec::new(),
        }
    }

    /// leakwatch's id sentinel in this heap.
    pub fn id_sentinel(&self) -> IdSentinel {
        IdSentinel::of_nodes(&self.class_names, self.node_class.iter().copied().zip(self.graph.node_id.iter().copied()))
    }

    /// Per class: count, self size and non-overlapping retained size of the nodes `member`
    /// accepts. Walks the dominator tree once, tracking which classes are open on the path.
    fn class_totals(&self, member: impl Fn(u32) -> bool) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
        let classes = self.class_names.len();
        let (mut counts, mut self_sizes, mut retained) =
            (vec![0u64; classes], vec![0u64; classes], vec![0u64; classes]);
        let children = DominatorChildren::new(&self.idom);
        let mut open = vec![0u32; classes];
        // (node, entered): a node is pushed once to enter and once to leave. A snapshot
        // with no nodes has no root to start from: every total stays 0.
        let mut stack: Vec<(u32, bool)> = if self.node_class.is_empty() { Vec::new() } else { vec![(0, false)] };
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

    /// The shortest path from the root to `node`, as (edge label, edge type, node) steps;
    /// a path longer than [`PATH_KEEP`]` * 2` steps keeps its first and last [`PATH_KEEP`]
    /// steps, and says how many it left out between them (a long linked list would
    /// otherwise print one line per element).
    pub fn retainer_path(&self, node: u32) -> (Vec<PathStep>, u64) {
        // Walking the BFS tree back only needs the edge ranges, not weakness or sizes.
        let view = GraphView {
            first_edge: &self.graph.first_edge,
            edge_target: &self.graph.edge_to,
            edge_kind: &[],
            weak_kind: None,
            self_size: &self.graph.self_size,
        };
        let Some(mut edges) = path_to_root(&view, &self.retainers, node) else { return (Vec::new(), 0) };
        let mut elided = 0;
        if edges.len() > 2 * PATH_KEEP {
            elided = (edges.len() - 2 * PATH_KEEP) as u64;
            edges.drain(PATH_KEEP..edges.len() - PATH_KEEP);
        }
        let steps = edges
            .into_iter()
            .map(|edge| {
                let target = self.graph.edge_to[edge as usize];
                PathStep {
                    edge: self.graph.edge_label(edge as usize),
                    edge_type: self.graph.edge_type(edge as usize).to_string(),
                    node: self.describe(target),
                }
            })
            .collect();
        (steps, elided)
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
/// Summary with retained sizes (`summary --retained`), in as little memory as the
/// analysis allows: the node names and strings go once the classes are known, the edges
/// once the dominator solver has what it needs from them, before its memory peak (it
/// holds the predecessor lists and 16 bytes a node). No retainer paths.
pub fn retained_summary(mut graph: HeapGraph) -> Summary {
    let edges = graph.edge_count() as u64;
    let ((node_class, class_names), input) = {
        let view = graph_view(&graph);
        std::thread::scope(|scope| {
            let classes = scope.spawn(|| classify(&graph));
            let input = DominatorInput::new(&view);
            (classes.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), input)
        })
    };
    let nodes = graph.node_count() as u64;
    for column in [&mut graph.node_name, &mut graph.edge_name, &mut graph.edge_to] {
        *column = Vec::new();
    }
    for column in [&mut graph.node_kind, &mut graph.edge_kind] {
        *column = Vec::new();
    }
    graph.strings = Default::default();
    let idom = input.solve();
    let retained = retained_sizes(&graph_view(&graph), &idom);
    // What is left of the graph (ids, sizes, edge ranges) is all the summary reads; this
    // value never leaves the function (it has no edges for paths).
    let retainers = RetainerTree { parent_edge: Vec::new(), distance: Vec::new() };
    let slim = Analysed { graph, retained, idom, retainers, node_class, class_names };
    Summary { nodes, edges, ..slim.summary() }
}

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
    /// Objects of the class allocated between S1 and S2 still alive in each snapshot, in
    /// order (0 in S1; in S2, those allocated after S1).
    pub survivors: Vec<u64>,
    /// With four or more snapshots: the survivors shrank materially after S3 (a cache
    /// evicting its oldest entries, sessions expiring), so the class is not a suspect.
    pub survivors_shrank: bool,
    pub representative: NodeRef,
    pub retainer_path: Vec<PathStep>,
    /// Steps left out of the middle of a long retainer path: between its first and its
    /// last [`PATH_KEEP`] steps.
    pub retainer_path_elided: u64,
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

/// The three-snapshot technique needs at least this many snapshots.
pub const MIN_SNAPSHOTS: usize = 3;

/// Why snapshots cannot be compared. Positions are 1-based, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnalyzeError {
    TooFewSnapshots(usize),
    /// Two snapshots whose ids go backwards.
    OutOfOrder {
        earlier: usize,
        later: usize,
    },
    /// Snapshots 1 and 2 have the same largest id: nothing was allocated between them.
    NothingBetween,
    /// leakwatch's id sentinel says the snapshots cannot be compared by id: V8 renumbered
    /// the objects, they come from different processes, or the sentinel is ambiguous.
    Sentinel(SentinelMismatch),
}

impl AnalyzeError {
    /// The rule on the number of snapshots, checked before anything is read.
    pub fn check_count(snapshots: usize) -> Result<(), AnalyzeError> {
        if snapshots < MIN_SNAPSHOTS {
            return Err(AnalyzeError::TooFewSnapshots(snapshots));
        }
        Ok(())
    }

    /// The message, naming the snapshots by `name(position)`.
    pub fn describe(&self, name: impl Fn(usize) -> String) -> String {
        match self {
            AnalyzeError::TooFewSnapshots(n) => format!(
                "analyze needs at least {MIN_SNAPSHOTS} snapshots of one process, in the order they were taken (got {n})"
            ),
            AnalyzeError::OutOfOrder { earlier, later } => format!(
                "{} has lower object ids than {}: the snapshots are out of order or come from different processes (take them in order from one process)",
                name(*later),
                name(*earlier)
            ),
            AnalyzeError::NothingBetween => format!(
                "no object was allocated between {} and {} (the same snapshot twice?): take them some time apart",
                name(1),
                name(2)
            ),
            AnalyzeError::Sentinel(mismatch) => mismatch.describe(name),
        }
    }
}

impl std::fmt::Display for AnalyzeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe(|k| format!("snapshot {k}")))
    }
}

impl std::error::Error for AnalyzeError {}

/// The three-snapshot technique. `earlier` are summaries of S1..S(n-1) in order; `last`
/// is the full analysis of Sn.
pub fn suspects(
    earlier: &[Summary],
    last: &Analysed,
    options: &SuspectOptions,
) -> Result<ThreeSnapshotReport, AnalyzeError> {
    AnalyzeError::check_count(earlier.len() + 1)?;
    rank(earlier, last, options)
}

/// [`suspects`] once the number of snapshots has been checked.
pub(crate) fn rank(
    earlier: &[Summary],
    last: &Analysed,
    options: &SuspectOptions,
) -> Result<ThreeSnapshotReport, AnalyzeError> {
    let mut sentinels: Vec<IdSentinel> = earlier.iter().map(|s| s.id_sentinel.clone()).collect();
    sentinels.push(last.id_sentinel());
    check_sentinels(&sentinels).map_err(AnalyzeError::Sentinel)?;
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
    let heap: u64 = last.graph.self_size.iter().sum();
    let growth = heap.saturating_sub(earlier[0].total_size);
    // Survivors of the S1→S2 window per snapshot: 0 in S1, then the earlier summaries'
    // window counts, then this graph's.
    let survivors_of = |class: usize, name: &str| -> Vec<u64> {
        let mut survivors: Vec<u64> = earlier
            .iter()
            .enumerate()
            .map(|(k, summary)| {
                let found = summary.in_window.binary_search_by(|(n, _)| n.as_str().cmp(name));
                if k == 0 {
                    0
                } else {
                    found.map_or(0, |i| summary.in_window[i].1)
                }
            })
            .collect();
        survivors.push(counts[class]);
        survivors
    };
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
            let survivors = survivors_of(class, &name);
            let survivors_shrank = shrank_after_s3(&survivors);
            let user_class = !is_internal_class(&name);
            // Engine internals churn in any live process (JIT code, shapes, feedback):
            // they must hold much more before they count as a leak.
            let min_retained =
                if user_class { options.min_retained } else { options.min_retained.saturating_mul(INTERNAL_FACTOR) };
            // Code grows while an app warms up and V8 compiles and tiers functions up (a steady
            // app on Node 24: +430 code objects, 65 KB, over three snapshots 3 s apart): never a
            // suspect on its own. Code made by a real leak (eval, new Function) comes with
            // growing closures, which count.
            let suspect = name != COMPILED_CODE
                && kept_growth
                && !survivors_shrank
                && counts[class] >= options.min_count
                && retained[class] >= min_retained
                && large_enough(counts[class], retained[class], heap, growth);
            let group = Group {
                user_class,
                name,
                count: counts[class],
                self_size: self_sizes[class],
                retained_size: retained[class],
                grew_every_step,
                counts: history,
                survivors,
                survivors_shrank,
                representative: last.describe(node),
                retainer_path: Vec::new(),
                retainer_path_elided: 0,
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
                (group.retainer_path, group.retainer_path_elided) = last.retainer_path(node);
            }
            group
        })
        .collect();
    Ok(ThreeSnapshotReport { id_range: (low, high), groups })
}

/// A leak keeps (nearly) all the objects it allocated between S1 and S2; a cache evicting
/// its oldest entries or a store expiring them loses them. Survivors shrank "materially"
/// when a later snapshot holds fewer than this share of those alive in S3.
pub const SURVIVOR_KEEP_RATIO: f64 = 0.9;

/// With four or more snapshots: did the window's survivors shrink materially after S3?
/// (`survivors` has one entry per snapshot; S3 is index 2.)
pub fn shrank_after_s3(survivors: &[u64]) -> bool {
    let Some((&in_s3, later)) = survivors.get(2..).and_then(|rest| rest.split_first()) else { return false };
    later.iter().any(|&n| (n as f64) < in_s3 as f64 * SURVIVOR_KEEP_RATIO)
}

/// Steps kept at each end of a long retainer path.
pub const PATH_KEEP: usize = 10;

/// A group is large enough to be a leak when it has at least this many objects…
pub const NOISE_COUNT: u64 = 100;
/// …or retains at least this share of the last snapshot's heap…
pub const NOISE_HEAP_SHARE: f64 = 0.01;
/// …or at least this share of the heap's growth from the first snapshot to the last.
pub const NOISE_GROWTH_SHARE: f64 = 0.25;

/// Whether a group is big enough, next to the heap and to its growth, to be a leak: a few
/// dozen objects holding a sliver of the heap and of its growth are the noise of any live
/// process (a healthy batch worker showed 26 `Object`s, 26 KB retained, in a 3.8 MB heap).
/// A few big objects (buffers of megabytes) pass on their size, many small ones on their
/// number. `heap` is the last snapshot's total size, `growth` its growth since the first.
pub fn large_enough(count: u64, retained: u64, heap: u64, growth: u64) -> bool {
    count >= NOISE_COUNT
        || retained as f64 >= heap as f64 * NOISE_HEAP_SHARE
        || (growth > 0 && retained as f64 >= growth as f64 * NOISE_GROWTH_SHARE)
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
