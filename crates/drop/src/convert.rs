//! Conversion of library items for a device profile: deterministic, cached,
//! and checked again by the sanitizer.
//!
//! # Use
//!
//! 1. [`plan_item`] decides from the item's kind, format and ffprobe facts
//!    what a profile does with it: [`Action::PassThrough`], [`Action::Convert`]
//!    or [`Action::Unsupported`]. It runs nothing, so a drop can be planned
//!    without ffmpeg.
//! 2. [`convert`] carries the action out and returns the file that goes on the
//!    drop ([`Converted`]: path, exact size, BLAKE3, sidecars), which is what
//!    the planner needs for each item.
//!
//! Subtitles: the library stores no subtitle attachment. A caller that has an
//! SRT for a video (UTF-8) says so to [`plan_item`] (`has_subtitles`) and
//! passes its path in [`Input::subtitles`]; the profile burns it in
//! (`notel`, with a Korean font) or writes it cleaned beside the video (`pc`).
//!
//! # Guarantees
//!
//! * **Deterministic.** ffmpeg runs with one thread everywhere (decoder,
//!   filters, encoder), bitexact flags on input, streams and muxer, no
//!   metadata or chapters copied, bit-exact scaling, a fixed environment
//!   (`LC_ALL=C`, `TZ=UTC`, nothing else inherited but `PATH`), fixed file
//!   names in a private folder, and encoders chosen because they write no
//!   version: ffmpeg's `mpeg4` (libxvid writes `XviD0069`), `libshine`
//!   (libmp3lame writes `LAME3.100` into the frames' ancillary bits), x264's
//!   version SEI removed by `filter_units=remove_types=6`.
//! * **Fails closed.** Every output is cleaned by [`baram_sanitize::clean`],
//!   must then inspect clean and must carry no encoder version string
//!   ([`encoder_mark`]); otherwise the conversion fails naming the input and
//!   nothing is cached. A pass-through media file that carries such a string
//!   (an MP3 made by LAME, an MP4 by x264) is re-encoded instead.
//! * **Cached** by (input hash, profile hash, output kind, subtitle hash):
//!   the second conversion runs no ffmpeg. Cache files are written to a
//!   temporary file in their final folder, fsynced and renamed, so a crash
//!   never leaves a half file under a final name.

use crate::profile::{AudioCodec, AudioRule, DocRule, PassThrough, Profile, Subtitles, VideoRule};
use baram_library::{Kind, MediaInfo};
use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The line that installs ffmpeg, in every message about it.
pub const INSTALL_FFMPEG: &str = "apt-get install ffmpeg";
/// The line that installs the Korean fonts burned subtitles use.
pub const INSTALL_FONTS: &str = "apt-get install fonts-nanum";

/// Bit-exact software scaling (no CPU-specific rounding), also for the
/// conversions ffmpeg inserts by itself.
const SWS_FLAGS: &str = "bicubic+accurate_rnd+full_chroma_int+bitexact";

/// Conversion errors. Each names the input file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    MissingFfmpeg(#[from] MissingFfmpeg),
    #[error("{input}: {reason}")]
    Unsupported { input: PathBuf, reason: String },
    #[error(
        "{input}: ffmpeg ({program}) has no {what} {name:?}, which profile {profile} needs; install a full build with: {INSTALL_FFMPEG}"
    )]
    FfmpegLacks {
        input: PathBuf,
        program: PathBuf,
        what: &'static str,
        name: String,
        profile: String,
    },
    #[error("{input}: subtitle font {font} not found in {dir}; install it with: {INSTALL_FONTS}")]
    Font {
        input: PathBuf,
        font: String,
        dir: PathBuf,
    },
    #[error("{input}: ffmpeg could not convert it: {message}")]
    Ffmpeg { input: PathBuf, message: String },
    #[error("{input}: the sanitizer refused the converted file ({reason}); nothing was kept")]
    Sanitize { input: PathBuf, reason: String },
    #[error(
        "{input}: the converted file still carries the encoder string {mark:?} at byte {offset}; refusing it"
    )]
    EncoderString {
        input: PathBuf,
        mark: String,
        offset: u64,
    },
    #[error(
        "{input}: its content hashes to {actual}, not {expected}: the blob is damaged or the wrong file was given (run `baram library check`)"
    )]
    HashMismatch {
        input: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{input}: {why}")]
    Subtitles { input: PathBuf, why: String },
    #[error("{input}: cannot make an HTML page of it: {why}")]
    Text { input: PathBuf, why: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

// ---------------------------------------------------------------------------
// ffmpeg discovery

/// ffmpeg cannot be run.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "ffmpeg is needed to convert videos and audio for this profile but cannot be run ({program}: {reason}); install it with: {INSTALL_FFMPEG} (items that need no conversion are not affected)"
)]
pub struct MissingFfmpeg {
    pub program: PathBuf,
    pub reason: String,
}

/// A runnable ffmpeg and what it offers.
#[derive(Debug, Clone)]
pub struct FfmpegInfo {
    pub program: PathBuf,
    /// The first line of `ffmpeg -version`.
    pub version: String,
    encoders: BTreeSet<String>,
    filters: BTreeSet<String>,
}

impl FfmpegInfo {
    pub fn has_encoder(&self, name: &str) -> bool {
        self.encoders.contains(name)
    }
    pub fn has_filter(&self, name: &str) -> bool {
        self.filters.contains(name)
    }
}

/// The `ffmpeg` on `PATH`.
pub fn ffmpeg_available() -> Result<FfmpegInfo, MissingFfmpeg> {
    ffmpeg_at(Path::new("ffmpeg"))
}

/// The ffmpeg at `program` (a path, or a name looked up in `PATH`). A
/// successful probe is remembered for the life of the process.
pub fn ffmpeg_at(program: &Path) -> Result<FfmpegInfo, MissingFfmpeg> {
    static SEEN: OnceLock<Mutex<HashMap<PathBuf, FfmpegInfo>>> = OnceLock::new();
    let seen = SEEN.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(m) = seen.lock()
        && let Some(i) = m.get(program)
    {
        return Ok(i.clone());
    }
    let missing = |reason: String| MissingFfmpeg {
        program: program.to_path_buf(),
        reason,
    };
    let run = |arg: &str| -> Result<String, MissingFfmpeg> {
        let out = ffmpeg_command(program)
            .args(["-hide_banner", arg])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| missing(e.to_string()))?;
        if !out.status.success() {
            return Err(missing(format!("`ffmpeg {arg}` failed ({})", out.status)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let version = run("-version")?.lines().next().unwrap_or("").to_string();
    if !version.starts_with("ffmpeg version") {
        return Err(missing("it does not say it is ffmpeg".into()));
    }
    // Lines look like " V....D libx264   description" and " TSC subtitles  V->V  ...".
    let names = |text: String| -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let flags = w.next()?;
                let name = w.next()?;
                (flags.len() <= 6 && !flags.contains('=')).then(|| name.to_string())
            })
            .collect()
    };
    let info = FfmpegInfo {
        program: program.to_path_buf(),
        version,
        encoders: names(run("-encoders")?),
        filters: names(run("-filters")?),
    };
    if let Ok(mut m) = seen.lock() {
        m.insert(program.to_path_buf(), info.clone());
    }
    Ok(info)
}

/// A Command for ffmpeg with a fixed environment: nothing of the caller's
/// (locale, time zone, thread variables, HOME) can reach it but `PATH`.
fn ffmpeg_command(program: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear();
    if let Some(p) = std::env::var_os("PATH") {
        c.env("PATH", p);
    }
    c.env("LC_ALL", "C").env("TZ", "UTC");
    c
}

// ---------------------------------------------------------------------------
// Planning

/// Conversion options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The ffmpeg to run (a path, or a name looked up in `PATH`).
    pub ffmpeg: PathBuf,
    /// Folder holding the subtitle fonts (`NanumGothic.ttf`).
    pub fonts_dir: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ffmpeg: PathBuf::from("ffmpeg"),
            fonts_dir: PathBuf::from("/usr/share/fonts/truetype/nanum"),
        }
    }
}

/// What a profile does with one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The item conforms and goes as it is. [`convert`] still checks its
    /// hash and, for audio and video, that it carries no encoder version
    /// string (if it does, it is re-encoded by the same profile rule).
    PassThrough(Job),
    /// The item is converted.
    Convert(Job),
    /// The profile does not carry this item.
    Unsupported { reason: String },
}

/// One planned conversion: the profile rule, fixed when planned. Built only
/// by [`plan_item`], so a job always matches a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    profile: String,
    profile_hash: String,
    target: Target,
    /// What happens to the item's subtitles (`None` when it has none).
    subtitles: Subtitles,
}

#[derive(Debug, Clone, PartialEq)]
enum Target {
    Video(Box<VideoRule>),
    Audio(AudioRule),
    Html,
    /// A document, image or archive as it is.
    Document,
}

impl Job {
    /// The extension of the file that goes on the drop, without the dot
    /// (`None`: the item's own).
    pub fn extension(&self) -> Option<&str> {
        match &self.target {
            Target::Video(v) => Some(&v.extension),
            Target::Audio(a) => Some(&a.extension),
            Target::Html => Some("html"),
            Target::Document => None,
        }
    }
    /// The profile this job belongs to.
    pub fn profile(&self) -> &str {
        &self.profile
    }
    /// Whether carrying it out runs ffmpeg (a pass-through media file only
    /// when it must be re-encoded).
    pub fn needs_ffmpeg(&self) -> bool {
        matches!(self.target, Target::Video(_) | Target::Audio(_))
    }
}

fn pass_matches(
    p: &Option<PassThrough>,
    format: &str,
    media: Option<&MediaInfo>,
    video: bool,
) -> bool {
    let (Some(p), Some(m)) = (p, media) else {
        return false;
    };
    let fmt_ok = p.formats.iter().any(|f| f.eq_ignore_ascii_case(format));
    let audio_ok = match &m.audio_codec {
        Some(a) => p.audio_codecs.iter().any(|c| c == a),
        None => video,
    };
    let video_ok = if video {
        m.video_codec
            .as_ref()
            .is_some_and(|v| p.video_codecs.iter().any(|c| c == v))
    } else {
        m.video_codec.is_none()
    };
    fmt_ok && audio_ok && video_ok
}

/// Decides what `profile` does with an item of `kind` and library `format`
/// (`avi`, `mp3`, `txt`, ...), given its ffprobe facts and whether the caller
/// has subtitles for it. Runs nothing.
pub fn plan_item(
    profile: &Profile,
    kind: Kind,
    format: &str,
    media: Option<&MediaInfo>,
    has_subtitles: bool,
) -> Action {
    let job = |target: Target, subtitles: Subtitles| Job {
        profile: profile.name.clone(),
        profile_hash: profile.hash(),
        target,
        subtitles,
    };
    let refuse = |what: &str| Action::Unsupported {
        reason: format!("profile {} carries no {what}", profile.name),
    };
    let r = &profile.rules;
    match kind {
        Kind::Video => {
            let Some(v) = &r.video else {
                return refuse("videos");
            };
            let subs = if has_subtitles {
                v.subtitles
            } else {
                Subtitles::None
            };
            let fits = media.is_some_and(|m| {
                matches!((m.width, m.height), (Some(w), Some(h)) if w <= v.max_width && h <= v.max_height)
            });
            let pass = fits
                && subs != Subtitles::Burn
                && pass_matches(&v.pass_through, format, media, true);
            let j = job(Target::Video(Box::new(v.clone())), subs);
            if pass {
                Action::PassThrough(j)
            } else {
                Action::Convert(j)
            }
        }
        Kind::Audio => {
            let Some(a) = &r.audio else {
                return refuse("audio");
            };
            let pass = pass_matches(&a.pass_through, format, media, false);
            let j = job(Target::Audio(a.clone()), Subtitles::None);
            if pass {
                Action::PassThrough(j)
            } else {
                Action::Convert(j)
            }
        }
        Kind::Text => match r.documents.text {
            DocRule::Refuse => refuse("text"),
            DocRule::Html if format.eq_ignore_ascii_case("txt") => {
                Action::Convert(job(Target::Html, Subtitles::None))
            }
            _ => Action::PassThrough(job(Target::Document, Subtitles::None)),
        },
        Kind::Book | Kind::Image | Kind::Archive => {
            let (rule, what) = match kind {
                Kind::Book => (r.documents.book, "books"),
                Kind::Image => (r.documents.image, "images"),
                _ => (r.documents.archive, "archives"),
            };
            match rule {
                DocRule::Refuse => refuse(what),
                _ => Action::PassThrough(job(Target::Document, Subtitles::None)),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Converting

/// The file to convert.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub path: &'a Path,
    /// Its BLAKE3 (hex), as the library knows it; checked.
    pub hash: &'a str,
    /// A UTF-8 SRT file for a video, when [`plan_item`] was told there is one.
    pub subtitles: Option<&'a Path>,
}

/// A file beside the converted one (an SRT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sidecar {
    pub path: PathBuf,
    pub size: u64,
    pub hash: String,
    pub extension: String,
}

/// The file that goes on the drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The input itself for a pass-through, else a file in the cache.
    pub path: PathBuf,
    pub size: u64,
    /// BLAKE3 (hex) of the bytes at `path`.
    pub hash: String,
    /// The extension to give it on the drop.
    pub extension: Option<String>,
    /// True when the result came from the cache and no ffmpeg ran.
    pub cached: bool,
    /// True when `path` is the input, unchanged.
    pub passed_through: bool,
    /// Files that go beside it with the same stem (the `pc` profile's SRT).
    pub sidecars: Vec<Sidecar>,
}

impl Converted {
    /// Bytes of the file and its sidecars: what the planner must count.
    pub fn total_size(&self) -> u64 {
        self.size + self.sidecars.iter().map(|s| s.size).sum::<u64>()
    }
}

/// Carries out `action` for `input`, using and filling the cache in
/// `cache_dir`.
pub fn convert(
    input: &Input,
    action: &Action,
    cache_dir: &Path,
    opts: &Options,
) -> Result<Converted, Error> {
    let (job, pass) = match action {
        Action::Unsupported { reason } => {
            return Err(Error::Unsupported {
                input: input.path.to_path_buf(),
                reason: reason.clone(),
            });
        }
        Action::PassThrough(j) => (j, true),
        Action::Convert(j) => (j, false),
    };
    let inp = input.path;
    match (job.subtitles, input.subtitles) {
        (Subtitles::None, Some(_)) if matches!(job.target, Target::Video(_)) => {}
        (Subtitles::None, Some(_)) => {
            return Err(Error::Subtitles {
                input: inp.to_path_buf(),
                why: "subtitles were given for an item that is not a video".into(),
            });
        }
        (Subtitles::Burn | Subtitles::Sidecar, None) => {
            return Err(Error::Subtitles {
                input: inp.to_path_buf(),
                why: "the item was planned with subtitles but no subtitle file was given".into(),
            });
        }
        _ => {}
    }
    // A profile whose videos take no subtitles ignores them.
    let subtitles = if job.subtitles == Subtitles::None {
        None
    } else {
        input.subtitles
    };
    let scan = scan_file(inp, !matches!(job.target, Target::Document))?;
    if scan.hash != input.hash {
        return Err(Error::HashMismatch {
            input: inp.to_path_buf(),
            expected: input.hash.to_string(),
            actual: scan.hash,
        });
    }
    let sidecars = match (job.subtitles, subtitles) {
        (Subtitles::Sidecar, Some(s)) => vec![sidecar(inp, s, cache_dir)?],
        _ => Vec::new(),
    };
    if pass && scan.mark.is_none() {
        return Ok(Converted {
            path: inp.to_path_buf(),
            size: scan.size,
            hash: scan.hash,
            extension: job.extension().map(str::to_string),
            cached: false,
            passed_through: true,
            sidecars,
        });
    }
    let sub_bytes = match (job.subtitles, subtitles) {
        (Subtitles::Burn, Some(s)) => Some(fs::read(s).map_err(io_err(s))?),
        _ => None,
    };
    let ext = job.extension().unwrap_or("bin").to_string();
    let key = cache_key(input.hash, job, sub_bytes.as_deref());
    let dir = cache_dir.join(&key[..2]);
    let final_path = dir.join(format!("{key}.{ext}"));
    if let Ok(data) = fs::read(&final_path) {
        // A cache file is trusted only if it is still clean: a damaged or
        // edited one is converted again.
        if verify_output(inp, &data).is_ok() {
            return Ok(Converted {
                size: data.len() as u64,
                hash: blake3::hash(&data).to_hex().to_string(),
                path: final_path,
                extension: Some(ext),
                cached: true,
                passed_through: false,
                sidecars,
            });
        }
    }
    let raw = match &job.target {
        Target::Html => {
            let text = fs::read(inp).map_err(io_err(inp))?;
            text_to_html(&text).map_err(|why| Error::Text {
                input: inp.to_path_buf(),
                why,
            })?
        }
        Target::Video(_) | Target::Audio(_) => {
            run_ffmpeg(inp, job, sub_bytes.as_deref(), cache_dir, opts)?
        }
        Target::Document => {
            return Err(Error::Unsupported {
                input: inp.to_path_buf(),
                reason: "a document is never converted".into(),
            });
        }
    };
    let cleaned =
        baram_sanitize::clean(&raw, &Default::default()).map_err(|e| Error::Sanitize {
            input: inp.to_path_buf(),
            reason: e.to_string(),
        })?;
    verify_output(inp, &cleaned.data)?;
    write_atomic(&dir, &final_path, &cleaned.data)?;
    Ok(Converted {
        size: cleaned.data.len() as u64,
        hash: blake3::hash(&cleaned.data).to_hex().to_string(),
        path: final_path,
        extension: Some(ext),
        cached: false,
        passed_through: false,
        sidecars,
    })
}

/// The sanitizer finds nothing in it and it names no encoder.
fn verify_output(input: &Path, data: &[u8]) -> Result<(), Error> {
    match baram_sanitize::inspect(data) {
        Ok(r) if r.is_clean() => {}
        Ok(r) => {
            return Err(Error::Sanitize {
                input: input.to_path_buf(),
                reason: format!(
                    "a second inspection still finds {}",
                    r.findings
                        .first()
                        .map_or("a watermark".to_string(), |f| f.field.clone())
                ),
            });
        }
        Err(e) => {
            return Err(Error::Sanitize {
                input: input.to_path_buf(),
                reason: e.to_string(),
            });
        }
    }
    if let Some((offset, mark)) = encoder_mark(data) {
        return Err(Error::EncoderString {
            input: input.to_path_buf(),
            mark,
            offset: offset as u64,
        });
    }
    Ok(())
}

fn cache_key(input_hash: &str, job: &Job, subtitles: Option<&[u8]>) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"baram-convert\0");
    h.update(input_hash.as_bytes());
    h.update(b"\0");
    h.update(job.profile_hash.as_bytes());
    h.update(b"\0");
    h.update(match job.target {
        Target::Video(_) => b"video",
        Target::Audio(_) => b"audio",
        Target::Html => b"html\0",
        Target::Document => b"doc\0\0",
    });
    h.update(b"\0");
    if let Some(s) = subtitles {
        h.update(blake3::hash(s).as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// Cleans an SRT and stores it in the cache (content-addressed).
fn sidecar(input: &Path, srt: &Path, cache_dir: &Path) -> Result<Sidecar, Error> {
    let data = fs::read(srt).map_err(io_err(srt))?;
    let bad = |why: String| Error::Subtitles {
        input: input.to_path_buf(),
        why: format!("{}: {why}", srt.display()),
    };
    let cleaned =
        baram_sanitize::clean_as(baram_sanitize::Format::Text, &data, &Default::default())
            .map_err(|e| {
                bad(format!(
                    "not usable as subtitles ({e}); convert it to UTF-8 SRT"
                ))
            })?;
    let hash = blake3::hash(&cleaned.data).to_hex().to_string();
    let dir = cache_dir.join(&hash[..2]);
    let path = dir.join(format!("{hash}.srt"));
    if fs::read(&path).ok().as_deref() != Some(&cleaned.data[..]) {
        write_atomic(&dir, &path, &cleaned.data)?;
    }
    Ok(Sidecar {
        path,
        size: cleaned.data.len() as u64,
        hash,
        extension: "srt".into(),
    })
}

/// Writes `data` to `path` through a temporary file in the same folder,
/// fsynced, renamed, and the folder fsynced.
fn write_atomic(dir: &Path, path: &Path, data: &[u8]) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = dir.join(format!(".tmp-{}", random_hex()));
    let res = (|| {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(data).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err(path))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

fn random_hex() -> String {
    let mut b = [0u8; 8];
    // Only names temporaries; a clock fallback is fine if the OS refuses.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = (t as u64 ^ std::process::id() as u64).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A private folder for one ffmpeg run, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run_ffmpeg(
    input: &Path,
    job: &Job,
    subtitles: Option<&[u8]>,
    cache_dir: &Path,
    opts: &Options,
) -> Result<Vec<u8>, Error> {
    let info = ffmpeg_at(&opts.ffmpeg)?;
    let lacks = |what: &'static str, name: &str| Error::FfmpegLacks {
        input: input.to_path_buf(),
        program: info.program.clone(),
        what,
        name: name.to_string(),
        profile: job.profile.clone(),
    };
    let abs = fs::canonicalize(input).map_err(io_err(input))?;
    let tmp = TempDir(cache_dir.join(format!(".work-{}", random_hex())));
    fs::create_dir_all(&tmp.0).map_err(io_err(&tmp.0))?;
    let mut a: Vec<String> = [
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-threads",
        "1",
    ]
    .map(String::from)
    .to_vec();
    a.extend(["-filter_threads", "1", "-sws_flags", SWS_FLAGS].map(String::from));
    a.extend(["-fflags", "+bitexact", "-threads", "1", "-i"].map(String::from));
    // file: so that no name is read as a protocol or an option.
    a.push(format!("file:{}", abs.display()));
    a.extend(["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"].map(String::from));
    let (container, ext, muxer_args) = match &job.target {
        Target::Video(v) => {
            for (what, name) in [("encoder", &v.encoder), ("encoder", &v.audio.encoder)] {
                if !info.has_encoder(name) {
                    return Err(lacks(what, name));
                }
            }
            a.extend(["-map", "0:v:0", "-map", "0:a:0?"].map(String::from));
            let mut vf = scale_filter(v.max_width, v.max_height);
            if let Some(srt) = subtitles {
                if !info.has_filter("subtitles") {
                    return Err(lacks("filter (libass)", "subtitles"));
                }
                let font = v.subtitle_font.as_deref().unwrap_or("NanumGothic");
                check_font(input, font, &opts.fonts_dir)?;
                let sub = tmp.0.join("sub.srt");
                fs::write(&sub, srt).map_err(io_err(&sub))?;
                std::os::unix::fs::symlink(&opts.fonts_dir, tmp.0.join("fonts"))
                    .map_err(io_err(&tmp.0))?;
                // Relative names in our own folder: no path needs escaping.
                vf.push_str(&format!(
                    ",subtitles=filename=sub.srt:charenc=UTF-8:fontsdir=fonts:force_style='FontName={font}'"
                ));
            }
            a.push("-vf".into());
            a.push(vf);
            a.extend(["-c:v".to_string(), v.encoder.clone()]);
            a.extend(v.encoder_args.iter().cloned());
            push_audio(&mut a, &v.audio);
            if !v.bitstream_filters.is_empty() {
                a.push("-bsf:v".into());
                a.push(v.bitstream_filters.join(","));
            }
            (&v.container, &v.extension, &v.muxer_args)
        }
        Target::Audio(r) => {
            if !info.has_encoder(&r.encoder) {
                return Err(lacks("encoder", &r.encoder));
            }
            a.extend(["-map", "0:a:0", "-vn"].map(String::from));
            push_audio(&mut a, &r.codec());
            (&r.container, &r.extension, &r.muxer_args)
        }
        Target::Html | Target::Document => {
            return Err(Error::Unsupported {
                input: input.to_path_buf(),
                reason: "internal error: not an ffmpeg job; please report it".into(),
            });
        }
    };
    a.extend(muxer_args.iter().cloned());
    // Last, so that nothing before can undo them.
    a.extend(
        [
            "-flags:v",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            "-fflags",
            "+bitexact",
            "-threads",
            "1",
            "-f",
        ]
        .map(String::from),
    );
    a.push(container.clone());
    a.push("-y".into());
    let out_name = format!("out.{ext}");
    a.push(out_name.clone());
    let out = ffmpeg_command(&info.program)
        .args(&a)
        .current_dir(&tmp.0)
        .env("HOME", &tmp.0)
        .env("XDG_CACHE_HOME", &tmp.0)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| MissingFfmpeg {
            program: info.program.clone(),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr)
            .replace(&abs.display().to_string(), "input")
            .replace(&tmp.0.display().to_string(), ".");
        let message: Vec<&str> = err
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(3)
            .collect();
        return Err(Error::Ffmpeg {
            input: input.to_path_buf(),
            message: if message.is_empty() {
                format!("ffmpeg exited with {}", out.status)
            } else {
                message.join("; ")
            },
        });
    }
    let out_path = tmp.0.join(out_name);
    fs::read(&out_path).map_err(io_err(&out_path))
}

fn push_audio(a: &mut Vec<String>, c: &AudioCodec) {
    a.extend(["-c:a".to_string(), c.encoder.clone()]);
    a.extend(c.encoder_args.iter().cloned());
    a.extend([
        "-b:a".to_string(),
        format!("{}k", c.bitrate_kbps),
        "-ar".into(),
        c.sample_rate.to_string(),
        "-ac".into(),
        c.channels.to_string(),
    ]);
}

/// Scales down (never up) to fit `max_w` x `max_h`, keeping the display
/// aspect (the sample aspect ratio is applied first), to even dimensions
/// and square pixels: old players ignore a stored aspect ratio.
fn scale_filter(max_w: u32, max_h: u32) -> String {
    let f = format!("min(1,min({max_w}/(iw*sar),{max_h}/ih))");
    format!(
        "scale=w='max(2,2*trunc(iw*sar*{f}/2))':h='max(2,2*trunc(ih*{f}/2))':flags={SWS_FLAGS},setsar=1,format=yuv420p"
    )
}

fn check_font(input: &Path, font: &str, dir: &Path) -> Result<(), Error> {
    let found = fs::read_dir(dir).ok().is_some_and(|rd| {
        rd.flatten().any(|e| {
            let p = e.path();
            let stem_ok = p
                .file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| s.eq_ignore_ascii_case(font));
            let ext_ok = p
                .extension()
                .and_then(|s| s.to_str())
                .is_some_and(|x| x.eq_ignore_ascii_case("ttf") || x.eq_ignore_ascii_case("otf"));
            stem_ok && ext_ok
        })
    });
    if found {
        Ok(())
    } else {
        Err(Error::Font {
            input: input.to_path_buf(),
            font: font.to_string(),
            dir: dir.to_path_buf(),
        })
    }
}

// ---------------------------------------------------------------------------
// Encoder strings

struct Scan {
    hash: String,
    size: u64,
    mark: Option<(u64, String)>,
}

/// Hashes a file and (when `marks`) looks for encoder strings, streaming.
fn scan_file(path: &Path, marks: bool) -> Result<Scan, Error> {
    const OVERLAP: usize = 32;
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    // The last OVERLAP bytes of the previous block, so a string across a
    // block boundary is found.
    let mut carry: Vec<u8> = Vec::new();
    let mut size = 0u64;
    let mut mark = None;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(path)(e)),
        };
        h.update(&buf[..n]);
        if marks && mark.is_none() {
            let mut w = std::mem::take(&mut carry);
            let base = size - w.len() as u64;
            w.extend_from_slice(&buf[..n]);
            if let Some((o, m)) = encoder_mark(&w) {
                mark = Some((base + o as u64, m));
            }
            carry = w[w.len().saturating_sub(OVERLAP)..].to_vec();
        }
        size += n as u64;
    }
    Ok(Scan {
        hash: h.finalize().to_hex().to_string(),
        size,
        mark,
    })
}

/// The first encoder version string in `data`, with its offset.
///
/// Looks for what encoders and ffmpeg write: `Lavc59.37.100` / `Lavf…` /
/// `Lavu…` (and `Lavc libx264`), `LAME3.100`, `XviD0069`, `DivX503`,
/// `x264 - core`, `x265 (build`. Each pattern is specific enough (at least
/// six fixed or classed bytes) that compressed data matches it by chance
/// about once in 10^14 bytes.
pub fn encoder_mark(data: &[u8]) -> Option<(usize, String)> {
    let digit = |i: usize| data.get(i).is_some_and(u8::is_ascii_digit);
    let lower = |i: usize| data.get(i).is_some_and(u8::is_ascii_lowercase);
    let at = |i: usize, s: &[u8]| data.get(i..i + s.len()) == Some(s);
    for i in 0..data.len() {
        let hit = match data[i] {
            b'L' => {
                ((at(i, b"Lavc") || at(i, b"Lavf") || at(i, b"Lavu"))
                    && ((digit(i + 4) && digit(i + 5) && at(i + 6, b"."))
                        || (at(i + 4, b" ") && lower(i + 5) && lower(i + 6))))
                    || (at(i, b"LAME") && digit(i + 4) && at(i + 5, b"."))
            }
            b'X' => at(i, b"XviD") && (4..8).all(|k| digit(i + k)),
            b'D' => at(i, b"DivX") && digit(i + 4) && digit(i + 5),
            b'x' => at(i, b"x264 - core") || at(i, b"x265 (build"),
            _ => false,
        };
        if hit {
            let end = (i + 16).min(data.len());
            let s: String = data[i..end]
                .iter()
                .take_while(|b| b.is_ascii_graphic() || **b == b' ')
                .map(|&b| b as char)
                .collect();
            return Some((i, s));
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Text to HTML

/// A simple HTML page of UTF-8 text: paragraphs at blank lines, line breaks
/// kept, everything escaped. Both charset declarations are written: the
/// short `<meta charset>` for current browsers, the `http-equiv` form for
/// Internet Explorer 6 on old Windows XP PCs, which ignores the short one.
/// No style sheet that old browsers would misread; `<pre>` is avoided so long
/// lines wrap everywhere.
pub fn text_to_html(text: &[u8]) -> Result<Vec<u8>, String> {
    let s = std::str::from_utf8(text)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    let s = s
        .strip_prefix('\u{feff}')
        .unwrap_or(s)
        .replace("\r\n", "\n");
    let esc = |t: &str| {
        let mut o = String::with_capacity(t.len());
        for c in t.chars() {
            match c {
                '&' => o.push_str("&amp;"),
                '<' => o.push_str("&lt;"),
                '>' => o.push_str("&gt;"),
                '"' => o.push_str("&quot;"),
                '\'' => o.push_str("&#39;"),
                '\r' => o.push('\n'),
                c if c.is_control() && c != '\n' && c != '\t' => {}
                c => o.push(c),
            }
        }
        o
    };
    let title: String = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(80)
        .collect();
    let mut body = String::new();
    for para in s
        .split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.trim().is_empty())
    {
        let lines: Vec<String> = para.lines().map(esc).collect();
        body.push_str("<p>");
        body.push_str(&lines.join("<br>\n"));
        body.push_str("</p>\n");
    }
    let page = format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n<title>{}</title>\n</head>\n<body>\n{body}</body>\n</html>\n",
        esc(&title)
    );
    Ok(page.into_bytes())
}
