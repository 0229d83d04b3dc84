//! Allocation sites as they are shown and handed to JS: each frame with its file, location and
//! display name worked out, the naming frame's figures lifted to the site. The one definition
//! of these shapes (`AllocationSite` & co. in binding.d.ts, re-exported by index.d.ts).

use super::frames::{folded, Frame, FrameKind};
use super::offline::OfflineReport;
use super::state::{Ranking, Site};

/// One frame of an allocation stack. `line`/`column` are 1-based and locate the function's
/// definition (V8 does not record the allocating statement).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct AllocationFrame {
    pub function_name: String,
    pub url: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub kind: FrameKind,
    /// `file:line:column` ('' for engine frames).
    pub location: String,
}

impl From<&Frame> for AllocationFrame {
    fn from(f: &Frame) -> Self {
        AllocationFrame {
            function_name: f.display_name().to_string(),
            url: f.url.clone(),
            file: f.file(),
            line: f.line,
            column: f.column,
            kind: f.kind,
            location: f.location(),
        }
    }
}

/// An allocation site: a stack whose sampled allocations are still alive. Sizes are estimates
/// from V8's sampling heap profiler (each sample scaled to the bytes it stands for).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct AllocationSite {
    /// The function that names the site: the first app frame from the allocating end
    /// (functions V8 inlined appear as their caller).
    pub function_name: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub location: String,
    /// Estimated live bytes allocated by this stack.
    pub live_bytes: f64,
    /// Of those, allocated since the window began and alive a read period later.
    pub window_bytes: f64,
    /// Growth since the window began (or between two profiles).
    pub growth_bytes: f64,
    pub samples: u32,
    pub growing: bool,
    /// Allocating frame first, then callers; node:internal and node_modules frames kept.
    pub stack: Vec<AllocationFrame>,
    /// The stack for people: app frames one per line, other runs folded into one line.
    pub folded: Vec<String>,
}

impl From<&Site> for AllocationSite {
    fn from(site: &Site) -> Self {
        let head = &site.frames[site.headline];
        AllocationSite {
            function_name: head.display_name().to_string(),
            file: head.file(),
            line: head.line,
            column: head.column,
            location: head.location(),
            live_bytes: site.live_bytes,
            window_bytes: site.window_bytes,
            growth_bytes: site.growth_bytes,
            samples: site.samples,
            growing: site.growing,
            stack: site.frames.iter().map(AllocationFrame::from).collect(),
            folded: folded(&site.frames),
        }
    }
}

/// The sites at one read of the live sampler.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct SiteRanking {
    /// Time of the read (ms, performance.now() clock).
    pub at_ms: f64,
    pub window_start_ms: f64,
    pub reads: f64,
    pub sites: Vec<AllocationSite>,
}

impl From<Ranking> for SiteRanking {
    fn from(r: Ranking) -> Self {
        SiteRanking {
            at_ms: r.at_ms,
            window_start_ms: r.window_start_ms,
            reads: r.reads as f64,
            sites: r.sites.iter().map(AllocationSite::from).collect(),
        }
    }
}

/// The sites of one `.heapprofile` file, or what grew between two.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "napi", napi_derive::napi(object))]
pub struct ProfileSites {
    pub total_bytes: f64,
    pub samples: f64,
    pub sites: Vec<AllocationSite>,
}

impl From<OfflineReport> for ProfileSites {
    fn from(r: OfflineReport) -> Self {
        ProfileSites {
            total_bytes: r.total_bytes,
            samples: r.samples as f64,
            sites: r.sites.iter().map(AllocationSite::from).collect(),
        }
    }
}
