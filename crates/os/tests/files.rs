//! The file protocol: complete or absent, 0600, never through a link, nothing left behind.

mod common;

use common::{mode, open_on, open_under, Scratch, SNAPSHOT};
use leakwatch_os::files::{self, FileKind, Partial, WriteError};
use leakwatch_os::FileError;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

fn no_writer_error(e: WriteError<std::io::Error>) -> FileError {
    match e {
        WriteError::File(error) => error,
        WriteError::Writer(error) => panic!("writer failed: {error}"),
    }
}

#[test]
fn an_atomic_write_is_0600_and_leaves_nothing_else() {
    let dir = Scratch::new("atomic");
    let target = dir.path("report.txt");
    let written = files::write_atomic(&target, b"hello\n", FileKind::Other).unwrap();
    assert_eq!(written.path, target);
    assert_eq!(written.bytes, 6);
    assert_eq!(std::fs::read(&target).unwrap(), b"hello\n");
    assert_eq!(mode(&target), 0o600);
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!((meta.dev(), meta.ino()), (written.dev, written.ino));
    assert_eq!(dir.names(), ["report.txt"]);
    assert!(open_under(&dir.0).is_empty());
}

#[test]
fn an_existing_file_is_replaced_and_a_symlink_is_replaced_not_followed() {
    let dir = Scratch::new("replace");
    let target = dir.path("chart.svg");
    std::fs::write(&target, "old").unwrap();
    files::write_atomic(&target, b"new", FileKind::Other).unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");

    let victim = dir.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    let link = dir.path("link.svg");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    files::write_atomic(&link, b"chart", FileKind::Other).unwrap();
    assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&link).unwrap(), "chart");
    assert_eq!(mode(&link), 0o600);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(dir.names(), ["chart.svg", "link.svg", "victim"]);
}

#[test]
fn a_relative_target_is_written_in_its_directory() {
    let dir = Scratch::new("relative");
    let previous = std::env::current_dir().unwrap();
    // Only this test changes the working directory; the others use absolute paths.
    std::env::set_current_dir(&dir.0).unwrap();
    let written = files::write_atomic(std::path::Path::new("plain.txt"), b"x", FileKind::Other);
    std::env::set_current_dir(previous).unwrap();
    written.unwrap();
    assert_eq!(dir.names(), ["plain.txt"]);
}

#[test]
fn names_planted_where_the_hidden_partial_would_go_are_skipped_and_left_alone() {
    let dir = Scratch::new("planted");
    let victim = dir.path("victim");
    std::fs::write(&victim, "precious").unwrap();
    let target = dir.path("x.heapsnapshot");
    let planted = [dir.path(".x.heapsnapshot.1.partial"), dir.path(".x.heapsnapshot.2.partial")];
    for name in &planted {
        std::os::unix::fs::symlink(&victim, name).unwrap();
    }
    let mut names = planted.clone().into_iter().chain([dir.path(".x.heapsnapshot.3.partial")]);
    let partial = Partial::begin_named(&target, &mut || Ok(names.next().unwrap())).unwrap();
    assert_eq!(partial.identity().name, Some(dir.path(".x.heapsnapshot.3.partial")));
    // On Linux a writer is given the descriptor's own link, never the name.
    assert_eq!(partial.write_path(), PathBuf::from(format!("/proc/self/fd/{}", partial.fd())));
    std::fs::write(partial.write_path(), SNAPSHOT).unwrap();
    let written = partial.complete(FileKind::HeapSnapshot, None).unwrap();
    assert_eq!(written.bytes, SNAPSHOT.len() as u64);
    assert_eq!(mode(&target), 0o600);
    assert_eq!(dir.names(), [".x.heapsnapshot.1.partial", ".x.heapsnapshot.2.partial", "victim", "x.heapsnapshot"]);
    for name in &planted {
        assert!(std::fs::symlink_metadata(name).unwrap().file_type().is_symlink());
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

#[test]
fn eight_planted_names_in_a_row_give_up_with_eexist_and_create_nothing() {
    let dir = Scratch::new("exhausted");
    let taken = dir.path(".taken");
    std::fs::write(&taken, "").unwrap();
    let mut tries = 0;
    let error = Partial::begin_named(&dir.path("x.heapsnapshot"), &mut || {
        tries += 1;
        Ok(taken.clone())
    })
    .err()
    .unwrap();
    assert_eq!(tries, 8);
    assert_eq!(error.errno_code(), Some("EEXIST"));
    assert_eq!(dir.names(), [".taken"]);
}

#[test]
fn an_incomplete_snapshot_gets_no_name_on_either_route() {
    for unnamed in [true, false] {
        let dir = Scratch::new("incomplete");
        let target = dir.path("cut.heapsnapshot");
        let partial = if unnamed {
            Partial::begin(&target).unwrap()
        } else {
            Partial::begin_named(&target, &mut || leakwatch_os::names::hidden_partial(&target)).unwrap()
        };
        partial.file().write_all(b"{\"snapshot\":{},\"nodes\":[1,2").unwrap();
        let error = partial.complete(FileKind::HeapSnapshot, None).err().unwrap();
        assert!(matches!(error, FileError::Incomplete { kind: FileKind::HeapSnapshot, bytes: 27 }), "{error:?}");
        assert_eq!(error.to_string(), "the heap snapshot is incomplete after 27 bytes (is the disk full?)");
        assert!(dir.names().is_empty(), "{:?}", dir.names());
        assert!(open_under(&dir.0).is_empty());
    }
}

#[test]
fn a_profile_must_be_one_whole_json_object() {
    let dir = Scratch::new("profile");
    let target = dir.path("x.heapprofile");
    // A profile cut right after a nested array still "ends with ]}" somewhere inside: the
    // check is of the whole structure, not of the tail.
    let cut = b"{\"head\":{\"children\":[{\"id\":1,\"children\":[]}]}";
    let error = files::write_atomic(&target, cut, FileKind::HeapProfile).err().unwrap();
    assert!(matches!(error, FileError::Incomplete { kind: FileKind::HeapProfile, .. }), "{error:?}");
    assert!(dir.names().is_empty());
    let whole =
        b"{\"head\":{\"children\":[{\"id\":1,\"callFrame\":{\"url\":\"a}]\\\"\"},\"children\":[]}]},\"samples\":[]}\n";
    files::write_atomic(&target, whole, FileKind::HeapProfile).unwrap();
    assert_eq!(dir.names(), ["x.heapprofile"]);
}

#[test]
fn a_writer_that_fails_leaves_no_file_and_no_descriptor_open() {
    {
        let dir = Scratch::new("writer-fails");
        let target = dir.path("x.heapsnapshot");
        let mut seen = None;
        let result = files::write_with(
            &target,
            FileKind::HeapSnapshot,
            None,
            |_| {},
            |partial: &Partial| {
                // As Node's writer does on a write error: open the path, write some, and leave
                // its descriptor open.
                let mut writer = std::fs::OpenOptions::new().write(true).open(partial.write_path())?;
                writer.write_all(b"{\"snapshot\":")?;
                let meta = writer.metadata()?;
                seen = Some((meta.dev(), meta.ino()));
                std::mem::forget(writer);
                Err::<bool, _>(std::io::Error::from_raw_os_error(libc::ENOSPC))
            },
        );
        assert!(matches!(result, Err(WriteError::Writer(_))));
        let (dev, ino) = seen.unwrap();
        assert_eq!(open_on(dev, ino), 0, "descriptors left on the partial");
        assert!(dir.names().is_empty());
        assert!(open_under(&dir.0).is_empty());
    }
    // The named route, with V8's descriptor left open and the completeness check failing.
    let dir = Scratch::new("writer-named");
    let target = dir.path("y.heapsnapshot");
    let partial = Partial::begin_named(&target, &mut || leakwatch_os::names::hidden_partial(&target)).unwrap();
    let identity = partial.identity();
    let leaked = std::fs::OpenOptions::new().write(true).open(partial.write_path()).unwrap();
    std::mem::forget(leaked);
    assert_eq!(open_on(identity.dev, identity.ino), 2);
    assert!(partial.complete(FileKind::HeapSnapshot, None).is_err());
    assert_eq!(open_on(identity.dev, identity.ino), 0);
    assert!(dir.names().is_empty());
}

#[test]
fn a_writer_with_nothing_to_write_leaves_nothing() {
    let dir = Scratch::new("nothing");
    let mut registered = Vec::new();
    let result = files::write_with(
        &dir.path("x.heapprofile"),
        FileKind::HeapProfile,
        None,
        |p| registered.push(p.is_some()),
        |_| Ok::<_, std::io::Error>(false),
    );
    assert_eq!(result.map_err(no_writer_error).unwrap(), None);
    assert_eq!(registered, [true, false]);
    assert!(dir.names().is_empty());
    assert!(open_under(&dir.0).is_empty());
}

#[test]
fn a_hidden_partial_replaced_by_another_file_is_neither_renamed_nor_removed() {
    let dir = Scratch::new("swapped");
    let target = dir.path("x.heapsnapshot");
    let partial = Partial::begin_named(&target, &mut || leakwatch_os::names::hidden_partial(&target)).unwrap();
    let name = partial.identity().name.unwrap();
    partial.file().write_all(SNAPSHOT).unwrap();
    // Someone puts another file in its place.
    let other = dir.path("other");
    std::fs::write(&other, "theirs").unwrap();
    std::fs::rename(&other, &name).unwrap();
    let error = partial.complete(FileKind::HeapSnapshot, None).err().unwrap();
    assert!(matches!(error, FileError::Replaced { .. }), "{error:?}");
    assert_eq!(std::fs::read_to_string(&name).unwrap(), "theirs");
    assert!(!target.exists());
}

#[test]
fn dropping_a_partial_abandons_it() {
    let dir = Scratch::new("dropped");
    let target = dir.path("x.heapsnapshot");
    {
        let partial = Partial::begin_named(&target, &mut || leakwatch_os::names::hidden_partial(&target)).unwrap();
        partial.file().write_all(SNAPSHOT).unwrap();
        assert_eq!(dir.names().len(), 1);
    }
    assert!(dir.names().is_empty());
}

#[test]
fn release_cleans_up_after_a_writer_that_went_away() {
    let dir = Scratch::new("released");
    let target = dir.path("x.heapsnapshot");
    let partial = Partial::begin_named(&target, &mut || leakwatch_os::names::hidden_partial(&target)).unwrap();
    let identity = partial.identity();
    std::mem::forget(std::fs::File::open(partial.write_path()).unwrap());
    // Its thread is gone without cleaning up: its descriptor stays open, its name stays.
    std::mem::forget(partial);
    assert_eq!(open_on(identity.dev, identity.ino), 2);
    files::release(&identity);
    assert_eq!(open_on(identity.dev, identity.ino), 0);
    assert!(dir.names().is_empty());
}

#[test]
fn an_unwritable_directory_fails_with_eacces_and_leaves_nothing() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("skipped: root ignores directory permissions");
        return;
    }
    let dir = Scratch::new("locked");
    let locked = dir.path("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let error = files::write_atomic(&locked.join("x.txt"), b"x", FileKind::Other).err().unwrap();
    assert_eq!(error.errno_code(), Some("EACCES"));
    assert!(error.to_string().starts_with("EACCES: permission denied, open "), "{error}");
    assert!(std::fs::read_dir(&locked).unwrap().next().is_none());
}

#[test]
fn a_missing_directory_fails_with_enoent() {
    let dir = Scratch::new("missing");
    let error = files::write_atomic(&dir.path("no/such/x.txt"), b"x", FileKind::Other).err().unwrap();
    assert_eq!(error.errno_code(), Some("ENOENT"));
}
