//! The `snapshot` header: field layout and type names, resolved by name from `meta`.

use super::error::SnapshotError;
use serde_json::Value;

/// Where each node field sits inside one node record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLayout {
    pub width: usize,
    pub kind: usize,
    pub name: usize,
    pub id: usize,
    pub self_size: usize,
    pub edge_count: usize,
    pub detachedness: Option<usize>,
}

/// Where each edge field sits inside one edge record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeLayout {
    pub width: usize,
    pub kind: usize,
    pub name_or_index: usize,
    pub to_node: usize,
}

/// Records wider than this are refused: V8 writes 6 or 7 node fields and 3 edge fields.
pub const MAX_FIELDS: usize = 16;

#[derive(Debug, Clone)]
pub struct Meta {
    pub node: NodeLayout,
    pub edge: EdgeLayout,
    pub node_types: Vec<String>,
    pub edge_types: Vec<String>,
    /// Counts the header claims; only hints, checked against what the arrays hold.
    pub node_count: Option<u64>,
    pub edge_count: Option<u64>,
}

impl Meta {
    /// Parse the raw bytes of the `snapshot` object. `offset` is where it ended, for errors.
    pub fn parse(raw: &[u8], offset: u64) -> Result<Meta, SnapshotError> {
        let err = |m: String| SnapshotError::at(offset, m);
        let header: Value =
            serde_json::from_slice(raw).map_err(|e| err(format!("the \"snapshot\" header is not valid JSON ({e})")))?;
        let meta = header.get("meta").ok_or_else(|| err("the \"snapshot\" header has no \"meta\"".into()))?;
        let node_fields = string_list(meta.get("node_fields"))
            .ok_or_else(|| err("meta.node_fields is missing or not a list of names".into()))?;
        let edge_fields = string_list(meta.get("edge_fields"))
            .ok_or_else(|| err("meta.edge_fields is missing or not a list of names".into()))?;
        let node_types = first_type_list(meta.get("node_types"))
            .ok_or_else(|| err("meta.node_types[0] is missing or not a list of names".into()))?;
        let edge_types = first_type_list(meta.get("edge_types"))
            .ok_or_else(|| err("meta.edge_types[0] is missing or not a list of names".into()))?;
        for (what, fields) in [("node_fields", &node_fields), ("edge_fields", &edge_fields)] {
            if fields.is_empty() || fields.len() > MAX_FIELDS {
                return Err(err(format!("meta.{what} has {} fields, expected 1 to {MAX_FIELDS}", fields.len())));
            }
        }
        let find = |fields: &[String], name: &str, list: &str| {
            fields.iter().position(|f| f == name).ok_or_else(|| err(format!("meta.{list} has no \"{name}\" field")))
        };
        let node = NodeLayout {
            width: node_fields.len(),
            kind: find(&node_fields, "type", "node_fields")?,
            name: find(&node_fields, "name", "node_fields")?,
            id: find(&node_fields, "id", "node_fields")?,
            self_size: find(&node_fields, "self_size", "node_fields")?,
            edge_count: find(&node_fields, "edge_count", "node_fields")?,
            detachedness: node_fields.iter().position(|f| f == "detachedness"),
        };
        let edge = EdgeLayout {
            width: edge_fields.len(),
            kind: find(&edge_fields, "type", "edge_fields")?,
            name_or_index: find(&edge_fields, "name_or_index", "edge_fields")?,
            to_node: find(&edge_fields, "to_node", "edge_fields")?,
        };
        Ok(Meta {
            node,
            edge,
            node_types,
            edge_types,
            node_count: count(header.get("node_count")),
            edge_count: count(header.get("edge_count")),
        })
    }

    pub fn node_type_index(&self, name: &str) -> Option<usize> {
        self.node_types.iter().position(|t| t == name)
    }

    pub fn edge_type_index(&self, name: &str) -> Option<usize> {
        self.edge_types.iter().position(|t| t == name)
    }

    /// Per edge type: whether `name_or_index` is a string index (a name). Element and
    /// hidden edges carry an index instead.
    pub fn edge_named(&self) -> Vec<bool> {
        self.edge_types.iter().map(|t| t != "element" && t != "hidden").collect()
    }
}

/// V8 gives JS objects odd ids (and everything else even ones), so "allocated after
/// snapshot S" is "odd id above S's largest odd id".
#[inline]
pub fn is_js_object_id(id: u32) -> bool {
    id % 2 == 1
}

fn string_list(value: Option<&Value>) -> Option<Vec<String>> {
    value?.as_array()?.iter().map(|v| v.as_str().map(str::to_owned)).collect()
}

fn first_type_list(value: Option<&Value>) -> Option<Vec<String>> {
    string_list(value?.as_array()?.first())
}

/// Header counts may be written as floats (`1e+06`); anything odd is just no hint.
fn count(value: Option<&Value>) -> Option<u64> {
    let v = value?.as_f64()?;
    (v.is_finite() && v >= 0.0 && v <= u64::MAX as f64).then_some(v as u64)
}

/// Node ordinal of an edge's `to_node` array offset, or None when it is not a multiple
/// of the node width. Divides by a constant for V8's usual widths: a division by a
/// runtime value per edge is a noticeable share of reading a big file.
#[inline(always)]
pub fn node_ordinal(offset: u64, width: usize) -> Option<u64> {
    let ordinal = match width {
        7 => offset / 7,
        6 => offset / 6,
        w => offset / w as u64,
    };
    (ordinal * width as u64 == offset).then_some(ordinal)
}
