//! The ISO 9660 + Joliet writer checked against independent readers:
//! xorriso (libisofs/libisoburn), 7-Zip (p7zip-full) and isoinfo
//! (genisoimage). Every input is generated here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use baram_drop::iso::{self, Error, IsoModel};
use baram_drop::plan::FsModel;
use baram_drop::tree::{Entry, EntryKind, Source, Timestamp, Volume};
use proptest::prelude::*;

/// path -> Some(content) for files, None for folders.
type Expected = BTreeMap<Vec<String>, Option<Vec<u8>>>;

fn need(tool: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"] {
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

fn folder(path: &str) -> Entry {
    Entry {
        path: p(path),
        kind: EntryKind::Dir,
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

const TS: Timestamp = Timestamp {
    year: 2010,
    month: 1,
    day: 1,
    hour: 12,
    minute: 34,
    second: 57,
};

/// The awkward cases: Korean names, mixed case, exact 8.3 names, names
/// whose 8.3 forms collide, long names, empty files, odd sizes, an empty
/// folder, a folder of many entries (several directory sectors in both
/// trees), a path deeper than ECMA-119's 8 levels, files on disk and in
/// memory.
fn sample(dir: &Path) -> Volume {
    let mut entries = Vec::new();
    let on_disk = [
        ("video/01 사랑의 불시착 1화.avi", 3_000_001usize),
        ("video/01 사랑의 불시착 2화.avi", 2_500_001),
        ("video/02 사랑의 불시착 10화.avi", 2048),
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
    entries.push(file_bytes("video/empty 빈 파일", Vec::new()));
    entries.push(file_bytes("odd.bin", data(7, 2047)));
    entries.push(file_bytes(
        "a long name with 한국어, 64 units exactly...............end.txt",
        data(8, 1234),
    ));
    entries.push(file_bytes("weird +,=[] name.dat", data(9, 10)));
    entries.push(file_bytes("several.dots.in.name.tar.gz", data(10, 77)));
    entries.push(file_bytes("noextension", data(11, 13)));
    entries.push(folder("빈 폴더"));
    for i in 0..150 {
        entries.push(file_bytes(
            &format!("many/항목 번호 {i:03} 사랑의 불시착.txt"),
            data(100 + i, (i * 37 % 5000) as usize),
        ));
    }
    entries.push(file_bytes(
        "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/깊은 파일.txt",
        b"deep".to_vec(),
    ));
    Volume {
        label: "Drop 7".into(),
        timestamp: TS,
        serial: 0xDEAD_BEEF,
        entries,
    }
}

fn build(vol: &Volume) -> Vec<u8> {
    let l = iso::layout(vol).unwrap();
    let mut out = Vec::new();
    let n = iso::write_image(vol, &l, &mut out).unwrap();
    assert_eq!(n, out.len() as u64);
    assert_eq!(out.len() as u64, l.image_size());
    assert_eq!(out.len() as u64, iso::image_size(vol).unwrap());
    assert_eq!(out.len() % 2048, 0);
    out
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

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

fn assert_same_tree(reader: &str, got: &Expected, expected: &Expected) {
    let missing: Vec<_> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{reader}: missing {missing:?}, extra {extra:?}"
    );
    for (k, v) in expected {
        assert!(got.get(k) == Some(v), "{reader} read {k:?} differently");
    }
}

/// xorriso extracts the Joliet tree: every name and byte exact, and no
/// warning while loading or extracting.
fn check_xorriso(image: &Path, expected: &Expected) {
    let xorriso = need("xorriso", "xorriso");
    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("x");
    // Without Rock Ridge, xorriso loads the Joliet tree (-read_fs any);
    // the Korean names below can only come from there.
    run(Command::new(&xorriso)
        .args(["-abort_on", "WARNING", "-return_with", "WARNING", "32"])
        .args(["-osirrox", "on", "-indev"])
        .arg(image)
        .args(["-extract", "/"])
        .arg(&out));
    let mut got = Expected::new();
    walk_host(&out, &mut Vec::new(), &mut got);
    assert_same_tree("xorriso", &got, expected);
}

/// The primary (ECMA-119) tree, read by xorriso without Joliet: the same
/// folders and file contents (both trees share the extents), every name a
/// level-1 8.3 name of d-characters, unique in its folder.
fn check_primary_tree(image: &Path, expected: &Expected) {
    let xorriso = need("xorriso", "xorriso");
    let dest = tempfile::tempdir().unwrap();
    let out = dest.path().join("x");
    run(Command::new(&xorriso)
        .args(["-abort_on", "WARNING", "-return_with", "WARNING", "32"])
        .args(["-read_fs", "ecma119", "-osirrox", "on", "-indev"])
        .arg(image)
        .args(["-extract", "/"])
        .arg(&out));
    let mut got = Expected::new();
    walk_host(&out, &mut Vec::new(), &mut got);
    assert_eq!(got.len(), expected.len());
    for path in got.keys() {
        let name = path.last().unwrap();
        let (base, ext) = name.split_once('.').unwrap_or((name, ""));
        let d = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        };
        assert!(
            !base.is_empty() && base.len() <= 8 && ext.len() <= 3 && d(base) && d(ext),
            "primary name {name:?} is not level 1"
        );
    }
    let contents = |m: &Expected| {
        let mut v: Vec<Vec<u8>> = m.values().flatten().cloned().collect();
        v.sort();
        v
    };
    assert_eq!(contents(&got), contents(expected));
    let depth = |m: &Expected| m.keys().map(Vec::len).max();
    assert_eq!(depth(&got), depth(expected));
}

/// 7-Zip, a second independent reader, extracts the same tree.
fn check_7z(image: &Path, expected: &Expected) {
    let sz = need("7z", "p7zip-full");
    let dest = tempfile::tempdir().unwrap();
    let text = run(Command::new(sz)
        .arg("x")
        .arg(format!("-o{}", dest.path().display()))
        .arg("-y")
        .arg(image));
    assert!(!text.contains("WARNING"), "7z warned:\n{text}");
    let mut got = Expected::new();
    walk_host(dest.path(), &mut Vec::new(), &mut got);
    assert_same_tree("7z", &got, expected);
}

fn write_image_file(dir: &Path, img: &[u8]) -> PathBuf {
    let f = dir.join("drop.iso");
    std::fs::write(&f, img).unwrap();
    f
}

#[test]
fn sample_passes_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let vol = sample(dir.path());
    let img = build(&vol);
    let f = write_image_file(dir.path(), &img);
    let expected = expected_of(&vol);
    check_xorriso(&f, &expected);
    check_primary_tree(&f, &expected);
    check_7z(&f, &expected);
}

/// isoinfo reads the descriptors: blank publisher, preparer, application,
/// volume set and system ids; the label; the fixed dates; and lists the
/// Korean names of the Joliet tree with the fixed date on every record.
#[test]
fn isoinfo_sees_blank_ids_fixed_dates_and_korean_names() {
    let isoinfo = need("isoinfo", "genisoimage");
    let dir = tempfile::tempdir().unwrap();
    let vol = sample(dir.path());
    let f = write_image_file(dir.path(), &build(&vol));
    let d = run(Command::new(&isoinfo).args(["-d", "-debug", "-i"]).arg(&f));
    let field = |name: &str| -> String {
        let line = d
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("isoinfo -d printed no {name:?}:\n{d}"));
        line[name.len()..].trim().to_string()
    };
    assert_eq!(field("Volume id:"), "DROP 7");
    for empty in [
        "System id:",
        "Volume set id:",
        "Publisher id:",
        "Data preparer id:",
        "Application id:",
        "Copyright File id:",
        "Abstract File id:",
        "Bibliographic File id:",
    ] {
        assert_eq!(field(empty), "", "{empty}\n{d}");
    }
    assert_eq!(
        field("Volume size is:"),
        (iso::image_size(&vol).unwrap() / 2048).to_string()
    );
    assert!(d.contains("Joliet with UCS level 3 found"), "{d}");
    for date in ["Creation Date:", "Modification Date:", "Effective Date:"] {
        assert!(
            field(date).starts_with("2010 01 01 12:34:57.00"),
            "{date}\n{d}"
        );
    }
    assert!(
        field("Expiration Date:").starts_with("0000 00 00 00:00:00.00"),
        "{d}"
    );

    // isoinfo knows no UTF-8 or Korean charset: it decodes the UCS-2 names
    // and prints '_' for every character outside ISO 8859-1, so each Hangul
    // syllable shows as '_' (xorriso and 7z check the exact names).
    let l = run(Command::new(&isoinfo).args(["-J", "-l", "-i"]).arg(&f));
    let latin1 = |s: &str| -> String {
        s.chars()
            .map(|c| if (c as u32) < 0x100 { c } else { '_' })
            .collect()
    };
    for name in [
        "01 사랑의 불시착 1화.avi;1",
        "아리랑.mp3;1",
        "빈 폴더",
        "깊은 파일.txt;1",
        "항목 번호 149 사랑의 불시착.txt;1",
        "a long name with 한국어, 64 units exactly...............end.txt;1",
        "Index.Htm;1",
    ] {
        let shown = latin1(name);
        assert!(
            l.lines()
                .any(|x| x.trim_end().ends_with(&format!("]  {shown}"))),
            "isoinfo -J -l lacks {shown:?} ({name}):\n{l}"
        );
    }
    assert!(
        l.contains("Directory listing of /d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/"),
        "{l}"
    );
    // Every record's date: "Jan  1 2010".
    let records: Vec<&str> = l.lines().filter(|x| x.contains(" [ ")).collect();
    assert!(records.len() > 150);
    for r in &records {
        assert!(r.contains("Jan  1 2010"), "{r}");
    }
    // The primary tree too (isoinfo without -J).
    let l = run(Command::new(&isoinfo).args(["-l", "-i"]).arg(&f));
    assert!(l.contains("01_1.AVI;1"), "{l}");
    assert!(l.contains("README.TXT;1"), "{l}");
}

/// Nothing in the image names the tool, the user, the host or the folder
/// the sources came from, in ASCII or in UCS-2.
#[test]
fn image_names_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let vol = sample(dir.path());
    let img = build(&vol);
    let f = write_image_file(dir.path(), &img);
    let host = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap();
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let tmp = dir.path().to_str().unwrap().to_string();
    let mut needles = vec![
        "baram".to_string(),
        "BARAM".to_string(),
        "xorriso".to_string(),
        "mkisofs".to_string(),
        "linux".to_string(),
        "LINUX".to_string(),
        tmp.clone(),
        dir.path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string(),
        "/tmp".to_string(),
    ];
    for s in [host.trim(), user.trim()] {
        if s.len() >= 3 {
            needles.push(s.to_string());
            needles.push(s.to_uppercase());
        }
    }
    let strings = run(Command::new(need("strings", "binutils")).arg("-a").arg(&f));
    let strings_be = run(Command::new(need("strings", "binutils"))
        .args(["-a", "-e", "b"])
        .arg(&f));
    for n in &needles {
        assert!(!strings.contains(n.as_str()), "strings finds {n:?}");
        assert!(!strings_be.contains(n.as_str()), "strings -e b finds {n:?}");
        let ucs2: Vec<u8> = n.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert!(!img.windows(n.len()).any(|w| w == n.as_bytes()), "{n:?}");
        assert!(!img.windows(ucs2.len()).any(|w| w == ucs2), "UCS-2 {n:?}");
    }
}

/// Descriptor fields read back by hand: both-endian sizes, the Joliet
/// escape sequence, the terminator, the system area.
#[test]
fn descriptor_fields() {
    let vol = Volume {
        label: "dvd".into(),
        timestamp: TS,
        serial: 1,
        entries: vec![file_bytes("a.txt", b"a".to_vec())],
    };
    let img = build(&vol);
    assert!(img[..16 * 2048].iter().all(|&b| b == 0));
    let pvd = &img[16 * 2048..17 * 2048];
    let svd = &img[17 * 2048..18 * 2048];
    let term = &img[18 * 2048..19 * 2048];
    assert_eq!(&pvd[..7], b"\x01CD001\x01");
    assert_eq!(&svd[..7], b"\x02CD001\x01");
    assert_eq!(&term[..7], b"\xFFCD001\x01");
    assert_eq!(&svd[88..91], b"%/E");
    assert_eq!(&pvd[40..72], b"DVD                             ");
    assert_eq!(&svd[40..46], &[0, b'd', 0, b'v', 0, b'd']);
    let sectors = (img.len() / 2048) as u32;
    for d in [pvd, svd] {
        assert_eq!(&d[80..84], &sectors.to_le_bytes());
        assert_eq!(&d[84..88], &sectors.to_be_bytes());
        assert_eq!(&d[128..132], &[0, 8, 8, 0]);
        assert_eq!(&d[813..830], b"2010010112345700\0");
        assert_eq!(&d[847..864], b"0000000000000000\0");
        // Root directory record date.
        assert_eq!(&d[156 + 18..156 + 25], &[110, 1, 1, 12, 34, 57, 0]);
    }
    assert!(pvd[8..40].iter().all(|&b| b == b' '));
    assert!(pvd[190..813].iter().all(|&b| b == b' '));
    assert!(pvd[883..].iter().all(|&b| b == 0));
}

fn shuffled(vol: &Volume, seed: u64) -> Volume {
    let mut v = vol.clone();
    let mut x = seed | 1;
    for i in (1..v.entries.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.entries.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// The same volume with its entries in any order gives the same bytes.
    #[test]
    fn same_bytes_for_any_entry_order(seed in any::<u64>()) {
        let dir = tempfile::tempdir().unwrap();
        let vol = sample(dir.path());
        let a = build(&vol);
        let b = build(&shuffled(&vol, seed));
        prop_assert!(a == b);
    }
}

/// A random volume of files only (folders implied), Korean and ASCII names
/// of random lengths, 0-3 folder levels, random sizes.
fn random_volume(seed: u64, files: usize) -> Volume {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let syllables = [
        "사", "랑", "불", "시", "착", "화", "a", "B", "1", " ", "_", "-", ".",
    ];
    let name = |next: &mut dyn FnMut() -> u64, max: u64| {
        let len = 1 + next() % max;
        let mut s: String = (0..len)
            .map(|_| syllables[(next() % syllables.len() as u64) as usize])
            .collect();
        s = s.trim_end_matches(['.', ' ']).to_string();
        if s.is_empty() || s == "." {
            s = "x".into();
        }
        s
    };
    let dirs: Vec<String> = (0..4).map(|_| name(&mut next, 12)).collect();
    let mut seen = BTreeSet::new();
    let mut entries = Vec::new();
    for i in 0..files {
        let depth = next() % 4;
        let mut path: Vec<String> = (0..depth)
            .map(|_| dirs[(next() % dirs.len() as u64) as usize].clone())
            .collect();
        path.push(format!("{}{i}", name(&mut next, 60)));
        let folded: Vec<String> = path.iter().map(|c| c.to_uppercase()).collect();
        if !seen.insert(folded) {
            continue;
        }
        let size = match next() % 4 {
            0 => 0,
            1 => next() % 5000,
            2 => 2048 * (next() % 4),
            _ => next() % 200_000,
        };
        entries.push(Entry {
            path,
            kind: EntryKind::File {
                size,
                source: Source::Bytes(Arc::new(vec![0u8; size as usize])),
            },
        });
    }
    Volume {
        label: "R".into(),
        timestamp: TS,
        serial: 0,
        entries,
    }
}

fn files_of(vol: &Volume) -> Vec<(Vec<String>, u64)> {
    vol.entries
        .iter()
        .map(|e| match e.kind {
            EntryKind::File { size, .. } => (e.path.clone(), size),
            EntryKind::Dir => unreachable!(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whenever the model says a set of files fits a volume, its image is
    /// no larger than that volume. Checked at the tightest volume the model
    /// accepts (its layout cost plus its fixed overhead), and one sector
    /// below it the model must refuse.
    #[test]
    fn model_fits_implies_image_fits(seed in any::<u64>(), n in 0usize..400) {
        let vol = random_volume(seed, n);
        let size = match iso::image_size(&vol) {
            Ok(s) => s,
            // Only names the writer refuses (none expected).
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let big = IsoModel::new(1 << 40).unwrap();
        let cost = big.layout_bytes(&files_of(&vol)).unwrap();
        let tight = (cost + big.figures().fixed_overhead_bytes).div_ceil(2048) * 2048;
        let m = IsoModel::new(tight).unwrap();
        prop_assert_eq!(m.layout_bytes(&files_of(&vol)).unwrap(), cost);
        prop_assert!(cost <= m.figures().allocatable_bytes, "the model refuses its own size");
        prop_assert!(size <= m.figures().volume_bytes, "image {} > volume {}", size, m.figures().volume_bytes);
        // The linear pieces never exceed the model's layout cost.
        let linear: u64 = files_of(&vol).iter().map(|(p, s)| big.file_cost(p.last().unwrap(), *s)).sum();
        prop_assert!(linear <= cost);
        if tight >= 2048 * 30
            && let Ok(m) = IsoModel::new(tight - 2048)
        {
            prop_assert!(cost > m.figures().allocatable_bytes);
        }
    }
}

/// The planner with the ISO model on a small "DVD": the chosen files' image
/// fits the volume.
#[test]
fn planned_dvd_fits() {
    use baram_drop::plan::{Candidate, Request, plan_with};
    use baram_library::Kind;
    let mut cands = Vec::new();
    for id in 1..=120i64 {
        let kind = [Kind::Video, Kind::Audio, Kind::Book][(id % 3) as usize];
        let mut c = Candidate::new(id, (id as u64 * 7919) % 300_000, (id % 97 + 1) as u8, kind);
        c.name = format!("{id:03} 사랑의 불시착 {id}화.avi");
        cands.push(c);
    }
    let req = Request {
        candidates: cands,
        medium: "6000000".into(),
        margin_percent: 0.0,
        ..Request::default()
    };
    let out = plan_with(&req, &|v| {
        IsoModel::new(v).map(|m| Box::new(m) as Box<dyn FsModel>)
    })
    .unwrap();
    let plan = &out.plan;
    assert!(!plan.variants[0].files.is_empty());
    let vol = plan
        .volume(0, "DVD", |f, _| {
            Source::Bytes(Arc::new(vec![1u8; f.size as usize]))
        })
        .unwrap();
    let size = iso::image_size(&vol).unwrap();
    assert!(size <= 6_000_000, "{size}");
    // Not absurdly conservative: the image uses most of the volume.
    assert!(size > 5_000_000, "{size}");
}

#[test]
fn refuses_what_iso_cannot_hold() {
    let one = |path: &str| Volume {
        label: "X".into(),
        timestamp: TS,
        serial: 0,
        entries: vec![file_bytes(path, b"x".to_vec())],
    };
    for bad in [
        "a;b.txt",
        "smile 😀.txt",
        &"가".repeat(65),
        "trailing.",
        "what?",
        "CON.txt",
    ] {
        assert!(
            matches!(iso::layout(&one(bad)), Err(Error::InvalidName { .. })),
            "{bad:?} was accepted"
        );
    }
    assert!(iso::layout(&one(&"가".repeat(64))).is_ok());
    let mut v = one("Same.txt");
    v.entries.push(file_bytes("same.TXT", b"y".to_vec()));
    assert!(matches!(iso::layout(&v), Err(Error::Duplicate { .. })));
    let mut v = one("a");
    v.entries.push(file_bytes("a/b", b"y".to_vec()));
    assert!(matches!(
        iso::layout(&v),
        Err(Error::FileDirConflict { .. })
    ));
    let big = Volume {
        label: "X".into(),
        timestamp: TS,
        serial: 0,
        entries: vec![Entry {
            path: p("big.mkv"),
            kind: EntryKind::File {
                size: 1 << 32,
                source: Source::Path("/nonexistent".into()),
            },
        }],
    };
    let e = iso::layout(&big).unwrap_err();
    assert!(matches!(e, Error::FileTooLarge { .. }));
    assert!(e.to_string().contains("big.mkv"), "{e}");
    for label in ["사랑", "seventeen chars!!", "a/b"] {
        let mut v = one("a");
        v.label = label.into();
        assert!(
            matches!(iso::layout(&v), Err(Error::InvalidLabel { .. })),
            "{label:?}"
        );
    }
    let mut v = one("a");
    v.timestamp.month = 13;
    assert!(matches!(
        iso::layout(&v),
        Err(Error::InvalidTimestamp { .. })
    ));
    let mut v = one("a");
    v.entries.push(Entry {
        path: Vec::new(),
        kind: EntryKind::Dir,
    });
    assert!(matches!(iso::layout(&v), Err(Error::EmptyPath)));
    let long: Vec<String> = (0..30).map(|i| format!("folder {i:02}")).collect();
    let mut v = one("a");
    v.entries.push(Entry {
        path: long,
        kind: EntryKind::Dir,
    });
    assert!(matches!(iso::layout(&v), Err(Error::PathTooLong { .. })));
}

#[test]
fn sources_must_have_their_declared_size() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::write(&src, data(1, 5000)).unwrap();
    let vol = |size| Volume {
        label: String::new(),
        timestamp: TS,
        serial: 0,
        entries: vec![Entry {
            path: p("영화/f.avi"),
            kind: EntryKind::File {
                size,
                source: Source::Path(src.clone()),
            },
        }],
    };
    for size in [4999, 5001] {
        let v = vol(size);
        let l = iso::layout(&v).unwrap();
        let mut out = Vec::new();
        let e = iso::write_image(&v, &l, &mut out).unwrap_err();
        assert!(matches!(e, Error::SourceSizeMismatch { .. }), "{e}");
        assert!(e.to_string().contains("영화/f.avi"), "{e}");
        assert!(out.is_empty(), "nothing is written before the check");
    }
    // The source changes after layout: caught before writing.
    let v = vol(5000);
    let l = iso::layout(&v).unwrap();
    std::fs::write(&src, data(1, 5001)).unwrap();
    let e = iso::write_image(&v, &l, &mut Vec::new()).unwrap_err();
    assert!(matches!(e, Error::SourceSizeMismatch { .. }), "{e}");
    // A layout for another volume is refused.
    let other = Volume {
        entries: Vec::new(),
        ..vol(5000)
    };
    assert!(matches!(
        iso::write_image(&other, &l, &mut Vec::new()),
        Err(Error::LayoutMismatch)
    ));
    // Bytes sources too.
    let bad = Volume {
        label: String::new(),
        timestamp: TS,
        serial: 0,
        entries: vec![Entry {
            path: p("x"),
            kind: EntryKind::File {
                size: 3,
                source: Source::Bytes(Arc::new(vec![1, 2])),
            },
        }],
    };
    assert!(matches!(
        iso::layout(&bad),
        Err(Error::BytesSizeMismatch { .. })
    ));
}

/// An empty volume and a volume of only empty files and folders are valid
/// images that every reader opens.
#[test]
fn empty_volumes() {
    let dir = tempfile::tempdir().unwrap();
    for vol in [
        Volume {
            label: String::new(),
            timestamp: TS,
            serial: 0,
            entries: Vec::new(),
        },
        Volume {
            label: "E".into(),
            timestamp: TS,
            serial: 0,
            entries: vec![folder("빈"), file_bytes("빈/0", Vec::new())],
        },
    ] {
        let img = build(&vol);
        let f = write_image_file(dir.path(), &img);
        let expected = expected_of(&vol);
        check_xorriso(&f, &expected);
        check_7z(&f, &expected);
    }
}

/// Hundreds of folders with long Korean names: path tables of several
/// sectors in both trees. Every reader sees every folder, and the path
/// tables (which xorriso and 7z do not need) list exactly the folders'
/// extents that the directory records give, in both trees.
#[test]
fn many_folders_and_multi_sector_path_tables() {
    let isoinfo = need("isoinfo", "genisoimage");
    let dir = tempfile::tempdir().unwrap();
    let mut entries = Vec::new();
    for i in 0..400 {
        entries.push(file_bytes(
            &format!(
                "시리즈 {:02}/사랑의 불시착 시즌 {i:03} 모음집 아주 긴 이름의 폴더/{i}.txt",
                i % 7
            ),
            data(i, (i % 3) as usize * 1000),
        ));
    }
    let vol = Volume {
        label: "MANY".into(),
        timestamp: TS,
        serial: 0,
        entries,
    };
    let img = build(&vol);
    // Joliet path table: 408 records of 8 + 2 x ~30 bytes: several sectors.
    let joliet_pt = u32::from_le_bytes(img[17 * 2048 + 132..17 * 2048 + 136].try_into().unwrap());
    assert!(joliet_pt > 3 * 2048, "{joliet_pt}");
    let f = write_image_file(dir.path(), &img);
    let expected = expected_of(&vol);
    check_xorriso(&f, &expected);
    check_7z(&f, &expected);
    for joliet in [false, true] {
        let j: &[&str] = if joliet { &["-J"] } else { &[] };
        let pt = run(Command::new(&isoinfo).args(j).args(["-p", "-i"]).arg(&f));
        let ls = run(Command::new(&isoinfo).args(j).args(["-l", "-i"]).arg(&f));
        // "  N:    P EXTENT(hex) NAME"
        let mut from_pt: Vec<u64> = pt
            .lines()
            .filter(|l| {
                l.trim_start()
                    .split(':')
                    .next()
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                u64::from_str_radix(f[2], 16).unwrap()
            })
            .collect();
        // Each listing's "." record: "[ EXTENT 02]  . "
        let mut from_ls: Vec<u64> = ls
            .lines()
            .filter(|l| l.trim_end().ends_with("]  ."))
            .map(|l| {
                let inner = &l[l.rfind('[').unwrap() + 1..l.rfind(']').unwrap()];
                inner.split_whitespace().next().unwrap().parse().unwrap()
            })
            .collect();
        from_pt.sort();
        from_ls.sort();
        assert_eq!(from_pt.len(), 1 + 7 + 400, "joliet {joliet}:\n{pt}");
        assert_eq!(from_pt, from_ls, "joliet {joliet}");
    }
}
