//! Where things go on the chart: pure functions of sizes in pixels. Text widths are
//! measured by the caller (with the font) and passed in, so the layout is testable
//! without drawing anything.

use std::ops::Range;

pub const MARGIN: i32 = 12;
pub const Y_LABEL_AREA: i32 = 64;
pub const X_LABEL_AREA: i32 = 44;
pub const HEADER_TITLE: i32 = 30;
pub const HEADER_SUB: i32 = 20;
/// Height of one row of mark labels above the plot.
pub const MARK_ROW: i32 = 16;
pub const MAX_MARK_ROWS: usize = 3;
pub const LEGEND_ROW: i32 = 22;
/// A legend item: swatch, gap, text.
pub const SWATCH: i32 = 26;
pub const SWATCH_GAP: i32 = 6;
/// Between legend items.
pub const LEGEND_GAP: i32 = 22;
/// Mark labels keep this far from each other.
const LABEL_CLEARANCE: i32 = 6;
/// Between a mark's line and its label.
pub const LABEL_OFFSET: i32 = 3;

/// Pixel column of `x` when `range` spans the pixels `left..right`.
pub fn to_px(x: f64, range: &Range<f64>, left: i32, right: i32) -> i32 {
    let f = (x - range.start) / (range.end - range.start);
    left + (f * f64::from(right - left)).round() as i32
}

/// Legend items of the given widths in rows no wider than `avail` (an item wider than
/// that gets a row of its own): each row lists (item index, width).
pub fn legend_rows(widths: &[i32], avail: i32) -> Vec<Vec<(usize, i32)>> {
    let mut rows: Vec<Vec<(usize, i32)>> = vec![Vec::new()];
    let mut row_w = 0;
    for (i, &iw) in widths.iter().enumerate() {
        let needed = if row_w == 0 { iw } else { row_w + LEGEND_GAP + iw };
        if needed > avail && row_w > 0 {
            rows.push(Vec::new());
            row_w = iw;
        } else {
            row_w = needed;
        }
        if let Some(row) = rows.last_mut() {
            row.push((i, iw));
        }
    }
    rows
}

/// Left edge of a legend row centred in `width`.
pub fn row_start(row: &[(usize, i32)], width: i32) -> i32 {
    let total: i32 = row.iter().map(|(_, iw)| iw).sum::<i32>() + LEGEND_GAP * (row.len() as i32 - 1).max(0);
    (width - total) / 2
}

/// Where one mark label goes: its row above the plot (0 nearest), and whether it
/// sits left of its line (near the right edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSlot {
    pub row: usize,
    pub right_aligned: bool,
}

/// Labels of width `text_w` at columns `x_px`, in order: each in the first of `rows`
/// rows where it keeps clear of the labels placed before it; flipped left of its line
/// when it would pass `right_edge`; `None` when no row has room (the line is still drawn).
pub fn place_labels(labels: &[(i32, i32)], right_edge: i32, rows: usize) -> Vec<Option<LabelSlot>> {
    let mut occupied: Vec<Vec<(i32, i32)>> = vec![Vec::new(); rows];
    labels
        .iter()
        .map(|&(x_px, text_w)| {
            let right_aligned = x_px + LABEL_OFFSET + text_w > right_edge;
            let (a, b) =
                if right_aligned { (x_px - LABEL_OFFSET - text_w, x_px) } else { (x_px, x_px + LABEL_OFFSET + text_w) };
            let row = occupied.iter().position(|taken| {
                taken.iter().all(|&(oa, ob)| b + LABEL_CLEARANCE <= oa || a >= ob + LABEL_CLEARANCE)
            })?;
            occupied[row].push((a, b));
            Some(LabelSlot { row, right_aligned })
        })
        .collect()
}

/// Rows of mark labels in use: the height of the band above the plot is this × MARK_ROW.
pub fn label_rows_used(slots: &[Option<LabelSlot>]) -> i32 {
    slots.iter().flatten().map(|s| s.row as i32 + 1).max().unwrap_or(0)
}

/// `text` cut with an ellipsis so that its `width` fits `max_w` pixels.
pub fn fit_text(text: &str, max_w: i32, width: impl Fn(&str) -> i32) -> String {
    if width(text) <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    (1..chars.len())
        .rev()
        .map(|n| chars[..n].iter().chain(std::iter::once(&'…')).collect::<String>())
        .find(|cut| width(cut) <= max_w)
        .unwrap_or_else(|| "…".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_maps_linearly_onto_the_plot() {
        assert_eq!(to_px(0.0, &(0.0..10.0), 100, 200), 100);
        assert_eq!(to_px(10.0, &(0.0..10.0), 100, 200), 200);
        assert_eq!(to_px(2.5, &(-5.0..5.0), 0, 100), 75);
    }

    #[test]
    fn legend_wraps_when_a_row_is_full() {
        assert_eq!(legend_rows(&[100, 100], 1000), vec![vec![(0, 100), (1, 100)]]);
        // 100 + 22 + 100 = 222 > 200: the second item starts a row.
        assert_eq!(legend_rows(&[100, 100, 50], 200), vec![vec![(0, 100)], vec![(1, 100), (2, 50)]]);
        // Too wide on its own: still placed, alone.
        assert_eq!(legend_rows(&[500, 10], 200), vec![vec![(0, 500)], vec![(1, 10)]]);
    }

    #[test]
    fn legend_rows_are_centred() {
        assert_eq!(row_start(&[(0, 100)], 300), 100);
        assert_eq!(row_start(&[(0, 100), (1, 78)], 400), 100);
    }

    #[test]
    fn labels_that_would_overlap_go_to_the_next_row() {
        let slots = place_labels(&[(100, 50), (120, 50), (300, 50)], 1000, 3);
        assert_eq!(
            slots,
            vec![
                Some(LabelSlot { row: 0, right_aligned: false }),
                Some(LabelSlot { row: 1, right_aligned: false }),
                Some(LabelSlot { row: 0, right_aligned: false }),
            ]
        );
        assert_eq!(label_rows_used(&slots), 2);
    }

    #[test]
    fn labels_flip_left_at_the_right_edge_and_are_dropped_without_room() {
        assert_eq!(place_labels(&[(980, 50)], 1000, 1), vec![Some(LabelSlot { row: 0, right_aligned: true })]);
        let crowded = place_labels(&[(100, 50), (101, 50), (102, 50)], 1000, 2);
        assert_eq!(crowded[2], None);
        assert_eq!(label_rows_used(&crowded), 2);
        assert_eq!(label_rows_used(&[]), 0);
    }

    #[test]
    fn text_is_cut_with_an_ellipsis_to_fit() {
        let width = |t: &str| t.chars().count() as i32 * 10;
        assert_eq!(fit_text("short", 100, width), "short");
        assert_eq!(fit_text("a longer title", 60, width), "a lon…");
        assert_eq!(fit_text("abc", 5, width), "…");
    }
}
