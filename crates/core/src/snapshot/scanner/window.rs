//! 64-byte windows of a number array: the masks a kernel classifies them into (digits,
//! commas, newlines), which numbers a window takes (those each followed by ',' or "\n,"
//! and a digit, up to the first byte that breaks the pattern or a number of over 16
//! digits), and taking them into records: from the masks (the portable and SSE2 kernels),
//! or with the AVX2 and AVX-512 kernels' vector conversion (`simd`).

use super::numbers::swar_value;
use super::parser::inconsistent;
#[cfg(target_arch = "x86_64")]
use super::simd;
use super::{Kernel, Parser, SnapshotSink};
use crate::snapshot::error::SnapshotError;

/// Bytes classified per window.
pub(super) const WINDOW: usize = 64;

/// Values a scan keeps between records: a partial record plus a whole window's numbers.
pub(super) const PENDING: usize = 64;

/// Most numbers a window can hold (a digit and a comma each).
pub(super) const WINDOW_NUMBERS: usize = WINDOW / 2;

/// Bit k of each mask describes byte `at + k` of a 64-byte window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masks {
    pub digit: u64,
    pub comma: u64,
    pub newline: u64,
}

/// Classifies `buf[at..at + 64]`; the caller guarantees the 64 bytes exist (every
/// classifier slices its window with a bounds check: a shorter `buf` panics).
type Classify = fn(&[u8], usize) -> Masks;

/// The classifier of a window kernel; `None` for the scalar one.
///
/// # Safety
/// `kernel` must be resolved ([`Kernel::resolve`]): the AVX2 and AVX-512 classifiers
/// returned for `Kernel::Avx2` and `Kernel::Avx512` are safe functions that assume the
/// CPU has those instructions, which only `resolve` checks.
pub(super) unsafe fn classifier(kernel: Kernel) -> Option<Classify> {
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
    // SAFETY: the kernel is resolved right here.
    let classify = unsafe { classifier(kernel.resolve()) }?;
    (at.checked_add(WINDOW)? <= buf.len()).then(|| classify(buf, at))
}

impl<S: SnapshotSink> Parser<S> {
    /// The numbers of one classified window starting at `at` (a number's first digit,
    /// or nothing is taken): every number that ends with ',' or "\n," before anything
    /// the fast path does not accept. Returns how many bytes were taken (0: none).
    #[inline(always)]
    pub(super) fn take_window(
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
    /// same offsets). `buf` must hold the 16 bytes before `at` and the 64 from it (checked:
    /// `values_avx2` asserts it).
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    pub(super) unsafe fn take_window_avx2(
        &mut self,
        buf: &[u8],
        at: usize,
        masks: Masks,
        record: &mut [u64; PENDING],
        filled: &mut usize,
    ) -> Result<usize, SnapshotError> {
        let Some(numbers) = window_numbers(masks) else { return Ok(0) };
        // Every number taken has its last digit in `lasts`, below the last comma taken.
        debug_assert_eq!(numbers.lasts.count_ones() as usize, numbers.count);
        let mut ends = [0u8; WINDOW_NUMBERS];
        let mut lasts = numbers.lasts;
        for end in ends.iter_mut().take(numbers.count) {
            *end = lasts.trailing_zeros() as u8;
            lasts &= lasts - 1;
        }
        let out = window_out(record, *filled);
        // SAFETY: the CPU has AVX2 (this function's precondition). Every entry of `ends` is
        // below 64: the first `count` are bit positions of `lasts` (one set bit each, all
        // below the last comma taken, itself below bit 63), the others are 0. The bounds of
        // `buf` around `at` are asserted by `values_avx2` itself.
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
    pub(super) unsafe fn take_window_avx512(
        &mut self,
        buf: &[u8],
        at: usize,
        record: &mut [u64; PENDING],
        filled: &mut usize,
    ) -> Result<usize, SnapshotError> {
        let mut starts = [0u8; WINDOW];
        let out = window_out(record, *filled);
        // SAFETY: the CPU has what `simd::has_avx512` checks (this function's precondition),
        // the only precondition of `window_avx512` (it slices its window with a bounds check).
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
}

/// The slots after the `filled` values of a record where a SIMD window writes its values.
#[inline(always)]
fn window_out(record: &mut [u64; PENDING], filled: usize) -> &mut [u64; WINDOW_NUMBERS] {
    (&mut record[filled..filled + WINDOW_NUMBERS]).try_into().expect("PENDING has room for a window")
}

/// The numbers a SIMD window takes: those [`accepted_commas`] accepts, up to the first of
/// over 16 digits (the careful path takes it, as after [`next_number`] stops there).
#[derive(Debug, Clone, Copy)]
pub(super) struct WindowNumbers {
    /// Bytes taken: up to and including the last number's comma.
    pub(super) bytes: usize,
    pub(super) count: usize,
    /// Bit k: byte k is a number's first digit; its last digit.
    pub(super) firsts: u64,
    pub(super) lasts: u64,
    /// Some number has 9 to 16 digits.
    pub(super) long: bool,
}

#[inline(always)]
pub(super) fn window_numbers(masks: Masks) -> Option<WindowNumbers> {
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
pub(super) fn accepted_commas(masks: Masks) -> Option<u64> {
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
pub(super) fn next_number(commas: &mut u64, digit: u64, start: &mut u32) -> Option<(u32, u32)> {
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
