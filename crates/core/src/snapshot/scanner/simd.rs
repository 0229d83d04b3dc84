//! The x86-64 kernels, with `core::arch`: SSE2 classification of a 64-byte window and
//! the search for the next quote or bracket (SSE2 is part of x86-64); AVX2 classification
//! and conversion of a window's numbers four at a time; AVX-512 classification and
//! conversion eight at a time.
//!
//! Safety: the AVX2 and AVX-512 code only runs after the CPU was found to have what it
//! uses: `Kernel::resolve` gives `Avx2` only after `is_x86_feature_detected!("avx2")`,
//! and `Avx512` only when [`has_avx512`]. The safe `classify_avx2` and `classify_avx512`
//! are only reachable through `window::classifier`, whose callers pass a resolved kernel.
//! Every unaligned load reads inside a 64-byte window, or (AVX2 conversion) inside the 16
//! bytes before it, which the caller checks exist (see each function's `# Safety`).

use super::parser::is_structural;
use super::window::{window_numbers, Masks, WindowNumbers, WINDOW, WINDOW_NUMBERS};
use core::arch::x86_64::*;

/// Classifies `buf[at..at + 64]` (a shorter `buf` panics: the slice is checked).
pub fn classify_sse2(buf: &[u8], at: usize) -> Masks {
    let window = &buf[at..at + WINDOW];
    // SAFETY: SSE2 is part of the x86-64 baseline, so the intrinsics exist on every CPU
    // this runs on. `window` is exactly 64 bytes (a checked slice) and part `0..4` reads
    // the unaligned 16 bytes `window[16 * part..16 * part + 16]`, at most up to byte 64.
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
    // SAFETY: SSE2 is part of the x86-64 baseline. Each (unaligned) load reads
    // `bytes[at..at + 16]`, and the loop only runs while `at + 16 <= bytes.len()`; the
    // tail of fewer than 16 bytes is searched by the safe loop after the block.
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
    bytes[at..].iter().position(|&b| is_structural(b)).map(|n| at + n)
}

/// Classifies `buf[at..at + 64]` with AVX2 (a shorter `buf` panics: the slice is checked).
/// Only `window::classifier(Kernel::Avx2)` hands it out, and only resolved kernels reach
/// `classifier`: `Kernel::resolve` gives `Avx2` only when the CPU has AVX2.
pub fn classify_avx2(buf: &[u8], at: usize) -> Masks {
    // SAFETY: the CPU has AVX2, the only precondition of `classify_avx2_window`: this
    // function is only reached through `classifier(Kernel::Avx2)` (see above).
    unsafe { classify_avx2_window(buf, at) }
}

/// Classifies `buf[at..at + 64]` (a shorter `buf` panics: the slice is checked).
///
/// # Safety
/// The CPU must have AVX2.
#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn classify_avx2_window(buf: &[u8], at: usize) -> Masks {
    classify_avx2_inner(window_at(buf, at))
}

/// `buf[at..at + 64]` as an array: the bound of the unchecked 64-byte loads, in the type.
#[inline(always)]
fn window_at(buf: &[u8], at: usize) -> &[u8; WINDOW] {
    buf[at..at + WINDOW].try_into().expect("a window is 64 bytes")
}

#[inline]
#[target_feature(enable = "avx2")]
fn classify_avx2_inner(window: &[u8; WINDOW]) -> Masks {
    // SAFETY: AVX2 is enabled for this function. `window` is 64 bytes: the two unaligned
    // 32-byte loads read `window[0..32]` and `window[32..64]`.
    let (lo, hi) = unsafe {
        (
            _mm256_loadu_si256(window.as_ptr() as *const __m256i),
            _mm256_loadu_si256(window.as_ptr().add(32) as *const __m256i),
        )
    };
    let (digit_lo, comma_lo, newline_lo) = classify32(lo);
    let (digit_hi, comma_hi, newline_hi) = classify32(hi);
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Masks { digit: join(digit_lo, digit_hi), comma: join(comma_lo, comma_hi), newline: join(newline_lo, newline_hi) }
}

/// The values of the numbers whose last digits are at `at + ends[k]` for `k <
/// count`, into `out` (what follows is garbage): four at a time, each 64-bit lane
/// loads the eight bytes that end at its number's last digit and keeps the digits
/// after the last non-digit among them. With `long` (a number of 9 to 16 digits), the
/// eight bytes before those too, where all eight of the last were digits. A number's
/// byte before its first digit is a non-digit (a window starts at a number).
///
/// # Safety
/// The CPU must have AVX2, and every entry of `ends` (those past `count` too: the last
/// group of four loads them) must be below 64. (That `buf` holds the 16 bytes before `at`
/// and the 64 from it is checked: an assertion; `count` above 32 panics on `ends[k + 3]`
/// before anything is stored.)
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
    debug_assert!(ends.iter().all(|&end| usize::from(end) < WINDOW), "a number ends inside its window");
    // SAFETY: `at + 64 <= buf.len()` (asserted above), so `at` is in bounds of `buf`.
    let base = unsafe { buf.as_ptr().add(at) };
    // SAFETY: `ends[k] < 64` (this function's precondition) and `back` is 7 or 15, so the
    // eight bytes read start at `at + ends[k] - back >= at - 15 >= 1` (at >= 16, asserted)
    // and end at `at + ends[k] - back + 8 <= at + 64 <= buf.len()` (asserted): inside
    // `buf`. The read is unaligned.
    let load = |k: usize, back: usize| unsafe { (base.add(ends[k] as usize).sub(back) as *const i64).read_unaligned() };
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
        // SAFETY: AVX2 is enabled for this function. `ends[k + 3]` was indexed (checked)
        // above, so `k + 4 <= 32`: the unaligned 32-byte store writes `out[k..k + 4]`.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(k).cast(), values) };
    }
}

/// Each lane's trailing digits (from its last byte back to the first non-digit) as a
/// number, and the lanes' non-digit marks (zero where all eight bytes are digits).
#[inline]
#[target_feature(enable = "avx2")]
fn trailing_digits(chunks: __m256i) -> (__m256i, __m256i) {
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
    let values = _mm256_add_epi64(_mm256_mul_epu32(quads, _mm256_set1_epi64x(10_000)), _mm256_srli_epi64(quads, 32));
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

/// Classifies `buf[at..at + 64]` with AVX-512 (a shorter `buf` panics: the slice is
/// checked). Only `window::classifier(Kernel::Avx512)` hands it out, and only resolved
/// kernels reach `classifier`: `Kernel::resolve` gives `Avx512` only when [`has_avx512`].
pub fn classify_avx512(buf: &[u8], at: usize) -> Masks {
    // SAFETY: the CPU has AVX-512 F and BW, the only precondition of calling
    // `classify_avx512_window`: this function is only reached through
    // `classifier(Kernel::Avx512)` (see above), and `has_avx512` checks both.
    unsafe { classify_avx512_window(window_at(buf, at)).1 }
}

/// The window's bytes minus b'0', and its masks.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn classify_avx512_window(window: &[u8; WINDOW]) -> (__m512i, Masks) {
    // SAFETY: AVX-512 F is enabled for this function; `window` is 64 bytes, exactly what
    // the unaligned load reads.
    let bytes = unsafe { _mm512_loadu_si512(window.as_ptr().cast()) };
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
/// ones [`accepted_commas`](super::window::accepted_commas) accepts, up to the first over 16
/// digits, as [`next_number`](super::window::next_number) stops there): their values in
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
/// The CPU must have what [`has_avx512`] checks. (That `buf` holds 64 bytes from `at` is
/// checked: the window is sliced with a bounds check, a shorter `buf` panics.)
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi1,popcnt")]
pub unsafe fn window_avx512(
    buf: &[u8],
    at: usize,
    out: &mut [u64; WINDOW_NUMBERS],
    starts: &mut [u8; WINDOW],
) -> (usize, usize) {
    let (offset, masks) = classify_avx512_window(window_at(buf, at));
    let Some(numbers) = window_numbers(masks) else { return (0, 0) };
    let WindowNumbers { bytes, count, firsts, lasts, long } = numbers;
    // SAFETY: the tables are 64-byte arrays, exactly what each unaligned load reads.
    let (iota, back_low, back_high) = unsafe {
        (
            _mm512_loadu_si512(IOTA.as_ptr().cast()),
            _mm512_loadu_si512(BACK_LOW.as_ptr().cast()),
            _mm512_loadu_si512(BACK_HIGH.as_ptr().cast()),
        )
    };
    let first_at = _mm512_maskz_compress_epi8(firsts, iota);
    let last_at = _mm512_maskz_compress_epi8(lasts, iota);
    // SAFETY: `starts` is a 64-byte array, exactly what the unaligned store writes.
    unsafe { _mm512_storeu_si512(starts.as_mut_ptr().cast(), first_at) };
    for (group, lanes) in LANE_NUMBER.iter().enumerate().take(count.div_ceil(8)) {
        // SAFETY: each row of `LANE_NUMBER` is a 64-byte array, what the load reads.
        let lanes = unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) };
        let ends = _mm512_permutexvar_epi8(lanes, last_at);
        let begins = _mm512_permutexvar_epi8(lanes, first_at);
        let mut values = gather(offset, ends, begins, back_low);
        if long {
            let high = gather(offset, ends, begins, back_high);
            values = _mm512_add_epi64(_mm512_mul_epu32(high, _mm512_set1_epi64(100_000_000)), values);
        }
        // SAFETY: `group < 4` (`LANE_NUMBER` has four rows), so the unaligned 64-byte store
        // writes `out[8 * group..8 * group + 8]`, inside its 32 slots.
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().add(8 * group).cast(), values) };
    }
    (bytes, count)
}

/// The value of the eight digits of each lane that end `back` bytes before byte
/// `ends` of the window, those before byte `begins` taken as zeros. (Indexes before
/// the window are negative as signed bytes: before any start.)
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn gather(offset: __m512i, ends: __m512i, begins: __m512i, back: __m512i) -> __m512i {
    let from = _mm512_sub_epi8(ends, back);
    let digits = _mm512_maskz_permutexvar_epi8(_mm512_cmpge_epi8_mask(from, begins), from, offset);
    lanes_value(digits)
}

/// Each 64-bit lane's eight digit values (first byte most significant) as a number.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn lanes_value(digits: __m512i) -> __m512i {
    let pairs = _mm512_maddubs_epi16(digits, _mm512_set1_epi16(0x010A));
    let quads = _mm512_madd_epi16(pairs, _mm512_set1_epi32(0x0001_0064));
    _mm512_add_epi64(_mm512_mul_epu32(quads, _mm512_set1_epi64(10_000)), _mm512_srli_epi64(quads, 32))
}

/// Digit, comma and newline masks of 32 bytes.
#[inline]
#[target_feature(enable = "avx2")]
fn classify32(bytes: __m256i) -> (u32, u32, u32) {
    let offset = _mm256_sub_epi8(bytes, _mm256_set1_epi8(b'0' as i8));
    let digit = _mm256_cmpeq_epi8(_mm256_min_epu8(offset, _mm256_set1_epi8(9)), offset);
    let comma = _mm256_cmpeq_epi8(bytes, _mm256_set1_epi8(b',' as i8));
    let newline = _mm256_cmpeq_epi8(bytes, _mm256_set1_epi8(b'\n' as i8));
    (_mm256_movemask_epi8(digit) as u32, _mm256_movemask_epi8(comma) as u32, _mm256_movemask_epi8(newline) as u32)
}
