//! Profiles and conversion, checked against independent oracles: ffprobe
//! (codecs, profile, level, size), exiftool (no software or encoder tags),
//! a byte search like `grep -a` (no encoder version strings), ffmpeg decoding
//! (burned subtitles change pixels) and the sanitizer's own `inspect`.
//!
//! The oracles are required: without ffmpeg, exiftool or the Nanum fonts the
//! tests fail with the line that installs them; they never skip.

use baram_drop::convert::{self, Action, Input, Options};
use baram_drop::profile::{self, Origin, Profile};
use baram_library::{Kind, MediaInfo};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn tool(program: &str, install: &str, args: &[&str]) -> std::process::Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("{program} is required for these tests ({e}); install it with: apt-get install {install}")
    })
}

fn ffmpeg(args: &[&str]) {
    let mut a = vec!["-nostdin", "-hide_banner", "-loglevel", "error", "-y"];
    a.extend_from_slice(args);
    let o = tool("ffmpeg", "ffmpeg", &a);
    assert!(
        o.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

struct Fixtures {
    dir: PathBuf,
}

impl Fixtures {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Tiny media made once per test run: a 1280x720 1-second H.264/AAC MP4
/// made by x264 (so it carries x264's version SEI), a WAV tone, an MP3 made
/// by LAME, an SRT in Korean.
fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("baram-convert-fixtures-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=1280x720:rate=10:duration=1",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            &p("wide.mp4"),
        ]);
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:duration=1",
            "-c:a",
            "pcm_s16le",
            &p("tone.wav"),
        ]);
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=550:duration=1",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            &p("lame.mp3"),
        ]);
        fs::write(
            dir.join("ko.srt"),
            "1\n00:00:00,000 --> 00:00:01,000\n안녕하세요 평양 여러분\n\n",
        )
        .unwrap();
        Fixtures { dir }
    })
}

fn hash_of(p: &Path) -> String {
    blake3::hash(&fs::read(p).unwrap()).to_hex().to_string()
}

fn input(p: &Path) -> (PathBuf, String) {
    (p.to_path_buf(), hash_of(p))
}

fn media(format_w_h: (Option<u32>, Option<u32>), v: Option<&str>, a: Option<&str>) -> MediaInfo {
    MediaInfo {
        width: format_w_h.0,
        height: format_w_h.1,
        video_codec: v.map(String::from),
        audio_codec: a.map(String::from),
        ..Default::default()
    }
}

fn wide_media() -> MediaInfo {
    media((Some(1280), Some(720)), Some("h264"), Some("aac"))
}

fn builtin(name: &str) -> Profile {
    profile::load(name, None).unwrap()
}

/// An ffmpeg wrapper that logs every run to `log` and optionally disturbs
/// the environment (`env`, e.g. `TZ=...`) and the command line (`pre`,
/// options put before baram's own) before running the real ffmpeg.
fn wrapper(dir: &Path, env: &str, pre: &str) -> (PathBuf, PathBuf) {
    let log = dir.join("ffmpeg.log");
    let w = dir.join("ffmpeg-wrapper");
    fs::write(
        &w,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\n{env} exec ffmpeg {pre} \"$@\"\n",
            log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&w, fs::Permissions::from_mode(0o755)).unwrap();
    (w, log)
}

fn conversions_in(log: &Path) -> usize {
    fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" -i "))
        .count()
}

/// Plans and converts one file; the arguments mirror plan_item and Input.
#[allow(clippy::too_many_arguments)]
fn run(
    profile: &Profile,
    kind: Kind,
    format: &str,
    m: Option<&MediaInfo>,
    file: &Path,
    subs: Option<&Path>,
    cache: &Path,
    opts: &Options,
) -> Result<convert::Converted, convert::Error> {
    let (path, hash) = input(file);
    let action = convert::plan_item(profile, kind, format, m, subs.is_some());
    convert::convert(
        &Input {
            path: &path,
            hash: &hash,
            subtitles: subs,
        },
        &action,
        cache,
        opts,
    )
}

/// The independent search for encoder names: the words `grep -a -i` would be
/// given, over the raw bytes.
fn encoder_words(p: &Path) -> Vec<String> {
    let data = fs::read(p).unwrap().to_ascii_lowercase();
    [
        "lavc", "lavf", "lavu", "lame", "x264", "xvid0", "ffmpeg", "libshine", "divx",
    ]
    .iter()
    .filter(|w| data.windows(w.len()).any(|x| x == w.as_bytes()))
    .map(|w| w.to_string())
    .collect()
}

fn exiftool_software_tags(p: &Path) -> Vec<String> {
    let o = tool(
        "exiftool",
        "libimage-exiftool-perl",
        &["-a", "-G1", "-u", p.to_str().unwrap()],
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| {
            let k = l.split(':').next().unwrap_or("").to_ascii_lowercase();
            // "Encoding : MP3" in an AVI stream header is the codec, not software.
            (k.contains("software")
                || k.contains("encoder")
                || k.contains("writ")
                || k.contains("tool")
                || k.contains("handler description")
                || k.contains("compressor name"))
                && !l.to_ascii_lowercase().contains("exiftool version")
        })
        .map(String::from)
        .collect()
}

/// ffprobe's `key=value` facts of each stream and of the container.
fn probe(p: &Path) -> String {
    let o = tool(
        "ffprobe",
        "ffmpeg",
        &[
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,codec_tag_string,profile,level,width,height,sample_rate,channels,sample_aspect_ratio:format=format_name",
            "-of",
            "default=noprint_wrappers=1",
            p.to_str().unwrap(),
        ],
    );
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "ffprobe: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn field(probe: &str, key: &str) -> Vec<String> {
    probe
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")).map(String::from))
        .collect()
}

fn assert_clean_output(p: &Path) {
    let data = fs::read(p).unwrap();
    let r = baram_sanitize::inspect(&data).unwrap();
    assert!(
        r.is_clean(),
        "{}: sanitizer still finds {:?}",
        p.display(),
        r.findings
    );
    assert_eq!(
        encoder_words(p),
        Vec::<String>::new(),
        "{}: encoder strings left",
        p.display()
    );
    assert_eq!(
        exiftool_software_tags(p),
        Vec::<String>::new(),
        "{}: exiftool",
        p.display()
    );
}

fn gray_frame(p: &Path) -> Vec<u8> {
    let o = tool(
        "ffmpeg",
        "ffmpeg",
        &[
            "-nostdin",
            "-v",
            "error",
            "-i",
            p.to_str().unwrap(),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ],
    );
    assert!(o.status.success());
    o.stdout
}

// ---------------------------------------------------------------------------
// Profiles

#[test]
fn every_builtin_profile_loads_and_hashes_differently() {
    let all = profile::list(None).unwrap();
    let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["audio", "notel", "notel-h264", "pc", "text"]);
    let mut hashes: Vec<String> = all.iter().map(Profile::hash).collect();
    assert!(
        all.iter()
            .all(|p| p.origin == Origin::Builtin && !p.description.is_empty())
    );
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), 5);
    assert_eq!(builtin("notel").hash(), builtin("notel").hash());
    let n = builtin("notel");
    let v = n.rules.video.as_ref().unwrap();
    assert_eq!(
        (
            v.container.as_str(),
            v.encoder.as_str(),
            v.max_width,
            v.max_height
        ),
        ("avi", "mpeg4", 720, 480)
    );
    assert!(matches!(
        profile::load("nope", None),
        Err(profile::Error::Unknown { .. })
    ));
    assert!(matches!(
        profile::load("../etc", None),
        Err(profile::Error::BadName(_))
    ));
}

#[test]
fn user_profile_overrides_and_adds() {
    let d = tempfile::tempdir().unwrap();
    let text = profile::BUILTIN
        .iter()
        .find(|(n, _)| *n == "notel")
        .unwrap()
        .1;
    fs::write(
        d.path().join("notel.toml"),
        text.replace("max_width = 720", "max_width = 320"),
    )
    .unwrap();
    fs::write(d.path().join("mine.toml"), profile::BUILTIN[4].1).unwrap();
    let p = profile::load("notel", Some(d.path())).unwrap();
    assert_eq!(p.origin, Origin::User(d.path().join("notel.toml")));
    assert_eq!(p.rules.video.as_ref().unwrap().max_width, 320);
    assert_ne!(
        p.hash(),
        builtin("notel").hash(),
        "an edited profile must invalidate the cache"
    );
    // Comments and the description do not change the output, so not the hash.
    fs::write(
        d.path().join("notel.toml"),
        format!("# a note\n{text}").replace("Notel portable", "Notel"),
    )
    .unwrap();
    assert_eq!(
        profile::load("notel", Some(d.path())).unwrap().hash(),
        builtin("notel").hash()
    );
    let names: Vec<String> = profile::list(Some(d.path()))
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        names,
        ["audio", "mine", "notel", "notel-h264", "pc", "text"]
    );
    // No user folder at all is fine.
    assert_eq!(
        profile::list(Some(&d.path().join("absent"))).unwrap().len(),
        5
    );
}

#[test]
fn malformed_profiles_name_file_and_key() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("bad.toml");
    let notel = profile::BUILTIN[1].1;
    let cases = [
        (
            notel.replace("max_height = 480", "max_hieght = 480"),
            "max_hieght",
        ),
        (
            notel.replace("max_width = 720", "max_width = \"wide\""),
            "max_width",
        ),
        (
            notel.replace("max_width = 720", "max_width = 721"),
            "video.max_width",
        ),
        (format!("{notel}\ncolour = 1\n"), "colour"),
        ("description = \"x\"\n[documents\n".to_string(), "line"),
        (
            notel.replace("\"-dct\", \"int\"", "\"-metadata\", \"title=x\""),
            "video.encoder_args",
        ),
        (
            notel.replace("archive = \"refuse\"", "archive = \"html\""),
            "documents.archive",
        ),
        (
            notel.replace("subtitle_font = \"NanumGothic\"", ""),
            "video.subtitle_font",
        ),
    ];
    for (text, key) in cases {
        fs::write(&f, &text).unwrap();
        let e = profile::load("bad", Some(d.path()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(f.to_str().unwrap()),
            "error does not name the file: {e}"
        );
        assert!(e.contains(key), "error does not name {key}: {e}");
        // A list must not hide the broken file.
        assert!(profile::list(Some(d.path())).is_err());
    }
}

#[test]
fn planning_decides_pass_through_convert_or_refuse() {
    let is_pass = |a: &Action| matches!(a, Action::PassThrough(_));
    let is_conv = |a: &Action| matches!(a, Action::Convert(_));
    let mp3 = media((None, None), None, Some("mp3"));
    let ogg = media((None, None), None, Some("vorbis"));
    for name in ["audio", "notel", "pc"] {
        let p = builtin(name);
        assert!(
            is_pass(&convert::plan_item(
                &p,
                Kind::Audio,
                "mp3",
                Some(&mp3),
                false
            )),
            "{name}"
        );
        assert!(
            is_conv(&convert::plan_item(
                &p,
                Kind::Audio,
                "ogg",
                Some(&ogg),
                false
            )),
            "{name}"
        );
    }
    let text = builtin("text");
    match convert::plan_item(&text, Kind::Text, "txt", None, false) {
        Action::Convert(j) => assert_eq!(j.extension(), Some("html")),
        a => panic!("{a:?}"),
    }
    assert!(is_pass(&convert::plan_item(
        &text,
        Kind::Book,
        "pdf",
        None,
        false
    )));
    assert!(is_pass(&convert::plan_item(
        &text,
        Kind::Book,
        "epub",
        None,
        false
    )));
    assert!(matches!(
        convert::plan_item(&text, Kind::Video, "mp4", Some(&wide_media()), false),
        Action::Unsupported { .. }
    ));
    assert!(matches!(
        convert::plan_item(&builtin("audio"), Kind::Image, "jpg", None, false),
        Action::Unsupported { .. }
    ));

    let notel = builtin("notel");
    let ok = media((Some(640), Some(480)), Some("mpeg4"), Some("mp3"));
    assert!(is_pass(&convert::plan_item(
        &notel,
        Kind::Video,
        "avi",
        Some(&ok),
        false
    )));
    assert!(
        is_conv(&convert::plan_item(
            &notel,
            Kind::Video,
            "avi",
            Some(&ok),
            true
        )),
        "subtitles are burned"
    );
    assert!(is_conv(&convert::plan_item(
        &notel,
        Kind::Video,
        "mp4",
        Some(&wide_media()),
        false
    )));
    assert!(
        is_conv(&convert::plan_item(&notel, Kind::Video, "avi", None, false)),
        "unknown facts: convert"
    );
    let big = media((Some(1280), Some(720)), Some("mpeg4"), Some("mp3"));
    assert!(is_conv(&convert::plan_item(
        &notel,
        Kind::Video,
        "avi",
        Some(&big),
        false
    )));
    // notel-h264 cannot see the H.264 profile and level in the facts: always converts.
    let h = media((Some(640), Some(360)), Some("h264"), Some("aac"));
    assert!(is_conv(&convert::plan_item(
        &builtin("notel-h264"),
        Kind::Video,
        "mp4",
        Some(&h),
        false
    )));
    assert!(
        is_pass(&convert::plan_item(
            &builtin("pc"),
            Kind::Video,
            "mp4",
            Some(&h),
            true
        )),
        "pc: SRT beside"
    );
}

// ---------------------------------------------------------------------------
// Conversion

#[test]
fn notel_is_xvid_mp3_avi_within_720x480_clean_and_cached() {
    let fx = fixtures();
    let d = tempfile::tempdir().unwrap();
    let (w, log) = wrapper(d.path(), "", "");
    let opts = Options {
        ffmpeg: w,
        ..Default::default()
    };
    let cache = d.path().join("cache");
    let p = builtin("notel");
    let m = wide_media();
    let a = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &fx.path("wide.mp4"),
        None,
        &cache,
        &opts,
    )
    .unwrap();
    assert!(!a.cached && !a.passed_through);
    assert!(a.path.starts_with(&cache));
    assert_eq!(a.extension.as_deref(), Some("avi"));
    assert_eq!(conversions_in(&log), 1);
    let bytes = fs::read(&a.path).unwrap();
    assert_eq!(
        (a.size, a.hash.clone()),
        (
            bytes.len() as u64,
            blake3::hash(&bytes).to_hex().to_string()
        )
    );

    let pr = probe(&a.path);
    assert_eq!(field(&pr, "format_name"), ["avi"]);
    assert_eq!(field(&pr, "codec_name"), ["mpeg4", "mp3"]);
    assert_eq!(field(&pr, "codec_tag_string")[0], "XVID");
    let w: u32 = field(&pr, "width")[0].parse().unwrap();
    let h: u32 = field(&pr, "height")[0].parse().unwrap();
    assert!(
        w <= 720 && h <= 480 && w.is_multiple_of(2) && h.is_multiple_of(2),
        "{w}x{h}"
    );
    assert_eq!(w, 720);
    let aspect = w as f64 / h as f64;
    assert!((aspect - 16.0 / 9.0).abs() < 0.01, "aspect {aspect}");
    assert_eq!(field(&pr, "sample_aspect_ratio")[0], "1:1");
    assert_eq!(field(&pr, "sample_rate"), ["44100"]);
    assert_clean_output(&a.path);

    // The second run: same bytes, from the cache, no ffmpeg, file untouched.
    let meta = fs::metadata(&a.path).unwrap();
    let b = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &fx.path("wide.mp4"),
        None,
        &cache,
        &opts,
    )
    .unwrap();
    assert!(b.cached);
    assert_eq!((&b.path, b.size, &b.hash), (&a.path, a.size, &a.hash));
    assert_eq!(
        conversions_in(&log),
        1,
        "the cached run must not run ffmpeg"
    );
    let meta2 = fs::metadata(&b.path).unwrap();
    assert_eq!(
        (meta.ino(), meta.mtime(), meta.mtime_nsec()),
        (meta2.ino(), meta2.mtime(), meta2.mtime_nsec())
    );
    // No temporaries left in the cache.
    let mut stray = Vec::new();
    for e in walk(&cache) {
        if e.file_name().unwrap().to_str().unwrap().starts_with('.') {
            stray.push(e);
        }
    }
    assert!(stray.is_empty(), "{stray:?}");

    // A fresh cache, an environment that tries to change threads, locale and
    // time zone, and extra thread options on the command line: same bytes.
    let d2 = tempfile::tempdir().unwrap();
    let (w2, log2) = wrapper(
        d2.path(),
        "OMP_NUM_THREADS=8 X264_THREADS=8 TZ=Asia/Pyongyang LC_ALL=ko_KR.UTF-8 LANG=ko_KR.UTF-8",
        "-threads 4 -filter_threads 4",
    );
    let opts2 = Options {
        ffmpeg: w2,
        ..Default::default()
    };
    let c = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &fx.path("wide.mp4"),
        None,
        &d2.path().join("c"),
        &opts2,
    )
    .unwrap();
    assert!(!c.cached);
    assert_eq!(conversions_in(&log2), 1);
    assert_eq!(
        fs::read(&c.path).unwrap(),
        bytes,
        "output depends on the environment"
    );
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(d) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push(p.clone());
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn notel_h264_is_constrained_baseline_level_30_aac() {
    let fx = fixtures();
    let d = tempfile::tempdir().unwrap();
    let p = builtin("notel-h264");
    let m = wide_media();
    let a = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &fx.path("wide.mp4"),
        None,
        d.path(),
        &Options::default(),
    )
    .unwrap();
    let pr = probe(&a.path);
    assert!(field(&pr, "format_name")[0].contains("mp4"));
    assert_eq!(field(&pr, "codec_name"), ["h264", "aac"]);
    assert_eq!(field(&pr, "profile"), ["Constrained Baseline", "LC"]);
    assert_eq!(field(&pr, "level")[0], "30");
    let (w, h): (u32, u32) = (
        field(&pr, "width")[0].parse().unwrap(),
        field(&pr, "height")[0].parse().unwrap(),
    );
    assert!(
        w <= 720 && h <= 480 && ((w as f64 / h as f64) - 16.0 / 9.0).abs() < 0.01,
        "{w}x{h}"
    );
    // The input was made by x264 and carries its version SEI; the output not.
    assert!(encoder_words(&fx.path("wide.mp4")).contains(&"x264".to_string()));
    assert_clean_output(&a.path);
    // Twice into a fresh cache: the same bytes.
    let d2 = tempfile::tempdir().unwrap();
    let b = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &fx.path("wide.mp4"),
        None,
        d2.path(),
        &Options::default(),
    )
    .unwrap();
    assert!(!b.cached);
    assert_eq!(fs::read(&a.path).unwrap(), fs::read(&b.path).unwrap());
}

#[test]
fn burned_subtitles_change_pixels_and_the_cache_key() {
    let fx = fixtures();
    let d = tempfile::tempdir().unwrap();
    let p = builtin("notel");
    let m = wide_media();
    let opts = Options::default();
    let plain = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &fx.path("wide.mp4"),
        None,
        d.path(),
        &opts,
    )
    .unwrap();
    let srt = fx.path("ko.srt");
    let subbed = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &fx.path("wide.mp4"),
        Some(&srt),
        d.path(),
        &opts,
    )
    .unwrap();
    assert!(!subbed.cached, "subtitles must be part of the cache key");
    assert_ne!(plain.path, subbed.path);
    assert!(subbed.sidecars.is_empty());
    let (a, b) = (gray_frame(&plain.path), gray_frame(&subbed.path));
    assert_eq!(a.len(), b.len());
    let differing = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.abs_diff(**y) > 40)
        .count();
    assert!(
        differing > 500,
        "only {differing} pixels differ: subtitles not burned in"
    );
    assert_clean_output(&subbed.path);
    // The same again into a fresh cache: same bytes (font rendering is deterministic).
    let d2 = tempfile::tempdir().unwrap();
    let again = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &fx.path("wide.mp4"),
        Some(&srt),
        d2.path(),
        &opts,
    )
    .unwrap();
    assert_eq!(
        fs::read(&again.path).unwrap(),
        fs::read(&subbed.path).unwrap()
    );

    // A missing font is a clear error with the install line.
    let nofonts = tempfile::tempdir().unwrap();
    let o = Options {
        fonts_dir: nofonts.path().to_path_buf(),
        ..Default::default()
    };
    let e = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &fx.path("wide.mp4"),
        Some(&srt),
        &d.path().join("x"),
        &o,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("NanumGothic") && e.contains("apt-get install fonts-nanum"),
        "{e}"
    );
}

#[test]
fn pc_writes_the_srt_beside_the_video() {
    let fx = fixtures();
    let d = tempfile::tempdir().unwrap();
    let p = builtin("pc");
    let m = wide_media();
    let srt = fx.path("ko.srt");
    let a = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &fx.path("wide.mp4"),
        Some(&srt),
        d.path(),
        &Options::default(),
    )
    .unwrap();
    // A 1280x720 H.264/AAC MP4 fits pc, but it was made by x264 and names it:
    // it is re-encoded rather than passed through.
    assert!(!a.passed_through);
    assert_eq!(a.sidecars.len(), 1);
    let s = &a.sidecars[0];
    assert_eq!(s.extension, "srt");
    assert_eq!(fs::read(&s.path).unwrap(), fs::read(&srt).unwrap());
    assert_eq!(s.size, fs::metadata(&srt).unwrap().len());
    assert_eq!(a.total_size(), a.size + s.size);
    let pr = probe(&a.path);
    assert_eq!(field(&pr, "codec_name"), ["h264", "aac"]);
    assert_eq!(field(&pr, "profile")[0], "Main");
    assert_clean_output(&a.path);
    // Now a clean conforming MP4 (our own output) passes through, SRT beside it.
    let b = run(
        &p,
        Kind::Video,
        "mp4",
        Some(&m),
        &a.path,
        Some(&srt),
        d.path(),
        &Options::default(),
    )
    .unwrap();
    assert!(b.passed_through && !b.cached);
    assert_eq!((&b.path, &b.hash), (&a.path, &a.hash));
    assert_eq!(b.sidecars, a.sidecars);
}

#[test]
fn audio_is_mp3_without_lame_and_lame_files_are_reencoded() {
    let fx = fixtures();
    let d = tempfile::tempdir().unwrap();
    let p = builtin("audio");
    let wav = media((None, None), None, Some("pcm_s16le"));
    let a = run(
        &p,
        Kind::Audio,
        "wav",
        Some(&wav),
        &fx.path("tone.wav"),
        None,
        d.path(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(a.extension.as_deref(), Some("mp3"));
    let pr = probe(&a.path);
    assert_eq!(field(&pr, "codec_name"), ["mp3"]);
    assert_eq!(field(&pr, "sample_rate"), ["44100"]);
    assert_clean_output(&a.path);

    // A clean MP3 passes through unchanged: the very file, no copy.
    let b = run(
        &p,
        Kind::Audio,
        "mp3",
        Some(&media((None, None), None, Some("mp3"))),
        &a.path,
        None,
        d.path(),
        &Options::default(),
    )
    .unwrap();
    assert!(b.passed_through);
    assert_eq!((&b.path, &b.hash), (&a.path, &a.hash));

    // An MP3 from LAME carries "LAME3.100" in its frames (beyond the reach
    // of the sanitizer's tag zeroing): it is planned as pass-through, but
    // converted, and the result is clean.
    let lame = fx.path("lame.mp3");
    assert!(encoder_words(&lame).contains(&"lame".to_string()));
    let c = run(
        &p,
        Kind::Audio,
        "mp3",
        Some(&media((None, None), None, Some("mp3"))),
        &lame,
        None,
        d.path(),
        &Options::default(),
    )
    .unwrap();
    assert!(!c.passed_through);
    assert_clean_output(&c.path);
}

#[test]
fn text_becomes_escaped_utf8_html() {
    let d = tempfile::tempdir().unwrap();
    let txt = d.path().join("note.txt");
    fs::write(
        &txt,
        "\u{feff}조선 <인민> & \"자유\"\r\n둘째 줄\r\n\r\n새 문단\n",
    )
    .unwrap();
    let p = builtin("text");
    let a = run(
        &p,
        Kind::Text,
        "txt",
        None,
        &txt,
        None,
        &d.path().join("c"),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(a.extension.as_deref(), Some("html"));
    let html = fs::read_to_string(&a.path).unwrap();
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("charset=utf-8\">"));
    assert!(
        html.contains(
            "<p>조선 &lt;인민&gt; &amp; &quot;자유&quot;<br>\n둘째 줄</p>\n<p>새 문단</p>"
        ),
        "{html}"
    );
    assert!(html.contains("<title>조선 &lt;인민&gt; &amp; &quot;자유&quot;</title>"));
    assert!(!html.contains('\r') && !html.contains('\u{feff}'));
    assert!(baram_sanitize::inspect(html.as_bytes()).unwrap().is_clean());
    // Well-formed for an XML parser too (an independent check of escaping).
    let o = tool(
        "python3",
        "python3",
        &[
            "-c",
            "import sys,html.parser\np=html.parser.HTMLParser();p.feed(open(sys.argv[1],encoding='utf-8').read());p.close()",
            a.path.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Not text: a clear error.
    let bin = d.path().join("bin.txt");
    fs::write(&bin, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let e = run(
        &p,
        Kind::Text,
        "txt",
        None,
        &bin,
        None,
        &d.path().join("c"),
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("bin.txt") && e.contains("UTF-8"), "{e}");
}

#[test]
fn without_ffmpeg_a_clear_message_and_pass_through_still_works() {
    let fx = fixtures();
    let empty = tempfile::tempdir().unwrap();
    let opts = Options {
        ffmpeg: empty.path().join("ffmpeg"),
        ..Default::default()
    };
    let e = convert::ffmpeg_at(&opts.ffmpeg).unwrap_err().to_string();
    assert!(e.contains("apt-get install ffmpeg"), "{e}");
    assert!(
        convert::ffmpeg_available()
            .unwrap()
            .version
            .starts_with("ffmpeg version")
    );
    let d = tempfile::tempdir().unwrap();
    let e = run(
        &builtin("notel"),
        Kind::Video,
        "mp4",
        Some(&wide_media()),
        &fx.path("wide.mp4"),
        None,
        d.path(),
        &opts,
    )
    .unwrap_err();
    assert!(matches!(e, convert::Error::MissingFfmpeg(_)), "{e:?}");
    assert!(e.to_string().contains("apt-get install ffmpeg"), "{e}");
    // Items that need no ffmpeg still go.
    let txt = d.path().join("a.txt");
    fs::write(&txt, "평양\n").unwrap();
    let t = run(
        &builtin("text"),
        Kind::Text,
        "txt",
        None,
        &txt,
        None,
        d.path(),
        &opts,
    )
    .unwrap();
    assert!(!t.passed_through);
    let pdf = d.path().join("b.pdf");
    fs::write(&pdf, b"%PDF-1.4 not parsed for a pass-through").unwrap();
    let b = run(
        &builtin("text"),
        Kind::Book,
        "pdf",
        None,
        &pdf,
        None,
        d.path(),
        &opts,
    )
    .unwrap();
    assert!(b.passed_through && b.path == pdf);
    // A clean MP3 passes through without ffmpeg too.
    let clean_mp3 = d.path().join("c.mp3");
    fs::write(
        &clean_mp3,
        baram_sanitize::fixtures::mp3_silent_frame().repeat(20),
    )
    .unwrap();
    let c = run(
        &builtin("audio"),
        Kind::Audio,
        "mp3",
        Some(&media((None, None), None, Some("mp3"))),
        &clean_mp3,
        None,
        d.path(),
        &opts,
    )
    .unwrap();
    assert!(c.passed_through);
}

#[test]
fn broken_input_and_wrong_hash_name_the_file() {
    let d = tempfile::tempdir().unwrap();
    let broken = d.path().join("broken-film.mp4");
    fs::write(
        &broken,
        b"\x00\x00\x00\x18ftypisom this is not a film at all",
    )
    .unwrap();
    let e = run(
        &builtin("notel"),
        Kind::Video,
        "mp4",
        Some(&wide_media()),
        &broken,
        None,
        &d.path().join("c"),
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(e, convert::Error::Ffmpeg { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("broken-film.mp4"), "{msg}");
    // Nothing half-written remains in the cache.
    assert!(
        walk(&d.path().join("c")).iter().all(|p| p.is_dir()),
        "{:?}",
        walk(&d.path().join("c"))
    );

    let txt = d.path().join("t.txt");
    fs::write(&txt, "x\n").unwrap();
    let action = convert::plan_item(&builtin("text"), Kind::Text, "txt", None, false);
    let e = convert::convert(
        &Input {
            path: &txt,
            hash: &"0".repeat(64),
            subtitles: None,
        },
        &action,
        d.path(),
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("t.txt") && e.contains("hashes to"), "{e}");
    // Subtitles planned but not given.
    let action = convert::plan_item(
        &builtin("notel"),
        Kind::Video,
        "mp4",
        Some(&wide_media()),
        true,
    );
    let (p, h) = input(&txt);
    let e = convert::convert(
        &Input {
            path: &p,
            hash: &h,
            subtitles: None,
        },
        &action,
        d.path(),
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(e, convert::Error::Subtitles { .. }), "{e:?}");
    // Unsupported names the file and the profile.
    let action = convert::plan_item(&builtin("text"), Kind::Video, "mp4", None, false);
    let e = convert::convert(
        &Input {
            path: &p,
            hash: &h,
            subtitles: None,
        },
        &action,
        d.path(),
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("t.txt") && e.contains("profile text carries no videos"),
        "{e}"
    );
}

#[test]
fn encoder_marks_are_found_and_random_bytes_do_not_match() {
    for s in [
        &b"..Lavc59.37.100"[..],
        b"Lavf58.29.100",
        b"Lavc libx264",
        b"xLAME3.100UUU",
        b"XviD0069",
        b"DivX503b1393p",
        b"x264 - core 164",
        b"x265 (build 199)",
    ] {
        assert!(
            convert::encoder_mark(s).is_some(),
            "{}",
            String::from_utf8_lossy(s)
        );
    }
    for s in [
        &b"Lava"[..],
        b"LAMEN",
        b"XviD",
        b"Lavc",
        b"Lavc5",
        b"x264",
        b"DivX",
    ] {
        assert!(
            convert::encoder_mark(s).is_none(),
            "{}",
            String::from_utf8_lossy(s)
        );
    }
    // 8 MiB of pseudo-random bytes (xorshift): no false alarm.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..8 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    assert_eq!(convert::encoder_mark(&data), None);
}
