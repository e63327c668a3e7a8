//! Integration tests of the library crate: adding, deduplication, search,
//! removal, check/repair and recovery from an interrupted writer.

use baram_library::{AddError, AddOptions, AddOutcome, Kind, Library, ListQuery, hash_bytes};
use proptest::prelude::*;
use std::fs;
use std::path::Path;

fn opts() -> AddOptions {
    AddOptions::default()
}

fn added_id(o: AddOutcome) -> i64 {
    match o {
        AddOutcome::Added { id, .. } => id,
        other => panic!("expected Added, got {other:?}"),
    }
}

fn blob_files(ws: &Path) -> Vec<std::path::PathBuf> {
    fn walk(p: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in fs::read_dir(p).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path());
            }
        }
    }
    let mut v = Vec::new();
    walk(&ws.join("blobs"), &mut v);
    v
}

#[test]
fn add_dedup_and_reject() {
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    let mut lib = Library::init(&ws).unwrap();
    let a = d.path().join("뉴스.txt");
    fs::write(&a, "바깥 세상 소식\n").unwrap();
    let b = d.path().join("copy.txt");
    fs::write(&b, "바깥 세상 소식\n").unwrap();
    let id = added_id(lib.add_file(&a, &opts()).unwrap());
    match lib.add_file(&b, &opts()).unwrap() {
        AddOutcome::Duplicate { existing_id, .. } => assert_eq!(existing_id, id),
        other => panic!("{other:?}"),
    }
    let empty = d.path().join("empty");
    fs::write(&empty, b"").unwrap();
    assert!(matches!(
        lib.add_file(&empty, &opts()),
        Err(AddError::Empty)
    ));
    let gone = d.path().join("gone");
    assert!(matches!(
        lib.add_file(&gone, &opts()),
        Err(AddError::Vanished)
    ));
    let bin = d.path().join("x.bin");
    fs::write(&bin, [0u8, 159, 146, 150, 1, 2]).unwrap();
    let e = lib.add_file(&bin, &opts()).unwrap_err();
    assert_eq!(e.reason(), "unknown-type");
    assert!(!e.is_fatal());
    // --no-sanitize stores it, marked so.
    let o = AddOptions {
        sanitize: false,
        kind: Some(Kind::Archive),
        ..opts()
    };
    let id2 = added_id(lib.add_file(&bin, &o).unwrap());
    let item = lib.get(id2).unwrap();
    assert!(!item.sanitized);
    assert_eq!(item.kind, Kind::Archive);
    assert_eq!(lib.count().unwrap(), 2);
    let item = lib.get(id).unwrap();
    assert_eq!(item.title, "뉴스");
    assert_eq!(item.kind, Kind::Text);
    assert_eq!(item.hash, hash_bytes("바깥 세상 소식\n".as_bytes()));
    assert_eq!(
        lib.read_blob(&item.hash).unwrap(),
        "바깥 세상 소식\n".as_bytes()
    );
    assert!(lib.check(false, &|_, _| {}).unwrap().is_clean());
}

#[test]
fn bad_options_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let mut lib = Library::init(&d.path().join("ws")).unwrap();
    let f = d.path().join("a.txt");
    fs::write(&f, "a").unwrap();
    for o in [
        AddOptions { value: 0, ..opts() },
        AddOptions {
            value: 101,
            ..opts()
        },
        AddOptions {
            episode: Some(1),
            ..opts()
        },
        AddOptions {
            tags: vec!["a,b".into()],
            ..opts()
        },
    ] {
        let e = lib.add_file(&f, &o).unwrap_err();
        assert!(e.is_fatal() || matches!(e, AddError::Library(_)), "{e}");
    }
    assert_eq!(lib.count().unwrap(), 0);
}

#[test]
fn search_korean_titles_tags_series() {
    let d = tempfile::tempdir().unwrap();
    let mut lib = Library::init(&d.path().join("ws")).unwrap();
    let items = [
        ("사랑의 불시착 1화.txt", "drama", Some("사랑의 불시착")),
        ("평양에서 온 편지.txt", "letters", None),
        ("World News 2026.txt", "news,english", None),
        ("백과사전 A.txt", "encyclopedia", None),
    ];
    for (i, (name, tags, series)) in items.iter().enumerate() {
        let f = d.path().join(name);
        fs::write(&f, format!("content {i}")).unwrap();
        lib.add_file(
            &f,
            &AddOptions {
                tags: tags.split(',').map(str::to_string).collect(),
                series: series.map(str::to_string),
                episode: series.map(|_| 1),
                ..opts()
            },
        )
        .unwrap();
    }
    fn titles_in(lib: &Library, q: &str) -> Vec<String> {
        lib.search(q, 10)
            .unwrap()
            .into_iter()
            .map(|i| i.title)
            .collect()
    }
    let titles = |q: &str| titles_in(&lib, q);
    // Two syllables: shorter than a trigram, found by the fallback.
    assert_eq!(titles("평양"), vec!["평양에서 온 편지"]);
    // Three or more: the trigram index.
    assert_eq!(titles("불시착"), vec!["사랑의 불시착 1화"]);
    assert_eq!(titles("사랑의 불시착"), vec!["사랑의 불시착 1화"]);
    assert_eq!(titles("world news"), vec!["World News 2026"]);
    assert_eq!(titles("encyclopedia"), vec!["백과사전 A"]);
    assert_eq!(titles("백과 A"), vec!["백과사전 A"]);
    assert!(titles("없는말").is_empty());
    assert!(titles("%").is_empty(), "LIKE wildcards are escaped");
    assert!(lib.search("   ", 10).is_err());
    // Tags update the index.
    let id = lib.search("평양", 1).unwrap()[0].id;
    lib.tag(id, &["evidence".into()], &["letters".into()])
        .unwrap();
    assert_eq!(titles_in(&lib, "evidence"), vec!["평양에서 온 편지"]);
    assert!(titles_in(&lib, "letters").is_empty());
    let l = lib
        .list(&ListQuery {
            tag: Some("evidence".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(l.len(), 1);
}

#[test]
fn rm_check_and_repair() {
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    let mut lib = Library::init(&ws).unwrap();
    let mut ids = Vec::new();
    for i in 0..4 {
        let f = d.path().join(format!("{i}.txt"));
        fs::write(&f, format!("file {i}")).unwrap();
        ids.push(added_id(lib.add_file(&f, &opts()).unwrap()));
    }
    lib.remove(ids[0]).unwrap();
    assert_eq!(blob_files(&ws).len(), 3);
    assert!(lib.check(false, &|_, _| {}).unwrap().is_clean());

    // Corrupt one, delete one, plant an orphan and a stray temp file.
    let i1 = lib.get(ids[1]).unwrap();
    fs::write(lib.blob_path(&i1.hash), b"tampered").unwrap();
    let i2 = lib.get(ids[2]).unwrap();
    fs::remove_file(lib.blob_path(&i2.hash)).unwrap();
    let orphan = hash_bytes(b"orphan");
    let op = lib.blob_path(&orphan);
    fs::create_dir_all(op.parent().unwrap()).unwrap();
    fs::write(&op, b"orphan").unwrap();
    let stray = lib.blob_path(&i1.hash).with_file_name(".tmp-leftover");
    fs::write(&stray, b"half").unwrap();

    let r = lib.check(false, &|_, _| {}).unwrap();
    assert_eq!(r.corrupt, vec![(ids[1], i1.hash.clone())]);
    assert_eq!(r.missing, vec![(ids[2], i2.hash.clone())]);
    assert_eq!(r.orphaned, vec![orphan.clone()]);
    assert_eq!(r.stray, vec![stray.clone()]);
    assert!(!r.is_clean());

    let r = lib.check(true, &|_, _| {}).unwrap();
    assert_eq!(r.repaired.len(), 4, "{:?}", r.repaired);
    let r = lib.check(false, &|_, _| {}).unwrap();
    assert!(r.is_clean(), "{r:?}");
    assert_eq!(r.marked.len(), 2);
    assert_eq!(lib.get(ids[2]).unwrap().status, "missing");
    assert_eq!(lib.get(ids[1]).unwrap().status, "corrupt");
    assert!(!op.exists() && !stray.exists());
}

#[test]
fn recovery_after_interrupted_add_and_rm() {
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    let f = d.path().join("a.txt");
    fs::write(&f, "keep").unwrap();
    {
        let mut lib = Library::init(&ws).unwrap();
        lib.add_file(&f, &opts()).unwrap();
    }
    // A killed add: pending mark and blob written, no item; plus a temp file.
    let h = hash_bytes(b"half-added");
    {
        let conn = rusqlite::Connection::open(ws.join("catalog.sqlite")).unwrap();
        conn.execute("INSERT INTO pending(hash) VALUES (?1)", [&h])
            .unwrap();
        // Killed even earlier: marked pending, shard folder not yet made.
        let early = hash_bytes(b"killed before mkdir");
        conn.execute("INSERT INTO pending(hash) VALUES (?1)", [&early])
            .unwrap();
    }
    let p = ws.join("blobs").join(&h[0..2]).join(&h[2..4]).join(&h);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, b"half-added").unwrap();
    fs::write(p.with_file_name(".tmp-abc"), b"half").unwrap();
    // A reader sees the orphan, but does not touch it.
    {
        let lib = Library::open(&ws).unwrap();
        assert_eq!(lib.count().unwrap(), 1);
        assert!(p.exists());
    }
    // The next writer resolves it.
    let mut lib = Library::open_writer(&ws).unwrap();
    assert!(!p.exists());
    assert!(!p.with_file_name(".tmp-abc").exists());
    let r = lib.check(false, &|_, _| {}).unwrap();
    assert!(r.is_clean(), "{r:?}");
    assert_eq!(r.items, 1);
}

#[test]
fn readers_do_not_need_the_lock() {
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    let _writer = Library::init(&ws).unwrap();
    // While a writer holds the lock, a reader opens and lists at once.
    let reader = Library::open(&ws).unwrap();
    assert_eq!(reader.list(&ListQuery::default()).unwrap().len(), 0);
}

#[test]
fn not_a_workspace() {
    let d = tempfile::tempdir().unwrap();
    let e = Library::open(&d.path().join("nothing")).err().unwrap();
    assert!(e.to_string().contains("baram init"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Any sequence of adds and removes keeps catalog and store in step.
    #[test]
    fn adds_and_removes_keep_store_consistent(ops in proptest::collection::vec((0u8..6, any::<bool>()), 1..25)) {
        let d = tempfile::tempdir().unwrap();
        let ws = d.path().join("ws");
        let mut lib = Library::init(&ws).unwrap();
        let mut present = std::collections::BTreeMap::new();
        for (content, add) in ops {
            let f = d.path().join(format!("f{content}.txt"));
            fs::write(&f, format!("content {content}")).unwrap();
            if add {
                match lib.add_file(&f, &opts()).unwrap() {
                    AddOutcome::Added { id, .. } => { prop_assert!(present.insert(content, id).is_none()); }
                    AddOutcome::Duplicate { existing_id, .. } => { prop_assert_eq!(present.get(&content), Some(&existing_id)); }
                }
            } else if let Some(id) = present.remove(&content) {
                lib.remove(id).unwrap();
            }
            let r = lib.check(false, &|_, _| {}).unwrap();
            prop_assert!(r.is_clean());
            prop_assert_eq!(r.items as usize, present.len());
            prop_assert_eq!(r.blobs as usize, present.len());
            prop_assert_eq!(blob_files(&ws).len(), present.len());
        }
    }
}

#[test]
fn dedup_on_cleaned_bytes_across_red_star_chains() {
    use baram_sanitize::{fixtures, redstar};
    let d = tempfile::tempdir().unwrap();
    let mut lib = Library::init(&d.path().join("ws")).unwrap();
    let photo = fixtures::jpeg_with_exif();
    let a = redstar::append_trailer(&photo, &["WD-AAAA1111"]);
    let b = redstar::append_trailer(&photo, &["S2R-BBBB2222", "HITACHI-3333"]);
    let fa = d.path().join("a.jpg");
    let fb = d.path().join("b.jpg");
    fs::write(&fa, &a).unwrap();
    fs::write(&fb, &b).unwrap();
    let id = match lib.add_file(&fa, &opts()).unwrap() {
        AddOutcome::Added {
            id,
            kind,
            redstar_blocks,
            findings,
            ..
        } => {
            assert_eq!(kind, Kind::Image);
            assert_eq!(redstar_blocks, Some(1));
            assert!(findings > 10);
            id
        }
        o => panic!("{o:?}"),
    };
    match lib.add_file(&fb, &opts()).unwrap() {
        AddOutcome::Duplicate { existing_id, .. } => assert_eq!(existing_id, id),
        o => panic!("{o:?}"),
    }
    let item = lib.get(id).unwrap();
    // The stored copy is the cleaned one: nothing left to find, no serial.
    let stored = lib.read_blob(&item.hash).unwrap();
    assert!(baram_sanitize::inspect(&stored).unwrap().is_clean());
    for p in fixtures::PLANTED {
        assert!(
            !stored.windows(p.len()).any(|w| w == p.as_bytes()),
            "{p} stored"
        );
    }
    // The findings keep the original's hash and the decoded serials.
    assert_eq!(item.findings["original_hash"], hash_bytes(&a));
    assert_eq!(item.original_hash, hash_bytes(&a));
    assert_eq!(item.findings["redstar"]["serials"][0], "WD-AAAA1111");
    assert_ne!(item.hash, item.original_hash);
}

#[test]
fn refused_by_sanitizer_is_not_stored() {
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    let mut lib = Library::init(&ws).unwrap();
    let mut cut = baram_sanitize::fixtures::jpeg_with_exif();
    cut.truncate(cut.len() / 2);
    let f = d.path().join("half.jpg");
    fs::write(&f, &cut).unwrap();
    let e = lib.add_file(&f, &opts()).unwrap_err();
    assert_eq!(e.reason(), "malformed");
    assert!(e.to_string().contains("not a valid JPEG"), "{e}");
    assert!(e.to_string().contains("at byte"), "{e}");
    assert_eq!(lib.count().unwrap(), 0);
    assert!(
        blob_files(&ws).is_empty(),
        "nothing written for a refused file"
    );
}

/// A video can name a text item (SRT) as its subtitles; removing the SRT
/// clears the link; only videos take subtitles, only texts are subtitles.
#[test]
fn subtitles_link_a_video_to_a_text_item() {
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    let mut lib = Library::init(&ws).unwrap();
    let srt = added_id(
        lib.add_bytes(
            b"1\n00:00:01,000 --> 00:00:02,000\n\xec\x95\x88\xeb\x85\x95\n",
            "a.srt",
            &opts(),
        )
        .unwrap(),
    );
    let other = added_id(
        lib.add_bytes("다른 글".as_bytes(), "b.txt", &opts())
            .unwrap(),
    );
    let video = added_id(
        lib.add_bytes(
            "not really a video".as_bytes(),
            "v.txt",
            &AddOptions {
                kind: Some(Kind::Video),
                ..opts()
            },
        )
        .unwrap(),
    );
    assert_eq!(lib.get(video).unwrap().subtitles, None);
    assert_eq!(
        lib.set_subtitles(video, Some(srt)).unwrap().subtitles,
        Some(srt)
    );
    assert!(
        lib.set_subtitles(srt, Some(other)).is_err(),
        "a text takes no subtitles"
    );
    assert!(
        lib.set_subtitles(video, Some(video)).is_err(),
        "a video is no subtitle"
    );
    assert!(lib.set_subtitles(video, Some(9999)).is_err());
    lib.remove(srt).unwrap();
    assert_eq!(lib.get(video).unwrap().subtitles, None);
}

/// A catalog written by the previous schema: readers refuse it with the
/// command that upgrades it, and `init` upgrades it keeping every item.
#[test]
fn older_catalog_is_upgraded_by_init_not_by_readers() {
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    let mut lib = Library::init(&ws).unwrap();
    let id = added_id(
        lib.add_bytes("평양 소식".as_bytes(), "a.txt", &opts())
            .unwrap(),
    );
    drop(lib);
    let c = rusqlite::Connection::open(ws.join("catalog.sqlite")).unwrap();
    c.execute_batch("ALTER TABLE items DROP COLUMN subtitles; PRAGMA user_version = 1;")
        .unwrap();
    drop(c);
    let err = Library::open(&ws)
        .err()
        .expect("an old catalog is refused by a reader");
    assert!(err.to_string().contains("init"), "{err}");
    let lib = Library::init(&ws).unwrap();
    assert_eq!(lib.get(id).unwrap().title, "a");
    assert_eq!(lib.get(id).unwrap().subtitles, None);
    drop(lib);
    assert!(Library::open(&ws).is_ok());
}
