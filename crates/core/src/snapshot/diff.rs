//! Per-class comparison of two heaps by node id, in memwatch's `HeapDiff` shape:
//! `+` objects only in the second heap, `-` objects only in the first.

use super::classes::ClassTable;
use super::meta::{Meta, NodeLayout};
use super::scanner::SnapshotSink;
use super::sentinel::IdSentinel;
use std::collections::HashMap;

/// Every node's id, class and self size; sorted by id once complete.
#[derive(Default)]
pub struct IdTableSink {
    layout: Option<NodeLayout>,
    classes: Option<ClassTable>,
    rows: Vec<(u32, u32, u64)>,
    total_size: u64,
}

pub struct IdTable {
    pub class_names: Vec<String>,
    /// (id, class index, self size), sorted by id.
    pub rows: Vec<(u32, u32, u64)>,
    pub total_size: u64,
}

impl IdTable {
    /// leakwatch's id sentinel in this heap.
    pub fn id_sentinel(&self) -> IdSentinel {
        IdSentinel::of_nodes(&self.class_names, self.rows.iter().map(|&(id, class, _)| (class, id)))
    }
}

impl IdTableSink {
    pub fn into_table(mut self) -> IdTable {
        self.rows.sort_unstable_by_key(|row| row.0);
        IdTable {
            class_names: self.classes.map(ClassTable::into_names).unwrap_or_default(),
            rows: self.rows,
            total_size: self.total_size,
        }
    }
}

impl SnapshotSink for IdTableSink {
    fn on_meta(&mut self, meta: &Meta, size_hint: Option<u64>) -> Result<(), String> {
        self.layout = Some(meta.node.clone());
        self.classes = Some(ClassTable::new(meta));
        // Trust the header's count only as far as the input could actually hold it.
        let plausible = size_hint.map_or(1 << 16, |len| len / (2 * meta.node.width as u64));
        let capacity = meta.node_count.unwrap_or(0).min(plausible).min(1 << 28);
        self.rows.reserve(capacity as usize);
        Ok(())
    }

    #[inline]
    fn on_node(&mut self, record: &[u64]) -> Result<(), String> {
        let (Some(layout), Some(classes)) = (&self.layout, &mut self.classes) else {
            return Err("node before header".into());
        };
        let class = classes.class_of(record[layout.kind] as usize, record[layout.name] as u32);
        let size = record[layout.self_size];
        self.total_size += size;
        self.rows.push((record[layout.id] as u32, class, size));
        Ok(())
    }

    fn class_table(&mut self) -> Option<&mut ClassTable> {
        self.classes.as_mut()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeapTotals {
    pub nodes: u64,
    pub size_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClassChange {
    pub what: String,
    /// Net change in self size (allocated minus freed).
    pub size_bytes: i64,
    pub allocated: u64,
    pub freed: u64,
    pub allocated_size: u64,
    pub freed_size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeapDiff {
    pub before: HeapTotals,
    pub after: HeapTotals,
    pub size_bytes: i64,
    pub allocated_nodes: u64,
    pub freed_nodes: u64,
    /// Classes with any change, largest net growth first.
    pub details: Vec<ClassChange>,
}

/// Compare two heaps by node id: ids only in `after` are allocated, only in `before` freed.
pub fn diff_tables<'a>(before: &'a IdTable, after: &'a IdTable) -> HeapDiff {
    let mut by_name: HashMap<&'a str, ClassChange> = HashMap::new();
    let mut change = |name: &'a str, allocated: bool, size: u64| {
        let entry = by_name.entry(name).or_insert_with(|| ClassChange { what: name.to_string(), ..Default::default() });
        if allocated {
            entry.allocated += 1;
            entry.allocated_size += size;
        } else {
            entry.freed += 1;
            entry.freed_size += size;
        }
    };
    let (a, b) = (&before.rows, &after.rows);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_before = j == b.len() || (i < a.len() && a[i].0 < b[j].0);
        let take_after = i == a.len() || (j < b.len() && b[j].0 < a[i].0);
        if take_before {
            change(&before.class_names[a[i].1 as usize], false, a[i].2);
            i += 1;
        } else if take_after {
            change(&after.class_names[b[j].1 as usize], true, b[j].2);
            j += 1;
        } else {
            // Same id in both heaps: the same object, still alive.
            i += 1;
            j += 1;
        }
    }
    let mut details: Vec<ClassChange> = by_name
        .into_values()
        .map(|mut c| {
            c.size_bytes = c.allocated_size as i64 - c.freed_size as i64;
            c
        })
        .collect();
    details.sort_by(|x, y| y.size_bytes.cmp(&x.size_bytes).then_with(|| x.what.cmp(&y.what)));
    let allocated_nodes = details.iter().map(|c| c.allocated).sum();
    let freed_nodes = details.iter().map(|c| c.freed).sum();
    HeapDiff {
        before: HeapTotals { nodes: a.len() as u64, size_bytes: before.total_size },
        after: HeapTotals { nodes: b.len() as u64, size_bytes: after.total_size },
        size_bytes: after.total_size as i64 - before.total_size as i64,
        allocated_nodes,
        freed_nodes,
        details,
    }
}

/// The id table ignores edges.
#[derive(Default)]
pub struct NoEdges;

impl super::read::EdgeSide for NoEdges {
    fn on_edge(&mut self, _record: &[u64]) {}
}

impl super::read::SplitSink for IdTableSink {
    type Edges = NoEdges;

    fn absorb_edges(&mut self, _edges: NoEdges) {}
}
