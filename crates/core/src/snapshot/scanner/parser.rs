//! The state machine over the snapshot's top-level object: the [`Parser`] itself, its
//! states, keys, the `snapshot` header (captured and parsed into [`Meta`]), other values
//! skipped whatever their shape, the start of each array, and the end of input. The
//! arrays' contents are scanned by the sibling modules: `numbers` (with `window` and
//! `simd`), `strings`, and `split` for the array another reader parses.

#[cfg(target_arch = "x86_64")]
use super::simd;
use super::strings::Escape;
use super::{Kernel, ReadPlan, SnapshotSink};
use crate::snapshot::error::{SnapshotError, SnapshotErrorKind};
use crate::snapshot::meta::{Meta, MAX_FIELDS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Header,
    Nodes,
    Edges,
    Strings,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Before the opening `{`.
    Start,
    /// Expecting a key (`"`), or `}` when the object may close here.
    Key {
        may_close: bool,
    },
    InKey,
    Colon,
    Value(Section),
    /// Skipping (or capturing, for the header) any JSON value.
    Skip(SkipMode),
    /// Inside `[` of nodes/edges: numbers, commas, `]`.
    Numbers,
    /// Inside `[` of strings, between elements.
    StringsGap {
        value_next: bool,
        may_close: bool,
    },
    InString,
    AfterValue,
    Done,
    /// Inside a nodes/edges array another reader parses: jump to its `]`.
    SkipNumbers,
    /// The plan said to stop after the edges array; the rest is ignored.
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SkipMode {
    /// Nothing seen yet.
    Begin,
    /// Inside an object/array (depth > 0), or a top-level string.
    Nested,
    /// A bare scalar (number, true, false, null) that ends at a delimiter.
    Scalar,
}

pub struct Parser<S: SnapshotSink> {
    pub(super) sink: S,
    pub(super) plan: ReadPlan,
    /// Resolved `plan.kernel`.
    pub(super) kernel: Kernel,
    pub(super) size_hint: Option<u64>,
    /// Absolute offset of the first byte of the current chunk.
    pub(super) base: u64,
    pub(super) state: State,
    pub(super) section: Section,
    pub(super) seen: [bool; 4],
    pub(super) key: Vec<u8>,
    pub(super) header: Vec<u8>,
    pub(super) meta: Option<Meta>,
    // Generic skipping.
    pub(super) depth: u32,
    pub(super) skip_in_string: bool,
    pub(super) skip_escaped: bool,
    // Number arrays.
    pub(super) record: [u64; MAX_FIELDS],
    pub(super) filled: usize,
    pub(super) width: usize,
    pub(super) number: u64,
    pub(super) digits: u32,
    /// A ',' was just seen: a number must come before ']'.
    pub(super) after_comma: bool,
    /// A number was ended by white space: only ',' or ']' may follow.
    pub(super) number_ended: bool,
    // Strings.
    /// In the edges array: where this reader stops (edge reader) or starts parsing (other).
    pub(super) split_at: Option<u64>,
    pub(super) string_index: u32,
    pub(super) string_wanted: bool,
    pub(super) string: Vec<u8>,
    pub(super) escape: Escape,
    pub(super) high_surrogate: Option<u32>,
}

/// The header is small (a few KB); anything far larger is not a V8 snapshot.
const MAX_HEADER: usize = 1 << 20;
const MAX_KEY: usize = 256;

impl<S: SnapshotSink> Parser<S> {
    /// `size_hint`: total input length when known (a file), used to bound preallocation.
    pub fn new(sink: S, size_hint: Option<u64>) -> Self {
        Self::with_plan(sink, size_hint, ReadPlan::default())
    }

    pub fn with_plan(sink: S, size_hint: Option<u64>, plan: ReadPlan) -> Self {
        Parser {
            sink,
            kernel: plan.kernel.resolve(),
            plan,
            size_hint,
            base: 0,
            state: State::Start,
            section: Section::Other,
            seen: [false; 4],
            key: Vec::new(),
            header: Vec::new(),
            meta: None,
            depth: 0,
            skip_in_string: false,
            skip_escaped: false,
            record: [0; MAX_FIELDS],
            filled: 0,
            width: 1,
            number: 0,
            digits: 0,
            after_comma: false,
            number_ended: false,
            split_at: None,
            string_index: 0,
            string_wanted: false,
            string: Vec::new(),
            escape: Escape::None,
            high_surrogate: None,
        }
    }

    pub fn bytes_read(&self) -> u64 {
        self.base
    }

    pub fn sink(&self) -> &S {
        &self.sink
    }

    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// Feed the next chunk. After an error the parser must not be used again.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), SnapshotError> {
        let mut i = 0;
        while i < chunk.len() && self.state != State::Stopped {
            i = self.step(chunk, i)?;
        }
        self.base += chunk.len() as u64;
        Ok(())
    }

    /// Whether the plan's part of the input has been read (more input is ignored).
    pub fn stopped(&self) -> bool {
        self.state == State::Stopped
    }

    /// Signal the end of input; returns the sink with everything it gathered.
    pub fn finish(mut self) -> Result<S, SnapshotError> {
        if self.state == State::Stopped {
            return Ok(self.sink);
        }
        if self.state != State::Done {
            let message = format!("unexpected end of input: {}", self.expectation());
            return Err(SnapshotError::new(SnapshotErrorKind::Truncated, self.base, message));
        }
        for (section, name) in [(Section::Nodes, "nodes"), (Section::Edges, "edges"), (Section::Strings, "strings")] {
            if !self.seen[section as usize] {
                return Err(self.error_here(0, format!("the snapshot has no \"{name}\" array")));
            }
        }
        let strings = self.string_index;
        let offset = self.base;
        self.sink.on_end(strings).map_err(|m| inconsistent(offset, m))?;
        Ok(self.sink)
    }

    pub(super) fn error_here(&self, pos: usize, message: impl Into<String>) -> SnapshotError {
        SnapshotError::at(self.base + pos as u64, message)
    }

    fn expectation(&self) -> String {
        match self.state {
            State::Start => "expected '{' starting a heap snapshot".into(),
            State::Key { .. } | State::InKey => "expected a key of the snapshot object".into(),
            State::Colon => "expected ':' after a key".into(),
            State::Value(_) | State::Skip(_) => "expected the rest of a value".into(),
            State::Numbers => format!("expected a number, ',' or ']' in the \"{}\" array", self.section_name()),
            State::StringsGap { .. } | State::InString => "expected the rest of the \"strings\" array".into(),
            State::AfterValue => "expected ',' or '}' after a value".into(),
            State::Done => "expected nothing more".into(),
            State::SkipNumbers => format!("expected the end of the \"{}\" array", self.section_name()),
            State::Stopped => "nothing".into(),
        }
    }

    pub(super) fn section_name(&self) -> &'static str {
        match self.section {
            Section::Nodes => "nodes",
            Section::Edges => "edges",
            Section::Strings => "strings",
            Section::Header => "snapshot",
            Section::Other => "other",
        }
    }

    pub(super) fn unexpected(&self, pos: usize, byte: u8) -> SnapshotError {
        let found = if byte.is_ascii_graphic() { format!("'{}'", byte as char) } else { format!("byte 0x{byte:02x}") };
        self.error_here(pos, format!("{}, found {found}", self.expectation()))
    }

    /// Process bytes from `i`; returns the next position to look at.
    fn step(&mut self, buf: &[u8], i: usize) -> Result<usize, SnapshotError> {
        match self.state {
            State::Numbers => return self.scan_numbers(buf, i),
            State::InString => return self.scan_string(buf, i),
            State::Skip(mode) => return self.skip_value(buf, i, mode),
            State::InKey => return self.scan_key(buf, i),
            State::SkipNumbers => return Ok(self.skip_numbers(buf, i)),
            _ => {}
        }
        let byte = buf[i];
        if is_space(byte) {
            return Ok(i + 1);
        }
        match (self.state, byte) {
            (State::Start, b'{') => self.state = State::Key { may_close: true },
            (State::Key { .. }, b'"') => {
                self.key.clear();
                self.state = State::InKey;
            }
            (State::Key { may_close: true }, b'}') => self.state = State::Done,
            (State::Colon, b':') => self.state = State::Value(self.section),
            (State::Value(section), _) => return self.begin_value(buf, i, section),
            (State::StringsGap { value_next: true, .. }, b'"') => {
                self.string_wanted = self.sink.wants_string(self.string_index);
                self.string.clear();
                self.escape = Escape::None;
                self.high_surrogate = None;
                self.state = State::InString;
            }
            (State::StringsGap { value_next: false, .. }, b',') => {
                self.state = State::StringsGap { value_next: true, may_close: false }
            }
            (State::StringsGap { may_close: true, .. }, b']') => self.state = State::AfterValue,
            (State::AfterValue, b',') => self.state = State::Key { may_close: false },
            (State::AfterValue, b'}') => self.state = State::Done,
            _ => return Err(self.unexpected(i, byte)),
        }
        Ok(i + 1)
    }

    fn scan_key(&mut self, buf: &[u8], i: usize) -> Result<usize, SnapshotError> {
        let rest = &buf[i..];
        match memchr::memchr(b'"', rest) {
            Some(n) => {
                self.key.extend_from_slice(&rest[..n]);
                // Same limit as below, so the outcome never depends on where chunks end.
                if self.key.len() > MAX_KEY {
                    return Err(self.error_here(i + n, "a key of the snapshot object is implausibly long"));
                }
                self.section = match self.key.as_slice() {
                    b"snapshot" => Section::Header,
                    b"nodes" => Section::Nodes,
                    b"edges" => Section::Edges,
                    b"strings" => Section::Strings,
                    _ => Section::Other,
                };
                if self.section != Section::Other {
                    if self.seen[self.section as usize] {
                        return Err(self.error_here(i + n, format!("duplicate \"{}\" key", self.section_name())));
                    }
                    self.seen[self.section as usize] = true;
                }
                self.state = State::Colon;
                Ok(i + n + 1)
            }
            None => {
                self.key.extend_from_slice(rest);
                if self.key.len() > MAX_KEY {
                    return Err(self.error_here(buf.len(), "a key of the snapshot object is implausibly long"));
                }
                Ok(buf.len())
            }
        }
    }

    fn begin_value(&mut self, buf: &[u8], i: usize, section: Section) -> Result<usize, SnapshotError> {
        let byte = buf[i];
        match section {
            Section::Header | Section::Other => {
                self.depth = 0;
                self.skip_in_string = false;
                self.skip_escaped = false;
                self.header.clear();
                self.state = State::Skip(SkipMode::Begin);
                Ok(i)
            }
            Section::Nodes | Section::Edges => {
                if byte != b'[' {
                    return Err(
                        self.error_here(i, format!("expected '[' starting the \"{}\" array", self.section_name()))
                    );
                }
                let Some(meta) = &self.meta else {
                    return Err(self.error_here(
                        i,
                        format!("the \"{}\" array comes before the \"snapshot\" header", self.section_name()),
                    ));
                };
                if section == Section::Edges && !self.seen[Section::Nodes as usize] {
                    return Err(self.error_here(i, "the \"edges\" array comes before the \"nodes\" array"));
                }
                self.width = if section == Section::Nodes { meta.node.width } else { meta.edge.width };
                self.filled = 0;
                self.number = 0;
                self.digits = 0;
                self.after_comma = false;
                self.number_ended = false;
                let skip = if section == Section::Nodes { self.plan.skip_nodes } else { self.plan.skip_edges };
                let start = self.base + i as u64 + 1;
                self.split_at = self.plan.edge_split.filter(|&split| section == Section::Edges && split > start);
                self.state = if skip { State::SkipNumbers } else { State::Numbers };
                Ok(i + 1)
            }
            Section::Strings => {
                if byte != b'[' {
                    return Err(self.error_here(i, "expected '[' starting the \"strings\" array"));
                }
                if self.meta.is_none() {
                    return Err(self.error_here(i, "the \"strings\" array comes before the \"snapshot\" header"));
                }
                // Sinks learn which strings they need from the nodes and edges (V8 writes
                // strings last); strings met first would be dropped and names lost.
                if !self.seen[Section::Nodes as usize] || !self.seen[Section::Edges as usize] {
                    return Err(
                        self.error_here(i, "the \"strings\" array comes before the \"nodes\" and \"edges\" arrays")
                    );
                }
                self.string_index = 0;
                self.state = State::StringsGap { value_next: true, may_close: true };
                Ok(i + 1)
            }
        }
    }

    /// Skip one JSON value of any shape; for the header, keep its bytes.
    fn skip_value(&mut self, buf: &[u8], mut i: usize, mode: SkipMode) -> Result<usize, SnapshotError> {
        let start = i;
        let capture = self.section == Section::Header;
        let mut mode = mode;
        while i < buf.len() {
            let byte = buf[i];
            match mode {
                SkipMode::Begin => match byte {
                    b'{' | b'[' => {
                        self.depth = 1;
                        mode = SkipMode::Nested;
                    }
                    b'"' => {
                        self.depth = 0;
                        self.skip_in_string = true;
                        mode = SkipMode::Nested;
                    }
                    b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => mode = SkipMode::Scalar,
                    _ => {
                        return Err(self.error_here(
                            i,
                            format!("expected a JSON value for \"{}\"", String::from_utf8_lossy(&self.key)),
                        ))
                    }
                },
                SkipMode::Scalar => {
                    if matches!(byte, b',' | b'}' | b']') || is_space(byte) {
                        return self.end_skip(buf, start, i, capture);
                    }
                }
                SkipMode::Nested => {
                    if self.skip_escaped {
                        // The byte after a backslash that ended the previous chunk.
                        self.skip_escaped = false;
                        i += 1;
                        continue;
                    }
                    if self.skip_in_string {
                        // Jump to the next quote or backslash.
                        match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                            None => {
                                i = buf.len();
                                continue;
                            }
                            Some(n) => i += n,
                        }
                        let byte = buf[i];
                        if byte == b'\\' {
                            // Skip the escaped character (it may lie in the next chunk).
                            if i + 1 < buf.len() {
                                i += 2;
                            } else {
                                self.skip_escaped = true;
                                i += 1;
                            }
                            continue;
                        }
                        self.skip_in_string = false;
                        if self.depth == 0 {
                            return self.end_skip(buf, start, i + 1, capture);
                        }
                    } else {
                        if !is_structural(byte) {
                            // Numbers, keys' colons, commas, white space: jump to the next
                            // quote or bracket (V8's "locations" array is megabytes of them).
                            i += find_structural(&buf[i..]).unwrap_or(buf.len() - i);
                            continue;
                        }
                        match byte {
                            b'"' => self.skip_in_string = true,
                            b'{' | b'[' => self.depth += 1,
                            b'}' | b']' => {
                                self.depth -= 1;
                                if self.depth == 0 {
                                    return self.end_skip(buf, start, i + 1, capture);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            i += 1;
        }
        if capture {
            self.keep_header(&buf[start..], buf.len())?;
        }
        self.state = State::Skip(mode);
        Ok(buf.len())
    }

    fn end_skip(&mut self, buf: &[u8], start: usize, end: usize, capture: bool) -> Result<usize, SnapshotError> {
        if capture {
            self.keep_header(&buf[start..end], end)?;
            let meta = Meta::parse(&self.header, self.base + end as u64)?;
            self.sink.on_meta(&meta, self.size_hint).map_err(|m| self.error_here(end, m))?;
            self.meta = Some(meta);
            self.header = Vec::new();
        }
        self.state = State::AfterValue;
        Ok(end)
    }

    fn keep_header(&mut self, bytes: &[u8], pos: usize) -> Result<(), SnapshotError> {
        self.header.extend_from_slice(bytes);
        if self.header.len() > MAX_HEADER {
            return Err(self.error_here(pos, "the \"snapshot\" header is implausibly large (over 1 MB)"));
        }
        Ok(())
    }
}

/// What a sink refuses is an inconsistency between parts of a well-formed snapshot.
#[cold]
pub(super) fn inconsistent(offset: u64, message: String) -> SnapshotError {
    SnapshotError::new(SnapshotErrorKind::Inconsistent, offset, message)
}

#[inline]
pub(super) fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\n' | b'\r' | b'\t')
}

#[inline]
pub(super) fn is_structural(byte: u8) -> bool {
    matches!(byte, b'"' | b'[' | b']' | b'{' | b'}')
}

/// Position of the first quote or bracket in `bytes`.
fn find_structural(bytes: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        simd::find_structural_sse2(bytes)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        bytes.iter().position(|&b| is_structural(b))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn find_structural_finds_the_first_quote_or_bracket() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..100 {
            for _ in 0..200 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        b"0123456789,\n :\"[]{}"[(x % 19) as usize]
                    })
                    .collect();
                let expected = bytes.iter().position(|&b| super::is_structural(b));
                assert_eq!(super::find_structural(&bytes), expected, "{bytes:?}");
            }
        }
    }
}
