//! The FAT32 writer checked against independent readers: fsck.fat (Debian
//! dosfstools), mtools and the `fatfs` crate. Every input is generated here.

use std::collections::{BTreeMap, HashSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use baram_drop::fat32::{self, Error, Fat32Options};
use baram_drop::tree::{Entry, EntryKind, Source, Timestamp, Volume};
use proptest::prelude::*;

const MIB: u64 = 1 << 20;

/// path -> Some(content) for files, None for folders.
type Expected = BTreeMap<Vec<String>, Option<Vec<u8>>>;

fn need(tool: &str, package: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return p;
        }
    }
    panic!("{tool} is needed by this test: apt-get install {package}");
}

fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn p(s: &str) -> Vec<String> {
    s.split('/').map(str::to_string).collect()
}

fn file_bytes(path: &str, content: Vec<u8>) -> Entry {
    Entry {
        path: p(path),
        kind: EntryKind::File {
            size: content.len() as u64,
            source: Source::Bytes(Arc::new(content)),
        },
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

/// A volume with the awkward cases: Korean, mixed case, exact 8.3, long
/// names, colliding aliases, empty file, empty folder, a file of exactly one
/// cluster, files on disk and in memory.
fn sample(dir: &Path) -> Volume {
    let mut entries = Vec::new();
    let on_disk = [
        ("video/01 사랑의 불시착 1화.avi", 3_000_000usize),
        ("video/01 사랑의 불시착 2화.avi", 2_500_001),
        ("video/02 사랑의 불시착 10화.avi", 1_000_000),
        ("음악/아리랑.mp3", 700_000),
        ("BOOKS/BOOK1.PDF", 4096),
        ("BOOKS/Book1 (copy).pdf", 4097),
    ];
    for (i, (path, len)) in on_disk.iter().enumerate() {
        let f = dir.join(format!("src{i}"));
        std::fs::write(&f, data(i as u64, *len)).unwrap();
        entries.push(Entry {
            path: p(path),
            kind: EntryKind::File {
                size: *len as u64,
                source: Source::Path(f),
            },
        });
    }
    entries.push(file_bytes("README.TXT", b"read me\r\n".to_vec()));
    entries.push(file_bytes("index.html", b"<html></html>".to_vec()));
    entries.push(file_bytes("Index.Htm", b"other".to_vec()));
    entries.push(file_bytes("empty.txt", Vec::new()));
    entries.push(file_bytes("one cluster.bin", data(7, 512)));
    entries.push(file_bytes(
        "a very long name that needs three or more LFN entries, 한국어 포함.txt",
        data(8, 1234),
    ));
    entries.push(file_bytes("weird +,;=[] name.dat", data(9, 10)));
    entries.push(file_bytes("several.dots.in.name.tar.gz", data(10, 77)));
    entries.push(file_bytes("abcdefghijklm", data(11, 13))); // exactly 13 units
    entries.push(Entry {
        path: p("빈 폴더"),
        kind: EntryKind::Dir,
    });
    entries.push(Entry {
        path: p("a/b/c/d/e"),
        kind: EntryKind::Dir,
    });
    entries.push(file_bytes("a/b/c/d/e/deep.txt", b"deep".to_vec()));
    Volume {
        label: "Drop 7".into(),
        timestamp: Timestamp {
            year: 2010,
            month: 1,
            day: 1,
            hour: 12,
            minute: 34,
            second: 57,
        },
        serial: 0xDEAD_BEEF,
        entries,
    }
}

fn build(vol: &Volume, size: u64, opts: &Fat32Options) -> (fat32::Layout, Vec<u8>) {
    let l = fat32::layout(vol, size, opts).unwrap();
    let mut out = Vec::with_capacity(size as usize);
    fat32::write_image(vol, &l, &mut out).unwrap();
    assert_eq!(out.len() as u64, size);
    (l, out)
}

fn volume_bytes<'a>(img: &'a [u8], l: &fat32::Layout) -> &'a [u8] {
    &img[l.geometry.volume_offset as usize..]
}

/// fsck.fat -n -v must find nothing to fix, count exactly the clusters we
/// used, and agree with the free count in FSInfo.
fn check_fsck(volume: &Path, l: &fat32::Layout) {
    let fsck = need("fsck.fat", "dosfstools");
    let out = Command::new(fsck)
        .args(["-n", "-v"])
        .arg(volume)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fsck.fat failed:\n{text}");
    let after: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.ends_with("sectors total"))
        .skip(1)
        .collect();
    let (last, checks) = after.split_last().expect("fsck.fat printed a summary");
    assert_eq!(
        checks,
        &[
            "Checking for unused clusters.",
            "Checking free cluster summary."
        ],
        "fsck.fat reported something:\n{text}"
    );
    // "<path>: N files, U/T clusters"
    let counts = last
        .rsplit(", ")
        .next()
        .unwrap()
        .trim_end_matches(" clusters");
    let (used, total) = counts.split_once('/').unwrap();
    assert_eq!(used.parse::<u32>().unwrap(), l.used_clusters, "{text}");
    assert_eq!(
        total.parse::<u32>().unwrap(),
        l.geometry.cluster_count,
        "{text}"
    );
    // FSInfo free count and next-free hint.
    let mut v = vec![0u8; 8 * 512];
    std::io::Read::read_exact(&mut std::fs::File::open(volume).unwrap(), &mut v).unwrap();
    let free = u32::from_le_bytes(v[512 + 488..512 + 492].try_into().unwrap());
    let next = u32::from_le_bytes(v[512 + 492..512 + 496].try_into().unwrap());
    assert_eq!(free, l.geometry.cluster_count - l.used_clusters);
    assert_eq!(next, l.used_clusters + 2);
    // Backup boot sector and FSInfo equal the primary.
    assert_eq!(v[..1024], v[6 * 512..8 * 512]);
}

fn walk_host(root: &Path, rel: &mut Vec<String>, out: &mut Expected) {
    for e in std::fs::read_dir(root.join(rel.iter().collect::<PathBuf>())).unwrap() {
        let e = e.unwrap();
        rel.push(e.file_name().into_string().unwrap());
        if e.file_type().unwrap().is_dir() {
            out.insert(rel.clone(), None);
            walk_host(root, rel, out);
        } else {
            out.insert(rel.clone(), Some(std::fs::read(e.path()).unwrap()));
        }
        rel.pop();
    }
}

/// mtools copies everything out; names and bytes must be exact.
fn check_mtools(image: &Path, partition: bool, expected: &Expected) {
    need("mcopy", "mtools");
    let dest = tempfile::tempdir().unwrap();
    let spec = if partition {
        format!("{}@@1M", image.display())
    } else {
        image.display().to_string()
    };
    let out = Command::new("mcopy")
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .args(["-s", "-i", &spec, "::*"])
        .arg(dest.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mcopy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got = Expected::new();
    walk_host(dest.path(), &mut Vec::new(), &mut got);
    assert_eq!(
        got.len(),
        expected.len(),
        "mtools saw {:?}",
        got.keys().collect::<Vec<_>>()
    );
    for (k, v) in expected {
        assert!(got.get(k) == Some(v), "mtools read {k:?} differently");
    }
}

/// The fatfs crate reads every name and file; short names are unique and
/// valid in every folder. Returns every short name per folder.
fn check_fatfs(volume: &[u8], expected: &Expected, label: &str) {
    let fs = fatfs::FileSystem::new(Cursor::new(volume.to_vec()), fatfs::FsOptions::new()).unwrap();
    assert_eq!(fs.fat_type(), fatfs::FatType::Fat32);
    assert_eq!(fs.volume_label().trim_end(), label.to_uppercase());
    let mut got = Expected::new();
    let mut stack = vec![(Vec::<String>::new(), fs.root_dir())];
    while let Some((path, dir)) = stack.pop() {
        let mut shorts = HashSet::new();
        for e in dir.iter() {
            let e = e.unwrap();
            let name = e.file_name();
            if name == "." || name == ".." {
                continue;
            }
            let short = e.short_file_name_as_bytes().to_vec();
            assert!(
                short.iter().all(|b| b.is_ascii_uppercase()
                    || b.is_ascii_digit()
                    || b"!#$%&'()-@^_`{}~.".contains(b)),
                "bad short name {:?}",
                String::from_utf8_lossy(&short)
            );
            assert!(shorts.insert(short), "duplicate short name in {path:?}");
            let mut full = path.clone();
            full.push(name);
            if e.is_dir() {
                got.insert(full.clone(), None);
                stack.push((full, e.to_dir()));
            } else {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut e.to_file(), &mut v).unwrap();
                assert_eq!(v.len() as u64, e.len());
                got.insert(full, Some(v));
            }
        }
    }
    assert_eq!(got.len(), expected.len());
    for (k, v) in expected {
        assert!(got.get(k) == Some(v), "fatfs read {k:?} differently");
    }
}

/// Writes the volume part of an image to its own file (for fsck.fat).
fn volume_file(dir: &Path, img: &[u8], l: &fat32::Layout) -> PathBuf {
    let f = dir.join("volume.img");
    std::fs::write(&f, volume_bytes(img, l)).unwrap();
    f
}

fn all_oracles(vol: &Volume, size: u64, partition: bool) -> fat32::Layout {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Fat32Options {
        partition,
        ..Default::default()
    };
    let (l, img) = build(vol, size, &opts);
    let image = tmp.path().join("drop.img");
    std::fs::write(&image, &img).unwrap();
    check_fsck(&volume_file(tmp.path(), &img, &l), &l);
    let expected = expected_of(vol);
    check_mtools(&image, partition, &expected);
    check_fatfs(volume_bytes(&img, &l), &expected, &vol.label);
    // Exact accounting: what the planner computes is what was used.
    let u = fat32::usage(vol, l.cluster_size()).unwrap();
    assert_eq!(u.clusters(), l.used_clusters as u64);
    assert_eq!(
        fat32::data_capacity(size, partition).unwrap(),
        l.geometry.data_capacity()
    );
    l
}

#[test]
fn sample_passes_every_oracle_at_several_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = sample(tmp.path());
    let min = fat32::min_fat32_image_size(false);
    for (size, partition, cluster) in [
        (min, false, 512),
        (64 * MIB, true, 512),
        (100 * MIB, false, 1024),
        (160 * MIB, true, 2048),
        (300 * MIB, true, 4096),
    ] {
        let l = all_oracles(&vol, size, partition);
        assert_eq!(l.cluster_size(), cluster, "image of {size} bytes");
    }
}

#[test]
fn mbr_and_boot_sector_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = sample(tmp.path());
    let (l, img) = build(&vol, 64 * MIB, &Fat32Options::default());
    // One FAT32-LBA partition at 1 MiB to the end.
    assert_eq!(&img[510..512], &[0x55, 0xAA]);
    assert_eq!(img[446 + 4], 0x0C);
    assert_eq!(u32::from_le_bytes(img[454..458].try_into().unwrap()), 2048);
    assert_eq!(
        u32::from_le_bytes(img[458..462].try_into().unwrap()) as u64,
        64 * MIB / 512 - 2048
    );
    assert_ne!(u32::from_le_bytes(img[440..444].try_into().unwrap()), 0);
    assert!(img[462..510].iter().all(|&b| b == 0), "only one partition");
    let b = volume_bytes(&img, &l);
    assert_eq!(u16::from_le_bytes([b[14], b[15]]), 32, "reserved sectors");
    assert_eq!(b[16], 2, "FATs");
    assert_eq!(u16::from_le_bytes([b[48], b[49]]), 1, "FSInfo sector");
    assert_eq!(u16::from_le_bytes([b[50], b[51]]), 6, "backup boot sector");
    assert_eq!(
        u32::from_le_bytes(b[67..71].try_into().unwrap()),
        vol.serial
    );
    assert_eq!(&b[71..82], b"DROP 7     ");
    // Nothing names a tool, a user or a host.
    // (Everything before the file data: MBR gap, reserved sectors, FATs and
    // the directories, which come first in the data region.)
    let meta =
        &img[..(l.geometry.volume_offset + l.geometry.data_start() as u64 * 512) as usize + 65536];
    for needle in [
        &b"mkfs"[..],
        b"baram",
        b"dosfs",
        b"mtools",
        b"root",
        b"linux",
    ] {
        assert!(
            !meta
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
        );
    }
    // A bare volume is the same volume without the first MiB (the boot
    // sector's hidden-sector count and the cluster geometry aside).
    let (lb, bare) = build(
        &vol,
        64 * MIB - MIB,
        &Fat32Options {
            partition: false,
            ..Default::default()
        },
    );
    assert_eq!(lb.geometry.volume_sectors, l.geometry.volume_sectors);
    let mut part = b.to_vec();
    let mut bare = bare;
    for at in [28, 6 * 512 + 28] {
        assert_eq!(
            u32::from_le_bytes(part[at..at + 4].try_into().unwrap()),
            2048
        );
        assert_eq!(u32::from_le_bytes(bare[at..at + 4].try_into().unwrap()), 0);
        part[at..at + 4].fill(0);
        bare[at..at + 4].fill(0);
    }
    assert!(
        part == bare,
        "bare and partitioned volumes differ beyond the hidden-sector count"
    );
}

/// A `Write` over a file that seeks over whole zero blocks instead of writing
/// them, leaving holes: a test's multi-GB image then takes almost no disk.
struct SparseWriter {
    file: std::fs::File,
    buf: Vec<u8>,
    pos: u64,
}

impl SparseWriter {
    const BLOCK: usize = 64 << 10;

    fn new(file: std::fs::File) -> Self {
        SparseWriter {
            file,
            buf: Vec::with_capacity(Self::BLOCK),
            pos: 0,
        }
    }

    fn flush_block(&mut self) -> std::io::Result<()> {
        use std::io::{Seek, SeekFrom, Write};
        if self.buf.iter().any(|&b| b != 0) {
            self.file.seek(SeekFrom::Start(self.pos))?;
            self.file.write_all(&self.buf)?;
        }
        self.pos += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) {
        self.flush_block().unwrap();
        self.file.set_len(self.pos).unwrap();
    }
}

impl std::io::Write for SparseWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = data.len().min(Self::BLOCK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == Self::BLOCK {
            self.flush_block()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn thirty_two_kib_clusters_on_a_two_gib_card() {
    // The production case: 32 KiB clusters. Streamed to a file.
    let tmp = tempfile::tempdir().unwrap();
    let vol = sample(tmp.path());
    let size = 2200 * MIB;
    let l = fat32::layout(&vol, size, &Fat32Options::default()).unwrap();
    assert_eq!(l.cluster_size(), 32768);
    let image = tmp.path().join("card.img");
    // The stream goes through a writer that leaves zero blocks as holes, so
    // the test needs a few MB of disk, not 2.2 GB (CI's disk can be small).
    let mut f = SparseWriter::new(std::fs::File::create(&image).unwrap());
    fat32::write_image(&vol, &l, &mut f).unwrap();
    f.finish();
    assert_eq!(std::fs::metadata(&image).unwrap().len(), size);
    check_mtools(&image, true, &expected_of(&vol));
    // fsck.fat on the partition: copy the volume out (sparse again).
    let vol_file = tmp.path().join("volume.img");
    let mut from = std::fs::File::open(&image).unwrap();
    std::io::Seek::seek(&mut from, std::io::SeekFrom::Start(MIB)).unwrap();
    let mut to = SparseWriter::new(std::fs::File::create(&vol_file).unwrap());
    std::io::copy(&mut from, &mut to).unwrap();
    to.finish();
    check_fsck(&vol_file, &l);
}

#[test]
fn two_thousand_files_deep_folders_and_multi_cluster_directories() {
    let mut entries = Vec::new();
    for i in 0..2000u64 {
        let folder = if i < 1000 {
            "큰 폴더".to_string()
        } else {
            format!("folder {}", i % 10)
        };
        let name = format!("{folder}/{i:04} 사랑의 불시착 Crash Landing on You {i}화.mp4");
        entries.push(file_bytes(&name, data(i, (i * 37 % 3000) as usize)));
    }
    let mut deep = String::new();
    for d in 0..60 {
        if d > 0 {
            deep.push('/');
        }
        deep.push_str(&format!("d{d}"));
    }
    entries.push(file_bytes(
        &format!("{deep}/bottom.txt"),
        b"bottom".to_vec(),
    ));
    let vol = Volume {
        label: "MANY".into(),
        serial: 7,
        entries,
        ..Default::default()
    };
    let l = all_oracles(&vol, 64 * MIB, true);
    // The 1,000-file folder spans many 512-byte clusters.
    let slots: u64 = 2
        + (0..1000u64)
            .map(|i| {
                fat32::entry_slots(&format!(
                    "{i:04} 사랑의 불시착 Crash Landing on You {i}화.mp4"
                ))
                .unwrap() as u64
            })
            .sum::<u64>();
    assert!(fat32::dir_bytes(slots, l.cluster_size()) / l.cluster_size() as u64 > 100);
}

fn shuffled(vol: &Volume, seed: u64) -> Volume {
    let mut v = vol.clone();
    let n = v.entries.len();
    let mut x = seed | 1;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.entries.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

#[test]
fn same_bytes_for_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = sample(tmp.path());
    let size = fat32::min_fat32_image_size(true);
    let hashes: HashSet<_> = [1, 2, 8]
        .into_iter()
        .map(|threads| {
            let (_, img) = build(
                &vol,
                size,
                &Fat32Options {
                    partition: true,
                    threads,
                },
            );
            blake3::hash(&img)
        })
        .collect();
    assert_eq!(hashes.len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn same_bytes_for_any_entry_order(seed in any::<u64>()) {
        let tmp = tempfile::tempdir().unwrap();
        let vol = sample(tmp.path());
        let size = fat32::min_fat32_image_size(false);
        let opts = Fat32Options { partition: false, threads: 1 };
        let (_, a) = build(&vol, size, &opts);
        let (_, b) = build(&shuffled(&vol, seed), size, &opts);
        prop_assert!(a == b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// Many names that collide in 8.3: every alias unique and valid (fsck.fat
    /// also rejects duplicates), every long name intact (fatfs, mtools).
    #[test]
    fn aliases_stay_unique(
        picks in prop::collection::vec((0usize..8, 0u32..300, 0usize..6), 50..400)
    ) {
        let stems = ["사랑의 불시착", "Crash Landing", "crash landing", "사랑", "A", "index",
                     "READ ME", "01 사랑의 불시착"];
        let exts = [".avi", ".AVI", ".mp4", "", ".html", ".Txt"];
        let mut seen = HashSet::new();
        let mut entries = Vec::new();
        for (s, n, e) in picks {
            let name = format!("{}{}{}", stems[s], if n % 3 == 0 { String::new() } else { format!(" {n}") }, exts[e]);
            if seen.insert(name.to_uppercase()) {
                entries.push(file_bytes(&format!("x/{name}"), name.as_bytes().to_vec()));
            }
        }
        let vol = Volume { label: String::new(), serial: 1, entries, ..Default::default() };
        let tmp = tempfile::tempdir().unwrap();
        let size = fat32::min_fat32_image_size(false);
        let opts = Fat32Options { partition: false, threads: 1 };
        let (l, img) = build(&vol, size, &opts);
        let expected = expected_of(&vol);
        check_fatfs(&img, &expected, "NO NAME");
        check_fsck(&volume_file(tmp.path(), &img, &l), &l);
    }
}

#[test]
fn mtools_reads_a_bare_volume_with_many_aliases() {
    let entries = (0..300)
        .map(|i| file_bytes(&format!("사랑 {i}.avi"), data(i, 100)))
        .collect();
    let vol = Volume {
        label: "ALIASES".into(),
        entries,
        ..Default::default()
    };
    all_oracles(&vol, fat32::min_fat32_image_size(false), false);
}

#[test]
fn refuses_what_fat32_cannot_hold() {
    // 4 GiB files.
    assert_eq!(fat32::MAX_FILE_SIZE, (4 << 30) - 1);
    let big = Volume {
        entries: vec![Entry {
            path: p("movie.mkv"),
            kind: EntryKind::File {
                size: 4 << 30,
                source: Source::Path("/nonexistent".into()),
            },
        }],
        ..Default::default()
    };
    let e = fat32::layout(&big, 64 << 30, &Fat32Options::default()).unwrap_err();
    assert!(matches!(e, Error::FileTooLarge { .. }));
    assert!(
        e.to_string().contains("movie.mkv") && e.to_string().contains("4 GiB"),
        "{e}"
    );

    // Too small for FAT32.
    let min = fat32::min_fat32_image_size(true);
    let e = fat32::layout(&Volume::default(), 16 * MIB, &Fat32Options::default()).unwrap_err();
    assert!(matches!(e, Error::ImageTooSmall { .. }));
    assert!(e.to_string().contains(&min.to_string()), "{e}");

    // Too small for the content: says how much is needed, and that much works.
    let vol = Volume {
        entries: (0..40)
            .map(|i| file_bytes(&format!("f{i}.bin"), vec![i as u8; 1_000_001]))
            .collect(),
        ..Default::default()
    };
    let e = fat32::layout(&vol, 36 * MIB, &Fat32Options::default()).unwrap_err();
    let Error::ContentTooLarge {
        needed,
        min_image_size,
        ..
    } = e
    else {
        panic!("{e}")
    };
    assert!(needed > 40_000_000);
    assert_eq!(min_image_size, fat32::min_image_size(&vol, true).unwrap());
    fat32::layout(&vol, min_image_size, &Fat32Options::default()).unwrap();
    assert!(fat32::layout(&vol, min_image_size - 512, &Fat32Options::default()).is_err());

    // Unaligned size, names Windows cannot open, duplicates, label.
    assert!(matches!(
        fat32::layout(&vol, 100 * MIB + 1, &Fat32Options::default()),
        Err(Error::UnalignedSize { .. })
    ));
    for (bad, what) in [
        (vec![file_bytes("a:b", vec![])], "a:b"),
        (vec![file_bytes("trailing.", vec![])], "trailing."),
        (vec![file_bytes("dir/CON.txt", vec![])], "dir/CON.txt"),
        (
            vec![
                file_bytes("Same.txt", vec![]),
                file_bytes("same.TXT", vec![]),
            ],
            "same",
        ),
        (
            vec![file_bytes("x", vec![]), file_bytes("x/y", vec![])],
            "x",
        ),
        (
            vec![file_bytes(&("long/".repeat(60) + "x"), vec![])],
            "long",
        ),
    ] {
        let v = Volume {
            entries: bad,
            ..Default::default()
        };
        let e = fat32::layout(&v, 64 * MIB, &Fat32Options::default()).unwrap_err();
        assert!(
            e.to_string().to_lowercase().contains(&what.to_lowercase()),
            "{e}"
        );
    }
    let v = Volume {
        label: "사랑".into(),
        ..Default::default()
    };
    assert!(matches!(
        fat32::layout(&v, 64 * MIB, &Fat32Options::default()),
        Err(Error::InvalidLabel { .. })
    ));
}

#[test]
fn sources_must_have_their_declared_size() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("blob");
    std::fs::write(&src, vec![1u8; 1000]).unwrap();
    for declared in [999u64, 1001] {
        let vol = Volume {
            entries: vec![Entry {
                path: p("video/film.avi"),
                kind: EntryKind::File {
                    size: declared,
                    source: Source::Path(src.clone()),
                },
            }],
            ..Default::default()
        };
        let l = fat32::layout(&vol, 64 * MIB, &Fat32Options::default()).unwrap();
        let mut out = Vec::new();
        let e = fat32::write_image(&vol, &l, &mut out).unwrap_err();
        assert!(matches!(e, Error::SourceSizeMismatch { .. }), "{e}");
        assert!(
            e.to_string().contains("video/film.avi") && e.to_string().contains("blob"),
            "{e}"
        );
        assert!(out.is_empty(), "nothing is written when a source is wrong");
    }
    // A source missing.
    let vol = Volume {
        entries: vec![Entry {
            path: p("gone.avi"),
            kind: EntryKind::File {
                size: 5,
                source: Source::Path(tmp.path().join("gone")),
            },
        }],
        ..Default::default()
    };
    let l = fat32::layout(&vol, 64 * MIB, &Fat32Options::default()).unwrap();
    let e = fat32::write_image(&vol, &l, &mut Vec::new()).unwrap_err();
    assert!(e.to_string().contains("gone.avi"), "{e}");
}

#[test]
fn accounting_pieces_add_up() {
    let tmp = tempfile::tempdir().unwrap();
    let vol = sample(tmp.path());
    for cs in [512u32, 4096, 32768] {
        let u = fat32::usage(&vol, cs).unwrap();
        let files: u64 = vol
            .entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::File { size, .. } => Some(fat32::file_bytes(*size, cs)),
                _ => None,
            })
            .sum();
        assert_eq!(u.file_bytes, files);
        // Root: label + children.
        let expected = expected_of(&vol);
        let mut dirs: BTreeMap<Vec<String>, u64> = BTreeMap::new();
        dirs.insert(vec![], 1);
        for k in expected.keys() {
            if expected[k].is_none() {
                dirs.insert(k.clone(), 2);
            }
        }
        for k in expected.keys() {
            let parent = k[..k.len() - 1].to_vec();
            *dirs.get_mut(&parent).unwrap() +=
                fat32::entry_slots(k.last().unwrap()).unwrap() as u64;
        }
        let d: u64 = dirs.values().map(|&s| fat32::dir_bytes(s, cs)).sum();
        assert_eq!(u.dir_bytes, d);
    }
    assert_eq!(fat32::entry_slots("README.TXT").unwrap(), 1);
    assert_eq!(fat32::entry_slots("readme.txt").unwrap(), 2);
    assert_eq!(fat32::file_bytes(0, 4096), 0);
    assert_eq!(fat32::dir_bytes(0, 4096), 4096);
}

/// Writing into a file leaves zeros as holes but gives the same bytes as
/// the sequential writer, also over a file that held other data before;
/// a mostly empty 1 GiB card image takes almost no disk space.
#[test]
fn file_output_is_sparse_and_byte_identical() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let vol = sample(tmp.path());
    for (size, partition) in [(64 * MIB, true), (300 * MIB, false), (1024 * MIB, true)] {
        for threads in [1, 2] {
            let opts = Fat32Options { partition, threads };
            let (l, seq) = build(&vol, size, &opts);
            let path = tmp.path().join("out.img");
            std::fs::write(&path, vec![0xAAu8; 3 << 20]).unwrap();
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            fat32::write_image_file(&vol, &l, &f).unwrap();
            drop(f);
            let got = std::fs::read(&path).unwrap();
            assert!(
                got == seq,
                "size {size}, partition {partition}, threads {threads}"
            );
            let m = std::fs::metadata(&path).unwrap();
            assert_eq!(m.len(), size);
            if size == 1024 * MIB {
                assert!(
                    m.blocks() * 512 < 64 * MIB,
                    "{} bytes allocated",
                    m.blocks() * 512
                );
            }
        }
    }
}
