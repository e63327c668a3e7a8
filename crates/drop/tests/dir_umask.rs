//! Folder output under a restrictive umask: the modes are still 0644 and
//! 0755. A test binary of its own, because the umask is per process and
//! would change what other tests create.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use baram_drop::dir;
use baram_drop::tree::{Entry, EntryKind, Source, Volume};
use nix::sys::stat::{Mode, umask};

fn modes(p: &Path, out: &mut Vec<(String, u32)>) {
    let md = std::fs::symlink_metadata(p).unwrap();
    out.push((p.display().to_string(), md.permissions().mode() & 0o7777));
    if md.is_dir() {
        for e in std::fs::read_dir(p).unwrap() {
            modes(&e.unwrap().path(), out);
        }
    }
}

#[test]
fn modes_do_not_depend_on_the_umask() {
    let t = tempfile::tempdir().unwrap();
    let vol = Volume {
        entries: vec![
            Entry {
                path: vec!["폴더".into(), "f.txt".into()],
                kind: EntryKind::File {
                    size: 2,
                    source: Source::Bytes(Arc::new(b"hi".to_vec())),
                },
            },
            Entry {
                path: vec!["empty".into()],
                kind: EntryKind::Dir,
            },
        ],
        ..Volume::default()
    };
    let mut seen = Vec::new();
    for (i, mask) in [0o077u32, 0o777, 0o002].into_iter().enumerate() {
        let old = umask(Mode::from_bits_truncate(mask));
        let dest = t.path().join(format!("d{i}"));
        let r = dir::write_dir(&vol, &dest);
        umask(old);
        r.unwrap();
        let mut m = Vec::new();
        modes(&dest, &mut m);
        for (path, mode) in &m {
            let want = if Path::new(path).is_dir() {
                0o755
            } else {
                0o644
            };
            assert_eq!(*mode, want, "{path} under umask {mask:o}");
        }
        seen.push(m.len());
    }
    assert_eq!(seen, [4, 4, 4]);
}
