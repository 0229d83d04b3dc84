//! Streaming per-class summary: count and self size per class, in memory that grows
//! with the number of distinct classes, not with the heap.

use super::classes::ClassTable;
use super::meta::{is_js_object_id, Meta, NodeLayout};
use super::scanner::SnapshotSink;
use super::sentinel::IdSentinel;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassStat {
    pub name: String,
    pub count: u64,
    pub self_size: u64,
    /// Filled only by the full-graph analysis (`summary --retained`).
    pub retained_size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub nodes: u64,
    pub edges: u64,
    pub total_size: u64,
    /// Largest odd (JS object) node id: the "allocated before" marker for later snapshots.
    pub max_js_id: u32,
    /// Sorted by self size, largest first; ties by name.
    pub classes: Vec<ClassStat>,
    /// leakwatch's id sentinel in this snapshot.
    pub id_sentinel: IdSentinel,
    /// With a window (see [`SummarySink::with_window`]): objects per class whose id is in
    /// it, by name. Empty otherwise.
    pub in_window: Vec<(String, u64)>,
}

#[derive(Default)]
pub struct SummarySink {
    layout: Option<NodeLayout>,
    classes: Option<ClassTable>,
    counts: Vec<u64>,
    sizes: Vec<u64>,
    nodes: u64,
    edges: u64,
    total_size: u64,
    max_js_id: u32,
    /// Per class: the id of the last node seen (finds the sentinel once names are known).
    last_id: Vec<u32>,
    window: Option<(u32, u32)>,
    in_window: Vec<u64>,
}

impl SummarySink {
    pub fn new() -> Self {
        Self::default()
    }

    /// Also count, per class, the objects with ids in `(low, high]` (the survivors of an
    /// allocation window).
    pub fn with_window(low: u32, high: u32) -> Self {
        SummarySink { window: Some((low, high)), ..Self::default() }
    }

    pub fn into_summary(self) -> Summary {
        let names = self.classes.map(ClassTable::into_names).unwrap_or_default();
        let id_sentinel =
            IdSentinel::from_classes((0..names.len()).map(|c| (names[c].as_str(), self.counts[c], self.last_id[c])));
        let mut in_window: Vec<(String, u64)> = Vec::new();
        if self.window.is_some() {
            let mut merged: HashMap<&str, u64> = HashMap::new();
            for (name, &count) in names.iter().zip(&self.in_window) {
                if count > 0 {
                    *merged.entry(name).or_default() += count;
                }
            }
            in_window = merged.into_iter().map(|(name, count)| (name.to_string(), count)).collect();
            in_window.sort();
        }
        let classes = merge_by_name(names.into_iter().zip(self.counts.into_iter().zip(self.sizes)));
        Summary {
            nodes: self.nodes,
            edges: self.edges,
            total_size: self.total_size,
            max_js_id: self.max_js_id,
            classes,
            id_sentinel,
            in_window,
        }
    }
}

/// The summary of a file read without its edges array (see
/// [`read_file_without_edges`](super::read::read_file_without_edges)): all `analyze`
/// needs of the snapshots before the last. `edges` is the nodes' edge count total.
pub fn summarize_without_edges(path: &std::path::Path) -> Result<Summary, super::error::ReadError> {
    let (sink, edges) = super::read::read_file_without_edges(path, SummarySink::new())?;
    Ok(Summary { edges, ..sink.into_summary() })
}

/// Merge entries that share a name (possible only in odd input) and sort by size.
pub(crate) fn merge_by_name(entries: impl Iterator<Item = (String, (u64, u64))>) -> Vec<ClassStat> {
    let mut merged: HashMap<String, (u64, u64)> = HashMap::new();
    for (name, (count, size)) in entries {
        let slot = merged.entry(name).or_default();
        slot.0 += count;
        slot.1 += size;
    }
    let mut classes: Vec<ClassStat> = merged
        .into_iter()
        .map(|(name, (count, self_size))| ClassStat { name, count, self_size, retained_size: None })
        .collect();
    classes.sort_by(|a, b| b.self_size.cmp(&a.self_size).then_with(|| a.name.cmp(&b.name)));
    classes
}

impl SnapshotSink for SummarySink {
    fn on_meta(&mut self, meta: &Meta, _size_hint: Option<u64>) -> Result<(), String> {
        self.layout = Some(meta.node.clone());
        self.classes = Some(ClassTable::new(meta));
        Ok(())
    }

    #[inline]
    fn on_node(&mut self, record: &[u64]) -> Result<(), String> {
        let (Some(layout), Some(classes)) = (&self.layout, &mut self.classes) else {
            return Err("node before header".into());
        };
        let class = classes.class_of(record[layout.kind] as usize, record[layout.name] as u32) as usize;
        if class == self.counts.len() {
            self.counts.push(0);
            self.sizes.push(0);
            self.last_id.push(0);
            self.in_window.push(0);
        }
        let size = record[layout.self_size];
        let id = record[layout.id] as u32;
        self.counts[class] += 1;
        self.sizes[class] += size;
        self.last_id[class] = id;
        if let Some((low, high)) = self.window {
            if id > low && id <= high {
                self.in_window[class] += 1;
            }
        }
        self.total_size += size;
        self.nodes += 1;
        let id = record[layout.id] as u32;
        if is_js_object_id(id) && id > self.max_js_id {
            self.max_js_id = id;
        }
        Ok(())
    }

    #[inline(always)]
    fn on_edge(&mut self, _record: &[u64]) -> Result<(), String> {
        self.edges += 1;
        Ok(())
    }

    fn class_table(&mut self) -> Option<&mut ClassTable> {
        self.classes.as_mut()
    }
}

/// Edges only count towards the summary.
#[derive(Default)]
pub struct EdgeCount(u64);

impl super::read::EdgeSide for EdgeCount {
    #[inline(always)]
    fn on_edge(&mut self, _record: &[u64]) {
        self.0 += 1;
    }
}

impl super::read::SplitSink for SummarySink {
    type Edges = EdgeCount;

    fn absorb_edges(&mut self, earlier: EdgeCount) {
        self.edges += earlier.0;
    }
}
