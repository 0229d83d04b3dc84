//! leakwatch's operating-system layer: plain Rust (no napi, no Node), tested with
//! `cargo test`. The napi crate at the repository root only converts values and calls in.
//!
//! - [`files`]: every file leakwatch writes (heap snapshots, `.heapprofile` files, reports,
//!   charts, pages) is complete or absent: written as an unnamed `O_TMPFILE` file (or a
//!   hidden, unpredictable, exclusively created 0600 name that is never followed through a
//!   link), checked for completeness by its [`files::FileKind`], synced, and only then
//!   given its name. A failed write leaves nothing behind, not even a descriptor.
//! - [`names`]: the one source of random file names.
//! - [`lock`]: the one-dump-at-a-time lock shared by every way a dump can start, and the
//!   registry of the partial file its holder is writing.
//! - [`signal`]: the dump signal caught on a thread of its own, and the libuv handle that
//!   keeps libuv from resetting the signal to its default action.

pub mod error;
pub mod files;
pub mod lock;
pub mod names;
pub mod signal;

pub use error::FileError;
pub use files::{FileKind, Written};
