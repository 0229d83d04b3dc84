//! Class names as Chrome DevTools' Summary view groups nodes, and a table that
//! assigns each distinct class a small index while a snapshot streams by.

use super::meta::Meta;
use rustc_hash::FxHashMap;

/// How a node type maps to a class: objects and native nodes are grouped by their
/// name (the constructor); every other type is one bucket named after the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassRule {
    ByName,
    Fixed(String),
}

pub fn class_rule(node_type: &str) -> ClassRule {
    match node_type {
        "object" | "native" => ClassRule::ByName,
        "hidden" => ClassRule::Fixed("(system)".into()),
        "code" => ClassRule::Fixed(COMPILED_CODE.into()),
        other => ClassRule::Fixed(format!("({other})")),
    }
}

/// The group of V8's code objects (bytecode, JIT code, instruction streams).
pub const COMPILED_CODE: &str = "(compiled code)";
/// Engine-internal groups (`(string)`, `(array)`, `(system)`, `system / Context`, …)
/// are looked at last.
pub fn is_internal_class(name: &str) -> bool {
    (name.starts_with('(') && name.ends_with(')')) || name.starts_with("system / ")
}

/// Class index by name string index: a table for the indexes real snapshots have (a
/// few million strings), a map beyond them (memory stays bounded on hostile input).
#[derive(Default)]
struct ByName {
    dense: Vec<u32>,
    sparse: FxHashMap<u32, u32>,
}

impl ByName {
    /// Indexes below this are in the table (16 MB at most).
    const DENSE: u32 = 1 << 22;
    const NONE: u32 = u32::MAX;

    #[inline]
    fn get(&self, name: u32) -> Option<u32> {
        if name < Self::DENSE {
            self.dense.get(name as usize).copied().filter(|&class| class != Self::NONE)
        } else {
            self.sparse.get(&name).copied()
        }
    }

    fn insert(&mut self, name: u32, class: u32) {
        if name < Self::DENSE {
            let at = name as usize;
            if at >= self.dense.len() {
                self.dense.resize(at + 1, Self::NONE);
            }
            self.dense[at] = class;
        } else {
            self.sparse.insert(name, class);
        }
    }
}

/// Assigns class indexes by (type, name) without knowing the strings yet; names are
/// resolved when the `strings` array streams past. Memory grows with distinct classes.
pub struct ClassTable {
    rules: Vec<ClassRule>,
    fixed_slot: Vec<u32>,
    by_name: ByName,
    /// For each class: its name once known, and the string index it waits for.
    names: Vec<String>,
    name_index: Vec<Option<u32>>,
}

impl ClassTable {
    pub fn new(meta: &Meta) -> Self {
        ClassTable {
            rules: meta.node_types.iter().map(|t| class_rule(t)).collect(),
            fixed_slot: vec![u32::MAX; meta.node_types.len()],
            by_name: ByName::default(),
            names: Vec::new(),
            name_index: Vec::new(),
        }
    }

    /// Class index of a node with this type and name string index (type already validated).
    /// Always inlined: called once per node, and the addon's build kept it out of line
    /// (2.6 % of a summary's CPU as its own symbol; inlined, the CLI takes ~2 % less CPU).
    #[inline(always)]
    pub fn class_of(&mut self, node_type: usize, name: u32) -> u32 {
        match &self.rules[node_type] {
            ClassRule::ByName => {
                if let Some(class) = self.by_name.get(name) {
                    return class;
                }
                let class = self.names.len() as u32;
                self.names.push(String::new());
                self.name_index.push(Some(name));
                self.by_name.insert(name, class);
                class
            }
            ClassRule::Fixed(label) => {
                let slot = self.fixed_slot[node_type];
                if slot != u32::MAX {
                    return slot;
                }
                let class = self.names.len() as u32;
                self.names.push(label.clone());
                self.name_index.push(None);
                self.fixed_slot[node_type] = class;
                class
            }
        }
    }

    pub fn wants_string(&self, index: u32) -> bool {
        self.by_name.get(index).is_some()
    }

    pub fn on_string(&mut self, index: u32, value: &[u8]) {
        if let Some(class) = self.by_name.get(index) {
            self.names[class as usize] = String::from_utf8_lossy(value).into_owned();
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Names by class index. Different indexes may share a name (hostile input);
    /// callers merge by name.
    pub fn into_names(self) -> Vec<String> {
        self.names
    }
}
