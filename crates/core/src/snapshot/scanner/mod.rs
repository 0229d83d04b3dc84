//! A push parser for `.heapsnapshot` JSON.
//!
//! Bytes arrive in chunks of any size (a file read in large blocks, or the chunks
//! `v8.getHeapSnapshot()` yields). The big integer arrays are scanned digit by digit
//! straight into fixed-width records handed to a [`SnapshotSink`]; strings are decoded
//! only when the sink wants them. No generic JSON tree is ever built for the arrays,
//! so memory is whatever the sink decides to keep.
//!
//! This module holds what the rest of the crate (and its tests) use: the sink trait, the
//! read plan and kernel choice, and re-exports of [`Parser`] and the window classifiers.
//! The parser itself is split by concern, each part an `impl` block of [`Parser`] or the
//! free functions it calls:
//!
//! * `parser`: the state machine over the top-level object (keys, the `snapshot` header,
//!   values skipped), which hands each array to the parts below;
//! * `strings`: the `strings` array, escapes and UTF-16 surrogates decoded to UTF-8;
//! * `numbers`: the `nodes`/`edges` arrays: the hot loop (SWAR, 8 digits at a time), the
//!   careful byte-by-byte path that is the reference for what is accepted, records to the sink;
//! * `window`: 64-byte windows: the masks a kernel classifies, which numbers a window
//!   takes, and taking them into records;
//! * `simd` (x86-64 only): the SSE2, AVX2 and AVX-512 kernels (`core::arch`);
//! * `split`: the two-reader split (one reader skips what the other parses).

mod numbers;
mod parser;
#[cfg(target_arch = "x86_64")]
mod simd;
mod split;
mod strings;
mod window;

pub use parser::Parser;
pub use window::{classify_portable, classify_with, Masks};

use super::classes::ClassTable;
use super::meta::Meta;

/// Receives the contents of a snapshot as the parser meets them. A sink that refuses a
/// header returns the message of a
/// [`SnapshotErrorKind::NotASnapshot`](super::error::SnapshotErrorKind::NotASnapshot); a
/// record or the end, of an
/// [`SnapshotErrorKind::Inconsistent`](super::error::SnapshotErrorKind::Inconsistent); the
/// parser adds the byte offset.
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
    ///
    /// The SIMD kernels' unsafe code relies on this: `Avx2` only comes out when the CPU
    /// has AVX2, `Avx512` only when it has everything `simd::has_avx512` checks.
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
