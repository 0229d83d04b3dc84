//! The `nodes` and `edges` arrays: numbers scanned straight into fixed-width records
//! handed to the sink. The hot loop takes whole numbers followed by ',' (8 digits at a
//! time in a u64, SWAR), or hands 64-byte windows to a window kernel (`window`); anything
//! else (white space, a number split between chunks, the closing bracket, errors) takes
//! the careful byte-by-byte path, which is the reference for what is accepted.

use super::parser::{inconsistent, is_space, Section};
#[cfg(target_arch = "x86_64")]
use super::simd;
use super::window::{classifier, PENDING, WINDOW};
#[cfg(target_arch = "x86_64")]
use super::Kernel;
use super::{Parser, SnapshotSink};
use crate::snapshot::error::{SnapshotError, SnapshotErrorKind};
use crate::snapshot::meta::MAX_FIELDS;

/// Which hot loop the scan is compiled into (constant-folded in each).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Compiled {
    Generic,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx2,
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    Avx512,
}

impl<S: SnapshotSink> Parser<S> {
    /// Numbers of the nodes/edges arrays. The common case (a whole "123," in the chunk)
    /// runs in a tight loop over locals; anything else (white space, a number split
    /// between chunks, the closing bracket, errors) takes the careful byte-wise path.
    pub(super) fn scan_numbers(&mut self, buf: &[u8], mut i: usize) -> Result<usize, SnapshotError> {
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
            // SAFETY: `self.kernel` is `plan.kernel.resolve()` (set once, in `with_plan`),
            // and `Kernel::resolve` gives Avx512 only when `simd::has_avx512()`: the CPU
            // has AVX-512 F, BW, VBMI and VBMI2, BMI1 and POPCNT.
            Kernel::Avx512 => return unsafe { self.scan_number_run_avx512(buf, i) },
            // SAFETY: `self.kernel` is resolved (as above), and `Kernel::resolve` gives
            // Avx2 only when `is_x86_feature_detected!("avx2")`.
            Kernel::Avx2 => return unsafe { self.scan_number_run_avx2(buf, i) },
            _ => {}
        }
        // SAFETY: `Compiled::Generic` needs no CPU feature.
        unsafe { self.scan_number_run_with(buf, i, Compiled::Generic) }
    }

    /// The hot loop compiled for AVX2, so that the window kernels inline into it.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn scan_number_run_avx2(&mut self, buf: &[u8], i: usize) -> Result<usize, SnapshotError> {
        // SAFETY: the CPU has AVX2 (this function's precondition), all `Compiled::Avx2` needs.
        unsafe { self.scan_number_run_with(buf, i, Compiled::Avx2) }
    }

    /// The hot loop compiled for AVX-512.
    ///
    /// # Safety
    /// The CPU must have what [`simd::has_avx512`] checks.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi1,popcnt")]
    unsafe fn scan_number_run_avx512(&mut self, buf: &[u8], i: usize) -> Result<usize, SnapshotError> {
        // SAFETY: the CPU has what `simd::has_avx512` checks (this function's
        // precondition), all `Compiled::Avx512` needs.
        unsafe { self.scan_number_run_with(buf, i, Compiled::Avx512) }
    }

    /// `compiled`: which of the functions above this is inlined into.
    ///
    /// # Safety
    /// The CPU must have what `compiled` is compiled for: AVX2 for `Compiled::Avx2`, what
    /// [`simd::has_avx512`] checks for `Compiled::Avx512` (nothing for `Compiled::Generic`).
    #[inline(always)]
    unsafe fn scan_number_run_with(
        &mut self,
        buf: &[u8],
        mut i: usize,
        compiled: Compiled,
    ) -> Result<usize, SnapshotError> {
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
        // SAFETY: `self.kernel` is resolved: set once, in `with_plan`, to `plan.kernel.resolve()`.
        let classify = unsafe { classifier(self.kernel) };
        loop {
            // A window reads up to 72 bytes from its start (the AVX2 kernel also the 15
            // before it: numbers are loaded back from their last digit), and must end
            // before the split.
            if let Some(classify) = classify.filter(|_| i >= 16 && i + WINDOW + 8 <= len && i + WINDOW <= split_limit) {
                #[cfg(target_arch = "x86_64")]
                let taken = match compiled {
                    // SAFETY: the CPU has what `simd::has_avx512` checks: `Compiled::Avx512`
                    // (this function's precondition).
                    Compiled::Avx512 => unsafe { self.take_window_avx512(buf, i, &mut record, &mut filled)? },
                    // SAFETY: the CPU has AVX2: `Compiled::Avx2` (this function's
                    // precondition). The window is `buf[i..i + 64]` with `i >= 16` and
                    // `i + 64 <= len` (the filter above), as `take_window_avx2` needs.
                    Compiled::Avx2 => unsafe {
                        let masks = simd::classify_avx2_window(buf, i);
                        self.take_window_avx2(buf, i, masks, &mut record, &mut filled)?
                    },
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

    #[inline(always)]
    pub(super) fn deliver(&mut self, record: &[u64], pos: usize) -> Result<(), SnapshotError> {
        self.sink_record(record).map_err(|m| inconsistent(self.base + pos as u64, m))
    }

    /// A record of the current array to the sink.
    #[inline(always)]
    pub(super) fn sink_record(&mut self, record: &[u64]) -> Result<(), String> {
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
pub(super) fn swar_value(chunk: u64, n: usize) -> u64 {
    // Left-align the n digits (first digit most significant), zeros before them.
    let digits = chunk.wrapping_sub(0x3030_3030_3030_3030) << (8 * (8 - n));
    let pairs = (digits.wrapping_mul(10)).wrapping_add(digits >> 8);
    ((pairs & 0x0000_00FF_0000_00FF)
        .wrapping_mul(100 + (1_000_000 << 32))
        .wrapping_add(((pairs >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32))))
        >> 32
}

#[cfg(test)]
mod tests {
    use super::swar_digits;

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
