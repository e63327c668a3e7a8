//! HWP 5 and HWPX documents through `Vault::process`, end to end: files
//! made here (`baram_hwp::fixtures`: Korean paragraphs, a table, an author
//! and title where Hangul keeps them) are read by baram's HWP reader and
//! converted by LibreOffice in the sandbox, and become safe PDFs (the
//! sanitizer, qpdf, pdfinfo and pdftotext as oracles) whose text is in the
//! search index; the author and title are in neither; a damaged and a
//! truncated HWP are quarantined with the reader's reason while the batch
//! goes on; nothing decrypted is left on disk; the same without the sandbox.
//!
//! The tools are required (scripts/test installs them): a missing one fails
//! these tests, it never skips them.

mod common;
use baram_hwp::fixtures::{self, MEETING};
use baram_vault::process::{Isolation, Options, Status, kind_of};
use baram_vault::{Keys, Vault};
use common::*;
use std::fs;
use std::process::Command;

/// The test build of the reader program (`baram __hwp-render` is the same
/// function).
fn options(isolation: Isolation) -> Options {
    let mut o = Options {
        isolation,
        ..Options::default()
    };
    o.docs.hwp_helper = Some(env!("CARGO_BIN_EXE_baram-vault-hwp").into());
    o
}

fn text_of(v: &Vault, k: &Keys, id: &str) -> String {
    String::from_utf8(
        v.derivative(k, id, "text")
            .unwrap()
            .expect("a text")
            .to_vec(),
    )
    .unwrap()
}

/// White space does not count (LibreOffice lays out tabs, line breaks and
/// table cells its own way).
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Every paragraph and cell of MEETING.
fn meeting_texts() -> Vec<&'static str> {
    let mut v: Vec<&str> = MEETING.paragraphs.to_vec();
    for r in MEETING.table {
        v.extend(r.iter().copied());
    }
    v.extend(MEETING.after);
    v
}

/// The author and title, as UTF-8 and UTF-16 (LE and BE: a PDF text
/// layer's strings are UTF-16BE).
fn metadata_needles() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for s in [MEETING.author, MEETING.title, "김철수", "보위부"] {
        v.push(s.as_bytes().to_vec());
        v.push(s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect());
        v.push(s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect());
    }
    v
}

#[test]
fn hwp5_and_hwpx_become_safe_pdfs_with_their_text_and_no_author() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let hwp = fixtures::hwp5(&MEETING);
    let hwpx = fixtures::hwpx(&MEETING);
    // Records that run past the end of their stream, in a sound container.
    let mut body = fixtures::hwp5_body(&MEETING);
    body.truncate(body.len() - 5);
    let damaged = fixtures::hwp5_from_body(&body, &MEETING, true);
    // The file cut short: still an HWP 5 by its first bytes and directory.
    let truncated = hwp[..hwp.len() * 3 / 4].to_vec();
    for (d, k) in [
        (&hwp, "hwp"),
        (&hwpx, "hwpx"),
        (&damaged, "hwp"),
        (&truncated, "hwp"),
    ] {
        assert_eq!(kind_of(d).as_deref(), Some(k));
    }
    let ids = bring_in(
        &root,
        t.path(),
        &[
            ("damaged.hwp", damaged),
            ("meeting.hwp", hwp),
            ("truncated.hwp", truncated),
            ("meeting.hwpx", hwpx),
        ],
    );
    let tmp = std::env::temp_dir();
    let (mut v, keys) = open(&root);
    let started = std::time::Instant::now();
    let rep = v
        .process(&keys, &options(Isolation::Sandbox), &|_, _| {})
        .unwrap();
    eprintln!("processed in {:?}", started.elapsed());
    assert_eq!(
        (rep.processed, rep.quarantined, rep.unhandled, rep.deferred),
        (2, 2, 0, 0),
        "{rep:#?}"
    );

    // The two bad files: quarantined, the reader's reason given.
    for (name, why) in [
        ("damaged.hwp", "past the end of the stream"),
        ("truncated.hwp", "HWP 5"),
    ] {
        let r = v.process_report(&keys, &ids[name]).unwrap().unwrap();
        assert_eq!(r.status, Status::Quarantined, "{name}: {r:?}");
        let reason = r.reason.unwrap();
        eprintln!("{name}: {reason}");
        assert!(
            reason.starts_with("the HWP reader refused it: ") && reason.contains(why),
            "{name}: {reason}"
        );
        assert!(r.derivatives.is_empty());
    }

    let check = t.path().join("check");
    fs::create_dir_all(&check).unwrap();
    for (name, kind) in [("meeting.hwp", "hwp"), ("meeting.hwpx", "hwpx")] {
        let r = v.process_report(&keys, &ids[name]).unwrap().unwrap();
        assert_eq!(r.status, Status::Processed, "{name}: {r:?}");
        assert_eq!(r.kind.as_deref(), Some(kind));
        assert_eq!(r.sandbox.as_deref(), Some("bwrap"));
        let d = r.document.as_ref().expect("document facts");
        assert_eq!(d.converted_with.as_deref(), Some("baram-hwp, libreoffice"));
        assert_eq!(d.text_source, "text layer", "{d:?}");
        assert_eq!((d.pages, d.ocr_pages), (1, 0), "{d:?}");
        assert_eq!(r.derivatives, ["safe-pdf", "text"]);

        // The text: every paragraph and cell, in order.
        let text = text_of(&v, &keys, &ids[name]);
        let flat = squash(&text);
        let mut at = 0;
        for want in meeting_texts() {
            let w = squash(want);
            let i = flat[at..]
                .find(&w)
                .unwrap_or_else(|| panic!("{name}: {want:?} not in {text:?}"));
            at += i + w.len();
        }

        // The safe PDF: ours (pixels and an invisible text layer), clean.
        let safe = v
            .derivative(&keys, &ids[name], "safe-pdf")
            .unwrap()
            .unwrap();
        let c = baram_sanitize::clean(&safe, &Default::default()).unwrap();
        assert!(c.report.is_clean(), "{:?}", c.report.findings);
        let sp = check.join("safe.pdf");
        fs::write(&sp, &safe[..]).unwrap();
        tool(Command::new("qpdf").arg("--check").arg(&sp), "qpdf");
        let info =
            String::from_utf8_lossy(&tool(Command::new("pdfinfo").arg(&sp), "pdfinfo").stdout)
                .into_owned();
        for bad in ["Producer", "Creator", "Author", "CreationDate", "Title"] {
            assert!(!info.contains(bad), "pdfinfo: {info}");
        }
        assert!(info.contains("Pages:           1"), "{info}");
        let layer = String::from_utf8_lossy(
            &tool(Command::new("pdftotext").arg(&sp).arg("-"), "pdftotext").stdout,
        )
        .into_owned();
        assert!(
            squash(&layer).contains(&squash(MEETING.paragraphs[1])),
            "{layer}"
        );
        assert!(squash(&layer).contains("옥수수500그램"), "{layer}");

        // The author and title: in the original, in none of what is kept.
        for (what, bytes) in [
            ("text", text.as_bytes().to_vec()),
            ("safe PDF", safe.to_vec()),
            ("its text layer", layer.into_bytes()),
        ] {
            for n in metadata_needles() {
                assert!(
                    memchr::memmem::find(&bytes, &n).is_none(),
                    "{name}: the {what} holds the metadata {:?}",
                    String::from_utf8_lossy(&n)
                );
            }
        }
        fs::remove_file(&sp).unwrap();
    }
    fs::remove_dir_all(&check).unwrap();

    // Searchable, both.
    let (index, items) = v.search_index(&keys).unwrap();
    for q in ["회의록", "배급량", "장마당 상인"] {
        let hits = index.search(&baram_vault::search::Query::new(q)).unwrap();
        let found: Vec<&str> = hits
            .iter()
            .map(|h| items[h.doc_id as usize].id.as_str())
            .collect();
        for name in ["meeting.hwp", "meeting.hwpx"] {
            assert!(found.contains(&ids[name].as_str()), "{q}: {name} not found");
        }
    }

    // Nothing in clear, in the vault or in TMPDIR.
    // Strings of this fixture only (TMPDIR is shared with other programs).
    let secrets: Vec<Vec<u8>> = [
        "평천구역",
        "옥수수 500그램",
        "리영호, 박정민",
        "중구역 회의실",
    ]
    .iter()
    .map(|w| w.as_bytes().to_vec())
    .chain([b"%PDF-".to_vec(), b"office:document".to_vec()])
    .collect();
    assert_absent(&all_files(&root), &secrets, 256 << 20);
    assert_absent(&all_files(&tmp), &secrets[..4], 256 << 20);
    let c = v.check(&keys, false, &|_, _| {}).unwrap();
    assert!(c.is_clean(), "{c:#?}");
}

/// `--no-sandbox`: the reader is found through its own path, the work is
/// done in a /dev/shm folder that is gone afterwards.
#[test]
fn hwpx_without_the_sandbox_too() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let ids = bring_in(&root, t.path(), &[("m.hwpx", fixtures::hwpx(&MEETING))]);
    let shm_before: Vec<_> = fs::read_dir("/dev/shm")
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let (mut v, keys) = open(&root);
    let rep = v
        .process(&keys, &options(Isolation::Unconfined), &|_, _| {})
        .unwrap();
    assert_eq!((rep.processed, rep.quarantined), (1, 0), "{rep:#?}");
    let r = v.process_report(&keys, &ids["m.hwpx"]).unwrap().unwrap();
    assert_eq!(r.sandbox.as_deref(), Some("none"));
    assert!(squash(&text_of(&v, &keys, &ids["m.hwpx"])).contains("평양시내회의록"));
    let new: Vec<_> = fs::read_dir("/dev/shm")
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !shm_before.contains(n) && n.to_string_lossy().starts_with("baram-vault-"))
        .collect();
    assert!(new.is_empty(), "left in /dev/shm: {new:?}");
}

/// The library's own default has no reader: HWP is unhandled, and says so.
#[test]
fn without_the_reader_hwp_is_unhandled() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let ids = bring_in(&root, t.path(), &[("m.hwp", fixtures::hwp5(&MEETING))]);
    let (mut v, keys) = open(&root);
    let rep = v.process(&keys, &Options::default(), &|_, _| {}).unwrap();
    assert_eq!(rep.unhandled, 1, "{rep:#?}");
    let r = v.process_report(&keys, &ids["m.hwp"]).unwrap().unwrap();
    assert!(r.reason.unwrap().contains("hwp_helper"));
}
