//! Robust statistics on post-GC samples: a clean time series, the lower envelope (which
//! garbage alive at sample time cannot lift), bucket minima, and the Theil–Sen slope.

/// Theil–Sen is quadratic; beyond this many points an even subsample keeps each update cheap.
use super::is_amount;

const MAX_SLOPE_POINTS: usize = 128;
/// Hard bound on retained samples whatever the window, so memory stays bounded.
const MAX_RETAINED_POINTS: usize = 4096;

/// One baseline observation of one memory kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    pub t_ms: f64,
    pub value: f64,
    pub forced: bool,
}

/// Time-ordered points. Non-finite or negative points, and points older than the newest one
/// ever accepted, are dropped here, so everything downstream may assume clean, sorted input.
#[derive(Debug, Clone)]
pub(super) struct Series {
    pub points: Vec<Point>,
    newest_ms: f64,
}

impl Default for Series {
    fn default() -> Self {
        Self { points: Vec::new(), newest_ms: f64::NEG_INFINITY }
    }
}

impl Series {
    pub fn push(&mut self, point: Point) -> bool {
        let accepted = point.t_ms.is_finite() && point.t_ms >= self.newest_ms && is_amount(point.value);
        if accepted {
            self.newest_ms = point.t_ms;
            self.points.push(point);
        }
        accepted
    }

    /// Forgets points more than `window_ms` older than the newest (and any beyond the hard cap).
    pub fn keep_recent(&mut self, window_ms: f64) {
        let oldest_kept = self.newest_ms - window_ms;
        let stale = self.points.iter().take_while(|p| p.t_ms < oldest_kept).count();
        let excess = self.points.len().saturating_sub(MAX_RETAINED_POINTS);
        self.points.drain(..stale.max(excess));
    }

    /// Empties the series; `newest_ms` stays, so older points cannot sneak back in.
    pub fn clear(&mut self) {
        self.points.clear();
    }
}

/// Minimum of each of `N` equal time buckets of the points' span, or None if one is empty.
pub(super) fn bucket_minima<const N: usize>(points: &[Point]) -> Option<[f64; N]> {
    let first = points.first()?.t_ms;
    let span = points.last()?.t_ms - first;
    if span <= 0.0 {
        return None;
    }
    let mut minima = [f64::INFINITY; N];
    for point in points {
        // `as` saturates, and the last point (exactly N) belongs to the last bucket.
        let bucket = (((point.t_ms - first) / span * N as f64) as usize).min(N - 1);
        minima[bucket] = minima[bucket].min(point.value);
    }
    minima.iter().all(|m| m.is_finite()).then_some(minima)
}

/// Share of the envelope's rise that falls within the steepest third of the window (1 when it
/// does not rise). The envelope joins the points no later point undercuts with straight lines:
/// garbage alive at sample time cannot lift it, and the rise between two sparse true baselines
/// is spread over the time between them rather than dated at a noisy sample in between.
pub(super) fn steepest_third_share(points: &[Point]) -> f64 {
    let corners = envelope_corners(points);
    let (Some(low), Some(high)) = (corners.first(), corners.last()) else {
        return 1.0;
    };
    let rise = high.value - low.value;
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return 1.0;
    };
    let third_ms = (last.t_ms - first.t_ms) / 3.0;
    if !(rise > 0.0 && third_ms > 0.0) {
        return 1.0;
    }
    // The steepest stretch of a piecewise-linear curve starts or ends at a corner.
    let at = |t_ms| envelope_at(&corners, t_ms);
    let steepest = corners
        .iter()
        .map(|c| (at(c.t_ms + third_ms) - at(c.t_ms)).max(at(c.t_ms) - at(c.t_ms - third_ms)))
        .fold(0.0, f64::max);
    steepest / rise
}

/// Points not undercut by any later point, in time order (the suffix minima).
pub(super) fn envelope_corners(points: &[Point]) -> Vec<Point> {
    let mut lowest_later = f64::INFINITY;
    let mut corners: Vec<Point> = points
        .iter()
        .rev()
        .filter(|p| {
            let corner = p.value <= lowest_later;
            lowest_later = lowest_later.min(p.value);
            corner
        })
        .copied()
        .collect();
    corners.reverse();
    corners
}

/// The envelope at a time: linear between corners, flat beyond them.
pub(super) fn envelope_at(corners: &[Point], t_ms: f64) -> f64 {
    let next = corners.partition_point(|c| c.t_ms <= t_ms);
    match (next.checked_sub(1).and_then(|i| corners.get(i)), corners.get(next)) {
        (Some(a), Some(b)) => a.value + (b.value - a.value) * (t_ms - a.t_ms) / (b.t_ms - a.t_ms),
        (Some(only), None) | (None, Some(only)) => only.value,
        (None, None) => 0.0,
    }
}

/// Theil–Sen slope (median of pairwise slopes) in value units per second; 0 when undefined.
pub(crate) fn theil_sen_per_sec(points: &[Point]) -> f64 {
    let points = even_subsample(points, MAX_SLOPE_POINTS);
    let mut slopes = Vec::with_capacity(points.len() * points.len() / 2);
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            let dt_ms = b.t_ms - a.t_ms;
            if dt_ms > 0.0 {
                slopes.push((b.value - a.value) / dt_ms * 1000.0);
            }
        }
    }
    median(&mut slopes).unwrap_or(0.0)
}

/// At most `max` points (max >= 2), evenly spread and keeping both ends.
pub(super) fn even_subsample(points: &[Point], max: usize) -> Vec<Point> {
    if points.len() <= max {
        return points.to_vec();
    }
    (0..max).map(|i| points[i * (points.len() - 1) / (max - 1)]).collect()
}

pub(super) fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[mid]),
        _ => Some((values[mid - 1] + values[mid]) / 2.0),
    }
}
