//! Where reading through a memory mapping is not built (not Linux: its SIGBUS handling is
//! only written and tested for Linux), files are always read with `read()`.

/// Never enabled here: files keep being read with `read()`.
pub fn enable() -> bool {
    false
}

pub fn enabled() -> bool {
    false
}

/// No mapping is ever made here ([`Mapping::new`] gives `None`).
pub enum Mapping {}

impl Mapping {
    pub fn new(_file: &std::fs::File, _len: u64) -> Option<Mapping> {
        None
    }

    pub fn bytes(&self) -> &[u8] {
        match *self {}
    }

    pub fn release(&self, _range: std::ops::Range<usize>) {
        match *self {}
    }

    pub fn shrunk(&self) -> bool {
        match *self {}
    }
}
