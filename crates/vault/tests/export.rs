//! Triage, `show` and case export end to end, through the real intake,
//! import and processing of the sanitizer's fixtures: triage is kept only
//! encrypted and survives reopening; search filters by it; an export holds
//! only safe derivatives, text and notes marked for export, with a manifest,
//! and none of the planted identifying data (every byte of the ZIP and of each
//! inflated entry searched; exiftool on every entry); items without a safe
//! copy are left out and said so; the sanitizer refuses, fail closed; two
//! exports are byte-identical (and a property test: whatever order and case
//! name the items were added under).

mod common;
use baram_sanitize::fixtures;
use baram_vault::search::Query;
use baram_vault::{IntakeOptions, Keys, TriageStatus, Vault};
use common::*;
use proptest::prelude::*;
use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const COURIER: &str = "C-0419-백두";
const INTAKE_NOTE: &str = "received near Hyesan 혜산, second trip";

/// Every intake here carries a courier code and a note.
fn courier_and_note() -> IntakeOptions {
    IntakeOptions {
        courier: Some(COURIER.into()),
        note: Some(INTAKE_NOTE.into()),
    }
}
const CASE: &str = "Hyesan 혜산 border post";
const TAG: &str = "TAG-courier-route-혜산";
const NOTE_OUT: &str = "EXPORTED-NOTE-0001: 장마당 가격 자료, verified by two sources";
const NOTE_IN: &str = "PRIVATE-NOTE-0002: the courier's cousin works at the post";

fn find(h: &[u8], n: &[u8]) -> bool {
    memchr::memmem::find(h, n).is_some()
}

/// The entries of a ZIP: (name, inflated bytes), in ZIP order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut v = Vec::new();
            f.read_to_end(&mut v).unwrap();
            (f.name().unwrap().to_string(), v)
        })
        .collect()
}

/// Serials planted as Red Star chains (made unique per run).
struct Planted {
    serials: Vec<String>,
}

fn fixture_set(p: &Planted) -> Vec<(&'static str, Vec<u8>)> {
    let s: Vec<&str> = p.serials.iter().map(String::as_str).collect();
    vec![
        (
            "IMG_2041 혜산 photo.jpg",
            baram_sanitize::redstar::append_trailer(&fixtures::jpeg_with_exif(), &s[0..3]),
        ),
        (
            "map-redstar1.png",
            baram_sanitize::redstar::append_trailer(&fixtures::png_with_text(), &s[3..4]),
        ),
        (
            "poster.webp",
            baram_sanitize::redstar::append_trailer(&fixtures::webp_with_exif(), &s[4..6]),
        ),
        ("animation.gif", fixtures::gif_with_comment()),
        (
            "report-redstar2.docx",
            fixtures::docx_with_redstar(&s[6..8], true),
        ),
        (
            "증언 testimony.txt",
            "MARKER-TESTIMONY-0001 평양에서 온 증언: 시장 쌀값이 올랐다.\n"
                .as_bytes()
                .to_vec(),
        ),
        ("truncated.jpg", {
            let mut j = fixtures::jpeg_with_exif();
            j.truncate(j.len() / 2);
            j
        }),
    ]
}

/// The strings and byte patterns no export may hold.
fn forbidden(p: &Planted, v: &Vault, keys: &Keys) -> Vec<(String, Vec<u8>)> {
    let mut f: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |what: &str, b: &[u8]| f.push((what.to_string(), b.to_vec()));
    for s in fixtures::PLANTED {
        add("planted", s.as_bytes());
    }
    add("gps", fixtures::PLANTED_GPS.0.as_bytes());
    add("gps", fixtures::PLANTED_GPS.1.as_bytes());
    add("date", fixtures::PLANTED_DATE.as_bytes());
    for s in &p.serials {
        add("serial", s.as_bytes());
        add(
            "redstar block",
            &baram_sanitize::redstar::encode_blocks(&[s]),
        );
    }
    add("courier", COURIER.as_bytes());
    add("intake note", INTAKE_NOTE.as_bytes());
    add("intake note", b"Hyesan");
    add("case", CASE.as_bytes());
    add("tag", TAG.as_bytes());
    add("private note", b"PRIVATE-NOTE-0002");
    add("exif", b"Exif\0\0");
    add("xmp", b"x:xmpmeta");
    add("xmp", b"http://ns.adobe.com");
    add("png text", b"tEXt");
    add("png text", b"iTXt");
    add("png time", b"tIME");
    add("docx", b"docProps");
    for it in v.list(keys).unwrap() {
        add("item id", it.id.as_bytes());
        add("bundle id", it.bundle_id.as_bytes());
        let r = it.record.unwrap();
        add("original name", r.original_name.as_bytes());
        add("original path", r.original_path.as_bytes());
        add("received time", r.received_at.as_bytes());
        // The day and minute of receipt too, in case a format kept it.
        add("received minute", &r.received_at.as_bytes()[..16]);
    }
    f
}

fn assert_clean_export(zip_bytes: &[u8], forbidden: &[(String, Vec<u8>)], work: &Path) {
    let entries = unzip(zip_bytes);
    let mut blobs: Vec<(String, &[u8])> = vec![("the zip".into(), zip_bytes)];
    for (n, d) in &entries {
        blobs.push((n.clone(), d));
        for (what, b) in forbidden {
            assert!(
                !find(n.as_bytes(), b),
                "entry name {n} holds the {what} {:?}",
                String::from_utf8_lossy(b)
            );
        }
    }
    for (name, data) in &blobs {
        for (what, b) in forbidden {
            assert!(
                !find(data, b),
                "{name} holds the {what} {:?}",
                String::from_utf8_lossy(b)
            );
        }
        assert!(
            baram_sanitize::redstar::find_trailer(data).is_none(),
            "{name}: a Red Star chain"
        );
    }
    // exiftool, the independent oracle, on every extracted entry.
    let dir = work.join(unique("extracted"));
    fs::create_dir_all(&dir).unwrap();
    for (i, (n, d)) in entries.iter().enumerate() {
        let ext = n.rsplit('.').next().unwrap();
        let p = dir.join(format!("{i}.{ext}"));
        fs::write(&p, d).unwrap();
        let o = Command::new("exiftool")
            .args(["-a", "-G1", "-u"])
            .arg(&p)
            .output()
            .expect("exiftool (apt-get install libimage-exiftool-perl)");
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{n}: {s}");
        for bad in [
            "[IFD0]",
            "[ExifIFD]",
            "[GPS]",
            "[XMP",
            "[IPTC",
            "[ICC",
            "Serial",
            "GPS",
            "Author",
            "Creator",
            "Comment",
            "Warning",
            "Trailer",
        ] {
            assert!(!s.contains(bad), "exiftool found {bad} in {n}:\n{s}");
        }
    }
}

#[test]
fn triage_show_search_and_an_export_that_names_no_source() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let planted = Planted {
        serials: (0..8).map(|i| unique(&format!("WD-EXP{i}"))).collect(),
    };
    let files = fixture_set(&planted);
    let ids = bring_in_with(&root, t.path(), &files, &courier_and_note());
    {
        let (mut v, keys) = open(&root);
        v.process(&keys, &Default::default(), &|_, _| {}).unwrap();
    }
    // One more item, imported after processing: not processed yet.
    let late = bring_in_with(
        &root,
        t.path(),
        &[("late.png", fixtures::png_plain())],
        &courier_and_note(),
    );
    let late_id = late["late.png"].clone();

    // Triage.
    let (mut v, keys) = open(&root);
    let photo = ids["IMG_2041 혜산 photo.jpg"].clone();
    let testimony = ids["증언 testimony.txt"].clone();
    let truncated = ids["truncated.jpg"].clone();
    let mut members: Vec<String> = ids.values().cloned().collect();
    members.push(late_id.clone());
    v.case_add(&keys, CASE, &members).unwrap();
    v.case_add(&keys, "다른 사건", std::slice::from_ref(&testimony))
        .unwrap();
    v.set_status(&keys, &photo, TriageStatus::Verified).unwrap();
    v.tag(&keys, &photo, &[TAG.into(), "market".into()], false)
        .unwrap();
    v.tag(&keys, &photo, &["market".into()], true).unwrap();
    // By a unique prefix of the id.
    v.add_note(&keys, &photo[..8], NOTE_OUT, true).unwrap();
    v.add_note(&keys, &photo, NOTE_IN, false).unwrap();
    v.add_note(&keys, &testimony, "a second exported note", true)
        .unwrap();
    assert!(matches!(
        v.set_status(&keys, "ffffffffffff", TriageStatus::New),
        Err(baram_vault::Error::NoSuchItem(_))
    ));
    assert!(v.add_note(&keys, &photo, "  ", true).is_err());
    drop(v);

    // Read back after reopening (read-only), all of it.
    let v = Vault::open(&root).unwrap();
    let keys = v.unlock(&pass()).unwrap();
    let tr = v.triage(&keys, &photo).unwrap();
    assert_eq!(tr.status, TriageStatus::Verified);
    assert_eq!(tr.tags.iter().collect::<Vec<_>>(), [TAG]);
    assert_eq!(tr.cases.iter().collect::<Vec<_>>(), [CASE]);
    assert_eq!(tr.notes.len(), 2);
    assert!(tr.notes[0].export && !tr.notes[1].export);
    assert_eq!(tr.notes[1].text, NOTE_IN);
    assert_eq!(
        v.triage(&keys, &truncated).unwrap().status,
        TriageStatus::New
    );
    let cases = v.cases(&keys).unwrap();
    assert_eq!(
        cases.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        [CASE, "다른 사건"]
    );
    assert_eq!(cases[0].items.len(), members.len());
    assert_eq!(cases[1].items, [testimony.as_str()]);
    assert!(matches!(
        v.case_items(&keys, "no such case"),
        Err(baram_vault::Error::NoSuchCase(_))
    ));

    // Nothing of it in clear anywhere in the vault (catalog, WAL, blobs).
    for f in all_files(&root) {
        let b = fs::read(&f).unwrap();
        for s in [
            CASE,
            TAG,
            "다른 사건",
            "EXPORTED-NOTE-0001",
            "PRIVATE-NOTE-0002",
            "verified",
        ] {
            assert!(!find(&b, s.as_bytes()), "{}: holds {s:?}", f.display());
        }
    }

    // Search filters from the triage data.
    let (index, items) = v.search_index(&keys).unwrap();
    let hit_ids = |q: Query| -> Vec<String> {
        let mut v: Vec<String> = index
            .search(&q)
            .unwrap()
            .iter()
            .map(|h| items[h.doc_id as usize].id.clone())
            .collect();
        v.sort();
        v
    };
    let mut q = Query::new("");
    q.tag = Some(TAG.into());
    assert_eq!(hit_ids(q), [photo.as_str()]);
    let mut q = Query::new("");
    q.status = Some("verified".into());
    assert_eq!(hit_ids(q), [photo.as_str()]);
    let mut q = Query::new("");
    q.case = Some("다른 사건".into());
    assert_eq!(hit_ids(q), [testimony.as_str()]);
    let mut q = Query::new("평양");
    q.case = Some(CASE.into());
    assert_eq!(hit_ids(q), [testimony.as_str()]);
    let mut q = Query::new("");
    q.kind = Some("png".into());
    assert_eq!(
        hit_ids(q).len(),
        1,
        "the processed PNG (the late one is not processed)"
    );
    let rec_time = v.show(&keys, &photo).unwrap().record.unwrap().received_at;
    let day = &rec_time[..10];
    let mut q = Query::new("");
    q.date_from = Some(baram_vault::parse_time_bound(day, false).unwrap());
    q.date_to = Some(baram_vault::parse_time_bound(day, true).unwrap());
    q.limit = 100;
    assert_eq!(hit_ids(q).len(), members.len());
    let mut q = Query::new("");
    q.date_to = Some(baram_vault::parse_time_bound("2000-01-01", true).unwrap());
    assert!(hit_ids(q).is_empty());

    // Show: everything the analyst may see.
    let d = v.show(&keys, &photo).unwrap();
    let rec = d.record.as_ref().unwrap();
    assert_eq!(rec.courier.as_deref(), Some(COURIER));
    assert_eq!(rec.note.as_deref(), Some(INTAKE_NOTE));
    assert_eq!(rec.original_name, "IMG_2041 혜산 photo.jpg");
    assert_eq!(d.blake3.as_deref(), Some(rec.blake3.as_str()));
    let orig = &files[0].1;
    assert_eq!(d.size, Some(orig.len() as u64));
    {
        use sha2::Digest;
        let want: String = sha2::Sha256::digest(orig)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(d.sha256.as_deref(), Some(want.as_str()));
    }
    let p = d.processing.as_ref().unwrap();
    assert_eq!(p.status, "processed");
    let rs = p.redstar.as_ref().unwrap();
    assert_eq!(rs.blocks, 3);
    assert_eq!(rs.serials, planted.serials[0..3]);
    assert!(
        p.findings.iter().any(|f| f
            .value
            .as_deref()
            .unwrap_or("")
            .contains("PLANTED-SERIAL-4471")),
        "{:#?}",
        p.findings
    );
    assert!(p.findings.iter().any(|f| f.category == "location"));
    assert_eq!(
        d.derivatives
            .iter()
            .map(|x| x.kind.as_str())
            .collect::<Vec<_>>(),
        ["safe-image"]
    );
    assert_eq!(d.triage.status, TriageStatus::Verified);
    let dt = v.show(&keys, &testimony).unwrap();
    assert!(dt.text_excerpt.unwrap().contains("MARKER-TESTIMONY-0001"));
    let dq = v.show(&keys, &truncated).unwrap();
    assert_eq!(dq.processing.unwrap().status, "quarantined");
    assert!(v.show(&keys, &late_id).unwrap().processing.is_none());

    // The export.
    let out = t.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let zp = out.join("case.zip");
    let rep = v.export_case(&keys, CASE, &zp).unwrap();
    assert_eq!(rep.path.as_deref(), Some(zp.as_path()));
    let left: HashMap<&str, &baram_vault::export::LeftOut> =
        rep.left_out.iter().map(|l| (l.id.as_str(), l)).collect();
    assert!(
        left[truncated.as_str()].reason.contains("quarantined"),
        "{left:?}"
    );
    assert!(!left[truncated.as_str()].refused);
    assert!(
        left[late_id.as_str()]
            .reason
            .contains("baram vault process"),
        "{left:?}"
    );
    // The DOCX has no safe copy until documents are rendered: left out and
    // said so; once they are, it is exported and checked like the rest.
    let docx = &ids["report-redstar2.docx"];
    if let Some(l) = left.get(docx.as_str()) {
        assert!(l.reason.contains("baram vault process"), "{l:?}");
    }
    let exported = members.len() - rep.left_out.len();
    assert_eq!(rep.items as usize, exported);
    assert!(exported >= 5, "{rep:#?}");
    let bytes = fs::read(&zp).unwrap();
    // Nothing that names a source, in any byte (exiftool too).
    let forb = forbidden(&planted, &v, &keys);
    assert_clean_export(&bytes, &forb, t.path());
    assert_eq!(rep.size, bytes.len() as u64);
    let entries = unzip(&bytes);
    assert_eq!(entries.len() as u64, rep.entry_count);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries sorted");
    assert_eq!(*names.last().unwrap(), "manifest.json");
    for n in &names[..names.len() - 1] {
        assert!(n.starts_with("item-0"), "{n}");
    }
    // The manifest lists every other entry with its size and hashes.
    let manifest: serde_json::Value = serde_json::from_slice(&entries.last().unwrap().1).unwrap();
    let listed = manifest["entries"].as_array().unwrap();
    assert_eq!(listed.len(), entries.len() - 1);
    for ((n, data), m) in entries.iter().zip(listed) {
        use sha2::Digest;
        assert_eq!(m["path"], n.as_str());
        assert_eq!(m["size"], data.len() as u64);
        assert_eq!(m["blake3"], blake3::hash(data).to_hex().as_str());
        let sha: String = sha2::Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(m["sha256"], sha.as_str());
    }
    // The photo's folder: its safe image and the note for export only.
    let (photo_dir, _) = rep.map.iter().find(|(_, id)| *id == photo).unwrap();
    let in_photo: Vec<&str> = names
        .iter()
        .filter(|n| n.starts_with(&format!("{photo_dir}/")))
        .copied()
        .collect();
    assert_eq!(
        in_photo,
        [
            format!("{photo_dir}/note-01.txt"),
            format!("{photo_dir}/safe-image.png")
        ]
    );
    let note = &entries.iter().find(|(n, _)| *n == in_photo[0]).unwrap().1;
    assert_eq!(String::from_utf8_lossy(note), format!("{NOTE_OUT}\n"));
    let safe = &entries.iter().find(|(n, _)| *n == in_photo[1]).unwrap().1;
    assert_eq!(
        image::load_from_memory(safe).unwrap().to_rgba8(),
        image::load_from_memory(&fixtures::jpeg_with_exif())
            .unwrap()
            .to_rgba8()
    );
    let (tdir, _) = rep.map.iter().find(|(_, id)| *id == testimony).unwrap();
    assert!(names.contains(&format!("{tdir}/text.txt").as_str()));
    assert!(names.contains(&format!("{tdir}/note-01.txt").as_str()));
    // Neutral names in the order of the random ids, not of receipt.
    let mut by_id: Vec<&String> = rep.map.iter().map(|(_, id)| id).collect();
    let order = by_id.clone();
    by_id.sort();
    assert_eq!(by_id, order);

    // The exported note is there, the private one is not (checked above too).
    assert!(entries.iter().any(|(_, d)| find(d, b"EXPORTED-NOTE-0001")));

    // Byte-identical when made again; no temporary left in the folder.
    let zp2 = out.join("again.zip");
    v.export_case(&keys, CASE, &zp2).unwrap();
    assert_eq!(fs::read(&zp2).unwrap(), bytes);
    let mut left_files: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left_files.sort();
    assert_eq!(left_files, ["again.zip", "case.zip"]);
    {
        use std::os::unix::fs::PermissionsExt;
        let m = fs::metadata(&zp).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o644);
        assert_eq!(
            m.modified().unwrap(),
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(315_532_800)
        );
    }
    drop(v);

    // The vault is still consistent: triage blobs are known, none orphaned.
    let (mut v, keys) = open(&root);
    let c = v.check(&keys, false, &|_, _| {}).unwrap();
    assert!(c.is_clean(), "{c:#?}");
}

/// Fail closed: an item whose exported note carries its courier code, or
/// a derivative the sanitizer finds something in, is refused and reported;
/// notes not marked for export never go out; a case of only items without a
/// safe copy writes nothing.
#[test]
fn refused_items_and_notes_not_for_export() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let ids = bring_in_with(
        &root,
        t.path(),
        &[
            ("a.png", fixtures::png_plain()),
            ("b.txt", b"MARKER-B plain testimony\n".to_vec()),
            ("c.gif", fixtures::gif_with_comment()),
        ],
        &courier_and_note(),
    );
    let (mut v, keys) = open(&root);
    // Before processing: nothing can go out, nothing is written.
    v.case_add(&keys, "early", &[ids["a.png"].clone()]).unwrap();
    let zp = t.path().join("early.zip");
    let rep = v.export_case(&keys, "early", &zp).unwrap();
    assert!(rep.path.is_none() && rep.items == 0 && !zp.exists());
    assert!(rep.left_out[0].reason.contains("baram vault process"));
    assert_eq!(
        fs::read_dir(t.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp-"))
            .count(),
        0
    );

    v.process(&keys, &Default::default(), &|_, _| {}).unwrap();
    let all: Vec<String> = ids.values().cloned().collect();
    v.case_add(&keys, "k", &all).unwrap();
    v.add_note(
        &keys,
        &ids["a.png"],
        &format!("met {COURIER} at the river"),
        true,
    )
    .unwrap();
    v.add_note(
        &keys,
        &ids["b.txt"],
        "NOT-FOR-EXPORT-1 source lives in 혜산",
        false,
    )
    .unwrap();
    v.add_note(&keys, &ids["b.txt"], "FOR-EXPORT-2 summary", true)
        .unwrap();
    v.add_note(&keys, &ids["c.gif"], "NOT-FOR-EXPORT-3", false)
        .unwrap();
    let zp = t.path().join("k.zip");
    let rep = v.export_case(&keys, "k", &zp).unwrap();
    let refused: Vec<&baram_vault::export::LeftOut> =
        rep.left_out.iter().filter(|l| l.refused).collect();
    assert_eq!(refused.len(), 1, "{rep:#?}");
    assert_eq!(refused[0].id, ids["a.png"]);
    assert!(
        refused[0].reason.contains("courier code"),
        "{:?}",
        refused[0]
    );
    assert_eq!(rep.items, 2);
    let bytes = fs::read(&zp).unwrap();
    let entries = unzip(&bytes);
    let all_bytes: Vec<u8> = entries
        .iter()
        .flat_map(|(n, d)| [n.as_bytes(), &d[..]].concat())
        .collect();
    for s in ["NOT-FOR-EXPORT-1", "NOT-FOR-EXPORT-3", COURIER, "혜산"] {
        assert!(!find(&all_bytes, s.as_bytes()), "{s}");
        assert!(!find(&bytes, s.as_bytes()), "{s}");
    }
    assert!(find(&all_bytes, b"FOR-EXPORT-2 summary"));
    assert!(find(&all_bytes, b"MARKER-B plain testimony"));
    // Notes not for export of exported items: none in the manifest either.
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| n.contains("note-")).count(),
        1,
        "{names:?}"
    );
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ids: Vec<String>,
}

/// A processed vault shared by the property test's cases.
fn shared() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("vault");
        new_vault(&root);
        let files: Vec<(String, Vec<u8>)> = (0..5)
            .map(|i| {
                if i % 2 == 0 {
                    (
                        format!("p{i}.png"),
                        baram_sanitize::redstar::append_trailer(
                            &fixtures::png_with_text(),
                            &[&format!("SER-{i}")],
                        ),
                    )
                } else {
                    (format!("t{i}.txt"), format!("증언 {i} 평양\n").into_bytes())
                }
            })
            .collect();
        let refs: Vec<(&str, Vec<u8>)> =
            files.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
        let map = bring_in_with(&root, dir.path(), &refs, &courier_and_note());
        let (mut v, keys) = open(&root);
        v.process(&keys, &Default::default(), &|_, _| {}).unwrap();
        let ids: Vec<String> = files.iter().map(|(n, _)| map[n].clone()).collect();
        Fixture {
            _dir: dir,
            root,
            ids,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// The export of a set of items depends only on the items and their
    /// notes for export: not on the order they were added in, not on the
    /// case's name, tags, status or private notes.
    #[test]
    fn export_is_determined_by_its_items(
        members in proptest::sample::subsequence((0..5usize).collect::<Vec<_>>(), 1..=5),
        shuffle in any::<u64>(),
        note in "[a-z가-힣]{1,30}",
        with_note in any::<bool>(),
    ) {
        let f = shared();
        let (mut v, keys) = open(&f.root);
        let n = unique("case");
        let ids: Vec<String> = members.iter().map(|&i| f.ids[i].clone()).collect();
        let mut other = ids.clone();
        // A different order, one by one, for the second case.
        let k = other.len();
        other.rotate_left((shuffle as usize) % k);
        if shuffle & 1 == 1 { other.reverse(); }
        let a = format!("{n}-a");
        let b = format!("{n}-b 두번째");
        v.case_add(&keys, &a, &ids).unwrap();
        for id in &other {
            v.case_add(&keys, &b, std::slice::from_ref(id)).unwrap();
        }
        // Private triage of one member changes nothing.
        v.tag(&keys, &ids[0], &[unique("tag")], false).unwrap();
        v.add_note(&keys, &ids[0], &unique("private"), false).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let za = dir.path().join("a.zip");
        let zb = dir.path().join("b.zip");
        let ra = v.export_case(&keys, &a, &za).unwrap();
        let rb = v.export_case(&keys, &b, &zb).unwrap();
        prop_assert_eq!(ra.items as usize, ids.len());
        let ba = fs::read(&za).unwrap();
        prop_assert_eq!(&ba, &fs::read(&zb).unwrap());
        prop_assert_eq!(ra.blake3, rb.blake3);
        // An exported note changes it (and then both again agree).
        if with_note {
            let before = ba.clone();
            v.add_note(&keys, &ids[0], &note, true).unwrap();
            v.export_case(&keys, &a, &za).unwrap();
            v.export_case(&keys, &b, &zb).unwrap();
            let ba = fs::read(&za).unwrap();
            prop_assert_ne!(&ba, &before);
            prop_assert_eq!(&ba, &fs::read(&zb).unwrap());
        }
    }
}

#[test]
fn triage_crash_child() {
    let Ok(root) = std::env::var("BARAM_TEST_TRIAGE_VAULT") else {
        return;
    };
    let (mut v, keys) = open(Path::new(&root));
    let ids: Vec<String> = v.list(&keys).unwrap().into_iter().map(|i| i.id).collect();
    for n in 0.. {
        v.case_add(&keys, &format!("case {n:05}"), &ids).unwrap();
        v.tag(&keys, &ids[n % ids.len()], &[format!("t{n}")], false)
            .unwrap();
    }
}

/// kill -9 during triage updates: a `case add` of several items is all or
/// nothing (every item has the same cases), and the vault checks clean
/// (replaced blobs and half-written ones are removed by the next writer).
#[test]
fn killed_triage_updates_leave_every_case_whole() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (format!("f{i}.txt"), format!("text {i}\n").into_bytes()))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    bring_in_with(&root, t.path(), &refs, &courier_and_note());
    let exe = std::env::current_exe().unwrap();
    let mut last = 0;
    for delay_ms in [100u64, 180, 260, 340, 420, 530, 650, 800, 950, 1100] {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "triage_crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BARAM_TEST_TRIAGE_VAULT", &root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child ended by itself"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        let (mut v, keys) = open(&root);
        let c = v.check(&keys, false, &|_, _| {}).unwrap();
        assert!(c.is_clean(), "after a kill at {delay_ms} ms: {c:#?}");
        let all = v.triage_all(&keys).unwrap();
        let ids: Vec<String> = v.list(&keys).unwrap().into_iter().map(|i| i.id).collect();
        let first = all
            .get(&ids[0])
            .map(|t| t.cases.clone())
            .unwrap_or_default();
        for id in &ids {
            let cases = all.get(id).map(|t| t.cases.clone()).unwrap_or_default();
            assert_eq!(
                cases, first,
                "after a kill at {delay_ms} ms: a case add was split"
            );
        }
        assert!(first.len() >= last, "cases were lost");
        last = first.len();
        // Blobs: the items' content and record, and one triage blob each.
        let blobs = all_files(&root.join("blobs")).len();
        assert!(
            blobs <= 2 * ids.len() + ids.len(),
            "{blobs} blobs: replaced triage left behind"
        );
    }
    assert!(last > 0, "no case add ever committed");
}
