//! Call frames of allocation stacks: who owns each frame, and how a stack is shown.

use super::profile::CallFrame;

/// Who a frame belongs to. App code is what a person can fix; the rest is folded when
/// shown (kept in the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "napi", napi_derive::napi(string_enum = "lowercase"))]
pub enum FrameKind {
    /// The application's own code.
    App,
    /// Node's own JavaScript (`node:…` URLs).
    Internal,
    /// A dependency (a path through `node_modules`).
    Dependency,
    /// No script: the engine's pseudo-frames, `(V8 API)`, `(GC)`, `(program)`, ….
    Engine,
}

impl FrameKind {
    pub fn of(url: &str) -> FrameKind {
        if url.is_empty() {
            FrameKind::Engine
        } else if url.starts_with("node:") || url.starts_with("internal/") {
            FrameKind::Internal
        } else if url.contains("/node_modules/") || url.contains("\\node_modules\\") {
            FrameKind::Dependency
        } else {
            FrameKind::App
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FrameKind::App => "app",
            FrameKind::Internal => "internal",
            FrameKind::Dependency => "dependency",
            FrameKind::Engine => "engine",
        }
    }
}

/// One frame, with 1-based line and column of the function's definition (0 = unknown).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    pub function_name: String,
    pub url: String,
    pub line: u32,
    pub column: u32,
    pub kind: FrameKind,
}

impl Frame {
    pub fn from_call_frame(cf: &CallFrame) -> Frame {
        Frame {
            function_name: cf.function_name.clone(),
            url: cf.url.clone(),
            line: (cf.line_number + 1).clamp(0, u32::MAX as i64) as u32,
            column: (cf.column_number + 1).clamp(0, u32::MAX as i64) as u32,
            kind: FrameKind::of(&cf.url),
        }
    }

    /// The script as a path when it is a `file://` URL, else as given.
    pub fn file(&self) -> String {
        match self.url.strip_prefix("file://") {
            Some(path) => percent_decode(path),
            None => self.url.clone(),
        }
    }

    /// `file:line:column`, or the bare name for engine frames.
    pub fn location(&self) -> String {
        if self.url.is_empty() {
            return String::new();
        }
        format!("{}:{}:{}", self.file(), self.line, self.column)
    }

    /// The function's name as DevTools shows it (anonymous functions included).
    pub fn display_name(&self) -> &str {
        if self.function_name.is_empty() {
            "(anonymous)"
        } else {
            &self.function_name
        }
    }

    /// `name (file:line:column)`.
    pub fn describe(&self) -> String {
        let location = self.location();
        if location.is_empty() {
            self.display_name().to_string()
        } else {
            format!("{} ({location})", self.display_name())
        }
    }
}

/// `%20` and friends in file URLs; invalid escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The index of the frame that names a site: the first app frame from the allocating
/// end, else the allocating frame itself.
pub fn headline(frames: &[Frame]) -> usize {
    frames.iter().position(|f| f.kind == FrameKind::App).unwrap_or(0)
}

/// A stack for people, allocating frame first: app frames one per line, each run of
/// other frames folded into one line that says what it hides.
pub fn folded(frames: &[Frame]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut i = 0;
    while i < frames.len() {
        if frames[i].kind == FrameKind::App {
            lines.push(frames[i].describe());
            i += 1;
            continue;
        }
        let start = i;
        while i < frames.len() && frames[i].kind != FrameKind::App {
            i += 1;
        }
        if i - start == 1 {
            lines.push(frames[start].describe());
        } else {
            let mut kinds: Vec<&str> = Vec::new();
            for f in &frames[start..i] {
                let what = match f.kind {
                    FrameKind::Internal => "node:internal",
                    FrameKind::Dependency => "node_modules",
                    _ => "engine",
                };
                if !kinds.contains(&what) {
                    kinds.push(what);
                }
            }
            lines.push(format!(
                "… {} {} frames ({} … {})",
                i - start,
                kinds.join("/"),
                frames[start].display_name(),
                frames[i - 1].display_name()
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(name: &str, url: &str) -> Frame {
        Frame::from_call_frame(&CallFrame {
            function_name: name.into(),
            script_id: "1".into(),
            url: url.into(),
            line_number: 9,
            column_number: 2,
        })
    }

    #[test]
    fn kinds_and_locations() {
        assert_eq!(FrameKind::of("node:internal/streams/readable"), FrameKind::Internal);
        assert_eq!(FrameKind::of("/srv/app/node_modules/lru-cache/index.js"), FrameKind::Dependency);
        assert_eq!(FrameKind::of("file:///srv/app/server.mjs"), FrameKind::App);
        assert_eq!(FrameKind::of(""), FrameKind::Engine);
        let f = frame("leak", "file:///srv/my%20app/a.mjs");
        assert_eq!(f.location(), "/srv/my app/a.mjs:10:3");
    }

    #[test]
    fn app_frames_first_and_others_folded_but_kept() {
        let frames = vec![
            frame("from", "node:buffer"),
            frame("allocate", "node:buffer"),
            frame("remember", "/srv/app/cache.js"),
            frame("get", "/srv/app/node_modules/x/i.js"),
            frame("handle", "/srv/app/server.js"),
        ];
        assert_eq!(headline(&frames), 2);
        let lines = folded(&frames);
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("… 2 node:internal frames (from … allocate)"));
        assert_eq!(lines[1], "remember (/srv/app/cache.js:10:3)");
        assert!(lines[2].starts_with("get ("));
    }
}
