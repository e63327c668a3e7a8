//! Image cleaning (JPEG, PNG, GIF, WebP) against independent oracles:
//! exiftool reads every fixture before and after cleaning, ffmpeg decodes both
//! and the pixels must be the same.

// `..Default::default()` on Options: it may gain fields after the merge.
#![allow(clippy::needless_update)]

use baram_sanitize::{
    Category, Error, Format, Options, clean, clean_as, detect, fixtures, fixtures::PLANTED, redstar,
};
use proptest::prelude::*;
use std::path::Path;
use std::process::Command;

/// Every image fixture, its format and what exiftool must show before cleaning.
fn all() -> Vec<(&'static str, Format, Vec<u8>, Vec<&'static str>)> {
    let jpeg_want = vec![
        "KimCheolsu",
        "PLANTED-SERIAL-4471",
        "PLANTED-LENS-0925",
        "Pyongyang Secret Camera",
        "planted comment",
        "planted-host",
        "GPS Latitude",
        "Date/Time Original",
        "[IFD1]          Thumbnail Image",
        "[XMP-dc]        Creator",
        "[IPTC]          By-line",
        "[File]          Comment",
        "[ICC_Profile]",
        "Maker Note",
        "Thumbnail Width                 : 2",
    ];
    vec![
        (
            "exif.jpg",
            Format::Jpeg,
            fixtures::jpeg_with_exif(),
            jpeg_want.clone(),
        ),
        (
            "progressive.jpg",
            Format::Jpeg,
            fixtures::jpeg_progressive_with_exif(),
            jpeg_want.clone(),
        ),
        (
            "restarts.jpg",
            Format::Jpeg,
            fixtures::jpeg_with_restarts(),
            jpeg_want,
        ),
        (
            "text.png",
            Format::Png,
            fixtures::png_with_text(),
            vec![
                "KimCheolsu",
                "PLANTED-SERIAL-4471",
                "PLANTED-LENS-0925",
                "Pyongyang Secret Camera",
                "planted comment",
                "planted-host",
                "GPS Latitude",
                "[PNG]           Author",
                "[PNG]           Modify Date",
                "[XMP-dc]        Creator",
                "[ICC_Profile]",
            ],
        ),
        (
            "comment.gif",
            Format::Gif,
            fixtures::gif_with_comment(),
            vec![
                "KimCheolsu",
                "PLANTED-SERIAL-4471",
                "Pyongyang Secret Camera",
                "planted comment",
                "planted-host",
                "[File]          Comment",
                "[XMP-dc]        Creator",
                "Animation Iterations",
            ],
        ),
        (
            "exif.webp",
            Format::Webp,
            fixtures::webp_with_exif(),
            vec![
                "KimCheolsu",
                "PLANTED-SERIAL-4471",
                "PLANTED-LENS-0925",
                "Pyongyang Secret Camera",
                "planted comment",
                "planted-host",
                "GPS Latitude",
                "[XMP-dc]        Creator",
                "[ICC_Profile]",
                "WebP Flags                      : XMP, EXIF, ICC Profile",
            ],
        ),
    ]
}

fn plain() -> Vec<(&'static str, Format, Vec<u8>)> {
    vec![
        ("plain.jpg", Format::Jpeg, fixtures::jpeg_plain()),
        ("plain.png", Format::Png, fixtures::png_plain()),
        ("plain.gif", Format::Gif, fixtures::gif_plain()),
        ("plain.webp", Format::Webp, fixtures::webp_plain()),
    ]
}

fn exiftool(path: &Path, args: &[&str]) -> String {
    let out = Command::new("exiftool").args(args).arg(path).output();
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(e) => panic!(
            "exiftool is needed as the test oracle and could not be run ({e}): \
             apt-get install libimage-exiftool-perl"
        ),
    }
}

/// Decodes an image to raw RGB with ffmpeg (every frame).
fn decode(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap_or_else(|e| {
            panic!("ffmpeg is needed to check cleaned images still decode ({e}): apt-get install ffmpeg")
        });
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffmpeg could not decode {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());
    out.stdout
}

/// Tag names that must not survive in the metadata groups of a cleaned file.
const FORBIDDEN: &[&str] = &[
    "GPS",
    "Serial",
    "Make",
    "Model",
    "Software",
    "Artist",
    "Author",
    "Creator",
    "Owner",
    "Host",
    "Copyright",
    "By-line",
    "Comment",
    "Description",
    "Title",
    "Date",
    "Time",
    "Thumbnail Image",
    "Thumbnail TIFF",
    "Thumbnail Length",
    "Text",
    "Maker",
    "Warning",
    "Unknown",
];

/// Checks exiftool's view of a cleaned file: nothing planted, no identifying
/// tag, no warning, no trailer.
fn assert_clean_for_exiftool(path: &Path) {
    let tags = exiftool(path, &["-a", "-G1", "-u"]);
    for p in PLANTED {
        assert!(
            !tags.contains(p),
            "{p} survived in {}:\n{tags}",
            path.display()
        );
    }
    for line in tags.lines() {
        // The file system's own dates are not in the file.
        if line.starts_with("[System]") || line.starts_with("======") {
            continue;
        }
        if line.contains("ExifTool Version") || line.contains("Directory") {
            continue;
        }
        let name = line.split(':').next().unwrap_or("");
        for f in FORBIDDEN {
            assert!(
                !name.contains(f),
                "tag '{f}' survived in {}: {line}\n{tags}",
                path.display()
            );
        }
    }
    let verbose = exiftool(path, &["-v3"]).to_lowercase();
    assert!(
        !verbose.contains("trailer"),
        "trailer in {}:\n{verbose}",
        path.display()
    );
    assert!(!verbose.contains("eof"), "{verbose}");
    for p in PLANTED {
        assert!(
            !verbose.contains(&p.to_lowercase()),
            "{p} in -v3 of {}",
            path.display()
        );
    }
}

#[test]
fn exiftool_sees_planted_data_and_none_after_cleaning() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format, data, want) in all() {
        assert_eq!(detect(&data), Some(format), "{name}");
        let before = dir.path().join(name);
        std::fs::write(&before, &data).unwrap();
        let tags = exiftool(&before, &["-a", "-G1", "-u"]);
        for w in &want {
            assert!(
                tags.contains(w),
                "exiftool does not show '{w}' in {name}:\n{tags}"
            );
        }
        // The only warning allowed is the planted text chunk after PNG IDAT.
        let bad = tags.lines().any(|l| {
            l.contains("Warning") && !l.contains("[minor] Text/EXIF chunk(s) found after PNG IDAT")
        });
        assert!(!bad, "fixture {name} is not valid for exiftool:\n{tags}");

        let cleaned = clean(&data, &Options::default()).unwrap();
        assert_eq!(cleaned.report.format, format);
        assert!(cleaned.data.len() < data.len());
        let after = dir.path().join(format!("clean-{name}"));
        std::fs::write(&after, &cleaned.data).unwrap();
        assert_clean_for_exiftool(&after);
        for p in PLANTED {
            let raw = String::from_utf8_lossy(&cleaned.data);
            assert!(!raw.contains(p), "{p} in bytes of cleaned {name}");
        }
        // Same picture.
        assert_eq!(decode(&before), decode(&after), "{name} pixels changed");
    }
}

#[test]
fn reports_name_what_was_found() {
    for (name, _, data, _) in all() {
        let r = clean(&data, &Options::default()).unwrap().report;
        let has = |field: &str, value: &str| {
            r.findings
                .iter()
                .any(|f| f.field == field && f.value.as_deref().is_some_and(|v| v.contains(value)))
        };
        let cats = |c: Category| r.findings.iter().any(|f| f.category == c);
        assert!(
            has("XMP dc:creator", "KimCheolsu"),
            "{name}: {:#?}",
            r.findings
        );
        if name.ends_with(".gif") {
            assert!(has("GIF comment", "planted comment"));
            assert!(has("GIF plain text extension", "KimCheolsu"));
            assert!(has("GIF application extension PLANTED1.0", "23 bytes"));
            continue;
        }
        assert!(has("EXIF Model", "Pyongyang Secret Camera"), "{name}");
        assert!(has("EXIF Artist", "KimCheolsu"));
        assert!(has("EXIF BodySerialNumber", "PLANTED-SERIAL-4471"));
        assert!(has("EXIF LensSerialNumber", "PLANTED-LENS-0925"));
        assert!(has("EXIF HostComputer", "planted-host"));
        assert!(has("EXIF DateTimeOriginal", "2019:04:15 10:23:51"));
        assert!(has("EXIF GPSLatitude", fixtures::PLANTED_GPS.0));
        assert!(has("EXIF GPSLongitude", fixtures::PLANTED_GPS.1));
        assert!(has("EXIF MakerNote", "bytes"));
        assert!(has("EXIF IFD1 thumbnail", "bytes"));
        assert!(cats(Category::Location) && cats(Category::DeviceId) && cats(Category::Time));
        if name.ends_with(".jpg") {
            assert!(has("JFIF thumbnail", "2x2"));
            assert!(has("IPTC By-line", "KimCheolsu"));
            assert!(has("JPEG comment (COM)", "planted comment"));
            assert!(has("JPEG APP2 ICC profile", "bytes"));
            assert!(has("JPEG APP12 Ducky", "bytes"));
        }
        if name.ends_with(".png") {
            assert!(has("PNG tEXt Author", "KimCheolsu"));
            assert!(has("PNG zTXt Description", "Pyongyang Secret Camera"));
            assert!(has("PNG iTXt Title", "Pyongyang Secret Camera"));
            assert!(has("PNG tIME", "2019-04-15 10:23:51"));
            assert!(has("PNG prVt chunk", "12 bytes"));
            assert!(has("PNG tEXt Software", "planted-host"));
        }
        if name.ends_with(".webp") {
            assert!(has("WebP chunk 'PRVT'", "12 bytes"));
        }
        // Every finding says where it was.
        assert!(r.findings.iter().all(|f| f.offset.is_some()));
    }
}

#[test]
fn cleaning_is_idempotent_and_deterministic() {
    for (name, format, data, _) in all() {
        let a = clean(&data, &Options::default()).unwrap();
        let b = clean(&data, &Options::default()).unwrap();
        assert_eq!(a.data, b.data, "{name}");
        let again = clean_as(format, &a.data, &Options::default()).unwrap();
        assert_eq!(again.data, a.data, "{name}");
        assert!(
            again.report.is_clean(),
            "{name}: {:#?}",
            again.report.findings
        );
    }
}

#[test]
fn plain_files_are_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format, data) in plain() {
        let c = clean_as(format, &data, &Options::default()).unwrap();
        assert!(c.report.is_clean(), "{name}: {:#?}", c.report.findings);
        assert_eq!(c.data, data, "{name}");
        let p = dir.path().join(name);
        std::fs::write(&p, &data).unwrap();
        decode(&p);
        assert_clean_for_exiftool(&p);
    }
}

#[test]
fn cleaned_jpeg_keeps_jfif_and_adobe_without_thumbnail() {
    let c = clean(&fixtures::jpeg_with_exif(), &Options::default()).unwrap();
    // SOI, then JFIF APP0 of 16 bytes with a 0x0 thumbnail.
    assert_eq!(&c.data[..4], &[0xFF, 0xD8, 0xFF, 0xE0]);
    assert_eq!(&c.data[4..6], &[0, 16]);
    assert_eq!(&c.data[6..11], b"JFIF\0");
    assert_eq!(&c.data[18..20], &[0, 0]);
    let adobe = c.data.windows(7).position(|w| w == b"\xFF\xEE\0\x0EAdo");
    assert!(adobe.is_some(), "APP14 Adobe must be kept");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.jpg");
    std::fs::write(&p, &c.data).unwrap();
    let tags = exiftool(&p, &["-a", "-G1", "-u"]);
    assert!(
        tags.contains("Color Transform                 : YCbCr"),
        "{tags}"
    );
    assert!(tags.contains("JFIF Version"), "{tags}");
    assert!(!tags.contains("ICC"), "{tags}");
}

#[test]
fn keep_icc_keeps_only_the_profile() {
    let keep = Options {
        keep_icc: true,
        ..Default::default()
    };
    let icc = fixtures::icc_profile();
    let dir = tempfile::tempdir().unwrap();
    for (name, format, data, _) in all() {
        if format == Format::Gif {
            continue;
        }
        let c = clean(&data, &keep).unwrap();
        assert!(
            !c.report.findings.iter().any(|f| f.field.contains("ICC")),
            "{name}: ICC reported although kept"
        );
        let p = dir.path().join(name);
        std::fs::write(&p, &c.data).unwrap();
        let tags = exiftool(&p, &["-a", "-G1", "-u"]);
        assert!(
            tags.contains("[ICC_Profile]"),
            "{name}: profile gone:\n{tags}"
        );
        for pl in PLANTED {
            assert!(!tags.contains(pl), "{pl} survived in {name} (keep_icc)");
        }
        if format != Format::Png {
            // Stored uncompressed: the very bytes survive.
            assert!(c.data.windows(icc.len()).any(|w| w == icc), "{name}");
        }
        if format == Format::Webp {
            assert!(
                tags.contains("WebP Flags                      : ICC Profile"),
                "{tags}"
            );
        }
        let again = clean(&c.data, &keep).unwrap();
        assert_eq!(again.data, c.data);
        assert!(again.report.is_clean());
        // Without keep_icc the kept profile is then removed and reported.
        let strict = clean(&c.data, &Options::default()).unwrap();
        assert!(
            strict
                .report
                .findings
                .iter()
                .any(|f| f.field.contains("ICC"))
        );
    }
}

#[test]
fn bytes_after_the_end_are_a_reported_trailer() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format, data, _) in all()
        .into_iter()
        .chain(plain().into_iter().map(|(n, f, d)| (n, f, d, Vec::new())))
    {
        let mut t = data.clone();
        t.extend_from_slice(b"planted-host trailing bytes");
        let c = clean(&t, &Options::default()).unwrap();
        let tr: Vec<_> = c
            .report
            .findings
            .iter()
            .filter(|f| f.category == Category::Trailer)
            .collect();
        assert_eq!(tr.len(), 1, "{name}: {:#?}", c.report.findings);
        assert_eq!(tr[0].offset, Some(data.len() as u64), "{name}");
        assert_eq!(
            tr[0].value.as_deref(),
            Some("27 bytes: planted-host trailing bytes")
        );
        assert_eq!(
            c.data,
            clean(&data, &Options::default()).unwrap().data,
            "{name}"
        );
        let p = dir.path().join(format!("t-{name}"));
        std::fs::write(&p, &c.data).unwrap();
        assert_clean_for_exiftool(&p);
        // exiftool notices the trailer in the original (JPEG, PNG, WebP; it
        // says nothing about data after a GIF's trailer).
        if format != Format::Gif {
            std::fs::write(&p, &t).unwrap();
            let v = exiftool(&p, &["-v3"]).to_lowercase();
            let all = exiftool(&p, &["-a", "-G1", "-u"]).to_lowercase();
            assert!(
                v.contains("trailer") || all.contains("trailer") || all.contains("corrupted"),
                "{name}: exiftool does not see the trailer"
            );
        }
    }
}

#[test]
fn red_star_chains_of_one_two_three_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let serials = ["WD-WCAV5K123456", "S2R6NX0H512345", "Z1E3PLANTED"];
    let other = ["ST3500418AS-9VM", "HGST-HTS72-XYZ", "Z1E3OTHER"];
    let sets: Vec<(&str, Format, Vec<u8>)> = all()
        .into_iter()
        .map(|(n, f, d, _)| (n, f, d))
        .chain(plain())
        .collect();
    for (name, _format, data) in sets {
        let base = clean(&data, &Options::default()).unwrap().data;
        for k in 1..=3 {
            let marked = redstar::append_trailer(&data, &serials[..k]);
            let c = clean(&marked, &Options::default()).unwrap();
            let mark = c.report.redstar.as_ref().expect("mark decoded");
            assert_eq!(mark.blocks, k, "{name}");
            assert_eq!(mark.serials, serials[..k].to_vec(), "{name}");
            assert_eq!(mark.offset, data.len() as u64);
            assert!(
                c.report
                    .findings
                    .iter()
                    .any(|f| f.category == Category::Watermark),
                "{name}"
            );
            // The chain is gone: same bytes as the file cleaned without one,
            // and a second chain of other machines gives the same result.
            assert_eq!(c.data, base, "{name} with {k} block(s)");
            let c2 = clean(
                &redstar::append_trailer(&data, &other[..k]),
                &Options::default(),
            )
            .unwrap();
            assert_eq!(
                c2.data, c.data,
                "{name}: different chains, different output"
            );
            assert!(!c.data.ends_with(b"EOF"));
            assert!(redstar::find_trailer(&c.data).is_none());
            let again = clean(&c.data, &Options::default()).unwrap();
            assert!(again.report.is_clean());
            let p = dir.path().join(format!("rs{k}-{name}"));
            std::fs::write(&p, &c.data).unwrap();
            assert_clean_for_exiftool(&p);
        }
    }
}

#[test]
fn red_star_chain_after_other_trailing_bytes() {
    // Junk, then a chain: both reported, both gone.
    let jpeg = fixtures::jpeg_plain();
    let mut t = jpeg.clone();
    t.extend_from_slice(b"junk");
    let t = redstar::append_trailer(&t, &["SERIAL-A"]);
    let c = clean(&t, &Options::default()).unwrap();
    assert_eq!(c.data, jpeg);
    assert_eq!(c.report.redstar.unwrap().serials, vec!["SERIAL-A"]);
    assert!(
        c.report
            .findings
            .iter()
            .any(|f| f.category == Category::Trailer)
    );
}

fn assert_refused(format: Format, data: &[u8], what: &str) -> String {
    match clean_as(format, data, &Options::default()) {
        Ok(_) => panic!("{what}: accepted"),
        Err(e @ (Error::Malformed { .. } | Error::Unsupported { .. })) => {
            let msg = e.to_string();
            assert!(
                msg.contains("byte"),
                "{what}: message names no offset: {msg}"
            );
            msg
        }
        Err(e) => panic!("{what}: wrong error {e}"),
    }
}

#[test]
fn truncated_files_are_refused_with_an_offset() {
    for (name, format, data, _) in all() {
        for cut in 0..data.len() {
            // Every prefix: there is no valid end before the real one.
            let prefix = &data[..cut];
            if redstar::find_trailer(prefix).is_some() {
                continue;
            }
            assert_refused(format, prefix, &format!("{name} cut at {cut}"));
        }
    }
}

#[test]
fn garbage_is_refused() {
    let magic: [(Format, &[u8]); 4] = [
        (Format::Jpeg, b"\xFF\xD8\xFF"),
        (Format::Png, b"\x89PNG\r\n\x1a\n"),
        (Format::Gif, b"GIF89a"),
        (Format::Webp, b"RIFF\x20\0\0\0WEBP"),
    ];
    for (format, m) in magic {
        let mut g = m.to_vec();
        g.extend((0..64u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
        assert_refused(format, &g, "garbage");
        assert_refused(format, b"hello world, not an image", "text");
    }
}

#[test]
fn lengths_past_the_end_are_refused() {
    // JPEG: the EXIF segment claims 0xFFF0 bytes.
    let mut j = fixtures::jpeg_with_exif();
    let app1 = j.windows(2).position(|w| w == [0xFF, 0xE1]).unwrap();
    j[app1 + 2] = 0xFF;
    let m = assert_refused(Format::Jpeg, &j, "jpeg");
    assert!(
        m.contains(&format!("segment at byte {app1} runs past the end")),
        "{m}"
    );

    // PNG: a chunk length beyond the file.
    let mut p = fixtures::png_plain();
    p[33..37].copy_from_slice(&0x0100_0000u32.to_be_bytes());
    let m = assert_refused(Format::Png, &p, "png");
    assert!(m.contains("runs past the end"), "{m}");

    // PNG: a flipped bit in a chunk is a bad CRC.
    let mut p = fixtures::png_with_text();
    let at = p.windows(6).position(|w| w == b"Author").unwrap();
    p[at] ^= 0x20;
    let m = assert_refused(Format::Png, &p, "png crc");
    assert!(m.contains("bad CRC"), "{m}");

    // GIF: a sub-block longer than what is left.
    let mut g = fixtures::gif_with_comment();
    let c = g.windows(2).position(|w| w == [0x21, 0xFE]).unwrap();
    g.truncate(c + 3);
    g[c + 2] = 200;
    let m = assert_refused(Format::Gif, &g, "gif");
    assert!(m.contains("runs past the end"), "{m}");

    // WebP: RIFF size larger than the file, and a chunk larger than the RIFF.
    let mut w = fixtures::webp_with_exif();
    w[4..8].copy_from_slice(&0x7FFF_0000u32.to_le_bytes());
    let m = assert_refused(Format::Webp, &w, "webp riff");
    assert!(m.contains("RIFF size at byte 4"), "{m}");
    let mut w = fixtures::webp_plain();
    w[16..20].copy_from_slice(&1000u32.to_le_bytes());
    let m = assert_refused(Format::Webp, &w, "webp chunk");
    assert!(m.contains("runs past the end"), "{m}");
}

#[test]
fn unknown_structures_are_refused_not_passed() {
    // An unknown critical PNG chunk.
    let mut p = fixtures::png_plain();
    let mut chunk = 1u32.to_be_bytes().to_vec();
    chunk.extend_from_slice(b"ZZZZ\x01");
    let mut crc = flate2::Crc::new();
    crc.update(&chunk[4..]);
    chunk.extend_from_slice(&crc.sum().to_be_bytes());
    p.splice(33..33, chunk);
    let m = assert_refused(Format::Png, &p, "critical chunk");
    assert!(
        m.contains("cannot clean") && m.contains("ZZZZ at byte 33"),
        "{m}"
    );
    // JPEG-LS.
    let mut j = fixtures::jpeg_plain();
    let sof = j.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    j[sof + 1] = 0xF7;
    let m = assert_refused(Format::Jpeg, &j, "jpeg-ls");
    assert!(m.contains("JPEG-LS"), "{m}");
    // A GIF block type that does not exist.
    let mut g = fixtures::gif_plain();
    let n = g.len();
    g[n - 1] = 0x42;
    g.push(0x3B);
    let m = assert_refused(Format::Gif, &g, "gif block");
    assert!(m.contains("unknown block type 0x42"), "{m}");
}

#[test]
fn webp_vp8x_flags_are_cleared() {
    let c = clean(&fixtures::webp_with_exif(), &Options::default()).unwrap();
    let d = &c.data;
    assert_eq!(&d[12..16], b"VP8X");
    assert_eq!(d[20], 0, "EXIF/XMP/ICC flags must be cleared");
    let size = u32::from_le_bytes(d[4..8].try_into().unwrap()) as usize;
    assert_eq!(size + 8, d.len());
}

#[test]
fn gif_keeps_looping_only() {
    let c = clean(&fixtures::gif_with_comment(), &Options::default()).unwrap();
    assert_eq!(c.data, fixtures::gif_plain());
    assert!(
        c.data
            .windows(19)
            .any(|w| w == b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\0\0\0")
    );
}

/// One random edit of a fixture.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn apply(data: &mut Vec<u8>, e: &Edit) {
    let n = data.len().max(1);
    match e {
        Edit::Flip(i, b) => {
            if let Some(x) = data.get_mut(i % n) {
                *x ^= b;
            }
        }
        Edit::Set(i, b) => {
            if let Some(x) = data.get_mut(i % n) {
                *x = *b;
            }
        }
        Edit::Insert(i, v) => {
            let at = i % (data.len() + 1);
            data.splice(at..at, v.iter().copied());
        }
        Edit::Delete(i, k) => {
            let at = i % n;
            let end = (at + k).min(data.len());
            if at < end {
                data.drain(at..end);
            }
        }
        Edit::Truncate(i) => data.truncate(i % n),
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Edit::Flip(i, b)),
        (
            any::<usize>(),
            prop_oneof![Just(0u8), Just(0xFF), any::<u8>()]
        )
            .prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<usize>(), 1..16usize).prop_map(|(i, k)| Edit::Delete(i, k)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=20000 for a longer run.
    /// Random mutations never panic; whatever is accepted cleans to a file
    /// that parses again, unchanged and clean (the fuzz targets' property).
    #[test]
    fn mutations_never_panic(which in 0..11usize,
                             edits in proptest::collection::vec(edit(), 1..6)) {
        let mut fx: Vec<(Format, Vec<u8>)> = all().into_iter().map(|(_, f, d, _)| (f, d)).collect();
        fx.extend(plain().into_iter().map(|(_, f, d)| (f, d)));
        fx.push((Format::Webp, fixtures::webp_animated_with_exif()));
        let (format, mut data) = fx.swap_remove(which % fx.len());
        for e in &edits {
            apply(&mut data, e);
        }
        if let Ok(c) = clean_as(format, &data, &Options::default()) {
            let again = clean_as(format, &c.data, &Options::default())
                .expect("a cleaned file must parse again");
            prop_assert_eq!(&again.data, &c.data);
            prop_assert!(again.report.is_clean(), "{:?}", again.report.findings);
        }
        let _ = clean(&data, &Options {
        keep_icc: true,
        ..Default::default()
    });
    }
}

#[test]
fn animated_webp_keeps_frames_and_loses_metadata() {
    let data = fixtures::webp_animated_with_exif();
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("anim.webp");
    std::fs::write(&before, &data).unwrap();
    let tags = exiftool(&before, &["-a", "-G1", "-u"]);
    for w in [
        "KimCheolsu",
        "PLANTED-SERIAL-4471",
        "GPS Latitude",
        "Animation",
    ] {
        assert!(tags.contains(w), "{w} not shown:\n{tags}");
    }
    let c = clean(&data, &Options::default()).unwrap();
    let private = c
        .report
        .findings
        .iter()
        .find(|f| f.field == "WebP chunk 'PRVT'")
        .expect("chunk inside the frame reported");
    let at = private.offset.unwrap() as usize;
    assert_eq!(&data[at..at + 4], b"PRVT", "offset points at the chunk");
    // Both frames and the animation header survive; flags: animation only.
    let d = &c.data;
    assert_eq!(d.windows(4).filter(|w| w == b"ANMF").count(), 2);
    assert_eq!(d.windows(4).filter(|w| w == b"VP8L").count(), 2);
    assert!(d.windows(4).any(|w| w == b"ANIM"));
    assert_eq!(d[20], 0x02);
    let after = dir.path().join("clean-anim.webp");
    std::fs::write(&after, d).unwrap();
    assert_clean_for_exiftool(&after);
    let again = clean(d, &Options::default()).unwrap();
    assert_eq!(&again.data, d);
    assert!(again.report.is_clean());
}
