//! Documents: DOCX, XLSX, PPTX, ODT, ODS, ODP and PDF.
//!
//! Oracles independent of baram's own parsers:
//! * exiftool (`libimage-exiftool-perl`) reads the document properties, XMP and
//!   PDF Info before and after cleaning;
//! * the `zip` crate re-opens every cleaned archive (CRC-checked) and Python's
//!   XML parser checks every XML part is well-formed;
//! * qpdf (`qpdf`) checks cleaned PDFs.
//!
//! A missing tool makes the test fail with the package to install.

use baram_sanitize::fixtures::{self, PLANTED};
use baram_sanitize::{Category, Error, Format, Options, clean, clean_as, redstar};
use std::io::Read;
use std::path::Path;
use std::process::Command;

fn tool(cmd: &str, args: &[&str], package: &str) -> (bool, String) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("{cmd} is needed for this test ({e}): apt-get install {package}")
    });
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

fn exiftool(path: &Path, args: &[&str]) -> String {
    let mut a: Vec<&str> = args.to_vec();
    let p = path.to_str().unwrap();
    a.push(p);
    let (ok, s) = tool("exiftool", &a, "libimage-exiftool-perl");
    assert!(ok, "exiftool failed on {p}: {s}");
    s
}

fn doc_fixtures() -> Vec<(&'static str, Format, Vec<u8>)> {
    vec![
        ("docx", Format::Docx, fixtures::docx_with_metadata()),
        ("xlsx", Format::Xlsx, fixtures::xlsx_with_metadata()),
        ("pptx", Format::Pptx, fixtures::pptx_with_metadata()),
        ("odt", Format::Odt, fixtures::odt_with_metadata()),
        ("ods", Format::Ods, fixtures::ods_with_metadata()),
        ("odp", Format::Odp, fixtures::odp_with_metadata()),
    ]
}

fn pdf_fixtures() -> Vec<(&'static str, Format, Vec<u8>)> {
    vec![
        ("pdf", Format::Pdf, fixtures::pdf_with_metadata()),
        ("pdf", Format::Pdf, fixtures::pdf_with_object_streams()),
    ]
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    h.windows(n.len()).any(|w| w == n)
}

/// Tags exiftool must not show after cleaning (group, tag name), by prefix.
fn metadata_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| {
            let is_group = |g: &str| l.starts_with(g);
            if is_group("[XML]") || is_group("[XMP") {
                return true;
            }
            if is_group("[PDF]") {
                return [
                    "Author",
                    "Creator",
                    "Producer",
                    "Title",
                    "Subject",
                    "Keywords",
                    "Create Date",
                    "Modify Date",
                ]
                .iter()
                .any(|t| l[5..].trim_start().starts_with(t));
            }
            if is_group("[ZIP]") && l.contains("Zip Modify Date") {
                return !l.contains("1980:01:01 00:00:00");
            }
            false
        })
        .map(String::from)
        .collect()
}

#[test]
fn exiftool_sees_planted_data_before_and_none_after() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (ext, format, data)) in doc_fixtures().into_iter().chain(pdf_fixtures()).enumerate() {
        let before = dir.path().join(format!("before{i}.{ext}"));
        let after = dir.path().join(format!("after{i}.{ext}"));
        std::fs::write(&before, &data).unwrap();
        let b = exiftool(&before, &["-a", "-G1", "-u"]);
        for want in ["KimCheolsu", "Pyongyang Secret Camera", "planted-host"] {
            assert!(
                b.contains(want),
                "{ext}: exiftool does not show {want} before cleaning:\n{b}"
            );
        }
        assert!(!metadata_lines(&b).is_empty());

        let c = clean(&data, &Options::default()).unwrap();
        assert_eq!(c.report.format, format);
        assert!(
            c.report
                .findings
                .iter()
                .any(|f| f.category == Category::Person)
        );
        std::fs::write(&after, &c.data).unwrap();
        let a = exiftool(&after, &["-a", "-G1", "-u"]);
        for p in PLANTED {
            assert!(!a.contains(p), "{ext}: {p} survives cleaning:\n{a}");
        }
        let left = metadata_lines(&a);
        assert!(
            left.is_empty(),
            "{ext}: metadata left after cleaning: {left:#?}"
        );
        assert!(
            !a.contains("Warning"),
            "{ext}: exiftool warns on the cleaned file:\n{a}"
        );
        let v = exiftool(&after, &["-v3"]);
        assert!(
            !v.to_lowercase().contains("trailer"),
            "{ext}: exiftool -v3 sees a trailer:\n{v}"
        );
    }
}

/// Every entry of a cleaned archive, read with the `zip` crate.
fn entries(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(data)).expect("zip crate opens it");
    assert!(z.comment().is_empty());
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let t = f.last_modified().expect("a time");
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (1980, 1, 1, 0, 0, 0),
            "{name}"
        );
        assert!(f.extra_data().is_none(), "{name} has an extra field");
        assert!(f.comment().is_empty());
        let mut d = Vec::new();
        f.read_to_end(&mut d).unwrap();
        out.push((name, d));
    }
    out
}

/// Python's XML parser (expat) as an independent well-formedness oracle.
fn assert_well_formed(dir: &Path, name: &str, xml: &[u8]) {
    let p = dir.join("part.xml");
    std::fs::write(&p, xml).unwrap();
    let (ok, s) = tool(
        "python3",
        &[
            "-c",
            "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])",
            p.to_str().unwrap(),
        ],
        "python3",
    );
    assert!(ok, "{name} is not well-formed XML: {s}");
}

#[test]
fn cleaned_archives_are_valid_sorted_and_free_of_planted_data() {
    let dir = tempfile::tempdir().unwrap();
    for (ext, format, data) in doc_fixtures() {
        // The checker itself on the fixtures, which must be consistent too.
        assert_no_dangling_references(ext, &entries_raw(&data));
        let c = clean(&data, &Options::default()).unwrap();
        let list = entries(&c.data);
        let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
        let odf = matches!(format, Format::Odt | Format::Ods | Format::Odp);
        let mut sorted = names.clone();
        sorted.sort_by(|a, b| {
            (*a != "mimetype" || !odf, a.as_bytes()).cmp(&(*b != "mimetype" || !odf, b.as_bytes()))
        });
        assert_eq!(names, sorted, "{ext}: entries not in order");
        if odf {
            assert_eq!(names[0], "mimetype");
            // Stored, so the mimetype is readable at byte 38 as ODF requires.
            assert_eq!(&c.data[30..38], b"mimetype");
            assert!(c.data[38..].starts_with(b"application/vnd.oasis.opendocument."));
            assert!(!names.iter().any(|n| n.starts_with("Thumbnails/")));
        } else {
            assert!(!names.contains(&"docProps/custom.xml"));
            for (n, d) in &list {
                if n.ends_with(".rels") || n == "[Content_Types].xml" {
                    assert!(
                        !contains(d, b"custom.xml"),
                        "{ext}: {n} still names custom.xml"
                    );
                    assert!(
                        !contains(d, b"attachedTemplate"),
                        "{ext}: {n} still has the template"
                    );
                }
            }
        }
        assert_no_dangling_references(ext, &list);
        for (n, d) in &list {
            for p in PLANTED {
                assert!(!contains(d, p.as_bytes()), "{ext}: {p} left in {n}");
            }
            // (The DOCX fixture has a CDATA section quoting markup; that is text.)
            let text = String::from_utf8_lossy(d);
            let outside_cdata = text
                .split("<![CDATA[")
                .map(|p| p.split("]]>").last().unwrap())
                .collect::<String>();
            assert!(!outside_cdata.contains("rsid"), "{ext}: rsid left in {n}");
            if n.ends_with(".xml") || n.ends_with(".rels") {
                assert_well_formed(dir.path(), n, d);
            }
        }
    }
}

/// Values of `attr="…"` in every tag named `tag`.
fn tags<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    xml.split(&format!("<{tag} "))
        .skip(1)
        .map(|t| &t[..t.find('>').unwrap()])
        .collect()
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let p = tag
        .find(&format!(" {name}=\""))
        .or_else(|| tag.starts_with(&format!("{name}=\"")).then_some(0))?;
    let v = &tag[p..];
    let v = &v[v.find('"').unwrap() + 1..];
    Some(&v[..v.find('"').unwrap()])
}

/// Every relationship, content-type override and manifest entry names a part
/// that is in the archive.
fn assert_no_dangling_references(ext: &str, list: &[(String, Vec<u8>)]) {
    let names: Vec<String> = list.iter().map(|(n, _)| n.to_lowercase()).collect();
    let exists = |p: &str| names.contains(&p.trim_start_matches('/').to_lowercase());
    for (n, d) in list {
        let x = String::from_utf8_lossy(d);
        if n.ends_with(".rels") {
            let base = n.rsplit_once("_rels/").map(|(b, _)| b).unwrap_or("");
            for t in tags(&x, "Relationship") {
                if attr(t, "TargetMode") == Some("External") {
                    continue;
                }
                let target = attr(t, "Target").unwrap();
                let mut parts: Vec<&str> = Vec::new();
                let joined = if let Some(abs) = target.strip_prefix('/') {
                    abs.to_string()
                } else {
                    format!("{base}{target}")
                };
                for c in joined.split('/') {
                    match c {
                        ".." => {
                            parts.pop();
                        }
                        "" | "." => {}
                        c => parts.push(c),
                    }
                }
                assert!(
                    exists(&parts.join("/")),
                    "{ext}: {n} points to missing {target}"
                );
            }
        }
        if n == "[Content_Types].xml" {
            for t in tags(&x, "Override") {
                let p = attr(t, "PartName").unwrap();
                assert!(exists(p), "{ext}: content type for missing {p}");
            }
        }
        if n == "META-INF/manifest.xml" {
            for t in tags(&x, "manifest:file-entry") {
                let p = attr(t, "manifest:full-path").unwrap();
                assert!(p == "/" || exists(p), "{ext}: manifest names missing {p}");
            }
        }
        if n.ends_with(".xml") && !n.ends_with(".rels") {
            // r:id references must have a relationship in the part's .rels.
            let (dir, file) = n.rsplit_once('/').unwrap_or(("", n));
            let rels_name = if dir.is_empty() {
                format!("_rels/{file}.rels")
            } else {
                format!("{dir}/_rels/{file}.rels")
            };
            let rels = list
                .iter()
                .find(|(m, _)| *m == rels_name)
                .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
                .unwrap_or_default();
            for piece in x.split(" r:id=\"").skip(1) {
                let id = &piece[..piece.find('"').unwrap()];
                assert!(
                    rels.contains(&format!("Id=\"{id}\"")),
                    "{ext}: {n} uses r:id {id} with no relationship"
                );
            }
        }
    }
}

fn entry<'a>(list: &'a [(String, Vec<u8>)], name: &str) -> &'a str {
    let d = &list.iter().find(|(n, _)| n == name).unwrap().1;
    std::str::from_utf8(d).unwrap()
}

/// Removes ` attr="…"` everywhere.
fn strip_attr(s: &str, attr: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    let pat = format!(" {attr}=\"");
    while let Some(p) = rest.find(&pat) {
        out.push_str(&rest[..p]);
        let after = &rest[p + pat.len()..];
        let e = after.find('"').unwrap();
        rest = &after[e + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn main_part_changes_only_by_the_stripped_attributes() {
    let c = clean(&fixtures::docx_with_metadata(), &Options::default()).unwrap();
    let list = entries(&c.data);
    let mut want = fixtures::docx_document_xml().replace("<w:fake w:rsidR=\"1\"/>", "\u{0}");
    for a in [
        "w:rsidR",
        "w:rsidRDefault",
        "w:rsidP",
        "w:rsidRPr",
        "w:rsidDel",
        "w:rsidSect",
        "w:date",
    ] {
        want = strip_attr(&want, a);
    }
    // CDATA content is text, not markup: it must be untouched (compared below).
    let want = want.replace("w:author=\"KimCheolsu\"", "w:author=\"\"");
    let got = entry(&list, "word/document.xml");
    assert!(got.contains("<![CDATA[CDATA with <w:fake w:rsidR=\"1\"/> inside]]>"));
    assert_eq!(got.replace("<w:fake w:rsidR=\"1\"/>", "\u{0}"), want);

    // ODF content.xml: annotation and change authors emptied, dates fixed,
    // initials dropped; the rest byte for byte.
    let odt = clean(&fixtures::odt_with_metadata(), &Options::default()).unwrap();
    let before = fixtures::odt_with_metadata();
    let orig = entries_raw(&before);
    let o = entry(&orig, "content.xml")
        .replace(
            "<dc:creator>KimCheolsu</dc:creator>",
            "<dc:creator></dc:creator>",
        )
        .replace("2019-03-04T13:40:00", "1980-01-01T00:00:00")
        .replace("2019-03-04T13:45:00", "1980-01-01T00:00:00")
        .replace("<meta:creator-initials>KC</meta:creator-initials>", "");
    assert_eq!(entry(&entries(&odt.data), "content.xml"), o);
}

/// Entries of a fixture (which has times and extra fields, so no checks).
fn entries_raw(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(data)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut d = Vec::new();
            f.read_to_end(&mut d).unwrap();
            (f.name().unwrap().to_string(), d)
        })
        .collect()
}

#[test]
fn findings_name_the_planted_values() {
    let r = clean(&fixtures::docx_with_metadata(), &Options::default())
        .unwrap()
        .report;
    let has = |field: &str, value: &str| {
        r.findings
            .iter()
            .any(|f| f.field == field && f.value.as_deref().is_some_and(|v| v.contains(value)))
    };
    assert!(has("docProps/core.xml dc:creator", "KimCheolsu"));
    assert!(has("docProps/app.xml Company", "planted-host"));
    assert!(has(
        "docProps/custom.xml property CameraSerial",
        "PLANTED-SERIAL-4471"
    ));
    assert!(has("word/document.xml w:rsidR", "00A1B2C3"));
    assert!(has("word/document.xml w:author", "KimCheolsu"));
    assert!(has("word/comments.xml w:initials", "KC"));
    assert!(has("word/settings.xml w:rsids", "00D4E5F6"));
    assert!(has("word/numbering.xml w:nsid", "1F2E3D4C"));
    assert!(has("word/people.xml w15:person", "KimCheolsu"));
    assert!(has("ZIP entry modification times", "2019-03-04 13:37:00"));

    let r = clean(&fixtures::pdf_with_metadata(), &Options::default())
        .unwrap()
        .report;
    let has = |field: &str, value: &str| {
        r.findings
            .iter()
            .any(|f| f.field == field && f.value.as_deref().is_some_and(|v| v.contains(value)))
    };
    assert!(has("PDF Info Author", "KimCheolsu"));
    assert!(has("PDF Info Producer", "planted-host"));
    assert!(has("PDF Info CreationDate", "D:2019"));
    assert!(has(
        "PDF Info Subject (earlier revision)",
        "PLANTED-LENS-0925"
    ));
    assert!(has("PDF XMP dc:creator", "KimCheolsu"));
    assert!(has("PDF trailer ID", "504c414e544544"));
    assert!(has("PDF annotation /T", "KimCheolsu"));
    assert!(
        r.findings
            .iter()
            .any(|f| f.field.starts_with("PDF PieceInfo"))
    );
}

#[test]
fn idempotent_and_deterministic() {
    for (ext, _, data) in doc_fixtures().into_iter().chain(pdf_fixtures()) {
        let a = clean(&data, &Options::default()).unwrap();
        let b = clean(&data, &Options::default()).unwrap();
        assert_eq!(a.data, b.data, "{ext}: not deterministic");
        let again = clean(&a.data, &Options::default()).unwrap();
        assert_eq!(again.data, a.data, "{ext}: not idempotent");
        assert!(
            again.report.is_clean(),
            "{ext}: {:?}",
            again.report.findings
        );
    }
}

#[test]
fn pdf_is_a_full_rewrite_that_qpdf_accepts() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (_, _, data)) in pdf_fixtures().into_iter().enumerate() {
        // The old revision's values are in the input bytes (uncompressed in
        // the first fixture)...
        assert!(i == 1 || contains(&data, b"PLANTED-LENS-0925"));
        let c = clean(&data, &Options::default()).unwrap();
        // ...and nowhere in the output: not an incremental update.
        for p in PLANTED {
            assert!(!contains(&c.data, p.as_bytes()), "{p} left in the PDF");
        }
        assert_eq!(c.data.windows(5).filter(|w| w == b"%%EOF").count(), 1);
        assert!(!contains(&c.data, b"/ID") && !contains(&c.data, b"/Info"));
        assert!(!contains(&c.data, b"/Metadata") && !contains(&c.data, b"/Producer"));
        let p = dir.path().join(format!("c{i}.pdf"));
        std::fs::write(&p, &c.data).unwrap();
        let (ok, s) = tool("qpdf", &["--check", p.to_str().unwrap()], "qpdf");
        assert!(
            ok && s.contains("No syntax or stream encoding errors"),
            "qpdf: {s}"
        );
        let orig = dir.path().join(format!("o{i}.pdf"));
        std::fs::write(&orig, &data).unwrap();
        let (ok, s) = tool("qpdf", &["--check", orig.to_str().unwrap()], "qpdf");
        assert!(ok, "the fixture itself must be valid: {s}");
    }
}

const SERIALS: [&str; 3] = ["WD-WCAV12345678", "S1DBNSAF123456X", "Z9XYZ"];

#[test]
fn redstar_mark_in_the_docx_extra_field() {
    let plain = clean(&fixtures::docx_with_metadata(), &Options::default())
        .unwrap()
        .data;
    for footer in [true, false] {
        for k in 1..=3 {
            let marked = fixtures::docx_with_redstar(&SERIALS[..k], footer);
            let c = clean(&marked, &Options::default()).unwrap();
            let mark = c.report.redstar.clone().expect("mark found");
            assert_eq!(mark.blocks, k);
            assert_eq!(
                mark.serials,
                SERIALS[..k]
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
            );
            let w: Vec<_> = c
                .report
                .findings
                .iter()
                .filter(|f| f.category == Category::Watermark)
                .collect();
            assert_eq!(w.len(), 1);
            assert!(w[0].value.as_deref().unwrap().contains(SERIALS[0]));
            // Gone, and the same bytes whatever the chain.
            assert_eq!(c.data, plain, "{k} blocks, footer {footer}");
            assert!(!contains(
                &c.data,
                &redstar::encode_blocks(&SERIALS[..1])[..8]
            ));
            let again = clean(&c.data, &Options::default()).unwrap();
            assert!(again.report.is_clean());
        }
    }
}

#[test]
fn redstar_chain_and_junk_after_archives_and_pdfs() {
    for (ext, _, data) in doc_fixtures().into_iter().chain(pdf_fixtures()) {
        let plain = clean(&data, &Options::default()).unwrap().data;
        let a = clean(
            &redstar::append_trailer(&data, &SERIALS[..2]),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(a.report.redstar.as_ref().unwrap().blocks, 2, "{ext}");
        let b = clean(
            &redstar::append_trailer(&data, &SERIALS[1..]),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(a.data, plain, "{ext}");
        assert_eq!(a.data, b.data, "{ext}");
        let mut junk = data.clone();
        junk.extend_from_slice(b"sent from planted-host");
        let j = clean(&junk, &Options::default()).unwrap();
        let t: Vec<_> = j
            .report
            .findings
            .iter()
            .filter(|f| f.category == Category::Trailer)
            .collect();
        assert_eq!(t.len(), 1, "{ext}: {:?}", j.report.findings);
        assert_eq!(
            t[0].offset,
            Some(data.len() as u64 - if ext == "pdf" { 1 } else { 0 }),
            "{ext}"
        );
        assert_eq!(j.data, plain, "{ext}");
    }
}

fn err_text(r: Result<baram_sanitize::Cleaned, Error>) -> String {
    match r {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_files_are_refused_with_an_offset() {
    for (ext, format, data) in doc_fixtures().into_iter().chain(pdf_fixtures()) {
        for cut in [
            0,
            1,
            4,
            30,
            100,
            data.len() / 3,
            data.len() / 2,
            data.len() - 30,
            data.len() - 10,
            data.len() - 2,
        ] {
            let r = clean_as(format, &data[..cut], &Options::default());
            if let Ok(c) = &r {
                panic!(
                    "{ext} cut at {cut} of {} accepted: {:?}",
                    data.len(),
                    c.report
                        .findings
                        .iter()
                        .map(|f| &f.field)
                        .collect::<Vec<_>>()
                );
            }
            let m = err_text(r);
            assert!(m.contains("byte"), "{ext} cut at {cut}: {m}");
            // (A few bytes may well be plain text.)
            if cut >= 8 {
                assert!(
                    clean(&data[..cut], &Options::default()).is_err(),
                    "{ext} cut at {cut}"
                );
            }
        }
    }
}

#[test]
fn garbage_is_refused() {
    let mut g = b"PK\x03\x04".to_vec();
    g.extend((0..500u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    assert!(clean(&g, &Options::default()).is_err());
    assert!(clean_as(Format::Docx, &g, &Options::default()).is_err());
    let mut p = b"%PDF-1.4\n".to_vec();
    p.extend_from_slice(&g);
    p.extend_from_slice(b"\nstartxref\n12\n%%EOF\n");
    assert!(clean(&p, &Options::default()).is_err());
    // The wrong kind of package.
    let m = err_text(clean_as(
        Format::Docx,
        &fixtures::xlsx_with_metadata(),
        &Options::default(),
    ));
    assert!(m.contains("XLSX"), "{m}");
    let m = err_text(clean_as(
        Format::Odt,
        &fixtures::ods_with_metadata(),
        &Options::default(),
    ));
    assert!(m.contains("ODS"), "{m}");
}

/// The offset of the central directory of an archive we wrote (no comment).
fn cd_offset(z: &[u8]) -> usize {
    let e = z.len() - 22;
    u32::from_le_bytes(z[e + 16..e + 20].try_into().unwrap()) as usize
}

#[test]
fn zip_structure_errors() {
    let base = fixtures::docx_with_metadata();
    let cd = cd_offset(&base);
    // Compressed size of the first entry runs past the end.
    let mut z = base.clone();
    z[cd + 20..cd + 24].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let m = err_text(clean(&z, &Options::default()));
    assert!(m.contains("byte"), "{m}");
    // Local header disagrees with the central directory (name changed).
    let mut z = base.clone();
    z[30] = b'x';
    let m = err_text(clean(&z, &Options::default()));
    assert!(m.contains("does not agree"), "{m}");
    // Encrypted.
    let mut z = base.clone();
    z[6] |= 1;
    z[cd + 8] |= 1;
    assert!(matches!(
        clean(&z, &Options::default()),
        Err(Error::Unsupported { .. })
    ));
    // Method 14 (LZMA).
    let mut z = base.clone();
    z[8] = 14;
    z[cd + 10] = 14;
    let m = err_text(clean(&z, &Options::default()));
    assert!(m.contains("method 14"), "{m}");
    // ZIP64 marker in the end record.
    let mut z = base.clone();
    let e = z.len() - 22;
    z[e + 16..e + 20].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
    assert!(matches!(
        clean_as(Format::Docx, &z, &Options::default()),
        Err(Error::Unsupported { .. })
    ));
    // CRC mismatch.
    let mut z = base.clone();
    let first_data = 30 + u16::from_le_bytes([z[26], z[27]]) as usize;
    z[first_data + 3] ^= 0x55;
    assert!(clean(&z, &Options::default()).is_err());
}

fn docx_with(name: &str, data: &[u8]) -> Vec<u8> {
    fixtures::docx_with_entry(name, data)
}

#[test]
fn path_tricks_macros_and_dtds_are_refused() {
    for name in ["../evil.xml", "/etc/x.xml", "word\\x.xml", "word//x.xml"] {
        let m = err_text(clean(&docx_with(name, b"<a/>"), &Options::default()));
        assert!(m.contains("unsafe entry name"), "{name}: {m}");
    }
    let m = err_text(clean(
        &docx_with("word/vbaProject.bin", b"\xd0\xcf\x11\xe0macros"),
        &Options::default(),
    ));
    assert!(m.contains("word/vbaProject.bin"), "{m}");
    let m = err_text(clean(
        &docx_with("word/x.xml", b"<!DOCTYPE a [<!ENTITY b 'c'>]><a>&b;</a>"),
        &Options::default(),
    ));
    assert!(m.contains("DTD"), "{m}");
    let m = err_text(clean(
        &docx_with("word/x.xml", b"<a><b></a>"),
        &Options::default(),
    ));
    assert!(m.contains("word/x.xml") && m.contains("byte"), "{m}");
    // Duplicate names (case-insensitive, as OPC requires).
    let m = err_text(clean(
        &docx_with("WORD/DOCUMENT.XML", b"<a/>"),
        &Options::default(),
    ));
    assert!(m.contains("duplicate"), "{m}");
}

#[test]
fn embedded_documents_are_cleaned_and_images_never_pass_unclean() {
    let inner = fixtures::docx_with_metadata();
    let c = clean(
        &docx_with("word/embeddings/Doc1.docx", &inner),
        &Options::default(),
    )
    .unwrap();
    assert!(
        c.report
            .findings
            .iter()
            .any(|f| f.field == "word/embeddings/Doc1.docx: docProps/core.xml dc:creator")
    );
    for (_, d) in entries(&c.data) {
        assert!(!contains(&d, b"KimCheolsu"));
        if d.starts_with(b"PK") {
            for (n, d) in entries(&d) {
                assert!(!contains(&d, b"KimCheolsu"), "{n}");
            }
        }
    }
    // A JPEG with EXIF: cleaned by the JPEG module, or the document is refused.
    let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe1, 0x00, 0x1d];
    jpeg.extend_from_slice(b"Exif\0\0PLANTED-SERIAL-4471\0\0\0\0");
    jpeg.extend_from_slice(&[0xff, 0xd9]);
    match clean(
        &docx_with("word/media/image1.jpeg", &jpeg),
        &Options::default(),
    ) {
        Ok(c) => {
            for (_, d) in entries(&c.data) {
                assert!(!contains(&d, b"PLANTED-SERIAL-4471"));
            }
        }
        Err(e) => assert!(e.to_string().contains("word/media/image1.jpeg"), "{e}"),
    }
}

#[test]
fn odf_encrypted_is_refused() {
    let z = fixtures::odt_with_metadata();
    // Rebuild the manifest with an encryption-data element.
    let list = entries_raw(&z);
    let mut names: Vec<(String, Vec<u8>)> = list;
    for (n, d) in names.iter_mut() {
        if n == "META-INF/manifest.xml" {
            let s = String::from_utf8(d.clone()).unwrap().replace(
                "manifest:media-type=\"text/xml\"/>",
                "manifest:media-type=\"text/xml\"><manifest:encryption-data manifest:checksum=\"x\"/></manifest:file-entry>",
            );
            *d = s.into_bytes();
        }
    }
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (n, d) in &names {
        let o = zip::write::SimpleFileOptions::default().compression_method(if n == "mimetype" {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        });
        w.start_file(n.as_str(), o).unwrap();
        std::io::Write::write_all(&mut w, d).unwrap();
    }
    let z = w.finish().unwrap().into_inner();
    let m = err_text(clean(&z, &Options::default()));
    assert!(m.contains("encrypted"), "{m}");
}

fn pdf_patch(from: &str, to: &str) -> Vec<u8> {
    let d = fixtures::pdf_with_metadata();
    let s = unsafe_latin1(&d).replacen(from, to, 1);
    s.chars().map(|c| c as u8).collect()
}

fn unsafe_latin1(d: &[u8]) -> String {
    d.iter().map(|&b| b as char).collect()
}

#[test]
fn pdf_refusals() {
    // Encrypted.
    let p = pdf_patch(
        "/Size 9 /Root 1 0 R /Info 7 0 R /Prev",
        "/Size 9 /Root 1 0 R /Encrypt 7 0 R /Prev",
    );
    assert!(matches!(
        clean(&p, &Options::default()),
        Err(Error::Unsupported { .. })
    ));
    // Signed.
    let p = pdf_patch("/Type /Font /Subtype /Type1", "/Type /Sig  /Subtype /Type1");
    let m = err_text(clean(&p, &Options::default()));
    assert!(m.contains("signed"), "{m}");
    // Stream length past its end.
    let p = pdf_patch("/Length 52", "/Length 99");
    let m = err_text(clean(&p, &Options::default()));
    assert!(m.contains("byte"), "{m}");
    // Cross-reference pointing at the wrong place.
    let p = pdf_patch("0000000015 00000 n", "0000000016 00000 n");
    let m = err_text(clean(&p, &Options::default()));
    assert!(m.contains("byte"), "{m}");
    // /Prev pointing to itself.
    let d = fixtures::pdf_with_metadata();
    let s = unsafe_latin1(&d);
    let last = s.rfind("startxref\n").unwrap();
    let x: String = s[last + 10..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let prev_at = s.rfind("/Prev ").unwrap();
    let old: String = s[prev_at + 6..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let looped = format!(
        "{}{:width$}{}",
        &s[..prev_at + 6],
        x,
        &s[prev_at + 6 + old.len()..],
        width = old.len()
    );
    let looped: Vec<u8> = looped.chars().map(|c| c as u8).collect();
    assert!(clean(&looped, &Options::default()).is_err());
}

mod mutations {
    use super::*;
    use proptest::prelude::*;

    fn check(format: Format, data: &[u8]) {
        if let Ok(c) = clean_as(format, data, &Options::default()) {
            let again =
                clean_as(format, &c.data, &Options::default()).expect("cleaned output parses");
            assert_eq!(again.data, c.data);
        }
    }

    fn mutate(mut d: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
        for &(pos, kind, val) in edits {
            if d.is_empty() {
                break;
            }
            let p = pos % d.len();
            match kind % 4 {
                0 => d[p] = val,
                1 => d[p] ^= 1 << (val % 8),
                2 => d.truncate(p),
                _ => d.insert(p, val),
            }
        }
        d
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 100, .. ProptestConfig::default() })]
        /// Mutations inside an XML part (the ZIP layer's CRC would stop most
        /// byte-level mutations before the XML rewriter sees them).
        #[test]
        fn xml_part_mutations_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
            let xml = mutate(fixtures::docx_document_xml().into_bytes(), &edits);
            let d = fixtures::docx_with_entry("word/glossary/document.xml", &xml);
            check(Format::Docx, &d);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]
        #[test]
        fn random_mutations_never_panic(which in 0usize..8, edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
            let all: Vec<(Format, Vec<u8>)> = vec![
                (Format::Docx, fixtures::docx_with_metadata()),
                (Format::Docx, fixtures::docx_with_redstar(&["A", "B"], true)),
                (Format::Xlsx, fixtures::xlsx_with_metadata()),
                (Format::Pptx, fixtures::pptx_with_metadata()),
                (Format::Odt, fixtures::odt_with_metadata()),
                (Format::Ods, fixtures::ods_with_metadata()),
                (Format::Pdf, fixtures::pdf_with_metadata()),
                (Format::Pdf, fixtures::pdf_with_object_streams()),
            ];
            let (format, data) = all[which].clone();
            let m = mutate(data, &edits);
            check(format, &m);
            let _ = clean(&m, &Options::default());
        }
    }
}
