//! A push parser for `.heapsnapshot` JSON.
//!
//! Bytes arrive in chunks of any size (a file read in large blocks, or the chunks
//! `v8.getHeapSnapshot()` yields). The big integer arrays are scanned digit by digit
//! straight into fixed-width records handed to a [`SnapshotSink`]; strings are decoded
//! only when the sink wants them. No generic JSON tree is ever built for the arrays,
//! so memory is whatever the sink decides to keep.

use super::classes::ClassTable;
use super::error::{SnapshotError, SnapshotErrorKind};
use super::meta::{Meta, MAX_FIELDS};

/// Receives the contents of a snapshot as the parser meets them. A sink that refuses a
/// header returns the message of a [`SnapshotErrorKind::NotASnapshot`]; a record or the
/// end, of an [`SnapshotErrorKind::Inconsistent`]; the parser adds the byte offset.
/// What a sink does not override is ignored: edges, strings and the end; a sink that
/// names classes only hands over its [`ClassTable`], which then gets the strings it needs.
pub trait SnapshotSink {
    fn on_meta(&mut self, meta: &Meta, size_hint: Option<u64>) -> Result<(), String>;
    /// One node record, `meta.node.width` values.
    fn on_node(&mut self, record: &[u64]) -> Result<(), String>;
    /// One edge record, `meta.edge.width` values.
    fn on_edge(&mut self, _record: &[u64]) -> Result<(), String> {
        Ok(())
    }
    /// The table that names this sink's classes, once the header has been read.
    fn class_table(&mut self) -> Option<&mut ClassTable> {
        None
    }
    /// Whether string `index` should be decoded and passed to `on_string`.
    fn wants_string(&mut self, index: u32) -> bool {
        self.class_table().is_some_and(|table| table.wants_string(index))
    }
    /// A decoded string (UTF-8; lone surrogates become U+FFFD).
    fn on_string(&mut self, index: u32, value: &[u8]) -> Result<(), String> {
        if let Some(table) = self.class_table() {
            table.on_string(index, value);
        }
        Ok(())
    }
    /// The whole input has been read; `strings` is the number of strings.
    fn on_end(&mut self, _strings: u32) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Header,
    Nodes,
    Edges,
    Strings,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
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

/// Which parts of the input this parser reads. Two parsers over one file, one
/// skipping the edges and the other reading only them, split the work between two
/// cores; each array is fully parsed and checked by exactly one of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadPlan {
    pub skip_nodes: bool,
    pub skip_edges: bool,
    pub stop_after_edges: bool,
    /// A record boundary (the byte after a "\n," between two edge records) that splits
    /// the edges array between the two readers: the edge reader stops there, the other
    /// reader skips up to there and parses the rest. Ignored when it is not inside the
    /// edges array.
    pub edge_split: Option<u64>,
    /// How the number arrays are scanned (all kernels give identical results).
    pub kernel: Kernel,
}

/// How the nodes/edges arrays are scanned. Every kernel gives the same records and the
/// same errors at the same offsets; the scalar one is the reference the others are
/// tested against (`tests/fuzz.rs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kernel {
    /// The fastest one this CPU supports (checked at run time).
    #[default]
    Auto,
    /// Number by number, 8 digits at a time in a u64 (SWAR): the reference.
    Scalar,
    /// 64-byte windows as the SIMD kernels, classified by a plain byte loop: the
    /// window logic on any CPU, for tests.
    Portable,
    /// 64-byte windows classified with SSE2 (every x86-64 CPU).
    Sse2,
    /// 64-byte windows classified with AVX2 (used only when the CPU has it).
    Avx2,
    /// 64-byte windows classified and converted with AVX-512 (F, BW, VBMI, VBMI2): the
    /// numbers' positions are compressed into vectors and eight numbers at a time are
    /// permuted into 64-bit lanes and converted (used only when the CPU has all four).
    Avx512,
}

impl Kernel {
    /// Every kernel but `Auto` (tests compare them all; those the CPU lacks resolve to
    /// the best one it has).
    pub const ALL: [Kernel; 5] = [Kernel::Scalar, Kernel::Portable, Kernel::Sse2, Kernel::Avx2, Kernel::Avx512];

    /// The kernel that will really run: `Auto` resolved, SIMD kernels the CPU lacks
    /// replaced by the best one it has.
    pub fn resolve(self) -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::arch::is_x86_feature_detected!("avx2");
            let avx512 = simd::has_avx512();
            match self {
                Kernel::Auto | Kernel::Avx512 if avx512 => Kernel::Avx512,
                Kernel::Auto | Kernel::Avx512 | Kernel::Avx2 if avx2 => Kernel::Avx2,
                Kernel::Auto | Kernel::Avx512 | Kernel::Avx2 | Kernel::Sse2 => Kernel::Sse2,
                other => other,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        match self {
            Kernel::Auto | Kernel::Sse2 | Kernel::Avx2 | Kernel::Avx512 => Kernel::Scalar,
            other => other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SkipMode {
    /// Nothing seen yet.
    Begin,
    /// Inside an object/array (depth > 0), or a top-level string.
    Nested,
    /// A bare scalar (number, true, false, null) that ends at a delimiter.
    Scalar,
}

/// Escape decoding state inside a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// After a backslash.
    Start,
    /// Inside `\uXXXX`: digits read so far and their value.
    Hex(u8, u32),
}

pub struct Parser<S: SnapshotSink> {
    sink: S,
    plan: ReadPlan,
    /// Resolved `plan.kernel`.
    kernel: Kernel,
    size_hint: Option<u64>,
    /// Absolute offset of the first byte of the current chunk.
    base: u64,
    state: State,
    section: Section,
    seen: [bool; 4],
    key: Vec<u8>,
    header: Vec<u8>,
    meta: Option<Meta>,
    // Generic skipping.
    depth: u32,
    skip_in_string: bool,
    skip_escaped: bool,
    // Number arrays.
    record: [u64; MAX_FIELDS],
    filled: usize,
    width: usize,
    number: u64,
    digits: u32,
    /// A ',' was just seen: a number must come before ']'.
    after_comma: bool,
    /// A number was ended by white space: only ',' or ']' may follow.
    number_ended: bool,
    // Strings.
    /// In the edges array: where this reader stops (edge reader) or starts parsing (other).
    split_at: Option<u64>,
    string_index: u32,
    string_wanted: bool,
    string: Vec<u8>,
    escape: Escape,
    high_surrogate: Option<u32>,
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

    /// Whether the parser is skipping the nodes array (the edge reader's plan): the
    /// input up to that array's `]` may then be jumped over with [`Parser::jump_to`].
    pub fn skipping_nodes(&self) -> bool {
        self.state == State::SkipNumbers && self.section == Section::Nodes
    }

    /// Where the input may continue while the parser skips the part of the edges
    /// array that the edge reader parses (the main reader's plan): the split. The edge
    /// reader fails with [`SnapshotErrorKind::SplitMismatch`] if the array ends before
    /// it, so nothing jumped over goes unchecked.
    pub fn split_jump(&self) -> Option<u64> {
        match (self.state, self.section, self.split_at) {
            (State::SkipNumbers, Section::Edges, Some(split)) if split > self.base => Some(split),
            _ => None,
        }
    }

    /// The next chunk starts at absolute `offset`, not where the last one ended: at or
    /// before the nodes array's `]` while [`Parser::skipping_nodes`], or at
    /// [`Parser::split_jump`].
    pub fn jump_to(&mut self, offset: u64) {
        if self.skipping_nodes() && offset >= self.base {
            self.base = offset;
        } else if self.split_jump() == Some(offset) {
            self.base = offset;
            self.resume_at_split();
        }
    }

    /// Signal the end of input; returns the sink with everything it gathered.
    /// Whether the plan's part of the input has been read (more input is ignored).
    pub fn stopped(&self) -> bool {
        self.state == State::Stopped
    }

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

    fn error_here(&self, pos: usize, message: impl Into<String>) -> SnapshotError {
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

    fn section_name(&self) -> &'static str {
        match self.section {
            Section::Nodes => "nodes",
            Section::Edges => "edges",
            Section::Strings => "strings",
            Section::Header => "snapshot",
            Section::Other => "other",
        }
    }

    fn unexpected(&self, pos: usize, byte: u8) -> SnapshotError {
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

    /// Numbers of the nodes/edges arrays. The common case (a whole "123," in the chunk)
    /// runs in a tight loop over locals; anything else (white space, a number split
    /// between chunks, the closing bracket, errors) takes the careful byte-wise path.
    fn scan_numbers(&mut self, buf: &[u8], mut i: usize) -> Result<usize, SnapshotError> {
        loop {
            if self.digits == 0 && !self.number_ended {
                i = self.scan_number_run(buf, i)?;
            }
            if i >= buf.len() {
                return Ok(i);
            }
            let (next, closed) = self.scan_number_byte(buf, i)?;
            if closed || (self.split_at.is_some() && self.at_split(next)?) {
                return Ok(next);
            }
            i = next;
        }
    }

    /// The hot loop: complete numbers each followed by ',' (or V8's "\n,") go straight
    /// into the record; a full record goes to the sink. With a window kernel, 64 bytes
    /// at a time are classified first and every number they fully hold is taken from
    /// the masks; what a window cannot take (a bracket, white space, a number over 16
    /// digits, the end of the buffer, the split) is left to the number-by-number loop,
    /// which is the reference for what is accepted.
    #[inline(always)]
    fn scan_number_run(&mut self, buf: &[u8], i: usize) -> Result<usize, SnapshotError> {
        #[cfg(target_arch = "x86_64")]
        match self.kernel {
            // SAFETY: `Kernel::resolve` gives Avx512 only when the CPU has AVX-512 F, BW,
            // VBMI and VBMI2 (and BMI1, POPCNT).
            Kernel::Avx512 => return unsafe { self.scan_number_run_avx512(buf, i) },
            // SAFETY: `Kernel::resolve` gives Avx2 only when the CPU has AVX2.
            Kernel::Avx2 => return unsafe { self.scan_number_run_avx2(buf, i) },
            _ => {}
        }
        self.scan_number_run_with(buf, i, Compiled::Generic)
    }

    /// The hot loop compiled for AVX2, so that the window kernels inline into it.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn scan_number_run_avx2(&mut self, buf: &[u8], i: usize) -> Result<usize, SnapshotError> {
        self.scan_number_run_with(buf, i, Compiled::Avx2)
    }

    /// The hot loop compiled for AVX-512.
    ///
    /// # Safety
    /// The CPU must have what [`simd::has_avx512`] checks.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi1,popcnt")]
    unsafe fn scan_number_run_avx512(&mut self, buf: &[u8], i: usize) -> Result<usize, SnapshotError> {
        self.scan_number_run_with(buf, i, Compiled::Avx512)
    }

    /// `compiled`: which of the functions above this is inlined into.
    #[inline(always)]
    fn scan_number_run_with(&mut self, buf: &[u8], mut i: usize, compiled: Compiled) -> Result<usize, SnapshotError> {
        let len = buf.len();
        let width = self.width;
        let mut filled = self.filled;
        // The record being filled, with room for a window's numbers after it.
        let mut record = [0u64; PENDING];
        record[..MAX_FIELDS].copy_from_slice(&self.record);
        let mut consumed_any = false;
        // Where the edge reader must look at its split (past the buffer when there is none).
        let split_limit = match self.split_at {
            Some(split) if self.stops_at_split() => split.saturating_sub(self.base).min(len as u64) as usize,
            _ => usize::MAX,
        };
        let classify = classifier(self.kernel);
        loop {
            // A window reads up to 72 bytes from its start (the AVX2 kernel also the 15
            // before it: numbers are loaded back from their last digit), and must end
            // before the split.
            if let Some(classify) = classify.filter(|_| i >= 16 && i + WINDOW + 8 <= len && i + WINDOW <= split_limit) {
                #[cfg(target_arch = "x86_64")]
                let taken = match compiled {
                    // SAFETY: only in the AVX-512-compiled caller.
                    Compiled::Avx512 => unsafe { self.take_window_avx512(buf, i, &mut record, &mut filled)? },
                    Compiled::Avx2 => {
                        // SAFETY: only in the AVX2-compiled caller.
                        let masks = unsafe { simd::classify_avx2_window(buf, i) };
                        self.take_window_avx2(buf, i, masks, &mut record, &mut filled)?
                    }
                    Compiled::Generic => self.take_window(buf, i, classify(buf, i), &mut record, &mut filled)?,
                };
                #[cfg(not(target_arch = "x86_64"))]
                let taken = {
                    let _ = compiled;
                    self.take_window(buf, i, classify(buf, i), &mut record, &mut filled)?
                };
                if taken > 0 {
                    consumed_any = true;
                    i += taken;
                    continue;
                }
            }
            let start = i;
            let (mut value, mut digits) = swar_digits(buf, i);
            i += digits;
            if digits == 8 {
                // Longer than 8 digits (rare): finish byte by byte.
                while i < len {
                    let digit = buf[i].wrapping_sub(b'0');
                    if digit > 9 {
                        break;
                    }
                    value = value.wrapping_mul(10).wrapping_add(u64::from(digit));
                    i += 1;
                }
                digits = i - start;
            }
            let next = match buf.get(i) {
                _ if digits == 0 || digits > 19 => None,
                Some(b',') => Some(i + 1),
                Some(b'\n') if buf.get(i + 1) == Some(&b',') => Some(i + 2),
                _ => None,
            };
            let Some(next) = next else {
                i = start;
                break;
            };
            record[filled] = value;
            filled += 1;
            if filled == width {
                filled = 0;
                self.deliver(&record[..width], start)?;
            }
            consumed_any = true;
            i = next;
            if i >= split_limit {
                break;
            }
        }
        self.filled = filled;
        self.record.copy_from_slice(&record[..MAX_FIELDS]);
        if consumed_any {
            self.after_comma = true;
        }
        if i >= split_limit && self.at_split(i)? {
            return Ok(len);
        }
        Ok(i)
    }

    /// The numbers of one classified window starting at `at` (a number's first digit,
    /// or nothing is taken): every number that ends with ',' or "\n," before anything
    /// the fast path does not accept. Returns how many bytes were taken (0: none).
    #[inline(always)]
    fn take_window(
        &mut self,
        buf: &[u8],
        at: usize,
        masks: Masks,
        record: &mut [u64; PENDING],
        filled: &mut usize,
    ) -> Result<usize, SnapshotError> {
        let Some(mut commas) = accepted_commas(masks) else { return Ok(0) };
        let digit = masks.digit;
        let width = self.width;
        let mut start = 0u32;
        while let Some((first, digits)) = next_number(&mut commas, digit, &mut start) {
            let pos = at + first as usize;
            record[*filled] = parse_digits(buf, pos, digits as usize);
            *filled += 1;
            if *filled == width {
                *filled = 0;
                self.deliver(&record[..width], pos)?;
            }
        }
        Ok(start as usize)
    }

    /// [`Parser::take_window`] with AVX2: the numbers' last digits are located from the
    /// window's masks, and the values computed four at a time (see
    /// [`simd::values_avx2`]), then delivered as records (same records, same errors at the
    /// same offsets). Only called when the CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn take_window_avx2(
        &mut self,
        buf: &[u8],
        at: usize,
        masks: Masks,
        record: &mut [u64; PENDING],
        filled: &mut usize,
    ) -> Result<usize, SnapshotError> {
        let Some(numbers) = window_numbers(masks) else { return Ok(0) };
        let mut ends = [0u8; WINDOW_NUMBERS];
        let mut lasts = numbers.lasts;
        for end in ends.iter_mut().take(numbers.count) {
            *end = lasts.trailing_zeros() as u8;
            lasts &= lasts - 1;
        }
        let out = window_out(record, *filled);
        // SAFETY: this kernel is only selected when the CPU has AVX2; a window starts 16
        // bytes or more into `buf` and its numbers end inside it.
        unsafe { simd::values_avx2(buf, at, &ends, numbers.count, numbers.long, out) };
        // A number's first digit, found back from its last (only for an error's offset).
        let first_digit = |k: usize| {
            let mut first = at + ends[k] as usize;
            while first > at && buf[first - 1].is_ascii_digit() {
                first -= 1;
            }
            first
        };
        self.deliver_window(record, filled, numbers.count, first_digit)?;
        Ok(numbers.bytes)
    }

    /// [`Parser::take_window`] with AVX-512 (see [`simd::window_avx512`]).
    ///
    /// # Safety
    /// The CPU must have what [`simd::has_avx512`] checks.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn take_window_avx512(
        &mut self,
        buf: &[u8],
        at: usize,
        record: &mut [u64; PENDING],
        filled: &mut usize,
    ) -> Result<usize, SnapshotError> {
        let mut starts = [0u8; WINDOW];
        let out = window_out(record, *filled);
        // SAFETY: the caller's CPU has AVX-512; a window has 64 readable bytes from `at`.
        let (taken, count) = unsafe { simd::window_avx512(buf, at, out, &mut starts) };
        self.deliver_window(record, filled, count, |k| at + starts[k] as usize)?;
        Ok(taken)
    }

    /// After a SIMD window wrote its `count` values right after the `filled` ones of
    /// `record`: deliver every complete record from there, in order, and move what is left
    /// to the front. `first_digit(k)`: where number `k` of the window starts (an error's
    /// offset is the start of its record's last number, as on the other paths).
    #[inline(always)]
    fn deliver_window(
        &mut self,
        record: &mut [u64; PENDING],
        filled: &mut usize,
        count: usize,
        first_digit: impl Fn(usize) -> usize,
    ) -> Result<(), SnapshotError> {
        let width = self.width;
        let total = *filled + count;
        let mut first = 0;
        while first + width <= total {
            if let Err(message) = self.sink_record(&record[first..first + width]) {
                // The record's last number is number `first + width - 1 - filled` of the window.
                let pos = first_digit(first + width - 1 - *filled);
                return Err(inconsistent(self.base + pos as u64, message));
            }
            first += width;
        }
        for k in 0..total - first {
            record[k] = record[first + k];
        }
        *filled = total - first;
        Ok(())
    }

    /// One byte of the careful path. Returns the next position and whether `]` closed the array.
    fn scan_number_byte(&mut self, buf: &[u8], i: usize) -> Result<(usize, bool), SnapshotError> {
        let byte = buf[i];
        if byte.is_ascii_digit() {
            if self.number_ended {
                return Err(self.unexpected(i, byte));
            }
            if self.digits >= 19 {
                return Err(
                    self.error_here(i, format!("a number in the \"{}\" array is too large", self.section_name()))
                );
            }
            self.number = self.number * 10 + u64::from(byte - b'0');
            self.digits += 1;
        } else if byte == b',' {
            if self.digits > 0 {
                self.emit_number(i)?;
            } else if !self.number_ended {
                return Err(self.unexpected(i, byte));
            }
            self.number_ended = false;
            self.after_comma = true;
        } else if byte == b']' {
            if self.digits > 0 {
                self.emit_number(i)?;
            } else if self.after_comma {
                return Err(self.unexpected(i, byte));
            }
            if self.split_at.is_some() && self.stops_at_split() {
                // The other reader jumped to the split, past this `]`.
                return Err(SnapshotError::new(
                    SnapshotErrorKind::SplitMismatch,
                    self.base + i as u64,
                    "the edges array ends before the planned split",
                ));
            }
            if self.filled != 0 {
                return Err(self.error_here(
                    i,
                    format!(
                        "the \"{}\" array ends inside a record (its length is not a multiple of {} fields)",
                        self.section_name(),
                        self.width
                    ),
                ));
            }
            self.close_numbers();
            return Ok((i + 1, true));
        } else if is_space(byte) {
            if self.digits > 0 {
                self.emit_number(i)?;
                self.number_ended = true;
            }
        } else {
            return Err(self.unexpected(i, byte));
        }
        Ok((i + 1, false))
    }

    /// Skip an array the other reader parses. Number arrays hold no ']' but their own;
    /// with a split, parsing resumes at the split (if the array has not ended before it).
    fn skip_numbers(&mut self, buf: &[u8], i: usize) -> usize {
        let end = match self.split_at {
            Some(split) => buf.len().min(split.saturating_sub(self.base) as usize).max(i),
            None => buf.len(),
        };
        if let Some(n) = memchr::memchr(b']', &buf[i..end]) {
            self.split_at = None;
            self.close_numbers();
            return i + n + 1;
        }
        if end < buf.len() || self.split_at == Some(self.base + buf.len() as u64) {
            self.resume_at_split();
        }
        end
    }

    /// At the split: right after a "\n," so a number comes next.
    fn resume_at_split(&mut self) {
        self.split_at = None;
        self.filled = 0;
        self.digits = 0;
        self.number_ended = false;
        self.after_comma = true;
        self.state = State::Numbers;
    }

    /// The edge reader at its split: it must be exactly between two records.
    #[inline]
    fn at_split(&mut self, pos: usize) -> Result<bool, SnapshotError> {
        let Some(split) = self.split_at else { return Ok(false) };
        if !self.stops_at_split() {
            return Ok(false);
        }
        let here = self.base + pos as u64;
        if here < split {
            return Ok(false);
        }
        if here == split && self.filled == 0 && self.digits == 0 {
            self.state = State::Stopped;
            return Ok(true);
        }
        // A file not laid out the way V8 writes it: the caller reads it again without a split.
        Err(SnapshotError::new(
            SnapshotErrorKind::SplitMismatch,
            self.base + pos as u64,
            "the planned split of the edges array is not between two records",
        ))
    }

    /// Only the edge reader (which stops after the edges) stops at the split.
    fn stops_at_split(&self) -> bool {
        self.plan.stop_after_edges && self.section == Section::Edges
    }

    fn close_numbers(&mut self) {
        let stop = self.plan.stop_after_edges && self.section == Section::Edges;
        self.state = if stop { State::Stopped } else { State::AfterValue };
    }

    #[inline(always)]
    fn deliver(&mut self, record: &[u64], pos: usize) -> Result<(), SnapshotError> {
        self.sink_record(record).map_err(|m| inconsistent(self.base + pos as u64, m))
    }

    /// A record of the current array to the sink.
    #[inline(always)]
    fn sink_record(&mut self, record: &[u64]) -> Result<(), String> {
        if self.section == Section::Nodes {
            self.sink.on_node(record)
        } else {
            self.sink.on_edge(record)
        }
    }

    fn emit_number(&mut self, pos: usize) -> Result<(), SnapshotError> {
        self.record[self.filled] = self.number;
        self.filled += 1;
        self.number = 0;
        self.digits = 0;
        self.after_comma = false;
        if self.filled == self.width {
            self.filled = 0;
            let record = self.record;
            self.deliver(&record[..self.width], pos)?;
        }
        Ok(())
    }

    fn scan_string(&mut self, buf: &[u8], mut i: usize) -> Result<usize, SnapshotError> {
        while i < buf.len() {
            if self.escape != Escape::None {
                i = self.scan_escape(buf, i)?;
                continue;
            }
            let rest = &buf[i..];
            let Some(n) = memchr::memchr2(b'"', b'\\', rest) else {
                self.take_plain(rest);
                return Ok(buf.len());
            };
            self.take_plain(&rest[..n]);
            i += n;
            if buf[i] == b'"' {
                self.flush_surrogate();
                if self.string_wanted {
                    let offset = self.base + i as u64;
                    self.sink.on_string(self.string_index, &self.string).map_err(|m| inconsistent(offset, m))?;
                }
                self.string_index =
                    self.string_index.checked_add(1).ok_or_else(|| self.error_here(i, "too many strings"))?;
                self.state = State::StringsGap { value_next: false, may_close: true };
                return Ok(i + 1);
            }
            self.escape = Escape::Start;
            i += 1;
        }
        Ok(i)
    }

    fn take_plain(&mut self, bytes: &[u8]) {
        if self.string_wanted && !bytes.is_empty() {
            self.flush_surrogate();
            self.string.extend_from_slice(bytes);
        }
    }

    fn scan_escape(&mut self, buf: &[u8], i: usize) -> Result<usize, SnapshotError> {
        let byte = buf[i];
        match self.escape {
            Escape::Start => {
                let decoded = match byte {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => 0x08,
                    b'f' => 0x0c,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'u' => {
                        self.escape = Escape::Hex(0, 0);
                        return Ok(i + 1);
                    }
                    _ => return Err(self.error_here(i, "expected a valid escape sequence in a string")),
                };
                self.take_plain(&[decoded]);
                self.escape = Escape::None;
            }
            Escape::Hex(count, value) => {
                let digit = (byte as char)
                    .to_digit(16)
                    .ok_or_else(|| self.error_here(i, "expected 4 hex digits after \\u in a string"))?;
                let value = value * 16 + digit;
                if count == 3 {
                    self.escape = Escape::None;
                    self.take_code_unit(value);
                } else {
                    self.escape = Escape::Hex(count + 1, value);
                }
            }
            Escape::None => {}
        }
        Ok(i + 1)
    }

    /// UTF-16 code unit from `\uXXXX`: pair surrogates, replace lone ones with U+FFFD.
    fn take_code_unit(&mut self, unit: u32) {
        if !self.string_wanted {
            return;
        }
        match unit {
            0xD800..=0xDBFF => {
                self.flush_surrogate();
                self.high_surrogate = Some(unit);
            }
            0xDC00..=0xDFFF => match self.high_surrogate.take() {
                Some(high) => self.push_char(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)),
                None => self.push_char(0xFFFD),
            },
            _ => {
                self.flush_surrogate();
                self.push_char(unit);
            }
        }
    }

    fn flush_surrogate(&mut self) {
        if self.high_surrogate.take().is_some() {
            self.push_char(0xFFFD);
        }
    }

    fn push_char(&mut self, code: u32) {
        let c = char::from_u32(code).unwrap_or('\u{FFFD}');
        let mut utf8 = [0u8; 4];
        self.string.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
}

/// What a sink refuses is an inconsistency between parts of a well-formed snapshot.
#[cold]
fn inconsistent(offset: u64, message: String) -> SnapshotError {
    SnapshotError::new(SnapshotErrorKind::Inconsistent, offset, message)
}

#[inline]
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\n' | b'\r' | b'\t')
}

/// Up to 8 leading ASCII digits of `buf[i..]` at once (SWAR): their value and count.
/// Near the end of the buffer (fewer than 8 bytes left) it falls back to a plain loop.
#[inline(always)]
fn swar_digits(buf: &[u8], i: usize) -> (u64, usize) {
    let Some(bytes) = buf.get(i..i + 8) else {
        let mut value = 0u64;
        let mut n = 0;
        while let Some(&b) = buf.get(i + n) {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            value = value * 10 + u64::from(digit);
            n += 1;
        }
        return (value, n);
    };
    let chunk = u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
    // A byte is a digit when its high nibble is 3 and adding 6 keeps it so.
    let high = chunk & 0xF0F0_F0F0_F0F0_F0F0;
    let carried = chunk.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0;
    let not_digit = (high ^ 0x3030_3030_3030_3030) | (carried ^ 0x3030_3030_3030_3030);
    // High bit of each byte that is not a digit.
    let flags =
        ((not_digit & 0x7F7F_7F7F_7F7F_7F7F).wrapping_add(0x7F7F_7F7F_7F7F_7F7F) | not_digit) & 0x8080_8080_8080_8080;
    let n = (flags.trailing_zeros() / 8) as usize;
    if n == 0 {
        return (0, 0);
    }
    (swar_value(chunk, n), n)
}

/// The value of the first `n` (1..=8) bytes of `chunk` (little-endian), all ASCII digits.
#[inline(always)]
fn swar_value(chunk: u64, n: usize) -> u64 {
    // Left-align the n digits (first digit most significant), zeros before them.
    let digits = chunk.wrapping_sub(0x3030_3030_3030_3030) << (8 * (8 - n));
    let pairs = (digits.wrapping_mul(10)).wrapping_add(digits >> 8);
    ((pairs & 0x0000_00FF_0000_00FF)
        .wrapping_mul(100 + (1_000_000 << 32))
        .wrapping_add(((pairs >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32))))
        >> 32
}

/// Most numbers a window can hold (a digit and a comma each).
const WINDOW_NUMBERS: usize = WINDOW / 2;

/// The slots after the `filled` values of a record where a SIMD window writes its values.
#[inline(always)]
fn window_out(record: &mut [u64; PENDING], filled: usize) -> &mut [u64; WINDOW_NUMBERS] {
    (&mut record[filled..filled + WINDOW_NUMBERS]).try_into().expect("PENDING has room for a window")
}

/// The numbers a SIMD window takes: those [`accepted_commas`] accepts, up to the first of
/// over 16 digits (the careful path takes it, as after [`next_number`] stops there).
#[derive(Debug, Clone, Copy)]
struct WindowNumbers {
    /// Bytes taken: up to and including the last number's comma.
    bytes: usize,
    count: usize,
    /// Bit k: byte k is a number's first digit; its last digit.
    firsts: u64,
    lasts: u64,
    /// Some number has 9 to 16 digits.
    long: bool,
}

#[inline(always)]
fn window_numbers(masks: Masks) -> Option<WindowNumbers> {
    let mut commas = accepted_commas(masks)?;
    let digit = masks.digit;
    // Runs of at least 2, 4, 8 and 17 digits (bit k: the run starting at k).
    let runs2 = digit & (digit >> 1);
    let runs4 = runs2 & (runs2 >> 2);
    let runs8 = runs4 & (runs4 >> 4);
    let runs17 = runs8 & (runs8 >> 8) & (digit >> 16);
    if runs17 != 0 {
        commas &= (1u64 << runs17.trailing_zeros()) - 1;
    }
    if commas == 0 {
        return None;
    }
    // The last accepted comma; bit 63 is never one (its follower is unknown).
    let last = 63 - commas.leading_zeros();
    let region = (1u64 << last) - 1;
    Some(WindowNumbers {
        bytes: last as usize + 1,
        count: commas.count_ones() as usize,
        firsts: digit & !(digit << 1) & region,
        lasts: digit & !(digit >> 1) & region,
        long: runs8 & (digit >> 8) & region != 0,
    })
}

/// The commas of a window that end numbers the fast path takes: digit runs, each
/// followed by "," or "\n," and the comma by a digit, up to the first byte that breaks
/// the pattern. A comma at bit 63 has an unknown follower and counts as breaking it.
/// `None` when the window does not start with a digit.
#[inline(always)]
fn accepted_commas(masks: Masks) -> Option<u64> {
    let Masks { digit, comma, newline } = masks;
    if digit & 1 == 0 {
        return None;
    }
    // Bit k of `bad` marks byte at + k.
    let other = !(digit | comma | newline);
    let comma_not_after_number = comma & !((digit | newline) << 1);
    let comma_not_before_digit = comma & !(digit >> 1);
    let newline_not_between = newline & (!(digit << 1) | !(comma >> 1));
    let bad = other | comma_not_after_number | comma_not_before_digit | newline_not_between;
    let first_bad = bad.trailing_zeros();
    let below = if first_bad == 64 { u64::MAX } else { (1u64 << first_bad) - 1 };
    Some(comma & below)
}

/// The next number of a window whose accepted `commas` are left: where it starts and its
/// digits, with `start` moved past its comma. `None` when no comma is left, or when the
/// number has more than 16 digits (`start` then stays at it: the window ends there).
#[inline(always)]
fn next_number(commas: &mut u64, digit: u64, start: &mut u32) -> Option<(u32, u32)> {
    if *commas == 0 {
        return None;
    }
    let first = *start;
    let digits = (!digit >> first).trailing_zeros();
    if digits > 16 {
        return None;
    }
    *start = commas.trailing_zeros() + 1;
    *commas &= *commas - 1;
    Some((first, digits))
}

/// The value of the `n` (1..=16) ASCII digits at `buf[at..]`; `buf` holds at least 16
/// bytes from `at` (a window guarantees it).
#[inline(always)]
fn parse_digits(buf: &[u8], at: usize, n: usize) -> u64 {
    let load = |from: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&buf[from..from + 8]);
        u64::from_le_bytes(bytes)
    };
    if n <= 8 {
        swar_value(load(at), n)
    } else {
        const POW10: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];
        swar_value(load(at), 8) * POW10[n - 8] + swar_value(load(at + 8), n - 8)
    }
}

#[inline]
fn is_structural(byte: u8) -> bool {
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

/// Bytes classified per window.
const WINDOW: usize = 64;

/// Values a scan keeps between records: a partial record plus a whole window's numbers.
const PENDING: usize = 64;

/// Which hot loop the scan is compiled into (constant-folded in each).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Compiled {
    Generic,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512,
}

/// Bit k of each mask describes byte `at + k` of a 64-byte window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masks {
    pub digit: u64,
    pub comma: u64,
    pub newline: u64,
}

/// Classifies `buf[at..at + 64]`; the caller guarantees the 64 bytes exist.
type Classify = fn(&[u8], usize) -> Masks;

fn classifier(kernel: Kernel) -> Option<Classify> {
    match kernel {
        Kernel::Auto | Kernel::Scalar => None,
        Kernel::Portable => Some(classify_portable),
        #[cfg(target_arch = "x86_64")]
        Kernel::Sse2 => Some(simd::classify_sse2),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => Some(simd::classify_avx2),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => Some(simd::classify_avx512),
        #[cfg(not(target_arch = "x86_64"))]
        Kernel::Sse2 | Kernel::Avx2 | Kernel::Avx512 => Some(classify_portable),
    }
}

/// The reference classification, one byte at a time.
pub fn classify_portable(buf: &[u8], at: usize) -> Masks {
    let mut masks = Masks { digit: 0, comma: 0, newline: 0 };
    for (k, &byte) in buf[at..at + WINDOW].iter().enumerate() {
        let bit = 1u64 << k;
        match byte {
            b'0'..=b'9' => masks.digit |= bit,
            b',' => masks.comma |= bit,
            b'\n' => masks.newline |= bit,
            _ => {}
        }
    }
    masks
}

/// Classification of the window kernels, public so that tests can compare them.
pub fn classify_with(kernel: Kernel, buf: &[u8], at: usize) -> Option<Masks> {
    let classify = classifier(kernel.resolve())?;
    (at.checked_add(WINDOW)? <= buf.len()).then(|| classify(buf, at))
}

#[cfg(target_arch = "x86_64")]
mod simd {
    //! `core::arch` classification of 64 bytes; the AVX2 one is only reached after
    //! `is_x86_feature_detected!("avx2")` (see `Kernel::resolve`).
    use super::{Masks, WindowNumbers, WINDOW, WINDOW_NUMBERS};
    use core::arch::x86_64::*;

    pub fn classify_sse2(buf: &[u8], at: usize) -> Masks {
        let window = &buf[at..at + WINDOW];
        // SAFETY: SSE2 is part of x86-64; the loads are unaligned and within `window`.
        unsafe {
            let zero = _mm_set1_epi8(b'0' as i8);
            let nine = _mm_set1_epi8(9);
            let comma = _mm_set1_epi8(b',' as i8);
            let newline = _mm_set1_epi8(b'\n' as i8);
            let mut masks = Masks { digit: 0, comma: 0, newline: 0 };
            for part in 0..4 {
                let bytes = _mm_loadu_si128(window.as_ptr().add(16 * part) as *const __m128i);
                let offset = _mm_sub_epi8(bytes, zero);
                let digit = _mm_cmpeq_epi8(_mm_min_epu8(offset, nine), offset);
                let shift = 16 * part as u32;
                masks.digit |= u64::from(_mm_movemask_epi8(digit) as u16) << shift;
                masks.comma |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, comma)) as u16) << shift;
                masks.newline |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, newline)) as u16) << shift;
            }
            masks
        }
    }

    /// Position of the first quote or bracket, 16 bytes at a time.
    pub fn find_structural_sse2(bytes: &[u8]) -> Option<usize> {
        let mut at = 0;
        // SAFETY: SSE2 is part of x86-64; each load reads bytes[at..at + 16].
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let open = _mm_set1_epi8(b'[' as i8);
            let close = _mm_set1_epi8(b']' as i8);
            let open_brace = _mm_set1_epi8(b'{' as i8);
            let close_brace = _mm_set1_epi8(b'}' as i8);
            while at + 16 <= bytes.len() {
                let chunk = _mm_loadu_si128(bytes.as_ptr().add(at) as *const __m128i);
                let hit = _mm_or_si128(
                    _mm_or_si128(_mm_cmpeq_epi8(chunk, quote), _mm_cmpeq_epi8(chunk, open)),
                    _mm_or_si128(
                        _mm_cmpeq_epi8(chunk, close),
                        _mm_or_si128(_mm_cmpeq_epi8(chunk, open_brace), _mm_cmpeq_epi8(chunk, close_brace)),
                    ),
                );
                let mask = _mm_movemask_epi8(hit) as u32;
                if mask != 0 {
                    return Some(at + mask.trailing_zeros() as usize);
                }
                at += 16;
            }
        }
        bytes[at..].iter().position(|&b| super::is_structural(b)).map(|n| at + n)
    }

    pub fn classify_avx2(buf: &[u8], at: usize) -> Masks {
        // SAFETY: only selected by `Kernel::resolve` when the CPU has AVX2.
        unsafe { classify_avx2_window(buf, at) }
    }

    /// # Safety
    /// The CPU must have AVX2.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub unsafe fn classify_avx2_window(buf: &[u8], at: usize) -> Masks {
        classify_avx2_inner(&buf[at..at + WINDOW])
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn classify_avx2_inner(window: &[u8]) -> Masks {
        let lo = _mm256_loadu_si256(window.as_ptr() as *const __m256i);
        let hi = _mm256_loadu_si256(window.as_ptr().add(32) as *const __m256i);
        let (digit_lo, comma_lo, newline_lo) = classify32(lo);
        let (digit_hi, comma_hi, newline_hi) = classify32(hi);
        let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
        Masks {
            digit: join(digit_lo, digit_hi),
            comma: join(comma_lo, comma_hi),
            newline: join(newline_lo, newline_hi),
        }
    }

    /// The values of the numbers whose last digits are at `at + ends[k]` for `k <
    /// count`, into `out` (what follows is garbage): four at a time, each 64-bit lane
    /// loads the eight bytes that end at its number's last digit and keeps the digits
    /// after the last non-digit among them. With `long` (a number of 9 to 16 digits), the
    /// eight bytes before those too, where all eight of the last were digits. A number's
    /// byte before its first digit is a non-digit (a window starts at a number).
    ///
    /// # Safety
    /// The CPU must have AVX2; `buf` holds 16 bytes before `at`; every end is below 64 and
    /// `buf` holds 64 bytes from `at`.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub unsafe fn values_avx2(
        buf: &[u8],
        at: usize,
        ends: &[u8; WINDOW_NUMBERS],
        count: usize,
        long: bool,
        out: &mut [u64; WINDOW_NUMBERS],
    ) {
        // Checked, not assumed: the loads below are unchecked (one compare a window).
        assert!(at >= 16 && at + WINDOW <= buf.len(), "an AVX2 window must have 16 bytes before it and 64 from it");
        let base = buf.as_ptr().add(at);
        // SAFETY (of each load): at + end - back >= at - 15 >= 0, and + 8 <= at + 64.
        let load = |k: usize, back: usize| (base.add(ends[k] as usize).sub(back) as *const i64).read_unaligned();
        for group in 0..count.div_ceil(4) {
            let k = 4 * group;
            let low = _mm256_set_epi64x(load(k + 3, 7), load(k + 2, 7), load(k + 1, 7), load(k, 7));
            let (mut values, partial) = trailing_digits(low);
            if long {
                let high = _mm256_set_epi64x(load(k + 3, 15), load(k + 2, 15), load(k + 1, 15), load(k, 15));
                // Only where the last eight bytes were all digits.
                let full = _mm256_cmpeq_epi64(partial, _mm256_setzero_si256());
                let high = _mm256_and_si256(trailing_digits(high).0, full);
                values = _mm256_add_epi64(_mm256_mul_epu32(high, _mm256_set1_epi64x(100_000_000)), values);
            }
            _mm256_storeu_si256(out.as_mut_ptr().add(k).cast(), values);
        }
    }

    /// Each lane's trailing digits (from its last byte back to the first non-digit) as a
    /// number, and the lanes' non-digit marks (zero where all eight bytes are digits).
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn trailing_digits(chunks: __m256i) -> (__m256i, __m256i) {
        let offset = _mm256_sub_epi8(chunks, _mm256_set1_epi8(b'0' as i8));
        let digit = _mm256_cmpeq_epi8(_mm256_min_epu8(offset, _mm256_set1_epi8(9)), offset);
        let not_digit = _mm256_xor_si256(digit, _mm256_set1_epi8(-1));
        // Bytes with a non-digit at or after them in their lane (a suffix OR).
        let mut stop = _mm256_or_si256(not_digit, _mm256_srli_epi64(not_digit, 8));
        stop = _mm256_or_si256(stop, _mm256_srli_epi64(stop, 16));
        stop = _mm256_or_si256(stop, _mm256_srli_epi64(stop, 32));
        let digits = _mm256_andnot_si256(stop, offset);
        // Bytes 10a + b, words 100ab + cd, each 32-bit half four digits: high * 10^4 + low.
        let pairs = _mm256_maddubs_epi16(digits, _mm256_set1_epi16(0x010A));
        let quads = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x0001_0064));
        let values =
            _mm256_add_epi64(_mm256_mul_epu32(quads, _mm256_set1_epi64x(10_000)), _mm256_srli_epi64(quads, 32));
        (values, not_digit)
    }

    /// Whether the CPU has what the AVX-512 kernel uses: F and BW (64-byte compares into
    /// masks), VBMI (byte permutes across the vector), VBMI2 (byte compress), and
    /// BMI1/POPCNT for the masks.
    pub fn has_avx512() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
            && std::arch::is_x86_feature_detected!("avx512vbmi2")
            && std::arch::is_x86_feature_detected!("bmi1")
            && std::arch::is_x86_feature_detected!("popcnt")
    }

    pub fn classify_avx512(buf: &[u8], at: usize) -> Masks {
        // SAFETY: only selected by `Kernel::resolve` when `has_avx512()`.
        unsafe { classify_avx512_window(&buf[at..at + WINDOW]).1 }
    }

    /// The window's bytes minus b'0', and its masks.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn classify_avx512_window(window: &[u8]) -> (__m512i, Masks) {
        let bytes = _mm512_loadu_si512(window.as_ptr().cast());
        let offset = _mm512_sub_epi8(bytes, _mm512_set1_epi8(b'0' as i8));
        let masks = Masks {
            digit: _mm512_cmple_epu8_mask(offset, _mm512_set1_epi8(9)),
            comma: _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8(b',' as i8)),
            newline: _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8(b'\n' as i8)),
        };
        (offset, masks)
    }

    /// Byte `8j + b` of each: lane `j` of group `g` takes number `8g + j`.
    const LANE_NUMBER: [[u8; 64]; 4] = {
        let mut table = [[0u8; 64]; 4];
        let mut g = 0;
        while g < 4 {
            let mut k = 0;
            while k < 64 {
                table[g][k] = (8 * g + k / 8) as u8;
                k += 1;
            }
            g += 1;
        }
        table
    };

    /// Byte `b` of a lane holds the digit `back - b` places before the number's last
    /// one: 7..0 for its last eight digits, 15..8 for the eight before.
    const fn back(last: u8) -> [u8; 64] {
        let mut table = [0u8; 64];
        let mut k = 0;
        while k < 64 {
            table[k] = last - (k % 8) as u8;
            k += 1;
        }
        table
    }
    const BACK_LOW: [u8; 64] = back(7);
    const BACK_HIGH: [u8; 64] = back(15);
    const IOTA: [u8; 64] = {
        let mut table = [0u8; 64];
        let mut k = 0;
        while k < 64 {
            table[k] = k as u8;
            k += 1;
        }
        table
    };

    /// The numbers of the 64-byte window at `buf[at..]` that the window path takes (the
    /// ones [`accepted_commas`](super::accepted_commas) accepts, up to the first over 16
    /// digits, as [`next_number`](super::next_number) stops there): their values in
    /// `out[..count]`, the offset of each one's first digit in the window in
    /// `starts[..count]`. Returns (bytes taken, count); (0, 0) when none is taken.
    ///
    /// How: the positions of the numbers' first and last digits are compressed into two
    /// vectors of bytes; for eight numbers at a time, each 8-byte lane gathers (a byte
    /// permute) the eight bytes that end at its number's last digit, zeroes those before
    /// its first digit, and the lane is converted as in `trailing_digits`. Numbers of 9 to 16
    /// digits take a second gather for the eight digits before those.
    ///
    /// # Safety
    /// The CPU must have what [`has_avx512`] checks; `buf` holds 64 bytes from `at`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi1,popcnt")]
    pub unsafe fn window_avx512(
        buf: &[u8],
        at: usize,
        out: &mut [u64; WINDOW_NUMBERS],
        starts: &mut [u8; WINDOW],
    ) -> (usize, usize) {
        let (offset, masks) = classify_avx512_window(&buf[at..at + WINDOW]);
        let Some(numbers) = super::window_numbers(masks) else { return (0, 0) };
        let WindowNumbers { bytes, count, firsts, lasts, long } = numbers;
        let iota = _mm512_loadu_si512(IOTA.as_ptr().cast());
        let first_at = _mm512_maskz_compress_epi8(firsts, iota);
        let last_at = _mm512_maskz_compress_epi8(lasts, iota);
        _mm512_storeu_si512(starts.as_mut_ptr().cast(), first_at);
        let back_low = _mm512_loadu_si512(BACK_LOW.as_ptr().cast());
        let back_high = _mm512_loadu_si512(BACK_HIGH.as_ptr().cast());
        for (group, lanes) in LANE_NUMBER.iter().enumerate().take(count.div_ceil(8)) {
            let lanes = _mm512_loadu_si512(lanes.as_ptr().cast());
            let ends = _mm512_permutexvar_epi8(lanes, last_at);
            let begins = _mm512_permutexvar_epi8(lanes, first_at);
            let mut values = gather(offset, ends, begins, back_low);
            if long {
                let high = gather(offset, ends, begins, back_high);
                values = _mm512_add_epi64(_mm512_mul_epu32(high, _mm512_set1_epi64(100_000_000)), values);
            }
            _mm512_storeu_si512(out.as_mut_ptr().add(8 * group).cast(), values);
        }
        (bytes, count)
    }

    /// The value of the eight digits of each lane that end `back` bytes before byte
    /// `ends` of the window, those before byte `begins` taken as zeros. (Indexes before
    /// the window are negative as signed bytes: before any start.)
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    unsafe fn gather(offset: __m512i, ends: __m512i, begins: __m512i, back: __m512i) -> __m512i {
        let from = _mm512_sub_epi8(ends, back);
        let digits = _mm512_maskz_permutexvar_epi8(_mm512_cmpge_epi8_mask(from, begins), from, offset);
        lanes_value(digits)
    }

    /// Each 64-bit lane's eight digit values (first byte most significant) as a number.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn lanes_value(digits: __m512i) -> __m512i {
        let pairs = _mm512_maddubs_epi16(digits, _mm512_set1_epi16(0x010A));
        let quads = _mm512_madd_epi16(pairs, _mm512_set1_epi32(0x0001_0064));
        _mm512_add_epi64(_mm512_mul_epu32(quads, _mm512_set1_epi64(10_000)), _mm512_srli_epi64(quads, 32))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn classify32(bytes: __m256i) -> (u32, u32, u32) {
        let offset = _mm256_sub_epi8(bytes, _mm256_set1_epi8(b'0' as i8));
        let digit = _mm256_cmpeq_epi8(_mm256_min_epu8(offset, _mm256_set1_epi8(9)), offset);
        let comma = _mm256_cmpeq_epi8(bytes, _mm256_set1_epi8(b',' as i8));
        let newline = _mm256_cmpeq_epi8(bytes, _mm256_set1_epi8(b'\n' as i8));
        (_mm256_movemask_epi8(digit) as u32, _mm256_movemask_epi8(comma) as u32, _mm256_movemask_epi8(newline) as u32)
    }
}

#[cfg(test)]
mod swar_tests {
    use super::swar_digits;

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

    #[test]
    fn swar_matches_plain_parsing() {
        let cases = [
            "0,",
            "7,",
            "12,",
            "123456,",
            "1234567,",
            "12345678",
            "123456789,",
            "98765432,1",
            "5\n,1",
            "0000001,",
            "x",
            ",1",
            "99999999",
        ];
        for case in cases {
            let padded = format!("{case}________");
            let digits: String = case.chars().take_while(|c| c.is_ascii_digit()).take(8).collect();
            let expected = (digits.parse::<u64>().unwrap_or(0), digits.len());
            assert_eq!(swar_digits(padded.as_bytes(), 0), expected, "{case}");
            assert_eq!(swar_digits(case.as_bytes(), 0), expected, "{case} unpadded");
        }
        // Bytes >= 0xFA after the digits must not disturb the count.
        assert_eq!(swar_digits(&[b'4', b'2', 0xFF, 0xFA, b'1', b'1', b'1', b'1'], 0), (42, 2));
    }
}
