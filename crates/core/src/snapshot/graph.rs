//! The full heap graph in struct-of-arrays form: about 21 bytes per node and 9 per
//! edge, plus the strings. Indexes were validated by `Checked` while reading.

use super::classes::{class_rule, ClassRule};
use super::meta::{is_js_object_id, node_ordinal, EdgeLayout, Meta, NodeLayout};
use super::read::{EdgeSide, SplitSink};
use super::scanner::SnapshotSink;

pub struct HeapGraph {
    pub node_types: Vec<String>,
    pub edge_types: Vec<String>,
    pub node_kind: Vec<u8>,
    pub node_name: Vec<u32>,
    pub node_id: Vec<u32>,
    pub self_size: Vec<u64>,
    /// Node i's edges are `first_edge[i]..first_edge[i + 1]`.
    pub first_edge: Vec<u32>,
    pub edge_kind: Vec<u8>,
    /// Empty when read by [`GraphSink::without_edge_names`].
    pub edge_name: Vec<u32>,
    /// Target node ordinal (the file's array offset divided by the node width).
    pub edge_to: Vec<u32>,
    pub strings: Strings,
    class_rules: Vec<ClassRule>,
    edge_named: Vec<bool>,
    weak_edge: Option<u8>,
}

/// All strings in one buffer.
#[derive(Default)]
pub struct Strings {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Strings {
    pub fn get(&self, index: u32) -> &str {
        let i = index as usize;
        if i >= self.ends.len() {
            return "";
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        std::str::from_utf8(&self.bytes[start..self.ends[i]]).unwrap_or("\u{FFFD}")
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl HeapGraph {
    pub fn node_count(&self) -> usize {
        self.node_kind.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edge_kind.len()
    }

    pub fn edges_of(&self, node: u32) -> std::ops::Range<usize> {
        self.first_edge[node as usize] as usize..self.first_edge[node as usize + 1] as usize
    }

    pub fn node_type(&self, node: u32) -> &str {
        &self.node_types[self.node_kind[node as usize] as usize]
    }

    pub fn node_name(&self, node: u32) -> &str {
        self.strings.get(self.node_name[node as usize])
    }

    /// The DevTools Summary class of a node.
    pub fn class_name(&self, node: u32) -> &str {
        match &self.class_rules[self.node_kind[node as usize] as usize] {
            ClassRule::ByName => self.node_name(node),
            ClassRule::Fixed(label) => label,
        }
    }

    pub fn is_weak(&self, edge: usize) -> bool {
        self.weak_edge == Some(self.edge_kind[edge])
    }

    /// The edge type of weak edges, if the snapshot has one.
    pub fn weak_edge_type(&self) -> Option<u8> {
        self.weak_edge
    }

    /// An edge's label as DevTools prints it: `name` for properties, `[3]` for elements.
    /// Empty for a graph read without edge names.
    pub fn edge_label(&self, edge: usize) -> String {
        let kind = self.edge_kind[edge] as usize;
        let Some(&name) = self.edge_name.get(edge) else { return String::new() };
        if self.edge_named[kind] {
            self.strings.get(name).to_string()
        } else {
            format!("[{name}]")
        }
    }

    pub fn edge_type(&self, edge: usize) -> &str {
        &self.edge_types[self.edge_kind[edge] as usize]
    }

    /// Largest odd node id (JS objects have odd ids in V8).
    pub fn max_js_id(&self) -> u32 {
        self.node_id.iter().copied().filter(|&id| is_js_object_id(id)).max().unwrap_or(0)
    }

    /// Bytes held by the graph's arrays (for the memory figures in docs and benches).
    pub fn heap_bytes(&self) -> usize {
        self.node_kind.capacity()
            + 4 * (self.node_name.capacity() + self.node_id.capacity() + self.first_edge.capacity())
            + 8 * self.self_size.capacity()
            + self.edge_kind.capacity()
            + 4 * (self.edge_name.capacity() + self.edge_to.capacity())
            + self.strings.bytes.capacity()
            + 8 * self.strings.ends.capacity()
    }
}

/// Builds a [`HeapGraph`]. `EDGE_NAMES = false` leaves out the edges' names (4 bytes an
/// edge), which only retainer paths print: retained sizes need none.
#[derive(Default)]
pub struct GraphSink<const EDGE_NAMES: bool = true> {
    layout: Option<NodeLayout>,
    graph: Option<HeapGraph>,
    edges: EdgeArrays<EDGE_NAMES>,
    edges_total: u64,
}

impl GraphSink {
    pub fn new() -> Self {
        Self::default()
    }
}

impl GraphSink<false> {
    pub fn without_edge_names() -> Self {
        Self::default()
    }
}

impl<const EDGE_NAMES: bool> GraphSink<EDGE_NAMES> {
    pub fn into_graph(self) -> Option<HeapGraph> {
        let mut graph = self.graph?;
        graph.edge_kind = self.edges.kind;
        graph.edge_name = self.edges.name;
        graph.edge_to = self.edges.to;
        Some(graph)
    }
}

/// The graph's edge columns, filled on whichever thread reads the edges.
#[derive(Default)]
pub struct EdgeArrays<const NAMES: bool = true> {
    layout: Option<(EdgeLayout, usize)>,
    kind: Vec<u8>,
    name: Vec<u32>,
    to: Vec<u32>,
}

impl<const NAMES: bool> EdgeSide for EdgeArrays<NAMES> {
    fn on_meta(&mut self, meta: &Meta, size_hint: Option<u64>) {
        let edges = plausible(meta.edge_count, size_hint, 2 * meta.edge.width as u64);
        self.kind.reserve(edges);
        if NAMES {
            self.name.reserve(edges);
        }
        self.to.reserve(edges);
        self.layout = Some((meta.edge.clone(), meta.node.width));
    }

    #[inline]
    fn on_edge(&mut self, record: &[u64]) {
        let Some((e, width)) = &self.layout else { return };
        self.kind.push(record[e.kind] as u8);
        if NAMES {
            self.name.push(record[e.name_or_index] as u32);
        }
        self.to.push(node_ordinal(record[e.to_node], *width).unwrap_or(0) as u32);
    }
}

impl<const EDGE_NAMES: bool> SplitSink for GraphSink<EDGE_NAMES> {
    type Edges = EdgeArrays<EDGE_NAMES>;

    fn absorb_edges(&mut self, earlier: EdgeArrays<EDGE_NAMES>) {
        let later = std::mem::replace(&mut self.edges, earlier);
        self.edges.kind.extend_from_slice(&later.kind);
        self.edges.name.extend_from_slice(&later.name);
        self.edges.to.extend_from_slice(&later.to);
    }
}

/// Preallocate from header counts only as far as the input could really hold them.
fn plausible(count: Option<u64>, size_hint: Option<u64>, min_bytes_each: u64) -> usize {
    let cap = size_hint.map_or(1 << 16, |len| len / min_bytes_each);
    count.unwrap_or(0).min(cap).min(1 << 30) as usize
}

impl<const EDGE_NAMES: bool> SnapshotSink for GraphSink<EDGE_NAMES> {
    fn on_meta(&mut self, meta: &Meta, size_hint: Option<u64>) -> Result<(), String> {
        let nodes = plausible(meta.node_count, size_hint, 2 * meta.node.width as u64);
        let mut first_edge = Vec::with_capacity(nodes + 1);
        first_edge.push(0);
        self.graph = Some(HeapGraph {
            node_types: meta.node_types.clone(),
            edge_types: meta.edge_types.clone(),
            node_kind: Vec::with_capacity(nodes),
            node_name: Vec::with_capacity(nodes),
            node_id: Vec::with_capacity(nodes),
            self_size: Vec::with_capacity(nodes),
            first_edge,
            edge_kind: Vec::new(),
            edge_name: Vec::new(),
            edge_to: Vec::new(),
            strings: Strings::default(),
            class_rules: meta.node_types.iter().map(|t| class_rule(t)).collect(),
            edge_named: meta.edge_named(),
            weak_edge: meta.edge_type_index("weak").map(|i| i as u8),
        });
        self.layout = Some(meta.node.clone());
        self.edges.on_meta(meta, size_hint);
        Ok(())
    }

    #[inline]
    fn on_node(&mut self, record: &[u64]) -> Result<(), String> {
        let (Some(n), Some(g)) = (&self.layout, &mut self.graph) else {
            return Err("node before header".into());
        };
        g.node_kind.push(record[n.kind] as u8);
        g.node_name.push(record[n.name] as u32);
        g.node_id.push(record[n.id] as u32);
        g.self_size.push(record[n.self_size]);
        self.edges_total += record[n.edge_count];
        let end = u32::try_from(self.edges_total)
            .map_err(|_| "more than 2^32 edges: too large for this reader".to_string())?;
        g.first_edge.push(end);
        Ok(())
    }

    #[inline]
    fn on_edge(&mut self, record: &[u64]) -> Result<(), String> {
        self.edges.on_edge(record);
        Ok(())
    }

    fn wants_string(&mut self, _index: u32) -> bool {
        true
    }

    fn on_string(&mut self, _index: u32, value: &[u8]) -> Result<(), String> {
        if let Some(g) = &mut self.graph {
            match std::str::from_utf8(value) {
                Ok(_) => g.strings.bytes.extend_from_slice(value),
                Err(_) => g.strings.bytes.extend_from_slice(String::from_utf8_lossy(value).as_bytes()),
            }
            g.strings.ends.push(g.strings.bytes.len());
        }
        Ok(())
    }
}
