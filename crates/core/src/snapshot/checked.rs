//! A sink wrapper that checks the snapshot's internal consistency, so that every
//! analysis can trust indexes: types in range, edges aligned to node records and
//! pointing at real nodes, edge counts adding up, string indexes in range.

use super::meta::{node_ordinal, Meta};
use super::scanner::SnapshotSink;

pub struct Checked<S> {
    inner: S,
    meta: Option<Meta>,
    nodes: u64,
    edges_claimed: u64,
    /// Sum of self sizes so far; kept within i64 so sums and diffs downstream cannot overflow.
    total_size: u64,
    max_string: Option<u64>,
    edge_checks: EdgeChecks,
    /// The edges array is skipped, not read (see [`Checked::without_edges`]).
    edges_unread: bool,
}

/// The checks one edge needs on its own; what depends on the whole file (node count,
/// string count, claimed edge count) is compared at the end from the figures kept here.
#[derive(Default, Clone)]
pub struct EdgeChecks {
    pub edges: u64,
    pub max_ordinal: Option<u64>,
    pub max_string: Option<u64>,
    /// Edge types whose `name_or_index` is a string index (not element/hidden).
    edge_named: Vec<bool>,
    node_width: usize,
    ordinal: OrdinalDivider,
    kind: usize,
    name_or_index: usize,
    to_node: usize,
}

fn max_of(current: Option<u64>, value: u64) -> Option<u64> {
    Some(current.map_or(value, |m| m.max(value)))
}

impl EdgeChecks {
    pub fn new(meta: &Meta) -> Self {
        EdgeChecks {
            edge_named: meta.edge_named(),
            node_width: meta.node.width,
            ordinal: OrdinalDivider::new(meta.node.width as u64),
            kind: meta.edge.kind,
            name_or_index: meta.edge.name_or_index,
            to_node: meta.edge.to_node,
            ..Default::default()
        }
    }

    /// Check one edge; returns the node ordinal it points at.
    #[inline(always)]
    pub fn check(&mut self, record: &[u64]) -> Result<u64, String> {
        let edge_type = record[self.kind];
        let to = record[self.to_node];
        let named = self.edge_named.get(edge_type as usize).copied();
        let ordinal = self.ordinal.ordinal(to);
        let (Some(named), Some(ordinal)) = (named, ordinal) else {
            return Err(self.error(edge_type, to));
        };
        if named {
            self.max_string = max_of(self.max_string, record[self.name_or_index]);
        }
        self.max_ordinal = max_of(self.max_ordinal, ordinal);
        self.edges += 1;
        Ok(ordinal)
    }

    #[cold]
    #[inline(never)]
    fn error(&self, edge_type: u64, to: u64) -> String {
        if edge_type >= self.edge_named.len() as u64 {
            return format!(
                "edge {} has type {edge_type}, but meta lists {} edge types",
                self.edges,
                self.edge_named.len()
            );
        }
        format!(
            "edge {} points at array offset {to}, which is not a multiple of the {} node fields",
            self.edges, self.node_width
        )
    }
}

/// `to_node / node_width` when it divides exactly, without a division instruction
/// (the hottest check: one per edge). For offsets below 2^32, `(offset * m) >> 64`
/// with `m = ceil(2^64 / width)` is the exact quotient (Lemire, Kaser and Kurz, "Faster
/// remainder by direct computation", 2019); larger ones divide.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrdinalDivider {
    width: u64,
    multiplier: u64,
}

impl OrdinalDivider {
    pub fn new(width: u64) -> Self {
        // width >= 1 (the header has 1 to MAX_FIELDS node fields); 1 needs no multiplier.
        let multiplier = if width > 1 { u64::MAX / width + 1 } else { 0 };
        OrdinalDivider { width, multiplier }
    }

    #[inline(always)]
    pub fn ordinal(&self, offset: u64) -> Option<u64> {
        if self.width <= 1 {
            return node_ordinal(offset, self.width.max(1) as usize);
        }
        if offset > u64::from(u32::MAX) {
            return node_ordinal(offset, self.width as usize);
        }
        let quotient = ((u128::from(self.multiplier) * u128::from(offset)) >> 64) as u64;
        (quotient * self.width == offset).then_some(quotient)
    }
}

impl<S: SnapshotSink> Checked<S> {
    pub fn new(inner: S) -> Self {
        Checked {
            inner,
            meta: None,
            nodes: 0,
            edges_claimed: 0,
            total_size: 0,
            max_string: None,
            edge_checks: EdgeChecks::default(),
            edges_unread: false,
        }
    }

    /// For a reader that skips the edges array: everything else is checked as usual;
    /// the edge count is what the nodes claim (compared with the header's).
    pub fn without_edges(inner: S) -> Self {
        Checked { edges_unread: true, ..Self::new(inner) }
    }

    /// The sum of the nodes' edge counts.
    pub fn edges_claimed(&self) -> u64 {
        self.edges_claimed
    }

    /// The other reader's figures, before `on_end` runs the whole-file checks.
    pub fn add_edges(&mut self, other: EdgeChecks) {
        let mine = &mut self.edge_checks;
        mine.edges += other.edges;
        mine.max_ordinal = mine.max_ordinal.max(other.max_ordinal);
        mine.max_string = mine.max_string.max(other.max_string);
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    #[cold]
    #[inline(never)]
    fn edge_error(&self, ordinal: u64) -> String {
        let edge = self.edge_checks.edges - 1;
        if ordinal >= self.nodes {
            return format!("edge {edge} points at node {ordinal}, but there are only {} nodes", self.nodes);
        }
        format!("the edges array holds more edges than the nodes' edge counts add up to ({})", self.edges_claimed)
    }

    /// What is wrong with a node record `on_node` refused (the checks in its order).
    #[cold]
    #[inline(never)]
    fn node_error(&self, record: &[u64]) -> String {
        let Some(meta) = &self.meta else { return "node before header".into() };
        let n = &meta.node;
        let node = self.nodes;
        let node_type = record[n.kind];
        if node_type >= meta.node_types.len() as u64 {
            return format!("node {node} has type {node_type}, but meta lists {} node types", meta.node_types.len());
        }
        if record[n.id] > u64::from(u32::MAX) {
            return format!("node {node} has id {}, larger than V8 ever writes (2^32-1)", record[n.id]);
        }
        let name = record[n.name];
        if name > u64::from(u32::MAX) {
            return format!("node {node} names string {name}, more strings than a snapshot can hold");
        }
        if self.edges_claimed.checked_add(record[n.edge_count]).is_none() {
            return format!(
                "node {node} claims {} edges: the edge counts add up to more than 64 bits",
                record[n.edge_count]
            );
        }
        format!("node {node} has self size {}: the heap's total self size exceeds 2^63-1 bytes", record[n.self_size])
    }

    fn note_string(&mut self, index: u64) {
        self.max_string = max_of(self.max_string, index);
    }
}

impl<S: SnapshotSink> SnapshotSink for Checked<S> {
    fn on_meta(&mut self, meta: &Meta, size_hint: Option<u64>) -> Result<(), String> {
        if meta.node_types.len() > 256 || meta.edge_types.len() > 256 {
            return Err("meta lists more than 256 node or edge types".into());
        }
        self.edge_checks = EdgeChecks::new(meta);
        self.meta = Some(meta.clone());
        self.inner.on_meta(meta, size_hint)
    }

    #[inline]
    fn on_node(&mut self, record: &[u64]) -> Result<(), String> {
        let Some(meta) = &self.meta else { return Err("node before header".into()) };
        let n = &meta.node;
        let (node_type, id, name) = (record[n.kind], record[n.id], record[n.name]);
        let edges_claimed = self.edges_claimed.checked_add(record[n.edge_count]);
        let total_size = self.total_size.checked_add(record[n.self_size]).filter(|&total| total <= i64::MAX as u64);
        let plausible =
            node_type < meta.node_types.len() as u64 && id <= u64::from(u32::MAX) && name <= u64::from(u32::MAX);
        let (true, Some(edges_claimed), Some(total_size)) = (plausible, edges_claimed, total_size) else {
            return Err(self.node_error(record));
        };
        self.edges_claimed = edges_claimed;
        self.total_size = total_size;
        self.note_string(name);
        self.nodes += 1;
        self.inner.on_node(record)
    }

    #[inline(always)]
    fn on_edge(&mut self, record: &[u64]) -> Result<(), String> {
        let ordinal = self.edge_checks.check(record)?;
        // With edges elsewhere the count is partial: on_end compares the total.
        if ordinal >= self.nodes || self.edge_checks.edges > self.edges_claimed {
            return Err(self.edge_error(ordinal));
        }
        self.inner.on_edge(record)
    }

    fn wants_string(&mut self, index: u32) -> bool {
        self.inner.wants_string(index)
    }

    fn on_string(&mut self, index: u32, value: &[u8]) -> Result<(), String> {
        self.inner.on_string(index, value)
    }

    fn on_end(&mut self, strings: u32) -> Result<(), String> {
        let Some(meta) = &self.meta else { return Err("no header".into()) };
        let edges = if self.edges_unread { self.edges_claimed } else { self.edge_checks.edges };
        if edges != self.edges_claimed {
            return Err(format!(
                "the nodes' edge counts add up to {} but the edges array holds {edges}",
                self.edges_claimed
            ));
        }
        if let Some(ordinal) = self.edge_checks.max_ordinal.filter(|&o| o >= self.nodes) {
            return Err(format!("an edge points at node {ordinal}, but there are only {} nodes", self.nodes));
        }
        if let Some(count) = meta.node_count {
            if count != self.nodes {
                return Err(format!("the header says node_count {count} but the nodes array holds {}", self.nodes));
            }
        }
        if let Some(count) = meta.edge_count {
            if count != edges {
                return Err(format!("the header says edge_count {count} but the edges array holds {edges}"));
            }
        }
        if let Some(max) = self.max_string.max(self.edge_checks.max_string) {
            if max >= u64::from(strings) {
                return Err(format!("a name refers to string {max}, but the strings array holds {strings}"));
            }
        }
        self.inner.on_end(strings)
    }
}

#[cfg(test)]
mod tests {
    use super::{node_ordinal, OrdinalDivider};

    #[test]
    fn the_divider_agrees_with_division() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for width in 1..=16u64 {
            let divider = OrdinalDivider::new(width);
            let edges = [0, 1, width - 1, width, width + 1, u64::from(u32::MAX), u64::from(u32::MAX) - 1, 1 << 32];
            for offset in edges.into_iter().chain((0..20_000).map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % (1 << 33)
            })) {
                assert_eq!(divider.ordinal(offset), node_ordinal(offset, width as usize), "{offset} / {width}");
            }
        }
    }
}
