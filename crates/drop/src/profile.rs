//! Device profiles: what each kind of recipient device can play, as data.
//!
//! A profile is a TOML file. The five built-in ones (`notel`, `notel-h264`,
//! `pc`, `audio`, `text`) are shipped in `crates/drop/profiles/` and embedded
//! in the binary, so a drop can be built offline from the binary alone. A
//! workspace's `profiles/` folder may hold more (`NAME.toml`), and a file there
//! with a built-in's name replaces the built-in: curators learn what a device
//! plays long after a release.
//!
//! The profile's name is its file name. Files are parsed strictly (unknown keys
//! are errors, so a typo cannot silently fall back to a default) and checked
//! for values ffmpeg would misread. [`Profile::hash`] covers everything that
//! changes the converted bytes, so editing a profile invalidates the
//! conversion cache ([`crate::convert`]).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The built-in profiles: (name, TOML text).
pub const BUILTIN: [(&str, &str); 5] = [
    ("audio", include_str!("../profiles/audio.toml")),
    ("notel", include_str!("../profiles/notel.toml")),
    ("notel-h264", include_str!("../profiles/notel-h264.toml")),
    ("pc", include_str!("../profiles/pc.toml")),
    ("text", include_str!("../profiles/text.toml")),
];

/// Bumped whenever the ffmpeg command line built in `convert` changes in a way
/// that changes output bytes; part of every profile hash, so old cache entries
/// are not reused after such a change.
pub const PIPELINE_VERSION: u32 = 1;

/// Profile errors, each naming the profile file (or the built-in) and the key.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "unknown profile {name:?}: use one of {known} or put {name}.toml in the workspace's profiles/ folder"
    )]
    Unknown { name: String, known: String },
    #[error(
        "profile name {0:?}: use lower-case letters, digits and '-' only (it is the file name)"
    )]
    BadName(String),
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: key {key}: {message}")]
    Invalid {
        file: String,
        key: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a profile came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Shipped with baram (`crates/drop/profiles/NAME.toml`).
    Builtin,
    /// A file in the workspace's `profiles/` folder.
    User(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::User(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What happens to subtitles of a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subtitles {
    /// Rendered into the picture (for players that show no subtitle files).
    Burn,
    /// Written as an SRT file beside the video.
    Sidecar,
    /// Left out.
    None,
}

/// What happens to an item of a document-like kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocRule {
    /// The item's (already sanitized) file goes on the drop as it is.
    Pass,
    /// Plain text becomes a simple UTF-8 HTML page (only for `text`).
    Html,
    /// The profile does not carry this kind.
    Refuse,
}

/// Audio encoding, inside a video or on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioCodec {
    /// ffmpeg encoder name (`libshine`, `aac`, ...).
    pub encoder: String,
    #[serde(default)]
    pub encoder_args: Vec<String>,
    pub bitrate_kbps: u32,
    pub sample_rate: u32,
    pub channels: u32,
}

/// Which inputs already conform and go through unchanged. Each list must
/// contain the item's value; an empty list matches nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassThrough {
    /// Library formats (`avi`, `mp4`, `mp3`, ...).
    #[serde(default)]
    pub formats: Vec<String>,
    /// ffprobe codec names of the video stream (`mpeg4`, `h264`).
    #[serde(default)]
    pub video_codecs: Vec<String>,
    /// ffprobe codec names of the audio stream (`mp3`, `aac`); a video
    /// without audio matches too.
    #[serde(default)]
    pub audio_codecs: Vec<String>,
}

/// How videos are converted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoRule {
    /// ffmpeg muxer (`avi`, `mp4`).
    pub container: String,
    /// File extension of the output, without the dot.
    pub extension: String,
    /// ffmpeg video encoder (`mpeg4`, `libx264`).
    pub encoder: String,
    #[serde(default)]
    pub encoder_args: Vec<String>,
    /// Bitstream filters applied to the video stream, in order.
    #[serde(default)]
    pub bitstream_filters: Vec<String>,
    /// Muxer options.
    #[serde(default)]
    pub muxer_args: Vec<String>,
    /// The picture is scaled down (never up) to fit, keeping its display
    /// aspect, to even dimensions with square pixels.
    pub max_width: u32,
    pub max_height: u32,
    pub subtitles: Subtitles,
    /// Font family for burned subtitles (a file of that name in the fonts
    /// folder, see [`crate::convert::Options::fonts_dir`]).
    #[serde(default)]
    pub subtitle_font: Option<String>,
    pub audio: AudioCodec,
    #[serde(default)]
    pub pass_through: Option<PassThrough>,
}

/// How audio items are converted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioRule {
    pub container: String,
    pub extension: String,
    pub encoder: String,
    #[serde(default)]
    pub encoder_args: Vec<String>,
    pub bitrate_kbps: u32,
    pub sample_rate: u32,
    pub channels: u32,
    #[serde(default)]
    pub muxer_args: Vec<String>,
    #[serde(default)]
    pub pass_through: Option<PassThrough>,
}

impl AudioRule {
    pub(crate) fn codec(&self) -> AudioCodec {
        AudioCodec {
            encoder: self.encoder.clone(),
            encoder_args: self.encoder_args.clone(),
            bitrate_kbps: self.bitrate_kbps,
            sample_rate: self.sample_rate,
            channels: self.channels,
        }
    }
}

/// What happens to text, books, images and archives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Documents {
    pub text: DocRule,
    pub book: DocRule,
    pub image: DocRule,
    pub archive: DocRule,
}

/// The rules of a profile: everything that changes the output bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// No `[video]` table: the profile carries no videos.
    #[serde(default)]
    pub video: Option<VideoRule>,
    /// No `[audio]` table: the profile carries no audio items.
    #[serde(default)]
    pub audio: Option<AudioRule>,
    pub documents: Documents,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    description: String,
    #[serde(default)]
    video: Option<VideoRule>,
    #[serde(default)]
    audio: Option<AudioRule>,
    documents: Documents,
}

/// A device profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub name: String,
    pub description: String,
    pub origin: Origin,
    pub rules: Rules,
}

impl Profile {
    /// Parses profile text. `file` names it in errors.
    pub fn parse(name: &str, toml_text: &str, origin: Origin) -> Result<Profile, Error> {
        check_name(name)?;
        let file = match &origin {
            Origin::Builtin => format!("built-in profile {name}"),
            Origin::User(p) => p.display().to_string(),
        };
        let f = parse_file(toml_text).map_err(|message| Error::Parse {
            file: file.clone(),
            message,
        })?;
        let p = Profile {
            name: name.to_string(),
            description: f.description,
            origin,
            rules: Rules {
                video: f.video,
                audio: f.audio,
                documents: f.documents,
            },
        };
        p.validate(&file)?;
        Ok(p)
    }

    /// BLAKE3 (hex) of a canonical serialisation of the rules and
    /// [`PIPELINE_VERSION`]: what changes output bytes, and nothing else (not
    /// the description, not the file's formatting or comments).
    pub fn hash(&self) -> String {
        // serde_json writes struct fields in declaration order and this
        // struct holds no maps, so the serialisation is canonical.
        let body = serde_json::to_vec(&self.rules).unwrap_or_default();
        let mut h = blake3::Hasher::new();
        h.update(b"baram-profile\0");
        h.update(&PIPELINE_VERSION.to_le_bytes());
        h.update(&body);
        h.finalize().to_hex().to_string()
    }

    fn validate(&self, file: &str) -> Result<(), Error> {
        let bad = |key: &str, message: String| Error::Invalid {
            file: file.to_string(),
            key: key.to_string(),
            message,
        };
        if let Some(v) = &self.rules.video {
            word("video.container", &v.container).map_err(|m| bad("video.container", m))?;
            word("video.extension", &v.extension).map_err(|m| bad("video.extension", m))?;
            word("video.encoder", &v.encoder).map_err(|m| bad("video.encoder", m))?;
            args(&v.encoder_args).map_err(|m| bad("video.encoder_args", m))?;
            args(&v.muxer_args).map_err(|m| bad("video.muxer_args", m))?;
            for b in &v.bitstream_filters {
                if b.is_empty()
                    || !b
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_=,:+-".contains(c))
                {
                    return Err(bad(
                        "video.bitstream_filters",
                        format!(
                            "{b:?}: use an ffmpeg bitstream filter such as filter_units=remove_types=6"
                        ),
                    ));
                }
            }
            for (key, n) in [
                ("video.max_width", v.max_width),
                ("video.max_height", v.max_height),
            ] {
                if !(16..=7680).contains(&n) || n % 2 != 0 {
                    return Err(bad(
                        key,
                        format!("{n}: must be an even number from 16 to 7680"),
                    ));
                }
            }
            match (&v.subtitles, &v.subtitle_font) {
                (Subtitles::Burn, None) => {
                    return Err(bad(
                        "video.subtitle_font",
                        "subtitles = \"burn\" needs a font, e.g. subtitle_font = \"NanumGothic\""
                            .into(),
                    ));
                }
                (_, Some(f))
                    if f.is_empty()
                        || !f
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
                {
                    return Err(bad(
                        "video.subtitle_font",
                        format!("{f:?}: use a font family name of letters, digits, '-' and '_'"),
                    ));
                }
                _ => {}
            }
            audio_codec("video.audio", &v.audio).map_err(|(k, m)| bad(&k, m))?;
        }
        if let Some(a) = &self.rules.audio {
            word("audio.container", &a.container).map_err(|m| bad("audio.container", m))?;
            word("audio.extension", &a.extension).map_err(|m| bad("audio.extension", m))?;
            args(&a.muxer_args).map_err(|m| bad("audio.muxer_args", m))?;
            audio_codec("audio", &a.codec()).map_err(|(k, m)| bad(&k, m))?;
        }
        let d = &self.rules.documents;
        for (key, r) in [
            ("documents.book", d.book),
            ("documents.image", d.image),
            ("documents.archive", d.archive),
        ] {
            if r == DocRule::Html {
                return Err(bad(
                    key,
                    "\"html\" is only for documents.text; use \"pass\" or \"refuse\"".into(),
                ));
            }
        }
        Ok(())
    }
}

fn parse_file(text: &str) -> Result<File, String> {
    toml::from_str::<File>(text).map_err(|e| e.to_string().trim_end().to_string())
}

fn word(_key: &str, s: &str) -> Result<(), String> {
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "{s:?}: use an ffmpeg name of letters, digits, '_' and '-'"
        ));
    }
    Ok(())
}

/// Options that would break what conversion guarantees (one input, our
/// output path and format, no added metadata, the fixed thread count and
/// bitexact flags) are refused in profile argument lists.
fn args(list: &[String]) -> Result<(), String> {
    const REFUSED: [&str; 13] = [
        "-i",
        "-f",
        "-y",
        "-n",
        "-map",
        "-metadata",
        "-filter_complex",
        "-vf",
        "-af",
        "-threads",
        "-flags",
        "-fflags",
        "-attach",
    ];
    for a in list {
        let base = a.split(':').next().unwrap_or(a);
        if REFUSED.contains(&base) || base.starts_with("-map_") || base.starts_with("-filter") {
            return Err(format!(
                "{a:?} is set by baram itself (input, output, metadata, threads, bitexact flags, filters) and cannot be given in a profile"
            ));
        }
        if a.contains('\0') || a.contains('\n') {
            return Err(format!("{a:?}: control characters are not allowed"));
        }
    }
    Ok(())
}

fn audio_codec(key: &str, a: &AudioCodec) -> Result<(), (String, String)> {
    word("", &a.encoder).map_err(|m| (format!("{key}.encoder"), m))?;
    args(&a.encoder_args).map_err(|m| (format!("{key}.encoder_args"), m))?;
    if !(8..=512).contains(&a.bitrate_kbps) {
        return Err((
            format!("{key}.bitrate_kbps"),
            format!("{}: must be 8 to 512", a.bitrate_kbps),
        ));
    }
    if !(8000..=96000).contains(&a.sample_rate) {
        return Err((
            format!("{key}.sample_rate"),
            format!("{}: must be 8000 to 96000", a.sample_rate),
        ));
    }
    if !(1..=2).contains(&a.channels) {
        return Err((
            format!("{key}.channels"),
            format!("{}: must be 1 or 2", a.channels),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::BadName(name.to_string()))
    }
}

/// Loads profile `name`: `user_dir/NAME.toml` when it exists (it overrides a
/// built-in of that name), else the built-in.
pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Profile, Error> {
    check_name(name)?;
    if let Some(dir) = user_dir {
        let path = dir.join(format!("{name}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(text) => return Profile::parse(name, &text, Origin::User(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::Io { path, source }),
        }
    }
    match BUILTIN.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => Profile::parse(n, text, Origin::Builtin),
        None => Err(Error::Unknown {
            name: name.to_string(),
            known: names(user_dir)?.join(", "),
        }),
    }
}

fn user_names(dir: &Path) -> Result<Vec<String>, Error> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) == Some("toml")
            && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
            && check_name(stem).is_ok()
        {
            out.push(stem.to_string());
        }
    }
    Ok(out)
}

fn names(user_dir: Option<&Path>) -> Result<Vec<String>, Error> {
    let mut all: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(d) = user_dir {
        all.extend(user_names(d)?);
    }
    all.sort();
    all.dedup();
    Ok(all)
}

/// Every profile (built-in and user), sorted by name, user files replacing
/// built-ins of the same name. A malformed user file is an error: a list
/// that silently skipped it would hide the curator's mistake.
pub fn list(user_dir: Option<&Path>) -> Result<Vec<Profile>, Error> {
    names(user_dir)?.iter().map(|n| load(n, user_dir)).collect()
}
