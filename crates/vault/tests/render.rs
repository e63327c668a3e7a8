//! Documents, OCR and videos through `Vault::process`, end to end: Korean
//! pages made here (LibreOffice, poppler) are OCRed in the sandbox with at
//! least 90% character accuracy and found by the search index; documents
//! become safe PDFs (qpdf, pdfinfo and the sanitizer as oracles) with text
//! from the text layer or OCR as the report says; videos are remuxed
//! without metadata (ffprobe, the sanitizer) with a poster frame, and voice
//! recordings (MP3, M4A) keep their sound alone without tags; a hanging
//! converter and a ZIP bomb inside a DOCX are quarantined while the batch
//! goes on; nothing decrypted is left on disk or in TMPDIR.
//!
//! The tools are required (scripts/test installs them): a missing one fails
//! these tests, it never skips them.

mod common;
use baram_vault::process::{Options, Status};
use baram_vault::{Keys, Vault};
use common::*;
use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The Korean (and one English) lines of the test pages.
const LINES: &[&str] = &[
    "평양 시내 배급소 앞에 사람들이 줄을 서 있다",
    "인민위원회는 다음 달부터 전기 공급을 줄인다고 발표하였다",
    "국경 경비대의 검문이 강화되어 장마당 상인들이 걱정한다",
    "The report was carried out in March",
];

/// Converts an HTML page of `LINES` with LibreOffice (unsandboxed: this is
/// the test making its input) into `fmt` ("pdf", "docx") in `dir`.
fn soffice(dir: &Path, fmt: &str) -> Vec<u8> {
    let html: String = LINES
        .iter()
        .map(|l| format!("<p style=\"font-family:NanumGothic;font-size:20pt\">{l}</p>"))
        .collect();
    let src = dir.join("page.html");
    fs::write(
        &src,
        format!("<html><head><meta charset=\"utf-8\"></head><body>{html}</body></html>"),
    )
    .unwrap();
    let out = dir.join(format!("out-{fmt}"));
    tool(
        Command::new("soffice")
            .args(["--headless", "--norestore"])
            .arg(format!(
                "-env:UserInstallation=file://{}",
                dir.join("lo").display()
            ))
            .args([
                "--infilter=HTML (StarWriter)",
                "--convert-to",
                fmt,
                "--outdir",
            ])
            .arg(&out)
            .arg(&src)
            .env("HOME", dir),
        "soffice (apt-get install libreoffice-writer-nogui)",
    );
    fs::read(out.join(format!("page.{fmt}"))).unwrap()
}

/// The first page of a PDF as a PNG at 150 dpi (a "photo" of the page).
fn page_png(dir: &Path, pdf: &[u8]) -> Vec<u8> {
    let p = dir.join("in.pdf");
    fs::write(&p, pdf).unwrap();
    tool(
        Command::new("pdftoppm")
            .args(["-r", "150", "-png", "-singlefile"])
            .arg(&p)
            .arg(dir.join("page")),
        "pdftoppm (apt-get install poppler-utils)",
    );
    fs::read(dir.join("page.png")).unwrap()
}

/// An image-only PDF of a page image (a scan): no text layer.
fn scanned_pdf(png: &[u8]) -> Vec<u8> {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let (w, h) = img.dimensions();
    baram_vault::render::build_pdf(&[baram_vault::render::PageImage {
        width_pt: w as f32 * 72.0 / 150.0,
        height_pt: h as f32 * 72.0 / 150.0,
        pixels: zeroize::Zeroizing::new(img.into_raw()),
        px_width: w,
        px_height: h,
        channels: 1,
        words: Vec::new(),
    }])
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// 1 - edit distance / length, on the characters without white space.
fn accuracy(expected: &str, got: &str) -> f64 {
    let e: Vec<char> = expected.chars().filter(|c| !c.is_whitespace()).collect();
    let g: Vec<char> = got.chars().filter(|c| !c.is_whitespace()).collect();
    1.0 - levenshtein(&e, &g) as f64 / e.len() as f64
}

#[test]
fn accuracy_measure_is_edit_distance() {
    assert_eq!(accuracy("평양 시내", "평양시내"), 1.0);
    assert_eq!(accuracy("abcd", "abxd"), 0.75);
    assert_eq!(accuracy("abcd", ""), 0.0);
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

#[test]
fn korean_pages_ocred_searchable_and_safe_pdfs() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let gen_dir = t.path().join("gen");
    fs::create_dir_all(&gen_dir).unwrap();
    let pdf = soffice(&gen_dir, "pdf");
    let docx = soffice(&gen_dir, "docx");
    let png = page_png(&gen_dir, &pdf);
    let scan = scanned_pdf(&png);
    fs::remove_dir_all(&gen_dir).unwrap();
    let ids = bring_in(
        &root,
        t.path(),
        &[
            ("photo-of-page.png", png.clone()),
            ("scan.pdf", scan),
            ("report.docx", docx),
        ],
    );
    let tmp = std::env::temp_dir();
    let tmp_before: Vec<_> = fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let (mut v, keys) = open(&root);
    let started = std::time::Instant::now();
    let rep = v.process(&keys, &Options::default(), &|_, _| {}).unwrap();
    eprintln!("processed in {:?}", started.elapsed());
    assert_eq!(
        (rep.processed, rep.quarantined, rep.deferred),
        (3, 0, 0),
        "{rep:#?}"
    );
    let expected = LINES.join("\n");

    // The photo: OCRed, confident, accurate.
    let r = v
        .process_report(&keys, &ids["photo-of-page.png"])
        .unwrap()
        .unwrap();
    let o = r.ocr.as_ref().expect("OCR facts");
    assert!(o.kept && o.error.is_none(), "{o:?}");
    let got = text_of(&v, &keys, &ids["photo-of-page.png"]);
    let acc = accuracy(&expected, &got);
    eprintln!("photo accuracy {acc:.3}: {got:?}");
    assert!(acc >= 0.90, "accuracy {acc:.3}: {got:?}");

    // The scan: no text layer, so OCR; the safe PDF has our text layer.
    let r = v.process_report(&keys, &ids["scan.pdf"]).unwrap().unwrap();
    let d = r.document.as_ref().expect("document facts");
    assert_eq!((d.pages, d.pages_rendered, d.ocr_pages), (1, 1, 1), "{d:?}");
    assert_eq!(d.text_source, "ocr");
    assert_eq!(d.converted_with, None);
    let got = text_of(&v, &keys, &ids["scan.pdf"]);
    let acc = accuracy(&expected, &got);
    eprintln!("scan accuracy {acc:.3}");
    assert!(acc >= 0.90, "accuracy {acc:.3}: {got:?}");
    let safe = v
        .derivative(&keys, &ids["scan.pdf"], "safe-pdf")
        .unwrap()
        .unwrap();
    let check = t.path().join("check");
    fs::create_dir_all(&check).unwrap();
    let sp = check.join("safe.pdf");
    fs::write(&sp, &safe[..]).unwrap();
    tool(Command::new("qpdf").arg("--check").arg(&sp), "qpdf");
    let info = String::from_utf8_lossy(&tool(Command::new("pdfinfo").arg(&sp), "pdfinfo").stdout)
        .into_owned();
    for bad in [
        "Producer",
        "Creator",
        "Author",
        "CreationDate",
        "ModDate",
        "Title",
    ] {
        assert!(!info.contains(bad), "pdfinfo: {info}");
    }
    let layer = String::from_utf8_lossy(
        &tool(Command::new("pdftotext").arg(&sp).arg("-"), "pdftotext").stdout,
    )
    .into_owned();
    let acc_layer = accuracy(&expected, &layer);
    eprintln!("invisible layer accuracy {acc_layer:.3}");
    assert!(acc_layer >= 0.85, "text layer {acc_layer:.3}: {layer:?}");
    assert!(layer.contains("배급소"), "{layer}");
    let c = baram_sanitize::clean(&safe, &Default::default()).unwrap();
    assert!(c.report.is_clean(), "{:?}", c.report.findings);
    // Its pages are images of the right size (A4 or Letter at 72 dpi).
    let pages = tool(
        Command::new("pdftoppm")
            .args(["-r", "10", "-png", "-singlefile"])
            .arg(&sp)
            .arg(check.join("p")),
        "pdftoppm",
    );
    drop(pages);
    let img = image::open(check.join("p.png")).unwrap();
    assert!(
        img.width() > 70 && img.height() > 100,
        "{}x{}",
        img.width(),
        img.height()
    );
    fs::remove_dir_all(&check).unwrap();

    // The DOCX: converted by LibreOffice, text from its text layer.
    let r = v
        .process_report(&keys, &ids["report.docx"])
        .unwrap()
        .unwrap();
    let d = r.document.as_ref().expect("document facts");
    assert_eq!(d.converted_with.as_deref(), Some("libreoffice"));
    assert_eq!(d.text_source, "text layer", "{d:?}");
    assert_eq!(d.ocr_pages, 0);
    let got = text_of(&v, &keys, &ids["report.docx"]);
    assert!(accuracy(&expected, &got) >= 0.99, "{got:?}");
    assert!(r.derivatives.contains(&"safe-pdf".to_string()));

    // Searchable: the OCR texts are in the index.
    let (index, items) = v.search_index(&keys).unwrap();
    let hits = index
        .search(&baram_vault::search::Query::new("배급소"))
        .unwrap();
    let found: Vec<&str> = hits
        .iter()
        .map(|h| items[h.doc_id as usize].id.as_str())
        .collect();
    for name in ["photo-of-page.png", "scan.pdf", "report.docx"] {
        assert!(
            found.contains(&ids[name].as_str()),
            "{name} not found: {found:?}"
        );
    }
    let hits = index
        .search(&baram_vault::search::Query::new("경비대"))
        .unwrap();
    assert!(hits.len() >= 2, "{hits:?}");

    // Nothing in clear: not in the vault, not in TMPDIR (no new entry there).
    let secrets: Vec<Vec<u8>> = LINES[..3]
        .iter()
        .flat_map(|l| l.split(' ').filter(|w| w.chars().count() >= 3))
        .map(|w| w.as_bytes().to_vec())
        .chain([b"%PDF-".to_vec(), b"IHDR".to_vec()])
        .collect();
    assert_absent(&all_files(&root), &secrets, 256 << 20);
    let tmp_after: Vec<_> = fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !tmp_before.contains(n))
        .collect();
    // Only this test's own folder (made before) may be there.
    assert!(
        tmp_after
            .iter()
            .all(|n| !n.to_string_lossy().starts_with("baram")
                && !n.to_string_lossy().starts_with("lu")
                && !n.to_string_lossy().starts_with("OSL")),
        "new in TMPDIR: {tmp_after:?}"
    );
    assert_absent(&all_files(&tmp), &secrets[..3], 256 << 20);
    let c = v.check(&keys, false, &|_, _| {}).unwrap();
    assert!(c.is_clean(), "{c:#?}");
}

/// A video made by ffmpeg with a title, a comment, a location and a date.
fn video(dir: &Path, marker: &str, ext: &str) -> Vec<u8> {
    let out = dir.join(format!("v.{ext}"));
    tool(
        Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x120:rate=10:duration=2",
            ])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"])
            .args([
                "-metadata",
                &format!("title={marker}"),
                "-metadata",
                &format!("comment={marker}-comment"),
            ])
            .args([
                "-metadata",
                "location=+39.0392+125.7625/",
                "-metadata",
                "creation_time=2024-03-12T10:00:00Z",
            ])
            .args(["-c:v", "mpeg4", "-c:a", "aac", "-shortest", "-y"])
            .arg(&out),
        "ffmpeg",
    );
    fs::read(&out).unwrap()
}

#[test]
fn videos_remuxed_without_metadata_with_a_poster() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let marker = unique("VIDEO-MARKER");
    let gen_dir = t.path().join("gen");
    fs::create_dir_all(&gen_dir).unwrap();
    let mp4 = video(&gen_dir, &marker, "mp4");
    let mkv = video(&gen_dir, &marker, "mkv");
    fs::remove_dir_all(&gen_dir).unwrap();
    assert!(memchr::memmem::find(&mp4, marker.as_bytes()).is_some());
    let ids = bring_in(&root, t.path(), &[("clip.mp4", mp4), ("clip.mkv", mkv)]);
    let (mut v, keys) = open(&root);
    let rep = v.process(&keys, &Options::default(), &|_, _| {}).unwrap();
    assert_eq!((rep.processed, rep.quarantined), (2, 0), "{rep:#?}");
    let check = t.path().join("check");
    fs::create_dir_all(&check).unwrap();
    for name in ["clip.mp4", "clip.mkv"] {
        let r = v.process_report(&keys, &ids[name]).unwrap().unwrap();
        assert!(
            r.findings
                .iter()
                .any(|f| f.value.as_deref().unwrap_or("").contains(&marker)
                    || f.field.to_lowercase().contains("title")),
            "{name}: {:#?}",
            r.findings
        );
        let vf = r.video.as_ref().unwrap();
        let poster = vf
            .poster
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: {vf:?}"));
        assert_eq!((poster.width, poster.height), (160, 120));
        let safe = v
            .derivative(&keys, &ids[name], "safe-video")
            .unwrap()
            .unwrap();
        assert!(
            memchr::memmem::find(&safe, marker.as_bytes()).is_none(),
            "{name}"
        );
        assert!(
            memchr::memmem::find(&safe, b"Lavf").is_none(),
            "{name}: encoder string"
        );
        let again = baram_sanitize::clean(&safe, &Default::default()).unwrap();
        assert!(
            again.report.is_clean(),
            "{name}: {:?}",
            again.report.findings
        );
        // ffprobe, the oracle: streams intact, no tags.
        let p = check.join(name);
        fs::write(&p, &safe[..]).unwrap();
        let o = tool(
            Command::new("ffprobe")
                .args([
                    "-v",
                    "error",
                    "-show_format",
                    "-show_streams",
                    "-of",
                    "json",
                ])
                .arg(&p),
            "ffprobe",
        );
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let streams = j["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 2, "{name}: {j}");
        // Tags of the file and of each stream: none of the planted ones,
        // and no encoder name (an empty WritingApp shows as an empty tag).
        let mut tags: Vec<(String, String)> = Vec::new();
        for t in std::iter::once(&j["format"]["tags"]).chain(streams.iter().map(|s| &s["tags"])) {
            if let Some(m) = t.as_object() {
                tags.extend(
                    m.iter()
                        .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap_or("").to_string())),
                );
            }
        }
        for (k, v) in &tags {
            assert!(
                !v.contains(&marker) && !v.contains("Lav") && !v.contains("2024"),
                "{name}: {tags:?}"
            );
            for bad in ["title", "comment", "location", "creation_time"] {
                assert!(!k.contains(bad), "{name}: {tags:?}");
            }
            if k == "encoder" {
                assert!(v.is_empty(), "{name}: {tags:?}");
            }
        }
        let poster_png = v.derivative(&keys, &ids[name], "poster").unwrap().unwrap();
        assert!(poster_png.starts_with(b"\x89PNG"));
    }
    fs::remove_dir_all(&check).unwrap();
    assert_absent(
        &all_files(&root),
        &[marker.as_bytes().to_vec(), b"ftypisom".to_vec()],
        256 << 20,
    );
}

/// A voice recording as a phone or a recorder makes it: `ext` "mp3" (ID3
/// tags, the LAME encoder's header), "m4a" (an MP4 with sound alone),
/// "wav" (a LIST/INFO chunk), "flac" or "ogg" (Opus; Vorbis comments),
/// tagged with a title, an artist, a comment, a location and a date.
fn recording(dir: &Path, marker: &str, ext: &str) -> Vec<u8> {
    let out = dir.join(format!("r.{ext}"));
    let codec: &[&str] = match ext {
        "mp3" => &["-c:a", "libmp3lame", "-b:a", "64k"],
        "wav" => &["-c:a", "pcm_s16le"],
        "flac" => &["-c:a", "flac"],
        "ogg" => &["-c:a", "libopus", "-b:a", "32k"],
        _ => &["-c:a", "aac", "-b:a", "64k"],
    };
    tool(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
            .arg("sine=frequency=330:duration=3:sample_rate=44100")
            .args([
                "-metadata",
                &format!("title={marker}"),
                "-metadata",
                &format!("artist={marker}-artist"),
                "-metadata",
                &format!("comment={marker}-comment"),
                "-metadata",
                "location=+39.0392+125.7625/",
                "-metadata",
                "creation_time=2024-03-12T10:00:00Z",
                "-metadata",
                "date=2024-03-12",
            ])
            .args(codec)
            .arg("-y")
            .arg(&out),
        "ffmpeg",
    );
    fs::read(&out).unwrap()
}

/// The samples of a recording as ffmpeg decodes them (16-bit mono, 44.1 kHz).
fn pcm(p: &Path) -> Vec<u8> {
    tool(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(p)
            .args(["-f", "s16le", "-ac", "1", "-ar", "44100", "-"]),
        "ffmpeg",
    )
    .stdout
}

/// Voice recordings, evidence as often as documents: an MP3 and a phone's
/// M4A (an MP4 without video, which used to go down the video path and be
/// quarantined) are kept as their sound alone, without tags or encoder
/// names (ffprobe and exiftool as oracles, the sanitizer finding nothing),
/// the sound intact (same codec, channels and length); WAV, FLAC and Ogg
/// Opus, which the sanitizer has no cleaner for, are re-encoded losslessly
/// (ALAC in MP4: the WAV's and the FLAC's samples come back bit for bit);
/// all of them export.
#[test]
fn recordings_keep_their_sound_without_tags() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let marker = unique("VOICE-MARKER");
    let gen_dir = t.path().join("gen");
    fs::create_dir_all(&gen_dir).unwrap();
    let exts = ["mp3", "m4a", "wav", "flac", "ogg"];
    let mut files = Vec::new();
    for ext in exts {
        let f = recording(&gen_dir, &marker, ext);
        assert!(
            memchr::memmem::find(&f, marker.as_bytes()).is_some(),
            "{ext}"
        );
        files.push((format!("memo.{ext}"), f));
    }
    assert!(memchr::memmem::find(&files[0].1, b"LAME").is_some());
    let wav_pcm = pcm(&gen_dir.join("r.wav"));
    let flac_pcm = pcm(&gen_dir.join("r.flac"));
    assert_eq!(wav_pcm.len(), 3 * 44100 * 2);
    fs::remove_dir_all(&gen_dir).unwrap();
    let named: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, f)| (n.as_str(), f.clone())).collect();
    let ids = bring_in(&root, t.path(), &named);
    let (mut v, keys) = open(&root);
    let rep = v.process(&keys, &Options::default(), &|_, _| {}).unwrap();
    assert_eq!(
        (rep.processed, rep.quarantined, rep.unhandled),
        (5, 0, 0),
        "{rep:#?}"
    );
    let check = t.path().join("check");
    fs::create_dir_all(&check).unwrap();
    for (name, codec, container, from) in [
        ("memo.mp3", "mp3", "mp3", None),
        ("memo.m4a", "aac", "mp4", None),
        ("memo.wav", "alac", "mp4", Some("wav")),
        ("memo.flac", "alac", "mp4", Some("flac")),
        ("memo.ogg", "alac", "mp4", Some("opus")),
    ] {
        let r = v.process_report(&keys, &ids[name]).unwrap().unwrap();
        assert_eq!(r.status, Status::Processed, "{name}: {r:#?}");
        assert_eq!(r.derivatives, vec!["safe-audio".to_string()], "{name}");
        assert!(r.video.is_none(), "{name}");
        let af = r.audio.as_ref().unwrap();
        assert_eq!(af.container, container, "{name}");
        assert_eq!(af.transcoded_from.as_deref(), from, "{name}");
        if from.is_none() {
            // The sanitizer's findings name the planted title.
            assert!(
                r.findings
                    .iter()
                    .any(|f| f.value.as_deref().unwrap_or("").contains(&marker)
                        || f.field.to_lowercase().contains("title")),
                "{name}: {:#?}",
                r.findings
            );
        }
        let safe = v
            .derivative(&keys, &ids[name], "safe-audio")
            .unwrap()
            .unwrap();
        // (An encoder's name inside the audio data stays, as in a video's
        // sound: LAME's version in the filler bits of an MP3's last frame,
        // ffmpeg's "Lavc" in an AAC fill element of this test's M4A; it
        // names a program everybody has, not a person or a machine. The
        // MP3's Xing/LAME header frame, which exiftool reads, is gone:
        // checked below.)
        for bad in [marker.as_bytes(), b"Lavf", b"ID3", b"2024"] {
            assert!(
                memchr::memmem::find(&safe, bad).is_none(),
                "{name}: {}",
                String::from_utf8_lossy(bad)
            );
        }
        let again = baram_sanitize::clean(&safe, &Default::default()).unwrap();
        assert!(
            again.report.is_clean(),
            "{name}: {:?}",
            again.report.findings
        );
        // ffprobe: one audio stream, the codec kept, the length kept; no tags.
        let p = check.join(name);
        fs::write(&p, &safe[..]).unwrap();
        let o = tool(
            Command::new("ffprobe")
                .args([
                    "-v",
                    "error",
                    "-show_format",
                    "-show_streams",
                    "-of",
                    "json",
                ])
                .arg(&p),
            "ffprobe",
        );
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let streams = j["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 1, "{name}: {j}");
        assert_eq!(streams[0]["codec_type"], "audio", "{name}: {j}");
        assert_eq!(streams[0]["codec_name"], codec, "{name}: {j}");
        let secs: f64 = j["format"]["duration"].as_str().unwrap().parse().unwrap();
        assert!((secs - 3.0).abs() < 0.1, "{name}: {secs} s");
        for t in std::iter::once(&j["format"]["tags"]).chain(streams.iter().map(|s| &s["tags"])) {
            if let Some(m) = t.as_object() {
                for (k, val) in m {
                    let val = val.as_str().unwrap_or("");
                    assert!(
                        !val.contains(&marker) && !val.contains("Lav") && !val.contains("2024"),
                        "{name}: {m:?}"
                    );
                    for bad in ["title", "artist", "comment", "location", "date", "creation"] {
                        assert!(!k.to_lowercase().contains(bad), "{name}: {m:?}");
                    }
                }
            }
        }
        // exiftool, the independent oracle: no tag of the planted ones.
        let o = tool(
            Command::new("exiftool").args(["-a", "-G1", "-u"]).arg(&p),
            "exiftool",
        );
        let s = String::from_utf8_lossy(&o.stdout);
        for bad in [
            &marker[..],
            "ID3",
            "Artist",
            "Title",
            "Comment",
            "2024",
            "LAME",
            "Lavf",
        ] {
            assert!(!s.contains(bad), "{name}: exiftool found {bad}:\n{s}");
        }
        // And it decodes: the whole length of sound; lossless where the
        // source was: the WAV's and the FLAC's samples, bit for bit.
        let got = pcm(&p);
        let secs = got.len() as f64 / 2.0 / 44100.0;
        assert!((secs - 3.0).abs() < 0.1, "{name}: {secs} s");
        match name {
            "memo.wav" => assert!(got == wav_pcm, "{name}: samples changed"),
            "memo.flac" => assert!(got == flac_pcm, "{name}: samples changed"),
            _ => {}
        }
    }
    fs::remove_dir_all(&check).unwrap();
    // All export, as their safe copies.
    let all: Vec<String> = exts
        .iter()
        .map(|e| ids[format!("memo.{e}").as_str()].clone())
        .collect();
    v.case_add(&keys, "voices", &all).unwrap();
    let zp = t.path().join("voices.zip");
    let ex = v.export_case(&keys, "voices", &zp).unwrap();
    assert_eq!((ex.items, ex.left_out.len()), (5, 0), "{ex:#?}");
    let names: Vec<&str> = ex.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.ends_with("/safe-audio.mp4"))
            .count(),
        4,
        "{names:?}"
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| n.ends_with("/safe-audio.mp3"))
            .count(),
        1,
        "{names:?}"
    );
    let zip = fs::read(&zp).unwrap();
    assert!(memchr::memmem::find(&zip, marker.as_bytes()).is_none());
    drop(v);
    assert_absent(&all_files(&root), &[marker.as_bytes().to_vec()], 256 << 20);
}

fn soffice_running_for_us() -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(c) = fs::read(e.path().join("cmdline")) {
            let c = String::from_utf8_lossy(&c).replace('\0', " ");
            if c.contains("soffice") && c.contains("--convert-to pdf --outdir out in.") {
                out.push(c);
            }
        }
    }
    out
}

#[test]
fn hanging_converter_and_zip_bomb_docx_quarantined_batch_goes_on() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    let docx = baram_sanitize::fixtures::docx_with_metadata();
    let bomb =
        baram_sanitize::fixtures::docx_with_entry("word/media/zeros.bin", &vec![0u8; 3 << 20]);
    let files = vec![
        ("slow.docx", docx.clone()),
        ("bomb.docx", bomb),
        (
            "broken.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nstream\x00\x01garbage".to_vec(),
        ),
        ("fine.txt", "평양 소식\n".as_bytes().to_vec()),
    ];
    let originals: HashMap<&str, Vec<u8>> = files.iter().map(|(n, d)| (*n, d.clone())).collect();
    let ids = bring_in(&root, t.path(), &files);
    let (mut v, keys) = open(&root);
    // A converter that does not finish in time: LibreOffice cannot even
    // start in 300 ms, as a document built to hang it would never finish.
    let mut opts = Options::default();
    opts.docs.time = Duration::from_millis(300);
    // A small limit stands in for the gigabytes of a real bomb.
    opts.max_unpacked = 1 << 20;
    let started = std::time::Instant::now();
    let rep = v.process(&keys, &opts, &|_, _| {}).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (rep.processed, rep.quarantined, rep.unhandled),
        (1, 3, 0),
        "{rep:#?}"
    );
    let reason = |name: &str| {
        let r = v.process_report(&keys, &ids[name]).unwrap().unwrap();
        assert_eq!(r.status, Status::Quarantined, "{name}: {r:#?}");
        assert!(
            v.derivative(&keys, &ids[name], "safe-pdf")
                .unwrap()
                .is_none()
        );
        r.reason.unwrap()
    };
    let r = reason("slow.docx");
    assert!(
        r.contains("LibreOffice") && r.contains("time limit") && r.contains("killed"),
        "{r}"
    );
    assert!(reason("bomb.docx").contains("ZIP bomb"));
    assert!(reason("broken.pdf").contains("PDF"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        soffice_running_for_us().is_empty(),
        "{:?}",
        soffice_running_for_us()
    );
    assert_eq!(
        v.process_report(&keys, &ids["fine.txt"])
            .unwrap()
            .unwrap()
            .status,
        Status::Processed
    );
    // Originals untouched and verified.
    let c = v.check(&keys, false, &|_, _| {}).unwrap();
    assert!(c.is_clean(), "{c:#?}");
    for it in v.list(&keys).unwrap() {
        let rec = it.record.as_ref().unwrap();
        assert_eq!(
            rec.blake3,
            blake3::hash(&originals[rec.original_name.as_str()])
                .to_hex()
                .to_string()
        );
    }
}

#[test]
fn long_documents_are_cut_at_the_page_cap() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("vault");
    new_vault(&root);
    // Three blank pages, no text layer.
    let page = || baram_vault::render::PageImage {
        width_pt: 100.0,
        height_pt: 100.0,
        pixels: zeroize::Zeroizing::new(vec![255u8; 50 * 50]),
        px_width: 50,
        px_height: 50,
        channels: 1,
        words: Vec::new(),
    };
    let pdf = baram_vault::render::build_pdf(&[page(), page(), page()]);
    let ids = bring_in(&root, t.path(), &[("three.pdf", pdf)]);
    let (mut v, keys) = open(&root);
    let mut opts = Options::default();
    opts.docs.max_pages = 2;
    let rep = v.process(&keys, &opts, &|_, _| {}).unwrap();
    assert_eq!(rep.processed, 1, "{rep:#?}");
    let d = v
        .process_report(&keys, &ids["three.pdf"])
        .unwrap()
        .unwrap()
        .document
        .unwrap();
    assert_eq!((d.pages, d.pages_rendered), (3, 2));
    let safe = v
        .derivative(&keys, &ids["three.pdf"], "safe-pdf")
        .unwrap()
        .unwrap();
    let p = t.path().join("safe.pdf");
    fs::write(&p, &safe[..]).unwrap();
    let info = String::from_utf8_lossy(&tool(Command::new("pdfinfo").arg(&p), "pdfinfo").stdout)
        .into_owned();
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.ends_with(" 2")),
        "{info}"
    );
}
