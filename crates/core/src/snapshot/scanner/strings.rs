//! The `strings` array: each string's escapes decoded (`\uXXXX` as UTF-16 code units,
//! surrogate pairs joined, lone surrogates replaced with U+FFFD) into UTF-8, and handed to
//! the sink when it wants that string. A string may be split between chunks anywhere,
//! even inside an escape.

use super::parser::{inconsistent, State};
use super::{Parser, SnapshotSink};
use crate::snapshot::error::SnapshotError;

/// Escape decoding state inside a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Escape {
    None,
    /// After a backslash.
    Start,
    /// Inside `\uXXXX`: digits read so far and their value.
    Hex(u8, u32),
}

impl<S: SnapshotSink> Parser<S> {
    pub(super) fn scan_string(&mut self, buf: &[u8], mut i: usize) -> Result<usize, SnapshotError> {
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
