//! Sites from saved `.heapprofile` files: the live bytes per allocation stack of one
//! profile, or what grew between two profiles of one process.

use super::frames::{headline, Frame, FrameKind};
use super::profile::{HeapProfile, ProfileNode};
use super::state::site_key;
use super::state::Site;
use rustc_hash::FxHashMap;

/// Sites of one profile (or growth between two), largest first.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineReport {
    /// Estimated live bytes in the (newer) profile.
    pub total_bytes: f64,
    /// Live samples in the (newer) profile.
    pub samples: usize,
    pub sites: Vec<Site>,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    bytes: f64,
    samples: u32,
    /// Bytes of samples allocated after the older profile was read (two-file mode).
    newer: f64,
}

/// Per stack (allocating frame and `depth − 1` callers): live bytes from node sizes,
/// sample counts and bytes allocated after `after_ordinal` from the samples.
fn tally(profile: &HeapProfile, depth: usize, after_ordinal: Option<f64>) -> FxHashMap<Vec<Frame>, Tally> {
    let depth = depth.clamp(1, 128);
    let mut by_node: FxHashMap<u64, Vec<Frame>> = FxHashMap::default();
    let mut out: FxHashMap<Vec<Frame>, Tally> = FxHashMap::default();
    let mut path: Vec<Frame> = Vec::new();
    let mut pending: Vec<(&ProfileNode, usize)> = profile.head.children.iter().rev().map(|c| (c, 0)).collect();
    while let Some((node, level)) = pending.pop() {
        path.truncate(level);
        path.push(Frame::from_call_frame(&node.call_frame));
        let refs: Vec<&Frame> = path.iter().collect();
        let key: Vec<Frame> =
            site_key(&refs, depth, |f| f.kind == FrameKind::Engine).iter().map(|&f| f.clone()).collect();
        if node.self_size > 0.0 {
            out.entry(key.clone()).or_default().bytes += node.self_size;
        }
        by_node.insert(node.id, key);
        pending.extend(node.children.iter().rev().map(|c| (c, level + 1)));
    }
    for sample in &profile.samples {
        if let Some(key) = by_node.get(&sample.node_id) {
            let t = out.entry(key.clone()).or_default();
            t.samples += 1;
            if after_ordinal.is_some_and(|o| sample.ordinal > o) {
                t.newer += sample.size;
            }
        }
    }
    out
}

fn site(frames: Vec<Frame>, live: f64, window: f64, growth: f64, samples: u32, growing: bool) -> Site {
    Site {
        headline: headline(&frames),
        frames,
        live_bytes: live,
        window_bytes: window,
        growth_bytes: growth,
        samples,
        growing,
    }
}

fn finish(profile: &HeapProfile, mut sites: Vec<Site>, limit: usize, by_growth: bool) -> OfflineReport {
    sites.sort_by(|a, b| {
        let (x, y) = if by_growth { (a.growth_bytes, b.growth_bytes) } else { (a.live_bytes, b.live_bytes) };
        y.total_cmp(&x).then_with(|| a.frames[0].describe().cmp(&b.frames[0].describe()))
    });
    if limit > 0 {
        sites.truncate(limit);
    }
    OfflineReport { total_bytes: total(&profile.head), samples: profile.samples.len(), sites }
}

fn total(head: &ProfileNode) -> f64 {
    let mut sum = 0.0;
    let mut pending = vec![head];
    while let Some(node) = pending.pop() {
        sum += node.self_size;
        pending.extend(node.children.iter());
    }
    sum
}

/// Every stack with live bytes in one profile, largest first (at most `limit`, 0 = all).
pub fn rank_profile(profile: &HeapProfile, depth: usize, limit: usize) -> OfflineReport {
    let sites = tally(profile, depth, None)
        .into_iter()
        .filter(|(_, t)| t.bytes > 0.0)
        .map(|(frames, t)| site(frames, t.bytes, 0.0, 0.0, t.samples, false))
        .collect();
    finish(profile, sites, limit, false)
}

/// Stacks whose live bytes grew from `before` to `after` (two reads of one process's
/// profiler), most growth first. `window_bytes` is what `after` holds of allocations
/// made after `before` was read (by ordinal).
pub fn sites_that_grew(before: &HeapProfile, after: &HeapProfile, depth: usize, limit: usize) -> OfflineReport {
    let last_before = before.samples.iter().map(|s| s.ordinal).fold(f64::NEG_INFINITY, f64::max);
    let earlier = tally(before, depth, None);
    let sites = tally(after, depth, last_before.is_finite().then_some(last_before))
        .into_iter()
        .filter_map(|(frames, t)| {
            let growth = t.bytes - earlier.get(&frames).map_or(0.0, |e| e.bytes);
            (growth > 0.0).then(|| site(frames, t.bytes, t.newer, growth, t.samples, true))
        })
        .collect();
    finish(after, sites, limit, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::profile::parse_profile;

    fn profile(leak: f64, other: f64, samples: &str) -> HeapProfile {
        let text = format!(
            r#"{{"head":{{"callFrame":{{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1}},"selfSize":0,"id":1,"children":[
              {{"callFrame":{{"functionName":"main","scriptId":"3","url":"file:///app/main.js","lineNumber":0,"columnNumber":0}},"selfSize":0,"id":2,"children":[
                {{"callFrame":{{"functionName":"leak","scriptId":"3","url":"file:///app/main.js","lineNumber":11,"columnNumber":4}},"selfSize":{leak},"id":3,"children":[]}},
                {{"callFrame":{{"functionName":"other","scriptId":"3","url":"file:///app/main.js","lineNumber":20,"columnNumber":4}},"selfSize":{other},"id":4,"children":[]}}]}}]}},
              "samples":[{samples}]}}"#
        );
        parse_profile(text.as_bytes()).unwrap()
    }

    #[test]
    fn one_profile_ranks_by_live_bytes() {
        let p = profile(3000.0, 5000.0, r#"{"size":3000,"nodeId":3,"ordinal":1},{"size":5000,"nodeId":4,"ordinal":2}"#);
        let report = rank_profile(&p, 8, 0);
        assert_eq!(report.total_bytes, 8000.0);
        assert_eq!(report.sites[0].frames[0].function_name, "other");
        assert_eq!(report.sites[1].frames[0].location(), "/app/main.js:12:5");
        assert_eq!(report.sites[1].frames[1].function_name, "main");
    }

    #[test]
    fn two_profiles_give_the_sites_that_grew() {
        let a = profile(3000.0, 5000.0, r#"{"size":3000,"nodeId":3,"ordinal":1},{"size":5000,"nodeId":4,"ordinal":2}"#);
        let b = profile(
            9000.0,
            4000.0,
            r#"{"size":3000,"nodeId":3,"ordinal":1},{"size":6000,"nodeId":3,"ordinal":7},{"size":4000,"nodeId":4,"ordinal":8}"#,
        );
        let report = sites_that_grew(&a, &b, 8, 0);
        assert_eq!(report.sites.len(), 1);
        assert_eq!(report.sites[0].frames[0].function_name, "leak");
        assert_eq!(report.sites[0].growth_bytes, 6000.0);
        assert_eq!(report.sites[0].window_bytes, 6000.0);
    }
}
