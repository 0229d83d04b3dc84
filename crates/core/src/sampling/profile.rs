//! The sampling heap profile as V8's inspector returns it and DevTools saves it
//! (`.heapprofile`): `{"head": node, "samples": [{"size", "nodeId", "ordinal"}]}`, each
//! node `{"callFrame": {...}, "selfSize", "id", "children": [...]}`.
//!
//! serde_json parses it: profiles are small (hundreds of KB at most: one node per
//! distinct allocation stack, one sample per live sampled allocation), unlike heap
//! snapshots, so a generic parser costs nothing that matters here. The node tree nests
//! two JSON levels per stack frame and V8 keeps up to 128 frames, deeper than
//! serde_json's default recursion limit, so the limit is lifted and a linear pre-scan
//! bounds the nesting instead (hostile input cannot exhaust the stack).

use crate::snapshot::read::read_small_file;
use crate::snapshot::ReadError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// JSON nesting allowed: 2 levels per frame, 128 frames, with room to spare.
pub const MAX_NESTING: usize = 1024;

/// The largest `.heapprofile` file read: far above any real one (one node per distinct
/// allocation stack, one sample per live sampled allocation: megabytes at most), small
/// enough that parsing it stays within a CLI's memory.
pub const MAX_PROFILE_BYTES: u64 = 256 << 20;

/// No size in a profile can exceed what a process can address: 2^47 bytes (128 TiB, the
/// user address space of x86-64 and arm64 Linux), for one node, one sample or their sum.
pub const MAX_SIZE_BYTES: f64 = (1u64 << 47) as f64;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallFrame {
    pub function_name: String,
    #[serde(default)]
    pub script_id: String,
    #[serde(default)]
    pub url: String,
    /// 0-based line of the function's definition (-1 when unknown).
    pub line_number: i64,
    /// 0-based column of the function's definition (-1 when unknown).
    pub column_number: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileNode {
    pub call_frame: CallFrame,
    /// Estimated live bytes allocated by this node itself (already scaled by V8).
    pub self_size: f64,
    pub id: u64,
    #[serde(default)]
    pub children: Vec<ProfileNode>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Estimated bytes this sample stands for (already scaled by V8).
    pub size: f64,
    pub node_id: u64,
    /// Allocation order: increases with every sample the profiler takes.
    pub ordinal: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeapProfile {
    pub head: ProfileNode,
    /// Absent in profiles saved by old DevTools versions; node sizes still rank sites.
    #[serde(default)]
    pub samples: Vec<Sample>,
}

impl HeapProfile {
    /// The profile as DevTools saves it (`.heapprofile`), the shape `parse_profile` reads.
    pub fn to_json(&self) -> String {
        // Only numbers, strings and nesting bounded by the stack depth: cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The same JSON written straight to `out` (no string of the whole profile in memory).
    pub fn write_json<W: std::io::Write>(&self, out: W) -> std::io::Result<()> {
        serde_json::to_writer(out, self).map_err(std::io::Error::from)
    }
}

/// Why a profile could not be read (the napi crate's `src/error.rs` gives each kind its JS code).
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileError {
    /// The text ends before the JSON does (a partial copy, a full disk).
    Truncated { offset: usize },
    /// Not JSON at all, or JSON nested deeper than any profile.
    InvalidJson { line: usize, column: usize, message: String },
    /// Valid JSON, but not a sampling heap profile (a heap snapshot, a CPU profile, …),
    /// or one whose numbers no profiler writes (a negative or impossibly large size).
    NotAProfile { message: String },
    /// A file far bigger than any profile ([`MAX_PROFILE_BYTES`]); it was not read.
    TooLarge { bytes: u64 },
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileError::Truncated { offset } => {
                write!(f, "the heap profile ends early, after {offset} bytes (truncated file?)")
            }
            ProfileError::InvalidJson { line, column, message } => {
                write!(f, "not a heap profile: invalid JSON at line {line} column {column} ({message})")
            }
            ProfileError::NotAProfile { message } => write!(
                f,
                "not a sampling heap profile (expected {{\"head\": {{\"callFrame\", \"selfSize\", \"id\", \"children\"}}, \"samples\"}}): {message}"
            ),
            ProfileError::TooLarge { bytes } => write!(
                f,
                "not a sampling heap profile: {bytes} bytes, more than any profile (at most {MAX_PROFILE_BYTES} bytes are read)"
            ),
        }
    }
}

impl std::error::Error for ProfileError {}

/// Deepest `[`/`{` nesting outside strings; stops counting once past `limit`.
fn nesting_exceeds(text: &[u8], limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in text.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Parse a profile from its JSON text.
pub fn parse_profile(text: &[u8]) -> Result<HeapProfile, ProfileError> {
    if let Some(offset) = nesting_exceeds(text, MAX_NESTING) {
        return Err(ProfileError::InvalidJson {
            line: 1 + text[..offset].iter().filter(|&&b| b == b'\n').count(),
            column: offset - text[..offset].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1,
            message: format!("nested deeper than {MAX_NESTING} levels"),
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    deserializer.disable_recursion_limit();
    let parsed = HeapProfile::deserialize(&mut deserializer).and_then(|p| deserializer.end().map(|()| p));
    let profile = parsed.map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => ProfileError::Truncated { offset: text.len() },
        serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
            ProfileError::InvalidJson { line: e.line(), column: e.column(), message: e.to_string() }
        }
        serde_json::error::Category::Data => ProfileError::NotAProfile { message: e.to_string() },
    })?;
    check_numbers(&profile)?;
    Ok(profile)
}

/// Sizes and ordinals as V8 writes them: finite, not negative, sizes within what a
/// process can hold ([`MAX_SIZE_BYTES`]), alone and added up. A hostile or corrupt file
/// is refused here rather than ranked and printed as sizes.
fn check_numbers(profile: &HeapProfile) -> Result<(), ProfileError> {
    let bad = |what: String, value: f64| ProfileError::NotAProfile {
        message: format!("{what} is {}, expected a size from 0 to {MAX_SIZE_BYTES} bytes", shown(value)),
    };
    let size = |value: f64| value.is_finite() && (0.0..=MAX_SIZE_BYTES).contains(&value);
    let mut total = 0.0;
    let mut pending = vec![&profile.head];
    while let Some(node) = pending.pop() {
        if !size(node.self_size) {
            return Err(bad(format!("selfSize of node {}", node.id), node.self_size));
        }
        total += node.self_size;
        pending.extend(node.children.iter());
    }
    if total > MAX_SIZE_BYTES {
        return Err(bad("the nodes' selfSize added up".into(), total));
    }
    let mut total = 0.0;
    for sample in &profile.samples {
        if !size(sample.size) {
            return Err(bad(format!("size of the sample of node {}", sample.node_id), sample.size));
        }
        if !(sample.ordinal.is_finite() && sample.ordinal >= 0.0) {
            return Err(ProfileError::NotAProfile {
                message: format!(
                    "ordinal of a sample of node {} is {}, expected a count",
                    sample.node_id, sample.ordinal
                ),
            });
        }
        total += sample.size;
    }
    if total > MAX_SIZE_BYTES {
        return Err(bad("the samples' sizes added up".into(), total));
    }
    Ok(())
}

/// A number as short as it was written: 1.7e308, not its 309 digits.
fn shown(value: f64) -> String {
    if value.abs() >= 1e16 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// A `.heapprofile` file could not be used: the file itself (missing, not a regular
/// file, unreadable), or what it holds.
#[derive(Debug)]
pub enum ProfileFileError {
    Read(ReadError),
    Profile(ProfileError),
}

/// Read and parse a `.heapprofile` file: a regular file (the same checks as every file
/// the CLI reads, [`open_regular`](crate::snapshot::read::open_regular)) of at most
/// [`MAX_PROFILE_BYTES`], so that memory stays bounded whatever the path names.
pub fn read_profile_file(path: &Path) -> Result<HeapProfile, ProfileFileError> {
    match read_small_file(path, MAX_PROFILE_BYTES) {
        Err(error) => Err(ProfileFileError::Read(error)),
        Ok(Err(bytes)) => Err(ProfileFileError::Profile(ProfileError::TooLarge { bytes })),
        Ok(Ok(text)) => parse_profile(&text).map_err(ProfileFileError::Profile),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{"head":{"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"selfSize":0,"id":1,"children":[
      {"callFrame":{"functionName":"leak","scriptId":"7","url":"/app/a.js","lineNumber":3,"columnNumber":13},"selfSize":65600,"id":2,"children":[]}]},
      "samples":[{"size":32800,"nodeId":2,"ordinal":5},{"size":32800,"nodeId":2,"ordinal":9}]}"#;

    #[test]
    fn parses_devtools_shape() {
        let p = parse_profile(SMALL.as_bytes()).unwrap();
        assert_eq!(p.head.children[0].call_frame.function_name, "leak");
        assert_eq!(p.samples.len(), 2);
        assert_eq!(p.samples[1].ordinal, 9.0);
    }

    #[test]
    fn truncated_foreign_and_garbage_get_distinct_errors() {
        let cut = &SMALL.as_bytes()[..SMALL.len() / 2];
        assert!(matches!(parse_profile(cut).unwrap_err(), ProfileError::Truncated { .. }));
        let snapshot = br#"{"snapshot":{"meta":{}},"nodes":[],"edges":[],"strings":[]}"#;
        assert!(matches!(parse_profile(snapshot).unwrap_err(), ProfileError::NotAProfile { .. }));
        assert!(matches!(parse_profile(b"\x89PNG....").unwrap_err(), ProfileError::InvalidJson { .. }));
        assert!(matches!(parse_profile(b"").unwrap_err(), ProfileError::Truncated { .. }));
    }

    #[test]
    fn written_profiles_read_back() {
        let p = parse_profile(SMALL.as_bytes()).unwrap();
        let again = parse_profile(p.to_json().as_bytes()).unwrap();
        assert_eq!(again.head.children[0].call_frame, p.head.children[0].call_frame);
        assert_eq!(again.samples.len(), 2);
        assert_eq!(again.samples[1].ordinal, 9.0);
    }

    #[test]
    fn impossible_sizes_are_refused() {
        for (from, to) in [
            (r#""selfSize":65600"#, r#""selfSize":-1"#),
            (r#""selfSize":65600"#, r#""selfSize":1.7e308"#),
            (r#""size":32800,"nodeId":2,"ordinal":5"#, r#""size":-32800,"nodeId":2,"ordinal":5"#),
            (r#""size":32800,"nodeId":2,"ordinal":5"#, r#""size":1e15,"nodeId":2,"ordinal":5"#),
            (r#""ordinal":9"#, r#""ordinal":-9"#),
        ] {
            let text = SMALL.replace(from, to);
            assert_ne!(text, SMALL);
            assert!(matches!(parse_profile(text.as_bytes()), Err(ProfileError::NotAProfile { .. })), "{to}");
        }
        // Each size possible, the sum not.
        let text = SMALL
            .replace("65600", &format!("{}", (1u64 << 46) + 1))
            .replace(r#""selfSize":0,"id":1"#, r#""selfSize":70368744177664,"id":1"#);
        assert!(matches!(parse_profile(text.as_bytes()), Err(ProfileError::NotAProfile { .. })));
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing() {
        let deep = "[".repeat(200_000);
        assert!(matches!(parse_profile(deep.as_bytes()).unwrap_err(), ProfileError::InvalidJson { .. }));
    }

    #[test]
    fn a_real_depth_profile_parses() {
        // 130 nested frames: 260 JSON levels, past serde_json's default limit of 128.
        let mut text = String::new();
        for i in 0..130 {
            text.push_str(&format!(
                r#"{{"callFrame":{{"functionName":"f{i}","url":"/a.js","lineNumber":{i},"columnNumber":0}},"selfSize":0,"id":{},"children":["#,
                i + 1
            ));
        }
        text.push_str(&"]}".repeat(130));
        let text = format!(r#"{{"head":{text},"samples":[]}}"#);
        assert!(parse_profile(text.as_bytes()).is_ok());
    }
}
