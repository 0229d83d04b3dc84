//! The two-reader split: two parsers over one file share the work between two cores
//! ([`ReadPlan`](super::ReadPlan)). One skips the nodes array and parses the edges up to a
//! record boundary (the split), then stops; the other skips the edges up to the split and
//! parses the rest. Skipped arrays are jumped over (`]` found with memchr, or the reader
//! moves its offset), and each part is fully parsed and checked by exactly one reader: the
//! edge reader fails with [`SnapshotErrorKind::SplitMismatch`] when the split is not
//! between two records or the array ends before it.

use super::parser::{Section, State};
use super::{Parser, SnapshotSink};
use crate::snapshot::error::{SnapshotError, SnapshotErrorKind};

impl<S: SnapshotSink> Parser<S> {
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

    /// Skip an array the other reader parses. Number arrays hold no ']' but their own;
    /// with a split, parsing resumes at the split (if the array has not ended before it).
    pub(super) fn skip_numbers(&mut self, buf: &[u8], i: usize) -> usize {
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
    pub(super) fn at_split(&mut self, pos: usize) -> Result<bool, SnapshotError> {
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
    pub(super) fn stops_at_split(&self) -> bool {
        self.plan.stop_after_edges && self.section == Section::Edges
    }

    /// The `]` of a number array: the edge reader has read its part, the others go on.
    pub(super) fn close_numbers(&mut self) {
        let stop = self.plan.stop_after_edges && self.section == Section::Edges;
        self.state = if stop { State::Stopped } else { State::AfterValue };
    }
}
