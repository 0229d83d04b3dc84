//! Human-readable sizes, in memwatch's style ("1.78 mb", "12.30 kb", "512 bytes"): the
//! one size format of leakwatch. JS gets it as `humanSize` (the CLI, reports, charts,
//! error messages); Rust uses it for the HeapDiff shape and the leak reason.

const KB: f64 = 1024.0;
const MB: f64 = 1024.0 * 1024.0;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;

pub fn human_size(bytes: i128) -> String {
    let sign = if bytes < 0 { "-" } else { "" };
    let magnitude = bytes.unsigned_abs() as f64;
    if magnitude >= GB {
        format!("{sign}{:.2} gb", magnitude / GB)
    } else if magnitude > MB {
        format!("{sign}{:.2} mb", magnitude / MB)
    } else if magnitude > KB {
        format!("{sign}{:.2} kb", magnitude / KB)
    } else {
        format!("{sign}{} bytes", bytes.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_like_memwatch() {
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(1024), "1024 bytes");
        assert_eq!(human_size(12_595), "12.30 kb");
        assert_eq!(human_size(1_866_465), "1.78 mb");
        assert_eq!(human_size(-1_866_465), "-1.78 mb");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.00 gb");
    }
}
