//! The one source of random file names: hidden names next to a target that nobody can
//! predict (and so plant first).

use std::io::Read;
use std::path::{Path, PathBuf};

/// `n` random bytes as lowercase hex, from the kernel's generator.
pub fn random_hex(n: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; n];
    fill_random(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn fill_random(bytes: &mut [u8]) -> std::io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut done = 0;
        while done < bytes.len() {
            let rest = &mut bytes[done..];
            // SAFETY: getrandom(2) writes at most `rest.len()` bytes into `rest`, a valid,
            // writable buffer of that length.
            let got = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
            if got < 0 {
                let error = std::io::Error::last_os_error();
                if error.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // ENOSYS (an old kernel): the device below.
                return std::fs::File::open("/dev/urandom")?.read_exact(bytes);
            }
            done += got as usize;
        }
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        std::fs::File::open("/dev/urandom")?.read_exact(bytes)
    }
}

/// `.<name>.<16 random hex digits>.partial` next to `target`: where a file is written
/// before it gets its name.
pub fn hidden_partial(target: &Path) -> std::io::Result<PathBuf> {
    let base = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = target.parent().unwrap_or(Path::new("."));
    Ok(dir.join(format!(".{base}.{}.partial", random_hex(8)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_names_differ_and_are_hidden_next_to_the_target() {
        let a = hidden_partial(Path::new("/d/x.heapsnapshot")).unwrap();
        let b = hidden_partial(Path::new("/d/x.heapsnapshot")).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.parent(), Some(Path::new("/d")));
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".x.heapsnapshot.") && name.ends_with(".partial"), "{name}");
        assert_eq!(name.len(), ".x.heapsnapshot.".len() + 16 + ".partial".len());
        assert_eq!(random_hex(3).unwrap().len(), 6);
    }
}
