//! leakwatch's id sentinel: one object per isolate, kept alive from load time
//! (lib/agent/dump.js), whose id must be the same in every snapshot of the process. Its class
//! name carries a token made at random when leakwatch loads, so an app's own classes
//! cannot pass for it and snapshots of two processes are told apart.

/// The class name of the sentinel: this prefix and [`TOKEN_LEN`] lowercase hex digits.
pub const ID_SENTINEL_PREFIX: &str = "LeakwatchIdSentinel_";
/// Hex digits of the token (128 random bits).
pub const TOKEN_LEN: usize = 32;
/// The class of the sentinel leakwatch kept before it had a token: still recognised in
/// old snapshots (with the empty token), and only when no tokened sentinel is there.
pub const LEGACY_ID_SENTINEL_CLASS: &str = "LeakwatchIdSentinel";

/// The sentinel of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSentinel {
    /// None: a snapshot not taken in a process running leakwatch (Chrome, other tools, or
    /// before leakwatch loaded). Its ids are compared as they are.
    Absent,
    /// Exactly one: the process's token (empty for the legacy class) and the object's id.
    One { token: String, id: u32 },
    /// More than one object looks like the sentinel (copies of it, or look-alikes the app
    /// made): the check cannot tell which is real, so comparisons refuse.
    Ambiguous { count: u64 },
}

/// The token of a sentinel class name: `Some("")` for the legacy name, the hex digits for
/// a tokened one, `None` for any other class.
pub fn sentinel_token(name: &str) -> Option<&str> {
    if name == LEGACY_ID_SENTINEL_CLASS {
        return Some("");
    }
    let token = name.strip_prefix(ID_SENTINEL_PREFIX)?;
    let hex = token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    hex.then_some(token)
}

impl IdSentinel {
    /// From the classes of a snapshot: (name, object count, id of one of its objects).
    /// Tokened candidates win over the legacy class (which an app may well have of its
    /// own); more than one object among the winners is ambiguous.
    pub fn from_classes<'a>(classes: impl IntoIterator<Item = (&'a str, u64, u32)>) -> Self {
        // (count, one (token, id)) for tokened candidates, then for the legacy class.
        let mut found: [(u64, Option<(&'a str, u32)>); 2] = [(0, None), (0, None)];
        for (name, count, id) in classes {
            let Some(token) = sentinel_token(name) else { continue };
            let slot = &mut found[usize::from(token.is_empty())];
            slot.0 += count;
            slot.1 = Some((token, id));
        }
        match found.into_iter().find(|(count, _)| *count > 0) {
            None => IdSentinel::Absent,
            Some((1, Some((token, id)))) => IdSentinel::One { token: token.to_string(), id },
            Some((count, _)) => IdSentinel::Ambiguous { count },
        }
    }

    /// From every node of a heap as (class index, id), with the class names.
    pub fn of_nodes(class_names: &[String], nodes: impl Iterator<Item = (u32, u32)>) -> Self {
        let candidate: Vec<bool> = class_names.iter().map(|name| sentinel_token(name).is_some()).collect();
        // Per candidate class: count and the id of one of its objects.
        let mut found = vec![(0u64, 0u32); class_names.len()];
        for (class, id) in nodes {
            if candidate.get(class as usize) == Some(&true) {
                found[class as usize].0 += 1;
                found[class as usize].1 = id;
            }
        }
        Self::from_classes(class_names.iter().zip(found).map(|(name, (count, id))| (name.as_str(), count, id)))
    }

    /// The sentinel's id, when there is exactly one.
    pub fn id(&self) -> Option<u32> {
        match self {
            IdSentinel::One { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Why two snapshots cannot be compared by object id. Positions are 1-based, in the order
/// the snapshots were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentinelMismatch {
    /// Snapshot `at` holds `count` objects that look like the sentinel.
    Ambiguous { at: usize, count: u64 },
    /// The sentinels' tokens differ: the snapshots come from different processes (or
    /// threads), whose ids have nothing to do with each other.
    DifferentProcesses { earlier: usize, later: usize },
    /// Same process, but the sentinel's id changed: V8 renumbered every object in between.
    Renumbered { earlier: usize, later: usize, earlier_id: u32, later_id: u32 },
}

impl SentinelMismatch {
    /// The snapshot the problem is reported against.
    pub fn later(&self) -> usize {
        match self {
            SentinelMismatch::Ambiguous { at, .. } => *at,
            SentinelMismatch::DifferentProcesses { later, .. } | SentinelMismatch::Renumbered { later, .. } => *later,
        }
    }

    /// The message, naming the snapshots by `name(position)`.
    pub fn describe(&self, name: impl Fn(usize) -> String) -> String {
        match self {
            SentinelMismatch::Ambiguous { at, count } => format!(
                "{}: {count} objects look like leakwatch's id sentinel (there must be exactly one): it cannot tell whether V8 renumbered the objects, so it will not compare this snapshot by object id. Has the app copied the sentinel (Object.create of it, or a class named like it)?",
                name(*at)
            ),
            SentinelMismatch::DifferentProcesses { earlier, later } => format!(
                "{} and {} come from different processes (or threads): leakwatch's id sentinel differs, and object ids of different processes cannot be compared. Compare snapshots of one process, in the order they were taken.",
                name(*earlier),
                name(*later)
            ),
            SentinelMismatch::Renumbered { earlier, later, earlier_id, later_id } => format!(
                "{}: V8 renumbered every object since {} (leakwatch's id sentinel was @{earlier_id}, is @{later_id}), so the two cannot be compared by object id. Likely cause: an inspector session (a debugger, or a profiler) detached between the two snapshots. Take new snapshots, in order, after it detached.",
                name(*later),
                name(*earlier)
            ),
        }
    }
}

/// Snapshots compared by object id must agree on the sentinel: exactly one in each
/// snapshot that has any, the same token (one process), the same id (no renumbering).
/// Snapshots without one (taken before leakwatch loaded, or by other tools) are not
/// checked.
pub fn check_sentinels(sentinels: &[IdSentinel]) -> Result<(), SentinelMismatch> {
    let mut seen: Option<(usize, &str, u32)> = None;
    for (k, sentinel) in sentinels.iter().enumerate() {
        match sentinel {
            IdSentinel::Absent => {}
            IdSentinel::Ambiguous { count } => return Err(SentinelMismatch::Ambiguous { at: k + 1, count: *count }),
            IdSentinel::One { token, id } => match seen {
                Some((earlier, earlier_token, _)) if earlier_token != token => {
                    return Err(SentinelMismatch::DifferentProcesses { earlier: earlier + 1, later: k + 1 })
                }
                Some((earlier, _, earlier_id)) if earlier_id != *id => {
                    return Err(SentinelMismatch::Renumbered {
                        earlier: earlier + 1,
                        later: k + 1,
                        earlier_id,
                        later_id: *id,
                    })
                }
                // The latest agreeing snapshot is the one a mismatch is reported against.
                _ => seen = Some((k, token, *id)),
            },
        }
    }
    Ok(())
}
