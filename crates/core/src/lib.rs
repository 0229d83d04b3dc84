//! leakwatch's core: heap snapshot reading and analysis, the leak detector and plots.
//! Plain Rust, tested with `cargo test`; the napi crate at the repository root only
//! converts values and schedules work.

pub mod agent;
pub mod format;
pub mod metrics;
pub mod monitor;
pub mod plot;
pub mod pressure;
pub mod sampling;
pub mod snapshot;
pub mod survival;
