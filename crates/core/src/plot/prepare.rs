//! The chart's data: the input cleaned up (sorted, non-finite values dropped) and
//! converted to seconds and MB, with the axis ranges and the header text.

use std::ops::Range;

use super::{PlotInput, PlotMark, PlotPoint};

const MB: f64 = 1024.0 * 1024.0;

/// Input cleaned up: sorted, non-finite values dropped, converted to s / MB.
pub(super) struct Prepared {
    pub(super) title: String,
    pub(super) subtitle: String,
    /// (s, MB, forced)
    pub(super) heap: Vec<(f64, f64, bool)>,
    pub(super) external: Vec<(f64, f64)>,
    /// contiguous runs of baseline values (a `None` or NaN breaks the line)
    pub(super) baseline: Vec<Vec<(f64, f64)>>,
    /// (s, label)
    pub(super) leaks: Vec<(f64, String)>,
    pub(super) snapshots: Vec<(f64, String)>,
    pub(super) x: Range<f64>,
    pub(super) y: Range<f64>,
    pub(super) has_samples: bool,
}

impl Prepared {
    pub(super) fn new(input: &PlotInput) -> Self {
        let mut pts: Vec<&PlotPoint> = input.points.iter().filter(|p| p.t_ms.is_finite()).collect();
        pts.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));

        // Sorted by time; a mark without a label gets `default(position)`.
        let fin_marks = |v: &[PlotMark], default: &dyn Fn(usize) -> String| -> Vec<(f64, String)> {
            let mut m: Vec<(f64, String)> =
                v.iter().filter(|m| m.t_ms.is_finite()).map(|m| (m.t_ms, clean_label(&m.label, 28))).collect();
            m.sort_by(|a, b| a.0.total_cmp(&b.0));
            for (i, (_, label)) in m.iter_mut().enumerate() {
                if label.is_empty() {
                    *label = default(i);
                }
            }
            m
        };
        let leaks_ms = fin_marks(&input.leaks, &|_| "leak".to_string());
        let snaps_ms = fin_marks(&input.snapshots, &|i| format!("S{}", i + 1));

        // time origin: first sample, else first mark
        let t0 = pts
            .first()
            .map(|p| p.t_ms)
            .or_else(|| leaks_ms.iter().chain(&snaps_ms).map(|m| m.0).min_by(|a, b| a.total_cmp(b)))
            .unwrap_or(0.0);
        let sec = |t_ms: f64| (t_ms - t0) / 1000.0;
        let mb = |b: f64| b / MB;

        let heap: Vec<(f64, f64, bool)> = pts
            .iter()
            .filter(|p| p.used_heap_size.is_finite())
            .map(|p| (sec(p.t_ms), mb(p.used_heap_size), p.forced.unwrap_or(false)))
            .collect();
        let external: Vec<(f64, f64)> =
            pts.iter().filter(|p| p.external.is_finite()).map(|p| (sec(p.t_ms), mb(p.external))).collect();
        let mut baseline: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut run: Vec<(f64, f64)> = Vec::new();
        for p in &pts {
            match p.baseline.filter(|b| b.is_finite()) {
                Some(b) => run.push((sec(p.t_ms), mb(b))),
                None => {
                    if !run.is_empty() {
                        baseline.push(std::mem::take(&mut run));
                    }
                }
            }
        }
        if !run.is_empty() {
            baseline.push(run);
        }
        let leaks: Vec<(f64, String)> = leaks_ms.into_iter().map(|(t, l)| (sec(t), l)).collect();
        let snapshots: Vec<(f64, String)> = snaps_ms.into_iter().map(|(t, l)| (sec(t), l)).collect();

        let has_samples = !heap.is_empty() || !external.is_empty();

        // x range: all samples and marks, padded a little on the right
        let xs = heap
            .iter()
            .map(|p| p.0)
            .chain(external.iter().map(|p| p.0))
            .chain(baseline.iter().flatten().map(|p| p.0))
            .chain(leaks.iter().map(|m| m.0))
            .chain(snapshots.iter().map(|m| m.0));
        let (mut x_lo, mut x_hi) = min_max(xs).unwrap_or((0.0, 0.0));
        x_lo = x_lo.min(0.0);
        let span = x_hi - x_lo;
        if span < 1e-9 {
            // one instant: centre it
            x_lo -= 1.0;
            x_hi += 1.0;
        } else {
            // a little room so end points and hollow markers are not cut by the axes
            x_hi += span * 0.03;
            if x_lo >= 0.0 {
                x_lo -= span * 0.01;
            }
        }

        // y range: 0 .. max * 1.1
        let ys =
            heap.iter().map(|p| p.1).chain(external.iter().map(|p| p.1)).chain(baseline.iter().flatten().map(|p| p.1));
        let (y_min, y_max) = min_max(ys).unwrap_or((0.0, 0.0));
        let y_lo = y_min.min(0.0);
        let y_hi = if y_max > y_lo { y_max + (y_max - y_lo) * 0.1 } else { y_lo + 1.0 };

        let subtitle = if heap.is_empty() {
            if has_samples {
                format!("{} samples, no heap values", external.len())
            } else {
                String::new()
            }
        } else {
            let (first, last) = (heap[0], heap[heap.len() - 1]);
            let forced = input.forced_count.map_or_else(|| heap.iter().filter(|p| p.2).count(), |n| n as usize);
            let samples = input.sample_count.map_or(heap.len(), |n| n as usize);
            let delta = last.1 - first.1;
            let mut s = format!(
                "{} full-GC sample{} over {} s · heap after GC {} → {} MB ({}{} MB)",
                samples,
                if samples == 1 { "" } else { "s" },
                fmt_num(last.0 - first.0),
                fmt_num(first.1),
                fmt_num(last.1),
                if delta >= 0.0 { "+" } else { "−" },
                fmt_num(delta.abs()),
            );
            if forced > 0 {
                s.push_str(&format!(" · {forced} forced"));
            }
            if !leaks.is_empty() {
                s.push_str(&format!(" · {} leak event(s)", leaks.len()));
            }
            s
        };

        let title = clean_label(&input.title, 120);
        Prepared {
            title: if title.is_empty() { "memory over time".into() } else { title },
            subtitle,
            heap,
            external,
            baseline,
            leaks,
            snapshots,
            x: x_lo..x_hi,
            y: y_lo..y_hi,
            has_samples,
        }
    }
}

fn min_max(it: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    it.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Control characters out, length capped (with an ellipsis).
fn clean_label(s: &str, max_chars: usize) -> String {
    let s: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let s = s.trim();
    if s.chars().count() > max_chars {
        let mut t: String = s.chars().take(max_chars.saturating_sub(1)).collect();
        t.push('…');
        t
    } else {
        s.to_string()
    }
}

/// Compact number: 3 significant-ish digits.
fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Tick label formatter whose precision depends on the axis span.
pub(super) fn tick_fmt(span: f64) -> impl Fn(&f64) -> String {
    let decimals = if span >= 20.0 {
        0
    } else if span >= 2.0 {
        1
    } else if span >= 0.2 {
        2
    } else {
        3
    };
    move |v: &f64| {
        let s = format!("{:.*}", decimals, v);
        // avoid "-0"
        if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
            s[1..].to_string()
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_lose_control_characters_and_excess_length() {
        assert_eq!(clean_label("  a\nb\tc  ", 10), "a b c");
        assert_eq!(clean_label("abcdefghij", 5), "abcd…");
        assert_eq!(clean_label("abcde", 5), "abcde");
    }

    #[test]
    fn numbers_keep_about_three_digits() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(0.12345), "0.123");
        assert_eq!(fmt_num(5.4321), "5.43");
        assert_eq!(fmt_num(54.321), "54.3");
        assert_eq!(fmt_num(543.21), "543");
    }

    #[test]
    fn tick_precision_follows_the_span_and_never_prints_minus_zero() {
        assert_eq!(tick_fmt(100.0)(&12.34), "12");
        assert_eq!(tick_fmt(5.0)(&12.34), "12.3");
        assert_eq!(tick_fmt(0.5)(&1.234), "1.23");
        assert_eq!(tick_fmt(0.05)(&1.2345), "1.234");
        assert_eq!(tick_fmt(100.0)(&-0.2), "0");
    }

    #[test]
    fn ranges_start_at_zero_and_leave_headroom() {
        let point = |t_ms: f64, mb: f64| PlotPoint {
            t_ms,
            used_heap_size: mb * MB,
            external: f64::NAN,
            baseline: None,
            forced: Some(false),
        };
        let input = PlotInput { points: vec![point(20_000.0, 30.0), point(10_000.0, 10.0)], ..PlotInput::default() };
        let d = Prepared::new(&input);
        assert_eq!(d.heap, vec![(0.0, 10.0, false), (10.0, 30.0, false)], "sorted, from the first sample, in MB");
        assert!(d.external.is_empty(), "non-finite values are dropped");
        assert_eq!(d.y.start, 0.0);
        assert!((d.y.end - 33.0).abs() < 1e-9, "10% above the highest value: {:?}", d.y);
        assert!(d.x.start < 0.0 && d.x.end > 10.0, "padded: {:?}", d.x);
        assert_eq!(d.title, "memory over time");
        assert!(d.subtitle.starts_with("2 full-GC samples over 10.0 s"), "{}", d.subtitle);
    }

    #[test]
    fn baseline_breaks_where_values_are_missing() {
        let point = |t_ms: f64, baseline: Option<f64>| PlotPoint {
            t_ms,
            used_heap_size: MB,
            external: 0.0,
            baseline,
            forced: Some(false),
        };
        let input = PlotInput {
            points: vec![point(0.0, Some(MB)), point(1000.0, Some(MB)), point(2000.0, None), point(3000.0, Some(MB))],
            ..PlotInput::default()
        };
        let runs: Vec<usize> = Prepared::new(&input).baseline.iter().map(Vec::len).collect();
        assert_eq!(runs, vec![2, 1]);
    }

    #[test]
    fn marks_are_sorted_and_unlabelled_ones_named() {
        let mark = |t_ms: f64, label: &str| PlotMark { t_ms, label: label.into() };
        let input = PlotInput {
            snapshots: vec![mark(3000.0, ""), mark(1000.0, "first"), mark(f64::NAN, "lost"), mark(2000.0, "")],
            leaks: vec![mark(500.0, " \n ")],
            ..PlotInput::default()
        };
        let d = Prepared::new(&input);
        let labels: Vec<&str> = d.snapshots.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, vec!["first", "S2", "S3"]);
        assert_eq!(d.leaks[0].1, "leak");
        assert_eq!(d.leaks[0].0, 0.0, "time counts from the first mark when there are no samples");
    }
}
