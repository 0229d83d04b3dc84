//! Dominator tree, retained sizes and shortest retainer paths of a heap snapshot graph.
//!
//! Dominators use Lengauer–Tarjan (the "simple" variant: path compression without balancing,
//! O(m log n)). Every traversal is iterative because snapshots have tens of millions of nodes.
//! Weak edges never retain, so they are ignored everywhere.
//!
//! Nothing here panics on malformed input: edges past the end of the edge arrays and targets
//! past the node count are ignored, and if `first_edge` ever decreases (ranges would overlap)
//! no edge is trusted at all, so every node ends up a direct child of the root.

use std::ops::Range;

/// "No node", "no edge" or "not reached" in the `u32` arrays.
const NONE: u32 = u32::MAX;
/// V8's synthetic root is always node 0.
const ROOT: usize = 0;

/// A heap graph in CSR form over node ordinals `0..n`.
pub struct GraphView<'a> {
    /// Length n + 1; node i's out-edges are `first_edge[i]..first_edge[i + 1]`.
    pub first_edge: &'a [u32],
    /// Node each edge points to.
    pub edge_target: &'a [u32],
    /// Type of each edge; edges of type `weak_kind` do not retain and are not followed
    /// for paths. (Read from the graph's own column: no per-edge flag array is built.)
    pub edge_kind: &'a [u8],
    pub weak_kind: Option<u8>,
    /// Bytes each node holds itself (missing entries count as 0).
    pub self_size: &'a [u64],
}

impl GraphView<'_> {
    pub fn node_count(&self) -> usize {
        self.first_edge.len().saturating_sub(1)
    }
}

/// Immediate dominator of every node, with `idom[0] == 0`.
///
/// Nodes not reachable from the root through strong edges (reachable only via weak edges, or
/// islands) are all attached directly to the root: each one retains only itself. This is the
/// simplest choice that keeps the root's retained size equal to the whole heap.
pub fn immediate_dominators(g: &GraphView) -> Vec<u32> {
    DominatorInput::new(g).solve()
}

/// [`immediate_dominators`] in two steps: everything that reads the graph's edges (the
/// depth-first numbering and the predecessor lists), then the solver, which needs only
/// this. A caller that needs the edges no more can free them in between, before the
/// solver's memory peak.
pub struct DominatorInput {
    preorder: Vec<u32>,
    parent: Vec<u32>,
    predecessors: Predecessors,
}

impl DominatorInput {
    pub fn new(g: &GraphView) -> Self {
        let graph = Retaining::new(g);
        let DepthFirst { order, preorder, parent } = depth_first(&graph);
        // Not needed again until the end, where `preorder` gives it back: less memory at the peak.
        drop(order);
        let predecessors = Predecessors::build(&graph, &preorder, parent.len());
        DominatorInput { preorder, parent, predecessors }
    }

    /// Immediate dominator of every node, with `idom[0] == 0`.
    pub fn solve(self) -> Vec<u32> {
        let DominatorInput { preorder, parent, predecessors } = self;
        let solver = LengauerTarjan::new(&parent);
        drop(parent);
        let vertices = solver.run(&predecessors);
        drop(predecessors);
        to_node_ordinals(preorder, &vertices)
    }
}

/// Retained size = self size + retained sizes of the nodes it immediately dominates.
///
/// `idom` entries that are out of range or point at the node itself are treated as "no dominator";
/// nodes on a dominator cycle (impossible for a real tree) keep only what flowed into them.
pub fn retained_sizes(g: &GraphView, idom: &[u32]) -> Vec<u64> {
    let n = g.node_count();
    let mut retained: Vec<u64> = (0..n).map(|v| g.self_size.get(v).copied().unwrap_or(0)).collect();
    let dominator = |v: usize| idom.get(v).map(|&d| d as usize).filter(|&d| d < n && d != v);

    // Fold children into parents without recursion: a node is ready once all of its
    // dominated children have been added to it (Kahn's topological order on the tree).
    let mut waiting_children = vec![0u32; n];
    for v in 0..n {
        if let Some(d) = dominator(v) {
            waiting_children[d] += 1;
        }
    }
    let mut ready: Vec<u32> = (0..n).filter(|&v| waiting_children[v] == 0).map(|v| v as u32).collect();
    while let Some(v) = ready.pop() {
        let v = v as usize;
        if let Some(d) = dominator(v) {
            retained[d] = retained[d].saturating_add(retained[v]);
            waiting_children[d] -= 1;
            if waiting_children[d] == 0 {
                ready.push(d as u32);
            }
        }
    }
    retained
}

/// Breadth-first tree from the root over strong edges, for shortest retainer paths.
pub struct RetainerTree {
    /// Edge by which BFS first reached each node (`u32::MAX` for the root and unreachable nodes).
    pub parent_edge: Vec<u32>,
    /// Number of edges from the root (`u32::MAX` for unreachable nodes).
    pub distance: Vec<u32>,
}

/// BFS first from the root's *user* children (e.g. the global object, through its
/// shortcut edge), then from the system ones (`(GC roots)`, handles, stack), as DevTools
/// ranks distances: a path through the program's own objects (`leakyData` in a module
/// context) wins over one through a stack slot or a handle scope.
pub fn shortest_retainers(g: &GraphView, is_system_root: impl Fn(u32) -> bool) -> RetainerTree {
    let graph = Retaining::new(g);
    let n = graph.node_count();
    let mut tree = RetainerTree { parent_edge: vec![NONE; n], distance: vec![NONE; n] };
    if n == 0 {
        return tree;
    }
    tree.distance[ROOT] = 0;
    let mut queue = Vec::with_capacity(n);
    for user_phase in [true, false] {
        for edge in graph.edges(ROOT) {
            let Some(target) = graph.target(edge) else {
                continue;
            };
            if tree.distance[target] == NONE && is_system_root(target as u32) != user_phase {
                tree.distance[target] = 1;
                tree.parent_edge[target] = edge as u32;
                queue.push(target as u32);
            }
        }
        let mut head = 0;
        while let Some(&node) = queue.get(head) {
            head += 1;
            let next_distance = tree.distance[node as usize] + 1;
            for edge in graph.edges(node as usize) {
                let Some(target) = graph.target(edge) else {
                    continue;
                };
                if tree.distance[target] == NONE {
                    tree.distance[target] = next_distance;
                    tree.parent_edge[target] = edge as u32;
                    queue.push(target as u32);
                }
            }
        }
        queue.clear();
    }
    tree
}

/// Edge indices of the shortest retainer path, ordered from the root to `node`.
/// Empty for the root, `None` if `node` is unreachable (or the tree does not match the graph).
pub fn path_to_root(g: &GraphView, tree: &RetainerTree, node: u32) -> Option<Vec<u32>> {
    if *tree.distance.get(node as usize)? == NONE {
        return None;
    }
    let mut path = Vec::new();
    let mut current = node as usize;
    while current != ROOT {
        // A real BFS tree has no cycles; this bound keeps a corrupt one from looping forever.
        if path.len() >= tree.parent_edge.len() {
            return None;
        }
        let edge = *tree.parent_edge.get(current)?;
        path.push(edge);
        current = edge_source(g, edge)? as usize;
    }
    path.reverse();
    Some(path)
}

/// Node that owns `edge`, found by binary search over `first_edge` (no per-edge memory).
pub fn edge_source(g: &GraphView, edge: u32) -> Option<u32> {
    // The owner is the last node whose first edge is <= `edge`; skips past empty nodes.
    let owner = g.first_edge.partition_point(|&first| first <= edge).checked_sub(1)?;
    let owns = owner < g.node_count() && g.first_edge[owner] <= edge && edge < g.first_edge[owner + 1];
    owns.then_some(owner as u32)
}

/// The graph as the algorithms see it: only retaining edges, with corrupt offsets neutralised.
struct Retaining<'a> {
    g: &'a GraphView<'a>,
    /// Edge indices at or beyond this are ignored; 0 when `first_edge` is not sorted.
    usable_edges: usize,
}

impl<'a> Retaining<'a> {
    fn new(g: &'a GraphView<'a>) -> Self {
        let sorted = g.first_edge.windows(2).all(|pair| pair[0] <= pair[1]);
        let usable_edges = if sorted { g.edge_target.len().min(g.edge_kind.len()) } else { 0 };
        Retaining { g, usable_edges }
    }

    fn node_count(&self) -> usize {
        self.g.node_count()
    }

    /// Out-edges of `node`, clipped to the edge arrays.
    fn edges(&self, node: usize) -> Range<usize> {
        let clip = |i: usize| self.g.first_edge.get(i).map_or(0, |&e| (e as usize).min(self.usable_edges));
        let start = clip(node);
        start..clip(node + 1).max(start)
    }

    /// Target of a retaining edge; `None` for weak or dangling edges. `edge` comes from `edges`.
    fn target(&self, edge: usize) -> Option<usize> {
        if Some(self.g.edge_kind[edge]) == self.g.weak_kind {
            return None;
        }
        let target = self.g.edge_target[edge] as usize;
        (target < self.node_count()).then_some(target)
    }
}

/// Depth-first numbering of the nodes reachable from the root.
struct DepthFirst {
    /// Preorder number -> node.
    order: Vec<u32>,
    /// Node -> preorder number, `NONE` if unreachable.
    preorder: Vec<u32>,
    /// Preorder number -> preorder number of the DFS tree parent (the root is its own parent).
    parent: Vec<u32>,
}

fn depth_first(graph: &Retaining) -> DepthFirst {
    let n = graph.node_count();
    let mut dfs = DepthFirst { order: Vec::with_capacity(n), preorder: vec![NONE; n], parent: Vec::with_capacity(n) };
    if n == 0 {
        return dfs;
    }
    // The DFS stack is implicit: `parent` leads back up, `next_edge` says where to resume.
    let mut next_edge: Vec<u32> = Vec::with_capacity(n);
    let mut current = dfs.visit(ROOT, 0, graph, &mut next_edge);
    loop {
        let edge = next_edge[current] as usize;
        if edge < graph.edges(dfs.order[current] as usize).end {
            next_edge[current] += 1;
            if let Some(target) = graph.target(edge).filter(|&t| dfs.preorder[t] == NONE) {
                current = dfs.visit(target, current, graph, &mut next_edge);
            }
        } else if current == 0 {
            return dfs;
        } else {
            current = dfs.parent[current] as usize;
        }
    }
}

impl DepthFirst {
    /// Numbers `node` as the next vertex in preorder and returns that number.
    fn visit(&mut self, node: usize, parent: usize, graph: &Retaining, next_edge: &mut Vec<u32>) -> usize {
        let number = self.order.len();
        self.preorder[node] = number as u32;
        self.order.push(node as u32);
        self.parent.push(parent as u32);
        next_edge.push(graph.edges(node).start as u32);
        number
    }
}

/// Strong in-edges of the reachable nodes: a reverse CSR over preorder numbers, so that
/// Lengauer–Tarjan, which visits vertices in decreasing preorder, reads it sequentially.
struct Predecessors {
    /// Length (reachable nodes) + 1; the predecessors of vertex `w` are
    /// `sources[start[w]..start[w + 1]]`, as preorder numbers.
    start: Vec<u32>,
    sources: Vec<u32>,
}

impl Predecessors {
    /// A counting sort of the strong edges by target. The targets below and above the
    /// middle vertex are sorted on two cores: each scans every edge (sequential reads) and
    /// does the random-access work only for its own half, into its own part of `start`
    /// and `sources`. `n`: the number of reachable nodes.
    fn build(graph: &Retaining, preorder: &[u32], n: usize) -> Self {
        let mid = n / 2;
        let mut start = vec![0u32; n + 1];
        {
            let (low, high) = start.split_at_mut(mid);
            std::thread::scope(|scope| {
                scope.spawn(|| Self::count(graph, preorder, 0, low));
                Self::count(graph, preorder, mid, &mut high[..n - mid]);
            });
        }
        // Counts become range ends; filling each range backwards leaves `start` at range starts.
        let mut end = 0;
        for slot in &mut start {
            end += *slot;
            *slot = end;
        }
        let mut sources = vec![0u32; end as usize];
        let low_end = if mid == 0 { 0 } else { start[mid - 1] };
        {
            let (low_start, high_start) = start.split_at_mut(mid);
            let (low_sources, high_sources) = sources.split_at_mut(low_end as usize);
            std::thread::scope(|scope| {
                scope.spawn(|| Self::fill(graph, preorder, 0, low_start, low_sources, 0));
                Self::fill(graph, preorder, mid, &mut high_start[..n - mid], high_sources, low_end);
            });
        }
        Predecessors { start, sources }
    }

    /// Strong in-edges of the targets `first..first + counts.len()`, counted.
    fn count(graph: &Retaining, preorder: &[u32], first: usize, counts: &mut [u32]) {
        Self::each_strong_edge(graph, preorder, first, counts.len(), |_, target| counts[target] += 1);
    }

    /// Writes each source (a preorder number) at the end of its target's range, and moves
    /// the end down. `ends` and `sources` are this half's parts, `sources` starting at `base`.
    fn fill(graph: &Retaining, preorder: &[u32], first: usize, ends: &mut [u32], sources: &mut [u32], base: u32) {
        Self::each_strong_edge(graph, preorder, first, ends.len(), |source, target| {
            ends[target] -= 1;
            sources[(ends[target] - base) as usize] = source;
        });
    }

    /// Calls `f(source, target - first)` for every strong edge from a reachable node to a
    /// target numbered `first..first + len`, in edge order (preorder numbers; the target
    /// of a strong edge from a reachable node is reachable).
    #[inline(always)]
    fn each_strong_edge(graph: &Retaining, preorder: &[u32], first: usize, len: usize, mut f: impl FnMut(u32, usize)) {
        for (node, &source) in preorder.iter().enumerate() {
            if source == NONE {
                continue;
            }
            for edge in graph.edges(node) {
                if let Some(target) = graph.target(edge) {
                    let local = (preorder[target] as usize).wrapping_sub(first);
                    if local < len {
                        f(source, local);
                    }
                }
            }
        }
    }

    fn of(&self, node: u32) -> &[u32] {
        let node = node as usize;
        &self.sources[self.start[node] as usize..self.start[node + 1] as usize]
    }
}

/// Lengauer–Tarjan state of one DFS vertex, packed so that one cache miss fetches all of it
/// (random access dominates the running time on large heaps).
#[derive(Clone, Copy)]
struct Vertex {
    /// Semidominator, as a preorder number.
    semi: u32,
    /// Link/eval forest ancestor; starts out as the DFS parent (see `LengauerTarjan`).
    ancestor: u32,
    /// Vertex with the smallest semidominator on the compressed path up to `ancestor`.
    label: u32,
    /// Immediate dominator once settled; until then, the next vertex in its semidominator's bucket.
    idom: u32,
}

/// Simple Lengauer–Tarjan over preorder numbers.
///
/// Vertices are processed, and linked to their DFS parent, in decreasing preorder. So while
/// handling `w` exactly the vertices numbered above `w` are linked: "is `x` linked" is just
/// `x > w`, and `ancestor` needs no separate "unlinked" marker.
struct LengauerTarjan {
    vertices: Vec<Vertex>,
    /// Scratch stack for iterative path compression.
    path: Vec<u32>,
}

impl LengauerTarjan {
    fn new(parent: &[u32]) -> Self {
        let vertices = (0..parent.len() as u32)
            .zip(parent)
            .map(|(v, &parent)| Vertex { semi: v, ancestor: parent, label: v, idom: NONE })
            .collect();
        LengauerTarjan { vertices, path: Vec::new() }
    }

    /// Settles every vertex's `idom` (as a preorder number).
    fn run(mut self, predecessors: &Predecessors) -> Vec<Vertex> {
        let count = self.vertices.len();
        if count == 0 {
            return self.vertices; // empty graph: not even a root
        }
        let mut bucket_head = vec![NONE; count];
        for w in (0..count).rev() {
            // The tree path from `w` down to each vertex it semidominates is fully linked by now.
            let mut v = bucket_head[w];
            while v != NONE {
                let next = self.vertices[v as usize].idom;
                let u = self.eval(v as usize, w);
                let relative_is_lower = self.vertices[u].semi < self.vertices[v as usize].semi;
                self.vertices[v as usize].idom = if relative_is_lower { u as u32 } else { w as u32 };
                v = next;
            }
            if w == 0 {
                break;
            }
            for &v in predecessors.of(w as u32) {
                let u = self.eval(v as usize, w);
                self.vertices[w].semi = self.vertices[w].semi.min(self.vertices[u].semi);
            }
            let s = self.vertices[w].semi as usize;
            self.vertices[w].idom = bucket_head[s];
            bucket_head[s] = w as u32;
        }

        // Where the semidominator was not the idom, the idom equals the recorded relative's idom,
        // which increasing preorder has already made final.
        self.vertices[0].idom = 0;
        for w in 1..count {
            let Vertex { semi, idom, .. } = self.vertices[w];
            if idom != semi {
                self.vertices[w].idom = self.vertices[idom as usize].idom;
            }
        }
        self.vertices
    }

    /// Vertex with the smallest semidominator on the forest path above `v` (`v` itself if unlinked).
    fn eval(&mut self, v: usize, linked_above: usize) -> usize {
        if v <= linked_above {
            return v;
        }
        self.compress(v, linked_above);
        self.vertices[v].label as usize
    }

    /// Points every vertex on the path from `v` at its tree's root, folding labels downwards.
    fn compress(&mut self, v: usize, linked_above: usize) {
        let mut x = v;
        while self.vertices[x].ancestor as usize > linked_above {
            self.path.push(x as u32);
            x = self.vertices[x].ancestor as usize;
        }
        // Topmost first, so each vertex's ancestor is already compressed when it is handled.
        let vertices = &mut self.vertices;
        while let Some(x) = self.path.pop() {
            let x = x as usize;
            let a = vertices[x].ancestor as usize;
            let (label_x, label_a) = (vertices[x].label as usize, vertices[a].label as usize);
            if vertices[label_a].semi < vertices[label_x].semi {
                vertices[x].label = label_a as u32;
            }
            vertices[x].ancestor = vertices[a].ancestor;
        }
    }
}

/// Maps preorder-number idoms back to node ordinals, reusing the node-indexed `preorder` array.
fn to_node_ordinals(mut preorder: Vec<u32>, vertices: &[Vertex]) -> Vec<u32> {
    let mut order = vec![0u32; vertices.len()];
    for (node, &number) in preorder.iter().enumerate() {
        if let Some(slot) = order.get_mut(number as usize) {
            *slot = node as u32;
        }
    }
    for slot in &mut preorder {
        *slot = match *slot {
            NONE => ROOT as u32, // unreachable: attached to the root
            number => order[vertices[number as usize].idom as usize],
        };
    }
    preorder
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::time::Instant;

    /// Owned CSR graph built from an edge list.
    struct Graph {
        first_edge: Vec<u32>,
        edge_target: Vec<u32>,
        edge_weak: Vec<bool>,
        /// `edge_weak` as edge types: 1 = weak.
        edge_kind: Vec<u8>,
        self_size: Vec<u64>,
    }

    impl Graph {
        fn new(n: usize, edges: &[(u32, u32, bool)]) -> Self {
            let mut sorted = edges.to_vec();
            sorted.sort_by_key(|&(from, _, _)| from); // stable: keeps multi-edge order
            let mut first_edge = vec![0u32; n + 1];
            for &(from, _, _) in &sorted {
                first_edge[from as usize + 1] += 1;
            }
            for i in 0..n {
                first_edge[i + 1] += first_edge[i];
            }
            Graph::with(
                first_edge,
                sorted.iter().map(|e| e.1).collect(),
                sorted.iter().map(|e| e.2).collect(),
                vec![1; n],
            )
        }

        fn with(first_edge: Vec<u32>, edge_target: Vec<u32>, edge_weak: Vec<bool>, self_size: Vec<u64>) -> Self {
            let edge_kind = edge_weak.iter().map(|&weak| u8::from(weak)).collect();
            Graph { first_edge, edge_target, edge_weak, edge_kind, self_size }
        }

        fn strong(n: usize, edges: &[(u32, u32)]) -> Self {
            let edges: Vec<_> = edges.iter().map(|&(a, b)| (a, b, false)).collect();
            Self::new(n, &edges)
        }

        fn view(&self) -> GraphView<'_> {
            GraphView {
                first_edge: &self.first_edge,
                edge_target: &self.edge_target,
                edge_kind: &self.edge_kind,
                weak_kind: Some(1),
                self_size: &self.self_size,
            }
        }

        fn n(&self) -> usize {
            self.first_edge.len() - 1
        }

        /// Nodes reachable from the root over strong edges, pretending `removed` is absent.
        fn reachable_without(&self, removed: Option<usize>) -> Vec<bool> {
            let mut seen = vec![false; self.n()];
            if removed == Some(0) {
                return seen;
            }
            seen[0] = true;
            let mut stack = vec![0usize];
            while let Some(v) = stack.pop() {
                for e in self.first_edge[v] as usize..self.first_edge[v + 1] as usize {
                    let t = self.edge_target[e] as usize;
                    if !self.edge_weak[e] && !seen[t] && Some(t) != removed {
                        seen[t] = true;
                        stack.push(t);
                    }
                }
            }
            seen
        }

        fn bfs_distances(&self) -> Vec<u32> {
            let mut dist = vec![NONE; self.n()];
            dist[0] = 0;
            let mut queue = VecDeque::from([0usize]);
            while let Some(v) = queue.pop_front() {
                for e in self.first_edge[v] as usize..self.first_edge[v + 1] as usize {
                    let t = self.edge_target[e] as usize;
                    if !self.edge_weak[e] && dist[t] == NONE {
                        dist[t] = dist[v] + 1;
                        queue.push_back(t);
                    }
                }
            }
            dist
        }
    }

    /// Straight from the definition: d dominates v iff removing d cuts v off from the root.
    fn brute_force_idoms(g: &Graph) -> Vec<u32> {
        let n = g.n();
        let reachable = g.reachable_without(None);
        let mut strict_dominators = vec![Vec::new(); n];
        for d in 0..n {
            let still = g.reachable_without(Some(d));
            for v in 0..n {
                if v != d && reachable[v] && !still[v] {
                    strict_dominators[v].push(d);
                }
            }
        }
        // The immediate dominator is the deepest strict dominator, i.e. the one with most dominators.
        (0..n)
            .map(|v| strict_dominators[v].iter().max_by_key(|&&d| strict_dominators[d].len()).map_or(0, |&d| d as u32))
            .collect()
    }

    /// Retained size as the sum of self sizes over everything whose idom chain passes through v.
    fn brute_force_retained(g: &Graph, idom: &[u32]) -> Vec<u64> {
        let mut retained = vec![0u64; g.n()];
        for u in 0..g.n() {
            let mut v = u;
            loop {
                retained[v] += g.self_size[u];
                if v == 0 {
                    break;
                }
                v = idom[v] as usize;
            }
        }
        retained
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound as u64) as usize
        }
    }

    #[test]
    fn lengauer_tarjan_paper_example() {
        // R=0, A..L = 1..12 (Lengauer & Tarjan 1979, figure 1).
        let [r, a, b, c, d, e, f, g, h, i, j, k, l] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        #[rustfmt::skip]
        let edges = [
            (r, a), (r, b), (r, c), (a, d), (b, a), (b, d), (b, e), (c, f), (c, g), (d, l),
            (e, h), (f, i), (g, i), (g, j), (h, e), (h, k), (i, k), (j, i), (k, i), (k, r), (l, h),
        ];
        let graph = Graph::strong(13, &edges);
        let expected = [r, r, r, r, r, r, c, c, r, r, g, r, d];
        assert_eq!(immediate_dominators(&graph.view()), expected);
    }

    #[test]
    fn diamond() {
        let graph = Graph::strong(5, &[(0, 1), (1, 2), (1, 3), (2, 4), (3, 4)]);
        assert_eq!(immediate_dominators(&graph.view()), [0, 0, 1, 1, 1]);
    }

    #[test]
    fn chain() {
        let graph = Graph::strong(4, &[(0, 1), (1, 2), (2, 3)]);
        let view = graph.view();
        let idom = immediate_dominators(&view);
        assert_eq!(idom, [0, 0, 1, 2]);
        assert_eq!(retained_sizes(&view, &idom), [4, 3, 2, 1]);
    }

    #[test]
    fn self_loops_and_multi_edges() {
        let graph = Graph::strong(4, &[(0, 0), (0, 1), (0, 1), (1, 1), (1, 2), (1, 2), (2, 3), (0, 3)]);
        assert_eq!(immediate_dominators(&graph.view()), [0, 0, 1, 0]);
    }

    #[test]
    fn cycles_back_to_the_root() {
        let graph = Graph::strong(4, &[(0, 1), (1, 2), (2, 0), (2, 3), (3, 1), (3, 0)]);
        assert_eq!(immediate_dominators(&graph.view()), [0, 0, 1, 2]);
    }

    #[test]
    fn weak_only_and_island_nodes_hang_off_the_root() {
        // 0 -> 1 strong, 1 -> 2 weak only, island 3 <-> 4 with 4 -> 5.
        let mut graph = Graph::new(6, &[(0, 1, false), (1, 2, true), (3, 4, false), (4, 3, false), (4, 5, false)]);
        graph.self_size = vec![10, 20, 30, 40, 50, 60];
        let view = graph.view();
        let idom = immediate_dominators(&view);
        assert_eq!(idom, [0, 0, 0, 0, 0, 0]);
        assert_eq!(retained_sizes(&view, &idom), [210, 20, 30, 40, 50, 60]);
    }

    #[test]
    fn root_retains_every_self_size() {
        let mut rng = XorShift(7);
        let n = 200;
        let edges: Vec<_> = (0..600).map(|_| (rng.below(n) as u32, rng.below(n) as u32, rng.below(4) == 0)).collect();
        let mut graph = Graph::new(n, &edges);
        graph.self_size = (0..n).map(|_| rng.below(1000) as u64).collect();
        let view = graph.view();
        let retained = retained_sizes(&view, &immediate_dominators(&view));
        assert_eq!(retained[0], graph.self_size.iter().sum::<u64>());
    }

    #[test]
    fn array_retains_its_exclusive_children() {
        // root -> holder -> array -> N children; the children reference each other but nothing else reaches them.
        let children = 100u32;
        let mut edges = vec![(0, 1), (1, 2)];
        edges.extend((0..children).map(|c| (2, 3 + c)));
        edges.extend((0..children).map(|c| (3 + c, 3 + (c + 1) % children)));
        let mut graph = Graph::strong(3 + children as usize, &edges);
        graph.self_size = vec![48; 3 + children as usize];
        let view = graph.view();
        let retained = retained_sizes(&view, &immediate_dominators(&view));
        assert!(retained[2] >= u64::from(children) * 48);
        assert_eq!(retained[1], retained[2] + 48);
    }

    #[test]
    fn random_graphs_match_brute_force() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..200 {
            let n = 1 + rng.below(40);
            let edge_count = rng.below(3 * n + 1);
            let edges: Vec<_> =
                (0..edge_count).map(|_| (rng.below(n) as u32, rng.below(n) as u32, rng.below(5) == 0)).collect();
            let mut graph = Graph::new(n, &edges);
            graph.self_size = (0..n).map(|_| rng.below(100) as u64).collect();
            let view = graph.view();
            let idom = immediate_dominators(&view);
            assert_eq!(idom, brute_force_idoms(&graph), "edges: {edges:?}");
            assert_eq!(retained_sizes(&view, &idom), brute_force_retained(&graph, &idom));
        }
    }

    #[test]
    fn shortest_retainers_are_bfs_shortest_and_paths_connect() {
        let mut rng = XorShift(12345);
        for _ in 0..100 {
            let n = 1 + rng.below(40);
            let edges: Vec<_> = (0..rng.below(3 * n + 1))
                .map(|_| (rng.below(n) as u32, rng.below(n) as u32, rng.below(5) == 0))
                .collect();
            let graph = Graph::new(n, &edges);
            let view = graph.view();
            let tree = shortest_retainers(&view, |_| true);
            assert_eq!(tree.distance, graph.bfs_distances());
            for node in 0..n as u32 {
                let Some(path) = path_to_root(&view, &tree, node) else {
                    assert_eq!(tree.distance[node as usize], NONE);
                    continue;
                };
                assert_eq!(path.len() as u32, tree.distance[node as usize]);
                let mut at = 0u32;
                for &edge in &path {
                    assert_eq!(edge_source(&view, edge), Some(at));
                    assert!(!graph.edge_weak[edge as usize]);
                    at = graph.edge_target[edge as usize];
                }
                assert_eq!(at, node);
            }
        }
    }

    #[test]
    fn paths_prefer_user_roots_over_system_roots() {
        // 0=root, 1=(GC roots) [system], 2=global [user], 3=context, 4=leaked array.
        // The system root reaches the array in 1 hop; the user root in 2 — user wins.
        let graph = Graph::strong(5, &[(0, 1), (0, 2), (1, 4), (2, 3), (3, 4)]);
        let view = graph.view();
        let tree = shortest_retainers(&view, |node| node == 1);
        let path = path_to_root(&view, &tree, 4).unwrap();
        let through: Vec<u32> = path.iter().map(|&e| graph.edge_target[e as usize]).collect();
        assert_eq!(through, vec![2, 3, 4]);
        // Nodes only the system root reaches still get a path.
        let plain = shortest_retainers(&view, |_| true);
        assert_eq!(path_to_root(&view, &plain, 4).unwrap().len(), 2);
    }

    #[test]
    fn root_path_is_empty() {
        let graph = Graph::strong(2, &[(0, 1)]);
        let view = graph.view();
        let tree = shortest_retainers(&view, |_| true);
        assert_eq!(path_to_root(&view, &tree, 0), Some(vec![]));
        assert_eq!(path_to_root(&view, &tree, 1), Some(vec![0]));
        assert_eq!(path_to_root(&view, &tree, 2), None);
    }

    #[test]
    fn malformed_input_does_not_panic() {
        let empty = GraphView { first_edge: &[], edge_target: &[], edge_kind: &[], weak_kind: Some(1), self_size: &[] };
        assert!(immediate_dominators(&empty).is_empty());
        assert!(shortest_retainers(&empty, |_| true).distance.is_empty());
        assert!(retained_sizes(&empty, &[3, 4]).is_empty());

        // Decreasing offsets, dangling targets, short weak and size arrays.
        let broken = GraphView {
            first_edge: &[0, 3, 1, 9, 2],
            edge_target: &[1, 7, 2, 3],
            edge_kind: &[0, 0],
            weak_kind: Some(1),
            self_size: &[5],
        };
        assert_eq!(immediate_dominators(&broken), [0, 0, 0, 0]);
        // Out-of-range and self-pointing idoms count as "no dominator".
        assert_eq!(retained_sizes(&broken, &[9, 1, 1, 2]), [5, 0, 0, 0]);
        let tree = RetainerTree { parent_edge: vec![1, 1, 5, NONE], distance: vec![0, 1, 1, 1] };
        for node in 0..6 {
            let _ = path_to_root(&broken, &tree, node); // meaningless, but must not panic
        }

        // A retainer tree that does not match the graph: a cycle and a missing parent edge.
        let graph = Graph::strong(3, &[(0, 1), (1, 2)]);
        let cyclic = RetainerTree { parent_edge: vec![NONE, NONE, 1], distance: vec![0, 1, 2] };
        assert_eq!(path_to_root(&graph.view(), &cyclic, 1), None);
        let looping = RetainerTree { parent_edge: vec![NONE, 1, 1], distance: vec![0, 1, 2] };
        assert_eq!(path_to_root(&graph.view(), &looping, 2), None);
        assert_eq!(path_to_root(&graph.view(), &looping, 99), None);

        // Sorted offsets running past the edge arrays, dangling targets.
        let past_end = GraphView {
            first_edge: &[0, 2, 6],
            edge_target: &[1, 9, 0],
            edge_kind: &[0; 3],
            weak_kind: Some(1),
            self_size: &[1, 1],
        };
        assert_eq!(immediate_dominators(&past_end), [0, 0]);
        assert_eq!(shortest_retainers(&past_end, |_| true).distance, [0, 1]);
    }

    /// A random graph with a long chain through it, so the DFS goes millions of levels deep.
    fn big_random_graph(n: usize, edges_per_node: usize, seed: u64) -> Graph {
        let mut rng = XorShift(seed);
        let mut first_edge = Vec::with_capacity(n + 1);
        let mut edge_target = Vec::with_capacity(n * edges_per_node);
        for v in 0..n {
            first_edge.push(edge_target.len() as u32);
            edge_target.push(((v + 1) % n) as u32);
            edge_target.extend((1..edges_per_node).map(|_| rng.below(n) as u32));
        }
        first_edge.push(edge_target.len() as u32);
        let edge_weak = (0..edge_target.len()).map(|e| e % 7 == 3).collect();
        Graph::with(first_edge, edge_target, edge_weak, vec![48; n])
    }

    #[test]
    #[cfg_attr(debug_assertions, ignore = "~20 s in debug; runs with --release")]
    fn two_million_nodes_without_stack_overflow() {
        let graph = big_random_graph(2_000_000, 4, 42);
        let view = graph.view();
        let started = Instant::now();
        let idom = immediate_dominators(&view);
        let retained = retained_sizes(&view, &idom);
        let tree = shortest_retainers(&view, |_| true);
        let path = path_to_root(&view, &tree, 1_999_999);
        eprintln!("2M nodes / 8M edges: {:?}", started.elapsed());
        assert_eq!(retained[0], 48 * 2_000_000);
        assert_eq!(path.map(|p| p.len() as u32), Some(tree.distance[1_999_999]));
    }

    /// `cargo test --release -- --ignored --nocapture ten_million` for timing and peak memory.
    #[test]
    #[ignore]
    fn ten_million_nodes_benchmark() {
        let graph = big_random_graph(10_000_000, 4, 7);
        let view = graph.view();
        eprintln!("graph built, {}", memory_status());
        let started = Instant::now();
        let idom = immediate_dominators(&view);
        eprintln!("immediate_dominators: {:?}, {}", started.elapsed(), memory_status());
        let started = Instant::now();
        let retained = retained_sizes(&view, &idom);
        eprintln!("retained_sizes: {:?}, {}", started.elapsed(), memory_status());
        let started = Instant::now();
        let tree = shortest_retainers(&view, |_| true);
        eprintln!("shortest_retainers: {:?}, {}", started.elapsed(), memory_status());
        assert_eq!(retained[0], 48 * 10_000_000);
        assert_eq!(tree.distance[0], 0);
    }

    fn memory_status() -> String {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .filter(|line| line.starts_with("VmHWM") || line.starts_with("VmRSS"))
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
