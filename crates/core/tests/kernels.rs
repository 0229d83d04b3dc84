//! Every number-scanning kernel reads back exactly the numbers a snapshot was written
//! with: random values of 1 to 19 digits (leading zeros too), between V8's separators
//! and the white space JSON allows, read whole and in random chunks. The truth is the
//! generated values, not another kernel.

mod common;

use common::{cuts_random, sample, Rng};
use leakwatch_core::snapshot::meta::Meta;
use leakwatch_core::snapshot::scanner::{classify_with, Kernel, Parser, ReadPlan, SnapshotSink};

/// Keeps every record as it arrives, unchecked.
#[derive(Default, Debug, PartialEq)]
struct Records {
    nodes: Vec<u64>,
    edges: Vec<u64>,
}

impl SnapshotSink for Records {
    fn on_meta(&mut self, _meta: &Meta, _size_hint: Option<u64>) -> Result<(), String> {
        Ok(())
    }
    fn on_node(&mut self, record: &[u64]) -> Result<(), String> {
        self.nodes.extend_from_slice(record);
        Ok(())
    }
    fn on_edge(&mut self, record: &[u64]) -> Result<(), String> {
        self.edges.extend_from_slice(record);
        Ok(())
    }
}

/// `count` random numbers as a JSON array body, and their values. `long` is the share
/// (in 1/16) of numbers with 9 to 19 digits; `spaced` of separators with white space.
fn numbers(rng: &mut Rng, count: usize, long: usize, spaced: usize) -> (String, Vec<u64>) {
    let mut text = String::new();
    let mut values = Vec::with_capacity(count);
    for k in 0..count {
        if k > 0 {
            let separator = if rng.range(0, 16) < spaced {
                [", ", " ,", ",\n", "\r\n,", "\n ,\n", ",\t"][rng.range(0, 6)]
            } else {
                [",", "\n,"][rng.range(0, 2)]
            };
            text.push_str(separator);
        }
        let digits = if rng.range(0, 16) < long { rng.range(9, 20) } else { rng.range(1, 9) };
        let leading_zeros = if rng.range(0, 32) == 0 { rng.range(1, digits + 1) } else { 0 };
        let mut number = String::new();
        for d in 0..digits {
            let first = d == 0 && leading_zeros == 0 && digits > 1;
            let digit = if d < leading_zeros {
                0
            } else if first {
                rng.range(1, 10)
            } else {
                rng.range(0, 10)
            };
            number.push(char::from(b'0' + digit as u8));
        }
        values.push(number.parse().expect("at most 19 digits fit a u64"));
        text.push_str(&number);
    }
    (text, values)
}

fn read(input: &[u8], kernel: Kernel, cuts: &[usize]) -> Records {
    let plan = ReadPlan { kernel, ..ReadPlan::default() };
    let mut parser = Parser::with_plan(Records::default(), None, plan);
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.min(input.len());
        if cut > start {
            parser.push(&input[start..cut]).expect("a valid snapshot");
            start = cut;
        }
    }
    parser.finish().expect("a valid snapshot")
}

#[test]
fn every_kernel_reads_back_the_numbers_written() {
    let header = sample(true).header();
    let mut rng = Rng::new(0x6b65_726e_656c);
    for round in 0..300 {
        // From all-short V8 layout to mostly long numbers with white space.
        let (long, spaced) = (round % 17, if round % 3 == 0 { 0 } else { rng.range(0, 6) });
        let (node_count, edge_count) = (7 * rng.range(0, 400), 3 * rng.range(0, 600));
        let (nodes, node_values) = numbers(&mut rng, node_count, long, spaced);
        let (edges, edge_values) = numbers(&mut rng, edge_count, long, spaced);
        let input =
            format!("{{\"snapshot\":{header},\n\"nodes\":[{nodes}],\n\"edges\":[{edges}],\n\"strings\":[\"a\"]}}")
                .into_bytes();
        let expected = Records { nodes: node_values, edges: edge_values };
        let max_chunk = 64 + rng.range(0, 2000);
        let cuts = cuts_random(input.len(), &mut rng, max_chunk);
        for kernel in Kernel::ALL.into_iter().chain([Kernel::Auto]) {
            assert_eq!(read(&input, kernel, &[]), expected, "{kernel:?}, round {round}, whole");
            assert_eq!(read(&input, kernel, &cuts), expected, "{kernel:?}, round {round}, chunked");
        }
    }
}

/// Windows at the edges of a buffer: edge arrays (lengths that are no multiple of 64 or
/// 32, some shorter than a window) that start at every offset of the first window of
/// their buffer (before, at and after the 16 bytes the AVX2 kernel reads back), read
/// whole, cut right at the array's end or just after its `]`, and fed in chunks shorter
/// than a window, of one, and just over one: every kernel reads back exactly the numbers.
#[test]
fn every_kernel_reads_windows_at_the_edges_of_a_buffer() {
    let header = sample(true).header();
    let mut rng = Rng::new(0x0065_6467_6573);
    for pad in 0..80 {
        let (long, records) = ((pad * 3) % 17, rng.range(0, 40));
        let (edges, edge_values) = numbers(&mut rng, 3 * records, long, 0);
        let prefix = format!("{{\"snapshot\":{header},\"nodes\":[],{}\"edges\":[", " ".repeat(pad));
        let input = format!("{prefix}{edges}],\"strings\":[\"a\"]}}").into_bytes();
        let expected = Records { nodes: Vec::new(), edges: edge_values };
        let (start, end) = (prefix.len(), prefix.len() + edges.len());
        for kernel in Kernel::ALL {
            let what = |how: &str| format!("{kernel:?}, pad {pad}, {} bytes, {how}", edges.len());
            assert_eq!(read(&input, kernel, &[]), expected, "{}", what("whole"));
            assert_eq!(read(&input, kernel, &[end]), expected, "{}", what("cut at the end"));
            assert_eq!(read(&input, kernel, &[end + 1]), expected, "{}", what("cut after ']'"));
            for lead in [0, 15, 16, 17] {
                for chunk in [1, 16, 31, 32, 33, 63, 64, 65, 72, 73] {
                    let cuts: Vec<usize> = (start - lead..end).step_by(chunk).chain([end]).collect();
                    assert_eq!(
                        read(&input, kernel, &cuts),
                        expected,
                        "{}",
                        what(&format!("chunks of {chunk} from {lead} before"))
                    );
                }
            }
        }
    }
}

/// A window is only classified where its 64 bytes exist: no kernel classifies past the
/// end of a buffer, or a buffer shorter than one window.
#[test]
fn no_kernel_classifies_past_the_end() {
    let digits = [b'7'; 130];
    for kernel in Kernel::ALL {
        for len in 0..digits.len() {
            for at in 0..=len {
                let masks = classify_with(kernel, &digits[..len], at);
                match kernel {
                    Kernel::Scalar => assert_eq!(masks, None),
                    _ if at + 64 <= len => assert_eq!(masks.map(|m| m.digit), Some(u64::MAX), "{kernel:?} {at} {len}"),
                    _ => assert_eq!(masks, None, "{kernel:?} at {at} of {len}"),
                }
            }
        }
        assert_eq!(classify_with(kernel, &digits, usize::MAX), None);
    }
}

#[test]
fn auto_picks_the_widest_kernel_the_cpu_has() {
    let resolved = Kernel::Auto.resolve();
    #[cfg(target_arch = "x86_64")]
    {
        let avx512 = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
            && std::arch::is_x86_feature_detected!("avx512vbmi2");
        let expected = if avx512 {
            Kernel::Avx512
        } else if std::arch::is_x86_feature_detected!("avx2") {
            Kernel::Avx2
        } else {
            Kernel::Sse2
        };
        assert_eq!(resolved, expected);
        // Asking for a kernel the CPU lacks gives the best one it has.
        assert_eq!(Kernel::Avx512.resolve(), expected);
    }
    #[cfg(not(target_arch = "x86_64"))]
    assert_eq!(resolved, Kernel::Scalar);
}
