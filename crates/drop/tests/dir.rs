//! Folder output checked with the standard library's own view of the tree
//! (read_dir, metadata) and `stat`/`find` from coreutils/findutils.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use baram_drop::dir::{self, Error};
use baram_drop::tree::{Entry, EntryKind, Source, Timestamp, Volume};

type Expected = BTreeMap<Vec<String>, Option<Vec<u8>>>;

const TS: Timestamp = Timestamp {
    year: 2010,
    month: 1,
    day: 1,
    hour: 12,
    minute: 34,
    second: 57,
};
/// TS as seconds since 1970 (UTC).
const TS_UNIX: i64 = 1_262_349_297;

fn p(s: &str) -> Vec<String> {
    s.split('/').map(str::to_string).collect()
}

fn bytes(path: &str, content: &[u8]) -> Entry {
    Entry {
        path: p(path),
        kind: EntryKind::File {
            size: content.len() as u64,
            source: Source::Bytes(Arc::new(content.to_vec())),
        },
    }
}

fn sample(src: &Path) -> Volume {
    let big: Vec<u8> = (0..3_000_001u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(src.join("big"), &big).unwrap();
    Volume {
        label: "Drop".into(),
        timestamp: TS,
        serial: 0,
        entries: vec![
            Entry {
                path: p("video/01 사랑의 불시착 1화.avi"),
                kind: EntryKind::File {
                    size: big.len() as u64,
                    source: Source::Path(src.join("big")),
                },
            },
            bytes("index.html", b"<html></html>"),
            bytes("empty", b""),
            bytes("a/b/c/d/e/f/g/h/i/깊은.txt", b"deep"),
            Entry {
                path: p("빈 폴더"),
                kind: EntryKind::Dir,
            },
        ],
    }
}

fn walk(root: &Path, rel: &mut Vec<String>, out: &mut Expected) {
    for e in std::fs::read_dir(root.join(rel.iter().collect::<PathBuf>())).unwrap() {
        let e = e.unwrap();
        rel.push(e.file_name().into_string().unwrap());
        if e.file_type().unwrap().is_dir() {
            out.insert(rel.clone(), None);
            walk(root, rel, out);
        } else {
            out.insert(rel.clone(), Some(std::fs::read(e.path()).unwrap()));
        }
        rel.pop();
    }
}

fn expected_of(vol: &Volume) -> Expected {
    let mut m = Expected::new();
    for e in &vol.entries {
        for i in 1..e.path.len() {
            m.insert(e.path[..i].to_vec(), None);
        }
        let v = match &e.kind {
            EntryKind::Dir => None,
            EntryKind::File { source, .. } => Some(match source {
                Source::Bytes(b) => b.to_vec(),
                Source::Path(p) => std::fs::read(p).unwrap(),
            }),
        };
        m.insert(e.path.clone(), v);
    }
    m
}

/// Tree, bytes, modes and times of a written folder. Modes and times are
/// read first, from the expected paths: listing a folder or reading a file
/// updates its access time (relatime), so they are checked before any read.
fn check_tree(dest: &Path, vol: &Volume) {
    let expected = expected_of(vol);
    let mut metas = vec![dest.to_path_buf()];
    metas.extend(
        expected
            .keys()
            .map(|k| dest.join(k.iter().collect::<PathBuf>())),
    );
    for m in &metas {
        let md = std::fs::symlink_metadata(m).unwrap();
        let want = if md.is_dir() { 0o755 } else { 0o644 };
        assert_eq!(md.permissions().mode() & 0o7777, want, "{}", m.display());
        assert_eq!(md.mtime(), TS_UNIX, "mtime of {}", m.display());
        assert_eq!(md.mtime_nsec(), 0);
        assert_eq!(md.atime(), TS_UNIX, "atime of {}", m.display());
        assert_eq!(md.atime_nsec(), 0);
    }
    // GNU stat agrees (an independent reader of the inode), in UTC.
    let out = Command::new("stat")
        .env("TZ", "UTC")
        .args(["-c", "%a %Y %n"])
        .args(&metas)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), metas.len());
    for l in text.lines() {
        let mut it = l.splitn(3, ' ');
        let mode = it.next().unwrap();
        assert!(mode == "644" || mode == "755", "{l}");
        assert_eq!(it.next().unwrap(), TS_UNIX.to_string(), "{l}");
    }
    // Then the tree and the bytes: nothing more, nothing less.
    let mut got = Expected::new();
    walk(dest, &mut Vec::new(), &mut got);
    assert_eq!(got, expected);
}

#[test]
fn writes_the_tree_with_fixed_modes_and_times() {
    let t = tempfile::tempdir().unwrap();
    let vol = sample(t.path());
    let dest = t.path().join("drop");
    let r = dir::write_dir(&vol, &dest).unwrap();
    assert_eq!(r.files, 4);
    assert_eq!(r.dirs, 11); // video, a..i, 빈 폴더
    assert_eq!(r.bytes, 3_000_001 + 13 + 4);
    check_tree(&dest, &vol);
    // Nothing else next to it (the temporary folder is gone).
    let siblings: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut siblings = siblings;
    siblings.sort();
    assert_eq!(siblings, ["big", "drop"]);
    // An existing empty folder is fine; entry order does not matter.
    let dest2 = t.path().join("drop2");
    std::fs::create_dir(&dest2).unwrap();
    std::fs::set_permissions(&dest2, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut shuffled = vol.clone();
    shuffled.entries.reverse();
    dir::write_dir(&shuffled, &dest2).unwrap();
    check_tree(&dest2, &vol);
}

#[test]
fn refuses_a_non_empty_or_non_folder_destination() {
    let t = tempfile::tempdir().unwrap();
    let vol = sample(t.path());
    let full = t.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("keep.txt"), b"mine").unwrap();
    let e = dir::write_dir(&vol, &full).unwrap_err();
    assert!(matches!(e, Error::DestNotEmpty { .. }), "{e}");
    assert!(e.to_string().contains(&full.display().to_string()), "{e}");
    assert_eq!(std::fs::read(full.join("keep.txt")).unwrap(), b"mine");
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
    let file = t.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        dir::write_dir(&vol, &file),
        Err(Error::DestNotEmpty { .. })
    ));
    // A link to an empty folder is not an empty folder.
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let link = t.path().join("link");
    std::os::unix::fs::symlink(&empty, &link).unwrap();
    assert!(matches!(
        dir::write_dir(&vol, &link),
        Err(Error::DestNotEmpty { .. })
    ));
    assert!(matches!(
        dir::write_dir(&vol, Path::new("/")),
        Err(Error::DestInvalid { .. })
    ));
}

#[test]
fn size_mismatch_fails_and_leaves_nothing() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    std::fs::write(&src, b"12345").unwrap();
    for size in [4u64, 6] {
        let vol = Volume {
            label: String::new(),
            timestamp: TS,
            serial: 0,
            entries: vec![
                bytes("first.txt", b"ok"),
                Entry {
                    path: p("영화/f.avi"),
                    kind: EntryKind::File {
                        size,
                        source: Source::Path(src.clone()),
                    },
                },
            ],
        };
        let dest = t.path().join("out");
        let e = dir::write_dir(&vol, &dest).unwrap_err();
        assert!(matches!(e, Error::SourceSizeMismatch { .. }), "{e}");
        assert!(e.to_string().contains("영화/f.avi"), "{e}");
        assert!(!dest.exists());
    }
    let names: Vec<_> = std::fs::read_dir(t.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "only the source is left");
    // A missing source, and bad names, are refused too.
    let vol = Volume {
        label: String::new(),
        timestamp: TS,
        serial: 0,
        entries: vec![Entry {
            path: p("x"),
            kind: EntryKind::File {
                size: 1,
                source: Source::Path(t.path().join("missing")),
            },
        }],
    };
    assert!(matches!(
        dir::write_dir(&vol, &t.path().join("o")),
        Err(Error::SourceRead { .. })
    ));
    for bad in [
        vec!["a/b".to_string()],
        vec!["..".into()],
        vec!["x:".into()],
    ] {
        let vol = Volume {
            entries: vec![Entry {
                path: bad.clone(),
                kind: EntryKind::Dir,
            }],
            ..Volume::default()
        };
        assert!(
            matches!(
                dir::write_dir(&vol, &t.path().join("o")),
                Err(Error::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
    let vol = Volume {
        entries: vec![bytes("A.txt", b"1"), bytes("a.TXT", b"2")],
        ..Volume::default()
    };
    assert!(matches!(
        dir::write_dir(&vol, &t.path().join("o")),
        Err(Error::Duplicate { .. })
    ));
    let vol = Volume {
        entries: vec![bytes("a", b"1"), bytes("a/b", b"2")],
        ..Volume::default()
    };
    assert!(matches!(
        dir::write_dir(&vol, &t.path().join("o")),
        Err(Error::FileDirConflict { .. })
    ));
    assert!(!t.path().join("o").exists());
    assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
}
