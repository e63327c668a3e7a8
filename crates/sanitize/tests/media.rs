//! Media cleaning (MP3, MP4/MOV, AVI, Matroska/WebM) checked against
//! independent oracles: exiftool (what metadata a file carries), ffprobe (the
//! file is still valid) and ffmpeg decoding (the media itself is unchanged).
//!
//! The oracles are required: if exiftool or ffmpeg is missing the tests fail
//! with the command to install them; they never skip silently.

use baram_sanitize::fixtures::{self, PLANTED};
use baram_sanitize::{Category, Cleaned, Error, Format, Options, clean, clean_as, redstar};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(tool: &str, install: &str, args: &[&str], file: &Path) -> std::process::Output {
    Command::new(tool)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{tool} is required for these tests ({e}); install it with: apt-get install {install}"))
}

fn exiftool(args: &[&str], file: &Path) -> String {
    let o = run("exiftool", "libimage-exiftool-perl", args, file);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// ffprobe reads the file without any error message.
fn ffprobe_ok(file: &Path) -> bool {
    let o = run(
        "ffprobe",
        "ffmpeg",
        &["-v", "error", "-show_format", "-show_streams"],
        file,
    );
    o.status.success() && o.stderr.is_empty()
}

/// MD5s of the decoded audio and of the decoded video, each stream type on
/// its own (so a different packet interleaving does not matter) and without
/// frame-rate conversion.
fn decoded_md5(file: &Path) -> String {
    let mut all = String::new();
    for map in [["-map", "0:a?"], ["-map", "0:v?"]] {
        let o = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(file)
            .args(map)
            .args(["-fps_mode", "passthrough", "-f", "md5", "-"])
            .output()
            .expect("ffmpeg is required for these tests; install it with: apt-get install ffmpeg");
        assert!(
            o.status.success(),
            "ffmpeg decode failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        all.push_str(String::from_utf8_lossy(&o.stdout).trim());
        all.push(' ');
    }
    all
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Tag names that must not carry a value in a cleaned file.
const FORBIDDEN: &[&str] = &[
    "GPS",
    "Make",
    "Model",
    "Software",
    "Artist",
    "Author",
    "Creator",
    "Encoder",
    "Date",
    "Title",
    "Comment",
    "Serial",
    "Muxing App",
    "Writing App",
    "Handler Description",
    "Compressor Name",
    "Stream Name",
    "Source",
    "Album",
    "Lyrics",
    "Chapter",
    "Attachment",
    "Copyright",
    "Text Junk",
    "Segment UID",
    "Track Name",
];

/// Checks `exiftool -a -G1 -u` output of a cleaned file: no planted value, no
/// forbidden tag with a value (zeroed MP4 dates are allowed).
fn assert_exif_clean(out: &str, what: &str) {
    for p in PLANTED {
        assert!(
            !out.contains(p),
            "{what}: exiftool still shows {p:?}:\n{out}"
        );
    }
    for line in out.lines() {
        let Some((head, value)) = line.split_once(": ") else {
            continue;
        };
        if head.starts_with("[System]")
            || head.starts_with("[File]")
            || head.starts_with("[ExifTool]")
        {
            continue;
        }
        let tag = head.split(']').nth(1).unwrap_or("").trim();
        let value = value.trim();
        let empty = value.is_empty() || value == "0000:00:00 00:00:00";
        // Stream properties, not metadata.
        if tag.contains("Duration")
            || tag.contains("Time Scale")
            || matches!(
                tag,
                "Copyright Flag" | "Source Image Width" | "Source Image Height"
            )
        {
            continue;
        }
        for f in FORBIDDEN {
            assert!(
                !tag.contains(f) || empty,
                "{what}: exiftool shows {tag:?} = {value:?} after cleaning:\n{out}"
            );
        }
    }
}

struct Case {
    name: &'static str,
    data: Vec<u8>,
    format: Format,
    /// What exiftool must show BEFORE cleaning, so the test cannot pass vacuously.
    before: &'static [&'static str],
    /// The decoded media is compared (not for MP3, whose gapless trimming
    /// information goes with the LAME tag).
    same_decode: bool,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "tags.mp3",
            data: fixtures::mp3_with_tags(),
            format: Format::Mp3,
            before: &[
                "KimCheolsu",
                "Pyongyang Secret Camera",
                "planted comment",
                "PLANTED-SERIAL-4471",
                "[APE]",
                "[ID3v1]",
                "[ID3v2_3]",
            ],
            same_decode: false,
        },
        Case {
            name: "appended.mp3",
            data: fixtures::mp3_with_appended_tags(),
            format: Format::Mp3,
            before: &["KimCheolsu", "[ID3v1_Enh]", "planted-host"],
            same_decode: false,
        },
        Case {
            name: "meta.mp4",
            data: fixtures::mp4_with_metadata(),
            format: Format::Mp4,
            before: &[
                "KimCheolsu",
                "PLANTED-SERIAL-4471",
                "PLANTED-LENS-0925",
                "GPS Coordinates",
                "[XMP-dc]",
                "Handler Description",
                "Compressor Name",
                "Create Date                     : 2024",
            ],
            same_decode: true,
        },
        Case {
            name: "mdatfirst.mp4",
            data: fixtures::mp4_mdat_first(),
            format: Format::Mp4,
            before: &["KimCheolsu", "GPS Coordinates", "Encoder"],
            same_decode: true,
        },
        Case {
            name: "info.avi",
            data: fixtures::avi_with_info(),
            format: Format::Avi,
            before: &[
                "KimCheolsu",
                "Lavf60.3.100",
                "Stream Name",
                "Date/Time Original",
                "planted-host",
                "PLANTED-SERIAL-4471",
            ],
            same_decode: true,
        },
        Case {
            name: "avix.avi",
            data: fixtures::avi_with_avix(),
            format: Format::Avi,
            before: &["KimCheolsu", "Software"],
            same_decode: true,
        },
        Case {
            name: "tags.mkv",
            data: fixtures::mkv_with_tags(),
            format: Format::Mkv,
            before: &[
                "Pyongyang Secret Camera",
                "planted-host",
                "KimCheolsu",
                "Date/Time Original",
                "Segment UID",
                "Track Name",
            ],
            same_decode: true,
        },
        Case {
            name: "tags.webm",
            data: fixtures::webm_with_tags(),
            format: Format::Mkv,
            before: &[
                "Pyongyang Secret Camera",
                "KimCheolsu",
                "Doc Type                        : webm",
            ],
            same_decode: true,
        },
    ]
}

fn clean_ok(data: &[u8]) -> Cleaned {
    clean(data, &Options::default()).unwrap_or_else(|e| panic!("clean failed: {e}"))
}

fn assert_idempotent(c: &Cleaned, what: &str) {
    let again = clean_ok(&c.data);
    assert!(
        again.report.is_clean(),
        "{what}: second clean still finds {:?}",
        again.report.findings
    );
    assert_eq!(again.data, c.data, "{what}: cleaning is not idempotent");
}

#[test]
fn oracle_every_fixture() {
    let dir = tempfile::tempdir().unwrap();
    for case in cases() {
        let what = case.name;
        let orig = write(dir.path(), what, &case.data);
        let before = exiftool(&["-a", "-G1", "-u"], &orig);
        for s in case.before {
            assert!(
                before.contains(s),
                "{what}: exiftool does not show {s:?} before cleaning:\n{before}"
            );
        }
        let c = clean_ok(&case.data);
        assert_eq!(c.report.format, case.format, "{what}");
        assert!(!c.report.findings.is_empty(), "{what}: nothing found");
        let planted = PLANTED
            .iter()
            .filter(|p| contains(&case.data, p.as_bytes()))
            .count();
        assert!(
            planted >= 4,
            "{what}: fixture holds only {planted} planted strings"
        );
        for p in PLANTED {
            assert!(
                !contains(&c.data, p.as_bytes()),
                "{what}: cleaned bytes still hold {p:?}"
            );
        }
        for f in &c.report.findings {
            assert!(
                f.offset.is_some_and(|o| o < case.data.len() as u64),
                "{what}: finding without a valid offset: {f:?}"
            );
        }
        let cleaned = write(dir.path(), &format!("clean-{what}"), &c.data);
        assert_exif_clean(&exiftool(&["-a", "-G1", "-u"], &cleaned), what);
        let v3 = exiftool(&["-v3"], &cleaned).to_lowercase();
        for bad in ["trailer", "lame3", "lavf", "planted"] {
            assert!(
                !v3.contains(bad),
                "{what}: exiftool -v3 shows {bad:?}:\n{v3}"
            );
        }
        assert!(
            ffprobe_ok(&orig),
            "{what}: fixture itself is not valid to ffprobe"
        );
        assert!(
            ffprobe_ok(&cleaned),
            "{what}: ffprobe rejects the cleaned file"
        );
        if case.same_decode {
            assert_eq!(
                decoded_md5(&orig),
                decoded_md5(&cleaned),
                "{what}: decoded media changed"
            );
        }
        assert_idempotent(&c, what);
    }
}

#[test]
fn mp3_keeps_every_audio_frame() {
    let c = clean_ok(&fixtures::mp3_with_tags());
    // The Xing frame and ten audio frames, 417 bytes each, nothing else.
    assert_eq!(c.data.len(), 11 * 417);
    let frames = fixtures::mp3_frames();
    assert_eq!(&c.data[417..], &frames[417..]);
    let fields: Vec<&str> = c.report.findings.iter().map(|f| f.field.as_str()).collect();
    for want in [
        "ID3v2 TPE1",
        "ID3v2 PRIV",
        "APE Artist",
        "ID3v1 Artist",
        "MPEG Xing frame encoder tag (LAME)",
    ] {
        assert!(fields.contains(&want), "missing {want} in {fields:?}");
    }
    let c = clean_ok(&fixtures::mp3_with_appended_tags());
    assert_eq!(c.data.len(), 11 * 417);
    let fields: Vec<&str> = c.report.findings.iter().map(|f| f.field.as_str()).collect();
    for want in [
        "Lyrics3 v2",
        "ID3v2 TPE1",
        "ID3v1 TAG+ Artist",
        "ID3v1 Artist",
    ] {
        assert!(fields.contains(&want), "missing {want} in {fields:?}");
    }
}

#[test]
fn mp4_reports_and_rewrites_offsets() {
    let c = clean_ok(&fixtures::mp4_with_metadata());
    let cats: Vec<Category> = c.report.findings.iter().map(|f| f.category).collect();
    for want in [
        Category::Time,
        Category::Location,
        Category::Person,
        Category::Software,
        Category::DeviceId,
    ] {
        assert!(cats.contains(&want), "no {want:?} finding");
    }
    assert!(
        c.report
            .findings
            .iter()
            .any(|f| f.field == "MP4 XMP (uuid box)")
    );
    assert!(c.report.findings.iter().any(|f| f.field == "MP4 free"));
    // Media data moved up: chunk offsets must have moved with it (the
    // decoding comparison in the oracle test proves the same with ffmpeg).
    let mdat = c.data.windows(4).position(|w| w == b"mdat").unwrap() + 4;
    let stco = c.data.windows(4).position(|w| w == b"stco").unwrap();
    let first = u32::from_be_bytes(c.data[stco + 12..stco + 16].try_into().unwrap()) as usize;
    assert_eq!(first, mdat);
    for boxname in [&b"udta"[..], b"meta", b"uuid", b"free", b"ilst"] {
        assert!(
            !contains(&c.data, boxname),
            "{:?} survived",
            String::from_utf8_lossy(boxname)
        );
    }
}

#[test]
fn avi_keeps_offsets_and_length() {
    let f = fixtures::avi_with_info();
    let c = clean_ok(&f);
    assert_eq!(c.data.len(), f.len(), "chunks are blanked in place");
    // idx1 is untouched, and the movi list is at the same place.
    let movi = |d: &[u8]| d.windows(4).position(|w| w == b"movi").unwrap();
    assert_eq!(movi(&c.data), movi(&f));
    assert_eq!(&c.data[f.len() - 40..], &f[f.len() - 40..]);
    for id in [&b"INFO"[..], b"IDIT", b"strn", b"ISFT"] {
        assert!(!contains(&c.data, id));
    }
}

#[test]
fn trailers_are_reported_and_removed() {
    let tail = b"\x00\x01 trailing planted-host bytes after the end";
    for case in cases() {
        let mut f = case.data.clone();
        let clean_plain = clean_ok(&case.data).data;
        if case.format == Format::Mp3 {
            // After the end tags there is nothing to find for MP3: put the
            // junk between the frames and the end tags instead.
            f = fixtures::mp3_frames();
            f.extend_from_slice(tail);
            f.extend_from_slice(
                &fixtures::mp3_with_tags()[fixtures::mp3_with_tags().len() - 128..],
            );
        } else {
            f.extend_from_slice(tail);
        }
        let c = clean_ok(&f);
        let t = c
            .report
            .findings
            .iter()
            .find(|x| x.category == Category::Trailer)
            .unwrap_or_else(|| {
                panic!("{}: no trailer finding: {:?}", case.name, c.report.findings)
            });
        let at = if case.format == Format::Mp3 {
            fixtures::mp3_frames().len()
        } else {
            case.data.len()
        };
        assert_eq!(t.offset, Some(at as u64), "{}", case.name);
        assert!(
            !contains(&c.data, b"trailing planted-host"),
            "{}",
            case.name
        );
        if case.format != Format::Mp3 {
            assert_eq!(
                c.data, clean_plain,
                "{}: trailer changed the output",
                case.name
            );
        }
        assert_idempotent(&c, case.name);
    }
}

#[test]
fn red_star_chains_are_decoded_and_removed() {
    let serials = ["WD-WCAV12345678", "S1DBNSAF123456X", "Z9XYZ"];
    for case in cases() {
        let base = clean_ok(&case.data).data;
        for k in 1..=3 {
            let marked = redstar::append_trailer(&case.data, &serials[..k]);
            let c = clean_ok(&marked);
            let mark = c
                .report
                .redstar
                .clone()
                .unwrap_or_else(|| panic!("{}: no mark", case.name));
            assert_eq!(mark.blocks, k);
            assert_eq!(
                mark.serials,
                serials[..k]
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
            );
            assert!(
                !c.report
                    .findings
                    .iter()
                    .any(|f| f.category == Category::Trailer),
                "{}: chain also seen as trailer",
                case.name
            );
            assert_eq!(
                c.data, base,
                "{}: {k}-block chain changed the cleaned bytes",
                case.name
            );
            assert!(redstar::find_trailer(&c.data).is_none());
            assert_idempotent(&c, case.name);
        }
        // Two different chains on the same file clean to identical bytes.
        let a = clean_ok(&redstar::append_trailer(&case.data, &["AAAA-1111"])).data;
        let b = clean_ok(&redstar::append_trailer(
            &case.data,
            &["BBBB-2222", "CCCC-3333"],
        ))
        .data;
        assert_eq!(a, b, "{}", case.name);
    }
}

#[test]
fn red_star_avi_with_oracle() {
    let dir = tempfile::tempdir().unwrap();
    for k in 1..=3usize {
        let serials: Vec<String> = (0..k).map(|i| format!("HDD-SERIAL-{i}")).collect();
        let refs: Vec<&str> = serials.iter().map(|s| s.as_str()).collect();
        let marked = redstar::append_trailer(&fixtures::avi_with_info(), &refs);
        let c = clean_ok(&marked);
        assert_eq!(c.report.redstar.as_ref().unwrap().serials, serials);
        let p = write(dir.path(), &format!("rs{k}.avi"), &c.data);
        let v3 = exiftool(&["-v3"], &p);
        assert!(!v3.to_lowercase().contains("trailer"), "{v3}");
        assert!(!contains(&c.data, b"EOF"));
        assert!(ffprobe_ok(&p));
    }
}

/// Every cut of a file inside its structure is refused with an error naming a
/// byte offset (MP3 audio aside: a cut frame is dropped as a trailer).
#[test]
fn truncated_files_are_refused() {
    for case in cases() {
        let n = case.data.len();
        let mut cuts: Vec<usize> = (1..20).map(|k| n * k / 20).collect();
        cuts.extend([1, 3, 4, 7, 8, 9, 12, 16, n - 1]);
        for cut in cuts {
            let part = &case.data[..cut];
            match clean_as(case.format, part, &Options::default()) {
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        msg.contains("byte") || matches!(e, Error::Unsupported { .. }),
                        "{} cut at {cut}: message without offset: {msg}",
                        case.name
                    );
                }
                Ok(c) => {
                    // Only MP3 may accept a cut file: what is left is whole
                    // frames, and the cut part is reported as a trailer.
                    assert_eq!(
                        case.format,
                        Format::Mp3,
                        "{} cut at {cut} was accepted",
                        case.name
                    );
                    assert_eq!(c.data.len() % 417, 0, "{} cut at {cut}", case.name);
                    for p in PLANTED {
                        assert!(!contains(&c.data, p.as_bytes()));
                    }
                }
            }
        }
    }
}

#[test]
fn mp3_cut_inside_id3_is_refused() {
    let f = fixtures::mp3_with_tags();
    let e = clean_as(Format::Mp3, &f[..100], &Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("ID3v2 tag at byte 0 runs past the end"), "{e}");
}

#[test]
fn lengths_past_the_end_are_refused() {
    // MP3: ID3v2 size larger than the file.
    let mut f = fixtures::mp3_with_tags();
    f[6..10].copy_from_slice(&[0x7f, 0x7f, 0x7f, 0x7f]);
    let e = clean(&f, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("at byte 0 runs past the end"), "{e}");
    // MP4: moov size larger than the file.
    let mut f = fixtures::mp4_with_metadata();
    let moov = f.windows(4).position(|w| w == b"moov").unwrap() - 4;
    f[moov..moov + 4].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
    let e = clean(&f, &Options::default()).unwrap_err().to_string();
    assert!(
        e.contains(&format!("box 'moov' at byte {moov} runs past the end")),
        "{e}"
    );
    // MP4: a chunk offset outside the media data.
    let mut f = fixtures::mp4_with_metadata();
    let stco = f.windows(4).position(|w| w == b"stco").unwrap();
    f[stco + 12..stco + 16].copy_from_slice(&7u32.to_be_bytes());
    let e = clean(&f, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("chunk offset 7") && e.contains("byte"), "{e}");
    // AVI: a chunk inside hdrl claiming more than its list.
    let mut f = fixtures::avi_with_info();
    let avih = f.windows(4).position(|w| w == b"avih").unwrap();
    f[avih + 4..avih + 8].copy_from_slice(&10_000u32.to_le_bytes());
    let e = clean(&f, &Options::default()).unwrap_err().to_string();
    assert!(
        e.contains(&format!("chunk 'avih' at byte {avih} runs past the end")),
        "{e}"
    );
    // AVI: RIFF size beyond the file.
    let mut f = fixtures::avi_with_info();
    f[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = clean(&f, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("RIFF chunk at byte 0 runs past the end"), "{e}");
    // Matroska: the Info element claiming more than the segment.
    let mut f = fixtures::mkv_with_tags();
    let info = f
        .windows(4)
        .position(|w| w == [0x15, 0x49, 0xa9, 0x66])
        .unwrap();
    f[info + 4] = 0x08; // 4-byte size vint...
    f[info + 5] = 0xff; // ...with a huge value
    let e = clean(&f, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("byte"), "{e}");
}

#[test]
fn garbage_is_refused() {
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for format in [Format::Mp3, Format::Mp4, Format::Avi, Format::Mkv] {
        let e = clean_as(format, &junk, &Options::default()).unwrap_err();
        assert!(matches!(e, Error::Malformed { .. }), "{format}: {e}");
        assert!(e.to_string().contains("byte"), "{format}: {e}");
        let e = clean_as(format, &[], &Options::default()).unwrap_err();
        assert!(matches!(e, Error::Malformed { .. }), "{format}: {e}");
    }
    assert!(clean(&junk, &Options::default()).is_err());
}

#[test]
fn unsupported_mp4_features_are_refused() {
    // A fragmented file: a 'moof' box after the movie.
    let mut f = fixtures::mp4_mdat_first();
    f.extend_from_slice(&[0, 0, 0, 8]);
    f.extend_from_slice(b"moof");
    let e = clean(&f, &Options::default()).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    // An external data reference (flag 1 cleared).
    let mut f = fixtures::mp4_mdat_first();
    let url = f.windows(4).position(|w| w == b"url ").unwrap();
    f[url + 7] = 0;
    let e = clean(&f, &Options::default()).unwrap_err();
    assert!(e.to_string().contains("another file"), "{e}");
}

#[test]
fn detection_by_content() {
    assert_eq!(
        baram_sanitize::detect(&fixtures::mp3_with_tags()),
        Some(Format::Mp3)
    );
    assert_eq!(
        baram_sanitize::detect(&fixtures::mp3_with_appended_tags()),
        Some(Format::Mp3)
    );
    assert_eq!(
        baram_sanitize::detect(&fixtures::mp4_with_metadata()),
        Some(Format::Mp4)
    );
    assert_eq!(
        baram_sanitize::detect(&fixtures::avi_with_info()),
        Some(Format::Avi)
    );
    assert_eq!(
        baram_sanitize::detect(&fixtures::webm_with_tags()),
        Some(Format::Mkv)
    );
}

/// Without ffmpeg, Matroska is refused with the install hint. Runs the check in
/// a child process with an empty PATH so other tests are not affected.
#[test]
fn mkv_without_ffmpeg_says_how_to_install() {
    if std::env::var_os("BARAM_TEST_NO_FFMPEG").is_some() {
        let e = clean(&fixtures::mkv_with_tags(), &Options::default()).unwrap_err();
        match e {
            Error::Tool { tool, reason } => {
                assert_eq!(tool, "ffmpeg");
                assert_eq!(
                    reason,
                    "not installed; install it with: apt-get install ffmpeg"
                );
            }
            other => panic!("wrong error: {other}"),
        }
        // An already clean file needs no remux, so no ffmpeg.
        let done = std::fs::read(std::env::var("BARAM_TEST_CLEAN_MKV").unwrap()).unwrap();
        let c = clean(&done, &Options::default()).unwrap();
        assert!(c.report.is_clean());
        assert_eq!(c.data, done);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let done = write(
        dir.path(),
        "done.mkv",
        &clean_ok(&fixtures::mkv_with_tags()).data,
    );
    let o = Command::new(std::env::current_exe().unwrap())
        .env("BARAM_TEST_CLEAN_MKV", &done)
        .args([
            "--exact",
            "mkv_without_ffmpeg_says_how_to_install",
            "--test-threads",
            "1",
        ])
        .env("BARAM_TEST_NO_FFMPEG", "1")
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains("1 passed"),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn mutate(data: &[u8], edits: &[(usize, u8)]) -> Vec<u8> {
    let mut d = data.to_vec();
    for &(i, v) in edits {
        let n = d.len();
        d[i % n] = v;
    }
    d
}

fn no_panic_and_idempotent(format: Format, d: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(c) = clean_as(format, d, &Options::default()) {
        let again = clean_as(format, &c.data, &Options::default()).map_err(|e| {
            if let Ok(dir) = std::env::var("BARAM_DUMP") {
                let _ = std::fs::write(format!("{dir}/fail-in"), d);
                let _ = std::fs::write(format!("{dir}/fail-out"), &c.data);
            }
            TestCaseError::fail(format!("cleaned output refused: {e}"))
        })?;
        prop_assert_eq!(again.data, c.data);
        prop_assert!(
            again.report.findings.is_empty(),
            "{:?}",
            again.report.findings
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mp3_mutations(which in 0..2usize, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let f = [fixtures::mp3_with_tags(), fixtures::mp3_with_appended_tags()][which].clone();
        let mut d = mutate(&f, &edits);
        d.truncate(d.len() - cut % 64);
        no_panic_and_idempotent(Format::Mp3, &d)?;
    }

    #[test]
    fn mp4_mutations(which in 0..2usize, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let f = [fixtures::mp4_with_metadata(), fixtures::mp4_mdat_first()][which].clone();
        let mut d = mutate(&f, &edits);
        d.truncate(d.len() - cut % 64);
        no_panic_and_idempotent(Format::Mp4, &d)?;
    }

    #[test]
    fn avi_mutations(which in 0..2usize, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let f = [fixtures::avi_with_info(), fixtures::avi_with_avix()][which].clone();
        let mut d = mutate(&f, &edits);
        d.truncate(d.len() - cut % 64);
        no_panic_and_idempotent(Format::Avi, &d)?;
    }
}

proptest! {
    // Few cases: a mutation that passes the EBML walker runs ffmpeg. Most
    // mutations hit the header area (first 300 bytes) so the walker decides.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn mkv_mutations(edits in proptest::collection::vec((0..300usize, any::<u8>()), 1..4)) {
        let d = mutate(&fixtures::mkv_with_tags(), &edits);
        no_panic_and_idempotent(Format::Mkv, &d)?;
    }
}

proptest! {
    // The EBML walker alone on random bytes behind a valid EBML header.
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mkv_random_body_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let f = fixtures::mkv_with_tags();
        // The EBML header, then a Segment of unknown size holding the bytes.
        let mut d = f[..5 + (f[4] & 0x7f) as usize].to_vec();
        d.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        d.extend(body);
        let _ = clean_as(Format::Mkv, &d, &Options::default());
    }
}

/// Files written by a real muxer (ffmpeg, generated at test time): LAME MP3
/// with ID3v2 and Xing/LAME header, fast-start MP4 and MOV with metadata, AVI
/// with INFO, and WebM written to a pipe (unknown-size segment).
#[test]
fn real_ffmpeg_files() {
    let dir = tempfile::tempdir().unwrap();
    let src = [
        "-f",
        "lavfi",
        "-i",
        "testsrc=d=0.5:s=64x48",
        "-f",
        "lavfi",
        "-i",
        "sine=d=0.5",
    ];
    let meta = [
        "-metadata",
        "artist=KimCheolsu",
        "-metadata",
        "comment=planted comment",
        "-metadata",
        "location=+39.0392+125.7625/",
        "-metadata",
        "creation_time=2024-03-01T12:00:00Z",
    ];
    let jobs: &[(&str, &[&str], bool)] = &[
        (
            "r.mp3",
            &["-map", "1", "-c:a", "libmp3lame", "-f", "mp3"],
            false,
        ),
        (
            "r.mp4",
            &[
                "-c:v",
                "mpeg4",
                "-c:a",
                "aac",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
            ],
            true,
        ),
        (
            "r2.mp4",
            &["-c:v", "mpeg4", "-c:a", "aac", "-f", "mp4"],
            true,
        ),
        (
            "r.mov",
            &["-c:v", "mpeg4", "-c:a", "pcm_s16le", "-f", "mov"],
            true,
        ),
        (
            "r.avi",
            &["-c:v", "mpeg4", "-c:a", "pcm_s16le", "-f", "avi"],
            true,
        ),
        (
            "r.mkv",
            &["-c:v", "mpeg4", "-c:a", "pcm_s16le", "-f", "matroska"],
            true,
        ),
        (
            "r.webm",
            &["-c:v", "libvpx", "-c:a", "libopus", "-f", "webm"],
            true,
        ),
    ];
    for (name, args, same_decode) in jobs {
        let path = dir.path().join(name);
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-nostdin", "-v", "error"])
            .args(src)
            .args(meta)
            .args(*args);
        // The WebM goes through a pipe, so ffmpeg cannot seek back to write
        // the segment size: the segment has "unknown" size.
        let out = if name.ends_with("webm") {
            let o = cmd
                .arg("-")
                .output()
                .expect("ffmpeg is required; install it with: apt-get install ffmpeg");
            std::fs::write(&path, &o.stdout).unwrap();
            o
        } else {
            cmd.arg("-y")
                .arg(&path)
                .output()
                .expect("ffmpeg is required; install it with: apt-get install ffmpeg")
        };
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let data = std::fs::read(&path).unwrap();
        let before = exiftool(&["-a", "-G1", "-u"], &path);
        assert!(
            before.contains("KimCheolsu"),
            "{name}: exiftool does not show the artist:\n{before}"
        );
        let c = clean_ok(&data);
        assert!(
            !contains(&c.data, b"KimCheolsu") && !contains(&c.data, b"planted comment"),
            "{name}"
        );
        let cleaned = write(dir.path(), &format!("clean-{name}"), &c.data);
        assert_exif_clean(&exiftool(&["-a", "-G1", "-u"], &cleaned), name);
        let v3 = exiftool(&["-v3"], &cleaned).to_lowercase();
        assert!(
            !v3.contains("lavf") && !v3.contains("lame3"),
            "{name}: encoder name left:\n{v3}"
        );
        assert!(
            ffprobe_ok(&cleaned),
            "{name}: ffprobe rejects the cleaned file"
        );
        if *same_decode {
            assert_eq!(
                decoded_md5(&path),
                decoded_md5(&cleaned),
                "{name}: decoded media changed"
            );
        }
        assert_idempotent(&c, name);
    }
}

/// `Options::remux` replaces the ffmpeg subprocess: the hook is called with
/// the Matroska body, its output is checked like ffmpeg's, and its refusal is
/// the file's refusal.
#[test]
fn mkv_remux_hook_replaces_the_subprocess() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let calls = Arc::new(AtomicUsize::new(0));
    let seen_webm = Arc::new(Mutex::new(Vec::new()));
    let (c2, s2) = (calls.clone(), seen_webm.clone());
    let hook = baram_sanitize::Remux(Arc::new(move |data: &[u8], webm: bool| {
        c2.fetch_add(1, Ordering::SeqCst);
        s2.lock().unwrap().push(webm);
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let (i, o) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::write(&i, data).map_err(|e| e.to_string())?;
        let args = baram_sanitize::mkv_remux_args(&i.to_string_lossy(), &o.to_string_lossy(), webm);
        let st = Command::new("ffmpeg")
            .args(&args)
            .status()
            .map_err(|e| e.to_string())?;
        if !st.success() {
            return Err(format!("ffmpeg {st}"));
        }
        std::fs::read(&o).map_err(|e| e.to_string())
    }));
    let opts = Options {
        remux: Some(hook),
        ..Default::default()
    };
    let plain = clean(&fixtures::mkv_with_tags(), &Options::default()).unwrap();
    let hooked = clean(&fixtures::mkv_with_tags(), &opts).unwrap();
    assert_eq!(hooked.data, plain.data);
    assert_eq!(hooked.report, plain.report);
    assert!(calls.load(Ordering::SeqCst) >= 1);
    clean(&fixtures::webm_with_tags(), &opts).unwrap();
    assert!(seen_webm.lock().unwrap().contains(&true));
    let refuse = Options {
        remux: Some(baram_sanitize::Remux(Arc::new(|_: &[u8], _| {
            Err("no sandbox".to_string())
        }))),
        ..Default::default()
    };
    match clean(&fixtures::mkv_with_tags(), &refuse) {
        Err(Error::Tool { tool, reason }) => {
            assert_eq!(tool, "ffmpeg");
            assert_eq!(reason, "no sandbox");
        }
        other => panic!("{other:?}"),
    }
}
